#include "api/completion_handler.hpp"

#include <memory>
#include <string>
#include <vector>

#include "api/response_json.hpp"

namespace troupe::api {

namespace {

using clock = std::chrono::steady_clock;
using stream_list = std::vector<std::unique_ptr<completion_stream>>;

const served_model* find_model(const std::vector<served_model>& models, const std::string& name) {
  for (const served_model& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// One stream per choice; choice i draws with seed + i when the request has a seed.
result<stream_list> submit_choices(completion_service& service, const api_request& r) {
  stream_list streams;
  for (std::int32_t i = 0; i < r.n; ++i) {
    generation_request g{.prompt_token_ids = r.prompt_token_ids, .sampling = r.sampling};
    if (g.sampling.seed) g.sampling.seed = *g.sampling.seed + static_cast<std::uint64_t>(i);
    TROUPE_ASSIGN_OR_RETURN(std::unique_ptr<completion_stream> s, service.submit(r.model, std::move(g)));
    streams.push_back(std::move(s));
  }
  return streams;
}

void add_delta(choice_output& choice, usage_counts& usage, const completion_delta& d) {
  choice.text += d.text;
  choice.logprobs.insert(choice.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
  choice.num_tokens += static_cast<std::int32_t>(d.token_ids.size());
  usage.completion_tokens += static_cast<std::int32_t>(d.token_ids.size());
  if (d.num_prompt_tokens > 0) usage.prompt_tokens = d.num_prompt_tokens;
  if (d.num_cached_prompt_tokens > 0) usage.cached_prompt_tokens = d.num_cached_prompt_tokens;
  if (d.finished) choice.finished = d.finished;
}

void respond_in_full(const api_request& r, const served_model& model, stream_list streams, httplib::Response& res) {
  std::vector<choice_output> choices(streams.size());
  usage_counts usage{.prompt_tokens = static_cast<std::int32_t>(r.prompt_token_ids.size())};
  for (std::size_t i = 0; i < streams.size(); ++i) {
    choices[i].index = static_cast<std::int32_t>(i);
    while (!choices[i].finished) {
      std::optional<completion_delta> d = streams[i]->next(std::chrono::milliseconds(1000));
      if (!d) continue;
      if (d->failed) return write_error(res, from_error(*d->failed));
      add_delta(choices[i], usage, *d);
    }
  }
  const response_meta meta = new_response_meta(r.kind, r.model);
  res.status = 200;
  res.set_content(dump(full_response_json(meta, model.prompts->get_tokenizer(), choices, r.return_logprobs, usage)),
                  "application/json");
}

// The state of one SSE response, shared by cpp-httplib's content provider calls.
class event_stream {
 public:
  event_stream(api_request request, std::shared_ptr<const prompt_builder> prompts, stream_list streams,
               std::chrono::milliseconds ping_interval)
      : request_(std::move(request)),
        prompts_(std::move(prompts)),
        streams_(std::move(streams)),
        choices_(streams_.size()),
        text_offsets_(streams_.size(), 0),
        ping_interval_(ping_interval),
        meta_(new_response_meta(request_.kind, request_.model)) {
    usage_.prompt_tokens = static_cast<std::int32_t>(request_.prompt_token_ids.size());
    for (std::size_t i = 0; i < choices_.size(); ++i) choices_[i].index = static_cast<std::int32_t>(i);
  }
  ~event_stream() { cancel_all(); }

  // Stops every choice still generating (idempotent).
  void cancel_all() {
    for (auto& s : streams_) s->cancel();
  }

  // One call of the content provider: writes at least one event or ping. False when the client
  // went away (every stream is then cancelled).
  bool pump(httplib::DataSink& sink) {
    if (!started_) {
      started_ = true;
      if (request_.kind == endpoint_kind::chat) {
        for (const choice_output& c : choices_) {
          if (!send(sink, chunk_json(meta_, tok(), choice_output{.index = c.index}, true, false, 0, with_usage()))) {
            return client_gone();
          }
        }
        return true;
      }
    }
    const clock::time_point deadline = clock::now() + ping_interval_;
    const auto wait = streams_.size() == 1 ? ping_interval_ : std::chrono::milliseconds(10);
    while (clock::now() < deadline) {
      for (std::size_t i = 0; i < streams_.size(); ++i) {
        if (choices_[i].finished) continue;
        std::optional<completion_delta> d = streams_[i]->next(wait);
        if (d) return on_delta(sink, i, *d);
      }
    }
    return sink.write(": ping\n\n", 8) ? true : client_gone();
  }

 private:
  const tokenizer& tok() const { return prompts_->get_tokenizer(); }
  bool with_usage() const { return request_.include_usage; }

  static bool send(httplib::DataSink& sink, const std::string& json_text) {
    const std::string text = "data: " + json_text + "\n\n";
    return sink.write(text.data(), text.size());
  }
  static bool send(httplib::DataSink& sink, const ordered_json& event) { return send(sink, dump(event)); }

  bool client_gone() {
    cancel_all();
    return false;
  }

  bool finish(httplib::DataSink& sink) {
    static constexpr char done[] = "data: [DONE]\n\n";
    if (!sink.write(done, sizeof(done) - 1)) return client_gone();
    sink.done();
    return true;
  }

  bool on_delta(httplib::DataSink& sink, std::size_t i, const completion_delta& d) {
    if (d.failed) {
      cancel_all();
      if (!send(sink, dump(from_error(*d.failed).to_json()))) return client_gone();
      return finish(sink);
    }
    choice_output part{.index = static_cast<std::int32_t>(i), .text = d.text, .logprobs = d.logprobs,
                       .finished = d.finished};
    const std::size_t offset = text_offsets_[i];
    text_offsets_[i] += d.text.size();
    add_delta(choices_[i], usage_, d);
    const bool worth_sending = !d.text.empty() || !d.logprobs.empty() || d.finished;
    if (worth_sending &&
        !send(sink, chunk_json(meta_, tok(), part, false, request_.return_logprobs, offset, with_usage()))) {
      return client_gone();
    }
    for (const choice_output& c : choices_) {
      if (!c.finished) return true;
    }
    if (with_usage() && !send(sink, usage_chunk_json(meta_, usage_))) return client_gone();
    return finish(sink);
  }

  api_request request_;
  std::shared_ptr<const prompt_builder> prompts_;
  stream_list streams_;
  std::vector<choice_output> choices_;
  std::vector<std::size_t> text_offsets_;  // bytes of each choice's text sent so far
  usage_counts usage_;
  std::chrono::milliseconds ping_interval_;
  response_meta meta_;
  bool started_ = false;
};

}  // namespace

void write_error(httplib::Response& response, const api_error& err) {
  response.status = err.http_status;
  response.set_content(dump(err.to_json()), "application/json");
}

void handle_completion(endpoint_kind kind, completion_service& service, const completion_handler_options& options,
                       const httplib::Request& request, httplib::Response& response) {
  const std::vector<served_model> models = service.models();
  api_result<api_request> parsed = parse_request_body(kind, request.body, models);
  if (!parsed) return write_error(response, parsed.error());
  const served_model* model = find_model(models, parsed->model);
  result<stream_list> streams = submit_choices(service, *parsed);
  if (!streams) return write_error(response, from_error(streams.error()));
  if (!parsed->stream) return respond_in_full(*parsed, *model, std::move(streams).value(), response);
  auto events = std::make_shared<event_stream>(std::move(parsed).value(), model->prompts, std::move(streams).value(),
                                               options.ping_interval);
  response.status = 200;
  response.set_header("Cache-Control", "no-cache");
  response.set_chunked_content_provider(
      "text/event-stream", [events](std::size_t, httplib::DataSink& sink) { return events->pump(sink); },
      [events](bool success) {
        if (!success) events->cancel_all();  // the connection failed before [DONE]
      });
}

}  // namespace troupe::api
