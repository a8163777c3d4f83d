#include "actors/cluster_service.hpp"

#include "actors/delta_channel.hpp"
#include "actors/router.hpp"

namespace troupe::actors {

namespace {

class cluster_stream final : public api::completion_stream {
 public:
  cluster_stream(caf::actor router, std::string model, std::uint64_t id, std::shared_ptr<delta_channel> channel)
      : router_(std::move(router)), model_(std::move(model)), id_(id), channel_(std::move(channel)) {}
  ~cluster_stream() override { cancel(); }

  std::optional<api::completion_delta> next(std::chrono::milliseconds timeout) override {
    std::optional<api::completion_delta> d = channel_->pop(timeout);
    if (d && (d->finished || d->failed)) finished_ = true;
    return d;
  }
  void cancel() override {
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    caf::anon_send(router_, cancel_atom::value, model_, id_);
  }

 private:
  caf::actor router_;
  std::string model_;
  std::uint64_t id_;
  std::shared_ptr<delta_channel> channel_;
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace

cluster_service::cluster_service(caf::actor_system& system, caf::actor router, std::vector<api::served_model> models)
    : system_(system), router_(std::move(router)), models_(std::move(models)) {}

std::vector<api::served_model> cluster_service::models() const { return models_; }

result<std::unique_ptr<api::completion_stream>> cluster_service::submit(const std::string& model,
                                                                         generation_request request) {
  auto sub = std::make_shared<submission>();
  sub->request_id = next_request_id_.fetch_add(1);
  sub->model = model;
  sub->request = std::move(request);
  sub->channel = std::make_shared<delta_channel>();
  std::int32_t code = static_cast<std::int32_t>(errc::timeout);
  std::string message = "the router did not answer within 10 s";
  caf::scoped_actor self{system_};
  self->request(router_, std::chrono::seconds(10), submit_atom::value, sub)
      .receive(
          [&](std::int32_t c, std::string& m) {
            code = c;
            message = std::move(m);
          },
          [&](caf::error& e) { message = "the router failed: " + system_.render(e); });
  if (code != admitted_code) return error{.code = static_cast<errc>(code), .message = std::move(message)};
  return std::unique_ptr<api::completion_stream>(
      std::make_unique<cluster_stream>(router_, model, sub->request_id, sub->channel));
}

}  // namespace troupe::actors
