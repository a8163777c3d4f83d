#include "api/local_engine_service.hpp"

#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "engine/prompt_builder.hpp"

namespace troupe::api {

namespace {

// Deltas of one request, from the loop thread to the stream's reader.
class delta_queue {
 public:
  void push(completion_delta delta) {
    {
      std::lock_guard lock(mutex_);
      deltas_.push_back(std::move(delta));
    }
    ready_.notify_one();
  }
  std::optional<completion_delta> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !deltas_.empty(); })) return std::nullopt;
    completion_delta d = std::move(deltas_.front());
    deltas_.pop_front();
    return d;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<completion_delta> deltas_;
};

struct pending_submit {
  generation_request request;
  std::shared_ptr<delta_queue> deltas;
  std::promise<result<request_id>> accepted;
};

completion_delta to_delta(const request_output& out) {
  return completion_delta{.token_ids = out.new_token_ids,
                          .text = out.new_text,
                          .logprobs = out.new_logprobs,
                          .finished = out.finished,
                          .stop_reason = out.stop_reason,
                          .num_prompt_tokens = out.num_prompt_tokens,
                          .num_cached_prompt_tokens = out.num_cached_prompt_tokens};
}

}  // namespace

struct local_engine_service::core {
  std::unique_ptr<engine> eng;  // touched by the loop thread only

  std::mutex mutex;  // guards the fields below
  std::condition_variable wake;
  std::deque<pending_submit> submits;
  std::vector<request_id> cancels;
  bool stopping = false;
  engine_stats stats;

  std::unordered_map<request_id, std::shared_ptr<delta_queue>> running;  // loop thread only
  std::thread loop;

  void cancel(request_id id) {
    {
      std::lock_guard lock(mutex);
      cancels.push_back(id);
    }
    wake.notify_one();
  }

  void accept(std::deque<pending_submit>& batch) {
    for (pending_submit& s : batch) {
      result<request_id> id = eng->add_request(std::move(s.request));
      if (id) running.emplace(*id, s.deltas);
      s.accepted.set_value(std::move(id));
    }
  }

  void deliver(const std::vector<request_output>& outputs) {
    for (const request_output& out : outputs) {
      auto it = running.find(out.id);
      if (it == running.end()) continue;
      it->second->push(to_delta(out));
      if (out.finished) running.erase(it);
    }
  }

  // schedule -> step -> deliver, until stopped.
  void run() {
    bool busy = false;
    while (true) {
      std::deque<pending_submit> batch;
      std::vector<request_id> to_cancel;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || busy || !submits.empty() || !cancels.empty(); });
        if (stopping) break;
        batch.swap(submits);
        to_cancel.swap(cancels);
      }
      accept(batch);
      for (request_id id : to_cancel) eng->abort(id);
      if (eng->has_unfinished()) deliver(eng->step());
      busy = eng->has_unfinished();
      std::lock_guard lock(mutex);
      stats = eng->stats();
    }
    shut_down();
  }

  void shut_down() {
    const error stopped{errc::cancelled, "the server is shutting down"};
    for (auto& [id, deltas] : running) {
      eng->abort(id);
      deltas->push(completion_delta{.failed = stopped});
    }
    running.clear();
    std::lock_guard lock(mutex);
    for (pending_submit& s : submits) s.accepted.set_value(error{errc::unavailable, "the server is shutting down"});
    submits.clear();
  }
};

namespace {

class local_stream final : public completion_stream {
 public:
  local_stream(std::shared_ptr<local_engine_service::core> core, request_id id, std::shared_ptr<delta_queue> deltas)
      : core_(std::move(core)), id_(id), deltas_(std::move(deltas)) {}
  ~local_stream() override { cancel(); }

  std::optional<completion_delta> next(std::chrono::milliseconds timeout) override {
    if (finished_) return std::nullopt;
    std::optional<completion_delta> d = deltas_->pop(timeout);
    if (d && (d->finished || d->failed)) finished_ = true;
    return d;
  }

  void cancel() override {
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    core_->cancel(id_);
  }

 private:
  std::shared_ptr<local_engine_service::core> core_;
  request_id id_;
  std::shared_ptr<delta_queue> deltas_;
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace

result<std::unique_ptr<local_engine_service>> local_engine_service::create(const engine_options& options,
                                                                           std::string served_model_name) {
  TROUPE_ASSIGN_OR_RETURN(std::unique_ptr<engine> eng, engine::create(options));
  if (served_model_name.empty()) {
    std::filesystem::path dir = options.model_dir;
    if (!dir.has_filename()) dir = dir.parent_path();
    served_model_name = dir.filename().string();
  }
  return start(std::move(eng), std::move(served_model_name));
}

std::unique_ptr<local_engine_service> local_engine_service::start(std::unique_ptr<engine> eng,
                                                                  std::string served_model_name) {
  served_model model{.name = std::move(served_model_name),
                     .prompts = std::make_shared<const prompt_builder>(eng->prompts()),
                     .max_model_len = eng->max_model_len(),
                     .vocab_size = eng->config().vocab_size,
                     .created_unix_s = static_cast<std::int64_t>(std::time(nullptr))};
  auto shared = std::make_shared<core>();
  shared->stats = eng->stats();
  shared->eng = std::move(eng);
  shared->loop = std::thread([raw = shared.get()] { raw->run(); });
  return std::unique_ptr<local_engine_service>(new local_engine_service(std::move(shared), std::move(model)));
}

local_engine_service::local_engine_service(std::shared_ptr<core> core, served_model model)
    : core_(std::move(core)), model_(std::move(model)) {}

local_engine_service::~local_engine_service() {
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
  }
  core_->wake.notify_one();
  core_->loop.join();
}

std::vector<served_model> local_engine_service::models() const { return {model_}; }

result<std::unique_ptr<completion_stream>> local_engine_service::submit(const std::string& model,
                                                                        generation_request request) {
  if (model != model_.name) return make_error(errc::not_found, "the model '{}' does not exist", model);
  auto deltas = std::make_shared<delta_queue>();
  std::future<result<request_id>> accepted;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->stopping) return error{errc::unavailable, "the server is shutting down"};
    pending_submit& s = core_->submits.emplace_back(
        pending_submit{.request = std::move(request), .deltas = deltas, .accepted = {}});
    accepted = s.accepted.get_future();
  }
  core_->wake.notify_one();
  TROUPE_ASSIGN_OR_RETURN(request_id id, accepted.get());
  return std::unique_ptr<completion_stream>(std::make_unique<local_stream>(core_, id, std::move(deltas)));
}

engine_stats local_engine_service::stats() const {
  std::lock_guard lock(core_->mutex);
  return core_->stats;
}

}  // namespace troupe::api
