#include <ctime>

#include <spdlog/spdlog.h>

#include "actors/cluster_service.hpp"
#include "actors/coordinator.hpp"
#include "actors/deployment.hpp"
#include "actors/gateway.hpp"
#include "actors/process_main.hpp"
#include "actors/process_signals.hpp"
#include "actors/router.hpp"
#include "api/http_server.hpp"
#include "engine/model/model_config.hpp"

namespace troupe::actors {

namespace {

// What the head needs of each model to serve its API: tokenizer and chat template (the prompt is
// tokenized on the head) and its limits. The weights stay on the nodes.
result<std::vector<api::served_model>> load_served_models(const cluster_config& config) {
  std::vector<api::served_model> models;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  for (const model_deployment_config& m : config.models) {
    result<prompt_builder> prompts = prompt_builder::load(m.path);
    if (!prompts) return make_error(prompts.error().code, "model {}: {}", m.name, prompts.error().message);
    result<model_config> model = load_model_config(m.path);
    if (!model) return make_error(model.error().code, "model {}: {}", m.name, model.error().message);
    models.push_back(api::served_model{
        .name = m.name,
        .prompts = std::make_shared<const prompt_builder>(std::move(prompts).value()),
        .max_model_len = m.max_model_len > 0 ? m.max_model_len : model->max_position_embeddings,
        .vocab_size = model->vocab_size,
        .created_unix_s = now,
        .owned_by = "troupe"});
  }
  return models;
}

}  // namespace

int run_head(const cluster_config& config) {
  result<std::vector<api::served_model>> served = load_served_models(config);
  if (!served) {
    spdlog::error("head: {}", served.error().message);
    return 2;
  }
  block_termination_signals();
  termination stop;
  gateway_link link;
  result<std::unique_ptr<transport>> net = transport::create(
      transport_options{.process_name = "head",
                        .listen_host = config.head.host,
                        .listen_port = config.head.transport_port,
                        .ucx_tls = config.transport.ucx_tls,
                        .protocol_version = wire::protocol_version},
      link.callbacks());
  if (!net) {
    spdlog::error("head: cannot start the transport: {}", net.error().message);
    return 1;
  }
  auto shared_config = std::make_shared<const cluster_config>(config);
  int code = 0;
  {
    caf::actor_system_config caf_config;
    configure_caf(caf_config);
    caf::actor_system system{caf_config};
    caf::actor gateway = spawn_gateway(system, gateway_options{.process_name = "head", .net = net->get()});
    link.set(gateway);
    caf::actor router = spawn_router(system, router_options{.max_queued_requests = config.api.max_queued_requests});
    std::map<std::string, caf::actor> deployments;
    for (const model_deployment_config& m : config.models) {
      caf::actor d = spawn_deployment(system, deployment_options{.model = m.name, .gateway = gateway, .router = router});
      caf::anon_send(router, register_atom::value, m.name, d);
      deployments.emplace(m.name, d);
    }
    const std::string endpoint = fmt::format("http://{}:{}/v1", config.head.host, config.head.http_port);
    bool announced = false;
    result<caf::actor> coordinator = spawn_coordinator(
        system, coordinator_options{.config = shared_config,
                                    .gateway = gateway,
                                    .deployments = deployments,
                                    .on_ready_change =
                                        [endpoint, announced](std::size_t ready, std::size_t total) mutable {
                                          if (ready == total && !announced) {
                                            announced = true;
                                            spdlog::info("troupe: ready: {} of {} replicas; OpenAI API at {}", ready,
                                                         total, endpoint);
                                          }
                                        }});
    if (!coordinator) {
      spdlog::error("head: {}", coordinator.error().message);
      code = 2;
    } else {
      cluster_service service(system, router, std::move(served).value());
      result<std::unique_ptr<api::http_server>> http = api::http_server::start(
          api::http_server_options{.host = config.head.host,
                                   .port = config.head.http_port,
                                   .num_threads = config.api.http_threads,
                                   .api_keys_file = config.api.keys_file},
          service);
      if (!http) {
        spdlog::error("head: cannot serve HTTP on {}:{}: {}", config.head.host, config.head.http_port, http.error().message);
        code = 1;
      } else {
        spdlog::info("head: transport on {}, HTTP on {}:{}; waiting for {} node(s)", (*net)->listen_address(),
                     config.head.host, config.head.http_port, config.nodes.size());
        code = stop.wait();
        spdlog::info("head: stopping ({})", stop.reason());
        (*http)->stop();
      }
      caf::anon_send_exit(*coordinator, caf::exit_reason::user_shutdown);
    }
    link.set({});
    for (auto& [name, d] : deployments) caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
  }
  return code;
}

}  // namespace troupe::actors
