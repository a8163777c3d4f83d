// `troupe head`, `troupe node`, `troupe up`, `troupe down`: the cluster's processes and launcher.
#include <cstdio>

#include "actors/process_main.hpp"
#include "apps/troupe/commands.hpp"
#include "apps/troupe/launcher.hpp"
#include "config/cluster_config.hpp"

namespace troupe::cli {

namespace {

// Loads and validates cluster.yaml; prints the error (with file:line:col) when it is not valid.
std::optional<cluster_config> load_config(const std::string& file) {
  result<cluster_config> config = load_cluster_config(file);
  if (!config) {
    std::fprintf(stderr, "troupe: %s\n", config.error().message.c_str());
    return std::nullopt;
  }
  return std::move(config).value();
}

}  // namespace

command_main add_head_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("head", "run the head process: coordinator, router, OpenAI API");
  auto file = std::make_shared<std::string>("cluster.yaml");
  cmd->add_option("-f,--file", *file, "cluster configuration")->capture_default_str();
  return [file] {
    std::optional<cluster_config> config = load_config(*file);
    if (!config) return 2;
    actors::setup_logging("head");
    return actors::run_head(*config);
  };
}

command_main add_node_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("node", "run a node process: workers and replica leaders of this machine");
  auto file = std::make_shared<std::string>("cluster.yaml");
  auto name = std::make_shared<std::string>();
  cmd->add_option("-f,--file", *file, "cluster configuration")->capture_default_str();
  cmd->add_option("--name", *name, "this node's name in cluster.yaml")->required();
  return [file, name] {
    std::optional<cluster_config> config = load_config(*file);
    if (!config) return 2;
    actors::setup_logging(*name);
    return actors::run_node(*config, *name);
  };
}

command_main add_up_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("up", "start the head and every node of cluster.yaml; wait until all replicas are ready");
  auto options = std::make_shared<launch_options>();
  cmd->add_option("-f,--file", options->config_file, "cluster configuration")->capture_default_str();
  cmd->add_flag("--detach,-d", options->detach, "return once the cluster is ready, leaving it running");
  cmd->add_option("--run-dir", options->run_dir, "logs and process ids (default: .troupe/<cluster> beside cluster.yaml)");
  cmd->add_option("--timeout", options->ready_timeout_s, "seconds to wait for every replica")->capture_default_str();
  cmd->add_option("--remote-binary", options->remote_binary, "troupe on remote hosts (started with ssh)")->capture_default_str();
  return [options] {
    std::optional<cluster_config> config = load_config(options->config_file);
    if (!config) return 2;
    return cluster_up(*config, *options);
  };
}

command_main add_down_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("down", "stop the processes `troupe up --detach` started");
  auto options = std::make_shared<launch_options>();
  cmd->add_option("-f,--file", options->config_file, "cluster configuration")->capture_default_str();
  cmd->add_option("--run-dir", options->run_dir, "as given to troupe up");
  return [options] {
    std::optional<cluster_config> config = load_config(options->config_file);
    if (!config) return 2;
    return cluster_down(*config, *options);
  };
}

}  // namespace troupe::cli
