// Engine throughput: prefill and decode tokens per second for a batch of identical-length requests.
//
//   troupe_bench_engine --model DIR --batch 1,8,32 --threads 1,2 --prompt-len 128 --gen 32 [--repeat 3]
//
// For each (threads, batch): `batch` greedy requests of `prompt-len` random tokens start together.
// Prefill time is from the first step until every request has its first token (prompt tokens /
// time); decode time is the rest (generated tokens after the first / time). Decode is also shown
// as the weight bandwidth it implies at batch 1: weight bytes read per step x steps per second.
// The engine overhead is the time per decode step spent outside the model (scheduling, sampling,
// detokenizing, stop checks), from engine_stats. Medians over --repeat runs; --json: one JSON line
// per configuration.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "engine/engine.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct measurement {
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 0;
  double decode_step_ms = 0;
  double decode_overhead_us = 0;  // per decode step: engine time outside the model (schedule + update)
};

measurement run_once(troupe::engine& eng, int batch, int prompt_len, int gen, std::uint64_t seed) {
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  std::uniform_int_distribution<troupe::token_id> token(3, std::min(eng.config().vocab_size - 1, 30000));
  for (int b = 0; b < batch; ++b) {
    std::vector<troupe::token_id> prompt(static_cast<std::size_t>(prompt_len));
    for (auto& t : prompt) t = token(rng);
    auto id = eng.add_request({.prompt_token_ids = prompt,
                               .sampling = {.temperature = 0.0f, .max_tokens = gen, .ignore_eos = true}});
    if (!id) throw std::runtime_error(id.error().message);
  }
  int started = 0;
  int decode_steps = 0;
  std::int64_t decoded = 0;
  const auto t0 = clock_type::now();
  auto t_prefill_done = t0;
  troupe::engine_stats at_decode_start = eng.stats();
  while (eng.has_unfinished()) {
    const auto& outputs = eng.step();
    if (started < batch) {
      for (const auto& out : outputs) started += out.new_token_ids.empty() ? 0 : 1;
      if (started >= batch) {
        t_prefill_done = clock_type::now();
        at_decode_start = eng.stats();
      }
      continue;
    }
    ++decode_steps;
    for (const auto& out : outputs) decoded += static_cast<std::int64_t>(out.new_token_ids.size());
  }
  const auto t1 = clock_type::now();
  const troupe::engine_stats at_end = eng.stats();
  const double overhead_ns = static_cast<double>(at_end.schedule_ns - at_decode_start.schedule_ns +
                                                 at_end.update_ns - at_decode_start.update_ns);
  const double prefill_s = std::chrono::duration<double>(t_prefill_done - t0).count();
  const double decode_s = std::chrono::duration<double>(t1 - t_prefill_done).count();
  return measurement{.prefill_tokens_per_s = batch * prompt_len / prefill_s,
                     .decode_tokens_per_s = decoded / decode_s,
                     .decode_step_ms = decode_steps > 0 ? 1e3 * decode_s / decode_steps : 0,
                     .decode_overhead_us = decode_steps > 0 ? overhead_ns / 1e3 / decode_steps : 0};
}

// Streaming read bandwidth of this machine with `threads` threads (GB/s): each thread sums its
// share of a 1 GiB buffer, best of 3. The decode figures are compared with it in the same run.
double read_bandwidth_gb_s(int threads) {
  const std::size_t n = (std::size_t{1} << 30) / sizeof(std::uint64_t);
  std::vector<std::uint64_t> data(n, 1);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<std::uint64_t> sums(static_cast<std::size_t>(threads));
    const auto t0 = clock_type::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const std::size_t begin = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
        const std::size_t end = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
        std::uint64_t sum = 0;
        for (std::size_t i = begin; i < end; ++i) sum += data[i];
        sums[static_cast<std::size_t>(t)] = sum;
      });
    }
    for (auto& w : workers) w.join();
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (sums[0] == 0) return 0;  // keeps the loop from being optimised away
    best = std::max(best, static_cast<double>(n * sizeof(std::uint64_t)) / s / 1e9);
  }
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"troupe engine benchmark: prefill and decode tokens/s"};
  std::string model;
  std::vector<int> batches{1, 8, 32};
  std::vector<int> threads{1, 2};
  int prompt_len = 128;
  int gen = 32;
  int repeat = 3;
  bool json = false;
  bool bf16_dot = false;
  app.add_option("--model", model, "Checkpoint folder")->required()->check(CLI::ExistingDirectory);
  app.add_option("--batch", batches, "Concurrent requests")->delimiter(',');
  app.add_option("--threads", threads, "CPU threads")->delimiter(',');
  app.add_option("--prompt-len", prompt_len, "Prompt tokens per request");
  app.add_option("--gen", gen, "Generated tokens per request");
  app.add_option("--repeat", repeat, "Runs per configuration (median reported)");
  app.add_flag("--json", json, "One JSON object per configuration");
  app.add_flag("--bf16-dot", bf16_dot, "CPU: bf16 dot products for prompt-sized products (not fp32 arithmetic)");
  CLI11_PARSE(app, argc, argv);

  for (const int t : threads) {
    const double bandwidth = read_bandwidth_gb_s(t);
    std::printf("threads %d: memory read bandwidth %.1f GB/s\n", t, bandwidth);
    const int max_batch = *std::max_element(batches.begin(), batches.end());
    auto created = troupe::engine::create({.model_dir = model, .num_threads = t, .max_num_seqs = max_batch,
                                           .max_num_batched_tokens = std::max(2048, prompt_len),
                                           .max_model_len = prompt_len + gen + 1,
                                           .enable_prefix_caching = false,
                                           .cpu_bf16_dot_products = bf16_dot});
    if (!created) {
      std::fprintf(stderr, "troupe_bench_engine: %s\n", created.error().message.c_str());
      return 1;
    }
    troupe::engine& eng = **created;
    const double weight_gb = static_cast<double>(eng.weight_bytes()) / 1e9;
    run_once(eng, 1, std::min(prompt_len, 16), 4, 0);  // warm-up: page in the weights
    for (const int b : batches) {
      std::vector<double> prefill, decode, step_ms, overhead_us;
      for (int r = 0; r < repeat; ++r) {
        const measurement m = run_once(eng, b, prompt_len, gen, static_cast<std::uint64_t>(r + 1));
        prefill.push_back(m.prefill_tokens_per_s);
        decode.push_back(m.decode_tokens_per_s);
        step_ms.push_back(m.decode_step_ms);
        overhead_us.push_back(m.decode_overhead_us);
      }
      const double decode_bw = weight_gb * 1e3 / median(step_ms);
      if (json) {
        std::printf("%s\n", fmt::format(R"({{"model":"{}","threads":{},"batch":{},"prompt_len":{},"gen":{},)"
                                        R"("prefill_tok_s":{:.1f},"decode_tok_s":{:.1f},"decode_step_ms":{:.2f},)"
                                        R"("weight_gb":{:.3f},"decode_weight_gb_s":{:.1f},"read_bandwidth_gb_s":{:.1f},)"
                                        R"("decode_overhead_us":{:.1f}}})",
                                        model, t, b, prompt_len, gen, median(prefill), median(decode),
                                        median(step_ms), weight_gb, decode_bw, bandwidth, median(overhead_us)).c_str());
      } else {
        std::printf("threads %d batch %3d: prefill %9.1f tok/s  decode %9.1f tok/s  (%.2f ms/step, weights %.3f GB "
                    "-> %.1f GB/s = %.0f%% of read bandwidth; engine overhead %.1f us/step)\n",
                    t, b, median(prefill), median(decode), median(step_ms), weight_gb, decode_bw,
                    100.0 * decode_bw / bandwidth, median(overhead_us));
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
