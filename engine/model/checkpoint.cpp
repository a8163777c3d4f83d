#include "engine/model/checkpoint.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace troupe {
namespace {

using json = nlohmann::json;

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += fmt::format("{}{}", i == 0 ? "" : ", ", shape[i]);
  return out + "]";
}

// weight_map of an index file: tensor name -> shard file name (a plain name in the same folder).
result<std::map<std::string, std::string>> read_weight_map(const std::filesystem::path& index_file) {
  std::ifstream in(index_file, std::ios::binary);
  if (!in) return make_error(errc::not_found, "cannot open {}", index_file.string());
  std::ostringstream text;
  text << in.rdbuf();
  json index = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object()) return make_error(errc::parse_error, "{}: not a JSON object", index_file.string());
  auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object() || map->empty()) {
    return make_error(errc::parse_error, "{}: field \"weight_map\" is missing, empty or not an object", index_file.string());
  }
  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) return make_error(errc::parse_error, "{}: weight_map[\"{}\"] is not a string", index_file.string(), name);
    auto file = shard.get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
      return make_error(errc::parse_error, "{}: weight_map[\"{}\"] names \"{}\", not a file in the checkpoint folder",
                        index_file.string(), name, file);
    }
    weight_map.emplace(name, std::move(file));
  }
  return weight_map;
}

}  // namespace

result<checkpoint> checkpoint::open(const std::filesystem::path& model_dir) {
  std::error_code ec;
  auto single = model_dir / "model.safetensors";
  if (std::filesystem::exists(single, ec)) {
    TROUPE_ASSIGN_OR_RETURN(checkpoint out, open_single(single));
    out.dir_ = model_dir;
    return out;
  }
  auto index = model_dir / "model.safetensors.index.json";
  if (std::filesystem::exists(index, ec)) {
    TROUPE_ASSIGN_OR_RETURN(checkpoint out, open_sharded(index));
    out.dir_ = model_dir;
    return out;
  }
  return make_error(errc::not_found, "{} has neither model.safetensors nor model.safetensors.index.json", model_dir.string());
}

result<checkpoint> checkpoint::open_single(const std::filesystem::path& file) {
  TROUPE_ASSIGN_OR_RETURN(safetensors_file parsed, open_safetensors(file));
  checkpoint out;
  for (tensor_info& info : parsed.tensors) {
    std::string name = info.name;
    out.tensors_.emplace(std::move(name), std::move(info));
  }
  out.files_.push_back(std::move(parsed.mapping));
  return out;
}

result<checkpoint> checkpoint::open_sharded(const std::filesystem::path& index_file) {
  TROUPE_ASSIGN_OR_RETURN(auto weight_map, read_weight_map(index_file));
  std::set<std::string> shard_names;
  for (const auto& [name, shard] : weight_map) shard_names.insert(shard);
  checkpoint out;
  for (const std::string& shard_name : shard_names) {
    auto shard_path = index_file.parent_path() / shard_name;
    auto parsed = open_safetensors(shard_path);
    if (!parsed) {
      auto err = std::move(parsed).error();
      if (err.code == errc::not_found) {
        return make_error(errc::not_found, "{} lists shard {}, which does not exist", index_file.string(), shard_path.string());
      }
      return err;
    }
    for (tensor_info& info : parsed->tensors) {
      auto listed = weight_map.find(info.name);
      if (listed == weight_map.end() || listed->second != shard_name) {
        return make_error(errc::parse_error, "{}: tensor {} is in shard {} but {} does not list it there", shard_path.string(),
                          info.name, shard_name, index_file.string());
      }
      std::string name = info.name;
      out.tensors_.emplace(std::move(name), std::move(info));
    }
    out.files_.push_back(std::move(parsed->mapping));
  }
  for (const auto& [name, shard] : weight_map) {
    if (!out.tensors_.contains(name)) {
      return make_error(errc::not_found, "{} lists tensor {} in shard {}, which does not contain it", index_file.string(), name, shard);
    }
  }
  return out;
}

const tensor_info* checkpoint::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

result<tensor> checkpoint::get(std::string_view name, std::int64_t rows, std::int64_t cols) const {
  const tensor_info* info = find(name);
  if (info == nullptr) {
    return make_error(errc::not_found, "checkpoint {} has no tensor {} (expected shape [{}, {}])", dir_.string(), name, rows, cols);
  }
  const auto& shape = info->shape;
  bool matches = (shape.size() == 2 && shape[0] == rows && shape[1] == cols) ||
                 (shape.size() == 1 && rows == 1 && shape[0] == cols);
  if (!matches) {
    return make_error(errc::invalid_argument, "{}: tensor {} has shape {}, expected [{}, {}]", info->file, name,
                      shape_string(shape), rows, cols);
  }
  // The mapping is read-only; tensor's pointer is non-const only because it also views writable memory.
  return tensor::contiguous(const_cast<std::byte*>(info->data), info->type, rows, cols);
}

std::vector<std::string> checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

std::size_t checkpoint::total_bytes() const {
  std::size_t total = 0;
  for (const auto& [name, info] : tensors_) total += info.size_bytes;
  return total;
}

}  // namespace troupe
