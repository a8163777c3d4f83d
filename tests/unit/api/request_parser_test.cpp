// Request bodies -> api_request: every field, and the error (status, param) of each bad input.
#include "api/request_parser.hpp"

#include <gtest/gtest.h>

#include "tests/unit/api/api_test_support.hpp"

namespace troupe::api {
namespace {

using testing::llama3_served_model;

const std::vector<served_model>& models() {
  static const std::vector<served_model> list{llama3_served_model()};
  return list;
}

api_result<api_request> chat(const std::string& extra_fields) {
  const std::string body = R"({"model": "tiny", "messages": [{"role": "user", "content": "Hello"}])" +
                           (extra_fields.empty() ? std::string() : ", " + extra_fields) + "}";
  return parse_request_body(endpoint_kind::chat, body, models());
}

api_result<api_request> completion(const std::string& fields) {
  return parse_request_body(endpoint_kind::completion, R"({"model": "tiny", )" + fields + "}", models());
}

// The error's status and param, "ok" when it parsed.
std::string outcome(const api_result<api_request>& r) {
  if (r) return "ok";
  return std::to_string(r.error().http_status) + " " + r.error().param;
}

TEST(request_parser, chat_prompt_is_the_chat_template_rendering) {
  auto r = chat("");
  ASSERT_TRUE(r) << r.error().message;
  nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hello"}])");
  auto expected = models()[0].prompts->encode_chat(messages, nullptr);
  ASSERT_TRUE(expected);
  EXPECT_EQ(r->prompt_token_ids, *expected);
  EXPECT_EQ(r->model, "tiny");
  EXPECT_EQ(r->n, 1);
  EXPECT_FALSE(r->stream);
}

TEST(request_parser, chat_max_tokens_defaults_to_what_fits_in_the_context) {
  auto r = chat("");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sampling.max_tokens, 256 - static_cast<std::int32_t>(r->prompt_token_ids.size()));
}

TEST(request_parser, completion_max_tokens_defaults_to_16) {
  auto r = completion(R"("prompt": "Once upon a time")");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sampling.max_tokens, 16);
  EXPECT_EQ(r->prompt_token_ids, models()[0].prompts->encode_text("Once upon a time"));
}

TEST(request_parser, list_content_parts_equal_the_joined_string) {
  auto parts = parse_request_body(
      endpoint_kind::chat,
      R"({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]}]})",
      models());
  auto plain = parse_request_body(endpoint_kind::chat,
                                  R"({"model": "tiny", "messages": [{"role": "user", "content": "Hel\nlo"}]})", models());
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_TRUE(plain);
  EXPECT_EQ(parts->prompt_token_ids, plain->prompt_token_ids);
}

TEST(request_parser, tools_reach_the_template_in_request_key_order_unless_tool_choice_is_none) {
  const std::vector<served_model> list{testing::tools_served_model()};
  const std::string tools =
      R"("tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"zcity": {"type": "string"}, "acountry": {"type": "string"}}}}}])";
  auto parse = [&](const std::string& extra) {
    return parse_request_body(endpoint_kind::chat,
                              R"({"model": "tools", "messages": [{"role": "user", "content": "Hi"}])" + extra + "}", list);
  };
  auto without = parse("");
  auto with = parse(", " + tools);
  auto none = parse(", " + tools + R"(, "tool_choice": "none")");
  ASSERT_TRUE(with) << with.error().message;
  ASSERT_TRUE(none);
  const std::string text = list[0].prompts->get_tokenizer().decode(with->prompt_token_ids);
  EXPECT_NE(text.find(R"({"zcity": {"type": "string"}, "acountry")"), std::string::npos) << text;
  EXPECT_EQ(none->prompt_token_ids, without->prompt_token_ids);
  EXPECT_EQ(outcome(parse(R"(, "tools": [{"type": "function"}])")), "400 tools[0]");
}

TEST(request_parser, reads_every_sampling_field) {
  auto r = chat(R"("temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "presence_penalty": 0.5,
      "frequency_penalty": -0.5, "repetition_penalty": 1.1, "logit_bias": {"15": 2.5, "7": -100}, "seed": 42,
      "stop": ["\n\n", "END"], "stop_token_ids": [128001], "ignore_eos": true, "max_tokens": 10, "n": 3,
      "logprobs": true, "top_logprobs": 5, "stream": true, "stream_options": {"include_usage": true}, "user": "u1",
      "metadata": {"a": "b"}, "store": false, "service_tier": "auto", "parallel_tool_calls": false)");
  ASSERT_TRUE(r) << r.error().message;
  const sampling_params& s = r->sampling;
  EXPECT_FLOAT_EQ(s.temperature, 0.5f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 40);
  EXPECT_FLOAT_EQ(s.min_p, 0.05f);
  EXPECT_FLOAT_EQ(s.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(s.repetition_penalty, 1.1f);
  const std::vector<std::pair<token_id, float>> bias{{15, 2.5f}, {7, -100.0f}};
  EXPECT_EQ(s.logit_bias, bias);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(s.stop_token_ids, (std::vector<token_id>{128001}));
  EXPECT_TRUE(s.ignore_eos);
  EXPECT_EQ(s.max_tokens, 10);
  EXPECT_EQ(s.logprobs, 5);
  EXPECT_EQ(r->n, 3);
  EXPECT_TRUE(r->return_logprobs);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->user, "u1");
}

TEST(request_parser, stop_may_be_a_single_string_and_max_completion_tokens_wins) {
  auto r = chat(R"("stop": "END", "max_tokens": 5, "max_completion_tokens": 7)");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sampling.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r->sampling.max_tokens, 7);
}

TEST(request_parser, null_fields_mean_not_given) {
  auto r = chat(R"("temperature": null, "stop": null, "seed": null, "logprobs": null)");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FLOAT_EQ(r->sampling.temperature, 1.0f);
  EXPECT_FALSE(r->sampling.seed);
  EXPECT_EQ(r->sampling.logprobs, -1);
}

TEST(request_parser, completion_logprobs_is_an_integer) {
  auto r = completion(R"("prompt": "Hi", "logprobs": 3)");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sampling.logprobs, 3);
  EXPECT_TRUE(r->return_logprobs);
  EXPECT_EQ(outcome(completion(R"("prompt": "Hi", "logprobs": true)")), "400 logprobs");
  EXPECT_EQ(outcome(completion(R"("prompt": "Hi", "logprobs": 21)")), "400 logprobs");
}

TEST(request_parser, completion_prompt_may_be_token_ids_or_a_list_of_one) {
  auto ids = completion(R"("prompt": [128000, 9906, 1917])");
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->prompt_token_ids, (std::vector<token_id>{128000, 9906, 1917}));
  auto nested = completion(R"("prompt": [[128000, 9906]])");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->prompt_token_ids, (std::vector<token_id>{128000, 9906}));
  auto one_string = completion(R"("prompt": ["Hi"])");
  ASSERT_TRUE(one_string);
  EXPECT_EQ(one_string->prompt_token_ids, models()[0].prompts->encode_text("Hi"));
}

TEST(request_parser, rejects_bad_completion_prompts_naming_prompt) {
  EXPECT_EQ(outcome(completion(R"("prompt": ["a", "b"])")), "400 prompt");
  EXPECT_EQ(outcome(completion(R"("prompt": [1, -2])")), "400 prompt");
  EXPECT_EQ(outcome(completion(R"("prompt": [1, 999999999])")), "400 prompt");
  EXPECT_EQ(outcome(completion(R"("prompt": [])")), "400 prompt");
  EXPECT_EQ(outcome(completion(R"("prompt": 5)")), "400 prompt");
  EXPECT_EQ(outcome(parse_request_body(endpoint_kind::completion, R"({"model": "tiny"})", models())), "400 prompt");
}

TEST(request_parser, each_out_of_range_value_names_its_param) {
  EXPECT_EQ(outcome(chat(R"("temperature": -1)")), "400 temperature");
  EXPECT_EQ(outcome(chat(R"("temperature": "hot")")), "400 temperature");
  EXPECT_EQ(outcome(chat(R"("top_p": 1.5)")), "400 top_p");
  EXPECT_EQ(outcome(chat(R"("top_p": 0)")), "400 top_p");
  EXPECT_EQ(outcome(chat(R"("top_k": -2)")), "400 top_k");
  EXPECT_EQ(outcome(chat(R"("top_k": 1.5)")), "400 top_k");
  EXPECT_EQ(outcome(chat(R"("min_p": 2)")), "400 min_p");
  EXPECT_EQ(outcome(chat(R"("presence_penalty": 3)")), "400 presence_penalty");
  EXPECT_EQ(outcome(chat(R"("frequency_penalty": -3)")), "400 frequency_penalty");
  EXPECT_EQ(outcome(chat(R"("repetition_penalty": 0)")), "400 repetition_penalty");
  EXPECT_EQ(outcome(chat(R"("logit_bias": {"abc": 1})")), "400 logit_bias");
  EXPECT_EQ(outcome(chat(R"("logit_bias": {"5": 101})")), "400 logit_bias");
  EXPECT_EQ(outcome(chat(R"("logit_bias": {"999999999": 1})")), "400 logit_bias");
  EXPECT_EQ(outcome(chat(R"("seed": "x")")), "400 seed");
  EXPECT_EQ(outcome(chat(R"("stop": "")")), "400 stop");
  EXPECT_EQ(outcome(chat(R"("stop": [1])")), "400 stop");
  EXPECT_EQ(outcome(chat(R"("stop_token_ids": [-1])")), "400 stop_token_ids");
  EXPECT_EQ(outcome(chat(R"("stop_token_ids": [999999999])")), "400 stop_token_ids");
  EXPECT_EQ(outcome(chat(R"("ignore_eos": 1)")), "400 ignore_eos");
  EXPECT_EQ(outcome(chat(R"("max_tokens": 0)")), "400 max_tokens");
  EXPECT_EQ(outcome(chat(R"("max_tokens": 100000)")), "400 max_tokens");
  EXPECT_EQ(outcome(chat(R"("max_completion_tokens": -5)")), "400 max_completion_tokens");
  EXPECT_EQ(outcome(chat(R"("n": 0)")), "400 n");
  EXPECT_EQ(outcome(chat(R"("n": 17)")), "400 n");
  EXPECT_EQ(outcome(chat(R"("logprobs": 1)")), "400 logprobs");
  EXPECT_EQ(outcome(chat(R"("logprobs": true, "top_logprobs": 21)")), "400 top_logprobs");
  EXPECT_EQ(outcome(chat(R"("top_logprobs": 2)")), "400 top_logprobs");
  EXPECT_EQ(outcome(chat(R"("stream": "yes")")), "400 stream");
  EXPECT_EQ(outcome(chat(R"("stream_options": {"include_usage": true})")), "400 stream_options");
  EXPECT_EQ(outcome(chat(R"("stream": true, "stream_options": {"other": 1})")), "400 stream_options");
  EXPECT_EQ(outcome(chat(R"("user": 5)")), "400 user");
}

TEST(request_parser, rejects_bad_messages_naming_the_message) {
  auto bad = [](const std::string& messages) {
    return outcome(parse_request_body(endpoint_kind::chat, R"({"model": "tiny", "messages": )" + messages + "}", models()));
  };
  EXPECT_EQ(bad("[]"), "400 messages");
  EXPECT_EQ(bad(R"("hi")"), "400 messages");
  EXPECT_EQ(bad(R"([{"content": "hi"}])"), "400 messages[0].role");
  EXPECT_EQ(bad(R"([{"role": "wizard", "content": "hi"}])"), "400 messages[0].role");
  EXPECT_EQ(bad(R"([{"role": "user"}])"), "400 messages[0].content");
  EXPECT_EQ(bad(R"([{"role": "user", "content": 5}])"), "400 messages[0].content");
  EXPECT_EQ(bad(R"([{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])"),
            "400 messages[1].content[0].type");
  EXPECT_EQ(outcome(parse_request_body(endpoint_kind::chat, R"({"model": "tiny"})", models())), "400 messages");
}

TEST(request_parser, unsupported_features_are_400_naming_the_field) {
  EXPECT_EQ(outcome(chat(R"("response_format": {"type": "json_object"})")), "400 response_format");
  EXPECT_TRUE(chat(R"("response_format": {"type": "text"})"));
  EXPECT_EQ(outcome(chat(R"("tool_choice": "required")")), "400 tool_choice");
  EXPECT_EQ(outcome(chat(R"("tool_choice": {"type": "function", "function": {"name": "f"}})")), "400 tool_choice");
  EXPECT_EQ(outcome(completion(R"("prompt": "a", "echo": true)")), "400 echo");
  EXPECT_TRUE(completion(R"("prompt": "a", "echo": false)"));
  EXPECT_EQ(outcome(completion(R"("prompt": "a", "suffix": "z")")), "400 suffix");
  EXPECT_EQ(outcome(completion(R"("prompt": "a", "best_of": 2)")), "400 best_of");
  EXPECT_TRUE(completion(R"("prompt": "a", "best_of": 2, "n": 2)"));
  auto r = chat(R"("response_format": {"type": "json_object"})");
  EXPECT_EQ(r.error().code, "unsupported");
}

TEST(request_parser, unknown_fields_are_rejected_by_name) {
  auto r = chat(R"("frobnicate": 1)");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "frobnicate");
  EXPECT_NE(r.error().message.find("frobnicate"), std::string::npos);
  EXPECT_EQ(outcome(completion(R"("prompt": "a", "messages": [])")), "400 messages");
  EXPECT_EQ(outcome(chat(R"("prompt": "a")")), "400 prompt");
}

TEST(request_parser, unknown_model_is_404_model_not_found) {
  auto r = parse_request_body(endpoint_kind::chat, R"({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})",
                              models());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_EQ(r.error().param, "model");
  EXPECT_EQ(r.error().code, "model_not_found");
  EXPECT_EQ(outcome(parse_request_body(endpoint_kind::chat, R"({"messages": []})", models())), "400 model");
  EXPECT_EQ(outcome(parse_request_body(endpoint_kind::chat, R"({"model": 7})", models())), "400 model");
}

TEST(request_parser, invalid_json_and_non_objects_are_400) {
  auto r = parse_request_body(endpoint_kind::chat, R"({"model": )", models());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(outcome(parse_request_body(endpoint_kind::chat, "[1, 2]", models())), "400 ");
  EXPECT_EQ(outcome(parse_request_body(endpoint_kind::chat, "\"\xff\"", models())), "400 ");
}

TEST(request_parser, a_prompt_longer_than_the_context_is_rejected) {
  const std::vector<served_model> small{llama3_served_model(8)};
  auto r = parse_request_body(endpoint_kind::completion,
                              R"({"model": "tiny", "prompt": "one two three four five six seven eight nine ten"})", small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "prompt");
  EXPECT_NE(r.error().message.find("context length of 8"), std::string::npos);
}

}  // namespace
}  // namespace troupe::api
