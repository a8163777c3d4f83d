#include "transport/ucx_transport.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "transport/ucx_memory_region.hpp"

namespace troupe {

result<std::unique_ptr<transport>> transport::create(const transport_options& options,
                                                     transport_callbacks callbacks) {
  return transport_detail::ucx_transport::create(options, std::move(callbacks));
}

namespace transport_detail {
namespace {

constexpr int idle_wait_ms = 100;                 // epoll timeout: an upper bound on shutdown latency
constexpr auto shutdown_deadline = std::chrono::seconds(2);  // for endpoint closes to complete

ucs_status_t handshake_am_trampoline(void* arg, const void*, std::size_t, void* data, std::size_t length,
                                     const ucp_am_recv_param_t* param) {
  return static_cast<ucx_transport*>(arg)->on_handshake_am(data, length, param);
}

ucs_status_t message_am_trampoline(void* arg, const void*, std::size_t, void* data, std::size_t length,
                                   const ucp_am_recv_param_t* param) {
  return static_cast<ucx_transport*>(arg)->on_message_am(data, length, param);
}

status set_am_handler(ucp_worker_h worker, unsigned id, ucp_am_recv_callback_t callback, void* arg) {
  ucp_am_handler_param_t param{};
  param.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                     UCP_AM_HANDLER_PARAM_FIELD_ARG | UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
  param.id = id;
  param.cb = callback;
  param.arg = arg;
  param.flags = UCP_AM_FLAG_WHOLE_MSG;
  const ucs_status_t status = ucp_worker_set_am_recv_handler(worker, &param);
  if (status != UCS_OK) return ucx_error(errc::internal, fmt::format("cannot set the AM handler {}", id), status);
  return ok();
}

status validate(const transport_options& options) {
  if (options.process_name.empty() || options.process_name.size() > max_process_name_bytes) {
    return make_error(errc::invalid_argument, "transport_options.process_name must be 1..{} bytes, got '{}'",
                      max_process_name_bytes, options.process_name);
  }
  if (options.max_message_bytes == 0) {
    return make_error(errc::invalid_argument, "transport_options.max_message_bytes must be positive");
  }
  if (options.connect_timeout_ms == 0) {
    return make_error(errc::invalid_argument, "transport_options.connect_timeout_ms must be positive");
  }
  return check_tls_has_tcp(options.ucx_tls);
}

}  // namespace

result<std::unique_ptr<transport>> ucx_transport::create(const transport_options& options,
                                                         transport_callbacks callbacks) {
  TROUPE_RETURN_IF_ERROR(validate(options));
  TROUPE_ASSIGN_OR_RETURN(shared_context context, create_context(options.ucx_tls));
  std::unique_ptr<ucx_transport> self(new ucx_transport(options, std::move(callbacks), std::move(context)));
  TROUPE_RETURN_IF_ERROR(self->start());
  return std::unique_ptr<transport>(std::move(self));
}

ucx_transport::ucx_transport(const transport_options& options, transport_callbacks callbacks, shared_context context)
    : options_(options), callbacks_(std::move(callbacks)), context_(std::move(context)) {}

status ucx_transport::start() {
  ucp_worker_params_t params{};
  params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  params.thread_mode = UCS_THREAD_MODE_SINGLE;
  ucs_status_t status = ucp_worker_create(context_.get(), &params, &worker_);
  if (status != UCS_OK) return ucx_error(errc::unavailable, "ucp_worker_create failed", status);

  ucp_address_t* address = nullptr;
  std::size_t address_length = 0;
  status = ucp_worker_get_address(worker_, &address, &address_length);
  if (status != UCS_OK) return ucx_error(errc::internal, "ucp_worker_get_address failed", status);
  const auto* first = reinterpret_cast<const std::byte*>(address);
  worker_address_.assign(first, first + address_length);
  ucp_worker_release_address(worker_, address);

  TROUPE_RETURN_IF_ERROR(set_am_handler(worker_, handshake_am_id, handshake_am_trampoline, this));
  TROUPE_RETURN_IF_ERROR(set_am_handler(worker_, message_am_id, message_am_trampoline, this));
  TROUPE_RETURN_IF_ERROR(create_listener());

  int worker_fd = -1;
  status = ucp_worker_get_efd(worker_, &worker_fd);
  if (status != UCS_OK) return ucx_error(errc::internal, "ucp_worker_get_efd failed", status);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (event_fd_ < 0 || epoll_fd_ < 0) {
    return make_error(errc::io_error, "cannot create the progress thread's eventfd/epoll: {}", std::strerror(errno));
  }
  for (int fd : {worker_fd, event_fd_}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      return make_error(errc::io_error, "epoll_ctl failed: {}", std::strerror(errno));
    }
  }
  thread_ = std::thread([this] { run(); });
  return ok();
}

ucx_transport::~ucx_transport() {
  if (thread_.joinable()) {
    stop_.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(event_fd_, &one, sizeof one);
    thread_.join();
  } else if (listener_ != nullptr) {  // start() failed after the listener was made
    ucp_listener_destroy(listener_);
  }
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (event_fd_ >= 0) ::close(event_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void ucx_transport::submit(std::function<void()> work) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(work));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(event_fd_, &one, sizeof one);
}

void ucx_transport::run() {
  while (!stop_.load()) {
    while (ucp_worker_progress(worker_) != 0) {
    }
    accept_connection_requests();
    handle_failed_endpoints();
    start_rendezvous_receives();
    reap_close_requests();
    drain_queue();
    if (stop_.load()) break;
    wait_for_events();
  }
  drain_queue();
  shut_down();
}

void ucx_transport::drain_queue() {
  std::deque<std::function<void()>> work;
  {
    std::lock_guard lock(queue_mutex_);
    work.swap(queue_);
  }
  for (auto& item : work) item();
}

// Sleeps until the worker or the queue has something, or idle_wait_ms pass. ucp_worker_arm
// returns UCS_ERR_BUSY while events are pending; then the loop progresses again at once.
void ucx_transport::wait_for_events() {
  {
    std::lock_guard lock(queue_mutex_);
    if (!queue_.empty()) return;
  }
  if (!connection_requests_.empty() || !failed_endpoints_.empty() || !rendezvous_to_start_.empty()) return;
  if (ucp_worker_arm(worker_) != UCS_OK) return;
  epoll_event events[2];
  const int count = epoll_wait(epoll_fd_, events, 2, idle_wait_ms);
  for (int i = 0; i < count; ++i) {
    if (events[i].data.fd == event_fd_) {
      std::uint64_t value = 0;
      [[maybe_unused]] ssize_t read_bytes = ::read(event_fd_, &value, sizeof value);
    }
  }
}

void ucx_transport::reap_close_requests() {
  std::erase_if(close_requests_, [](void* request) {
    if (ucp_request_check_status(request) == UCS_INPROGRESS) return false;
    ucp_request_free(request);
    return true;
  });
}

// Stops accepting, closes every endpoint (flushing), waits a bounded time for the closes, and
// cancels what is still in flight. Requests UCX never completes are leaked rather than freed
// under it (only possible when a peer hangs during shutdown).
void ucx_transport::shut_down() {
  for (ucp_conn_request_h request : connection_requests_) ucp_listener_reject(listener_, request);
  connection_requests_.clear();
  if (listener_ != nullptr) ucp_listener_destroy(listener_);
  listener_ = nullptr;
  std::vector<std::shared_ptr<peer_link>> links;
  for (const auto& [ep, link] : links_by_ep_) links.push_back(link);
  for (const auto& link : links) close_link(link, "the transport is shutting down", false, false);
  failed_endpoints_.clear();

  const auto deadline = std::chrono::steady_clock::now() + shutdown_deadline;
  while ((!close_requests_.empty() || !outstanding_.empty()) && std::chrono::steady_clock::now() < deadline) {
    ucp_worker_progress(worker_);
    start_rendezvous_receives();
    reap_close_requests();
    if (close_requests_.empty()) {
      for (request_ctx* ctx : std::set<request_ctx*>(outstanding_)) {
        if (ctx->request != nullptr) ucp_request_cancel(worker_, ctx->request);
      }
    }
  }
  for (request_ctx* ctx : outstanding_) {
    if (auto* op = dynamic_cast<rma_op*>(ctx)) op->resolve(make_error(errc::cancelled, "the transport shut down"));
  }
  if (!close_requests_.empty() || !outstanding_.empty()) {
    fmt::print(stderr, "troupe transport {}: {} endpoint closes and {} requests did not finish at shutdown\n",
               options_.process_name, close_requests_.size(), outstanding_.size());
  }
}

result<std::unique_ptr<memory_region>> ucx_transport::allocate_region(std::size_t size_bytes) {
  return ucx_memory_region::allocate(context_, size_bytes);
}

remote_region ucx_transport::describe(const memory_region& region) const {
  auto& mutable_region = const_cast<memory_region&>(region);  // data() is not const in the interface
  return remote_region{.address = reinterpret_cast<std::uint64_t>(mutable_region.data()),
                       .size_bytes = region.size_bytes(),
                       .packed_rkey = region.packed_rkey()};
}

bool ucx_transport::is_connected(const std::string& peer) const {
  std::lock_guard lock(peers_mutex_);
  return connected_peers_.contains(peer);
}

std::string ucx_transport::describe_peer(const std::string& peer) const {
  std::lock_guard lock(peers_mutex_);
  auto found = peer_descriptions_.find(peer);
  return found == peer_descriptions_.end() ? std::string() : found->second;
}

}  // namespace transport_detail
}  // namespace troupe
