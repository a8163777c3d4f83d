#include "engine/sched/scheduler.hpp"

#include <numeric>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr token_id kSampledToken = 7;

scheduler_options small_options() {
  return scheduler_options{.max_num_seqs = 8,
                           .max_num_batched_tokens = 64,
                           .max_model_len = 256,
                           .block_size = 16,
                           .num_blocks = 64};
}

// A pool of 4 blocks of 4 tokens without prefix caching, for exact preemption traces.
scheduler_options tiny_pool_options() {
  return scheduler_options{.max_num_seqs = 8,
                           .max_num_batched_tokens = 64,
                           .max_model_len = 64,
                           .block_size = 4,
                           .num_blocks = 4,
                           .enable_prefix_caching = false};
}

// Tokens first, first + 1, ..., first + num_tokens - 1.
std::vector<token_id> make_prompt(std::int32_t num_tokens, token_id first = 1000) {
  std::vector<token_id> tokens(static_cast<std::size_t>(num_tokens));
  std::iota(tokens.begin(), tokens.end(), first);
  return tokens;
}

std::unique_ptr<sequence> make_sequence(std::uint64_t id, std::vector<token_id> prompt,
                                        std::int32_t max_output_tokens = 16,
                                        std::int32_t priority = 0) {
  auto seq = std::make_unique<sequence>();
  seq->id = request_id{id};
  seq->priority = priority;
  seq->num_prompt_tokens = static_cast<std::int32_t>(prompt.size());
  seq->max_num_tokens = seq->num_prompt_tokens + max_output_tokens;
  seq->token_ids = std::move(prompt);
  return seq;
}

void add_ok(scheduler& sched, std::unique_ptr<sequence> seq) {
  status added = sched.add(std::move(seq));
  ASSERT_TRUE(added) << added.error().to_string();
}

// Runs one step: schedule, then update with kSampledToken for every entry.
scheduler_output run_step(scheduler& sched) {
  scheduler_output out = sched.schedule();
  std::vector<token_id> sampled(out.scheduled.size(), kSampledToken);
  sched.update(out, sampled);
  return out;
}

std::vector<std::uint64_t> scheduled_ids(const scheduler_output& out) {
  std::vector<std::uint64_t> ids;
  for (const scheduled_sequence& s : out.scheduled) ids.push_back(s.seq->id.value);
  return ids;
}

std::vector<std::uint64_t> preempted_ids(const scheduler_output& out) {
  std::vector<std::uint64_t> ids;
  for (request_id id : out.preempted) ids.push_back(id.value);
  return ids;
}

TEST(scheduler, chunked_prefill_splits_a_prompt_into_budget_sized_chunks_and_samples_on_the_last) {
  scheduler_options options = small_options();
  options.max_num_batched_tokens = 32;
  scheduler sched(options);
  add_ok(sched, make_sequence(1, make_prompt(100)));
  std::vector<std::int32_t> chunks;
  std::vector<std::int32_t> starts;
  std::vector<bool> samples;
  for (int step = 0; step < 4; ++step) {
    scheduler_output out = run_step(sched);
    ASSERT_EQ(out.scheduled.size(), 1U);
    chunks.push_back(out.scheduled[0].num_new_tokens);
    starts.push_back(out.scheduled[0].num_computed_tokens_before);
    samples.push_back(out.scheduled[0].samples);
  }
  EXPECT_THAT(chunks, ElementsAre(32, 32, 32, 4));
  EXPECT_THAT(starts, ElementsAre(0, 32, 64, 96));
  EXPECT_THAT(samples, ElementsAre(false, false, false, true));
  EXPECT_EQ(sched.find(request_id{1})->num_tokens(), 101);
}

TEST(scheduler, decode_step_computes_one_token_and_samples) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(10)));
  run_step(sched);
  scheduler_output out = run_step(sched);
  ASSERT_EQ(out.scheduled.size(), 1U);
  EXPECT_EQ(out.scheduled[0].num_new_tokens, 1);
  EXPECT_EQ(out.scheduled[0].num_computed_tokens_before, 10);
  EXPECT_TRUE(out.scheduled[0].samples);
  const sequence* seq = sched.find(request_id{1});
  ASSERT_EQ(seq->num_tokens(), 12);
  EXPECT_EQ(seq->token_ids[10], kSampledToken);
  EXPECT_EQ(seq->token_ids[11], kSampledToken);
}

TEST(scheduler, running_sequences_take_the_token_budget_before_waiting_ones) {
  scheduler_options options = small_options();
  options.max_num_batched_tokens = 20;
  scheduler sched(options);
  add_ok(sched, make_sequence(1, make_prompt(10)));
  run_step(sched);
  add_ok(sched, make_sequence(2, make_prompt(30)));
  scheduler_output out = run_step(sched);
  ASSERT_THAT(scheduled_ids(out), ElementsAre(1, 2));
  EXPECT_EQ(out.scheduled[0].num_new_tokens, 1);
  EXPECT_EQ(out.scheduled[1].num_new_tokens, 19);
  EXPECT_FALSE(out.scheduled[1].samples);
  EXPECT_EQ(out.num_batched_tokens, 20);
}

TEST(scheduler, decode_batch_respects_max_num_seqs) {
  scheduler_options options = small_options();
  options.max_num_seqs = 2;
  scheduler sched(options);
  for (std::uint64_t id = 1; id <= 3; ++id) add_ok(sched, make_sequence(id, make_prompt(4)));
  EXPECT_THAT(scheduled_ids(run_step(sched)), ElementsAre(1, 2));
  EXPECT_THAT(scheduled_ids(run_step(sched)), ElementsAre(1, 2));
  EXPECT_EQ(sched.num_waiting(), 1U);
  sched.finish(request_id{1});
  EXPECT_THAT(scheduled_ids(run_step(sched)), ElementsAre(2, 3));
}

TEST(scheduler, priorities_order_admission) {
  scheduler_options options = small_options();
  options.max_num_seqs = 1;
  scheduler sched(options);
  add_ok(sched, make_sequence(1, make_prompt(4), 16, /*priority=*/5));
  add_ok(sched, make_sequence(2, make_prompt(4), 16, /*priority=*/0));
  add_ok(sched, make_sequence(3, make_prompt(4), 16, /*priority=*/1));
  std::vector<std::uint64_t> order;
  for (int i = 0; i < 3; ++i) {
    scheduler_output out = run_step(sched);
    ASSERT_EQ(out.scheduled.size(), 1U);
    order.push_back(out.scheduled[0].seq->id.value);
    sched.finish(out.scheduled[0].seq->id);
  }
  EXPECT_THAT(order, ElementsAre(2, 3, 1));
}

TEST(scheduler, equal_priorities_are_admitted_in_arrival_order) {
  scheduler_options options = small_options();
  options.max_num_batched_tokens = 8;
  scheduler sched(options);
  add_ok(sched, make_sequence(9, make_prompt(8)));
  add_ok(sched, make_sequence(4, make_prompt(8)));
  EXPECT_THAT(scheduled_ids(run_step(sched)), ElementsAre(9));
}

TEST(scheduler, waiting_sequence_of_better_priority_does_not_preempt_a_running_one) {
  scheduler_options options = small_options();
  options.max_num_seqs = 1;
  scheduler sched(options);
  add_ok(sched, make_sequence(1, make_prompt(4), 16, /*priority=*/3));
  run_step(sched);
  add_ok(sched, make_sequence(2, make_prompt(4), 16, /*priority=*/0));
  scheduler_output out = run_step(sched);
  EXPECT_THAT(scheduled_ids(out), ElementsAre(1));
  EXPECT_THAT(out.preempted, IsEmpty());
}

TEST(scheduler, tiny_block_pool_preempts_the_lowest_priority_sequence) {
  scheduler sched(tiny_pool_options());
  add_ok(sched, make_sequence(1, make_prompt(6), 8, /*priority=*/1));
  add_ok(sched, make_sequence(2, make_prompt(6, 2000), 8, /*priority=*/0));
  for (int step = 0; step < 3; ++step) EXPECT_THAT(run_step(sched).preempted, IsEmpty());
  // Both hold 2 blocks with 8 computed of 9 tokens; the 9th needs a third block each.
  scheduler_output out = run_step(sched);
  EXPECT_THAT(preempted_ids(out), ElementsAre(1));
  EXPECT_THAT(scheduled_ids(out), ElementsAre(2));
  const sequence* victim = sched.find(request_id{1});
  EXPECT_EQ(victim->status, sequence_status::waiting);
  EXPECT_EQ(victim->num_computed_tokens, 0);
  EXPECT_THAT(victim->block_table, IsEmpty());
  EXPECT_EQ(victim->num_preemptions, 1);
  EXPECT_EQ(sched.stats().num_preemptions, 1);
}

TEST(scheduler, preemption_among_equal_priorities_takes_the_latest_arrival) {
  scheduler sched(tiny_pool_options());
  add_ok(sched, make_sequence(1, make_prompt(6)));
  add_ok(sched, make_sequence(2, make_prompt(6, 2000)));
  for (int step = 0; step < 3; ++step) run_step(sched);
  EXPECT_THAT(preempted_ids(run_step(sched)), ElementsAre(2));
}

TEST(scheduler, worst_sequence_that_cannot_grow_preempts_itself) {
  scheduler sched(tiny_pool_options());
  add_ok(sched, make_sequence(1, make_prompt(7)));
  add_ok(sched, make_sequence(2, make_prompt(8, 2000)));
  run_step(sched);
  // 1 needs 8 slots (2 blocks, held); 2 needs 9 slots (3 blocks) and is the worst itself.
  scheduler_output out = run_step(sched);
  EXPECT_THAT(scheduled_ids(out), ElementsAre(1));
  EXPECT_THAT(preempted_ids(out), ElementsAre(2));
}

TEST(scheduler, preempted_sequence_resumes_recomputing_prompt_and_generated_tokens) {
  scheduler sched(tiny_pool_options());
  add_ok(sched, make_sequence(1, make_prompt(6), 4));
  add_ok(sched, make_sequence(2, make_prompt(6, 2000), 8));
  for (int step = 0; step < 4; ++step) run_step(sched);     // step 4 preempts 2
  ASSERT_EQ(sched.find(request_id{1})->num_tokens(), 10);   // reached max_num_tokens
  EXPECT_THAT(scheduled_ids(sched.schedule()), IsEmpty());  // 1 waits for finish, 2 for blocks
  sched.finish(request_id{1});
  scheduler_output out = run_step(sched);
  ASSERT_THAT(scheduled_ids(out), ElementsAre(2));
  EXPECT_EQ(out.scheduled[0].num_computed_tokens_before, 0);
  EXPECT_EQ(out.scheduled[0].num_new_tokens, 9);  // 6 prompt + 3 generated tokens
  EXPECT_TRUE(out.scheduled[0].samples);
  EXPECT_EQ(sched.find(request_id{2})->num_tokens(), 10);
}

TEST(scheduler, readmitted_sequence_recomputes_only_blocks_the_prefix_cache_lost) {
  scheduler_options options = tiny_pool_options();
  options.enable_prefix_caching = true;
  scheduler sched(options);
  add_ok(sched, make_sequence(1, make_prompt(6), 4));
  add_ok(sched, make_sequence(2, make_prompt(6, 2000), 8));
  for (int step = 0; step < 4; ++step) run_step(sched);
  // The preemption freed 2's two full blocks; sequence 1 evicted the tail one.
  sched.finish(request_id{1});
  scheduler_output out = run_step(sched);
  ASSERT_THAT(scheduled_ids(out), ElementsAre(2));
  EXPECT_EQ(out.scheduled[0].num_computed_tokens_before, 4);
  EXPECT_EQ(out.scheduled[0].num_new_tokens, 5);
  EXPECT_EQ(sched.find(request_id{2})->num_cached_prompt_tokens, 0);  // first admission only
}

TEST(scheduler, prefix_cache_hit_on_a_second_request_with_the_same_first_32_tokens) {
  scheduler sched(small_options());
  std::vector<token_id> first = make_prompt(40);
  std::vector<token_id> second = make_prompt(32);
  for (token_id t : make_prompt(5, 5000)) second.push_back(t);
  add_ok(sched, make_sequence(1, first));
  run_step(sched);
  add_ok(sched, make_sequence(2, second));
  scheduler_output out = run_step(sched);
  ASSERT_THAT(scheduled_ids(out), ElementsAre(1, 2));
  EXPECT_EQ(out.scheduled[1].num_computed_tokens_before, 32);
  EXPECT_EQ(out.scheduled[1].num_new_tokens, 5);
  const sequence* a = sched.find(request_id{1});
  const sequence* b = sched.find(request_id{2});
  EXPECT_EQ(b->num_cached_prompt_tokens, 32);
  ASSERT_EQ(b->block_table.size(), 3U);
  EXPECT_EQ(b->block_table[0], a->block_table[0]);
  EXPECT_EQ(b->block_table[1], a->block_table[1]);
  EXPECT_NE(b->block_table[2], a->block_table[2]);
  EXPECT_EQ(sched.stats().prefix_cache_hit_tokens, 32);
  EXPECT_EQ(sched.stats().prefix_cache_queried_tokens, 39 + 36);
}

TEST(scheduler, fully_cached_prompt_still_computes_its_last_block) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(32)));
  run_step(sched);
  add_ok(sched, make_sequence(2, make_prompt(32)));
  scheduler_output out = run_step(sched);
  ASSERT_THAT(scheduled_ids(out), ElementsAre(1, 2));
  EXPECT_EQ(out.scheduled[1].num_computed_tokens_before, 16);
  EXPECT_EQ(out.scheduled[1].num_new_tokens, 16);
  EXPECT_TRUE(out.scheduled[1].samples);
}

TEST(scheduler, abort_frees_the_blocks_of_a_running_sequence) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(40)));
  run_step(sched);
  ASSERT_LT(sched.stats().num_free_blocks, 64);
  EXPECT_TRUE(sched.abort(request_id{1}));
  EXPECT_EQ(sched.stats().num_free_blocks, 64);
  EXPECT_EQ(sched.find(request_id{1}), nullptr);
  EXPECT_FALSE(sched.has_unfinished());
  EXPECT_FALSE(sched.abort(request_id{1}));
}

TEST(scheduler, abort_of_a_waiting_sequence_removes_it_from_the_queue) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(4)));
  EXPECT_TRUE(sched.abort(request_id{1}));
  EXPECT_EQ(sched.num_waiting(), 0U);
  EXPECT_THAT(sched.schedule().scheduled, IsEmpty());
}

TEST(scheduler, update_skips_a_sequence_aborted_while_its_step_ran) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(40)));
  add_ok(sched, make_sequence(2, make_prompt(8, 3000)));
  scheduler_output out = sched.schedule();
  ASSERT_EQ(out.scheduled.size(), 2U);
  EXPECT_TRUE(sched.abort(request_id{1}));
  std::vector<token_id> sampled(out.scheduled.size(), kSampledToken);
  sched.update(out, sampled);
  EXPECT_EQ(sched.find(request_id{2})->num_computed_tokens, 8);
  EXPECT_EQ(sched.stats().num_cached_blocks, 0);  // the aborted prompt's blocks were not committed
}

TEST(scheduler, finish_keeps_full_blocks_in_the_prefix_cache) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(40)));
  run_step(sched);
  sched.finish(request_id{1});
  scheduler_stats stats = sched.stats();
  EXPECT_EQ(stats.num_free_blocks, 64);
  EXPECT_EQ(stats.num_cached_blocks, 2);
  EXPECT_DOUBLE_EQ(stats.kv_usage, 0.0);
}

TEST(scheduler, sequence_at_max_num_tokens_is_not_scheduled_again) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(4), /*max_output_tokens=*/1));
  run_step(sched);
  EXPECT_EQ(sched.find(request_id{1})->num_tokens(), 5);
  EXPECT_THAT(sched.schedule().scheduled, IsEmpty());
  EXPECT_EQ(sched.num_running(), 1U);
}

TEST(scheduler, empty_scheduler_schedules_an_empty_step) {
  scheduler sched(small_options());
  scheduler_output out = run_step(sched);
  EXPECT_THAT(out.scheduled, IsEmpty());
  EXPECT_EQ(out.num_batched_tokens, 0);
}

TEST(scheduler, add_rejects_a_prompt_longer_than_max_model_len) {
  scheduler sched(small_options());
  status added = sched.add(make_sequence(1, make_prompt(257)));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, errc::invalid_argument);
  EXPECT_THAT(added.error().message, HasSubstr("max_model_len 256"));
  EXPECT_FALSE(sched.has_unfinished());
}

TEST(scheduler, add_rejects_a_prompt_needing_more_blocks_than_the_cache_has) {
  scheduler sched(tiny_pool_options());
  status added = sched.add(make_sequence(1, make_prompt(17)));
  ASSERT_FALSE(added);
  EXPECT_THAT(added.error().message, HasSubstr("needs 5 KV blocks; the cache has 4"));
}

TEST(scheduler, add_rejects_a_sequence_with_no_room_to_generate) {
  scheduler sched(small_options());
  status added = sched.add(make_sequence(1, make_prompt(8), /*max_output_tokens=*/0));
  ASSERT_FALSE(added);
  EXPECT_THAT(added.error().message, HasSubstr("no room to generate"));
}

TEST(scheduler, add_rejects_a_request_id_already_queued) {
  scheduler sched(small_options());
  add_ok(sched, make_sequence(1, make_prompt(8)));
  status added = sched.add(make_sequence(1, make_prompt(8)));
  ASSERT_FALSE(added);
  EXPECT_THAT(added.error().message, HasSubstr("already"));
}

TEST(scheduler, add_lowers_max_num_tokens_to_max_model_len_and_the_cache_size) {
  scheduler sched(tiny_pool_options());  // max_model_len 64, cache of 16 tokens
  add_ok(sched, make_sequence(1, make_prompt(4), /*max_output_tokens=*/1000));
  EXPECT_EQ(sched.find(request_id{1})->max_num_tokens, 16);
}

TEST(scheduler, validate_rejects_nonpositive_limits) {
  scheduler_options options = small_options();
  options.max_num_batched_tokens = 0;
  status checked = scheduler::validate(options);
  ASSERT_FALSE(checked);
  EXPECT_THAT(checked.error().message, HasSubstr("max_num_batched_tokens"));
  options = small_options();
  options.num_blocks = 0;
  EXPECT_FALSE(scheduler::validate(options));
  EXPECT_TRUE(scheduler::validate(small_options()));
}

}  // namespace
}  // namespace troupe
