#include "actors/deployment.hpp"

#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/actor_names.hpp"
#include "actors/delta_channel.hpp"
#include "actors/gateway.hpp"
#include "protocol/codec.hpp"
#include "actors/replica_set.hpp"

namespace troupe::actors {

namespace {

struct tracked {
  std::shared_ptr<delta_channel> channel;
  std::int64_t num_tokens = 0;
};

struct deployment_state {
  deployment_options options;
  std::string self_name;
  replica_set replicas;
  std::unordered_map<std::uint64_t, tracked> requests;
  std::size_t last_num_ready = 0;
};

using deployment_actor = caf::stateful_actor<deployment_state>;

void tell_router_ready(deployment_actor* self) {
  auto& st = self->state;
  const std::size_t ready = st.replicas.num_ready();
  if (ready == st.last_num_ready) return;
  st.last_num_ready = ready;
  self->send(st.options.router, ready_atom::value, st.options.model, static_cast<std::int64_t>(ready),
             static_cast<std::int32_t>(st.replicas.max_model_len()));
}

void fail_request(deployment_actor* self, std::uint64_t id, errc code, std::string message) {
  auto& st = self->state;
  auto it = st.requests.find(id);
  if (it == st.requests.end()) return;
  api::completion_delta d;
  d.failed = error{.code = code, .message = std::move(message)};
  it->second.channel->push(std::move(d));
  st.requests.erase(it);
  st.replicas.finish(id);
  self->send(st.options.router, done_atom::value, st.options.model, std::int64_t{1});
}

api::completion_delta to_api(wire::request_delta&& w) {
  api::completion_delta d;
  d.token_ids = std::move(w.new_token_ids);
  d.text = std::move(w.new_text);
  d.logprobs = std::move(w.new_logprobs);
  d.num_prompt_tokens = w.num_prompt_tokens;
  d.num_cached_prompt_tokens = w.num_cached_prompt_tokens;
  switch (w.finished) {
    case wire::finish_kind::none: break;
    case wire::finish_kind::stop: d.finished = finish_reason::stop; break;
    case wire::finish_kind::length: d.finished = finish_reason::length; break;
    case wire::finish_kind::abort: d.finished = finish_reason::abort; break;
    case wire::finish_kind::error:
      d.failed = error{.code = errc::invalid_argument, .message = w.stop_reason};
      return d;
  }
  d.stop_reason = std::move(w.stop_reason);
  return d;
}

void on_outputs(deployment_actor* self, const wire::envelope& env, const wire::replica_outputs& outputs) {
  auto& st = self->state;
  const replica_load* replica = st.replicas.find(outputs.replica_name);
  if (replica == nullptr || replica->leader_actor != env.source) {
    spdlog::warn("deployment {}: outputs for replica {} from {} ignored (not its leader)", st.options.model,
                 outputs.replica_name, env.source);
    return;
  }
  st.replicas.report_load(outputs.replica_name, outputs.num_waiting, outputs.num_free_kv_blocks);
  std::int64_t num_done = 0;
  for (wire::request_delta delta : outputs.deltas) {
    const std::uint64_t id = delta.request_id;
    const std::string* on = st.replicas.replica_of(id);
    auto it = st.requests.find(id);
    if (it == st.requests.end() || on == nullptr || *on != outputs.replica_name) continue;
    it->second.num_tokens += static_cast<std::int64_t>(delta.new_token_ids.size());
    const bool final = delta.finished != wire::finish_kind::none;
    it->second.channel->push(to_api(std::move(delta)));
    if (final) {
      st.requests.erase(it);
      st.replicas.finish(id);
      ++num_done;
    }
  }
  if (num_done > 0) self->send(st.options.router, done_atom::value, st.options.model, num_done);
}

caf::behavior deployment_behavior(deployment_actor* self, deployment_options options) {
  auto& st = self->state;
  st.self_name = full_actor_name("head", deployment_local_name(options.model));
  st.options = std::move(options);
  self->send(st.options.gateway, register_atom::value, deployment_local_name(st.options.model),
             caf::actor_cast<caf::actor>(self));
  return {
      [self](const replica_info& info) {
        self->state.replicas.update(info);
        tell_router_ready(self);
      },
      [self](const replica_gone& gone) {
        auto& st = self->state;
        for (const std::uint64_t id : st.replicas.remove(gone.replica_name)) {
          const auto it = st.requests.find(id);
          const std::int64_t n = it == st.requests.end() ? 0 : it->second.num_tokens;
          // remove() already forgot the request's replica; fail_request's finish() is a no-op.
          fail_request(self, id, errc::unavailable,
                       fmt::format("replica {} serving this request failed ({}) after {} generated token(s); "
                                   "the request was not completed",
                                   gone.replica_name, gone.reason, n));
        }
        tell_router_ready(self);
      },
      [self](const submission_ptr& sub) {
        auto& st = self->state;
        st.requests[sub->request_id] = tracked{.channel = sub->channel, .num_tokens = 0};
        const std::optional<std::string> replica = st.replicas.assign(sub->request_id);
        if (!replica) {
          fail_request(self, sub->request_id, errc::unavailable, fmt::format("model {} has no ready replica", st.options.model));
          return;
        }
        wire::generate g{.request_id = sub->request_id,
                         .prompt_token_ids = sub->request.prompt_token_ids,
                         .sampling = sub->request.sampling,
                         .priority = sub->request.priority};
        send_wire(st.options.gateway, st.self_name, st.replicas.find(*replica)->leader_actor, std::move(g));
      },
      [self](cancel_atom, std::uint64_t id) {
        auto& st = self->state;
        const std::string* replica = st.replicas.replica_of(id);
        if (replica == nullptr) return;
        send_wire(st.options.gateway, st.self_name, st.replicas.find(*replica)->leader_actor,
                  wire::abort_requests{.request_ids = {id}});
      },
      [self](const envelope_ptr& env) {
        if (const auto* outputs = std::get_if<wire::replica_outputs>(&env->message)) {
          on_outputs(self, *env, *outputs);
        } else {
          spdlog::warn("deployment {}: unexpected {} from {}", self->state.options.model, wire::body_name(env->message),
                       env->source);
        }
      },
  };
}

}  // namespace

caf::actor spawn_deployment(caf::actor_system& system, deployment_options options) {
  return system.spawn(deployment_behavior, std::move(options));
}

}  // namespace troupe::actors
