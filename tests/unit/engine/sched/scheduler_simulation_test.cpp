// A long simulated run of the scheduler against a fake engine: random arrivals, prompt lengths,
// shared prompt prefixes, priorities and aborts; a fake model whose sampled token is a function of
// (request, position); and a fake KV cache that records which token each block slot holds, so
// every step checks that the K/V it reads (prefix hits included) belong to its own tokens.
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "engine/sched/scheduler.hpp"

namespace troupe {
namespace {

struct simulation_config {
  std::uint32_t seed = 1;
  scheduler_options options;
  std::int32_t num_requests = 300;
  std::int32_t max_prompt_tokens = 120;
  std::int32_t max_output_tokens = 60;
};

struct simulation_report {
  std::vector<std::string> violations;  // broken step invariants, first few only
  std::int64_t num_steps = 0;
  std::int32_t num_finished = 0;
  std::int32_t num_aborted = 0;
  std::int32_t num_wrong_outputs = 0;  // finished sequences whose tokens differ from the fake model
  std::int32_t num_bad_kv_reads = 0;   // computed slots holding another sequence's token
  bool drained = false;                // has_unfinished() became false within the step limit
  scheduler_stats final_stats;
};

constexpr token_id kStopToken = 0;

// The fake model: the token sampled after position `position` of request `id`.
token_id fake_sample(std::uint64_t id, std::int32_t position) {
  std::uint64_t x =
      id * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(position) * 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 31;
  return static_cast<token_id>(x % 89);  // 0 (stop) about once in 89 tokens
}

class simulation {
 public:
  explicit simulation(const simulation_config& config)
      : config_(config),
        sched_(config.options),
        rng_(config.seed),
        kv_(static_cast<std::size_t>(config.options.num_blocks),
            std::vector<token_id>(static_cast<std::size_t>(config.options.block_size), -1)) {
    for (int i = 0; i < 4; ++i) shared_prefixes_.push_back(random_tokens(uniform(8, 64)));
  }

  simulation_report run() {
    constexpr std::int64_t kMaxSteps = 200000;
    while ((num_added_ < config_.num_requests || sched_.has_unfinished()) &&
           report_.num_steps < kMaxSteps) {
      add_arrivals();
      step();
      ++report_.num_steps;
    }
    report_.drained = !sched_.has_unfinished();
    report_.final_stats = sched_.stats();
    return report_;
  }

 private:
  std::int32_t uniform(std::int32_t low, std::int32_t high) {
    return std::uniform_int_distribution<std::int32_t>(low, high)(rng_);
  }
  std::vector<token_id> random_tokens(std::int32_t n) {
    std::vector<token_id> tokens;
    for (std::int32_t i = 0; i < n; ++i) tokens.push_back(uniform(100, 50000));
    return tokens;
  }
  void violation(std::string what) {
    if (report_.violations.size() < 10) report_.violations.push_back(std::move(what));
  }

  void add_arrivals() {
    const std::int32_t num_arrivals = uniform(0, 3) == 0 ? uniform(1, 3) : 0;
    for (std::int32_t i = 0; i < num_arrivals && num_added_ < config_.num_requests; ++i) {
      std::vector<token_id> prompt;
      if (uniform(0, 1) == 0) prompt = shared_prefixes_[static_cast<std::size_t>(uniform(0, 3))];
      for (token_id t : random_tokens(uniform(1, config_.max_prompt_tokens))) prompt.push_back(t);
      prompt.resize(std::min<std::size_t>(prompt.size(),
                                          static_cast<std::size_t>(config_.max_prompt_tokens)));
      auto seq = std::make_unique<sequence>();
      seq->id = request_id{static_cast<std::uint64_t>(++num_added_)};
      seq->priority = uniform(0, 2);
      seq->num_prompt_tokens = static_cast<std::int32_t>(prompt.size());
      seq->max_num_tokens = seq->num_prompt_tokens + uniform(1, config_.max_output_tokens);
      seq->token_ids = prompt;
      prompts_[seq->id.value] = std::move(prompt);
      status added = sched_.add(std::move(seq));
      if (!added) violation("add failed: " + added.error().to_string());
    }
  }

  void step() {
    scheduler_output out = sched_.schedule();
    check_output(out);
    std::vector<token_id> sampled;
    for (const scheduled_sequence& s : out.scheduled) {
      run_fake_model(s);
      sampled.push_back(fake_sample(s.seq->id.value, s.seq->num_tokens()));
    }
    if (!out.scheduled.empty() && uniform(0, 49) == 0) abort_one(out.scheduled.front().seq->id);
    sched_.update(out, sampled);
    for (std::size_t i = 0; i < out.scheduled.size(); ++i) {
      if (out.scheduled[i].samples) maybe_finish(out.scheduled[i].seq->id, sampled[i]);
    }
    check_block_conservation();
  }

  void abort_one(request_id id) {
    if (sched_.abort(id)) ++report_.num_aborted;
  }

  // Reads the K/V of tokens [0, before) and writes tokens [before, before + new).
  void run_fake_model(const scheduled_sequence& s) {
    const sequence& seq = *s.seq;
    const std::int32_t block_size = config_.options.block_size;
    auto slot = [&](std::int32_t position) -> token_id& {
      block_id block = seq.block_table[static_cast<std::size_t>(position / block_size)];
      return kv_[static_cast<std::size_t>(block.value)]
                [static_cast<std::size_t>(position % block_size)];
    };
    for (std::int32_t p = 0; p < s.num_computed_tokens_before; ++p) {
      if (slot(p) != seq.token_ids[static_cast<std::size_t>(p)]) ++report_.num_bad_kv_reads;
    }
    for (std::int32_t p = s.num_computed_tokens_before;
         p < s.num_computed_tokens_before + s.num_new_tokens; ++p) {
      slot(p) = seq.token_ids[static_cast<std::size_t>(p)];
    }
  }

  void maybe_finish(request_id id, token_id last) {
    sequence* seq = sched_.find(id);
    if (seq == nullptr) return;  // aborted during the step
    if (last != kStopToken && seq->num_tokens() < seq->max_num_tokens) return;
    std::vector<token_id> expected = prompts_[id.value];
    while (static_cast<std::int32_t>(expected.size()) < seq->max_num_tokens) {
      token_id next = fake_sample(id.value, static_cast<std::int32_t>(expected.size()));
      expected.push_back(next);
      if (next == kStopToken) break;
    }
    if (seq->token_ids != expected) ++report_.num_wrong_outputs;
    sched_.finish(id);
    ++report_.num_finished;
  }

  void check_output(const scheduler_output& out) {
    const scheduler_options& o = config_.options;
    std::set<sequence*> seen;
    std::int32_t num_batched = 0;
    for (const scheduled_sequence& s : out.scheduled) {
      const sequence& seq = *s.seq;
      if (!seen.insert(s.seq).second) violation("a sequence is scheduled twice in one step");
      if (s.num_new_tokens < 1) violation("a sequence is scheduled with no tokens");
      if (s.num_computed_tokens_before != seq.num_computed_tokens)
        violation("stale num_computed_tokens_before");
      const std::int32_t end = s.num_computed_tokens_before + s.num_new_tokens;
      if (end > seq.num_tokens() || end > seq.max_num_tokens || end > o.max_model_len) {
        violation("a sequence is scheduled past its tokens or limits");
      }
      if (s.samples != (end == seq.num_tokens())) violation("samples is wrong");
      if (static_cast<std::int64_t>(seq.block_table.size()) * o.block_size < end) {
        violation("a block table is too short for the scheduled tokens");
      }
      num_batched += s.num_new_tokens;
    }
    if (num_batched != out.num_batched_tokens) violation("num_batched_tokens is not the sum");
    if (num_batched > o.max_num_batched_tokens) violation("token budget exceeded");
    if (sched_.num_running() > static_cast<std::size_t>(o.max_num_seqs))
      violation("max_num_seqs exceeded");
  }

  // Blocks referenced by live sequences are exactly the blocks the pool counts as in use.
  void check_block_conservation() {
    std::set<std::int32_t> held;
    for (const auto& [id, prompt] : prompts_) {
      if (const sequence* seq = sched_.find(request_id{id})) {
        for (block_id b : seq->block_table) held.insert(b.value);
      }
    }
    scheduler_stats stats = sched_.stats();
    if (static_cast<std::int64_t>(held.size()) != stats.num_blocks - stats.num_free_blocks) {
      violation("blocks held by sequences differ from blocks in use");
    }
  }

  simulation_config config_;
  scheduler sched_;
  std::mt19937 rng_;
  std::vector<std::vector<token_id>> kv_;  // [block][slot] -> token id whose K/V it holds
  std::vector<std::vector<token_id>> shared_prefixes_;
  std::map<std::uint64_t, std::vector<token_id>> prompts_;
  std::int32_t num_added_ = 0;
  simulation_report report_;
};

simulation_config tight_pool_config(std::uint32_t seed, bool enable_prefix_caching) {
  simulation_config config;
  config.seed = seed;
  config.options = scheduler_options{.max_num_seqs = 16,
                                     .max_num_batched_tokens = 96,
                                     .max_model_len = 256,
                                     .block_size = 8,
                                     .num_blocks = 48,
                                     .enable_prefix_caching = enable_prefix_caching};
  return config;
}

class scheduler_simulation : public ::testing::TestWithParam<std::tuple<std::uint32_t, bool>> {
 protected:
  simulation_report run() {
    auto [seed, enable_prefix_caching] = GetParam();
    return simulation(tight_pool_config(seed, enable_prefix_caching)).run();
  }
};

TEST_P(scheduler_simulation, every_sequence_finishes_or_is_aborted) {
  simulation_report report = run();
  EXPECT_TRUE(report.drained) << "still unfinished after " << report.num_steps << " steps";
  EXPECT_EQ(report.num_finished + report.num_aborted, 300);
}

TEST_P(scheduler_simulation, never_leaks_blocks) {
  simulation_report report = run();
  EXPECT_EQ(report.final_stats.num_free_blocks, report.final_stats.num_blocks);
  EXPECT_DOUBLE_EQ(report.final_stats.kv_usage, 0.0);
}

TEST_P(scheduler_simulation, every_step_keeps_its_invariants) {
  simulation_report report = run();
  EXPECT_TRUE(report.violations.empty()) << report.violations.front();
}

TEST_P(scheduler_simulation, finished_sequences_hold_exactly_the_fake_model_tokens) {
  EXPECT_EQ(run().num_wrong_outputs, 0);
}

TEST_P(scheduler_simulation, steps_read_only_kv_written_for_their_own_tokens) {
  EXPECT_EQ(run().num_bad_kv_reads, 0);
}

TEST_P(scheduler_simulation, tight_pool_exercises_preemption) {
  EXPECT_GT(run().final_stats.num_preemptions, 0);
}

INSTANTIATE_TEST_SUITE_P(seeds, scheduler_simulation,
                         ::testing::Combine(::testing::Values(1U, 2U, 3U), ::testing::Bool()));

TEST(scheduler_simulation_prefix, shared_prompt_prefixes_hit_the_prefix_cache) {
  simulation_report report = simulation(tight_pool_config(7, true)).run();
  EXPECT_GT(report.final_stats.prefix_cache_hit_tokens, 0);
  EXPECT_LT(report.final_stats.prefix_cache_hit_tokens,
            report.final_stats.prefix_cache_queried_tokens);
}

}  // namespace
}  // namespace troupe
