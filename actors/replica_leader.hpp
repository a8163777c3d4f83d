// The replica leader actor ("<node>/leader/<replica>"): the continuous-batching step loop of one
// replica (ARCHITECTURE.md section 2). It owns the replica's engine_core (requests, scheduler, KV
// block table, detokenizing) and drives its worker: each step it sends the plan, applies the
// sampled tokens, streams the deltas to the model's deployment on the head, and plans the next
// step at once while work remains (one step in flight: tp=1, pp=1 in this issue).
//
//   loading --worker loaded, core created--> ready --step error--> failed
//      |                                                   ^
//      +--------------- load error -------------------------+
//
// Messages:
//   envelope generate (deployment)         -> queued in the core; error delta if it cannot run
//   envelope abort_requests (deployment)   -> the core aborts them (deltas with finish abort)
//   replies of the worker (load, step)
// Status reports (replica_status) go to head/coordinator: loading, ready, failed.
#pragma once

#include <string>
#include <vector>

#include "actors/messages.hpp"

namespace troupe::actors {

struct replica_leader_options {
  std::string node_name;
  std::string replica_name;
  wire::model_spec model;
  std::vector<std::string> device_names;  // one in this issue (tp=1, pp=1)
  std::int32_t num_threads = 0;           // CPU threads of the worker
  caf::actor gateway;
};

caf::actor spawn_replica_leader(caf::actor_system& system, replica_leader_options options);

inline std::string leader_local_name(const std::string& replica) { return "leader/" + replica; }

}  // namespace troupe::actors
