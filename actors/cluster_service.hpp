// The HTTP layer's completion_service on the head: requests go to the router actor (admission,
// synchronous so that 429/503 are HTTP statuses), deltas come back through a delta_channel.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "actors/messages.hpp"
#include "api/completion_service.hpp"

namespace troupe::actors {

class cluster_service final : public api::completion_service {
 public:
  cluster_service(caf::actor_system& system, caf::actor router, std::vector<api::served_model> models);

  std::vector<api::served_model> models() const override;
  result<std::unique_ptr<api::completion_stream>> submit(const std::string& model, generation_request request) override;

 private:
  caf::actor_system& system_;
  caf::actor router_;
  std::vector<api::served_model> models_;
  std::atomic<std::uint64_t> next_request_id_{1};
};

}  // namespace troupe::actors
