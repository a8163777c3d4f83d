#include "actors/replica_set.hpp"

#include <algorithm>
#include <tuple>

namespace troupe::actors {

void replica_set::update(const replica_info& info) {
  replica_load& r = replicas_[info.replica_name];
  r.ready = info.state == wire::replica_state::ready;
  if (!info.leader_actor.empty()) r.leader_actor = info.leader_actor;
  if (info.max_model_len > 0) r.max_model_len = info.max_model_len;
}

std::vector<std::uint64_t> replica_set::remove(const std::string& replica_name) {
  std::vector<std::uint64_t> orphans;
  for (auto it = request_replica_.begin(); it != request_replica_.end();) {
    if (it->second == replica_name) {
      orphans.push_back(it->first);
      it = request_replica_.erase(it);
    } else {
      ++it;
    }
  }
  std::ranges::sort(orphans);
  replicas_.erase(replica_name);
  return orphans;
}

std::optional<std::string> replica_set::assign(std::uint64_t request_id) {
  const std::pair<const std::string, replica_load>* best = nullptr;
  auto key = [](const replica_load& r) { return std::make_tuple(r.num_assigned, r.num_waiting, -r.num_free_kv_blocks); };
  for (const auto& entry : replicas_) {
    if (!entry.second.ready || entry.second.leader_actor.empty()) continue;
    if (best == nullptr || key(entry.second) < key(best->second)) best = &entry;
  }
  if (best == nullptr) return std::nullopt;
  replicas_[best->first].num_assigned += 1;
  request_replica_[request_id] = best->first;
  return best->first;
}

const std::string* replica_set::replica_of(std::uint64_t request_id) const {
  auto it = request_replica_.find(request_id);
  return it == request_replica_.end() ? nullptr : &it->second;
}

void replica_set::finish(std::uint64_t request_id) {
  auto it = request_replica_.find(request_id);
  if (it == request_replica_.end()) return;
  if (auto r = replicas_.find(it->second); r != replicas_.end()) r->second.num_assigned -= 1;
  request_replica_.erase(it);
}

void replica_set::report_load(const std::string& replica_name, std::int32_t num_waiting, std::int64_t num_free_kv_blocks) {
  auto it = replicas_.find(replica_name);
  if (it == replicas_.end()) return;
  it->second.num_waiting = num_waiting;
  it->second.num_free_kv_blocks = num_free_kv_blocks;
}

const replica_load* replica_set::find(const std::string& replica_name) const {
  auto it = replicas_.find(replica_name);
  return it == replicas_.end() ? nullptr : &it->second;
}

std::size_t replica_set::num_ready() const {
  return static_cast<std::size_t>(std::ranges::count_if(replicas_, [](const auto& r) { return r.second.ready; }));
}

std::int32_t replica_set::max_model_len() const {
  std::int32_t len = 0;
  for (const auto& [name, r] : replicas_) {
    if (r.ready && r.max_model_len > 0) len = len == 0 ? r.max_model_len : std::min(len, r.max_model_len);
  }
  return len;
}

}  // namespace troupe::actors
