#include "transport/ucx_util.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string_view>

namespace troupe::transport_detail {

result<shared_context> create_context(const std::string& tls) {
  ucp_config_t* config = nullptr;
  ucs_status_t status = ucp_config_read(nullptr, nullptr, &config);
  if (status != UCS_OK) return ucx_error(errc::unavailable, "ucp_config_read failed", status);
  if (!tls.empty()) {
    status = ucp_config_modify(config, "TLS", tls.c_str());
    if (status != UCS_OK) {
      ucp_config_release(config);
      return ucx_error(errc::invalid_argument, fmt::format("UCX_TLS value '{}' was refused", tls), status);
    }
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_RMA | UCP_FEATURE_WAKEUP;
  // Regions are mapped and unmapped from caller threads while the progress thread uses the worker.
  params.mt_workers_shared = 1;
  ucp_context_h context = nullptr;
  status = ucp_init(&params, config, &context);
  ucp_config_release(config);
  if (status != UCS_OK) {
    return ucx_error(errc::unavailable, fmt::format("ucp_init failed (UCX_TLS '{}')", tls), status);
  }
  return shared_context(context, [](ucp_context_h c) { ucp_cleanup(c); });
}

error ucx_error(errc code, const std::string& what, ucs_status_t status) {
  return error{code, fmt::format("{}: {}", what, ucs_status_string(status))};
}

result<socket_address> resolve_address(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return make_error(errc::invalid_argument, "cannot resolve host '{}': {}", host, gai_strerror(rc));
  }
  socket_address out;
  std::memcpy(&out.storage, found->ai_addr, found->ai_addrlen);
  out.length = found->ai_addrlen;
  freeaddrinfo(found);
  return out;
}

result<socket_address> parse_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return make_error(errc::invalid_argument, "address '{}' is not host:port", address);
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = address.substr(colon + 1);
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port == 0 || port > 65535 || port_text.front() == '-' || port_text.front() == '+') {
    return make_error(errc::invalid_argument, "address '{}' has an invalid port '{}' (1..65535)", address, port_text);
  }
  return resolve_address(host, static_cast<std::uint16_t>(port));
}

std::string format_address(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return fmt::format("{}:{}", host, port);
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return fmt::format("[{}]:{}", host, port);
  }
  return "<unknown address family>";
}

std::string endpoint_info(ucp_ep_h ep) {
  char* text = nullptr;
  std::size_t size = 0;
  FILE* stream = open_memstream(&text, &size);
  if (stream == nullptr) return "<open_memstream failed>";
  ucp_ep_print_info(ep, stream);
  std::fclose(stream);
  std::string out(text, size);
  std::free(text);
  return out;
}

status check_tls_has_tcp(const std::string& tls) {
  if (tls.empty()) return ok();  // UCX's default selection includes tcp
  const bool excludes = tls.front() == '^';
  bool names_tcp = false;
  bool names_all = false;
  std::string_view rest = excludes ? std::string_view(tls).substr(1) : std::string_view(tls);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    names_tcp = names_tcp || item == "tcp";
    names_all = names_all || item == "all";
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (excludes ? names_tcp : !(names_tcp || names_all)) {
    return make_error(errc::invalid_argument,
                      "UCX_TLS '{}' leaves out tcp, which the listener needs (e.g. 'sm,self,tcp')", tls);
  }
  return ok();
}

}  // namespace troupe::transport_detail
