// The transport on UCX (transport.hpp has the contract). Split over three files:
//   ucx_transport.cpp        creation, the progress thread and its queue, shutdown
//   ucx_transport_peers.cpp  listener, connect, Hello handshake, messages, endpoint failures
//   ucx_transport_rma.cpp    memory regions, get/put, rkey cache
//
// Threads: every ucp_worker/ucp_ep call happens on the progress thread (UCS_THREAD_MODE_SINGLE).
// Public methods queue a closure (queue_ + eventfd) and, where they return a result, wait on a
// future. Members below "progress thread only" are touched by that thread alone.
//
// Peer link lifecycle (one per control endpoint):
//
//   connect() ----> handshaking --Hello/HelloReply ok--> connected --ep error--> (closed,
//   conn request -/      |                                   |                 on_peer_failed)
//                        +--rejected / error / timeout--> (closed)           disconnect() --> (closed)
#pragma once

#include <sys/types.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "transport/aligned_buffer.hpp"
#include "transport/hello_codec.hpp"
#include "transport/transport.hpp"
#include "transport/ucx_util.hpp"

namespace troupe::transport_detail {

inline constexpr unsigned handshake_am_id = 1;  // Cap'n Proto Handshake (schema/hello.capnp)
inline constexpr unsigned message_am_id = 2;    // opaque bytes from send(); no AM header

class ucx_transport;
struct peer_link;

// State for one UCX request, owned by the transport until its completion callback runs
// (ucx_transport::outstanding_). Requests still pending at shutdown are cancelled.
struct request_ctx {
  virtual ~request_ctx() = default;
  ucx_transport* self = nullptr;
  void* request = nullptr;  // the UCX request handle, once the operation is in flight
};

struct send_ctx final : request_ctx {
  aligned_buffer bytes;  // the AM payload, alive until the send completes
};

struct inbound_message;
struct rendezvous_ctx final : request_ctx {
  std::shared_ptr<peer_link> link;
  std::shared_ptr<inbound_message> message;
};

// One get or put. The promise is resolved exactly once (`resolved`): by the completion callback,
// or earlier when the peer fails or the transport shuts down.
struct rma_op final : request_ctx {
  bool is_put = false;
  std::string peer;
  std::vector<std::byte> packed_rkey;
  std::uint64_t remote_address = 0;
  void* local = nullptr;
  std::size_t size_bytes = 0;
  std::promise<status> promise;
  bool resolved = false;
  std::shared_ptr<peer_link> link;

  void resolve(status outcome) {
    if (resolved) return;
    resolved = true;
    promise.set_value(std::move(outcome));
  }
};

// An inbound message in arrival order; rendezvous ones become ready when their data has landed.
struct inbound_message {
  aligned_buffer bytes;
  bool ready = false;
  bool failed = false;  // the rendezvous receive failed; skipped on delivery
};

enum class link_state { handshaking, connected, closed };

struct peer_link {
  ucp_ep_h control = nullptr;  // PEER error mode; AMs
  ucp_ep_h bulk = nullptr;     // NONE error mode; RMA only
  link_state state = link_state::handshaking;
  bool initiator = false;       // this side called connect()
  bool rejected = false;        // acceptor sent a rejection; waits for the initiator to close
  bool logged_endpoints = false;
  std::string address;          // remote "host:port" (initiator: what connect() was given)
  std::string name;             // the peer's process name, once known
  std::shared_ptr<std::promise<result<std::string>>> connect_promise;  // initiator, until resolved
  std::deque<std::shared_ptr<inbound_message>> inbound;
  std::unordered_map<std::string, ucp_rkey_h> rkeys;  // unpacked on `bulk`, by packed bytes
  std::set<rma_op*> pending_rma;
};

class ucx_transport final : public transport {
 public:
  static result<std::unique_ptr<transport>> create(const transport_options& options, transport_callbacks callbacks);
  ~ucx_transport() override;

  std::string listen_address() const override { return listen_address_; }
  result<std::string> connect(const std::string& address) override;
  bool is_connected(const std::string& peer) const override;
  status send(const std::string& peer, std::span<const std::byte> bytes) override;
  result<std::unique_ptr<memory_region>> allocate_region(std::size_t size_bytes) override;
  remote_region describe(const memory_region& region) const override;
  std::future<status> get(const std::string& peer, const remote_region& remote, std::uint64_t remote_offset,
                          std::span<std::byte> local) override;
  std::future<status> put(const std::string& peer, const remote_region& remote, std::uint64_t remote_offset,
                          std::span<const std::byte> local) override;
  void disconnect(const std::string& peer) override;
  std::string describe_peer(const std::string& peer) const override;
  std::uint64_t num_dropped_messages() const override { return num_dropped_messages_.load(); }

  // UCX callbacks (static trampolines forward here); progress thread.
  void on_connection_request(ucp_conn_request_h request);
  void on_endpoint_error(ucp_ep_h ep, ucs_status_t status);
  ucs_status_t on_handshake_am(void* data, std::size_t length, const ucp_am_recv_param_t* param);
  ucs_status_t on_message_am(void* data, std::size_t length, const ucp_am_recv_param_t* param);
  void on_send_done(send_ctx* ctx);
  void on_rendezvous_done(rendezvous_ctx* ctx, ucs_status_t status);
  void on_rma_done(rma_op* op, ucs_status_t status);

 private:
  ucx_transport(const transport_options& options, transport_callbacks callbacks, shared_context context);

  status start();                               // worker, listener, fds, thread
  void submit(std::function<void()> work);      // any thread
  void run();                                   // the progress thread
  void drain_queue();
  void wait_for_events();
  void shut_down();                             // progress thread, at the end of run()
  void reap_close_requests();
  bool on_progress_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  // ucx_transport_peers.cpp (progress thread)
  status create_listener();
  void start_connect(const std::string& address, const socket_address& resolved,
                     std::shared_ptr<std::promise<result<std::string>>> promise);
  void accept_connection_requests();
  void handle_failed_endpoints();
  void handle_hello(const std::shared_ptr<peer_link>& link, const hello& message);
  void handle_reply(const std::shared_ptr<peer_link>& link, const hello_reply& message);
  status open_bulk_endpoint(peer_link& link, const std::vector<std::byte>& worker_address);
  void mark_connected(const std::shared_ptr<peer_link>& link);
  void send_handshake(peer_link& link, const handshake& message);
  void post_am(ucp_ep_h ep, unsigned am_id, aligned_buffer bytes);
  void resolve_connect(peer_link& link, result<std::string> outcome);
  void reject(const std::shared_ptr<peer_link>& link, const std::string& reason);
  void log_endpoints_once(peer_link& link);
  void send_message(const std::string& peer, aligned_buffer bytes);
  void start_rendezvous_receives();
  void deliver_ready(peer_link& link);
  // Closes both endpoints of `link`, fails its pending work with `reason`; on_peer_failed when
  // `notify` and the link was connected.
  void close_link(std::shared_ptr<peer_link> link, const std::string& reason, bool notify, bool force);
  void close_endpoint(ucp_ep_h ep, bool force);
  std::shared_ptr<peer_link> find_link(ucp_ep_h ep) const;

  // ucx_transport_rma.cpp (progress thread)
  void start_rma(rma_op* op);
  void finish_rma(rma_op* op, status outcome);
  result<ucp_rkey_h> rkey_for(peer_link& link, const std::vector<std::byte>& packed);
  void destroy_rkeys(peer_link& link);

  const transport_options options_;
  const transport_callbacks callbacks_;
  shared_context context_;
  ucp_worker_h worker_ = nullptr;
  ucp_listener_h listener_ = nullptr;
  std::string listen_address_;
  std::vector<std::byte> worker_address_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::thread thread_;

  std::mutex queue_mutex_;
  std::deque<std::function<void()>> queue_;
  std::atomic<bool> stop_{false};

  mutable std::mutex peers_mutex_;
  std::set<std::string> connected_peers_;                   // names with a connected link
  std::map<std::string, std::string> peer_descriptions_;    // name -> endpoint_info text
  std::atomic<std::uint64_t> num_dropped_messages_{0};

  // Progress thread only.
  std::unordered_map<ucp_ep_h, std::shared_ptr<peer_link>> links_by_ep_;
  std::unordered_map<std::string, std::shared_ptr<peer_link>> links_by_name_;
  std::vector<ucp_conn_request_h> connection_requests_;
  std::vector<std::pair<ucp_ep_h, ucs_status_t>> failed_endpoints_;
  struct pending_rendezvous {
    std::shared_ptr<peer_link> link;
    std::shared_ptr<inbound_message> message;
    void* descriptor;
  };
  std::vector<pending_rendezvous> rendezvous_to_start_;
  std::vector<void*> close_requests_;
  std::set<request_ctx*> outstanding_;  // owned; deleted when their request completes
  bool logged_oversized_ = false;
};

}  // namespace troupe::transport_detail
