// The router actor ("head/router"): admission and dispatch (ARCHITECTURE.md section 2). Each
// model has a bounded number of requests in the cluster (queued or running); beyond it a request
// is refused at once (HTTP 429), and with no ready replica it is refused as unavailable (503).
// Admitted requests go to the model's deployment, which picks the replica.
//
// Messages:
//   (register_atom, model, caf::actor deployment)   set up by the head
//   (submit_atom, submission_ptr) -> (int32 errc_or_minus_one, std::string message)
//        -1 = admitted; otherwise the troupe::errc (as int) and why
//   (cancel_atom, model, request_id)                 client went away: abort it
//   (ready_atom, model, num_ready, max_model_len)    from the deployment
//   (done_atom, model, num_finished)                 from the deployment
#pragma once

#include <cstdint>

#include "actors/messages.hpp"

namespace troupe::actors {

struct router_options {
  std::int64_t max_queued_requests = 1024;  // per model: requests admitted and not finished
};

caf::actor spawn_router(caf::actor_system& system, router_options options);

inline constexpr std::int32_t admitted_code = -1;

}  // namespace troupe::actors
