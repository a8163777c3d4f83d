// The worker actor of one device ("<node>/worker/<device>", e.g. "node0/worker/cpu:0"): holds the
// device's model_runner (weights, KV memory) and executes step plans on it. It blocks while it
// loads or computes, so it runs detached on its own thread.
//
// Messages (requests; replies carry an error string, empty on success):
//   (load_atom, model_runner_options)  -> (std::string error, worker_ready)
//   (step_atom, step_plan_ptr)         -> (std::string error, step_result_ptr)
#pragma once

#include <string>

#include "actors/messages.hpp"
#include "engine/model_runner.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::model_runner_options)

namespace troupe::actors {

caf::actor spawn_worker(caf::actor_system& system, std::string device_name);

inline std::string worker_local_name(const std::string& device) { return "worker/" + device; }

}  // namespace troupe::actors
