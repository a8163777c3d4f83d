// The messages actors exchange inside one process (CAF), next to the wire messages of
// protocol/messages.hpp that cross processes through the gateway. Inter-process traffic is
// serialized by protocol/ (Cap'n Proto), never by CAF, so these types are marked as local-only
// with CAF_ALLOW_UNSAFE_MESSAGE_TYPE.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "engine/engine.hpp"
#include "engine/step_plan.hpp"
#include "protocol/messages.hpp"

namespace troupe::actors {

class delta_channel;

using envelope_ptr = std::shared_ptr<const wire::envelope>;

// A request admitted by the HTTP layer: its deltas go to `channel` (thread-safe).
struct submission {
  std::uint64_t request_id = 0;  // unique in the cluster (chosen by the completion service)
  std::string model;
  generation_request request;
  std::shared_ptr<delta_channel> channel;
};
using submission_ptr = std::shared_ptr<submission>;

// A replica as the coordinator's cluster map has it (sent to its model's deployment).
struct replica_info {
  std::string replica_name;   // "demo#0"
  std::string model;
  std::string node;
  std::string leader_actor;   // "node0/leader/demo#0"
  wire::replica_state state = wire::replica_state::loading;
  std::string message;
  std::int32_t max_model_len = 0;
};

// A replica left the map (its node died or it failed); its requests end with `reason`.
struct replica_gone {
  std::string replica_name;
  std::string reason;
};

// Leader -> worker (same process in this issue): execute one step.
using step_plan_ptr = std::shared_ptr<const step_plan>;
using step_result_ptr = std::shared_ptr<const step_result>;

// Worker -> leader: the model is loaded.
struct worker_ready {
  std::int64_t num_kv_blocks = 0;
  std::int32_t block_size = 0;
  std::size_t weight_bytes = 0;
  model_config config;
};

}  // namespace troupe::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::envelope_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::submission_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::replica_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::replica_gone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::step_plan_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::step_result_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::worker_ready)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::wire::assign_replica)

namespace troupe::actors {

// Atoms (at most 10 characters each in CAF 0.17).
using register_atom = caf::atom_constant<caf::atom("register")>;   // gateway: (name, actor)
using send_atom = caf::atom_constant<caf::atom("send")>;           // gateway: (envelope_ptr) outbound
using inbound_atom = caf::atom_constant<caf::atom("inbound")>;     // gateway: (peer, bytes) from the transport
using watch_atom = caf::atom_constant<caf::atom("watch")>;         // gateway: (actor) notify about peers
using peer_up_atom = caf::atom_constant<caf::atom("peer_up")>;     // (peer)
using peer_down_atom = caf::atom_constant<caf::atom("peer_down")>; // (peer, reason)
using tick_atom = caf::atom_constant<caf::atom("tick")>;           // periodic self-message
using submit_atom = caf::atom_constant<caf::atom("submit")>;       // (submission_ptr)
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;       // (request_id[, model])
using done_atom = caf::atom_constant<caf::atom("done")>;           // deployment -> router: (model, n)
using ready_atom = caf::atom_constant<caf::atom("ready")>;         // deployment -> router: (model, n ready)
using load_atom = caf::atom_constant<caf::atom("load")>;           // leader -> worker: load the model
using step_atom = caf::atom_constant<caf::atom("step")>;           // leader -> worker: (step_plan_ptr)
using run_atom = caf::atom_constant<caf::atom("run")>;             // leader -> self: schedule a step

}  // namespace troupe::actors
