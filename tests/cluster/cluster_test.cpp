// A real cluster on loopback: `troupe up` starts a head and node processes; requests go through
// the OpenAI API, the router, UCX and the replica leaders. Oracle for the tokens: the engine in
// one process (what `troupe run` uses), and `troupe run` itself for a few prompts.
#include <signal.h>

#include <fstream>
#include <future>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include <httplib.h>

#include "engine/engine.hpp"
#include "engine/prompt_builder.hpp"
#include "tests/cluster/cluster_harness.hpp"
#include "tests/unit/engine/reference.hpp"

namespace troupe::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::filesystem::path model_dir() { return tiny_model(model_arch::llama, "f32"); }

std::string prompt_of(int i) { return fmt::format("Request {}: once upon a time, a {} went to the", i, i % 2 ? "cat" : "dog"); }
int max_tokens_of(int i) { return 4 + i % 13; }

// What each prompt gives greedily in one process.
std::vector<std::string> expected_texts(int n) {
  auto eng = engine::create({.model_dir = model_dir(), .num_threads = 2, .kv_cache_bytes = 64 << 20});
  EXPECT_TRUE(eng) << eng.error().message;
  std::map<request_id, int> index;
  for (int i = 0; i < n; ++i) {
    auto id = (*eng)->add_request({.prompt_token_ids = (*eng)->prompts().encode_text(prompt_of(i)),
                                   .sampling = {.temperature = 0.0f, .max_tokens = max_tokens_of(i)}});
    EXPECT_TRUE(id);
    index[*id] = i;
  }
  std::vector<std::string> texts(static_cast<std::size_t>(n));
  while ((*eng)->has_unfinished()) {
    for (const request_output& out : (*eng)->step()) texts[static_cast<std::size_t>(index.at(out.id))] += out.new_text;
  }
  return texts;
}

// The text of a completion, non-streaming or concatenated from its stream.
std::string completion_text(const http_reply& r) {
  if (r.body.is_object() && r.body.contains("choices")) return r.body["choices"][0]["text"].get<std::string>();
  std::string text;
  for (const json& e : r.events) {
    if (e.contains("choices") && !e["choices"].empty()) text += e["choices"][0].value("text", "");
  }
  return text;
}

class serving_cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new local_cluster(cluster_spec{.name = "serving", .model = model_dir(), .num_nodes = 3, .replicas = 3});
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static local_cluster* cluster_;
};
local_cluster* serving_cluster::cluster_ = nullptr;

TEST_F(serving_cluster, serves_64_concurrent_requests_with_the_tokens_of_one_process) {
  ASSERT_TRUE(cluster_->started()) << cluster_->up_output();
  constexpr int num_requests = 64;
  const std::vector<std::string> want = expected_texts(num_requests);
  std::vector<std::future<http_reply>> replies;
  for (int i = 0; i < num_requests; ++i) {
    json body{{"model", "demo"}, {"prompt", prompt_of(i)}, {"max_tokens", max_tokens_of(i)}, {"temperature", 0}};
    if (i % 2 == 1) body["stream"] = true;
    replies.push_back(std::async(std::launch::async, [port = cluster_->http_port(), body] {
      return post_json(port, "/v1/completions", body);
    }));
  }
  for (int i = 0; i < num_requests; ++i) {
    const http_reply r = replies[static_cast<std::size_t>(i)].get();
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.error << " " << r.body.dump();
    if (i % 2 == 1) {
      EXPECT_TRUE(r.done) << "request " << i << " has no [DONE]";
    }
    EXPECT_EQ(completion_text(r), want[static_cast<std::size_t>(i)]) << "request " << i;
  }
  // Every replica served some of them.
  for (const std::string node : {"node0", "node1", "node2"}) {
    const std::string log = cluster_->read_log(node);
    EXPECT_NE(log.find("finished request"), std::string::npos) << node << " served nothing";
  }
}

TEST_F(serving_cluster, gives_what_troupe_run_gives) {
  ASSERT_TRUE(cluster_->started()) << cluster_->up_output();
  for (int i : {0, 7}) {
    const command_result run = run_command({troupe_binary().string(), "run", "--model", model_dir().string(), "--prompt",
                                            prompt_of(i), "--temperature", "0", "--max-tokens",
                                            std::to_string(max_tokens_of(i)), "--json"},
                                           60s);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const json offline = json::parse(run.output.substr(run.output.find('{')));
    const http_reply r = post_json(cluster_->http_port(), "/v1/completions",
                                   {{"model", "demo"}, {"prompt", prompt_of(i)}, {"max_tokens", max_tokens_of(i)}, {"temperature", 0}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(completion_text(r), offline["text"].get<std::string>());
    EXPECT_EQ(r.body["usage"]["completion_tokens"].get<int>(), static_cast<int>(offline["token_ids"].size()));
  }
}

// A streaming client that goes away: the head notices (write fails or ping), the replica's leader
// aborts the request and frees its KV blocks.
TEST_F(serving_cluster, a_client_that_disconnects_cancels_its_request_on_the_replica) {
  ASSERT_TRUE(cluster_->started()) << cluster_->up_output();
  httplib::Client client("127.0.0.1", cluster_->http_port());
  client.set_read_timeout(30s);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = json{{"model", "demo"}, {"prompt", "a client that leaves"}, {"max_tokens", 2000}, {"ignore_eos", true},
                  {"temperature", 0}, {"stream", true}}.dump();
  req.set_header("Content-Type", "application/json");
  int num_chunks = 0;
  req.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) { return ++num_chunks < 3; };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  client.send(req, res, err);  // returns once the receiver refuses more: the connection closes
  client.stop();
  ASSERT_GE(num_chunks, 3);
  bool aborted = false;
  for (int i = 0; i < 100 && !aborted; ++i) {
    for (const std::string node : {"node0", "node1", "node2"}) aborted |= cluster_->read_log(node).find("(abort)") != std::string::npos;
    if (!aborted) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(aborted) << "no replica aborted the abandoned request within 10 s";
}

TEST_F(serving_cluster, the_official_openai_client_works_against_it) {
  ASSERT_TRUE(cluster_->started()) << cluster_->up_output();
  const std::string script = std::string(TROUPE_SOURCE_DIR) + "/tests/api/openai_client_test.mjs";
  const command_result r = run_command({"node", script, cluster_->base_url(), "demo"}, 120s,
                                       {"NODE_PATH=" + std::string(TROUPE_NPM_DIR)});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// kill -9 of a node: detected within 2 s, its requests end with an error, the others finish,
// and new requests go to the surviving replica.
TEST(cluster_failure, a_killed_node_fails_its_requests_and_the_rest_keeps_serving) {
  local_cluster cluster(cluster_spec{.name = "failure", .model = model_dir(), .num_nodes = 2, .replicas = 2});
  ASSERT_TRUE(cluster.started()) << cluster.up_output();
  const std::map<std::string, pid_t> pids = cluster.pids();
  ASSERT_TRUE(pids.contains("node1"));

  // Long streams on both replicas (least-loaded routing alternates between them).
  std::atomic<int> num_started{0};
  std::vector<std::future<std::pair<http_reply, std::chrono::steady_clock::time_point>>> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(std::async(std::launch::async, [&cluster, &num_started, i] {
      json body{{"model", "demo"}, {"prompt", prompt_of(i)}, {"max_tokens", 600}, {"ignore_eos", true},
                {"temperature", 0}, {"stream", true}};
      ++num_started;
      http_reply r = post_json(cluster.http_port(), "/v1/completions", body, 60s);
      return std::make_pair(std::move(r), std::chrono::steady_clock::now());
    }));
  }
  while (num_started < 4) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(1000ms);  // all four are decoding
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pids.at("node1"), SIGKILL), 0);

  int num_failed = 0, num_completed = 0;
  for (auto& f : streams) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready) << "a stream hangs";
    auto [r, ended_at] = f.get();
    ASSERT_EQ(r.status, 200) << r.error;
    ASSERT_FALSE(r.events.empty());
    const json& last = r.events.back();
    if (last.contains("error")) {
      ++num_failed;
      EXPECT_LE(ended_at - killed_at, 2000ms) << "failure noticed too late";
      EXPECT_NE(last["error"]["message"].get<std::string>().find("node1"), std::string::npos) << last.dump();
    } else {
      ++num_completed;
      EXPECT_EQ(last["choices"][0]["finish_reason"], "length") << last.dump();
    }
  }
  EXPECT_EQ(num_failed, 2);
  EXPECT_EQ(num_completed, 2);
  EXPECT_NE(cluster.read_log("head").find("node node1 is dead"), std::string::npos);

  for (int i = 0; i < 4; ++i) {
    const http_reply r = post_json(cluster.http_port(), "/v1/completions",
                                   {{"model", "demo"}, {"prompt", prompt_of(i)}, {"max_tokens", 5}, {"temperature", 0}});
    EXPECT_EQ(r.status, 200) << r.body.dump();
  }
}

// A hung node (SIGSTOP): no heartbeats for 1.5 s make it dead; when it resumes, the head refuses
// its heartbeats and the node stops itself instead of lingering half alive.
TEST(cluster_failure, a_hung_node_is_declared_dead_and_stops_when_it_resumes) {
  local_cluster cluster(cluster_spec{.name = "hung", .model = model_dir(), .num_nodes = 2, .replicas = 2});
  ASSERT_TRUE(cluster.started()) << cluster.up_output();
  const pid_t node1 = cluster.pids().at("node1");
  ASSERT_EQ(::kill(node1, SIGSTOP), 0);
  const auto stopped_at = std::chrono::steady_clock::now();
  bool dead = false;
  while (!dead && std::chrono::steady_clock::now() - stopped_at < 10s) {
    dead = cluster.read_log("head").find("node node1 is dead (no heartbeat") != std::string::npos;
    if (!dead) std::this_thread::sleep_for(50ms);
  }
  const auto detected_after = std::chrono::steady_clock::now() - stopped_at;
  ::kill(node1, SIGCONT);
  ASSERT_TRUE(dead) << cluster.read_log("head");
  EXPECT_LE(detected_after, 2500ms);  // 1.5 s without heartbeats + one 250 ms check + log polling
  bool exited = false;
  for (int i = 0; i < 100 && !exited; ++i) {
    exited = cluster.read_log("node1").find("node node1: stopping (refused by the coordinator") != std::string::npos;
    if (!exited) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(exited) << cluster.read_log("node1");
  const http_reply r = post_json(cluster.http_port(), "/v1/completions",
                                 {{"model", "demo"}, {"prompt", "still serving"}, {"max_tokens", 4}, {"temperature", 0}});
  EXPECT_EQ(r.status, 200) << r.body.dump();
}

TEST(cluster_launch, up_names_the_process_that_failed_and_stops_the_rest) {
  local_cluster cluster(cluster_spec{.name = "broken", .model = "/nonexistent/model", .num_nodes = 1, .replicas = 1});
  EXPECT_FALSE(cluster.started());
  EXPECT_NE(cluster.up_output().find("head exited with code 2"), std::string::npos) << cluster.up_output();
  EXPECT_NE(cluster.up_output().find("/nonexistent/model"), std::string::npos) << cluster.up_output();
  for (const auto& [name, pid] : cluster.pids()) EXPECT_NE(::kill(pid, 0), 0) << name << " still runs";
}

TEST(cluster_launch, up_reports_a_bad_cluster_yaml_with_line_and_column) {
  const auto dir = scratch_directory("bad-yaml");
  std::ofstream(dir / "cluster.yaml") << "cluster: {name: x}\nnodes:\n  - {name: n, host: 127.0.0.1, devices: gpu}\n";
  const command_result r = run_command({troupe_binary().string(), "up", "-f", (dir / "cluster.yaml").string()}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("cluster.yaml:3:"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace troupe::testing
