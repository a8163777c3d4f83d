// One UCX context + worker per process, driven by one progress thread that sleeps when idle
// (UCP_FEATURE_WAKEUP: epoll on the worker's event fd plus an eventfd for work queued by other
// threads). Every other thread talks to it through this thread-safe interface; callbacks run on
// the progress thread and must return quickly (the gateway actor just forwards them to CAF).
//
// Peers: a process listens on host:port (ucp_listener). connect() creates a control endpoint
// (UCP_ERR_HANDLING_MODE_PEER: failure callbacks) and performs the Hello handshake (protocol
// version, process name, UCX worker address); each side then opens a bulk endpoint to the other's
// worker address in UCP_ERR_HANDLING_MODE_NONE (shared memory / RDMA for RMA), torn down when the
// control endpoint fails. A peer is known by its process name ("head", "node0").
//
// Messages: active messages carrying opaque bytes (a Cap'n Proto message; see protocol/).
// Bulk: registered memory regions + packed remote keys; get/put complete when the bytes are at
// the destination (puts are flushed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/common/result.hpp"

namespace troupe {

struct transport_options {
  std::string process_name;          // this process's name ("head", "node0"); unique in the cluster
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;     // 0 = an ephemeral port (see transport::listen_address())
  std::string ucx_tls;               // UCX_TLS for this process; empty = UCX's default selection
  std::uint32_t protocol_version = 1;
  std::size_t max_message_bytes = 16 << 20;  // larger inbound messages are dropped with a logged error
  std::uint32_t connect_timeout_ms = 10000;
  bool log_endpoints = false;        // print each peer's UCX lanes/transports to stderr once (debug)
};

// Callbacks, all invoked on the progress thread.
struct transport_callbacks {
  // A complete inbound message from `peer`. `bytes` are 8-byte aligned and valid only during the call.
  std::function<void(const std::string& peer, std::span<const std::byte> bytes)> on_message;
  // A peer completed the handshake (either direction).
  std::function<void(const std::string& peer)> on_peer_connected;
  // The control endpoint to `peer` failed or was closed; `reason` says why. Sends to it now fail.
  std::function<void(const std::string& peer, const std::string& reason)> on_peer_failed;
};

// A registered memory region (ucp_mem_map). RAII: unmapped on destruction.
class memory_region {
 public:
  virtual ~memory_region() = default;
  virtual std::byte* data() = 0;
  virtual std::size_t size_bytes() const = 0;
  // Packed remote key for peers to access this region (send it inside a control message).
  virtual std::vector<std::byte> packed_rkey() const = 0;
};

// Where a remote region lives: what a peer needs to get/put it.
struct remote_region {
  std::uint64_t address = 0;            // remote virtual address of the first byte
  std::uint64_t size_bytes = 0;
  std::vector<std::byte> packed_rkey;
};

class transport {
 public:
  static result<std::unique_ptr<transport>> create(const transport_options& options, transport_callbacks callbacks);
  virtual ~transport() = default;  // stops the progress thread, closes endpoints, frees UCX

  // "host:port" other processes connect to.
  virtual std::string listen_address() const = 0;
  // Connects to the process listening at "host:port" and completes the handshake; returns the
  // peer's process name. Errors: unreachable, timeout, protocol version mismatch (names both).
  virtual result<std::string> connect(const std::string& address) = 0;
  virtual bool is_connected(const std::string& peer) const = 0;

  // Queues `bytes` for `peer` (copied). Fails at once when the peer is unknown or failed;
  // delivery failures afterwards surface as on_peer_failed.
  virtual status send(const std::string& peer, std::span<const std::byte> bytes) = 0;

  // Registers `size_bytes` of memory owned by the region (allocated by it), usable for RMA.
  virtual result<std::unique_ptr<memory_region>> allocate_region(std::size_t size_bytes) = 0;
  virtual remote_region describe(const memory_region& region) const = 0;
  // One-sided reads and writes over the bulk endpoint to `peer`; the future resolves when the data
  // is in place (for put: flushed to the remote memory).
  virtual std::future<status> get(const std::string& peer, const remote_region& remote, std::uint64_t remote_offset,
                                  std::span<std::byte> local) = 0;
  virtual std::future<status> put(const std::string& peer, const remote_region& remote, std::uint64_t remote_offset,
                                  std::span<const std::byte> local) = 0;

  // Closes the endpoints to `peer` (on_peer_failed is not called for it).
  virtual void disconnect(const std::string& peer) = 0;

  // Which UCX lanes and transports the endpoints to `peer` use (ucp_ep_print_info), for logs and
  // benchmarks; empty when `peer` is not connected. Added beside the original interface; the
  // defaults keep test doubles compiling.
  virtual std::string describe_peer(const std::string& peer) const { return {}; }
  // Inbound messages dropped: over max_message_bytes, from an endpoint that has not completed the
  // handshake, or whose rendezvous receive failed.
  virtual std::uint64_t num_dropped_messages() const { return 0; }
};

}  // namespace troupe
