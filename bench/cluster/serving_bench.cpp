// Per-token overhead of serving through the cluster: time per output token (the gap between a
// stream's consecutive tokens), p50/p99, at several numbers of concurrent streams, for
//   offline: the engine in this process (what `troupe run` does), and
//   cluster: `troupe up` with one node and one replica on the same model and threads, requests
//            streamed over HTTP (SSE) through head, router, UCX and the replica leader.
//
//   troupe_bench_serving --model DIR [--streams 1,16] [--gen 64] [--prompt-len 32] [--threads 2] [--json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>

#include "engine/engine.hpp"
#include "tests/cluster/cluster_harness.hpp"

namespace {

using namespace troupe;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string model;
  std::vector<int> streams = {1, 16};
  int gen = 64;
  int prompt_len = 32;
  int threads = 2;
  bool json = false;
};

std::vector<std::vector<token_id>> make_prompts(int n, int len, int vocab) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<token_id> token(1000, std::min(vocab - 1, 30000));
  std::vector<std::vector<token_id>> prompts(static_cast<std::size_t>(n));
  for (auto& p : prompts) {
    p.resize(static_cast<std::size_t>(len));
    for (auto& t : p) t = token(rng);
  }
  return prompts;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// Gaps (ms) between consecutive tokens of each request, the engine in this process.
std::vector<double> offline_gaps(const options& o, int streams) {
  auto eng = engine::create({.model_dir = o.model, .num_threads = o.threads, .kv_cache_bytes = 256 << 20});
  if (!eng) throw std::runtime_error(eng.error().message);
  const auto prompts = make_prompts(streams, o.prompt_len, (*eng)->config().vocab_size);
  std::map<request_id, clock_type::time_point> last;
  for (const auto& p : prompts) {
    auto id = (*eng)->add_request({.prompt_token_ids = p, .sampling = {.temperature = 0.0f, .max_tokens = o.gen, .ignore_eos = true}});
    if (!id) throw std::runtime_error(id.error().message);
  }
  std::vector<double> gaps;
  while ((*eng)->has_unfinished()) {
    const auto& outs = (*eng)->step();
    const auto now = clock_type::now();
    for (const request_output& out : outs) {
      if (out.new_token_ids.empty()) continue;
      if (auto it = last.find(out.id); it != last.end()) gaps.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      last[out.id] = now;
    }
  }
  return gaps;
}

// The same through the cluster: one SSE stream per request, gap between consecutive chunks.
std::vector<double> cluster_gaps(const options& o, int streams, std::uint16_t port, int vocab) {
  const auto prompts = make_prompts(streams, o.prompt_len, vocab);
  std::vector<std::future<std::vector<double>>> futures;
  for (const auto& p : prompts) {
    futures.push_back(std::async(std::launch::async, [&o, port, p] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(std::chrono::seconds(300));
      nlohmann::json body{{"model", "demo"}, {"prompt", p}, {"max_tokens", o.gen}, {"temperature", 0},
                          {"ignore_eos", true}, {"stream", true}};
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/completions";
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
      std::vector<double> gaps;
      std::optional<clock_type::time_point> last;
      std::string buffer;
      req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
        buffer.append(data, n);
        for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
          const std::string event = buffer.substr(0, end);
          buffer.erase(0, end + 2);
          if (event.rfind("data: {", 0) != 0 || event.find("\"text\"") == std::string::npos) continue;
          const auto now = clock_type::now();
          if (last) gaps.push_back(std::chrono::duration<double, std::milli>(now - *last).count());
          last = now;
        }
        return true;
      };
      httplib::Response res;
      httplib::Error err = httplib::Error::Success;
      client.send(req, res, err);
      return gaps;
    }));
  }
  std::vector<double> gaps;
  for (auto& f : futures) {
    std::vector<double> g = f.get();
    gaps.insert(gaps.end(), g.begin(), g.end());
  }
  return gaps;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"time per output token: engine in one process vs through the cluster"};
  app.add_option("--model", o.model, "checkpoint folder")->required()->check(CLI::ExistingDirectory);
  app.add_option("--streams", o.streams, "concurrent streams")->delimiter(',');
  app.add_option("--gen", o.gen, "tokens per stream")->capture_default_str();
  app.add_option("--prompt-len", o.prompt_len)->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads of the engine / the node's device")->capture_default_str();
  app.add_flag("--json", o.json);
  CLI11_PARSE(app, argc, argv);
  o.model = std::filesystem::absolute(o.model).string();

  auto config = load_model_config(o.model);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  testing::cluster_spec spec{.name = "bench", .model = o.model, .num_nodes = 1, .replicas = 1, .max_model_len = 4096};
  spec.cpu_threads_per_device = o.threads;
  testing::local_cluster cluster(spec);
  if (!cluster.started()) {
    std::fprintf(stderr, "troupe up failed:\n%s\n", cluster.up_output().c_str());
    return 1;
  }
  cluster_gaps(o, 1, cluster.http_port(), config->vocab_size);  // warm up
  if (!o.json) std::printf("%-8s %-28s %-28s\n", "streams", "offline ms/token p50 / p99", "cluster ms/token p50 / p99");
  for (int streams : o.streams) {
    const std::vector<double> offline = offline_gaps(o, streams);
    const std::vector<double> served = cluster_gaps(o, streams, cluster.http_port(), config->vocab_size);
    if (o.json) {
      std::printf("{\"streams\": %d, \"gen\": %d, \"threads\": %d, \"offline_p50_ms\": %.3f, \"offline_p99_ms\": %.3f, "
                  "\"cluster_p50_ms\": %.3f, \"cluster_p99_ms\": %.3f}\n",
                  streams, o.gen, o.threads, percentile(offline, 0.5), percentile(offline, 0.99), percentile(served, 0.5),
                  percentile(served, 0.99));
    } else {
      std::printf("%-8d %8.3f / %-17.3f %8.3f / %-17.3f\n", streams, percentile(offline, 0.5), percentile(offline, 0.99),
                  percentile(served, 0.5), percentile(served, 0.99));
    }
    std::fflush(stdout);
  }
  return 0;
}
