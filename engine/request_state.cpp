#include "engine/request_state.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace troupe {

request_state::request_state(request_id id, sampling_params sampling, std::uint64_t seed, const tokenizer& tok)
    : id_(id), sampling_(std::move(sampling)), seed_(seed), detokenizer_(tok), stops_(sampling_.stop) {}

void request_state::on_token(const sample_result& result, const token_outcome& outcome,
                             std::span<const token_id> eos_token_ids, request_output& out) {
  const token_id token = result.token;
  out.new_token_ids.push_back(token);
  if (sampling_.logprobs >= 0) out.new_logprobs.push_back(result);

  const bool is_eos = !sampling_.ignore_eos && std::ranges::find(eos_token_ids, token) != eos_token_ids.end();
  const bool is_stop_token = std::ranges::find(sampling_.stop_token_ids, token) != sampling_.stop_token_ids.end();
  if (is_eos || is_stop_token) {
    out.stop_reason = fmt::format("token:{}", token);
    finish(finish_reason::stop, out);
    return;
  }
  stop_matcher::push_result text = stops_.push(detokenizer_.push(token));
  out.new_text += text.text;
  if (text.stopped) {
    out.stop_reason = std::move(text.matched_stop);
    out.finished = finish_reason::stop;
    return;
  }
  if (outcome.num_tokens >= outcome.max_num_tokens) finish(finish_reason::length, out);
}

// Releases the text still held back (an unfinished character at the very end is dropped by the
// detokenizer's flush, which emits only complete text).
void request_state::finish(finish_reason reason, request_output& out) {
  stop_matcher::push_result tail = stops_.push(detokenizer_.flush());
  out.new_text += tail.text;
  if (tail.stopped) {
    out.stop_reason = std::move(tail.matched_stop);
    out.finished = finish_reason::stop;
    return;
  }
  out.new_text += stops_.flush();
  out.finished = reason;
}

}  // namespace troupe
