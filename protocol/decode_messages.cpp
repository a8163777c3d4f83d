// Readers of the cluster messages (messages.hpp) and of the Envelope body union.
#include "protocol/codec.hpp"
#include "protocol/codec_detail.hpp"

namespace troupe::wire::codec_detail {
namespace {

result<device_info> read_device(schema::DeviceInfo::Reader in) {
  device_info out{.memory_bytes = in.getMemoryBytes(), .num_threads = in.getNumThreads()};
  TROUPE_ASSIGN_OR_RETURN(out.name, read_name(in.getName(), "name"));
  TROUPE_ASSIGN_OR_RETURN(auto kind, check_enum(in.getKind(), num_device_kinds, "kind"));
  out.kind = static_cast<device_kind>(kind);
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_threads, "num_threads"));
  return out;
}

result<join_request> read(schema::JoinRequest::Reader in) {
  join_request out{.pid = in.getPid()};
  TROUPE_ASSIGN_OR_RETURN(out.node_name, read_name(in.getNodeName(), "node_name"));
  TROUPE_ASSIGN_OR_RETURN(out.transport_address,
                          read_name(in.getTransportAddress(), "transport_address"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.pid, "pid"));
  TROUPE_ASSIGN_OR_RETURN(out.devices,
                          read_struct_list<device_info>(in.getDevices(), "devices", read_device));
  return out;
}

result<join_reply> read(schema::JoinReply::Reader in) {
  return join_reply{.accepted = in.getAccepted(),
                    .error = read_text(in.getError()),
                    .heartbeat_interval_ms = in.getHeartbeatIntervalMs()};
}

result<heartbeat> read(schema::Heartbeat::Reader in) {
  heartbeat out{.sequence = in.getSequence()};
  TROUPE_ASSIGN_OR_RETURN(out.node_name, read_name(in.getNodeName(), "node_name"));
  return out;
}

result<model_spec> read_model(schema::ModelSpec::Reader in) {
  model_spec out{.dtype = read_text(in.getDtype()),
                 .max_model_len = in.getMaxModelLen(),
                 .block_size = in.getBlockSize(),
                 .kv_cache_bytes = in.getKvCacheBytes(),
                 .max_num_seqs = in.getMaxNumSeqs(),
                 .max_num_batched_tokens = in.getMaxNumBatchedTokens()};
  TROUPE_ASSIGN_OR_RETURN(out.name, read_name(in.getName(), "name"));
  out.path = read_text(in.getPath());
  if (out.path.empty()) return invalid_field("path must not be empty");
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.max_model_len, "max_model_len"));
  if (out.block_size <= 0) return invalid_field("block_size must be > 0, got {}", out.block_size);
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.max_num_seqs, "max_num_seqs"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.max_num_batched_tokens, "max_num_batched_tokens"));
  return out;
}

result<assign_replica> read(schema::AssignReplica::Reader in) {
  assign_replica out;
  TROUPE_ASSIGN_OR_RETURN(out.replica_name, read_name(in.getReplicaName(), "replica_name"));
  auto model = read_model(in.getModel());
  if (!model) return in_field(std::move(model).error(), "model.");
  out.model = std::move(model).value();
  auto names = in.getDeviceNames();
  out.device_names.reserve(names.size());
  for (unsigned i = 0; i < names.size(); ++i) {
    TROUPE_ASSIGN_OR_RETURN(auto name, read_name(names[i], fmt::format("device_names[{}]", i)));
    out.device_names.push_back(std::move(name));
  }
  return out;
}

result<replica_status> read(schema::ReplicaStatus::Reader in) {
  replica_status out{.message = read_text(in.getMessage()),
                     .num_kv_blocks = in.getNumKvBlocks(),
                     .max_model_len = in.getMaxModelLen()};
  TROUPE_ASSIGN_OR_RETURN(out.replica_name, read_name(in.getReplicaName(), "replica_name"));
  TROUPE_ASSIGN_OR_RETURN(out.node_name, read_name(in.getNodeName(), "node_name"));
  // A replica that failed before its leader started has none; a ready one must name it.
  out.leader_actor = read_text(in.getLeaderActor());
  if (out.leader_actor.size() > max_name_bytes) {
    return invalid_field("leader_actor is {} bytes, more than the limit of {}",
                         out.leader_actor.size(), max_name_bytes);
  }
  TROUPE_ASSIGN_OR_RETURN(auto state, check_enum(in.getState(), num_replica_states, "state"));
  out.state = static_cast<replica_state>(state);
  if (out.state == replica_state::ready && out.leader_actor.empty()) {
    return invalid_field("leader_actor must not be empty when the replica is ready");
  }
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_kv_blocks, "num_kv_blocks"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.max_model_len, "max_model_len"));
  return out;
}

result<generate> read(schema::Generate::Reader in) {
  generate out{.request_id = in.getRequestId(), .priority = in.getPriority()};
  TROUPE_ASSIGN_OR_RETURN(out.prompt_token_ids,
                          read_token_ids(in.getPromptTokenIds(), "prompt_token_ids"));
  auto sampling = read_sampling_params(in.getSampling());
  if (!sampling) return in_field(std::move(sampling).error(), "sampling.");
  out.sampling = std::move(sampling).value();
  return out;
}

result<abort_requests> read(schema::AbortRequests::Reader in) {
  return abort_requests{.request_ids = read_u64_list(in.getRequestIds())};
}

result<request_delta> read_delta(schema::RequestDelta::Reader in) {
  request_delta out{.request_id = in.getRequestId(),
                    .new_text = read_text(in.getNewText()),
                    .stop_reason = read_text(in.getStopReason()),
                    .num_prompt_tokens = in.getNumPromptTokens(),
                    .num_cached_prompt_tokens = in.getNumCachedPromptTokens()};
  TROUPE_ASSIGN_OR_RETURN(out.new_token_ids, read_token_ids(in.getNewTokenIds(), "new_token_ids"));
  TROUPE_ASSIGN_OR_RETURN(
      out.new_logprobs,
      read_struct_list<sample_result>(in.getNewLogprobs(), "new_logprobs", read_sample_result));
  if (!out.new_logprobs.empty() && out.new_logprobs.size() != out.new_token_ids.size()) {
    return invalid_field(
        "new_logprobs has {} entries for {} new tokens (must be 0 or one per token)",
        out.new_logprobs.size(), out.new_token_ids.size());
  }
  TROUPE_ASSIGN_OR_RETURN(auto finished,
                          check_enum(in.getFinished(), num_finish_kinds, "finished"));
  out.finished = static_cast<finish_kind>(finished);
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_prompt_tokens, "num_prompt_tokens"));
  if (out.num_cached_prompt_tokens < 0 || out.num_cached_prompt_tokens > out.num_prompt_tokens) {
    return invalid_field("num_cached_prompt_tokens must be in [0, num_prompt_tokens = {}], got {}",
                         out.num_prompt_tokens, out.num_cached_prompt_tokens);
  }
  return out;
}

result<replica_outputs> read(schema::ReplicaOutputs::Reader in) {
  replica_outputs out{.num_running = in.getNumRunning(),
                      .num_waiting = in.getNumWaiting(),
                      .num_free_kv_blocks = in.getNumFreeKvBlocks()};
  TROUPE_ASSIGN_OR_RETURN(out.replica_name, read_name(in.getReplicaName(), "replica_name"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_running, "num_running"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_waiting, "num_waiting"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_free_kv_blocks, "num_free_kv_blocks"));
  TROUPE_ASSIGN_OR_RETURN(out.deltas,
                          read_struct_list<request_delta>(in.getDeltas(), "deltas", read_delta));
  return out;
}

// Reads one member and prefixes its errors with the message name: "step_plan.scheduled[0]...".
template <class Message, class Reader, class ReadOne>
result<body> read_member(Reader in, ReadOne read_one) {
  result<Message> message = read_one(in);
  if (!message)
    return in_field(std::move(message).error(), fmt::format("{}.", body_name(body{Message{}})));
  return body{std::move(message).value()};
}

}  // namespace

result<std::string> read_name(capnp::Text::Reader in, std::string_view field) {
  if (in.size() == 0) return invalid_field("{} must not be empty", field);
  if (in.size() > max_name_bytes) {
    return invalid_field("{} is {} bytes, more than the limit of {}", field, in.size(),
                         max_name_bytes);
  }
  return read_text(in);
}

result<std::vector<token_id>> read_token_ids(capnp::List<std::int32_t>::Reader in,
                                             std::string_view field) {
  std::vector<token_id> out;
  out.reserve(in.size());
  for (unsigned i = 0; i < in.size(); ++i) {
    if (in[i] < 0) return invalid_field("{}[{}] must be >= 0, got {}", field, i, in[i]);
    out.push_back(in[i]);
  }
  return out;
}

std::vector<std::uint64_t> read_u64_list(capnp::List<std::uint64_t>::Reader in) {
  std::vector<std::uint64_t> out;
  out.reserve(in.size());
  for (std::uint64_t id : in) out.push_back(id);
  return out;
}

result<body> read_body(schema::Envelope::Body::Reader in) {
  using which = schema::Envelope::Body::Which;
  auto self = [](auto reader) { return read(reader); };
  switch (in.which()) {
    case which::JOIN_REQUEST:
      return read_member<join_request>(in.getJoinRequest(), self);
    case which::JOIN_REPLY:
      return read_member<join_reply>(in.getJoinReply(), self);
    case which::HEARTBEAT:
      return read_member<heartbeat>(in.getHeartbeat(), self);
    case which::ASSIGN_REPLICA:
      return read_member<assign_replica>(in.getAssignReplica(), self);
    case which::REPLICA_STATUS:
      return read_member<replica_status>(in.getReplicaStatus(), self);
    case which::GENERATE:
      return read_member<generate>(in.getGenerate(), self);
    case which::ABORT_REQUESTS:
      return read_member<abort_requests>(in.getAbortRequests(), self);
    case which::REPLICA_OUTPUTS:
      return read_member<replica_outputs>(in.getReplicaOutputs(), self);
    case which::STEP_PLAN:
      return read_member<step_plan>(in.getStepPlan(), read_step_plan);
    case which::STEP_RESULT:
      return read_member<step_result>(in.getStepResult(), read_step_result);
  }
  return invalid_field("body has unknown union member {} (a newer protocol?)",
                       static_cast<unsigned>(in.which()));
}

}  // namespace troupe::wire::codec_detail
