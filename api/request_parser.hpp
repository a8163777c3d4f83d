// Request bodies of POST /v1/chat/completions and POST /v1/completions -> api_request, checked
// field by field. Pure functions (no HTTP): every bad input becomes an api_error naming its
// `param`. docs/API.md lists the fields, their ranges and what is rejected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.hpp"
#include "api/completion_service.hpp"
#include "engine/common/ids.hpp"
#include "engine/sampling/sampling_params.hpp"

namespace troupe::api {

enum class endpoint_kind { chat, completion };

// Most choices one request may ask for (`n`).
inline constexpr std::int32_t max_num_choices = 16;
// Default max_tokens of /v1/completions (OpenAI's).
inline constexpr std::int32_t default_completion_max_tokens = 16;

struct api_request {
  endpoint_kind kind = endpoint_kind::chat;
  std::string model;                     // a served model's name
  std::vector<token_id> prompt_token_ids;
  sampling_params sampling;              // validated against the model's vocabulary
  std::int32_t n = 1;                    // choices; choice i uses seed + i when a seed is given
  bool stream = false;
  bool include_usage = false;            // stream_options.include_usage
  // Chat: logprobs == true (sampling.logprobs holds top_logprobs). Completions: logprobs given.
  bool return_logprobs = false;
  std::string user;
};

// Parses and checks one request body against the served models. Errors: 400 invalid JSON, wrong
// types, values out of range, unknown or unsupported fields; 404 unknown model.
api_result<api_request> parse_request_body(endpoint_kind kind, std::string_view body,
                                           const std::vector<served_model>& models);

// The same on an already parsed body (ordered_json: the chat template sees keys in their order).
api_result<api_request> parse_request(endpoint_kind kind, const nlohmann::ordered_json& body,
                                      const std::vector<served_model>& models);

}  // namespace troupe::api
