// A deployment's view of its model's replicas and of the requests each one serves, without CAF:
// which replicas are ready, how loaded each is, and the least-loaded choice for a new request.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"

namespace troupe::actors {

struct replica_load {
  std::string leader_actor;
  bool ready = false;
  std::int32_t max_model_len = 0;
  std::int64_t num_assigned = 0;      // requests routed here and not yet finished
  std::int32_t num_waiting = 0;       // last reported by the leader
  std::int64_t num_free_kv_blocks = 0;
};

class replica_set {
 public:
  // A replica's new state (from the coordinator). A replica that is no longer ready keeps its
  // requests until it is gone (they may still finish).
  void update(const replica_info& info);
  // The replica left the map: returns the requests that were on it (now forgotten).
  std::vector<std::uint64_t> remove(const std::string& replica_name);
  // The least-loaded ready replica (fewest assigned requests, then fewest waiting, then most free
  // KV blocks, then name) or nullopt when none is ready. Records the request on it.
  std::optional<std::string> assign(std::uint64_t request_id);
  // The replica serving `request_id`, if any.
  const std::string* replica_of(std::uint64_t request_id) const;
  // The request finished: forget it.
  void finish(std::uint64_t request_id);
  void report_load(const std::string& replica_name, std::int32_t num_waiting, std::int64_t num_free_kv_blocks);

  const replica_load* find(const std::string& replica_name) const;
  std::size_t num_ready() const;
  std::int32_t max_model_len() const;  // the smallest of the ready replicas (0 when none)

 private:
  std::map<std::string, replica_load> replicas_;
  std::unordered_map<std::uint64_t, std::string> request_replica_;
};

}  // namespace troupe::actors
