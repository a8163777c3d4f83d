// KV block manager: a fixed pool of KV cache blocks, reference counts, and the prefix cache.
//
// Every sequence owns a block table (std::vector<block_id>); table[i] holds the K/V of its tokens
// [i * block_size, (i + 1) * block_size). This class only hands out block ids; the backend owns the
// memory they index. Pure logic: no tensors, no threads (one owner calls it).
//
// Block lifecycle (ref = number of tables holding the block):
//
//                 allocate                          commit_full_blocks (block full and computed)
//   [free] ------------------> [in use, ref >= 1] ------------------> [in use, cached]
//     ^                               |                                  |        ^
//     |  free (ref -> 0)              |                  free (ref -> 0) |        | allocate with a
//     +-------------------------------+                                  v        | prefix hit
//     +----- evicted by allocate when the free list is empty ------ [evictable, cached] (LRU list)
//
// Allocation takes truly free blocks first (FIFO), then evicts the least recently used evictable
// block, removing its prefix-cache entry. A block is shared (ref > 1) only when it is full and
// registered: a partially filled last block is never in the cache, so it is never shared.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"
#include "engine/kv/block_hash.hpp"

namespace troupe {

struct block_manager_options {
  std::int64_t num_blocks = 0;        // pool size; block ids are 0 .. num_blocks - 1
  std::int32_t block_size = 16;       // tokens per block
  bool enable_prefix_caching = true;  // false: match_prefix never hits, nothing is registered
  block_hash_fn hash_block = hash_block_tokens;  // tests inject a colliding hash here
};

// The cached full blocks at the start of a token span (see block_manager::match_prefix).
struct prefix_match {
  std::vector<block_id> blocks;        // in table order; blocks[i] holds tokens [i*B, (i+1)*B)
  std::int64_t num_cached_tokens = 0;  // blocks.size() * block_size
  std::int64_t num_query_tokens = 0;   // tokens looked up (0 when prefix caching is off)
};

struct block_manager_stats {
  std::int64_t num_blocks = 0;
  std::int64_t num_free_blocks = 0;       // referenced by no sequence: truly free + evictable
  std::int64_t num_evictable_blocks = 0;  // unreferenced but still holding cached KV
  std::int64_t num_cached_blocks = 0;     // registered in the prefix cache (in use or evictable)
  double usage = 0.0;                     // fraction of blocks referenced by a sequence, 0..1
  std::int64_t prefix_cache_queried_tokens =
      0;                                     // tokens looked up by admissions (allocate w/ prefix)
  std::int64_t prefix_cache_hit_tokens = 0;  // of those, tokens found in the cache
};

class block_manager {
 public:
  // Checks num_blocks in [1, 2^31) and block_size >= 1; the error names the field and value.
  static status validate(const block_manager_options& options);

  // Precondition: validate(options) succeeds (asserted).
  explicit block_manager(const block_manager_options& options);

  std::int32_t block_size() const { return options_.block_size; }
  std::int64_t num_blocks() const { return options_.num_blocks; }
  bool prefix_caching_enabled() const { return options_.enable_prefix_caching; }
  // Blocks needed to hold num_tokens tokens: ceil(num_tokens / block_size).
  std::int64_t num_blocks_for_tokens(std::int64_t num_tokens) const;

  // The longest run of cached full blocks whose tokens equal the start of `tokens`. A hit needs an
  // equal hash, an equal parent hash and equal stored tokens, so a 64-bit collision of one block
  // never returns wrong KV. Only whole blocks inside `tokens` can match. Does not change any state:
  // pass the result to allocate() before any other call.
  prefix_match match_prefix(std::span<const token_id> tokens) const;

  // True when num_blocks blocks can be taken from the pool (truly free + evictable).
  bool can_allocate(std::int64_t num_blocks) const;

  // Makes `table` cover num_tokens token slots. A non-empty `prefix` (from match_prefix, for this
  // sequence, with no call in between) requires an empty table: its blocks are appended first, each
  // taking a reference (an evictable one leaves the LRU list). Then fresh blocks are appended.
  // All or nothing: returns false and changes nothing when the pool cannot supply the blocks.
  // A prefix with num_query_tokens > 0 counts as one prefix-cache query in stats() on success.
  bool allocate(std::vector<block_id>& table, std::int64_t num_tokens,
                const prefix_match& prefix = {});

  // Drops this table's reference on each block, last block first, and clears the table. A block
  // whose count reaches 0 goes to the tail of the LRU list when it is cached (so a sequence's tail
  // blocks are evicted before its head), else back to the free list.
  void free(std::vector<block_id>& table);

  // Registers the table's full blocks among tokens [0, num_computed_tokens) that are not yet
  // registered. `tokens` are the sequence's token ids (at least num_computed_tokens of them). When
  // another block already holds the same hash, the new block stays unregistered (it is freed, not
  // cached, when released) and the existing entry is kept.
  void commit_full_blocks(std::span<const block_id> table, std::span<const token_id> tokens,
                          std::int64_t num_computed_tokens);

  std::int32_t ref_count(block_id id) const { return state(id).ref_count; }
  bool is_cached(block_id id) const { return state(id).registered; }
  std::int64_t num_free_blocks() const;    // referenced by no sequence: truly free + evictable
  std::int64_t num_cached_blocks() const;  // registered in the prefix cache
  double usage() const;                    // fraction of blocks referenced by a sequence
  block_manager_stats stats() const;

 private:
  struct block_state {
    std::int32_t ref_count = 0;
    bool hashed = false;      // full and computed in some table: `hash` names its contents
    bool registered = false;  // the prefix cache maps `hash` to this block
    std::uint64_t hash = 0;
    std::uint64_t parent_hash = 0;          // registered only
    std::vector<token_id> tokens;           // registered only: compared on every hit
    std::list<block_id>::iterator lru_pos;  // valid while registered and ref_count == 0
  };

  block_state& state(block_id id) { return blocks_[static_cast<std::size_t>(id.value)]; }
  const block_state& state(block_id id) const {
    return blocks_[static_cast<std::size_t>(id.value)];
  }
  // The registered block for (hash, parent_hash, tokens), or nullptr.
  const block_id* find_cached(std::uint64_t hash, std::uint64_t parent_hash,
                              std::span<const token_id> tokens) const;
  void take_reference(block_id id);
  block_id take_fresh_block();  // free list first, then the LRU front (evicted)
  void release(block_id id);
  void unregister(block_id id);
  void register_block(block_id id, std::uint64_t parent_hash, std::span<const token_id> tokens);

  block_manager_options options_;
  std::vector<block_state> blocks_;
  std::list<block_id> free_;       // unreferenced, not cached; allocation pops the front
  std::list<block_id> evictable_;  // unreferenced, cached; front = least recently used
  std::unordered_map<std::uint64_t, block_id> cached_;  // hash -> registered block
  std::int64_t prefix_cache_queried_tokens_ = 0;
  std::int64_t prefix_cache_hit_tokens_ = 0;
};

}  // namespace troupe
