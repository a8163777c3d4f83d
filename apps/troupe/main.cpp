// troupe: the serving cluster's binary.
//   troupe up / down   start / stop the processes of a cluster.yaml
//   troupe head / node the cluster's processes (started by up, or by hand, systemd, Slurm...)
//   troupe serve       one model over an OpenAI-compatible HTTP API, in this process
//   troupe run         offline generation with the engine
//   troupe tokenize    a model's tokenizer on text (or --decode ids)
//   troupe make-model  a random-weight checkpoint at a real model's shapes
#include <cstdio>
#include <map>
#include <string>

#include "apps/troupe/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"troupe: serve large language models on a cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "troupe 0.1.0");
  std::function<int()> selected;
  const auto run = troupe::cli::add_run_command(app);
  const auto tokenize = troupe::cli::add_tokenize_command(app);
  const auto make_model = troupe::cli::add_make_model_command(app);
#ifdef TROUPE_HAVE_API
  const auto serve = troupe::cli::add_serve_command(app);
#endif
#ifdef TROUPE_HAVE_CLUSTER
  const std::map<std::string, troupe::cli::command_main> cluster_commands = {
      {"head", troupe::cli::add_head_command(app)},
      {"node", troupe::cli::add_node_command(app)},
      {"up", troupe::cli::add_up_command(app)},
      {"down", troupe::cli::add_down_command(app)}};
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("run")) return run();
  if (app.got_subcommand("tokenize")) return tokenize();
  if (app.got_subcommand("make-model")) return make_model();
#ifdef TROUPE_HAVE_API
  if (app.got_subcommand("serve")) return serve();
#endif
#ifdef TROUPE_HAVE_CLUSTER
  for (const auto& [name, command] : cluster_commands) {
    if (app.got_subcommand(name)) return command();
  }
#endif
  std::fputs("troupe: no command given (see --help)\n", stderr);
  return 2;
}
