// encode/decode of the Envelope: buffer alignment, size limits, exceptions -> errors, version.
#include "protocol/codec.hpp"

#include <array>
#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "protocol/codec_detail.hpp"

namespace troupe::wire {
namespace {

namespace schema = troupe::wire_schema;
using namespace codec_detail;

// The writers cast the C++ enums to the schema's, and the readers back.
static_assert(static_cast<int>(device_kind::cuda) == static_cast<int>(schema::DeviceKind::CUDA));
static_assert(static_cast<int>(replica_state::loading) ==
              static_cast<int>(schema::ReplicaState::LOADING));
static_assert(static_cast<int>(replica_state::ready) ==
              static_cast<int>(schema::ReplicaState::READY));
static_assert(static_cast<int>(replica_state::failed) ==
              static_cast<int>(schema::ReplicaState::FAILED));
static_assert(static_cast<int>(replica_state::stopped) ==
              static_cast<int>(schema::ReplicaState::STOPPED));
static_assert(static_cast<int>(finish_kind::none) == static_cast<int>(schema::FinishKind::NONE));
static_assert(static_cast<int>(finish_kind::stop) == static_cast<int>(schema::FinishKind::STOP));
static_assert(static_cast<int>(finish_kind::length) ==
              static_cast<int>(schema::FinishKind::LENGTH));
static_assert(static_cast<int>(finish_kind::abort) == static_cast<int>(schema::FinishKind::ABORT));
static_assert(static_cast<int>(finish_kind::error) == static_cast<int>(schema::FinishKind::ERROR));

constexpr std::array<std::string_view, 10> body_names = {
    "join_request", "join_reply",     "heartbeat",       "assign_replica", "replica_status",
    "generate",     "abort_requests", "replica_outputs", "step_plan",      "step_result"};
static_assert(std::variant_size_v<body> == body_names.size());

// Runs inside kj::runCatchingExceptions: Cap'n Proto reports malformed input by throwing.
result<envelope> decode_words(kj::ArrayPtr<const capnp::word> words, const decode_limits& limits) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits.traversal_limit_words;
  options.nestingLimit = limits.nesting_limit;
  capnp::FlatArrayMessageReader reader(words, options);
  if (reader.getEnd() != words.end()) {
    return make_error(errc::parse_error, "message has {} bytes after its last segment",
                      (words.end() - reader.getEnd()) * sizeof(capnp::word));
  }
  auto root = reader.getRoot<schema::Envelope>();
  if (root.getVersion() != protocol_version) {
    return make_error(errc::parse_error, "protocol version {}, expected {}", root.getVersion(),
                      protocol_version);
  }
  envelope out{.version = root.getVersion()};
  TROUPE_ASSIGN_OR_RETURN(out.source, read_name(root.getSource(), "source"));
  TROUPE_ASSIGN_OR_RETURN(out.target, read_name(root.getTarget(), "target"));
  TROUPE_ASSIGN_OR_RETURN(out.message, read_body(root.getBody()));
  return out;
}

}  // namespace

std::vector<std::byte> encode(const envelope& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::Envelope>();
  root.setVersion(message.version);
  root.setSource(capnp::Text::Reader(message.source.data(), message.source.size()));
  root.setTarget(capnp::Text::Reader(message.target.data(), message.target.size()));
  write_body(root.initBody(), message.message);

  std::vector<std::byte> bytes(capnp::computeSerializedSizeInWords(builder) * sizeof(capnp::word));
  kj::ArrayOutputStream stream(
      kj::arrayPtr(reinterpret_cast<kj::byte*>(bytes.data()), bytes.size()));
  capnp::writeMessage(stream, builder);
  return bytes;
}

result<envelope> decode(std::span<const std::byte> bytes, const decode_limits& limits) {
  if (bytes.size() > limits.max_message_bytes) {
    return make_error(errc::parse_error, "message is {} bytes, more than the limit of {}",
                      bytes.size(), limits.max_message_bytes);
  }
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return make_error(errc::parse_error,
                      "message is {} bytes, not a whole number of 8-byte words (truncated?)",
                      bytes.size());
  }
  // Cap'n Proto reads words in place; an unaligned buffer (a UCX receive at an odd offset) is
  // copied.
  kj::Array<capnp::word> copy;
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
    words = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()),
                         bytes.size() / sizeof(capnp::word));
  } else {
    copy = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(copy.begin(), bytes.data(), bytes.size());
    words = copy;
  }

  result<envelope> decoded = make_error(errc::internal, "message not decoded");
  kj::Maybe<kj::Exception> failure =
      kj::runCatchingExceptions([&] { decoded = decode_words(words, limits); });
  KJ_IF_MAYBE (exception, failure) {
    return make_error(errc::parse_error, "malformed message: {}",
                      exception->getDescription().cStr());
  }
  return decoded;
}

std::string_view body_name(const body& message) {
  return body_names[message.index()];
}

}  // namespace troupe::wire
