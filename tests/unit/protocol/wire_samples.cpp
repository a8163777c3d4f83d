#include "wire_samples.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

namespace troupe::wire::testing {
namespace {

sampling_params sample_sampling() {
  return sampling_params{.temperature = 0.7f,
                         .top_p = 0.9f,
                         .top_k = 40,
                         .min_p = 0.05f,
                         .repetition_penalty = 1.1f,
                         .presence_penalty = -0.5f,
                         .frequency_penalty = 1.25f,
                         .logit_bias = {{5, -100.0f}, {70000, 2.5f}},
                         .seed = 0xfedcba9876543210ull,
                         .logprobs = 3,
                         .max_tokens = 128,
                         .stop = {"\n\n", "END", "ünïcødé"},
                         .stop_token_ids = {2, 128001},
                         .ignore_eos = true};
}

sample_result sample_with_logprobs(token_id token) {
  return sample_result{
      .token = token,
      .logprob = -0.25f,
      .top_logprobs = {{token, -0.25f}, {17, -1.5f}, {0, -std::numeric_limits<float>::infinity()}}};
}

}  // namespace

join_request sample_join_request() {
  return join_request{.node_name = "node0",
                      .transport_address = "10.0.0.7:13337",
                      .pid = 4242,
                      .devices = {{.name = "cpu:0",
                                   .kind = device_kind::cpu,
                                   .memory_bytes = 64ull << 30,
                                   .num_threads = 16},
                                  {.name = "cuda:3",
                                   .kind = device_kind::cuda,
                                   .memory_bytes = 80ull << 30,
                                   .num_threads = 0}}};
}

join_reply sample_join_reply() {
  return join_reply{
      .accepted = false, .error = "node name node0 is taken", .heartbeat_interval_ms = 500};
}

heartbeat sample_heartbeat() {
  return heartbeat{.node_name = "node1", .sequence = 0xffffffffffffffffull};
}

assign_replica sample_assign_replica() {
  return assign_replica{.replica_name = "demo#0",
                        .model = {.name = "demo",
                                  .path = "/models/tiny-llama",
                                  .dtype = "bfloat16",
                                  .max_model_len = 4096,
                                  .block_size = 32,
                                  .kv_cache_bytes = 3ull << 30,
                                  .max_num_seqs = 64,
                                  .max_num_batched_tokens = 8192},
                        .device_names = {"cuda:0", "cuda:1"}};
}

replica_status sample_replica_status() {
  return replica_status{.replica_name = "demo#0",
                        .node_name = "node0",
                        .leader_actor = "node0/leader/demo#0",
                        .state = replica_state::failed,
                        .message = std::string("out of memory\0 after 3/12 layers", 32),
                        .num_kv_blocks = 123456789012,
                        .max_model_len = 2048};
}

generate sample_generate() {
  return generate{.request_id = 1ull << 60,
                  .prompt_token_ids = {1, 15043, 0, 2147483647},
                  .sampling = sample_sampling(),
                  .priority = -3};
}

abort_requests sample_abort_requests() {
  return abort_requests{.request_ids = {0, 7, 0xffffffffffffffffull}};
}

replica_outputs sample_replica_outputs() {
  request_delta streaming{.request_id = 11,
                          .new_token_ids = {101, 102},
                          .new_text = "Hello, wörld",
                          .new_logprobs = {sample_with_logprobs(101), sample_with_logprobs(102)},
                          .num_prompt_tokens = 9,
                          .num_cached_prompt_tokens = 8};
  request_delta finished{.request_id = 12,
                         .new_token_ids = {2},
                         .finished = finish_kind::stop,
                         .stop_reason = "token:2",
                         .num_prompt_tokens = 4};
  return replica_outputs{.replica_name = "demo#1",
                         .num_running = 2,
                         .num_waiting = 5,
                         .num_free_kv_blocks = 77,
                         .deltas = {streaming, finished}};
}

step_plan sample_step_plan() {
  step_plan plan{.step_id = 99};
  plan.new_requests.push_back(new_request_plan{.id = request_id{5},
                                               .prompt_token_ids = {1, 2, 3},
                                               .sampling = sample_sampling(),
                                               .seed = 31337});
  plan.new_requests.push_back(new_request_plan{.id = request_id{6}, .seed = 1, .readmitted = true});
  plan.scheduled.push_back(scheduled_request_plan{.id = request_id{5},
                                                  .num_computed_tokens = 0,
                                                  .num_new_tokens = 3,
                                                  .new_block_ids = {0, 9},
                                                  .samples = true});
  plan.scheduled.push_back(scheduled_request_plan{.id = request_id{6},
                                                  .num_computed_tokens = 17,
                                                  .num_new_tokens = 1,
                                                  .new_block_ids = {4},
                                                  .samples = false});
  plan.preempted = {request_id{8}};
  plan.finished = {request_id{1}, request_id{2}};
  return plan;
}

step_result sample_step_result() {
  step_result result{.step_id = 99};
  result.sampled.push_back(sampled_token{.id = request_id{5}, .result = sample_with_logprobs(42)});
  result.sampled.push_back(
      sampled_token{.id = request_id{7}, .result = sample_result{.token = 3}});  // NaN logprob
  return result;
}

envelope make_envelope(body message) {
  return envelope{
      .source = "node0/leader/demo#0", .target = "head/router", .message = std::move(message)};
}

std::vector<envelope> sample_envelopes() {
  return {make_envelope(sample_join_request()),   make_envelope(sample_join_reply()),
          make_envelope(sample_heartbeat()),      make_envelope(sample_assign_replica()),
          make_envelope(sample_replica_status()), make_envelope(sample_generate()),
          make_envelope(sample_abort_requests()), make_envelope(sample_replica_outputs()),
          make_envelope(sample_step_plan()),      make_envelope(sample_step_result())};
}

// ---- comparisons -------------------------------------------------------------------------
namespace {

// Every overload is declared before any is defined: the containers' element types live in other
// namespaces, so argument-dependent lookup would not find later ones.
template <class T>
void same(const T& expected, const T& actual, const std::string& path);
template <class T>
void same(const std::vector<T>& expected, const std::vector<T>& actual, const std::string& path);
template <class A, class B>
void same(const std::pair<A, B>& expected, const std::pair<A, B>& actual, const std::string& path);
template <class T>
void same(const std::optional<T>& expected, const std::optional<T>& actual,
          const std::string& path);

template <class T>
void same_scalar(const T& expected, const T& actual, const std::string& path) {
  if constexpr (std::is_same_v<T, float>) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(expected), std::bit_cast<std::uint32_t>(actual))
        << path << ": " << expected << " vs " << actual;
  } else if constexpr (std::is_enum_v<T>) {
    EXPECT_EQ(static_cast<int>(expected), static_cast<int>(actual)) << path;
  } else {
    EXPECT_EQ(expected, actual) << path;
  }
}

#define SAME(field) same(expected.field, actual.field, path + "." #field)

template <class T>
void same(const std::vector<T>& expected, const std::vector<T>& actual, const std::string& path) {
  ASSERT_EQ(expected.size(), actual.size()) << path << " size";
  if constexpr (std::is_integral_v<T>) {  // long token lists: one comparison, not one EXPECT each
    if (expected == actual) return;
  }
  for (std::size_t i = 0; i < expected.size(); ++i)
    same(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
}

template <class A, class B>
void same(const std::pair<A, B>& expected, const std::pair<A, B>& actual, const std::string& path) {
  SAME(first);
  SAME(second);
}

template <class T>
void same(const std::optional<T>& expected, const std::optional<T>& actual,
          const std::string& path) {
  ASSERT_EQ(expected.has_value(), actual.has_value()) << path << " presence";
  if (expected) same(*expected, *actual, path);
}

void same_struct(const request_id& expected, const request_id& actual, const std::string& path) {
  SAME(value);
}
void same_struct(const device_info& expected, const device_info& actual, const std::string& path) {
  SAME(name);
  SAME(kind);
  SAME(memory_bytes);
  SAME(num_threads);
}
void same_struct(const join_request& expected, const join_request& actual,
                 const std::string& path) {
  SAME(node_name);
  SAME(transport_address);
  SAME(pid);
  SAME(devices);
}
void same_struct(const join_reply& expected, const join_reply& actual, const std::string& path) {
  SAME(accepted);
  SAME(error);
  SAME(heartbeat_interval_ms);
}
void same_struct(const heartbeat& expected, const heartbeat& actual, const std::string& path) {
  SAME(node_name);
  SAME(sequence);
}
void same_struct(const model_spec& expected, const model_spec& actual, const std::string& path) {
  SAME(name);
  SAME(path);
  SAME(dtype);
  SAME(max_model_len);
  SAME(block_size);
  SAME(kv_cache_bytes);
  SAME(max_num_seqs);
  SAME(max_num_batched_tokens);
}
void same_struct(const assign_replica& expected, const assign_replica& actual,
                 const std::string& path) {
  SAME(replica_name);
  SAME(model);
  SAME(device_names);
}
void same_struct(const replica_status& expected, const replica_status& actual,
                 const std::string& path) {
  SAME(replica_name);
  SAME(node_name);
  SAME(leader_actor);
  SAME(state);
  SAME(message);
  SAME(num_kv_blocks);
  SAME(max_model_len);
}
void same_struct(const sampling_params& expected, const sampling_params& actual,
                 const std::string& path) {
  SAME(temperature);
  SAME(top_p);
  SAME(top_k);
  SAME(min_p);
  SAME(repetition_penalty);
  SAME(presence_penalty);
  SAME(frequency_penalty);
  SAME(logit_bias);
  SAME(seed);
  SAME(logprobs);
  SAME(max_tokens);
  SAME(stop);
  SAME(stop_token_ids);
  SAME(ignore_eos);
}
void same_struct(const generate& expected, const generate& actual, const std::string& path) {
  SAME(request_id);
  SAME(prompt_token_ids);
  SAME(sampling);
  SAME(priority);
}
void same_struct(const abort_requests& expected, const abort_requests& actual,
                 const std::string& path) {
  SAME(request_ids);
}
void same_struct(const token_logprob& expected, const token_logprob& actual,
                 const std::string& path) {
  SAME(token);
  SAME(logprob);
}
void same_struct(const sample_result& expected, const sample_result& actual,
                 const std::string& path) {
  SAME(token);
  SAME(logprob);
  SAME(top_logprobs);
}
void same_struct(const request_delta& expected, const request_delta& actual,
                 const std::string& path) {
  SAME(request_id);
  SAME(new_token_ids);
  SAME(new_text);
  SAME(new_logprobs);
  SAME(finished);
  SAME(stop_reason);
  SAME(num_prompt_tokens);
  SAME(num_cached_prompt_tokens);
}
void same_struct(const replica_outputs& expected, const replica_outputs& actual,
                 const std::string& path) {
  SAME(replica_name);
  SAME(num_running);
  SAME(num_waiting);
  SAME(num_free_kv_blocks);
  SAME(deltas);
}
void same_struct(const new_request_plan& expected, const new_request_plan& actual,
                 const std::string& path) {
  SAME(id);
  SAME(prompt_token_ids);
  SAME(sampling);
  SAME(seed);
  SAME(readmitted);
}
void same_struct(const scheduled_request_plan& expected, const scheduled_request_plan& actual,
                 const std::string& path) {
  SAME(id);
  SAME(num_computed_tokens);
  SAME(num_new_tokens);
  SAME(new_block_ids);
  SAME(samples);
}
void same_struct(const step_plan& expected, const step_plan& actual, const std::string& path) {
  SAME(step_id);
  SAME(new_requests);
  SAME(scheduled);
  SAME(preempted);
  SAME(finished);
}
void same_struct(const sampled_token& expected, const sampled_token& actual,
                 const std::string& path) {
  SAME(id);
  SAME(result);
}
void same_struct(const step_result& expected, const step_result& actual, const std::string& path) {
  SAME(step_id);
  SAME(sampled);
}

template <class T>
void same(const T& expected, const T& actual, const std::string& path) {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string>) {
    same_scalar(expected, actual, path);
  } else {
    same_struct(expected, actual, path);
  }
}

#undef SAME

}  // namespace

void expect_same(const envelope& expected, const envelope& actual) {
  EXPECT_EQ(expected.version, actual.version);
  EXPECT_EQ(expected.source, actual.source);
  EXPECT_EQ(expected.target, actual.target);
  ASSERT_EQ(expected.message.index(), actual.message.index()) << "body type";
  std::visit(
      [&](const auto& want) {
        using T = std::decay_t<decltype(want)>;
        same(want, std::get<T>(actual.message), "body");
      },
      expected.message);
}

}  // namespace troupe::wire::testing
