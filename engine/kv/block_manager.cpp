#include "engine/kv/block_manager.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace troupe {

status block_manager::validate(const block_manager_options& options) {
  if (options.num_blocks < 1 || options.num_blocks > std::numeric_limits<std::int32_t>::max()) {
    return make_error(errc::invalid_argument,
                      "block_manager_options.num_blocks is {}; it must be in [1, 2^31)",
                      options.num_blocks);
  }
  if (options.block_size < 1) {
    return make_error(errc::invalid_argument,
                      "block_manager_options.block_size is {}; it must be at least 1",
                      options.block_size);
  }
  if (options.hash_block == nullptr) {
    return make_error(errc::invalid_argument, "block_manager_options.hash_block is null");
  }
  return ok();
}

block_manager::block_manager(const block_manager_options& options)
    : options_(options), blocks_(static_cast<std::size_t>(options.num_blocks)) {
  assert(validate(options));
  for (std::int64_t i = 0; i < options.num_blocks; ++i) {
    free_.push_back(block_id{static_cast<std::int32_t>(i)});
  }
}

std::int64_t block_manager::num_blocks_for_tokens(std::int64_t num_tokens) const {
  return (num_tokens + options_.block_size - 1) / options_.block_size;
}

const block_id* block_manager::find_cached(std::uint64_t hash, std::uint64_t parent_hash,
                                           std::span<const token_id> tokens) const {
  auto it = cached_.find(hash);
  if (it == cached_.end()) return nullptr;
  const block_state& s = state(it->second);
  if (s.parent_hash != parent_hash || !std::ranges::equal(s.tokens, tokens)) {
    return nullptr;  // a hash collision: different contents under the same hash
  }
  return &it->second;
}

prefix_match block_manager::match_prefix(std::span<const token_id> tokens) const {
  prefix_match match;
  if (!options_.enable_prefix_caching) return match;
  match.num_query_tokens = static_cast<std::int64_t>(tokens.size());
  const auto block_size = static_cast<std::size_t>(options_.block_size);
  std::uint64_t parent_hash = kRootBlockHash;
  for (std::size_t begin = 0; begin + block_size <= tokens.size(); begin += block_size) {
    auto block_tokens = tokens.subspan(begin, block_size);
    std::uint64_t hash = options_.hash_block(parent_hash, block_tokens);
    const block_id* hit = find_cached(hash, parent_hash, block_tokens);
    if (hit == nullptr) break;
    match.blocks.push_back(*hit);
    parent_hash = hash;
  }
  match.num_cached_tokens = static_cast<std::int64_t>(match.blocks.size()) * options_.block_size;
  return match;
}

bool block_manager::can_allocate(std::int64_t num_blocks) const {
  return num_blocks <= num_free_blocks();
}

bool block_manager::allocate(std::vector<block_id>& table, std::int64_t num_tokens,
                             const prefix_match& prefix) {
  assert(prefix.blocks.empty() || table.empty());
  const auto num_held = static_cast<std::int64_t>(table.size() + prefix.blocks.size());
  const std::int64_t num_fresh =
      std::max<std::int64_t>(0, num_blocks_for_tokens(num_tokens) - num_held);
  // Prefix blocks nobody references are counted as free; taking them shrinks the pool too.
  const auto num_revived = std::ranges::count_if(
      prefix.blocks, [this](block_id id) { return state(id).ref_count == 0; });
  if (!can_allocate(num_fresh + num_revived)) return false;

  for (block_id id : prefix.blocks) {
    assert(state(id).registered);
    take_reference(id);
    table.push_back(id);
  }
  for (std::int64_t i = 0; i < num_fresh; ++i) {
    block_id id = take_fresh_block();
    take_reference(id);
    table.push_back(id);
  }
  if (prefix.num_query_tokens > 0) {
    prefix_cache_queried_tokens_ += prefix.num_query_tokens;
    prefix_cache_hit_tokens_ += prefix.num_cached_tokens;
  }
  return true;
}

void block_manager::free(std::vector<block_id>& table) {
  for (auto it = table.rbegin(); it != table.rend(); ++it) release(*it);
  table.clear();
}

void block_manager::commit_full_blocks(std::span<const block_id> table,
                                       std::span<const token_id> tokens,
                                       std::int64_t num_computed_tokens) {
  if (!options_.enable_prefix_caching) return;
  assert(num_computed_tokens <= static_cast<std::int64_t>(tokens.size()));
  const auto block_size = static_cast<std::size_t>(options_.block_size);
  const auto num_full = static_cast<std::size_t>(num_computed_tokens) / block_size;
  assert(num_full <= table.size());
  // Hashed blocks form a prefix of every table: find where it ends.
  std::size_t first = num_full;
  while (first > 0 && !state(table[first - 1]).hashed) --first;
  std::uint64_t parent_hash = first == 0 ? kRootBlockHash : state(table[first - 1]).hash;
  for (std::size_t i = first; i < num_full; ++i) {
    auto block_tokens = tokens.subspan(i * block_size, block_size);
    block_state& s = state(table[i]);
    s.hash = options_.hash_block(parent_hash, block_tokens);
    s.hashed = true;
    if (!cached_.contains(s.hash)) register_block(table[i], parent_hash, block_tokens);
    parent_hash = s.hash;
  }
}

std::int64_t block_manager::num_free_blocks() const {
  return static_cast<std::int64_t>(free_.size() + evictable_.size());
}

std::int64_t block_manager::num_cached_blocks() const {
  return static_cast<std::int64_t>(cached_.size());
}

double block_manager::usage() const {
  return static_cast<double>(options_.num_blocks - num_free_blocks()) /
         static_cast<double>(options_.num_blocks);
}

block_manager_stats block_manager::stats() const {
  return block_manager_stats{
      .num_blocks = options_.num_blocks,
      .num_free_blocks = num_free_blocks(),
      .num_evictable_blocks = static_cast<std::int64_t>(evictable_.size()),
      .num_cached_blocks = num_cached_blocks(),
      .usage = usage(),
      .prefix_cache_queried_tokens = prefix_cache_queried_tokens_,
      .prefix_cache_hit_tokens = prefix_cache_hit_tokens_,
  };
}

void block_manager::take_reference(block_id id) {
  block_state& s = state(id);
  if (s.ref_count == 0 && s.registered) evictable_.erase(s.lru_pos);
  ++s.ref_count;
}

block_id block_manager::take_fresh_block() {
  if (!free_.empty()) {
    block_id id = free_.front();
    free_.pop_front();
    return id;
  }
  assert(!evictable_.empty());
  block_id id = evictable_.front();
  evictable_.pop_front();
  unregister(id);
  return id;
}

void block_manager::release(block_id id) {
  block_state& s = state(id);
  assert(s.ref_count > 0);
  if (--s.ref_count > 0) return;
  if (s.registered) {
    s.lru_pos = evictable_.insert(evictable_.end(), id);
    return;
  }
  s.hashed = false;  // a duplicate of a registered block or never full: its contents are dropped
  free_.push_back(id);
}

void block_manager::register_block(block_id id, std::uint64_t parent_hash,
                                   std::span<const token_id> tokens) {
  block_state& s = state(id);
  s.registered = true;
  s.parent_hash = parent_hash;
  s.tokens.assign(tokens.begin(), tokens.end());
  cached_.emplace(s.hash, id);
}

void block_manager::unregister(block_id id) {
  block_state& s = state(id);
  assert(s.registered && s.ref_count == 0);
  cached_.erase(s.hash);
  s = block_state{};
}

}  // namespace troupe
