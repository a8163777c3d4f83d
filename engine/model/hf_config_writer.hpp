// model_config -> the config.json and generation_config.json texts that Hugging Face transformers
// writes for that architecture (sorted keys, two-space indent, the fields of its config class).
#pragma once

#include <string>

#include "engine/model/model_config.hpp"

namespace troupe {

// config.json. eos_token_id is the first of config.eos_token_ids (config.json holds one id; the
// full list goes to generation_config.json).
std::string hf_config_json(const model_config& config);

// generation_config.json with bos_token_id and eos_token_id (an int, or a list when several).
std::string hf_generation_config_json(const model_config& config);

}  // namespace troupe
