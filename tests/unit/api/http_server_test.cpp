// The HTTP API over loopback against a local_engine_service with a tiny random Llama (real
// Llama 3.1 tokenizer): greedy text equals the engine's own, streams concatenate to it, usage,
// every error status, and a client that disconnects mid-stream gets its request cancelled.
#include "api/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/local_engine_service.hpp"
#include "engine/prompt_builder.hpp"
#include "tests/unit/engine/reference.hpp"

namespace troupe::api {
namespace {

using json = nlohmann::json;

engine_options tiny_options() {
  return engine_options{.model_dir = testing::tiny_model(model_arch::llama, "f32"),
                        .num_threads = 1,
                        .max_num_seqs = 8,
                        .max_model_len = 256,
                        .num_kv_blocks = 64};
}

class http_server_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto created = local_engine_service::create(tiny_options(), "tiny");
    ASSERT_TRUE(created) << created.error().message;
    service_ = std::move(created).value().release();
    auto started = http_server::start({.host = "127.0.0.1", .port = 0, .num_threads = 8, .api_keys = {}}, *service_);
    ASSERT_TRUE(started) << started.error().message;
    server_ = std::move(started).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete service_;
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30);
    return c;
  }
  static httplib::Result post(const std::string& path, const json& body) {
    return client().Post(path.c_str(), body.dump(), "application/json");
  }
  // The engine's own greedy text for `prompt` (a separate engine on the same checkpoint).
  static std::string engine_greedy_text(const std::vector<token_id>& prompt, std::int32_t max_tokens) {
    auto eng = engine::create(tiny_options());
    EXPECT_TRUE(eng);
    auto id = (*eng)->add_request({.prompt_token_ids = prompt,
                                   .sampling = {.temperature = 0, .max_tokens = max_tokens, .ignore_eos = true}});
    EXPECT_TRUE(id);
    std::string text;
    while ((*eng)->has_unfinished()) {
      for (const request_output& out : (*eng)->step()) text += out.new_text;
    }
    return text;
  }
  // The `data:` payloads of an SSE body, in order.
  static std::vector<std::string> sse_events(const std::string& body) {
    std::vector<std::string> events;
    std::size_t at = 0;
    while ((at = body.find("data: ", at)) != std::string::npos) {
      const std::size_t end = body.find("\n\n", at);
      events.push_back(body.substr(at + 6, end - at - 6));
      at = end;
    }
    return events;
  }

  static local_engine_service* service_;
  static http_server* server_;
};

local_engine_service* http_server_test::service_ = nullptr;
http_server* http_server_test::server_ = nullptr;

const json chat_body = {{"model", "tiny"},
                        {"messages", {{{"role", "user"}, {"content", "Hello there"}}}},
                        {"temperature", 0},
                        {"max_tokens", 8},
                        {"ignore_eos", true}};

std::vector<token_id> chat_prompt_ids() {
  auto prompts = prompt_builder::load(tiny_options().model_dir);
  EXPECT_TRUE(prompts);
  auto ids = prompts->encode_chat(nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hello there"}])"), nullptr);
  EXPECT_TRUE(ids);
  return *ids;
}

TEST_F(http_server_test, health_and_models) {
  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), json({{"status", "ok"}}));
  auto models = client().Get("/v1/models");
  ASSERT_TRUE(models);
  const json list = json::parse(models->body);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], "tiny");
  EXPECT_EQ(list["data"][0]["object"], "model");
}

TEST_F(http_server_test, greedy_chat_text_equals_the_engine_output_with_usage) {
  auto res = post("/v1/chat/completions", chat_body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json r = json::parse(res->body);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(r["model"], "tiny");
  EXPECT_TRUE(r["created"].is_number_integer());
  ASSERT_EQ(r["choices"].size(), 1u);
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  const std::vector<token_id> prompt = chat_prompt_ids();
  EXPECT_EQ(r["choices"][0]["message"]["content"].get<std::string>(), engine_greedy_text(prompt, 8));
  EXPECT_EQ(r["usage"]["prompt_tokens"], prompt.size());
  EXPECT_EQ(r["usage"]["completion_tokens"], 8);
  EXPECT_EQ(r["usage"]["total_tokens"], prompt.size() + 8);
}

TEST_F(http_server_test, streamed_chat_chunks_concatenate_to_the_same_text) {
  json body = chat_body;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto res = post("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<std::string> events = sse_events(res->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  const json first = json::parse(events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  std::string finish;
  for (std::size_t i = 0; i + 2 < events.size(); ++i) {
    const json chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["id"], first["id"]);
    EXPECT_TRUE(chunk["usage"].is_null());
    const json& choice = chunk["choices"][0];
    if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(text, engine_greedy_text(chat_prompt_ids(), 8));
  const json usage_chunk = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], 8);
}

TEST_F(http_server_test, completions_with_logprobs_and_streaming) {
  const json body = {{"model", "tiny"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 5},
                     {"ignore_eos", true}, {"logprobs", 2}};
  auto res = post("/v1/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json r = json::parse(res->body);
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  const json& lp = r["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 5u);
  EXPECT_EQ(lp["token_logprobs"].size(), 5u);
  EXPECT_EQ(lp["top_logprobs"][0].size(), 2u);
  EXPECT_EQ(lp["text_offset"][0], 0);
  auto prompts = prompt_builder::load(tiny_options().model_dir);
  EXPECT_EQ(r["choices"][0]["text"].get<std::string>(), engine_greedy_text(prompts->encode_text("Once upon a time"), 5));

  json streamed_body = body;
  streamed_body["stream"] = true;
  auto streamed = post("/v1/completions", streamed_body);
  ASSERT_TRUE(streamed);
  std::string text;
  for (const std::string& e : sse_events(streamed->body)) {
    if (e != "[DONE]") text += json::parse(e)["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, r["choices"][0]["text"].get<std::string>());
}

TEST_F(http_server_test, n_choices_with_a_seed_are_indexed) {
  json body = chat_body;
  body["n"] = 3;
  body["temperature"] = 1.0;
  body["seed"] = 5;
  auto res = post("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json r = json::parse(res->body);
  ASSERT_EQ(r["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r["choices"][i]["index"], i);
  EXPECT_EQ(r["usage"]["completion_tokens"], 24);
  auto again = post("/v1/chat/completions", body);
  EXPECT_EQ(json::parse(again->body)["choices"], r["choices"]);
}

TEST_F(http_server_test, error_statuses_are_openai_error_objects) {
  auto expect_error = [](const httplib::Result& res, int status, const std::string& param) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    const json e = json::parse(res->body);
    ASSERT_TRUE(e.contains("error")) << res->body;
    EXPECT_TRUE(e["error"]["message"].is_string());
    EXPECT_TRUE(e["error"]["type"].is_string());
    if (param.empty()) {
      EXPECT_TRUE(e["error"]["param"].is_null());
    } else {
      EXPECT_EQ(e["error"]["param"], param);
    }
  };
  expect_error(client().Post("/v1/chat/completions", "{not json", "application/json"), 400, "");
  json bad = chat_body;
  bad["temperature"] = -1;
  expect_error(post("/v1/chat/completions", bad), 400, "temperature");
  bad = chat_body;
  bad["model"] = "nope";
  expect_error(post("/v1/chat/completions", bad), 404, "model");
  expect_error(client().Get("/v1/nothing"), 404, "");
  expect_error(client().Get("/v1/chat/completions"), 405, "");
  expect_error(client().Post("/v1/models", "{}", "application/json"), 405, "");
  expect_error(client().Post("/v1/completions", std::string(17 << 20, ' '), "application/json"), 413, "");
}

TEST_F(http_server_test, api_keys_are_checked_except_for_health) {
  auto keyed = http_server::start({.host = "127.0.0.1", .port = 0, .num_threads = 2, .api_keys = {"sekret"}}, *service_);
  ASSERT_TRUE(keyed);
  httplib::Client c("127.0.0.1", (*keyed)->port());
  auto missing = c.Get("/v1/models");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(c.Get("/v1/models", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(c.Get("/v1/models", {{"Authorization", "Bearer sekret"}})->status, 200);
  EXPECT_EQ(c.Get("/health")->status, 200);
}

TEST_F(http_server_test, api_keys_file_errors_are_reported) {
  const auto empty = std::filesystem::path(TROUPE_BINARY_DIR) / "test-models" / "empty-keys.txt";
  std::filesystem::create_directories(empty.parent_path());
  std::ofstream(empty) << "# no keys\n\n";
  auto r = http_server::start({.port = 0, .api_keys_file = empty}, *service_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("holds no key"), std::string::npos);
  EXPECT_FALSE(http_server::start({.port = 0, .api_keys_file = "/nonexistent/keys"}, *service_));
}

// A raw socket: send a streaming request, read the first bytes, close without reading the rest.
void start_stream_and_disconnect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string body = R"({"model": "tiny", "prompt": "Hello", "max_tokens": 250, "ignore_eos": true, "stream": true})";
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char buffer[512];
  EXPECT_GT(::recv(fd, buffer, sizeof(buffer), 0), 0);
  ::close(fd);
}

TEST_F(http_server_test, a_client_that_disconnects_mid_stream_gets_its_request_cancelled) {
  const std::int64_t generated_before = service_->stats().num_generated_tokens;
  start_stream_and_disconnect(server_->port());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  engine_stats stats = service_->stats();
  while (std::chrono::steady_clock::now() < deadline) {
    stats = service_->stats();
    if (stats.num_running == 0 && stats.num_waiting == 0 && stats.num_free_kv_blocks == stats.num_kv_blocks &&
        stats.num_generated_tokens > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(stats.num_running, 0u);
  EXPECT_EQ(stats.num_free_kv_blocks, stats.num_kv_blocks);
  EXPECT_LT(stats.num_generated_tokens - generated_before, 250) << "the request ran to its end: not cancelled";
}

}  // namespace
}  // namespace troupe::api
