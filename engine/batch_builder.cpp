#include "engine/batch_builder.hpp"

#include <algorithm>
#include <cassert>

namespace troupe {

const batch_layout& batch_builder::build(std::span<const batch_entry> entries) {
  token_ids_.clear();
  positions_.clear();
  slot_mapping_.clear();
  query_start_.assign(1, 0);
  context_lens_.clear();
  logits_rows_.clear();

  std::int32_t max_blocks = 1;
  for (const batch_entry& e : entries) max_blocks = std::max(max_blocks, static_cast<std::int32_t>(e.block_table.size()));
  block_tables_.assign(entries.size() * static_cast<std::size_t>(max_blocks), -1);

  for (std::size_t i = 0; i < entries.size(); ++i) {
    const batch_entry& e = entries[i];
    const std::int32_t first = e.num_computed_tokens;
    const std::int32_t end = first + e.num_new_tokens;
    assert(end <= static_cast<std::int32_t>(e.token_ids.size()));
    assert(static_cast<std::int64_t>(e.block_table.size()) * block_size_ >= end);
    for (std::int32_t pos = first; pos < end; ++pos) {
      token_ids_.push_back(e.token_ids[static_cast<std::size_t>(pos)]);
      positions_.push_back(pos);
      const std::int32_t block = e.block_table[static_cast<std::size_t>(pos / block_size_)];
      slot_mapping_.push_back(std::int64_t{block} * block_size_ + pos % block_size_);
    }
    query_start_.push_back(static_cast<std::int32_t>(token_ids_.size()));
    context_lens_.push_back(end);
    std::ranges::copy(e.block_table, block_tables_.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(max_blocks)));
    if (e.samples) logits_rows_.push_back(static_cast<std::int32_t>(token_ids_.size()) - 1);
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
