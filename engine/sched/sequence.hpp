// A request as the scheduler sees it: token ids, how many of them have K/V in the cache, and the
// block table holding that K/V.
//
// The one invariant (vLLM v1): every step lets a sequence catch up from num_computed_tokens towards
// num_tokens(). A prefill, a chunk of a prefill, a prefix-cache hit and a decode step are all just
// "compute tokens [num_computed_tokens, num_computed_tokens + n)".
//
//   token_ids:  [ prompt ........................ | generated ...... ]
//               [ computed (K/V cached) .......... | to compute ]
//               0                      num_computed_tokens        num_tokens()
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/ids.hpp"

namespace troupe {

//   add -> waiting --schedule--> running --finish/abort--> finished (destroyed by the scheduler)
//            ^                      |
//            +------ preempt -------+   (blocks freed, num_computed_tokens = 0: recompute)
enum class sequence_status { waiting, running, finished };

struct sequence {
  request_id id;
  std::int32_t priority = 0;        // lower value runs first (as vLLM); fixed after add
  std::uint64_t arrival_order = 0;  // set by the scheduler on add
  std::vector<token_id> token_ids;  // prompt followed by generated tokens
  std::int32_t num_prompt_tokens = 0;
  std::int32_t num_computed_tokens = 0;  // tokens whose K/V are in the cache
  std::int32_t max_num_tokens = 0;       // prompt + max output tokens (never scheduled beyond;
                                         // add() lowers it to max_model_len and the cache size)
  std::vector<block_id> block_table;     // owned by the scheduler's block manager
  sequence_status status = sequence_status::waiting;
  std::int32_t num_cached_prompt_tokens = 0;  // prefix-cache hit on first admission
  std::int32_t num_preemptions = 0;

  std::int32_t num_tokens() const { return static_cast<std::int32_t>(token_ids.size()); }
};

}  // namespace troupe
