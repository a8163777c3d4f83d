// Stop strings over streamed text. Text that could be the beginning of a stop string is held back
// until it is known not to be one, so a stop string is never emitted, not even in part.
//
//   pushed:  "Hello, wor" + "ld\n\nUser"     stops: {"\n\nUser"}
//   emitted: "Hello, wor"   "ld"  -> stopped, "\n\nUser" never emitted
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe {

class stop_matcher {
 public:
  explicit stop_matcher(std::vector<std::string> stops);

  struct push_result {
    std::string text;          // text that is now final
    bool stopped = false;      // a stop string was found; nothing after it is emitted
    std::string matched_stop;  // which one
  };
  // Adds newly decoded text (complete UTF-8 characters).
  push_result push(std::string_view text);
  // At the end of a request: everything still held back.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::size_t max_stop_bytes_ = 0;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace troupe
