// The control messages troupe processes exchange, as plain C++ structs. On the wire each one is
// the body of a Cap'n Proto Envelope (protocol/schema/*.capnp); protocol/codec.hpp converts.
// Actors only ever see these structs, never Cap'n Proto readers.
//
// Who sends what (issue 3: tp=1, pp=1):
//   node  -> coordinator   join_request, heartbeat
//   coordinator -> node    join_reply, assign_replica
//   leader -> coordinator  replica_status
//   router -> leader       generate, abort_requests
//   leader -> router       replica_outputs
//   leader <-> worker      step_plan, step_result (engine/step_plan.hpp)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/sampling/sampling_params.hpp"
#include "engine/step_plan.hpp"

namespace troupe::wire {

// Bumped whenever a message changes incompatibly; checked in the transport's Hello.
inline constexpr std::uint32_t protocol_version = 1;

enum class device_kind : std::uint8_t { cpu, cuda };

struct device_info {
  std::string name;  // "cpu:0", "cuda:3": unique within its node
  device_kind kind = device_kind::cpu;
  std::uint64_t memory_bytes = 0;  // usable memory of the device (host RAM share for cpu)
  std::int32_t num_threads = 0;    // cpu: threads the worker uses; cuda: 0
};

struct join_request {
  std::string node_name;
  std::string transport_address;  // "host:port" of this node's UCX listener
  std::int32_t pid = 0;
  std::vector<device_info> devices;
};

struct join_reply {
  bool accepted = false;
  std::string error;                     // why not, when !accepted
  std::uint32_t heartbeat_interval_ms = 0;
};

struct heartbeat {
  std::string node_name;
  std::uint64_t sequence = 0;
};

// Everything a node needs to start one replica (tp=1, pp=1 in issue 3: one device).
struct model_spec {
  std::string name;          // served model name (the `model` field of API requests)
  std::string path;          // checkpoint directory on the node
  std::string dtype;         // "float32", "bfloat16", "float16", "auto"
  std::int32_t max_model_len = 0;          // 0 = what the model and the KV cache allow
  std::int32_t block_size = 16;
  std::uint64_t kv_cache_bytes = 0;
  std::int32_t max_num_seqs = 0;
  std::int32_t max_num_batched_tokens = 0;
};

struct assign_replica {
  std::string replica_name;              // "demo#0"
  model_spec model;
  std::vector<std::string> device_names; // devices of this node, rank order
};

enum class replica_state : std::uint8_t { loading, ready, failed, stopped };

struct replica_status {
  std::string replica_name;
  std::string node_name;
  std::string leader_actor;   // full actor name of the replica leader ("node0/leader/demo#0")
  replica_state state = replica_state::loading;
  std::string message;        // progress ("loading weights 3/12") or the error when failed
  std::int64_t num_kv_blocks = 0;
  std::int32_t max_model_len = 0;
};

struct generate {
  std::uint64_t request_id = 0;  // chosen by the router, unique in the cluster
  std::vector<token_id> prompt_token_ids;
  sampling_params sampling;
  std::int32_t priority = 0;
};

struct abort_requests {
  std::vector<std::uint64_t> request_ids;
};

enum class finish_kind : std::uint8_t { none, stop, length, abort, error };

struct request_delta {
  std::uint64_t request_id = 0;
  std::vector<token_id> new_token_ids;
  std::string new_text;
  std::vector<sample_result> new_logprobs;  // one per new token when logprobs were asked for
  finish_kind finished = finish_kind::none;
  std::string stop_reason;  // stop string or "token:<id>"; the error message when finished == error
  std::int32_t num_prompt_tokens = 0;
  std::int32_t num_cached_prompt_tokens = 0;
};

// One message per replica step (or per rejection): all requests that progressed, plus the load
// the router balances on.
struct replica_outputs {
  std::string replica_name;
  std::int32_t num_running = 0;
  std::int32_t num_waiting = 0;
  std::int64_t num_free_kv_blocks = 0;
  std::vector<request_delta> deltas;
};

using body = std::variant<join_request, join_reply, heartbeat, assign_replica, replica_status, generate,
                          abort_requests, replica_outputs, step_plan, step_result>;

struct envelope {
  std::uint32_t version = protocol_version;
  std::string source;  // full actor name of the sender ("node0/leader/demo#0")
  std::string target;  // full actor name of the receiver ("head/router")
  body message;
};

}  // namespace troupe::wire
