// A completion_service over one in-process engine: `troupe serve` and the API tests.
//
// One thread owns the engine and runs its step loop: it takes new submissions and cancels from a
// queue at the top of each iteration, steps while requests are unfinished, and pushes each
// request's output into that request's stream. submit() and cancel() are thread-safe and wake
// the loop; submit() waits (at most one engine step) for the engine to accept the request so that
// its errors (prompt too long, bad sampling values) come back as values.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/completion_service.hpp"
#include "engine/engine.hpp"

namespace troupe::api {

class local_engine_service final : public completion_service {
 public:
  // Loads the engine from options.model_dir and starts its loop. The model is served as
  // `served_model_name` (the folder's name when empty).
  static result<std::unique_ptr<local_engine_service>> create(const engine_options& options,
                                                              std::string served_model_name = {});
  // Serves an engine that is already loaded.
  static std::unique_ptr<local_engine_service> start(std::unique_ptr<engine> eng, std::string served_model_name);

  // Stops the loop; streams still running end with a `failed` delta (errc::cancelled).
  ~local_engine_service() override;
  local_engine_service(const local_engine_service&) = delete;
  local_engine_service& operator=(const local_engine_service&) = delete;

  std::vector<served_model> models() const override;
  result<std::unique_ptr<completion_stream>> submit(const std::string& model, generation_request request) override;

  // The engine's stats after the loop's latest iteration (thread-safe).
  engine_stats stats() const;

  struct core;  // shared with the streams (local_engine_service.cpp)

 private:
  local_engine_service(std::shared_ptr<core> core, served_model model);
  std::shared_ptr<core> core_;
  served_model model_;
};

}  // namespace troupe::api
