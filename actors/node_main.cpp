#include <signal.h>
#include <unistd.h>

#include <thread>

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/gateway.hpp"
#include "actors/node_agent.hpp"
#include "actors/process_main.hpp"
#include "actors/process_signals.hpp"

namespace troupe::actors {

namespace {

std::vector<wire::device_info> device_inventory(const node_config& node, std::int32_t threads_per_device) {
  const auto pages = ::sysconf(_SC_PHYS_PAGES);
  const auto page_size = ::sysconf(_SC_PAGE_SIZE);
  const std::uint64_t host_bytes = pages > 0 && page_size > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size) : 0;
  std::vector<wire::device_info> devices;
  for (const device_spec& d : node.devices) {
    const bool cpu = d.kind == "cpu";
    devices.push_back(wire::device_info{.name = d.name(),
                                        .kind = cpu ? wire::device_kind::cpu : wire::device_kind::cuda,
                                        .memory_bytes = cpu ? host_bytes / node.devices.size() : 0,
                                        .num_threads = cpu ? threads_per_device : 0});
  }
  return devices;
}

// Connects to the head, retrying while it starts (troupe up starts everything at once).
result<std::string> connect_to_head(transport& net, const std::string& address, std::chrono::seconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  error last{.code = errc::unavailable, .message = "not tried"};
  while (std::chrono::steady_clock::now() < deadline) {
    result<std::string> peer = net.connect(address);
    if (peer) {
      if (*peer == "head") return peer;
      return make_error(errc::invalid_argument, "{} is process '{}', not the head", address, *peer);
    }
    last = peer.error();
    if (last.message.find("protocol") != std::string::npos) return last;  // a version mismatch does not heal
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT)) {
      return make_error(errc::cancelled, "stopped while connecting to the head");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return make_error(errc::unavailable, "cannot reach the head at {} within {} s: {}", address, patience.count(), last.message);
}

}  // namespace

void setup_logging(const std::string& process_name) {
  auto logger = spdlog::stderr_color_mt(process_name);
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [" + process_name + "] [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::flush_on(spdlog::level::debug);
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug for more
}

int run_node(const cluster_config& config, const std::string& node_name) {
  const node_config* node = config.find_node(node_name);
  if (node == nullptr) {
    spdlog::error("node '{}' is not in {}", node_name, config.file.string());
    return 2;
  }
  block_termination_signals();
  const std::size_t num_devices = std::max<std::size_t>(node->devices.size(), 1);
  const std::int32_t threads_per_device =
      node->cpu_threads_per_device > 0
          ? node->cpu_threads_per_device
          : std::max<std::int32_t>(1, static_cast<std::int32_t>(std::thread::hardware_concurrency() / num_devices));

  termination stop;
  gateway_link link;
  result<std::unique_ptr<transport>> net = transport::create(
      transport_options{.process_name = node_name,
                        .listen_host = node->host,
                        .listen_port = node->transport_port,
                        .ucx_tls = config.transport.ucx_tls,
                        .protocol_version = wire::protocol_version},
      link.callbacks());
  if (!net) {
    spdlog::error("node {}: cannot start the transport: {}", node_name, net.error().message);
    return 1;
  }
  {
    caf::actor_system_config caf_config;
    configure_caf(caf_config);
    caf::actor_system system{caf_config};
    caf::actor gateway = spawn_gateway(system, gateway_options{.process_name = node_name, .net = net->get()});
    link.set(gateway);
    const std::string head_address = fmt::format("{}:{}", config.head.host, config.head.transport_port);
    spdlog::info("node {}: listening on {}; connecting to the head at {}", node_name, (*net)->listen_address(), head_address);
    if (result<std::string> head = connect_to_head(**net, head_address, std::chrono::seconds(60)); !head) {
      const bool stopped = head.error().code == errc::cancelled;
      if (stopped) spdlog::info("node {}: {}", node_name, head.error().message);
      else spdlog::error("node {}: {}", node_name, head.error().message);
      link.set({});
      caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
      return stopped ? 0 : 1;
    }
    caf::actor agent = spawn_node_agent(
        system, node_agent_options{.node_name = node_name,
                                   .transport_address = (*net)->listen_address(),
                                   .devices = device_inventory(*node, threads_per_device),
                                   .threads_per_device = threads_per_device,
                                   .gateway = gateway,
                                   .on_exit = [&stop](int code, std::string reason) { stop.request(code, std::move(reason)); }});
    const int code = stop.wait();
    spdlog::info("node {}: stopping ({})", node_name, stop.reason());
    link.set({});
    caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
    // Leaders and workers are not linked to the agent: the system's shutdown stops them.
    system.await_actors_before_shutdown(false);
    return code;
  }
}

}  // namespace troupe::actors
