// Small UCX helpers shared by the transport's files: owned handles, status conversion, socket
// addresses, endpoint descriptions. Everything here is internal to transport/.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>

#include <ucp/api/ucp.h>

#include "engine/common/result.hpp"

namespace troupe::transport_detail {

// The UCX context, shared by the transport and every memory_region it allocated (a region may
// outlive its transport; the context is cleaned up when the last owner goes).
using shared_context = std::shared_ptr<std::remove_pointer_t<ucp_context_h>>;

// ucp_init with UCP_FEATURE_AM | RMA | WAKEUP; `tls` (UCX_TLS) applied through ucp_config_modify
// when not empty. Errors name the UCX status and the TLS value.
result<shared_context> create_context(const std::string& tls);

// A UCX status as a troupe error: "<what>: <ucs_status_string>".
error ucx_error(errc code, const std::string& what, ucs_status_t status);

// "host:port" parsed and resolved (numeric or by name) into a socket address.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};
result<socket_address> resolve_address(const std::string& host, std::uint16_t port);
result<socket_address> parse_address(const std::string& address);
// "host:port" of a socket address (numeric host).
std::string format_address(const sockaddr* address);

// What ucp_ep_print_info writes for `ep` (lanes and transports), one string.
std::string endpoint_info(ucp_ep_h ep);

// UCX_TLS must let ucp_listener work: it needs tcp (DEPENDENCIES.md). Returns an error naming the
// value when it cannot.
status check_tls_has_tcp(const std::string& tls);

}  // namespace troupe::transport_detail
