// Turns a scheduler decision into the batch_layout the backend reads. Reuses its arrays from step
// to step, so building a layout allocates nothing once warm.
#pragma once

#include <vector>

#include "engine/backend/backend.hpp"
#include "engine/sched/scheduler.hpp"

namespace troupe {

class batch_builder {
 public:
  explicit batch_builder(std::int32_t block_size) : block_size_(block_size) {}

  // The layout of `plan`: every scheduled sequence contributes its num_new_tokens tokens starting
  // at num_computed_tokens_before; sequences that sample contribute their last token's row to
  // logits_rows, in the order of plan.scheduled. Valid until the next build().
  const batch_layout& build(const scheduler_output& plan);

 private:
  std::int32_t block_size_;
  std::vector<std::int32_t> token_ids_, positions_, query_start_, context_lens_, block_tables_, logits_rows_;
  std::vector<std::int64_t> slot_mapping_;
  batch_layout layout_;
};

}  // namespace troupe
