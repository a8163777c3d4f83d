// The leader/worker split of a replica: engine_core plans steps by deltas, model_runner checks
// every plan before it touches anything, and the two together give the tokens one engine gives.
#include <map>

#include <gtest/gtest.h>

#include "engine/engine.hpp"
#include "engine/engine_core.hpp"
#include "engine/model_runner.hpp"
#include "tests/unit/engine/reference.hpp"

namespace troupe {
namespace {

struct replica {
  std::unique_ptr<model_runner> runner;
  std::unique_ptr<engine_core> core;
};

replica make_replica(std::int64_t num_kv_blocks, std::int32_t max_num_batched_tokens = 64) {
  const auto dir = testing::tiny_model(model_arch::llama, "f32");
  replica r;
  auto runner = model_runner::create({.model_dir = dir, .num_threads = 1, .max_num_seqs = 8,
                                      .max_num_batched_tokens = max_num_batched_tokens, .block_size = 4,
                                      .num_kv_blocks = num_kv_blocks});
  EXPECT_TRUE(runner) << runner.error().message;
  r.runner = std::move(runner).value();
  auto prompts = prompt_builder::load(dir);
  EXPECT_TRUE(prompts) << prompts.error().message;
  auto core = engine_core::create({.max_num_seqs = 8, .max_num_batched_tokens = max_num_batched_tokens, .block_size = 4,
                                   .num_kv_blocks = r.runner->num_kv_blocks()},
                                  r.runner->config(), std::make_shared<const prompt_builder>(std::move(prompts).value()));
  EXPECT_TRUE(core) << core.error().message;
  r.core = std::move(core).value();
  return r;
}

generation_request greedy(std::vector<token_id> prompt, std::int32_t max_tokens) {
  return {.prompt_token_ids = std::move(prompt), .sampling = {.temperature = 0.0f, .max_tokens = max_tokens, .ignore_eos = true}};
}

TEST(step_plan, sends_a_request_whole_once_then_only_new_blocks) {
  replica r = make_replica(64);
  ASSERT_TRUE(r.core->add_request(greedy({1, 2, 3, 4, 5}, 8)));
  std::optional<step_plan> first = r.core->schedule();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->new_requests.size(), 1u);
  EXPECT_EQ(first->new_requests[0].prompt_token_ids, (std::vector<token_id>{1, 2, 3, 4, 5}));
  ASSERT_EQ(first->scheduled.size(), 1u);
  EXPECT_EQ(first->scheduled[0].new_block_ids.size(), 2u);  // 5 tokens in blocks of 4
  ASSERT_TRUE(r.core->update(r.runner->execute(*first).value()));
  for (int i = 0; i < 3; ++i) {
    std::optional<step_plan> next = r.core->schedule();
    ASSERT_TRUE(next);
    EXPECT_TRUE(next->new_requests.empty());
    EXPECT_EQ(next->scheduled[0].num_new_tokens, 1);
    // positions 5, 6, 7 fit the second block; position 8 (the 4th decode) would need a third
    EXPECT_TRUE(next->scheduled[0].new_block_ids.empty());
    ASSERT_TRUE(r.core->update(r.runner->execute(*next).value()));
  }
}

TEST(step_plan, runner_rejects_a_plan_it_cannot_trust_and_changes_nothing) {
  replica r = make_replica(16);
  step_plan plan{.step_id = 1, .new_requests = {{.id = request_id{7}, .prompt_token_ids = {1, 2, 3}, .sampling = {}, .seed = 1}},
                 .scheduled = {{.id = request_id{7}, .num_computed_tokens = 0, .num_new_tokens = 3, .new_block_ids = {0}, .samples = true}},
                 .preempted = {}, .finished = {}};
  step_plan unknown = plan;
  unknown.scheduled[0].id = request_id{8};
  EXPECT_NE(r.runner->execute(unknown).error().message.find("request 8 is unknown"), std::string::npos);
  step_plan bad_block = plan;
  bad_block.scheduled[0].new_block_ids = {16};
  EXPECT_NE(r.runner->execute(bad_block).error().message.find("KV block 16 is outside [0, 16)"), std::string::npos);
  step_plan too_many_tokens = plan;
  too_many_tokens.scheduled[0].num_new_tokens = 4;
  EXPECT_NE(r.runner->execute(too_many_tokens).error().message.find("has 3 tokens"), std::string::npos);
  step_plan short_table = plan;
  short_table.new_requests[0].prompt_token_ids = {1, 2, 3, 4, 5};
  short_table.scheduled[0].num_new_tokens = 5;
  EXPECT_NE(r.runner->execute(short_table).error().message.find("1 KV blocks for 5 tokens"), std::string::npos);
  step_plan early_sample = plan;
  early_sample.scheduled[0].num_new_tokens = 2;
  EXPECT_NE(r.runner->execute(early_sample).error().message.find("samples before its last token"), std::string::npos);
  step_plan bad_token = plan;
  bad_token.new_requests[0].prompt_token_ids = {1, -2, 3};
  EXPECT_FALSE(r.runner->execute(bad_token));
  EXPECT_EQ(r.runner->stats().num_cached_requests, 0u);

  ASSERT_TRUE(r.runner->execute(plan));
  EXPECT_EQ(r.runner->stats().num_cached_requests, 1u);
  EXPECT_NE(r.runner->execute(plan).error().message.find("already exists"), std::string::npos);
  step_plan finish{.step_id = 2, .new_requests = {}, .scheduled = {}, .preempted = {}, .finished = {request_id{7}}};
  ASSERT_TRUE(r.runner->execute(finish));
  EXPECT_EQ(r.runner->stats().num_cached_requests, 0u);
}

TEST(step_plan, core_rejects_a_result_that_does_not_match_the_plan) {
  replica r = make_replica(64);
  ASSERT_TRUE(r.core->add_request(greedy({1, 2, 3}, 4)));
  EXPECT_FALSE(r.core->update(step_result{.step_id = 1, .sampled = {}}));  // nothing in flight
  std::optional<step_plan> plan = r.core->schedule();
  ASSERT_TRUE(plan);
  step_result good = r.runner->execute(*plan).value();
  step_result wrong_step = good;
  wrong_step.step_id += 1;
  EXPECT_FALSE(r.core->update(wrong_step));
  step_result missing = good;
  missing.sampled.clear();
  EXPECT_FALSE(r.core->update(missing));
  step_result bad_token = good;
  bad_token.sampled[0].result.token = 1 << 30;
  EXPECT_FALSE(r.core->update(bad_token));
  EXPECT_TRUE(r.core->step_in_flight());
  EXPECT_TRUE(r.core->update(good));
}

TEST(step_plan, abort_during_a_step_takes_effect_after_its_result) {
  replica r = make_replica(64);
  const request_id id = r.core->add_request(greedy({1, 2, 3}, 50)).value();
  std::optional<step_plan> plan = r.core->schedule();
  ASSERT_TRUE(plan);
  EXPECT_TRUE(r.core->abort(id));
  EXPECT_TRUE(r.core->take_outputs().empty());
  ASSERT_TRUE(r.core->update(r.runner->execute(*plan).value()));
  std::vector<request_output> outs = r.core->take_outputs();
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_FALSE(outs[0].finished);
  EXPECT_EQ(outs[1].finished, finish_reason::abort);
  EXPECT_FALSE(r.core->has_unfinished());
  EXPECT_EQ(r.core->stats().num_free_kv_blocks, 64);
}

// With a cache too small for both, the second request is preempted and readmitted: the plans say
// so, the worker recomputes from its own token ids, and the tokens equal an engine with room.
TEST(step_plan, preempted_requests_are_readmitted_and_keep_their_tokens) {
  replica r = make_replica(6, 16);
  std::vector<generation_request> requests = {greedy({1, 2, 3, 4, 5, 6, 7, 8}, 12), greedy({9, 10, 11, 12, 13, 14, 15}, 12)};
  std::map<request_id, std::vector<token_id>> tokens;
  for (auto& g : requests) ASSERT_TRUE(r.core->add_request(g));
  bool saw_preempt = false, saw_readmit = false;
  for (int i = 0; i < 200 && r.core->has_unfinished(); ++i) {
    std::optional<step_plan> plan = r.core->schedule();
    if (plan) {
      saw_preempt |= !plan->preempted.empty();
      for (const auto& n : plan->new_requests) saw_readmit |= n.readmitted;
      ASSERT_TRUE(r.core->update(r.runner->execute(*plan).value()));
    }
    for (const request_output& out : r.core->take_outputs()) {
      tokens[out.id].insert(tokens[out.id].end(), out.new_token_ids.begin(), out.new_token_ids.end());
    }
  }
  EXPECT_TRUE(saw_preempt);
  EXPECT_TRUE(saw_readmit);
  auto roomy = engine::create({.model_dir = testing::tiny_model(model_arch::llama, "f32"), .num_threads = 1,
                               .block_size = 4, .num_kv_blocks = 64});
  ASSERT_TRUE(roomy);
  std::size_t k = 0;
  for (auto& [id, got] : tokens) {
    engine& e = **roomy;
    ASSERT_TRUE(e.add_request(requests[k++]));
    std::vector<token_id> want;
    while (e.has_unfinished()) {
      for (const request_output& out : e.step()) want.insert(want.end(), out.new_token_ids.begin(), out.new_token_ids.end());
    }
    EXPECT_EQ(got, want) << "request " << id.value;
  }
}

}  // namespace
}  // namespace troupe
