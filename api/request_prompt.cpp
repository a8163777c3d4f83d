#include "api/request_prompt.hpp"

#include <set>
#include <string>

#include <fmt/format.h>

#include "api/json_fields.hpp"

namespace troupe::api {

namespace {

using json = nlohmann::ordered_json;
using fields::maybe_error;

const std::set<std::string> known_roles = {"system", "developer", "user", "assistant", "tool"};

// The text of a content list: only {type: "text", text: string} parts.
api_result<std::string> join_text_parts(const json& parts, const std::string& param) {
  std::string text;
  for (std::size_t j = 0; j < parts.size(); ++j) {
    const json& part = parts[j];
    const std::string part_param = fmt::format("{}[{}]", param, j);
    if (!part.is_object()) return bad_request(part_param, fmt::format("'{}' must be an object", part_param));
    const json* type = fields::find(part, "type");
    if (type == nullptr || !type->is_string()) {
      return bad_request(part_param + ".type", fmt::format("'{}.type' must be a string", part_param));
    }
    if (*type != "text") {
      return unsupported(part_param + ".type",
                         fmt::format("content parts of type '{}' are not supported (only 'text')", type->get<std::string>()));
    }
    const json* part_text = fields::find(part, "text");
    if (part_text == nullptr || !part_text->is_string()) {
      return bad_request(part_param + ".text", fmt::format("'{}.text' must be a string", part_param));
    }
    if (j > 0) text += "\n";
    text += part_text->get<std::string>();
  }
  return text;
}

// A copy of message i for the chat template, with list content flattened to a string.
api_result<json> normalize_message(const json& message, std::size_t i) {
  const std::string param = fmt::format("messages[{}]", i);
  if (!message.is_object()) return bad_request(param, fmt::format("'{}' must be an object", param));
  const json* role = fields::find(message, "role");
  if (role == nullptr || !role->is_string()) {
    return bad_request(param + ".role", fmt::format("'{}.role' is required and must be a string", param));
  }
  if (known_roles.count(role->get<std::string>()) == 0) {
    return bad_request(param + ".role", fmt::format("'{}.role' must be one of system, developer, user, assistant, tool; got '{}'",
                                                    param, role->get<std::string>()));
  }
  json out = message;
  auto content = message.find("content");
  if (content == message.end() || content->is_null()) {
    if (*role != "assistant") {
      return bad_request(param + ".content", fmt::format("'{}.content' is required for role '{}'", param, role->get<std::string>()));
    }
    return out;
  }
  if (content->is_string()) return out;
  if (!content->is_array()) {
    return bad_request(param + ".content", fmt::format("'{}.content' must be a string or a list of text parts", param));
  }
  api_result<std::string> text = join_text_parts(*content, param + ".content");
  if (!text) return std::move(text).error();
  out["content"] = std::move(text).value();
  return out;
}

api_result<json> chat_tools(const json& body) {
  const json* tools = fields::find(body, "tools");
  if (tools == nullptr) return json(nullptr);
  if (!tools->is_array()) return bad_request("tools", "'tools' must be a list of {type: \"function\", function: {...}}");
  for (std::size_t i = 0; i < tools->size(); ++i) {
    const json& tool = (*tools)[i];
    const std::string param = fmt::format("tools[{}]", i);
    if (!tool.is_object() || tool.value("type", "") != "function" || !tool.contains("function") ||
        !tool["function"].is_object() || !tool["function"].contains("name") || !tool["function"]["name"].is_string()) {
      return bad_request(param, fmt::format("'{}' must be {{type: \"function\", function: {{name, ...}}}}", param));
    }
  }
  if (const json* choice = fields::find(body, "tool_choice"); choice != nullptr && *choice == "none") return json(nullptr);
  return *tools;
}

maybe_error check_token_ids(const std::vector<std::int64_t>& ids, const served_model& model) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= model.vocab_size) {
      return bad_request("prompt", fmt::format("prompt token id {} at position {} is outside the vocabulary [0, {})",
                                               ids[i], i, model.vocab_size));
    }
  }
  return {};
}

api_result<std::vector<token_id>> token_list(const json& list, const served_model& model) {
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::int64_t id = 0;
    TROUPE_API_TRY(fields::to_int(list[i], "prompt", INT32_MIN, INT32_MAX, id));
    ids.push_back(id);
  }
  TROUPE_API_TRY(check_token_ids(ids, model));
  return std::vector<token_id>(ids.begin(), ids.end());
}

}  // namespace

api_result<std::vector<token_id>> chat_prompt(const json& body, const served_model& model) {
  const json* messages = fields::find(body, "messages");
  if (messages == nullptr) return bad_request("messages", "'messages' is required");
  if (!messages->is_array() || messages->empty()) return bad_request("messages", "'messages' must be a non-empty list");
  json normalized = json::array();
  for (std::size_t i = 0; i < messages->size(); ++i) {
    api_result<json> m = normalize_message((*messages)[i], i);
    if (!m) return std::move(m).error();
    normalized.push_back(std::move(m).value());
  }
  api_result<json> tools = chat_tools(body);
  if (!tools) return std::move(tools).error();
  if (!model.prompts->has_chat_template()) {
    return bad_request("messages", fmt::format("model '{}' has no chat template; use /v1/completions", model.name));
  }
  result<std::vector<token_id>> ids = model.prompts->encode_chat(normalized, *tools);
  if (!ids) return bad_request("messages", "the chat template failed: " + ids.error().message);
  return std::move(ids).value();
}

api_result<std::vector<token_id>> completion_prompt(const json& body, const served_model& model) {
  const json* prompt = fields::find(body, "prompt");
  if (prompt == nullptr) return bad_request("prompt", "'prompt' is required");
  if (prompt->is_string()) return model.prompts->encode_text(prompt->get<std::string>());
  if (!prompt->is_array() || prompt->empty()) {
    return bad_request("prompt", "'prompt' must be a string, a non-empty list of token ids, or a list with one prompt");
  }
  const json& first = prompt->front();
  if (first.is_number()) return token_list(*prompt, model);
  if (prompt->size() > 1) {
    return unsupported("prompt", "several prompts in one request are not supported; send one request per prompt");
  }
  if (first.is_string()) return model.prompts->encode_text(first.get<std::string>());
  if (first.is_array() && !first.empty()) return token_list(first, model);
  return bad_request("prompt", "'prompt' must be a string, a non-empty list of token ids, or a list with one prompt");
}

}  // namespace troupe::api
