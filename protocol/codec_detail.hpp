// Internals of codec.cpp shared by its translation units: the per-message writers and readers.
// Readers validate as they copy; an error names the field relative to the reader's struct
// ("scheduled[2].num_new_tokens ...") and callers prefix their own field name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <capnp/any.h>
#include <capnp/list.h>
#include <fmt/format.h>

#include "engine/common/result.hpp"
#include "protocol/messages.hpp"
#include "protocol/schema/troupe.capnp.h"

namespace troupe::wire::codec_detail {

namespace schema = troupe::wire_schema;

// Writers: one per message; `out` is the freshly initialised builder of that message.
void write_body(schema::Envelope::Body::Builder out, const body& message);
void write_sampling_params(schema::SamplingParams::Builder out, const sampling_params& in);
void write_sample_result(schema::SampleResult::Builder out, const sample_result& in);
void write_step_plan(schema::StepPlan::Builder out, const step_plan& in);
void write_step_result(schema::StepResult::Builder out, const step_result& in);

// Readers of the engine types (decode_engine.cpp).
result<sampling_params> read_sampling_params(schema::SamplingParams::Reader in);
result<sample_result> read_sample_result(schema::SampleResult::Reader in);
result<step_plan> read_step_plan(schema::StepPlan::Reader in);
result<step_result> read_step_result(schema::StepResult::Reader in);

// Readers of the cluster messages (decode_messages.cpp).
result<body> read_body(schema::Envelope::Body::Reader in);

// Number of enumerants of each schema enum; the C++ enums of messages.hpp have the same values
// (static_asserts in codec.cpp).
inline constexpr std::uint16_t num_device_kinds =
    static_cast<std::uint16_t>(schema::DeviceKind::CUDA) + 1;
inline constexpr std::uint16_t num_replica_states =
    static_cast<std::uint16_t>(schema::ReplicaState::STOPPED) + 1;
inline constexpr std::uint16_t num_finish_kinds =
    static_cast<std::uint16_t>(schema::FinishKind::ERROR) + 1;

// ---- helpers for the readers --------------------------------------------------------------

// Prepends `prefix` to the error's message: "scheduled[2]." + "num_new_tokens must be ...".
inline error in_field(error failure, std::string_view prefix) {
  failure.message.insert(0, prefix);
  return failure;
}

template <class... Args>
error invalid_field(fmt::format_string<Args...> format, Args&&... args) {
  return make_error(errc::parse_error, format, std::forward<Args>(args)...);
}

// Text of any length the message allows (messages, generated text).
inline std::string read_text(capnp::Text::Reader in) {
  return std::string(in.cStr(), in.size());
}

// A name (actor, node, replica, device): non-empty and at most max_name_bytes.
result<std::string> read_name(capnp::Text::Reader in, std::string_view field);

// Token ids: each >= 0.
result<std::vector<token_id>> read_token_ids(capnp::List<std::int32_t>::Reader in,
                                             std::string_view field);

std::vector<std::uint64_t> read_u64_list(capnp::List<std::uint64_t>::Reader in);

// Every struct our schema defines has at least one data word or pointer, so a list whose elements
// take no space was forged to multiply a few bytes into millions of C++ objects: rejected.
template <class Reader>
status check_struct_list(Reader list, std::string_view field) {
  if (list.size() == 0) return ok();
  capnp::AnyStruct::Reader first = list[0];
  if (first.getDataSection().size() == 0 && first.getPointerSection().size() == 0) {
    return invalid_field("{} is a list of {} zero-sized elements", field, list.size());
  }
  return ok();
}

// Enumerants arrive as raw numbers: an unknown one (a newer peer) is an error, not a new value.
template <class Enum>
result<std::uint16_t> check_enum(Enum value, std::uint16_t num_values, std::string_view field) {
  const auto raw = static_cast<std::uint16_t>(value);
  if (raw >= num_values) {
    return invalid_field("{} has unknown enum value {} (known: 0..{})", field, raw, num_values - 1);
  }
  return raw;
}

// Reads each element of a struct list with `read_one`, prefixing errors with "field[i].".
template <class T, class ListReader, class ReadOne>
result<std::vector<T>> read_struct_list(ListReader in, std::string_view field, ReadOne read_one) {
  TROUPE_RETURN_IF_ERROR(check_struct_list(in, field));
  std::vector<T> out;
  out.reserve(in.size());
  for (unsigned i = 0; i < in.size(); ++i) {
    auto element = read_one(in[i]);
    if (!element) return in_field(std::move(element).error(), fmt::format("{}[{}].", field, i));
    out.push_back(std::move(element).value());
  }
  return out;
}

inline status check_non_negative(std::int64_t value, std::string_view field) {
  if (value < 0) return invalid_field("{} must be >= 0, got {}", field, value);
  return ok();
}

}  // namespace troupe::wire::codec_detail
