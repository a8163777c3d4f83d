#include "engine/stop_matcher.hpp"

#include <algorithm>

namespace troupe {
namespace {

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0u) == 0x80u; }

}  // namespace

stop_matcher::stop_matcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
  for (const std::string& s : stops_) max_stop_bytes_ = std::max(max_stop_bytes_, s.size());
}

stop_matcher::push_result stop_matcher::push(std::string_view text) {
  push_result out;
  if (stopped_) return out;
  pending_.append(text);
  // The earliest stop string in the pending text ends the request there.
  std::size_t earliest = std::string::npos;
  for (const std::string& s : stops_) {
    const std::size_t at = pending_.find(s);
    if (at != std::string::npos && at < earliest) {
      earliest = at;
      out.matched_stop = s;
    }
  }
  if (earliest != std::string::npos) {
    out.text = pending_.substr(0, earliest);
    out.stopped = stopped_ = true;
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is the beginning of some stop string (it may still grow
  // into one); cut at a character boundary so emitted text is always valid UTF-8.
  std::size_t keep = 0;
  const std::size_t longest = max_stop_bytes_ > 0 ? std::min(pending_.size(), max_stop_bytes_ - 1) : 0;
  for (std::size_t k = longest; k > 0 && keep == 0; --k) {
    const std::string_view tail = std::string_view(pending_).substr(pending_.size() - k);
    for (const std::string& s : stops_) {
      if (std::string_view(s).starts_with(tail)) {
        keep = k;
        break;
      }
    }
  }
  std::size_t cut = pending_.size() - keep;
  while (cut > 0 && cut < pending_.size() && is_utf8_continuation(pending_[cut])) --cut;
  out.text = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return out;
}

std::string stop_matcher::flush() {
  std::string rest;
  if (!stopped_) rest.swap(pending_);
  return rest;
}

}  // namespace troupe
