// The engine's public API end to end on real checkpoints: continuous batching gives each request
// exactly the tokens it gets alone, preemption and the prefix cache do not change tokens, seeds
// reproduce, stop conditions and bad inputs behave.
#include "engine/engine.hpp"

#include <map>

#include <gtest/gtest.h>

#include "engine/prompt_builder.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tests/unit/engine/reference.hpp"

namespace troupe {
namespace {

std::unique_ptr<engine> make_engine(engine_options options) {
  auto e = engine::create(options);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().message);
  return e ? std::move(e).value() : nullptr;
}

struct finished_request {
  std::vector<token_id> tokens;
  std::string text;
  finish_reason reason = finish_reason::abort;
  std::string stop_reason;
};

// Runs the engine until every request finished; outputs by request.
std::map<request_id, finished_request> run_to_completion(engine& e) {
  std::map<request_id, finished_request> done;
  for (int steps = 0; e.has_unfinished() && steps < 100000; ++steps) {
    for (const request_output& out : e.step()) {
      finished_request& r = done[out.id];
      r.tokens.insert(r.tokens.end(), out.new_token_ids.begin(), out.new_token_ids.end());
      r.text += out.new_text;
      if (out.finished) {
        r.reason = *out.finished;
        r.stop_reason = out.stop_reason;
      }
    }
  }
  return done;
}

sampling_params greedy(std::int32_t max_tokens) {
  return sampling_params{.temperature = 0.0f, .max_tokens = max_tokens, .ignore_eos = true};
}

// Prompts of mixed lengths (1 to ~120 tokens) from the stories vocabulary.
std::vector<std::vector<token_id>> mixed_prompts(std::size_t n) {
  std::vector<std::vector<token_id>> prompts;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<token_id> p{1};
    const std::size_t len = (i * 37) % 120;
    for (std::size_t t = 0; t < len; ++t) p.push_back(static_cast<token_id>(3 + (i * 131 + t * 17) % 500));
    prompts.push_back(std::move(p));
  }
  return prompts;
}

const std::filesystem::path stories = testing::shared_model("stories260K");

TEST(engine, greedy_tokens_match_the_pytorch_reference) {
  const std::vector<token_id> prompt{1, 403, 407, 261, 378};
  const testing::reference_run ref = testing::run_torch_reference(stories, prompt, 64);
  auto e = make_engine({.model_dir = stories, .num_threads = 1});
  ASSERT_TRUE(e);
  auto id = e->add_request({.prompt_token_ids = prompt, .sampling = greedy(64)});
  ASSERT_TRUE(id);
  auto done = run_to_completion(*e);
  EXPECT_EQ(done[*id].tokens, ref.greedy_token_ids);
  EXPECT_EQ(done[*id].reason, finish_reason::length);
}

TEST(engine, stories_continuation_reads_as_the_model_readme_says) {
  auto e = make_engine({.model_dir = stories, .num_threads = 1});
  ASSERT_TRUE(e);
  auto id = e->add_request({.prompt_token_ids = e->prompts().encode_text("Once upon a time"), .sampling = greedy(30)});
  ASSERT_TRUE(id);
  auto done = run_to_completion(*e);
  EXPECT_EQ(done[*id].text,
            ", there was a little girl named Lily. She loved to play outside in the park. One day,");
}

TEST(engine, thirty_two_concurrent_requests_get_the_tokens_each_gets_alone) {
  const auto prompts = mixed_prompts(32);
  std::vector<std::vector<token_id>> alone;
  {
    auto e = make_engine({.model_dir = stories, .num_threads = 1});
    ASSERT_TRUE(e);
    for (const auto& p : prompts) {
      auto id = e->add_request({.prompt_token_ids = p, .sampling = greedy(24)});
      ASSERT_TRUE(id);
      alone.push_back(run_to_completion(*e)[*id].tokens);
    }
  }
  // Small token budget: prompts are chunked and decodes share steps with prefills.
  auto e = make_engine({.model_dir = stories, .num_threads = 2, .max_num_seqs = 32, .max_num_batched_tokens = 64,
                        .enable_prefix_caching = false});
  ASSERT_TRUE(e);
  std::vector<request_id> ids;
  for (const auto& p : prompts) ids.push_back(*e->add_request({.prompt_token_ids = p, .sampling = greedy(24)}));
  auto done = run_to_completion(*e);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(done[ids[i]].tokens, alone[i]) << "request " << i;
}

TEST(engine, a_tiny_kv_pool_forces_preemption_and_tokens_do_not_change) {
  const auto prompts = mixed_prompts(16);
  std::vector<std::vector<token_id>> expected;
  {
    auto e = make_engine({.model_dir = stories, .num_threads = 1, .max_num_seqs = 16});
    ASSERT_TRUE(e);
    std::vector<request_id> ids;
    for (const auto& p : prompts) ids.push_back(*e->add_request({.prompt_token_ids = p, .sampling = greedy(40)}));
    auto done = run_to_completion(*e);
    for (auto id : ids) expected.push_back(done[id].tokens);
  }
  // 12 blocks of 16 tokens: at most a few sequences fit at once.
  auto e = make_engine({.model_dir = stories, .num_threads = 1, .max_num_seqs = 16, .max_model_len = 192,
                        .num_kv_blocks = 12});
  ASSERT_TRUE(e);
  std::vector<request_id> ids;
  for (const auto& p : prompts) ids.push_back(*e->add_request({.prompt_token_ids = p, .sampling = greedy(40)}));
  auto done = run_to_completion(*e);
  EXPECT_GT(e->stats().num_preemptions, 0);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(done[ids[i]].tokens, expected[i]) << "request " << i;
  EXPECT_EQ(e->stats().num_free_kv_blocks, 12);
}

TEST(engine, a_shared_prefix_hits_the_prefix_cache) {
  auto e = make_engine({.model_dir = stories, .num_threads = 1});
  ASSERT_TRUE(e);
  std::vector<token_id> prefix{1};
  for (token_id t = 0; t < 63; ++t) prefix.push_back(10 + t);  // 64 tokens: 4 full blocks
  auto first = prefix;
  first.push_back(300);
  auto second = prefix;
  second.push_back(301);
  auto a = e->add_request({.prompt_token_ids = first, .sampling = greedy(4)});
  ASSERT_TRUE(a);
  run_to_completion(*e);
  const std::int64_t hits_before = e->stats().prefix_cache_hit_tokens;
  auto b = e->add_request({.prompt_token_ids = second, .sampling = greedy(4)});
  ASSERT_TRUE(b);
  run_to_completion(*e);
  EXPECT_EQ(e->stats().prefix_cache_hit_tokens - hits_before, 64);
}

TEST(engine, the_same_seed_gives_the_same_tokens_whatever_else_is_batched) {
  const sampling_params seeded{.temperature = 1.0f, .top_p = 0.9f, .seed = 1234, .max_tokens = 32, .ignore_eos = true};
  const std::vector<token_id> prompt{1, 403, 407, 261, 378};
  auto e = make_engine({.model_dir = stories, .num_threads = 1});
  ASSERT_TRUE(e);
  auto alone = *e->add_request({.prompt_token_ids = prompt, .sampling = seeded});
  auto first = run_to_completion(*e)[alone].tokens;
  for (const auto& p : mixed_prompts(8)) {
    ASSERT_TRUE(e->add_request({.prompt_token_ids = p, .sampling = {.temperature = 1.0f, .max_tokens = 20}}));
  }
  auto batched = *e->add_request({.prompt_token_ids = prompt, .sampling = seeded});
  auto done = run_to_completion(*e);
  EXPECT_EQ(done[batched].tokens, first);
  auto other = *e->add_request({.prompt_token_ids = prompt, .sampling = {.temperature = 1.0f, .top_p = 0.9f,
                                                                         .seed = 99, .max_tokens = 32, .ignore_eos = true}});
  EXPECT_NE(run_to_completion(*e)[other].tokens, first);
}

TEST(engine, a_stop_string_ends_the_request_and_is_not_emitted) {
  auto e = make_engine({.model_dir = stories, .num_threads = 1});
  ASSERT_TRUE(e);
  const auto prompt = e->prompts().encode_text("Once upon a time");
  auto sampling = greedy(30);
  sampling.stop = {"Lily"};
  auto id = *e->add_request({.prompt_token_ids = prompt, .sampling = sampling});
  auto done = run_to_completion(*e);
  EXPECT_EQ(done[id].text, ", there was a little girl named ");
  EXPECT_EQ(done[id].reason, finish_reason::stop);
  EXPECT_EQ(done[id].stop_reason, "Lily");
}

TEST(engine, eos_ends_the_request_unless_ignored) {
  auto e = make_engine({.model_dir = stories, .num_threads = 1});
  ASSERT_TRUE(e);
  // The first greedy token after this prompt is 432 (","); make it a stop token.
  auto sampling = greedy(30);
  sampling.stop_token_ids = {432};
  auto id = *e->add_request({.prompt_token_ids = {1, 403, 407, 261, 378}, .sampling = sampling});
  auto done = run_to_completion(*e);
  EXPECT_EQ(done[id].tokens, std::vector<token_id>{432});
  EXPECT_EQ(done[id].text, "");
  EXPECT_EQ(done[id].reason, finish_reason::stop);
}

TEST(engine, abort_frees_the_blocks_and_reports_abort) {
  auto e = make_engine({.model_dir = stories, .num_threads = 1, .num_kv_blocks = 64});
  ASSERT_TRUE(e);
  auto id = *e->add_request({.prompt_token_ids = mixed_prompts(3)[2], .sampling = greedy(100)});
  e->step();
  EXPECT_LT(e->stats().num_free_kv_blocks + 0, 64);
  EXPECT_TRUE(e->abort(id));
  EXPECT_FALSE(e->abort(id));
  auto done = run_to_completion(*e);
  EXPECT_EQ(done[id].reason, finish_reason::abort);
  EXPECT_EQ(e->stats().num_free_kv_blocks, 64);
}

TEST(engine, rejects_bad_requests_with_clear_errors) {
  auto e = make_engine({.model_dir = stories, .num_threads = 1, .max_model_len = 64});
  ASSERT_TRUE(e);
  auto empty = e->add_request({.prompt_token_ids = {}, .sampling = greedy(4)});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
  auto too_long = e->add_request({.prompt_token_ids = std::vector<token_id>(64, 5), .sampling = greedy(4)});
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("max_model_len"), std::string::npos);
  auto bad_id = e->add_request({.prompt_token_ids = {1, 512}, .sampling = greedy(4)});
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.error().message.find("512"), std::string::npos);
  auto bad_top_p = e->add_request({.prompt_token_ids = {1}, .sampling = {.top_p = 1.5f}});
  ASSERT_FALSE(bad_top_p);
  EXPECT_NE(bad_top_p.error().message.find("top_p"), std::string::npos);
  auto bad_temperature = e->add_request({.prompt_token_ids = {1}, .sampling = {.temperature = -1.0f}});
  ASSERT_FALSE(bad_temperature);
  EXPECT_NE(bad_temperature.error().message.find("temperature"), std::string::npos);
  EXPECT_FALSE(e->has_unfinished());
}

TEST(engine, rejects_bad_options_and_model_folders_with_clear_errors) {
  auto missing = engine::create({.model_dir = "/nonexistent/model"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/model"), std::string::npos);
  auto too_long = engine::create({.model_dir = stories, .max_model_len = 100000});
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("max_position_embeddings"), std::string::npos);
  auto tiny_cache = engine::create({.model_dir = stories, .max_model_len = 512, .num_kv_blocks = 4});
  ASSERT_FALSE(tiny_cache);
  EXPECT_NE(tiny_cache.error().message.find("KV cache"), std::string::npos);
  auto gpu = engine::create({.model_dir = stories, .device = "cuda:0"});
  ASSERT_FALSE(gpu);
  EXPECT_EQ(gpu.error().code, errc::unsupported);
}

}  // namespace
}  // namespace troupe
