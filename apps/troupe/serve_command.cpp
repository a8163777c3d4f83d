// troupe serve: a single-process OpenAI-compatible server over one engine (like `vllm serve`).
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>

#include <pthread.h>

#include "api/http_server.hpp"
#include "api/local_engine_service.hpp"
#include "apps/troupe/commands.hpp"

namespace troupe::cli {
namespace {

struct serve_flags {
  std::string model_dir;
  std::string served_model_name;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  std::int32_t http_threads = 64;
  std::int32_t engine_threads = 0;
  std::int32_t max_num_seqs = 64;
  std::int32_t max_model_len = 0;
  std::int64_t kv_cache_memory_bytes = 1LL << 30;
  std::optional<std::string> api_keys_file;
};

// Blocks SIGINT/SIGTERM in every thread started after this call and waits for one of them.
class termination_signals {
 public:
  termination_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  int wait() const {
    int signal = 0;
    sigwait(&set_, &signal);
    return signal;
  }

 private:
  sigset_t set_{};
};

int serve(const serve_flags& f) {
  const termination_signals signals;
  auto service = api::local_engine_service::create(
      engine_options{.model_dir = f.model_dir,
                     .num_threads = f.engine_threads,
                     .max_num_seqs = f.max_num_seqs,
                     .max_model_len = f.max_model_len,
                     .kv_cache_bytes = f.kv_cache_memory_bytes},
      f.served_model_name);
  if (!service) {
    std::fprintf(stderr, "troupe serve: %s\n", service.error().message.c_str());
    return 1;
  }
  std::optional<std::filesystem::path> keys_file;
  if (f.api_keys_file) keys_file = *f.api_keys_file;
  auto http = api::http_server::start(
      api::http_server_options{.host = f.host, .port = f.port, .num_threads = f.http_threads, .api_keys_file = keys_file},
      **service);
  if (!http) {
    std::fprintf(stderr, "troupe serve: %s\n", http.error().message.c_str());
    return 1;
  }
  std::printf("troupe: serving %s at http://%s:%u/v1\n", (*service)->models().front().name.c_str(), f.host.c_str(),
              static_cast<unsigned>((*http)->port()));
  std::fflush(stdout);
  const int signal = signals.wait();
  std::fprintf(stderr, "troupe serve: stopping (signal %d)\n", signal);
  (*http)->stop();
  return 0;
}

}  // namespace

command_main add_serve_command(CLI::App& app) {
  auto flags = std::make_shared<serve_flags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve one model over an OpenAI-compatible HTTP API in this process");
  cmd->add_option("--model", flags->model_dir, "Hugging Face checkpoint folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--served-model-name", flags->served_model_name, "The `model` name clients use (default: folder name)");
  cmd->add_option("--host", flags->host, "Address to listen on");
  cmd->add_option("--port", flags->port, "Port to listen on (0 = any free port, printed when ready)");
  cmd->add_option("--threads", flags->http_threads, "HTTP connection threads (one per open connection)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--engine-threads", flags->engine_threads, "CPU threads of the engine (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-num-seqs", flags->max_num_seqs, "Most sequences in one engine step")->check(CLI::Range(1, 4096));
  cmd->add_option("--max-model-len", flags->max_model_len, "Prompt + output limit (0 = the model's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--kv-cache-memory", flags->kv_cache_memory_bytes, "Bytes for the KV cache (e.g. 1073741824)")
      ->check(CLI::Range(std::int64_t{1} << 20, std::int64_t{1} << 46));
  cmd->add_option("--api-keys-file", flags->api_keys_file, "File with one accepted API key per line")
      ->check(CLI::ExistingFile);
  return [flags] { return serve(*flags); };
}

}  // namespace troupe::cli
