// Response bodies in OpenAI's exact shapes, and error objects.
#include "api/response_json.hpp"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "tests/unit/api/api_test_support.hpp"

namespace troupe::api {
namespace {

const tokenizer& tok() { return testing::llama3_served_model().prompts->get_tokenizer(); }

response_meta meta(endpoint_kind kind) {
  return response_meta{.kind = kind, .id = "id-1", .created_unix_s = 1700000000, .model = "tiny"};
}

// "Hello" " world" in the Llama 3 vocabulary.
std::vector<sample_result> two_tokens() {
  const std::vector<token_id> ids = tok().encode("Hello world", false);
  EXPECT_EQ(ids.size(), 2u);
  return {sample_result{.token = ids[0], .logprob = -0.5f, .top_logprobs = {{ids[0], -0.5f}, {ids[1], -1.5f}}},
          sample_result{.token = ids[1], .logprob = -std::numeric_limits<float>::infinity(), .top_logprobs = {}}};
}

TEST(response_json, new_ids_have_the_openai_prefixes) {
  EXPECT_EQ(new_response_meta(endpoint_kind::chat, "m").id.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(new_response_meta(endpoint_kind::completion, "m").id.rfind("cmpl-", 0), 0u);
  EXPECT_NE(new_response_meta(endpoint_kind::chat, "m").id, new_response_meta(endpoint_kind::chat, "m").id);
}

TEST(response_json, chat_completion_has_the_openai_shape) {
  const std::vector<choice_output> choices{{.index = 0, .text = "Hello world", .logprobs = two_tokens(),
                                            .finished = finish_reason::stop, .num_tokens = 2}};
  const ordered_json r = full_response_json(meta(endpoint_kind::chat), tok(), choices, true,
                                            {.prompt_tokens = 5, .completion_tokens = 2, .cached_prompt_tokens = 1});
  EXPECT_EQ(dump(r),
            R"({"id":"id-1","object":"chat.completion","created":1700000000,"model":"tiny","choices":[{"index":0,)"
            R"("message":{"role":"assistant","content":"Hello world","refusal":null},"logprobs":{"content":[)"
            R"({"token":"Hello","logprob":-0.5,"bytes":[72,101,108,108,111],"top_logprobs":[{"token":"Hello","logprob":-0.5,)"
            R"("bytes":[72,101,108,108,111]},{"token":" world","logprob":-1.5,"bytes":[32,119,111,114,108,100]}]},)"
            R"({"token":" world","logprob":-9999.0,"bytes":[32,119,111,114,108,100],"top_logprobs":[]}],"refusal":null},)"
            R"("finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,)"
            R"("prompt_tokens_details":{"cached_tokens":1}}})");
}

TEST(response_json, text_completion_logprobs_have_tokens_and_text_offsets) {
  const std::vector<choice_output> choices{{.index = 0, .text = "Hello world", .logprobs = two_tokens(),
                                            .finished = finish_reason::length, .num_tokens = 2}};
  const ordered_json r = full_response_json(meta(endpoint_kind::completion), tok(), choices, true, {});
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][0]["text"], "Hello world");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(dump(r["choices"][0]["logprobs"]),
            R"({"tokens":["Hello"," world"],"token_logprobs":[-0.5,-9999.0],)"
            R"("top_logprobs":[{"Hello":-0.5," world":-1.5},{}],"text_offset":[0,5]})");
}

TEST(response_json, without_logprobs_the_field_is_null) {
  const ordered_json r = full_response_json(meta(endpoint_kind::chat), tok(), {{.text = "x"}}, false, {});
  EXPECT_TRUE(r["choices"][0]["logprobs"].is_null());
  EXPECT_TRUE(r["choices"][0]["finish_reason"].is_null());
}

TEST(response_json, chat_chunks_carry_the_role_first_and_the_finish_reason_last) {
  const ordered_json first = chunk_json(meta(endpoint_kind::chat), tok(), {.index = 2}, true, false, 0, true);
  EXPECT_EQ(dump(first),
            R"({"id":"id-1","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":[{"index":2,)"
            R"("delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null})");
  const ordered_json last =
      chunk_json(meta(endpoint_kind::chat), tok(), {.index = 2, .finished = finish_reason::stop}, false, false, 0, false);
  EXPECT_EQ(dump(last["choices"][0]["delta"]), "{}");
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_FALSE(last.contains("usage"));
}

TEST(response_json, completion_chunk_offsets_continue_from_the_text_sent) {
  const ordered_json c = chunk_json(meta(endpoint_kind::completion), tok(),
                                    {.index = 0, .text = "Hello world", .logprobs = two_tokens()}, false, true, 7, false);
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["text"], "Hello world");
  EXPECT_EQ(dump(c["choices"][0]["logprobs"]["text_offset"]), "[7,12]");
}

TEST(response_json, usage_chunk_has_empty_choices) {
  const ordered_json u = usage_chunk_json(meta(endpoint_kind::chat), {.prompt_tokens = 3, .completion_tokens = 4});
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"]["total_tokens"], 7);
}

TEST(response_json, models_list) {
  EXPECT_EQ(dump(models_json({testing::llama3_served_model()})),
            R"({"object":"list","data":[{"id":"tiny","object":"model","created":1700000000,"owned_by":"troupe",)"
            R"("max_model_len":256}]})");
}

TEST(api_error, errors_map_to_statuses_and_openai_objects) {
  EXPECT_EQ(dump(bad_request("top_p", "top_p must be in (0, 1], got 2").to_json()),
            R"({"error":{"code":null,"message":"top_p must be in (0, 1], got 2","param":"top_p","type":"invalid_request_error"}})");
  EXPECT_EQ(from_error(error{errc::not_found, "x"}).http_status, 404);
  EXPECT_EQ(from_error(error{errc::invalid_argument, "x"}).http_status, 400);
  EXPECT_EQ(from_error(error{errc::resource_exhausted, "x"}).http_status, 429);
  EXPECT_EQ(from_error(error{errc::unavailable, "x"}).http_status, 503);
  EXPECT_EQ(from_error(error{errc::internal, "x"}).http_status, 500);
  EXPECT_EQ(unsupported("echo", "no").to_json()["error"]["code"], "unsupported");
}

}  // namespace
}  // namespace troupe::api
