#include "actors/router.hpp"

#include <map>

#include <spdlog/spdlog.h>

namespace troupe::actors {

namespace {

struct model_admission {
  caf::actor deployment;
  std::int64_t num_in_flight = 0;
  std::int64_t num_ready = 0;
};

struct router_state {
  router_options options;
  std::map<std::string, model_admission> models;
};

using router_actor = caf::stateful_actor<router_state>;

caf::behavior router_behavior(router_actor* self, router_options options) {
  self->state.options = options;
  return {
      [self](register_atom, const std::string& model, const caf::actor& deployment) {
        self->state.models[model].deployment = deployment;
      },
      [self](submit_atom, const submission_ptr& sub) -> caf::message {
        auto& st = self->state;
        auto it = st.models.find(sub->model);
        if (it == st.models.end()) {
          return caf::make_message(static_cast<std::int32_t>(errc::not_found),
                                   fmt::format("the model '{}' does not exist", sub->model));
        }
        model_admission& m = it->second;
        if (m.num_ready == 0) {
          return caf::make_message(static_cast<std::int32_t>(errc::unavailable),
                                   fmt::format("model '{}' has no ready replica; retry later", sub->model));
        }
        if (m.num_in_flight >= st.options.max_queued_requests) {
          return caf::make_message(static_cast<std::int32_t>(errc::resource_exhausted),
                                   fmt::format("model '{}' has {} requests in flight (the limit); retry later",
                                               sub->model, m.num_in_flight));
        }
        m.num_in_flight += 1;
        self->send(m.deployment, sub);
        return caf::make_message(admitted_code, std::string());
      },
      [self](cancel_atom, const std::string& model, std::uint64_t id) {
        auto it = self->state.models.find(model);
        if (it != self->state.models.end()) self->send(it->second.deployment, cancel_atom::value, id);
      },
      [self](ready_atom, const std::string& model, std::int64_t num_ready, std::int32_t) {
        self->state.models[model].num_ready = num_ready;
        spdlog::info("router: model {} has {} ready replica(s)", model, num_ready);
      },
      [self](done_atom, const std::string& model, std::int64_t n) {
        auto it = self->state.models.find(model);
        if (it != self->state.models.end()) it->second.num_in_flight -= n;
      },
  };
}

}  // namespace

caf::actor spawn_router(caf::actor_system& system, router_options options) {
  return system.spawn(router_behavior, options);
}

}  // namespace troupe::actors
