// troupe: the serving cluster's binary. This build has the single-process commands:
//   troupe run         offline generation with the engine
//   troupe tokenize    a model's tokenizer on text (or --decode ids)
//   troupe make-model  a random-weight checkpoint at a real model's shapes
#include <cstdio>

#include "apps/troupe/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"troupe: serve large language models on a cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "troupe 0.1.0");
  std::function<int()> selected;
  const auto run = troupe::cli::add_run_command(app);
  const auto tokenize = troupe::cli::add_tokenize_command(app);
  const auto make_model = troupe::cli::add_make_model_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("run")) return run();
  if (app.got_subcommand("tokenize")) return tokenize();
  if (app.got_subcommand("make-model")) return make_model();
  std::fputs("troupe: no command given (see --help)\n", stderr);
  return 2;
}
