#include "config/yaml_map.hpp"

#include <algorithm>

#include "config/config_values.hpp"

namespace troupe::config_detail {
namespace {

std::string join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (const auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// The mark of an empty value is the next token's; point at the key instead.
YAML::Mark value_mark(const YAML::Node& key, const YAML::Node& value) {
  return value.IsNull() ? key.Mark() : value.Mark();
}

}  // namespace

error yaml_source::error_at(const YAML::Mark& mark, std::string_view path,
                            std::string_view problem) const {
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  return make_error(errc::invalid_argument, "{}:{}:{}: {}: {}", file_name_, line, column,
                    path.empty() ? std::string_view("top level") : path, problem);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Scalar:
      return quote_for_message(node.Scalar());
    default:
      return "an empty value";
  }
}

std::string child_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string item_path(std::string_view parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

result<std::string> read_string(const yaml_source& source, const yaml_value& value) {
  if (!value.node.IsScalar() || value.node.Scalar().empty()) {
    return source.error_at(
        value, fmt::format("expected a non-empty string, got {}", describe(value.node)));
  }
  return value.node.Scalar();
}

result<std::int64_t> read_integer(const yaml_source& source, const yaml_value& value,
                                  std::int64_t min, std::int64_t max) {
  const auto number = value.node.IsScalar() ? parse_integer(value.node.Scalar()) : std::nullopt;
  if (!number || *number < min || *number > max) {
    return source.error_at(value, fmt::format("expected an integer in [{}, {}], got {}", min, max,
                                              describe(value.node)));
  }
  return *number;
}

result<std::uint64_t> read_size(const yaml_source& source, const yaml_value& value) {
  if (!value.node.IsScalar()) {
    return source.error_at(
        value,
        fmt::format(R"(expected a size such as "1GiB", "512MiB", "2GB" or a byte count, got {})",
                    describe(value.node)));
  }
  auto size = parse_size(value.node.Scalar());
  if (!size) return source.error_at(value, size.error().message);
  if (*size == 0) return source.error_at(value, "the size must be more than 0 bytes");
  return *size;
}

result<std::vector<device_spec>> read_devices(const yaml_source& source, const yaml_value& value) {
  if (!value.node.IsScalar()) {
    return source.error_at(
        value,
        fmt::format(R"(expected a device list such as "cpu:1", "cuda:0-7" or "cuda:0,2", got {})",
                    describe(value.node)));
  }
  auto devices = parse_devices(value.node.Scalar());
  if (!devices) return source.error_at(value, devices.error().message);
  return std::move(devices).value();
}

result<std::vector<yaml_value>> read_sequence(const yaml_source& source, const yaml_value& value) {
  if (!value.node.IsSequence()) {
    return source.error_at(value, fmt::format("expected a sequence, got {}", describe(value.node)));
  }
  std::vector<yaml_value> items;
  for (const YAML::Node& item : value.node) {
    const std::size_t index = items.size();
    items.push_back({item, item.IsNull() ? value.mark : item.Mark(), item_path(value.path, index)});
  }
  return items;
}

result<yaml_map> yaml_map::open(const yaml_source& source, yaml_value value,
                                std::initializer_list<std::string_view> allowed_keys) {
  yaml_map map(source, std::move(value));
  const YAML::Node& node = map.self_.node;
  if (node.IsNull()) return map;
  if (!node.IsMap()) {
    return source.error_at(map.self_, fmt::format("expected a mapping with keys {}, got {}",
                                                  join(allowed_keys), describe(node)));
  }
  for (const auto& entry : node) {  // a value (key, value pair), not a reference into the node
    const YAML::Node key = entry.first;
    if (!key.IsScalar()) {
      return source.error_at(key.Mark(), map.self_.path,
                             fmt::format("expected a key name, got {}", describe(key)));
    }
    const std::string& name = key.Scalar();
    const std::string path = child_path(map.self_.path, name);
    if (std::find(allowed_keys.begin(), allowed_keys.end(), name) == allowed_keys.end()) {
      return source.error_at(key.Mark(), path,
                             fmt::format("unknown key (expected one of {})", join(allowed_keys)));
    }
    if (map.find(name)) return source.error_at(key.Mark(), path, "duplicate key");
    map.entries_.emplace_back(name, yaml_value{entry.second, value_mark(key, entry.second), path});
  }
  return map;
}

std::optional<yaml_value> yaml_map::find(std::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) return value;
  }
  return std::nullopt;
}

result<yaml_value> yaml_map::require(std::string_view key) const {
  if (auto value = find(key)) return std::move(*value);
  return source_->error_at(self_, fmt::format("missing required key '{}'", key));
}

status yaml_map::read_string(std::string_view key, std::string& out) const {
  const auto value = find(key);
  if (!value) return ok();
  TROUPE_ASSIGN_OR_RETURN(out, config_detail::read_string(*source_, *value));
  return ok();
}

status yaml_map::read_size(std::string_view key, std::uint64_t& out) const {
  const auto value = find(key);
  if (!value) return ok();
  TROUPE_ASSIGN_OR_RETURN(out, config_detail::read_size(*source_, *value));
  return ok();
}

}  // namespace troupe::config_detail
