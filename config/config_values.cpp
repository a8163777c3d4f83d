#include "config/config_values.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <set>

namespace troupe {
namespace {

constexpr std::string_view device_list_hint =
    R"(expected a device list such as "cpu:1", "cuda:0-7" or "cuda:0,2")";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Digits only: no sign, no spaces.
std::optional<std::int64_t> parse_unsigned(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  return parse_integer(text);
}

error bad_devices(std::string_view text, std::string_view why) {
  if (why.empty())
    return make_error(errc::invalid_argument, "{}, got {}", device_list_hint,
                      quote_for_message(text));
  return make_error(errc::invalid_argument, "{}, got {} ({})", device_list_hint,
                    quote_for_message(text), why);
}

result<std::vector<device_spec>> parse_cpu_devices(std::string_view full,
                                                   std::string_view count_text) {
  const auto count = parse_unsigned(trim(count_text));
  if (!count) return bad_devices(full, "the number of cpu devices must be a decimal integer");
  if (*count < 1 || *count > max_num_node_devices) {
    return bad_devices(
        full, fmt::format("the number of cpu devices must be in [1, {}]", max_num_node_devices));
  }
  std::vector<device_spec> devices;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(*count); ++i)
    devices.push_back({"cpu", i});
  return devices;
}

result<std::vector<device_spec>> parse_cuda_devices(std::string_view full, std::string_view list) {
  std::vector<device_spec> devices;
  std::set<std::int32_t> seen;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    const std::size_t dash = item.find('-');
    const auto first = parse_unsigned(trim(item.substr(0, dash)));
    const auto last =
        dash == std::string_view::npos ? first : parse_unsigned(trim(item.substr(dash + 1)));
    if (!first || !last)
      return bad_devices(full,
                         fmt::format("{} is not an index or a range a-b", quote_for_message(item)));
    if (*first > *last) return bad_devices(full, fmt::format("the range {} is reversed", item));
    if (*last >= max_num_node_devices) {
      return bad_devices(full,
                         fmt::format("device indices must be below {}", max_num_node_devices));
    }
    for (auto index = static_cast<std::int32_t>(*first); index <= *last; ++index) {
      if (!seen.insert(index).second) {
        return make_error(errc::invalid_argument, "device cuda:{} is listed twice in {}", index,
                          quote_for_message(full));
      }
      devices.push_back({"cuda", index});
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return devices;
}

}  // namespace

std::string quote_for_message(std::string_view text) {
  constexpr std::size_t max_shown = 64;
  if (text.size() <= max_shown) return fmt::format("\"{}\"", text);
  return fmt::format("\"{}...\"", text.substr(0, max_shown));
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

result<std::uint64_t> parse_size(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return make_error(
        errc::invalid_argument,
        R"(expected a size such as "1GiB", "512MiB", "2GB" or a byte count, got {}{})",
        quote_for_message(text), why);
  };
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad("");
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, count);
  if (ec != std::errc{} || end != text.data() + digits) return bad(" (too large)");
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);

  struct unit_scale {
    std::string_view name;
    std::uint64_t bytes;
  };
  static constexpr std::array<unit_scale, 10> units{{{"B", 1},
                                                     {"KB", 1000},
                                                     {"MB", 1000'000},
                                                     {"GB", 1000'000'000},
                                                     {"TB", 1000'000'000'000},
                                                     {"KiB", 1ULL << 10},
                                                     {"MiB", 1ULL << 20},
                                                     {"GiB", 1ULL << 30},
                                                     {"TiB", 1ULL << 40},
                                                     {"", 1}}};
  for (const auto& u : units) {
    if (unit != u.name) continue;
    if (unit.empty() && text.size() != digits) break;  // "12 " with a trailing space
    if (count > std::numeric_limits<std::uint64_t>::max() / u.bytes) return bad(" (too large)");
    return count * u.bytes;
  }
  return bad(" (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
}

result<std::vector<device_spec>> parse_devices(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return bad_devices(text, "");
  const std::string_view kind = trim(text.substr(0, colon));
  const std::string_view rest = text.substr(colon + 1);
  if (kind == "cpu") return parse_cpu_devices(text, rest);
  if (kind == "cuda") return parse_cuda_devices(text, rest);
  return bad_devices(
      text, fmt::format("unknown device kind {}; kinds: cpu, cuda", quote_for_message(kind)));
}

}  // namespace troupe
