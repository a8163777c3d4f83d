// The deployment actor of one model ("head/deployment/<model>"): its replicas (from the
// coordinator), the choice of replica for each admitted request (least loaded, replica_set), and
// the request's deltas from the replica's leader to the HTTP layer's channel.
//
// Messages:
//   replica_info / replica_gone (coordinator)  -> replica table; (ready_atom, model, n) to the router;
//                                                 a gone replica's requests fail with a clear error
//   submission_ptr (router)                     -> wire::generate to the chosen replica's leader
//   (cancel_atom, request_id) (router)          -> wire::abort_requests to its leader
//   envelope replica_outputs (leader)           -> deltas to channels; (done_atom, model, n) to the router
#pragma once

#include <string>

#include "actors/messages.hpp"

namespace troupe::actors {

struct deployment_options {
  std::string model;
  caf::actor gateway;
  caf::actor router;
};

caf::actor spawn_deployment(caf::actor_system& system, deployment_options options);

inline std::string deployment_local_name(const std::string& model) { return "deployment/" + model; }

}  // namespace troupe::actors
