#include "transport/hello_codec.hpp"

#include <gtest/gtest.h>

namespace troupe::transport_detail {
namespace {

TEST(hello_codec, round_trips_a_hello_and_a_reply) {
  const hello sent{.protocol_version = 3, .process_name = "node1", .worker_address = {std::byte{1}, std::byte{2}}};
  auto decoded = decode_handshake(encode_handshake(sent).bytes());
  ASSERT_TRUE(decoded) << decoded.error().message;
  const auto& got = std::get<hello>(*decoded);
  EXPECT_EQ(got.protocol_version, 3u);
  EXPECT_EQ(got.process_name, "node1");
  EXPECT_EQ(got.worker_address, sent.worker_address);

  const hello_reply refusal{.accepted = false, .protocol_version = 1, .process_name = "head", .reason = "no"};
  auto reply = decode_handshake(encode_handshake(refusal).bytes());
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_FALSE(std::get<hello_reply>(*reply).accepted);
  EXPECT_EQ(std::get<hello_reply>(*reply).reason, "no");
}

TEST(hello_codec, rejects_truncated_and_garbage_buffers_with_an_error) {
  const aligned_buffer whole = encode_handshake(hello{.protocol_version = 1, .process_name = "node1"});
  const aligned_buffer truncated = aligned_buffer::copy_of(whole.bytes().first(whole.size_bytes() - 8));
  auto decoded = decode_handshake(truncated.bytes());
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, errc::parse_error);

  aligned_buffer garbage = aligned_buffer::with_size(64);
  for (std::size_t i = 0; i < 64; ++i) garbage.data()[i] = std::byte(0xff - i);
  EXPECT_FALSE(decode_handshake(garbage.bytes()));
  EXPECT_FALSE(decode_handshake(garbage.bytes().first(13)));  // not whole words
  EXPECT_FALSE(decode_handshake({}));
}

TEST(hello_codec, rejects_a_hello_without_a_process_name) {
  auto decoded = decode_handshake(encode_handshake(hello{.protocol_version = 1}).bytes());
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("processName"), std::string::npos);
}

TEST(hello_codec, rejects_an_oversized_process_name) {
  auto decoded = decode_handshake(encode_handshake(hello{.protocol_version = 1, .process_name = std::string(300, 'n')}).bytes());
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("limit"), std::string::npos);
}

}  // namespace
}  // namespace troupe::transport_detail
