// The prompt of a request as token ids: chat `messages` (+ `tools`) through the model's chat
// template, or a completion `prompt` (a string or a list of token ids). Internal to api/.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.hpp"
#include "api/completion_service.hpp"
#include "engine/common/ids.hpp"

namespace troupe::api {

// body.messages (required, a non-empty list of {role, content...}; content a string, null or a
// list of {type: "text", text} parts, joined with "\n") and body.tools (a list of functions or
// null; left out when tool_choice is "none").
api_result<std::vector<token_id>> chat_prompt(const nlohmann::ordered_json& body, const served_model& model);

// body.prompt (required): a string, a list of token ids, or a list holding one of those.
api_result<std::vector<token_id>> completion_prompt(const nlohmann::ordered_json& body, const served_model& model);

}  // namespace troupe::api
