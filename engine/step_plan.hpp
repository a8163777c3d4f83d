// What a replica leader sends to the workers of its replica each step, and what the sampling
// worker sends back. The leader owns scheduling and the KV block table; the workers own the
// weights, the KV memory and a cache of per-request state (token ids, block table, sampling
// parameters) that the plan updates by deltas (vLLM v1 style): a request's prompt and sampling
// parameters travel once, afterwards only what changed.
//
//   leader                                   worker
//   schedule() -> step_plan  ------------->  execute(plan): apply deltas, forward, sample
//   update(step_result)      <-------------  step_result: one sampled token per sampling request
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/sampling/sampling_params.hpp"

namespace troupe {

// A request the workers have not seen, or one that was preempted and is readmitted (the workers
// dropped its block table when it was preempted; token ids they keep). Sent once per admission.
struct new_request_plan {
  request_id id;
  std::vector<token_id> prompt_token_ids;  // empty on readmission (the worker still has them)
  sampling_params sampling;                // only on first admission (ignored on readmission)
  std::uint64_t seed = 0;                  // the request's seed (drawn by the leader when unset)
  bool readmitted = false;
};

// One request computed this step: tokens [num_computed_tokens, num_computed_tokens + num_new_tokens)
// of its token ids. new_block_ids are appended to the worker's block table for it (the whole table
// for a new or readmitted request, prefix-cache hits included).
struct scheduled_request_plan {
  request_id id;
  std::int32_t num_computed_tokens = 0;
  std::int32_t num_new_tokens = 0;
  std::vector<std::int32_t> new_block_ids;
  bool samples = false;  // reaches the end of its tokens: the sampling worker samples its next token
};

struct step_plan {
  std::uint64_t step_id = 0;
  std::vector<new_request_plan> new_requests;        // before `scheduled` is applied
  std::vector<scheduled_request_plan> scheduled;     // batch order
  std::vector<request_id> preempted;                 // drop block tables (keep token ids)
  std::vector<request_id> finished;                  // finished or aborted since the last plan: forget
};

struct sampled_token {
  request_id id;
  sample_result result;
};

struct step_result {
  std::uint64_t step_id = 0;
  std::vector<sampled_token> sampled;  // in the order of the plan's scheduled requests that sample
};

}  // namespace troupe
