// The loaded pipeline behind troupe::tokenizer (internal to the module).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/tokenizer/added_vocabulary.hpp"
#include "engine/tokenizer/bpe_model.hpp"
#include "engine/tokenizer/decoder.hpp"
#include "engine/tokenizer/normalizer.hpp"
#include "engine/tokenizer/pre_tokenizer.hpp"

namespace troupe::tokenizer_detail {

// Immutable after load; shared by tokenizer copies and incremental detokenizers.
struct tokenizer_state {
  std::filesystem::path file;
  normalizer norm;
  pre_tokenizer pre;
  bpe_model model;
  added_vocabulary added;
  decoder dec;
  std::vector<token_id> prefix_ids;       // post-processor ids before the text (add_special_tokens)
  std::vector<token_id> suffix_ids;       // post-processor ids after the text (add_special_tokens)
  std::vector<std::string> id_to_token;   // size vocab_size(); "" where no token has the id
  std::vector<std::uint8_t> known_by_id;  // 1 where some token has the id
  std::vector<std::uint8_t> special_by_id;
  vocab_map added_by_content;

  bool is_known(token_id id) const {
    return id >= 0 && static_cast<std::size_t>(id) < known_by_id.size() &&
           known_by_id[static_cast<std::size_t>(id)] != 0;
  }
  bool is_special(token_id id) const {
    return is_known(id) && special_by_id[static_cast<std::size_t>(id)] != 0;
  }
};

}  // namespace troupe::tokenizer_detail
