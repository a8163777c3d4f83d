// Actor names: "<process>/<local name>", e.g. "node1/worker/cpu:0", "head/router",
// "node0/leader/demo#0". The gateway of <process> delivers to <local name>.
#pragma once

#include <string>
#include <string_view>

namespace troupe::actors {

struct actor_name {
  std::string_view process;  // "node1"
  std::string_view local;    // "worker/cpu:0"
};

// Splits at the first '/'. A name without '/' or with an empty part has empty fields.
inline actor_name split_actor_name(std::string_view full) {
  const auto slash = full.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == full.size()) return {};
  return {full.substr(0, slash), full.substr(slash + 1)};
}

inline std::string full_actor_name(std::string_view process, std::string_view local) {
  std::string s(process);
  s += '/';
  s += local;
  return s;
}

}  // namespace troupe::actors
