# troupe's control messages on the wire: one Envelope per UCX active message.
#
# Versioning rules (protocol/README.md):
#   - Field ordinals (@N) and enumerant ordinals NEVER change and are never reused. A field that is
#     no longer needed stays in the schema (renamed obsoleteX if need be).
#   - New fields and new union members are added at the end, with the next free ordinal.
#   - A change old readers cannot understand (a new meaning for an existing field, a new required
#     field, a new Envelope body member that old readers would drop) bumps
#     troupe::wire::protocol_version in protocol/messages.hpp; decode rejects other versions.
#
# The C++ side never sees these readers: protocol/codec.hpp converts to the structs of
# protocol/messages.hpp and engine/step_plan.hpp. No field has a schema default: the encoder always
# writes every field, so a reader sees exactly what the sender had.
@0xcd1f96222a560fc0;

$import "/capnp/c++.capnp".namespace("troupe::wire_schema");

# ---------------------------------------------------------------------------------------------
# Enums (out-of-range values from a newer or broken peer are rejected by decode).

enum DeviceKind {
  cpu @0;
  cuda @1;
}

enum ReplicaState {
  loading @0;
  ready @1;
  failed @2;
  stopped @3;
}

enum FinishKind {
  none @0;
  stop @1;
  length @2;
  abort @3;
  error @4;
}

# ---------------------------------------------------------------------------------------------
# Sampling (engine/sampling/sampling_params.hpp, engine/sampling/sampler.hpp).

struct TokenBias {
  token @0 :Int32;
  bias @1 :Float32;
}

struct SamplingParams {
  temperature @0 :Float32;
  topP @1 :Float32;
  topK @2 :Int32;
  minP @3 :Float32;
  repetitionPenalty @4 :Float32;
  presencePenalty @5 :Float32;
  frequencyPenalty @6 :Float32;
  logitBias @7 :List(TokenBias);
  hasSeed @8 :Bool;           # false: the engine draws a seed (seed is then 0 and ignored)
  seed @9 :UInt64;
  logprobs @10 :Int32;        # -1: none; 0..20
  maxTokens @11 :Int32;
  stop @12 :List(Text);
  stopTokenIds @13 :List(Int32);
  ignoreEos @14 :Bool;
}

struct TokenLogprob {
  token @0 :Int32;
  logprob @1 :Float32;
}

struct SampleResult {
  token @0 :Int32;
  logprob @1 :Float32;        # NaN when no logprobs were asked for
  topLogprobs @2 :List(TokenLogprob);
}

# ---------------------------------------------------------------------------------------------
# Leader <-> worker (engine/step_plan.hpp).

struct NewRequestPlan {
  requestId @0 :UInt64;
  promptTokenIds @1 :List(Int32);
  sampling @2 :SamplingParams;
  seed @3 :UInt64;
  readmitted @4 :Bool;
}

struct ScheduledRequestPlan {
  requestId @0 :UInt64;
  numComputedTokens @1 :Int32;
  numNewTokens @2 :Int32;
  newBlockIds @3 :List(Int32);
  samples @4 :Bool;
}

struct StepPlan {
  stepId @0 :UInt64;
  newRequests @1 :List(NewRequestPlan);
  scheduled @2 :List(ScheduledRequestPlan);
  preempted @3 :List(UInt64);
  finished @4 :List(UInt64);
}

struct SampledToken {
  requestId @0 :UInt64;
  result @1 :SampleResult;
}

struct StepResult {
  stepId @0 :UInt64;
  sampled @1 :List(SampledToken);
}

# ---------------------------------------------------------------------------------------------
# Node <-> coordinator.

struct DeviceInfo {
  name @0 :Text;
  kind @1 :DeviceKind;
  memoryBytes @2 :UInt64;
  numThreads @3 :Int32;
}

struct JoinRequest {
  nodeName @0 :Text;
  transportAddress @1 :Text;
  pid @2 :Int32;
  devices @3 :List(DeviceInfo);
}

struct JoinReply {
  accepted @0 :Bool;
  error @1 :Text;
  heartbeatIntervalMs @2 :UInt32;
}

struct Heartbeat {
  nodeName @0 :Text;
  sequence @1 :UInt64;
}

struct ModelSpec {
  name @0 :Text;
  path @1 :Text;
  dtype @2 :Text;
  maxModelLen @3 :Int32;
  blockSize @4 :Int32;
  kvCacheBytes @5 :UInt64;
  maxNumSeqs @6 :Int32;
  maxNumBatchedTokens @7 :Int32;
}

struct AssignReplica {
  replicaName @0 :Text;
  model @1 :ModelSpec;
  deviceNames @2 :List(Text);
}

struct ReplicaStatus {
  replicaName @0 :Text;
  nodeName @1 :Text;
  leaderActor @2 :Text;
  state @3 :ReplicaState;
  message @4 :Text;
  numKvBlocks @5 :Int64;
  maxModelLen @6 :Int32;
}

# ---------------------------------------------------------------------------------------------
# Router <-> replica leader.

struct Generate {
  requestId @0 :UInt64;
  promptTokenIds @1 :List(Int32);
  sampling @2 :SamplingParams;
  priority @3 :Int32;
}

struct AbortRequests {
  requestIds @0 :List(UInt64);
}

struct RequestDelta {
  requestId @0 :UInt64;
  newTokenIds @1 :List(Int32);
  newText @2 :Text;
  newLogprobs @3 :List(SampleResult);
  finished @4 :FinishKind;
  stopReason @5 :Text;
  numPromptTokens @6 :Int32;
  numCachedPromptTokens @7 :Int32;
}

struct ReplicaOutputs {
  replicaName @0 :Text;
  numRunning @1 :Int32;
  numWaiting @2 :Int32;
  numFreeKvBlocks @3 :Int64;
  deltas @4 :List(RequestDelta);
}

# ---------------------------------------------------------------------------------------------
# The one root type.

struct Envelope {
  version @0 :UInt32;         # troupe::wire::protocol_version of the sender
  source @1 :Text;            # full actor name of the sender
  target @2 :Text;            # full actor name of the receiver
  body :union {
    joinRequest @3 :JoinRequest;
    joinReply @4 :JoinReply;
    heartbeat @5 :Heartbeat;
    assignReplica @6 :AssignReplica;
    replicaStatus @7 :ReplicaStatus;
    generate @8 :Generate;
    abortRequests @9 :AbortRequests;
    replicaOutputs @10 :ReplicaOutputs;
    stepPlan @11 :StepPlan;
    stepResult @12 :StepResult;
  }
}
