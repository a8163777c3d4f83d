#include "engine/common/result.hpp"

namespace troupe {

std::string_view errc_name(errc code) {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::io_error: return "io_error";
    case errc::parse_error: return "parse_error";
    case errc::unsupported: return "unsupported";
    case errc::out_of_memory: return "out_of_memory";
    case errc::internal: return "internal";
    case errc::unavailable: return "unavailable";
    case errc::resource_exhausted: return "resource_exhausted";
    case errc::cancelled: return "cancelled";
    case errc::timeout: return "timeout";
  }
  return "unknown";
}

std::string error::to_string() const { return fmt::format("{}: {}", errc_name(code), message); }

}  // namespace troupe
