#include "engine/batch_builder.hpp"

#include <algorithm>
#include <cassert>

namespace troupe {

const batch_layout& batch_builder::build(const scheduler_output& plan) {
  token_ids_.clear();
  positions_.clear();
  slot_mapping_.clear();
  query_start_.assign(1, 0);
  context_lens_.clear();
  logits_rows_.clear();

  std::int32_t max_blocks = 1;
  for (const scheduled_sequence& s : plan.scheduled) {
    max_blocks = std::max(max_blocks, static_cast<std::int32_t>(s.seq->block_table.size()));
  }
  block_tables_.assign(plan.scheduled.size() * static_cast<std::size_t>(max_blocks), -1);

  for (std::size_t i = 0; i < plan.scheduled.size(); ++i) {
    const scheduled_sequence& s = plan.scheduled[i];
    const sequence& seq = *s.seq;
    const std::int32_t first = s.num_computed_tokens_before;
    const std::int32_t end = first + s.num_new_tokens;
    assert(end <= seq.num_tokens());
    assert(static_cast<std::int64_t>(seq.block_table.size()) * block_size_ >= end);
    for (std::int32_t pos = first; pos < end; ++pos) {
      token_ids_.push_back(seq.token_ids[static_cast<std::size_t>(pos)]);
      positions_.push_back(pos);
      const block_id block = seq.block_table[static_cast<std::size_t>(pos / block_size_)];
      slot_mapping_.push_back(std::int64_t{block.value} * block_size_ + pos % block_size_);
    }
    query_start_.push_back(static_cast<std::int32_t>(token_ids_.size()));
    context_lens_.push_back(end);
    std::int32_t* row = block_tables_.data() + i * static_cast<std::size_t>(max_blocks);
    for (std::size_t b = 0; b < seq.block_table.size(); ++b) row[b] = seq.block_table[b].value;
    if (s.samples) logits_rows_.push_back(static_cast<std::int32_t>(token_ids_.size()) - 1);
  }

  layout_ = batch_layout{.token_ids = token_ids_,
                         .positions = positions_,
                         .slot_mapping = slot_mapping_,
                         .query_start = query_start_,
                         .context_lens = context_lens_,
                         .block_tables = block_tables_,
                         .max_blocks_per_seq = max_blocks,
                         .block_size = block_size_,
                         .logits_rows = logits_rows_};
  return layout_;
}

}  // namespace troupe
