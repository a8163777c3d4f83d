#include "transport/hello_codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "schema/hello.capnp.h"

namespace troupe::transport_detail {
namespace {

namespace schema = troupe::transport_schema;

capnp::Data::Reader as_data(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const capnp::byte*>(bytes.data()), bytes.size()};
}

std::vector<std::byte> to_bytes(capnp::Data::Reader data) {
  const auto* first = reinterpret_cast<const std::byte*>(data.begin());
  return {first, first + data.size()};
}

aligned_buffer to_buffer(capnp::MessageBuilder& builder) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return aligned_buffer::copy_of({reinterpret_cast<const std::byte*>(bytes.begin()), bytes.size()});
}

result<std::string> read_text(capnp::Text::Reader text, std::string_view field, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return make_error(errc::parse_error, "handshake field {} is {} bytes, more than the limit of {}", field,
                      text.size(), max_bytes);
  }
  return std::string(text.cStr(), text.size());
}

result<std::vector<std::byte>> read_address(capnp::Data::Reader data, std::string_view field) {
  if (data.size() > max_worker_address_bytes) {
    return make_error(errc::parse_error, "handshake field {} is {} bytes, more than the limit of {}", field,
                      data.size(), max_worker_address_bytes);
  }
  return to_bytes(data);
}

result<handshake> decode_hello(schema::Hello::Reader reader) {
  hello message{.protocol_version = reader.getProtocolVersion()};
  TROUPE_ASSIGN_OR_RETURN(message.process_name,
                          read_text(reader.getProcessName(), "hello.processName", max_process_name_bytes));
  TROUPE_ASSIGN_OR_RETURN(message.worker_address, read_address(reader.getWorkerAddress(), "hello.workerAddress"));
  if (message.process_name.empty()) return make_error(errc::parse_error, "handshake hello has an empty processName");
  return handshake{std::move(message)};
}

result<handshake> decode_reply(schema::HelloReply::Reader reader) {
  hello_reply message{.accepted = reader.getAccepted(), .protocol_version = reader.getProtocolVersion()};
  TROUPE_ASSIGN_OR_RETURN(message.process_name,
                          read_text(reader.getProcessName(), "reply.processName", max_process_name_bytes));
  TROUPE_ASSIGN_OR_RETURN(message.worker_address, read_address(reader.getWorkerAddress(), "reply.workerAddress"));
  TROUPE_ASSIGN_OR_RETURN(message.reason, read_text(reader.getReason(), "reply.reason", max_reason_bytes));
  if (message.accepted && (message.process_name.empty() || message.worker_address.empty())) {
    return make_error(errc::parse_error, "handshake reply accepts but lacks the processName or workerAddress");
  }
  return handshake{std::move(message)};
}

}  // namespace

aligned_buffer encode_handshake(const handshake& message) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::Handshake>();
  if (const auto* h = std::get_if<hello>(&message)) {
    auto out = root.initHello();
    out.setProtocolVersion(h->protocol_version);
    out.setProcessName(h->process_name);
    out.setWorkerAddress(as_data(h->worker_address));
  } else {
    const auto& r = std::get<hello_reply>(message);
    auto out = root.initReply();
    out.setAccepted(r.accepted);
    out.setProtocolVersion(r.protocol_version);
    out.setProcessName(r.process_name);
    out.setWorkerAddress(as_data(r.worker_address));
    out.setReason(r.reason);
  }
  return to_buffer(builder);
}

result<handshake> decode_handshake(std::span<const std::byte> bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0 || reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0) {
    return make_error(errc::parse_error, "handshake message of {} bytes is not a whole number of aligned words",
                      bytes.size());
  }
  kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(bytes.data()),
                                        bytes.size() / sizeof(capnp::word));
  capnp::ReaderOptions options;
  options.traversalLimitInWords = (max_worker_address_bytes + 4 * max_reason_bytes) / 8 + 64;
  options.nestingLimit = 8;
  result<handshake> decoded = make_error(errc::internal, "handshake not decoded");
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader reader(words, options);
    auto root = reader.getRoot<schema::Handshake>();
    switch (root.which()) {
      case schema::Handshake::HELLO: decoded = decode_hello(root.getHello()); break;
      case schema::Handshake::REPLY: decoded = decode_reply(root.getReply()); break;
      default: decoded = make_error(errc::parse_error, "handshake message has an unknown kind"); break;
    }
  });
  KJ_IF_MAYBE(exception, failure) {
    return make_error(errc::parse_error, "malformed handshake message: {}", exception->getDescription().cStr());
  }
  return decoded;
}

}  // namespace troupe::transport_detail
