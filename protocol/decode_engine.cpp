// Readers of the engine types that travel on the wire: sampling parameters, sample results,
// step plans and step results (engine/step_plan.hpp). Each checks ranges as it copies.
#include <cmath>
#include <limits>

#include "protocol/codec_detail.hpp"

namespace troupe::wire::codec_detail {
namespace {

std::vector<request_id> read_ids(capnp::List<std::uint64_t>::Reader in) {
  std::vector<request_id> out;
  out.reserve(in.size());
  for (std::uint64_t id : in) out.emplace_back(id);
  return out;
}

result<std::vector<std::pair<token_id, float>>> read_logit_bias(
    capnp::List<schema::TokenBias>::Reader in) {
  TROUPE_RETURN_IF_ERROR(check_struct_list(in, "logit_bias"));
  std::vector<std::pair<token_id, float>> out;
  out.reserve(in.size());
  for (auto entry : in) out.emplace_back(entry.getToken(), entry.getBias());
  return out;
}

std::vector<std::string> read_stop_strings(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> out;
  out.reserve(in.size());
  for (auto text : in) out.push_back(read_text(text));
  return out;
}

result<new_request_plan> read_new_request(schema::NewRequestPlan::Reader in) {
  new_request_plan out{
      .id = request_id{in.getRequestId()}, .seed = in.getSeed(), .readmitted = in.getReadmitted()};
  TROUPE_ASSIGN_OR_RETURN(out.prompt_token_ids,
                          read_token_ids(in.getPromptTokenIds(), "prompt_token_ids"));
  auto sampling = read_sampling_params(in.getSampling());
  if (!sampling) return in_field(std::move(sampling).error(), "sampling.");
  out.sampling = std::move(sampling).value();
  return out;
}

result<scheduled_request_plan> read_scheduled(schema::ScheduledRequestPlan::Reader in) {
  scheduled_request_plan out{.id = request_id{in.getRequestId()},
                             .num_computed_tokens = in.getNumComputedTokens(),
                             .num_new_tokens = in.getNumNewTokens(),
                             .samples = in.getSamples()};
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_computed_tokens, "num_computed_tokens"));
  TROUPE_RETURN_IF_ERROR(check_non_negative(out.num_new_tokens, "num_new_tokens"));
  auto blocks = in.getNewBlockIds();
  out.new_block_ids.reserve(blocks.size());
  for (unsigned i = 0; i < blocks.size(); ++i) {
    if (blocks[i] < 0) return invalid_field("new_block_ids[{}] must be >= 0, got {}", i, blocks[i]);
    out.new_block_ids.push_back(blocks[i]);
  }
  return out;
}

}  // namespace

result<sampling_params> read_sampling_params(schema::SamplingParams::Reader in) {
  sampling_params out{.temperature = in.getTemperature(),
                      .top_p = in.getTopP(),
                      .top_k = in.getTopK(),
                      .min_p = in.getMinP(),
                      .repetition_penalty = in.getRepetitionPenalty(),
                      .presence_penalty = in.getPresencePenalty(),
                      .frequency_penalty = in.getFrequencyPenalty(),
                      .logprobs = in.getLogprobs(),
                      .max_tokens = in.getMaxTokens(),
                      .ignore_eos = in.getIgnoreEos()};
  if (in.getHasSeed()) out.seed = in.getSeed();
  TROUPE_ASSIGN_OR_RETURN(out.logit_bias, read_logit_bias(in.getLogitBias()));
  out.stop = read_stop_strings(in.getStop());
  TROUPE_ASSIGN_OR_RETURN(out.stop_token_ids,
                          read_token_ids(in.getStopTokenIds(), "stop_token_ids"));
  // The engine's own range checks, without the vocabulary (unknown here): the same rules and
  // messages the API applies, so a peer cannot smuggle in what a client could not send.
  status valid = out.validate(std::numeric_limits<std::int32_t>::max());
  if (!valid) return invalid_field("{}", valid.error().message);
  return out;
}

result<sample_result> read_sample_result(schema::SampleResult::Reader in) {
  sample_result out{.token = in.getToken(), .logprob = in.getLogprob()};
  if (out.token < 0) return invalid_field("token must be >= 0, got {}", out.token);
  if (std::isinf(out.logprob) && out.logprob > 0) return invalid_field("logprob must not be +inf");
  auto top = in.getTopLogprobs();
  TROUPE_RETURN_IF_ERROR(check_struct_list(top, "top_logprobs"));
  if (top.size() > static_cast<unsigned>(max_num_top_logprobs)) {
    return invalid_field("top_logprobs has {} entries, more than {}", top.size(),
                         max_num_top_logprobs);
  }
  if (std::isnan(out.logprob) && top.size() != 0) {
    return invalid_field("top_logprobs has {} entries but logprob is NaN (no logprobs asked for)",
                         top.size());
  }
  out.top_logprobs.reserve(top.size());
  for (unsigned i = 0; i < top.size(); ++i) {
    token_logprob entry{.token = top[i].getToken(), .logprob = top[i].getLogprob()};
    if (entry.token < 0)
      return invalid_field("top_logprobs[{}].token must be >= 0, got {}", i, entry.token);
    if (std::isnan(entry.logprob) || (std::isinf(entry.logprob) && entry.logprob > 0)) {
      return invalid_field("top_logprobs[{}].logprob must be a number below +inf, got {}", i,
                           entry.logprob);
    }
    out.top_logprobs.push_back(entry);
  }
  return out;
}

result<step_plan> read_step_plan(schema::StepPlan::Reader in) {
  step_plan out{.step_id = in.getStepId()};
  TROUPE_ASSIGN_OR_RETURN(
      out.new_requests,
      read_struct_list<new_request_plan>(in.getNewRequests(), "new_requests", read_new_request));
  TROUPE_ASSIGN_OR_RETURN(out.scheduled, read_struct_list<scheduled_request_plan>(
                                             in.getScheduled(), "scheduled", read_scheduled));
  out.preempted = read_ids(in.getPreempted());
  out.finished = read_ids(in.getFinished());
  return out;
}

result<step_result> read_step_result(schema::StepResult::Reader in) {
  step_result out{.step_id = in.getStepId()};
  auto read_sampled = [](schema::SampledToken::Reader token) -> result<sampled_token> {
    auto sample = read_sample_result(token.getResult());
    if (!sample) return in_field(std::move(sample).error(), "result.");
    return sampled_token{.id = request_id{token.getRequestId()},
                         .result = std::move(sample).value()};
  };
  TROUPE_ASSIGN_OR_RETURN(
      out.sampled, read_struct_list<sampled_token>(in.getSampled(), "sampled", read_sampled));
  return out;
}

}  // namespace troupe::wire::codec_detail
