// Decode rejects every malformed, forged or out-of-range message with an error naming the problem.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/codec.hpp"
#include "protocol/schema/troupe.capnp.h"
#include "wire_samples.hpp"

namespace troupe::wire {
namespace {

namespace schema = troupe::wire_schema;
using ::testing::HasSubstr;
using testing::make_envelope;
using testing::sample_envelopes;

std::vector<std::byte> to_bytes(capnp::MessageBuilder& builder) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  const auto* first = reinterpret_cast<const std::byte*>(bytes.begin());
  return {first, first + bytes.size()};
}

// A valid envelope header; the test fills in the body.
schema::Envelope::Builder init_envelope(capnp::MessageBuilder& builder) {
  auto root = builder.initRoot<schema::Envelope>();
  root.setVersion(protocol_version);
  root.setSource("node0");
  root.setTarget("head/coordinator");
  return root;
}

std::string decode_error(std::span<const std::byte> bytes, const decode_limits& limits = {}) {
  result<envelope> decoded = decode(bytes, limits);
  if (decoded) return "(decoded without error)";
  EXPECT_EQ(decoded.error().code, errc::parse_error);
  return decoded.error().message;
}

std::string decode_error(const envelope& message) {
  return decode_error(encode(message));
}

TEST(codec_malformed, every_truncation_of_every_message_is_rejected) {
  for (const envelope& message : sample_envelopes()) {
    std::vector<std::byte> bytes = encode(message);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      result<envelope> decoded = decode(std::span(bytes).first(size));
      ASSERT_FALSE(decoded.has_value())
          << body_name(message.message) << " truncated to " << size << " bytes";
      EXPECT_EQ(decoded.error().code, errc::parse_error);
    }
  }
}

TEST(codec_malformed, sizes_that_are_not_whole_words_are_rejected_by_name) {
  std::vector<std::byte> bytes = encode(sample_envelopes()[0]);
  EXPECT_THAT(decode_error(std::span(bytes).first(13)),
              HasSubstr("13 bytes, not a whole number of 8-byte words"));
  EXPECT_THAT(decode_error(std::span<const std::byte>{}), HasSubstr("0 bytes"));
}

TEST(codec_malformed, bytes_after_the_message_are_rejected) {
  std::vector<std::byte> bytes = encode(sample_envelopes()[2]);
  bytes.resize(bytes.size() + 8);
  EXPECT_THAT(decode_error(bytes), HasSubstr("8 bytes after its last segment"));
}

TEST(codec_malformed, another_protocol_version_is_rejected) {
  envelope message = sample_envelopes()[2];
  message.version = 7;
  EXPECT_EQ(decode_error(message), "protocol version 7, expected 1");
}

TEST(codec_malformed, a_message_over_the_size_limit_is_rejected_unread) {
  std::vector<std::byte> bytes = encode(sample_envelopes()[5]);
  EXPECT_THAT(decode_error(bytes, {.max_message_bytes = 64}),
              HasSubstr("more than the limit of 64"));
  std::vector<std::byte> huge((16u << 20) + 8);
  EXPECT_THAT(decode_error(huge), HasSubstr("more than the limit of 16777216"));
}

TEST(codec_malformed, a_message_over_the_traversal_limit_is_rejected) {
  generate message{.request_id = 1, .prompt_token_ids = std::vector<token_id>(4096, 5)};
  EXPECT_THAT(decode_error(encode(make_envelope(message)), {.traversal_limit_words = 256}),
              HasSubstr("traversal"));
}

TEST(codec_malformed, a_message_over_the_nesting_limit_is_rejected) {
  EXPECT_THAT(decode_error(encode(sample_envelopes()[9]), {.nesting_limit = 2}), HasSubstr("nest"));
}

TEST(codec_malformed, unknown_enum_values_are_rejected_by_field) {
  {
    capnp::MallocMessageBuilder builder;
    auto status = init_envelope(builder).getBody().initReplicaStatus();
    status.setReplicaName("r");
    status.setNodeName("n");
    status.setLeaderActor("a");
    status.setState(static_cast<schema::ReplicaState>(9));
    EXPECT_EQ(decode_error(to_bytes(builder)),
              "replica_status.state has unknown enum value 9 (known: 0..3)");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto join = init_envelope(builder).getBody().initJoinRequest();
    join.setNodeName("n");
    join.setTransportAddress("h:1");
    auto devices = join.initDevices(1);
    devices[0].setName("gpu:0");
    devices[0].setKind(static_cast<schema::DeviceKind>(2));
    EXPECT_EQ(decode_error(to_bytes(builder)),
              "join_request.devices[0].kind has unknown enum value 2 (known: 0..1)");
  }
  {
    capnp::MallocMessageBuilder builder;
    auto outputs = init_envelope(builder).getBody().initReplicaOutputs();
    outputs.setReplicaName("r");
    outputs.initDeltas(2)[1].setFinished(static_cast<schema::FinishKind>(5));
    EXPECT_EQ(decode_error(to_bytes(builder)),
              "replica_outputs.deltas[1].finished has unknown enum value 5 (known: 0..4)");
  }
}

TEST(codec_malformed, an_unknown_union_member_is_rejected) {
  capnp::MallocMessageBuilder builder;
  init_envelope(builder).getBody().initHeartbeat().setNodeName("n");
  // Envelope.body's discriminant, at the offset the schema gives (in 16-bit units), set to a member
  // a newer protocol might add.
  auto offset =
      capnp::Schema::from<schema::Envelope::Body>().getProto().getStruct().getDiscriminantOffset();
  kj::ArrayPtr<kj::byte> data = builder.getRoot<capnp::AnyStruct>().getDataSection();
  ASSERT_LE((offset + 1) * 2, data.size());
  data[offset * 2] = 13;
  data[offset * 2 + 1] = 0;
  EXPECT_THAT(decode_error(to_bytes(builder)), HasSubstr("body has unknown union member 13"));
}

TEST(codec_malformed, a_forged_list_of_zero_sized_structs_is_rejected) {
  capnp::MallocMessageBuilder builder;
  auto join = init_envelope(builder).getBody().initJoinRequest();
  join.setNodeName("n");
  join.setTransportAddress("h:1");
  // A million elements in a few bytes: read as DeviceInfo they would allocate a million strings.
  capnp::AnyStruct::Builder(schema::JoinRequest::Builder(join))
      .getPointerSection()[2]
      .initAsAnyList(capnp::ElementSize::VOID, 1'000'000);
  EXPECT_EQ(decode_error(to_bytes(builder)),
            "join_request.devices is a list of 1000000 zero-sized elements");
}

struct bad_field_case {
  std::string name;
  std::function<void(envelope&)> corrupt;  // applied to the sample of the message type
  std::size_t sample;                      // index into sample_envelopes()
  std::string expected_error;
};

template <class T>
T& as(envelope& message) {
  return std::get<T>(message.message);
}

std::vector<bad_field_case> bad_field_cases() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"empty target", [](envelope& m) { m.target.clear(); }, 2, "target must not be empty"},
      {"empty source", [](envelope& m) { m.source.clear(); }, 2, "source must not be empty"},
      {"long source", [](envelope& m) { m.source = std::string(max_name_bytes + 1, 'x'); }, 2,
       "source is 1025 bytes, more than the limit of 1024"},
      {"empty node", [](envelope& m) { as<heartbeat>(m).node_name.clear(); }, 2,
       "heartbeat.node_name must not be empty"},
      {"negative pid", [](envelope& m) { as<join_request>(m).pid = -1; }, 0,
       "join_request.pid must be >= 0, got -1"},
      {"unnamed device", [](envelope& m) { as<join_request>(m).devices[1].name.clear(); }, 0,
       "join_request.devices[1].name must not be empty"},
      {"negative threads", [](envelope& m) { as<join_request>(m).devices[0].num_threads = -4; }, 0,
       "join_request.devices[0].num_threads must be >= 0, got -4"},
      {"zero block size", [](envelope& m) { as<assign_replica>(m).model.block_size = 0; }, 3,
       "assign_replica.model.block_size must be > 0, got 0"},
      {"unnamed replica device", [](envelope& m) { as<assign_replica>(m).device_names[1].clear(); },
       3, "assign_replica.device_names[1] must not be empty"},
      {"ready without leader",
       [](envelope& m) {
         as<replica_status>(m).state = replica_state::ready;
         as<replica_status>(m).leader_actor.clear();
       },
       4, "replica_status.leader_actor must not be empty when the replica is ready"},
      {"negative kv blocks", [](envelope& m) { as<replica_status>(m).num_kv_blocks = -1; }, 4,
       "replica_status.num_kv_blocks must be >= 0, got -1"},
      {"negative prompt token", [](envelope& m) { as<generate>(m).prompt_token_ids[2] = -1; }, 5,
       "generate.prompt_token_ids[2] must be >= 0, got -1"},
      {"too many logprobs", [](envelope& m) { as<generate>(m).sampling.logprobs = 21; }, 5,
       "generate.sampling.logprobs must be -1 (none) or in [0, 20], got 21"},
      {"NaN temperature", [nan](envelope& m) { as<generate>(m).sampling.temperature = nan; }, 5,
       "generate.sampling.temperature must be 0 (greedy) or finite"},
      {"negative stop token", [](envelope& m) { as<generate>(m).sampling.stop_token_ids[0] = -2; },
       5, "generate.sampling.stop_token_ids[0] must be >= 0, got -2"},
      {"negative running", [](envelope& m) { as<replica_outputs>(m).num_running = -1; }, 7,
       "replica_outputs.num_running must be >= 0, got -1"},
      {"logprobs per token",
       [](envelope& m) { as<replica_outputs>(m).deltas[0].new_logprobs.pop_back(); }, 7,
       "replica_outputs.deltas[0].new_logprobs has 1 entries for 2 new tokens"},
      {"cached beyond prompt",
       [](envelope& m) { as<replica_outputs>(m).deltas[1].num_cached_prompt_tokens = 5; }, 7,
       "replica_outputs.deltas[1].num_cached_prompt_tokens must be in [0, num_prompt_tokens = 4], "
       "got 5"},
      {"negative new tokens",
       [](envelope& m) { as<step_plan>(m).scheduled[1].num_new_tokens = -1; }, 8,
       "step_plan.scheduled[1].num_new_tokens must be >= 0, got -1"},
      {"negative computed tokens",
       [](envelope& m) { as<step_plan>(m).scheduled[0].num_computed_tokens = -5; }, 8,
       "step_plan.scheduled[0].num_computed_tokens must be >= 0, got -5"},
      {"negative block", [](envelope& m) { as<step_plan>(m).scheduled[0].new_block_ids[1] = -3; },
       8, "step_plan.scheduled[0].new_block_ids[1] must be >= 0, got -3"},
      {"bad top_p", [](envelope& m) { as<step_plan>(m).new_requests[0].sampling.top_p = 1.5f; }, 8,
       "step_plan.new_requests[0].sampling.top_p must be in (0, 1], got 1.5"},
      {"negative sampled token",
       [](envelope& m) { as<step_result>(m).sampled[1].result.token = -1; }, 9,
       "step_result.sampled[1].result.token must be >= 0, got -1"},
      {"infinite logprob",
       [inf](envelope& m) { as<step_result>(m).sampled[0].result.logprob = inf; }, 9,
       "step_result.sampled[0].result.logprob must not be +inf"},
      {"NaN top logprob",
       [nan](envelope& m) { as<step_result>(m).sampled[0].result.top_logprobs[1].logprob = nan; },
       9,
       "step_result.sampled[0].result.top_logprobs[1].logprob must be a number below +inf, got "
       "nan"},
      {"top logprobs without logprob",
       [nan](envelope& m) { as<step_result>(m).sampled[0].result.logprob = nan; }, 9,
       "step_result.sampled[0].result.top_logprobs has 3 entries but logprob is NaN"},
      {"21 top logprobs",
       [](envelope& m) {
         as<step_result>(m).sampled[0].result.top_logprobs.resize(21, token_logprob{.token = 1});
       },
       9, "step_result.sampled[0].result.top_logprobs has 21 entries, more than 20"},
  };
}

TEST(codec_malformed, out_of_range_fields_are_rejected_naming_the_field) {
  for (const bad_field_case& bad : bad_field_cases()) {
    SCOPED_TRACE(bad.name);
    envelope message = sample_envelopes().at(bad.sample);
    bad.corrupt(message);
    EXPECT_THAT(decode_error(message), HasSubstr(bad.expected_error));
  }
}

}  // namespace
}  // namespace troupe::wire
