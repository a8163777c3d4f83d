// Every message survives encode -> decode with all its fields; limits at their maximum pass.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "protocol/codec.hpp"
#include "wire_samples.hpp"

namespace troupe::wire {
namespace {

using testing::expect_same;
using testing::make_envelope;
using testing::sample_envelopes;

envelope round_trip(const envelope& message) {
  std::vector<std::byte> bytes = encode(message);
  EXPECT_EQ(bytes.size() % 8, 0u);
  result<envelope> decoded = decode(bytes);
  EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().to_string());
  return decoded ? std::move(decoded).value() : envelope{};
}

TEST(codec_round_trip, samples_cover_every_message_type) {
  std::vector<envelope> samples = sample_envelopes();
  ASSERT_EQ(samples.size(), std::variant_size_v<body>);
  for (std::size_t i = 0; i < samples.size(); ++i) EXPECT_EQ(samples[i].message.index(), i);
}

TEST(codec_round_trip, every_message_type_keeps_all_its_fields) {
  for (const envelope& message : sample_envelopes()) {
    SCOPED_TRACE(std::string(body_name(message.message)));
    expect_same(message, round_trip(message));
  }
}

TEST(codec_round_trip, default_constructed_messages_round_trip_except_those_needing_names) {
  // Messages without required names decode from their defaults; the others need a name.
  for (const body& message : {body{join_reply{}}, body{abort_requests{}}, body{step_plan{}},
                              body{step_result{}}, body{generate{}}}) {
    SCOPED_TRACE(std::string(body_name(message)));
    expect_same(make_envelope(message), round_trip(make_envelope(message)));
  }
}

TEST(codec_round_trip, empty_lists_stay_empty) {
  replica_outputs outputs{.replica_name = "r", .deltas = {request_delta{.request_id = 3}}};
  step_plan plan{.step_id = 1};
  plan.new_requests.push_back(new_request_plan{.id = request_id{1}, .readmitted = true});
  plan.scheduled.push_back(scheduled_request_plan{.id = request_id{1}, .num_new_tokens = 0});
  for (const body& message :
       {body{outputs}, body{plan}, body{join_request{.node_name = "n", .transport_address = "a"}},
        body{assign_replica{.replica_name = "r", .model = {.name = "m", .path = "/p"}}}}) {
    SCOPED_TRACE(std::string(body_name(message)));
    expect_same(make_envelope(message), round_trip(make_envelope(message)));
  }
}

TEST(codec_round_trip, a_replica_that_failed_before_its_leader_started_has_no_leader_actor) {
  replica_status status{.replica_name = "demo#0",
                        .node_name = "node0",
                        .state = replica_state::failed,
                        .message = "multi-device replicas are not available in this build"};
  expect_same(make_envelope(status), round_trip(make_envelope(status)));
}

TEST(codec_round_trip, names_of_the_maximum_length_are_accepted) {
  envelope message = make_envelope(heartbeat{.node_name = std::string(max_name_bytes, 'n')});
  message.source = std::string(max_name_bytes, 's');
  message.target = std::string(max_name_bytes, 't');
  expect_same(message, round_trip(message));
}

TEST(codec_round_trip, twenty_top_logprobs_are_accepted) {
  sample_result sample{.token = 1, .logprob = -0.1f};
  for (int i = 0; i < max_num_top_logprobs; ++i)
    sample.top_logprobs.push_back({i, -0.1f * static_cast<float>(i)});
  step_result result{.step_id = 4, .sampled = {{.id = request_id{1}, .result = sample}}};
  expect_same(make_envelope(result), round_trip(make_envelope(result)));
}

TEST(codec_round_trip, a_prompt_of_two_million_tokens_fits_under_the_default_size_limit) {
  generate message{.request_id = 1, .prompt_token_ids = std::vector<token_id>(2'000'000, 7)};
  expect_same(make_envelope(message), round_trip(make_envelope(message)));
}

TEST(codec_round_trip, extreme_integer_values_survive) {
  replica_status status{.replica_name = "r",
                        .node_name = "n",
                        .leader_actor = "a",
                        .state = replica_state::stopped,
                        .num_kv_blocks = INT64_MAX,
                        .max_model_len = INT32_MAX};
  expect_same(make_envelope(status), round_trip(make_envelope(status)));
  step_plan plan{.step_id = UINT64_MAX, .preempted = {request_id{UINT64_MAX}}};
  expect_same(make_envelope(plan), round_trip(make_envelope(plan)));
}

TEST(codec_round_trip, misaligned_input_is_copied_and_decoded) {
  for (const envelope& message : sample_envelopes()) {
    std::vector<std::byte> bytes = encode(message);
    std::vector<std::byte> shifted(bytes.size() + 3);
    std::memcpy(shifted.data() + 3, bytes.data(), bytes.size());
    result<envelope> decoded = decode(std::span(shifted).subspan(3));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    expect_same(message, *decoded);
  }
}

TEST(codec_round_trip, body_name_names_each_message_type) {
  EXPECT_EQ(body_name(body{join_request{}}), "join_request");
  EXPECT_EQ(body_name(body{replica_outputs{}}), "replica_outputs");
  EXPECT_EQ(body_name(body{step_plan{}}), "step_plan");
  EXPECT_EQ(body_name(body{step_result{}}), "step_result");
}

}  // namespace
}  // namespace troupe::wire
