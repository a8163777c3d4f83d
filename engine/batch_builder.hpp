// Turns the requests of one step into the batch_layout the backend reads. Reuses its arrays from
// step to step, so building a layout allocates nothing once warm.
#pragma once

#include <span>
#include <vector>

#include "engine/backend/backend.hpp"
#include "engine/common/ids.hpp"

namespace troupe {

// One request of a step: computes tokens [num_computed_tokens, num_computed_tokens + num_new_tokens)
// of token_ids, whose K/V live in the blocks of block_table (block i holds positions
// [i * block_size, (i + 1) * block_size)).
struct batch_entry {
  std::span<const token_id> token_ids;
  std::span<const std::int32_t> block_table;
  std::int32_t num_computed_tokens = 0;
  std::int32_t num_new_tokens = 0;
  bool samples = false;  // its last token's logits are computed
};

class batch_builder {
 public:
  explicit batch_builder(std::int32_t block_size) : block_size_(block_size) {}

  // The layout of `entries`: each contributes its num_new_tokens tokens; entries that sample
  // contribute their last token's row to logits_rows, in entry order. Preconditions (asserted;
  // model_runner validates remote plans before): the tokens exist and the block table covers them.
  // Valid until the next build().
  const batch_layout& build(std::span<const batch_entry> entries);

 private:
  std::int32_t block_size_;
  std::vector<std::int32_t> token_ids_, positions_, query_start_, context_lens_, block_tables_, logits_rows_;
  std::vector<std::int64_t> slot_mapping_;
  batch_layout layout_;
};

}  // namespace troupe
