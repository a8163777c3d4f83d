// Listener, connect, Hello handshake, active messages and endpoint failures (progress thread,
// except connect/send/disconnect, which queue work for it).
#include <chrono>
#include <cstdio>

#include "transport/ucx_transport.hpp"

namespace troupe::transport_detail {
namespace {

void connection_request_trampoline(ucp_conn_request_h request, void* arg) {
  static_cast<ucx_transport*>(arg)->on_connection_request(request);
}

void endpoint_error_trampoline(void* arg, ucp_ep_h ep, ucs_status_t status) {
  static_cast<ucx_transport*>(arg)->on_endpoint_error(ep, status);
}

void send_done_trampoline(void*, ucs_status_t, void* user_data) {
  auto* ctx = static_cast<send_ctx*>(user_data);
  ctx->self->on_send_done(ctx);
}

void rendezvous_done_trampoline(void*, ucs_status_t status, std::size_t, void* user_data) {
  auto* ctx = static_cast<rendezvous_ctx*>(user_data);
  ctx->self->on_rendezvous_done(ctx, status);
}

ucp_ep_params_t control_endpoint_params(void* arg) {
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  params.err_handler.cb = endpoint_error_trampoline;
  params.err_handler.arg = arg;
  return params;
}

ucp_ep_h reply_endpoint(const ucp_am_recv_param_t* param) {
  return (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) != 0 ? param->reply_ep : nullptr;
}

}  // namespace

status ucx_transport::create_listener() {
  TROUPE_ASSIGN_OR_RETURN(socket_address address, resolve_address(options_.listen_host, options_.listen_port));
  ucp_listener_params_t params{};
  params.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER;
  params.sockaddr.addr = address.get();
  params.sockaddr.addrlen = address.length;
  params.conn_handler.cb = connection_request_trampoline;
  params.conn_handler.arg = this;
  ucs_status_t status = ucp_listener_create(worker_, &params, &listener_);
  if (status != UCS_OK) {
    return ucx_error(errc::unavailable,
                     fmt::format("cannot listen on {}:{} (UCX_TLS must include tcp)", options_.listen_host,
                                 options_.listen_port),
                     status);
  }
  ucp_listener_attr_t attr{};
  attr.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR;
  status = ucp_listener_query(listener_, &attr);
  if (status != UCS_OK) return ucx_error(errc::internal, "ucp_listener_query failed", status);
  listen_address_ = format_address(reinterpret_cast<const sockaddr*>(&attr.sockaddr));
  return ok();
}

result<std::string> ucx_transport::connect(const std::string& address) {
  if (on_progress_thread()) {
    return make_error(errc::internal, "connect({}) called from a transport callback; it would deadlock", address);
  }
  TROUPE_ASSIGN_OR_RETURN(socket_address resolved, parse_address(address));
  auto promise = std::make_shared<std::promise<result<std::string>>>();
  std::future<result<std::string>> outcome = promise->get_future();
  submit([this, address, resolved, promise] { start_connect(address, resolved, promise); });
  if (outcome.wait_for(std::chrono::milliseconds(options_.connect_timeout_ms)) == std::future_status::ready) {
    return outcome.get();
  }
  submit([this, promise] {
    for (const auto& [ep, link] : links_by_ep_) {
      if (link->connect_promise == promise) {
        close_link(link, "connect() timed out", false, true);
        return;
      }
    }
  });
  return make_error(errc::timeout, "connecting to {} timed out after {} ms (no handshake reply)", address,
                    options_.connect_timeout_ms);
}

void ucx_transport::start_connect(const std::string& address, const socket_address& resolved,
                                  std::shared_ptr<std::promise<result<std::string>>> promise) {
  ucp_ep_params_t params = control_endpoint_params(this);
  params.field_mask |= UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR;
  params.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
  params.sockaddr.addr = resolved.get();
  params.sockaddr.addrlen = resolved.length;
  ucp_ep_h ep = nullptr;
  const ucs_status_t status = ucp_ep_create(worker_, &params, &ep);
  if (status != UCS_OK) {
    promise->set_value(ucx_error(errc::unavailable, fmt::format("cannot connect to {}", address), status));
    return;
  }
  auto link = std::make_shared<peer_link>();
  link->control = ep;
  link->initiator = true;
  link->address = address;
  link->connect_promise = std::move(promise);
  links_by_ep_[ep] = link;
  send_handshake(*link, hello{.protocol_version = options_.protocol_version,
                              .process_name = options_.process_name,
                              .worker_address = worker_address_});
}

void ucx_transport::on_connection_request(ucp_conn_request_h request) { connection_requests_.push_back(request); }

void ucx_transport::accept_connection_requests() {
  for (ucp_conn_request_h request : connection_requests_) {
    ucp_conn_request_attr_t attr{};
    attr.field_mask = UCP_CONN_REQUEST_ATTR_FIELD_CLIENT_ADDR;
    const bool known = ucp_conn_request_query(request, &attr) == UCS_OK;
    ucp_ep_params_t params = control_endpoint_params(this);
    params.field_mask |= UCP_EP_PARAM_FIELD_CONN_REQUEST;
    params.conn_request = request;
    ucp_ep_h ep = nullptr;
    const ucs_status_t status = ucp_ep_create(worker_, &params, &ep);
    const std::string address =
        known ? format_address(reinterpret_cast<const sockaddr*>(&attr.client_address)) : "<unknown>";
    if (status != UCS_OK) {
      fmt::print(stderr, "troupe transport {}: cannot accept a connection from {}: {}\n", options_.process_name,
                 address, ucs_status_string(status));
      continue;
    }
    auto link = std::make_shared<peer_link>();
    link->control = ep;
    link->address = address;
    links_by_ep_[ep] = link;
  }
  connection_requests_.clear();
}

void ucx_transport::on_endpoint_error(ucp_ep_h ep, ucs_status_t status) { failed_endpoints_.emplace_back(ep, status); }

void ucx_transport::handle_failed_endpoints() {
  std::vector<std::pair<ucp_ep_h, ucs_status_t>> failed;
  failed.swap(failed_endpoints_);
  for (const auto& [ep, status] : failed) {
    std::shared_ptr<peer_link> link = find_link(ep);
    if (link == nullptr) continue;  // already closed
    std::string reason;
    if (link->state == link_state::handshaking && link->initiator) {
      reason = fmt::format("cannot connect to {}: {}", link->address, ucs_status_string(status));
    } else {
      reason = fmt::format("connection to peer {} ({}) failed: {}", link->name.empty() ? "<unnamed>" : link->name,
                           link->address, ucs_status_string(status));
    }
    close_link(link, reason, true, true);
  }
}

ucs_status_t ucx_transport::on_handshake_am(void* data, std::size_t length, const ucp_am_recv_param_t* param) {
  std::shared_ptr<peer_link> link = find_link(reply_endpoint(param));
  if (link == nullptr || (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0 ||
      length > max_worker_address_bytes + 4 * max_reason_bytes) {
    num_dropped_messages_.fetch_add(1);
    return UCS_OK;
  }
  const aligned_buffer copy = aligned_buffer::copy_of({static_cast<const std::byte*>(data), length});
  result<handshake> decoded = decode_handshake(copy.bytes());
  if (!decoded) {
    close_link(link, fmt::format("bad handshake from {}: {}", link->address, decoded.error().message), true, true);
    return UCS_OK;
  }
  if (const auto* message = std::get_if<hello>(&*decoded)) {
    handle_hello(link, *message);
  } else {
    handle_reply(link, std::get<hello_reply>(*decoded));
  }
  return UCS_OK;
}

void ucx_transport::handle_hello(const std::shared_ptr<peer_link>& link, const hello& message) {
  if (link->initiator || link->state != link_state::handshaking || link->rejected) {
    close_link(link, fmt::format("unexpected Hello from {}", link->address), true, true);
    return;
  }
  link->name = message.process_name;
  if (message.protocol_version != options_.protocol_version) {
    reject(link, fmt::format("peer {} speaks protocol {}, this process ({}) speaks {}", message.process_name,
                             message.protocol_version, options_.process_name, options_.protocol_version));
    return;
  }
  if (message.process_name == options_.process_name || links_by_name_.contains(message.process_name)) {
    reject(link, fmt::format("a peer named {} is already connected to {}", message.process_name,
                             options_.process_name));
    return;
  }
  if (status opened = open_bulk_endpoint(*link, message.worker_address); !opened) {
    reject(link, opened.error().message);
    return;
  }
  send_handshake(*link, hello_reply{.accepted = true,
                                    .protocol_version = options_.protocol_version,
                                    .process_name = options_.process_name,
                                    .worker_address = worker_address_});
  mark_connected(link);
}

// The initiator closes after reading the rejection; this side closes when it sees that.
void ucx_transport::reject(const std::shared_ptr<peer_link>& link, const std::string& reason) {
  fmt::print(stderr, "troupe transport {}: refused {} ({}): {}\n", options_.process_name, link->name, link->address,
             reason);
  link->rejected = true;
  send_handshake(*link, hello_reply{.accepted = false,
                                    .protocol_version = options_.protocol_version,
                                    .process_name = options_.process_name,
                                    .reason = reason});
}

void ucx_transport::handle_reply(const std::shared_ptr<peer_link>& link, const hello_reply& message) {
  if (!link->initiator || link->state != link_state::handshaking) {
    close_link(link, fmt::format("unexpected HelloReply from {}", link->address), true, true);
    return;
  }
  std::string failure;
  errc code = errc::unavailable;
  if (message.protocol_version != options_.protocol_version) {
    code = errc::unsupported;
    failure = fmt::format("peer {} at {} speaks protocol {}, this process speaks {}", message.process_name,
                          link->address, message.protocol_version, options_.protocol_version);
  } else if (!message.accepted) {
    failure = fmt::format("{} ({}) refused the connection: {}", link->address, message.process_name, message.reason);
  } else if (message.process_name == options_.process_name || links_by_name_.contains(message.process_name)) {
    code = errc::invalid_argument;
    failure = fmt::format("{} is named {}, and a peer of that name is already connected to {}", link->address,
                          message.process_name, options_.process_name);
  } else if (status opened = open_bulk_endpoint(*link, message.worker_address); !opened) {
    failure = opened.error().message;
  }
  if (!failure.empty()) {
    resolve_connect(*link, error{code, failure});
    close_link(link, failure, false, true);
    return;
  }
  link->name = message.process_name;
  mark_connected(link);
  resolve_connect(*link, link->name);
}

status ucx_transport::open_bulk_endpoint(peer_link& link, const std::vector<std::byte>& worker_address) {
  if (worker_address.empty()) return make_error(errc::parse_error, "peer {} sent no worker address", link.address);
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE;
  params.address = reinterpret_cast<const ucp_address_t*>(worker_address.data());
  params.err_mode = UCP_ERR_HANDLING_MODE_NONE;  // lets UCX pick shared memory (DEPENDENCIES.md)
  const ucs_status_t status = ucp_ep_create(worker_, &params, &link.bulk);
  if (status != UCS_OK) {
    link.bulk = nullptr;
    return ucx_error(errc::unavailable, fmt::format("cannot open the bulk endpoint to {}", link.address), status);
  }
  return ok();
}

void ucx_transport::mark_connected(const std::shared_ptr<peer_link>& link) {
  link->state = link_state::connected;
  links_by_name_[link->name] = link;
  const std::string description = fmt::format("control endpoint (peer error mode):\n{}bulk endpoint (no error "
                                              "handling):\n{}",
                                              endpoint_info(link->control), endpoint_info(link->bulk));
  {
    std::lock_guard lock(peers_mutex_);
    connected_peers_.insert(link->name);
    peer_descriptions_[link->name] = description;
  }
  if (callbacks_.on_peer_connected) callbacks_.on_peer_connected(link->name);
}

void ucx_transport::log_endpoints_once(peer_link& link) {
  if (!options_.log_endpoints || link.logged_endpoints) return;
  link.logged_endpoints = true;
  fmt::print(stderr, "troupe transport {}: endpoints to {} ({}):\ncontrol:\n{}bulk:\n{}", options_.process_name,
             link.name, link.address, endpoint_info(link.control), endpoint_info(link.bulk));
}

void ucx_transport::resolve_connect(peer_link& link, result<std::string> outcome) {
  if (link.connect_promise == nullptr) return;
  link.connect_promise->set_value(std::move(outcome));
  link.connect_promise.reset();
}

void ucx_transport::send_handshake(peer_link& link, const handshake& message) {
  post_am(link.control, handshake_am_id, encode_handshake(message));
}

// Posts an AM whose payload `bytes` stays owned by a send_ctx until UCX completes the send.
// A failed post means the endpoint failed; its error callback reports that.
void ucx_transport::post_am(ucp_ep_h ep, unsigned am_id, aligned_buffer bytes) {
  auto ctx = std::make_unique<send_ctx>();
  ctx->self = this;
  ctx->bytes = std::move(bytes);
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  param.cb.send = send_done_trampoline;
  param.user_data = ctx.get();
  param.flags = UCP_AM_SEND_FLAG_REPLY;
  void* request = ucp_am_send_nbx(ep, am_id, nullptr, 0, ctx->bytes.data(), ctx->bytes.size_bytes(), &param);
  if (UCS_PTR_IS_PTR(request)) {
    ctx->request = request;
    outstanding_.insert(ctx.release());
  }
}

void ucx_transport::on_send_done(send_ctx* ctx) {
  if (ctx->request != nullptr) ucp_request_free(ctx->request);
  outstanding_.erase(ctx);
  delete ctx;
}

status ucx_transport::send(const std::string& peer, std::span<const std::byte> bytes) {
  if (!is_connected(peer)) return make_error(errc::unavailable, "peer {} is not connected", peer);
  auto buffer = std::make_shared<aligned_buffer>(aligned_buffer::copy_of(bytes));
  submit([this, peer, buffer] { send_message(peer, std::move(*buffer)); });
  return ok();
}

void ucx_transport::send_message(const std::string& peer, aligned_buffer bytes) {
  auto found = links_by_name_.find(peer);
  if (found == links_by_name_.end() || found->second->state != link_state::connected) return;  // failed meanwhile
  post_am(found->second->control, message_am_id, std::move(bytes));
}

ucs_status_t ucx_transport::on_message_am(void* data, std::size_t length, const ucp_am_recv_param_t* param) {
  std::shared_ptr<peer_link> link = find_link(reply_endpoint(param));
  if (link == nullptr || link->state != link_state::connected) {
    num_dropped_messages_.fetch_add(1);
    return UCS_OK;
  }
  if (length > options_.max_message_bytes) {
    num_dropped_messages_.fetch_add(1);
    if (!logged_oversized_) {
      logged_oversized_ = true;
      fmt::print(stderr, "troupe transport {}: dropped a {}-byte message from {}, over max_message_bytes {} "
                         "(logged once; see num_dropped_messages())\n",
                 options_.process_name, length, link->name, options_.max_message_bytes);
    }
    return UCS_OK;
  }
  const bool rendezvous = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  if (!rendezvous && link->inbound.empty() && reinterpret_cast<std::uintptr_t>(data) % 8 == 0) {
    if (callbacks_.on_message) callbacks_.on_message(link->name, {static_cast<const std::byte*>(data), length});
    return UCS_OK;
  }
  auto message = std::make_shared<inbound_message>();
  link->inbound.push_back(message);
  if (rendezvous) {
    message->bytes = aligned_buffer::with_size(length);
    rendezvous_to_start_.push_back({link, message, data});
    return UCS_INPROGRESS;
  }
  message->bytes = aligned_buffer::copy_of({static_cast<const std::byte*>(data), length});
  message->ready = true;
  deliver_ready(*link);
  return UCS_OK;
}

void ucx_transport::start_rendezvous_receives() {
  std::vector<pending_rendezvous> pending;
  pending.swap(rendezvous_to_start_);
  for (auto& item : pending) {
    if (item.link->state != link_state::connected) {
      ucp_am_data_release(worker_, item.descriptor);
      continue;
    }
    auto ctx = std::make_unique<rendezvous_ctx>();
    ctx->self = this;
    ctx->link = item.link;
    ctx->message = item.message;
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    param.cb.recv_am = rendezvous_done_trampoline;
    param.user_data = ctx.get();
    void* request = ucp_am_recv_data_nbx(worker_, item.descriptor, item.message->bytes.data(),
                                         item.message->bytes.size_bytes(), &param);
    if (UCS_PTR_IS_PTR(request)) {
      ctx->request = request;
      outstanding_.insert(ctx.release());
    } else {
      on_rendezvous_done(ctx.get(), UCS_PTR_STATUS(request));
    }
  }
}

// Completes a rendezvous receive; `ctx` is either in outstanding_ (deleted here) or owned by the
// caller (a receive that completed at once).
void ucx_transport::on_rendezvous_done(rendezvous_ctx* ctx, ucs_status_t status) {
  ctx->message->ready = true;
  ctx->message->failed = status != UCS_OK;
  if (status != UCS_OK) num_dropped_messages_.fetch_add(1);
  if (ctx->link->state == link_state::connected) deliver_ready(*ctx->link);
  if (ctx->request != nullptr) {
    ucp_request_free(ctx->request);
    outstanding_.erase(ctx);
    delete ctx;
  }
}

// Delivers messages from the front of the link's queue while they are complete, keeping send order.
void ucx_transport::deliver_ready(peer_link& link) {
  while (!link.inbound.empty() && link.inbound.front()->ready) {
    std::shared_ptr<inbound_message> message = std::move(link.inbound.front());
    link.inbound.pop_front();
    if (!message->failed && callbacks_.on_message) callbacks_.on_message(link.name, message->bytes.bytes());
  }
}

void ucx_transport::disconnect(const std::string& peer) {
  {
    std::lock_guard lock(peers_mutex_);
    connected_peers_.erase(peer);
  }
  submit([this, peer] {
    auto found = links_by_name_.find(peer);
    if (found != links_by_name_.end()) close_link(found->second, "disconnected", false, false);
  });
}

// `link` is taken by value: the caller's shared_ptr may be the one erased from links_by_name_ here.
void ucx_transport::close_link(std::shared_ptr<peer_link> link, const std::string& reason, bool notify, bool force) {
  if (link->state == link_state::closed) return;
  const bool was_connected = link->state == link_state::connected;
  link->state = link_state::closed;
  links_by_ep_.erase(link->control);
  auto named = links_by_name_.find(link->name);
  if (named != links_by_name_.end() && named->second == link) {
    links_by_name_.erase(named);
    std::lock_guard lock(peers_mutex_);
    connected_peers_.erase(link->name);
    peer_descriptions_.erase(link->name);
  }
  resolve_connect(*link, error{errc::unavailable, reason});
  for (rma_op* op : link->pending_rma) op->resolve(error{errc::unavailable, reason});
  link->inbound.clear();
  if (link->bulk != nullptr) close_endpoint(link->bulk, false);  // no error handling: never forced
  link->bulk = nullptr;
  destroy_rkeys(*link);
  close_endpoint(link->control, force);
  if (notify && was_connected && callbacks_.on_peer_failed) callbacks_.on_peer_failed(link->name, reason);
}

void ucx_transport::close_endpoint(ucp_ep_h ep, bool force) {
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = force ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  void* request = ucp_ep_close_nbx(ep, &param);
  if (UCS_PTR_IS_PTR(request)) close_requests_.push_back(request);
}

std::shared_ptr<peer_link> ucx_transport::find_link(ucp_ep_h ep) const {
  auto found = links_by_ep_.find(ep);
  return found == links_by_ep_.end() ? nullptr : found->second;
}

}  // namespace troupe::transport_detail
