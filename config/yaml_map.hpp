// Reading cluster.yaml nodes with positions: every failure becomes an error
// "<file>:<line>:<col>: <key path>: <problem>" (1-based), never a yaml-cpp exception. Internal to
// troupe_config.
//
// yaml-cpp 0.7 facts this relies on (DEPENDENCIES.md): marks are 0-based; a missing key has no
// position, so presence is checked here and reported at the parent mapping; an empty value ("key:")
// carries the mark of the next token, so messages about it point at its key instead.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/cluster_config.hpp"
#include "engine/common/result.hpp"

namespace troupe::config_detail {

// One node of the document with where to point messages about it.
struct yaml_value {
  YAML::Node node;
  YAML::Mark mark;   // 0-based, from yaml-cpp; the key's mark for an empty value
  std::string path;  // key path for messages: "models[0].parallel"; empty for the document root
};

// The file name that prefixes messages.
class yaml_source {
 public:
  explicit yaml_source(std::string file_name) : file_name_(std::move(file_name)) {}

  // errc::invalid_argument "<file>:<line>:<col>: <path>: <problem>"; a null mark reads as 1:1.
  error error_at(const YAML::Mark& mark, std::string_view path, std::string_view problem) const;
  error error_at(const yaml_value& value, std::string_view problem) const {
    return error_at(value.mark, value.path, problem);
  }
  const std::string& file_name() const { return file_name_; }

 private:
  std::string file_name_;
};

// "a mapping", "a sequence", "an empty value" or the quoted scalar text, for "got ..." messages.
std::string describe(const YAML::Node& node);
std::string child_path(std::string_view parent, std::string_view key);
std::string item_path(std::string_view parent, std::size_t index);

// Scalar readers; `what` messages say what was expected and what was found.
result<std::string> read_string(const yaml_source& source,
                                const yaml_value& value);  // non-empty scalar
result<std::int64_t> read_integer(const yaml_source& source, const yaml_value& value,
                                  std::int64_t min, std::int64_t max);
result<std::uint64_t> read_size(const yaml_source& source, const yaml_value& value);  // > 0 bytes
result<std::vector<device_spec>> read_devices(const yaml_source& source, const yaml_value& value);
// The items of a sequence, with paths "<path>[i]".
result<std::vector<yaml_value>> read_sequence(const yaml_source& source, const yaml_value& value);

// A mapping whose keys were checked: each a scalar, each once, each one of the allowed keys. An
// empty value reads as an empty mapping, so "head:" alone means all defaults.
class yaml_map {
 public:
  static result<yaml_map> open(const yaml_source& source, yaml_value value,
                               std::initializer_list<std::string_view> allowed_keys);

  const yaml_value& self() const { return self_; }
  // The value under `key`, or nullopt when the key is absent.
  std::optional<yaml_value> find(std::string_view key) const;
  // The value under `key`, or "missing required key '<key>'" at this mapping's position.
  result<yaml_value> require(std::string_view key) const;

  // Optional keys: `out` keeps its default when the key is absent.
  status read_string(std::string_view key, std::string& out) const;
  status read_size(std::string_view key, std::uint64_t& out) const;
  template <std::integral T>
  status read_integer(std::string_view key, std::int64_t min, std::int64_t max, T& out) const {
    const auto value = find(key);
    if (!value) return ok();
    TROUPE_ASSIGN_OR_RETURN(const std::int64_t number,
                            config_detail::read_integer(*source_, *value, min, max));
    out = static_cast<T>(number);
    return ok();
  }

 private:
  yaml_map(const yaml_source& source, yaml_value self) : source_(&source), self_(std::move(self)) {}

  const yaml_source* source_;
  yaml_value self_;
  std::vector<std::pair<std::string, yaml_value>> entries_;  // in document order
};

}  // namespace troupe::config_detail
