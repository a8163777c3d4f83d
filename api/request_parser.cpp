#include "api/request_parser.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "api/json_fields.hpp"
#include "api/request_prompt.hpp"

namespace troupe::api {

namespace {

using json = nlohmann::ordered_json;
using fields::maybe_error;

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();

// Fields both endpoints read, plus harmless OpenAI fields that are accepted and ignored.
const std::set<std::string> common_fields = {
    "model", "temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty",
    "repetition_penalty", "logit_bias", "seed", "stop", "stop_token_ids", "ignore_eos", "max_tokens", "n",
    "logprobs", "stream", "stream_options", "user",
    // accepted, no effect:
    "metadata", "store", "service_tier", "parallel_tool_calls"};
const std::set<std::string> chat_fields = {"messages", "max_completion_tokens", "top_logprobs", "tools", "tool_choice",
                                           "response_format"};
const std::set<std::string> completion_fields = {"prompt", "echo", "suffix", "best_of"};

maybe_error check_known_fields(endpoint_kind kind, const json& body) {
  const std::set<std::string>& own = kind == endpoint_kind::chat ? chat_fields : completion_fields;
  for (const auto& [key, value] : body.items()) {
    if (common_fields.count(key) == 0 && own.count(key) == 0) {
      return bad_request(key, fmt::format("unknown or unsupported field '{}' (docs/API.md lists the supported fields)", key));
    }
  }
  return {};
}

// Fields that ask for features troupe does not implement.
maybe_error check_unsupported(endpoint_kind kind, const json& body) {
  if (kind == endpoint_kind::chat) {
    if (const json* f = fields::find(body, "response_format")) {
      if (!f->is_object() || f->value("type", "") != "text") {
        return unsupported("response_format", "'response_format' other than {\"type\": \"text\"} is not supported");
      }
    }
    if (const json* c = fields::find(body, "tool_choice")) {
      if (*c != "auto" && *c != "none") {
        return unsupported("tool_choice", "'tool_choice' forcing a tool call is not supported (use \"auto\" or \"none\")");
      }
    }
    return {};
  }
  bool echo = false;
  TROUPE_API_TRY(fields::read_bool(body, "echo", echo));
  if (echo) return unsupported("echo", "'echo' is not supported");
  std::string suffix;
  TROUPE_API_TRY(fields::read_string(body, "suffix", suffix));
  if (!suffix.empty()) return unsupported("suffix", "'suffix' is not supported");
  return {};
}

maybe_error read_stop(const json& body, sampling_params& s) {
  const json* stop = fields::find(body, "stop");
  if (stop == nullptr) return {};
  if (stop->is_string()) {
    s.stop = {stop->get<std::string>()};
    return {};
  }
  if (!stop->is_array()) return bad_request("stop", "'stop' must be a string or a list of strings");
  for (const json& item : *stop) {
    if (!item.is_string()) return bad_request("stop", "'stop' must be a string or a list of strings");
    s.stop.push_back(item.get<std::string>());
  }
  return {};
}

maybe_error read_token_lists(const json& body, sampling_params& s) {
  if (const json* ids = fields::find(body, "stop_token_ids")) {
    if (!ids->is_array()) return bad_request("stop_token_ids", "'stop_token_ids' must be a list of token ids");
    for (const json& id : *ids) {
      std::int64_t value = 0;
      TROUPE_API_TRY(fields::to_int(id, "stop_token_ids", 0, int32_max, value));
      s.stop_token_ids.push_back(static_cast<token_id>(value));
    }
  }
  if (const json* bias = fields::find(body, "logit_bias")) {
    if (!bias->is_object()) return bad_request("logit_bias", "'logit_bias' must be an object {\"token id\": bias}");
    for (const auto& [key, value] : bias->items()) {
      const bool digits = !key.empty() && key.size() <= 9 &&
                          std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
      if (!digits) return bad_request("logit_bias", fmt::format("'logit_bias' keys must be token ids, got '{}'", key));
      if (!value.is_number()) return bad_request("logit_bias", fmt::format("'logit_bias[{}]' must be a number", key));
      s.logit_bias.emplace_back(static_cast<token_id>(std::stol(key)), value.get<float>());
    }
  }
  return {};
}

maybe_error read_sampling(const json& body, sampling_params& s) {
  TROUPE_API_TRY(fields::read_float(body, "temperature", s.temperature));
  TROUPE_API_TRY(fields::read_float(body, "top_p", s.top_p));
  TROUPE_API_TRY(fields::read_float(body, "min_p", s.min_p));
  TROUPE_API_TRY(fields::read_float(body, "presence_penalty", s.presence_penalty));
  TROUPE_API_TRY(fields::read_float(body, "frequency_penalty", s.frequency_penalty));
  TROUPE_API_TRY(fields::read_float(body, "repetition_penalty", s.repetition_penalty));
  std::int64_t top_k = s.top_k;
  TROUPE_API_TRY(fields::read_int(body, "top_k", -1, int32_max, top_k));
  s.top_k = static_cast<std::int32_t>(top_k);
  if (const json* seed = fields::find(body, "seed")) {
    std::int64_t value = 0;
    TROUPE_API_TRY(fields::to_int(*seed, "seed", std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::int64_t>::max(), value));
    s.seed = static_cast<std::uint64_t>(value);
  }
  TROUPE_API_TRY(fields::read_bool(body, "ignore_eos", s.ignore_eos));
  TROUPE_API_TRY(read_stop(body, s));
  return read_token_lists(body, s);
}

maybe_error read_logprobs(endpoint_kind kind, const json& body, api_request& r) {
  if (kind == endpoint_kind::completion) {
    std::int64_t num = -1;
    TROUPE_API_TRY(fields::read_int(body, "logprobs", 0, max_num_top_logprobs, num));
    r.return_logprobs = num >= 0;
    r.sampling.logprobs = static_cast<std::int32_t>(num);
    return {};
  }
  TROUPE_API_TRY(fields::read_bool(body, "logprobs", r.return_logprobs));
  std::int64_t top = 0;
  TROUPE_API_TRY(fields::read_int(body, "top_logprobs", 0, max_num_top_logprobs, top));
  if (fields::find(body, "top_logprobs") != nullptr && !r.return_logprobs) {
    return bad_request("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  }
  r.sampling.logprobs = r.return_logprobs ? static_cast<std::int32_t>(top) : -1;
  return {};
}

maybe_error read_choices_and_stream(endpoint_kind kind, const json& body, api_request& r) {
  std::int64_t n = 1;
  TROUPE_API_TRY(fields::read_int(body, "n", 1, max_num_choices, n));
  r.n = static_cast<std::int32_t>(n);
  if (kind == endpoint_kind::completion && fields::find(body, "best_of") != nullptr) {
    std::int64_t best_of = n;
    TROUPE_API_TRY(fields::read_int(body, "best_of", 1, max_num_choices, best_of));
    if (best_of < n) return bad_request("best_of", fmt::format("'best_of' ({}) must be >= 'n' ({})", best_of, n));
    if (best_of > n) return unsupported("best_of", "'best_of' greater than 'n' is not supported");
  }
  TROUPE_API_TRY(fields::read_bool(body, "stream", r.stream));
  if (const json* options = fields::find(body, "stream_options")) {
    if (!r.stream) return bad_request("stream_options", "'stream_options' is only allowed when 'stream' is true");
    if (!options->is_object()) return bad_request("stream_options", "'stream_options' must be an object");
    for (const auto& [key, value] : options->items()) {
      if (key != "include_usage") {
        return bad_request("stream_options", fmt::format("unknown field 'stream_options.{}'", key));
      }
    }
    TROUPE_API_TRY(fields::read_bool(*options, "include_usage", r.include_usage));
  }
  return fields::read_string(body, "user", r.user);
}

// max_tokens / max_completion_tokens against what is left of the context after the prompt.
maybe_error read_max_tokens(endpoint_kind kind, const json& body, const served_model& model, api_request& r) {
  const std::int64_t num_prompt = static_cast<std::int64_t>(r.prompt_token_ids.size());
  const char* prompt_param = kind == endpoint_kind::chat ? "messages" : "prompt";
  if (num_prompt == 0) return bad_request(prompt_param, "the prompt is empty");
  const std::int64_t room = model.max_model_len - num_prompt;
  if (room < 1) {
    return bad_request(prompt_param, fmt::format("the prompt has {} tokens; model '{}' has a context length of {}",
                                                 num_prompt, model.name, model.max_model_len));
  }
  const char* key = kind == endpoint_kind::chat && fields::find(body, "max_completion_tokens") != nullptr
                        ? "max_completion_tokens"
                        : "max_tokens";
  std::int64_t max_tokens = 0;
  TROUPE_API_TRY(fields::read_int(body, key, 1, int32_max, max_tokens));
  if (max_tokens == 0) {
    max_tokens = kind == endpoint_kind::chat ? room : std::min<std::int64_t>(default_completion_max_tokens, room);
  } else if (max_tokens > room) {
    return bad_request(key, fmt::format("'{}' is {} but the prompt has {} tokens and model '{}' has a context length "
                                        "of {}: at most {} tokens can be generated",
                                        key, max_tokens, num_prompt, model.name, model.max_model_len, room));
  }
  r.sampling.max_tokens = static_cast<std::int32_t>(max_tokens);
  return {};
}

// sampling_params::validate() names the field first ("top_p must be ..."): that is the param.
api_error validation_error(const error& err, endpoint_kind kind) {
  std::size_t end = 0;
  while (end < err.message.size() && (std::islower(static_cast<unsigned char>(err.message[end])) != 0 ||
                                      err.message[end] == '_')) {
    ++end;
  }
  std::string param = err.message.substr(0, end);
  if (param == "logprobs" && kind == endpoint_kind::chat) param = "top_logprobs";
  return bad_request(std::move(param), err.message);
}

const served_model* find_model(const std::vector<served_model>& models, const std::string& name) {
  for (const served_model& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace

api_result<api_request> parse_request(endpoint_kind kind, const json& body, const std::vector<served_model>& models) {
  if (!body.is_object()) return bad_request("", "the request body must be a JSON object");
  TROUPE_API_TRY(check_known_fields(kind, body));
  api_request r{.kind = kind};
  const json* model_field = fields::find(body, "model");
  if (model_field == nullptr) return bad_request("model", "'model' is required");
  TROUPE_API_TRY(fields::read_string(body, "model", r.model));
  const served_model* model = find_model(models, r.model);
  if (model == nullptr) {
    return api_error{.http_status = 404,
                     .message = fmt::format("The model '{}' does not exist (GET /v1/models lists the served models)", r.model),
                     .param = "model",
                     .code = "model_not_found"};
  }
  TROUPE_API_TRY(check_unsupported(kind, body));
  TROUPE_API_TRY(read_sampling(body, r.sampling));
  TROUPE_API_TRY(read_logprobs(kind, body, r));
  TROUPE_API_TRY(read_choices_and_stream(kind, body, r));
  api_result<std::vector<token_id>> prompt =
      kind == endpoint_kind::chat ? chat_prompt(body, *model) : completion_prompt(body, *model);
  if (!prompt) return std::move(prompt).error();
  r.prompt_token_ids = std::move(prompt).value();
  TROUPE_API_TRY(read_max_tokens(kind, body, *model, r));
  if (status valid = r.sampling.validate(model->vocab_size); !valid) return validation_error(valid.error(), kind);
  return r;
}

api_result<api_request> parse_request_body(endpoint_kind kind, std::string_view body, const std::vector<served_model>& models) {
  json parsed;
  try {
    parsed = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return bad_request("", fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  return parse_request(kind, parsed, models);
}

}  // namespace troupe::api
