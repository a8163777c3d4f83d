// Test helpers: one envelope of each message type with non-trivial contents, and field-by-field
// comparisons (floats compared bit for bit, so NaN logprobs must survive the round trip).
#pragma once

#include <vector>

#include "protocol/messages.hpp"

namespace troupe::wire::testing {

join_request sample_join_request();
join_reply sample_join_reply();
heartbeat sample_heartbeat();
assign_replica sample_assign_replica();
replica_status sample_replica_status();
generate sample_generate();
abort_requests sample_abort_requests();
replica_outputs sample_replica_outputs();
step_plan sample_step_plan();
step_result sample_step_result();

envelope make_envelope(body message);

// One envelope per alternative of wire::body, in variant order.
std::vector<envelope> sample_envelopes();

// Adds a GoogleTest failure naming the first differing field (recursively, every field).
void expect_same(const envelope& expected, const envelope& actual);

}  // namespace troupe::wire::testing
