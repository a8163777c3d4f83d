// One-sided get/put over the bulk endpoint, with a per-peer cache of unpacked remote keys.
#include "transport/ucx_transport.hpp"

namespace troupe::transport_detail {
namespace {

constexpr std::size_t max_packed_rkey_bytes = 4096;

void rma_done_trampoline(void*, ucs_status_t status, void* user_data) {
  auto* op = static_cast<rma_op*>(user_data);
  op->self->on_rma_done(op, status);
}

// Checks the caller's request before anything is queued; errors name the range and the region.
status check_range(const char* verb, const remote_region& remote, std::uint64_t remote_offset,
                   std::size_t size_bytes) {
  if (remote.packed_rkey.empty() || remote.packed_rkey.size() > max_packed_rkey_bytes) {
    return make_error(errc::invalid_argument, "{}: the remote region's packed rkey is {} bytes (expected 1..{})", verb,
                      remote.packed_rkey.size(), max_packed_rkey_bytes);
  }
  if (remote_offset > remote.size_bytes || size_bytes > remote.size_bytes - remote_offset) {
    return make_error(errc::invalid_argument,
                      "{} of {} bytes at offset {} is outside the remote region of {} bytes", verb, size_bytes,
                      remote_offset, remote.size_bytes);
  }
  if (remote.address > UINT64_MAX - remote.size_bytes) {
    return make_error(errc::invalid_argument, "{}: remote region at {:#x} of {} bytes wraps the address space", verb,
                      remote.address, remote.size_bytes);
  }
  return ok();
}

std::future<status> ready_future(status outcome) {
  std::promise<status> promise;
  promise.set_value(std::move(outcome));
  return promise.get_future();
}

}  // namespace

std::future<status> ucx_transport::get(const std::string& peer, const remote_region& remote,
                                       std::uint64_t remote_offset, std::span<std::byte> local) {
  if (status checked = check_range("get", remote, remote_offset, local.size()); !checked) return ready_future(checked);
  if (!is_connected(peer)) return ready_future(make_error(errc::unavailable, "get: peer {} is not connected", peer));
  if (local.empty()) return ready_future(ok());
  auto* op = new rma_op;
  op->self = this;
  op->peer = peer;
  op->packed_rkey = remote.packed_rkey;
  op->remote_address = remote.address + remote_offset;
  op->local = local.data();
  op->size_bytes = local.size();
  std::future<status> outcome = op->promise.get_future();
  submit([this, op] { start_rma(op); });
  return outcome;
}

std::future<status> ucx_transport::put(const std::string& peer, const remote_region& remote,
                                       std::uint64_t remote_offset, std::span<const std::byte> local) {
  if (status checked = check_range("put", remote, remote_offset, local.size()); !checked) return ready_future(checked);
  if (!is_connected(peer)) return ready_future(make_error(errc::unavailable, "put: peer {} is not connected", peer));
  if (local.empty()) return ready_future(ok());
  auto* op = new rma_op;
  op->self = this;
  op->is_put = true;
  op->peer = peer;
  op->packed_rkey = remote.packed_rkey;
  op->remote_address = remote.address + remote_offset;
  op->local = const_cast<std::byte*>(local.data());  // only read: ucp_put_nbx takes const void*
  op->size_bytes = local.size();
  std::future<status> outcome = op->promise.get_future();
  submit([this, op] { start_rma(op); });
  return outcome;
}

// Posts the get, or the put followed by a flush of the bulk endpoint (the put's own completion
// only means the local buffer may be reused). The op's promise resolves when the last request
// completes; finish_rma deletes the op.
void ucx_transport::start_rma(rma_op* op) {
  auto found = links_by_name_.find(op->peer);
  if (found == links_by_name_.end() || found->second->state != link_state::connected || !found->second->bulk) {
    finish_rma(op, make_error(errc::unavailable, "{}: peer {} is not connected", op->is_put ? "put" : "get", op->peer));
    return;
  }
  peer_link& link = *found->second;
  result<ucp_rkey_h> rkey = rkey_for(link, op->packed_rkey);
  if (!rkey) {
    finish_rma(op, std::move(rkey).error());
    return;
  }
  log_endpoints_once(link);
  op->link = found->second;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  param.cb.send = rma_done_trampoline;
  param.user_data = op;
  void* request = nullptr;
  if (op->is_put) {
    ucp_request_param_t put_param{};
    void* put_request = ucp_put_nbx(link.bulk, op->local, op->size_bytes, op->remote_address, *rkey, &put_param);
    if (UCS_PTR_IS_ERR(put_request)) {
      finish_rma(op, ucx_error(errc::unavailable, fmt::format("put to {} failed", op->peer), UCS_PTR_STATUS(put_request)));
      return;
    }
    if (put_request != nullptr) ucp_request_free(put_request);  // the flush below tracks completion
    request = ucp_ep_flush_nbx(link.bulk, &param);
  } else {
    request = ucp_get_nbx(link.bulk, op->local, op->size_bytes, op->remote_address, *rkey, &param);
  }
  if (UCS_PTR_IS_PTR(request)) {
    op->request = request;
    link.pending_rma.insert(op);
    outstanding_.insert(op);
  } else {
    on_rma_done(op, UCS_PTR_STATUS(request));
  }
}

void ucx_transport::on_rma_done(rma_op* op, ucs_status_t status) {
  if (op->request != nullptr) ucp_request_free(op->request);
  if (op->link != nullptr) op->link->pending_rma.erase(op);
  outstanding_.erase(op);
  finish_rma(op, status == UCS_OK ? ok()
                                  : ucx_error(errc::unavailable,
                                              fmt::format("{} of {} bytes with {} failed", op->is_put ? "put" : "get",
                                                          op->size_bytes, op->peer),
                                              status));
}

void ucx_transport::finish_rma(rma_op* op, status outcome) {
  op->resolve(std::move(outcome));
  delete op;
}

result<ucp_rkey_h> ucx_transport::rkey_for(peer_link& link, const std::vector<std::byte>& packed) {
  // Keyed by a string copy of the bytes (a vector<std::byte> key trips GCC 12's -Wstringop-overread).
  std::string key(reinterpret_cast<const char*>(packed.data()), packed.size());
  auto found = link.rkeys.find(key);
  if (found != link.rkeys.end()) return found->second;
  ucp_rkey_h rkey = nullptr;
  const ucs_status_t status = ucp_ep_rkey_unpack(link.bulk, packed.data(), &rkey);
  if (status != UCS_OK) {
    return ucx_error(errc::invalid_argument,
                     fmt::format("cannot unpack the {}-byte remote key for peer {}", packed.size(), link.name), status);
  }
  link.rkeys.emplace(std::move(key), rkey);
  return rkey;
}

void ucx_transport::destroy_rkeys(peer_link& link) {
  for (const auto& [packed, rkey] : link.rkeys) ucp_rkey_destroy(rkey);
  link.rkeys.clear();
}

}  // namespace troupe::transport_detail
