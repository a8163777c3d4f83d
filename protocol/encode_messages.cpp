// Writers: C++ structs -> Cap'n Proto builders. Every field is written, defaults included.
#include <string>
#include <type_traits>
#include <variant>

#include "protocol/codec_detail.hpp"

namespace troupe::wire::codec_detail {
namespace {

capnp::Text::Reader as_text(const std::string& text) {
  return {text.data(), text.size()};
}

template <class Builder>
void write_ints(Builder out, const std::vector<std::int32_t>& in) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, in[i]);
}

void write_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& in) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, as_text(in[i]));
}

void write_ids(capnp::List<std::uint64_t>::Builder out, const std::vector<request_id>& in) {
  for (unsigned i = 0; i < in.size(); ++i) out.set(i, in[i].value);
}

void write(schema::JoinRequest::Builder out, const join_request& in) {
  out.setNodeName(as_text(in.node_name));
  out.setTransportAddress(as_text(in.transport_address));
  out.setPid(in.pid);
  auto devices = out.initDevices(static_cast<unsigned>(in.devices.size()));
  for (unsigned i = 0; i < in.devices.size(); ++i) {
    const device_info& device = in.devices[i];
    devices[i].setName(as_text(device.name));
    devices[i].setKind(static_cast<schema::DeviceKind>(device.kind));
    devices[i].setMemoryBytes(device.memory_bytes);
    devices[i].setNumThreads(device.num_threads);
  }
}

void write(schema::JoinReply::Builder out, const join_reply& in) {
  out.setAccepted(in.accepted);
  out.setError(as_text(in.error));
  out.setHeartbeatIntervalMs(in.heartbeat_interval_ms);
}

void write(schema::Heartbeat::Builder out, const heartbeat& in) {
  out.setNodeName(as_text(in.node_name));
  out.setSequence(in.sequence);
}

void write(schema::AssignReplica::Builder out, const assign_replica& in) {
  out.setReplicaName(as_text(in.replica_name));
  auto model = out.initModel();
  model.setName(as_text(in.model.name));
  model.setPath(as_text(in.model.path));
  model.setDtype(as_text(in.model.dtype));
  model.setMaxModelLen(in.model.max_model_len);
  model.setBlockSize(in.model.block_size);
  model.setKvCacheBytes(in.model.kv_cache_bytes);
  model.setMaxNumSeqs(in.model.max_num_seqs);
  model.setMaxNumBatchedTokens(in.model.max_num_batched_tokens);
  write_texts(out.initDeviceNames(static_cast<unsigned>(in.device_names.size())), in.device_names);
}

void write(schema::ReplicaStatus::Builder out, const replica_status& in) {
  out.setReplicaName(as_text(in.replica_name));
  out.setNodeName(as_text(in.node_name));
  out.setLeaderActor(as_text(in.leader_actor));
  out.setState(static_cast<schema::ReplicaState>(in.state));
  out.setMessage(as_text(in.message));
  out.setNumKvBlocks(in.num_kv_blocks);
  out.setMaxModelLen(in.max_model_len);
}

void write(schema::Generate::Builder out, const generate& in) {
  out.setRequestId(in.request_id);
  write_ints(out.initPromptTokenIds(static_cast<unsigned>(in.prompt_token_ids.size())),
             in.prompt_token_ids);
  write_sampling_params(out.initSampling(), in.sampling);
  out.setPriority(in.priority);
}

void write(schema::AbortRequests::Builder out, const abort_requests& in) {
  auto ids = out.initRequestIds(static_cast<unsigned>(in.request_ids.size()));
  for (unsigned i = 0; i < in.request_ids.size(); ++i) ids.set(i, in.request_ids[i]);
}

void write(schema::RequestDelta::Builder out, const request_delta& in) {
  out.setRequestId(in.request_id);
  write_ints(out.initNewTokenIds(static_cast<unsigned>(in.new_token_ids.size())), in.new_token_ids);
  out.setNewText(as_text(in.new_text));
  auto logprobs = out.initNewLogprobs(static_cast<unsigned>(in.new_logprobs.size()));
  for (unsigned i = 0; i < in.new_logprobs.size(); ++i)
    write_sample_result(logprobs[i], in.new_logprobs[i]);
  out.setFinished(static_cast<schema::FinishKind>(in.finished));
  out.setStopReason(as_text(in.stop_reason));
  out.setNumPromptTokens(in.num_prompt_tokens);
  out.setNumCachedPromptTokens(in.num_cached_prompt_tokens);
}

void write(schema::ReplicaOutputs::Builder out, const replica_outputs& in) {
  out.setReplicaName(as_text(in.replica_name));
  out.setNumRunning(in.num_running);
  out.setNumWaiting(in.num_waiting);
  out.setNumFreeKvBlocks(in.num_free_kv_blocks);
  auto deltas = out.initDeltas(static_cast<unsigned>(in.deltas.size()));
  for (unsigned i = 0; i < in.deltas.size(); ++i) write(deltas[i], in.deltas[i]);
}

}  // namespace

void write_sampling_params(schema::SamplingParams::Builder out, const sampling_params& in) {
  out.setTemperature(in.temperature);
  out.setTopP(in.top_p);
  out.setTopK(in.top_k);
  out.setMinP(in.min_p);
  out.setRepetitionPenalty(in.repetition_penalty);
  out.setPresencePenalty(in.presence_penalty);
  out.setFrequencyPenalty(in.frequency_penalty);
  auto bias = out.initLogitBias(static_cast<unsigned>(in.logit_bias.size()));
  for (unsigned i = 0; i < in.logit_bias.size(); ++i) {
    bias[i].setToken(in.logit_bias[i].first);
    bias[i].setBias(in.logit_bias[i].second);
  }
  out.setHasSeed(in.seed.has_value());
  out.setSeed(in.seed.value_or(0));
  out.setLogprobs(in.logprobs);
  out.setMaxTokens(in.max_tokens);
  write_texts(out.initStop(static_cast<unsigned>(in.stop.size())), in.stop);
  write_ints(out.initStopTokenIds(static_cast<unsigned>(in.stop_token_ids.size())),
             in.stop_token_ids);
  out.setIgnoreEos(in.ignore_eos);
}

void write_sample_result(schema::SampleResult::Builder out, const sample_result& in) {
  out.setToken(in.token);
  out.setLogprob(in.logprob);
  auto top = out.initTopLogprobs(static_cast<unsigned>(in.top_logprobs.size()));
  for (unsigned i = 0; i < in.top_logprobs.size(); ++i) {
    top[i].setToken(in.top_logprobs[i].token);
    top[i].setLogprob(in.top_logprobs[i].logprob);
  }
}

void write_step_plan(schema::StepPlan::Builder out, const step_plan& in) {
  out.setStepId(in.step_id);
  auto news = out.initNewRequests(static_cast<unsigned>(in.new_requests.size()));
  for (unsigned i = 0; i < in.new_requests.size(); ++i) {
    const new_request_plan& plan = in.new_requests[i];
    news[i].setRequestId(plan.id.value);
    write_ints(news[i].initPromptTokenIds(static_cast<unsigned>(plan.prompt_token_ids.size())),
               plan.prompt_token_ids);
    write_sampling_params(news[i].initSampling(), plan.sampling);
    news[i].setSeed(plan.seed);
    news[i].setReadmitted(plan.readmitted);
  }
  auto scheduled = out.initScheduled(static_cast<unsigned>(in.scheduled.size()));
  for (unsigned i = 0; i < in.scheduled.size(); ++i) {
    const scheduled_request_plan& plan = in.scheduled[i];
    scheduled[i].setRequestId(plan.id.value);
    scheduled[i].setNumComputedTokens(plan.num_computed_tokens);
    scheduled[i].setNumNewTokens(plan.num_new_tokens);
    write_ints(scheduled[i].initNewBlockIds(static_cast<unsigned>(plan.new_block_ids.size())),
               plan.new_block_ids);
    scheduled[i].setSamples(plan.samples);
  }
  write_ids(out.initPreempted(static_cast<unsigned>(in.preempted.size())), in.preempted);
  write_ids(out.initFinished(static_cast<unsigned>(in.finished.size())), in.finished);
}

void write_step_result(schema::StepResult::Builder out, const step_result& in) {
  out.setStepId(in.step_id);
  auto sampled = out.initSampled(static_cast<unsigned>(in.sampled.size()));
  for (unsigned i = 0; i < in.sampled.size(); ++i) {
    sampled[i].setRequestId(in.sampled[i].id.value);
    write_sample_result(sampled[i].initResult(), in.sampled[i].result);
  }
}

void write_body(schema::Envelope::Body::Builder out, const body& message) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, join_request>)
          write(out.initJoinRequest(), m);
        else if constexpr (std::is_same_v<T, join_reply>)
          write(out.initJoinReply(), m);
        else if constexpr (std::is_same_v<T, heartbeat>)
          write(out.initHeartbeat(), m);
        else if constexpr (std::is_same_v<T, assign_replica>)
          write(out.initAssignReplica(), m);
        else if constexpr (std::is_same_v<T, replica_status>)
          write(out.initReplicaStatus(), m);
        else if constexpr (std::is_same_v<T, generate>)
          write(out.initGenerate(), m);
        else if constexpr (std::is_same_v<T, abort_requests>)
          write(out.initAbortRequests(), m);
        else if constexpr (std::is_same_v<T, replica_outputs>)
          write(out.initReplicaOutputs(), m);
        else if constexpr (std::is_same_v<T, step_plan>)
          write_step_plan(out.initStepPlan(), m);
        else if constexpr (std::is_same_v<T, step_result>)
          write_step_result(out.initStepResult(), m);
        else
          static_assert(sizeof(T) == 0, "every body alternative needs a writer");
      },
      message);
}

}  // namespace troupe::wire::codec_detail
