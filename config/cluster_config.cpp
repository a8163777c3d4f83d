#include "config/cluster_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "config/cluster_sections.hpp"
#include "config/placement.hpp"
#include "config/yaml_map.hpp"

namespace troupe {
namespace {

// A cluster.yaml is a few kilobytes; anything far larger is not one.
constexpr std::uintmax_t max_config_file_bytes = 16ULL << 20;

// yaml-cpp throws on syntax errors (and on nesting deeper than its depth guard); the mark is
// 0-based.
result<YAML::Node> load_yaml(std::string_view text, const std::string& file_name) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {  // also YAML::DeepRecursion
    const int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    const int column = e.mark.is_null() ? 1 : e.mark.column + 1;
    return make_error(errc::parse_error, "{}:{}:{}: invalid YAML: {}", file_name, line, column,
                      e.msg);
  } catch (const YAML::Exception& e) {
    return make_error(errc::parse_error, "{}: invalid YAML: {}", file_name, e.what());
  }
}

}  // namespace

std::string device_spec::name() const {
  return fmt::format("{}:{}", kind, index);
}

const node_config* cluster_config::find_node(std::string_view node_name) const {
  for (const auto& node : nodes) {
    if (node.name == node_name) return &node;
  }
  return nullptr;
}

result<cluster_config> parse_cluster_config(std::string_view yaml_text,
                                            const std::filesystem::path& file_name) {
  const std::string shown_name = file_name.string();
  TROUPE_ASSIGN_OR_RETURN(const YAML::Node root, load_yaml(yaml_text, shown_name));
  const config_detail::yaml_source source(shown_name);
  if (root.IsNull()) {
    return source.error_at(root.Mark(), "",
                           "the document is empty; expected a mapping with keys nodes and models");
  }
  TROUPE_ASSIGN_OR_RETURN(config_detail::parsed_document document,
                          config_detail::read_document(source, root, file_name.parent_path()));
  document.config.file = file_name;

  // Every replica must fit on the configured nodes, or the cluster could never serve in full.
  std::size_t failed_model = 0;
  auto placed = config_detail::place_replicas_of(document.config, {}, &failed_model);
  if (!placed) {
    const config_detail::yaml_value& anchor = document.model_anchors.at(failed_model);
    return source.error_at(anchor, fmt::format("placement impossible: {}", placed.error().message));
  }
  return std::move(document.config);
}

result<cluster_config> load_cluster_config(const std::filesystem::path& file) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) {
    const errc code = ec == std::errc::no_such_file_or_directory ? errc::not_found : errc::io_error;
    return make_error(code, "cannot read cluster config {}: {}", file.string(), ec.message());
  }
  if (size > max_config_file_bytes) {
    return make_error(errc::invalid_argument,
                      "cluster config {} is {} bytes; a cluster.yaml is at most {} bytes",
                      file.string(), size, max_config_file_bytes);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return make_error(errc::io_error, "cannot open cluster config {}: {}", file.string(),
                      std::strerror(errno));
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    return make_error(errc::io_error, "cannot read cluster config {}: read {} of {} bytes",
                      file.string(), in.gcount(), size);
  }
  return parse_cluster_config(text, file);
}

}  // namespace troupe
