// The subcommands of the `troupe` binary. Each registers its flags on the CLI11 app and returns the
// function that runs it (exit code: 0 ok, 1 runtime failure, 2 bad input).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace troupe::cli {

using command_main = std::function<int()>;

command_main add_run_command(CLI::App& app);
command_main add_tokenize_command(CLI::App& app);
command_main add_make_model_command(CLI::App& app);
#ifdef TROUPE_HAVE_API
command_main add_serve_command(CLI::App& app);
#endif
#ifdef TROUPE_HAVE_CLUSTER
command_main add_head_command(CLI::App& app);
command_main add_node_command(CLI::App& app);
command_main add_up_command(CLI::App& app);
command_main add_down_command(CLI::App& app);
#endif

}  // namespace troupe::cli
