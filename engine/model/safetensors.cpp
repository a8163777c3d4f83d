#include "engine/model/safetensors.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <nlohmann/json.hpp>

namespace troupe {
namespace {

using json = nlohmann::json;

// The safetensors crate refuses headers above 100 MB; so do we.
constexpr std::uint64_t max_header_bytes = 100'000'000;

// dtypes of the safetensors format that troupe does not load (any other name is malformed).
constexpr std::array<std::string_view, 17> unsupported_dtypes{
    "BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F64", "C64",
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"};

struct entry_span {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

result<std::vector<std::int64_t>> read_shape(const json& value, std::string_view name, std::string_view file) {
  if (!value.is_array()) return make_error(errc::parse_error, "{}: tensor {}: \"shape\" is not an array", file, name);
  std::vector<std::int64_t> shape;
  for (const json& dim : value) {
    if (!dim.is_number_unsigned() || dim.get<std::uint64_t>() > (std::uint64_t{1} << 48)) {
      return make_error(errc::parse_error, "{}: tensor {}: bad dimension {} in shape {}", file, name, dim.dump(), value.dump());
    }
    shape.push_back(dim.get<std::int64_t>());
  }
  return shape;
}

result<entry_span> read_offsets(const json& value, std::string_view name, std::string_view file) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() || !value[1].is_number_unsigned()) {
    return make_error(errc::parse_error, "{}: tensor {}: \"data_offsets\" must be two non-negative integers, got {}", file, name,
                      value.dump());
  }
  entry_span span{value[0].get<std::uint64_t>(), value[1].get<std::uint64_t>()};
  if (span.begin > span.end) {
    return make_error(errc::parse_error, "{}: tensor {}: data_offsets [{}, {}] end before they begin", file, name, span.begin, span.end);
  }
  return span;
}

result<dtype> read_dtype(const json& value, std::string_view name, std::string_view file) {
  if (!value.is_string()) return make_error(errc::parse_error, "{}: tensor {}: \"dtype\" is not a string", file, name);
  auto type_name = value.get<std::string>();
  if (auto type = dtype_from_name(type_name)) return *type;
  if (std::find(unsupported_dtypes.begin(), unsupported_dtypes.end(), type_name) != unsupported_dtypes.end()) {
    return make_error(errc::unsupported, "{}: tensor {} has dtype {}; troupe loads only BF16, F16 and F32", file, name, type_name);
  }
  return make_error(errc::parse_error, "{}: tensor {} has unknown dtype \"{}\"", file, name, type_name);
}

// One header entry -> tensor_info, checked against the data region.
result<tensor_info> read_entry(const std::string& name, const json& value, std::span<const std::byte> data,
                               std::string_view file) {
  if (!value.is_object()) return make_error(errc::parse_error, "{}: tensor {}: entry is not an object", file, name);
  auto field = [&](std::string_view key) -> result<const json*> {
    auto it = value.find(key);
    if (it == value.end()) return make_error(errc::parse_error, "{}: tensor {}: missing \"{}\"", file, name, key);
    return &*it;
  };
  tensor_info info;
  info.name = name;
  info.file = std::string(file);
  TROUPE_ASSIGN_OR_RETURN(const json* type, field("dtype"));
  TROUPE_ASSIGN_OR_RETURN(info.type, read_dtype(*type, name, file));
  TROUPE_ASSIGN_OR_RETURN(const json* shape, field("shape"));
  TROUPE_ASSIGN_OR_RETURN(info.shape, read_shape(*shape, name, file));
  TROUPE_ASSIGN_OR_RETURN(const json* offsets, field("data_offsets"));
  TROUPE_ASSIGN_OR_RETURN(entry_span span, read_offsets(*offsets, name, file));
  std::uint64_t expected_bytes = dtype_size_bytes(info.type);
  for (std::int64_t dim : info.shape) {
    if (__builtin_mul_overflow(expected_bytes, static_cast<std::uint64_t>(dim), &expected_bytes)) {
      return make_error(errc::parse_error, "{}: tensor {}: shape {} overflows", file, name, shape->dump());
    }
  }
  if (span.end - span.begin != expected_bytes) {
    return make_error(errc::parse_error, "{}: tensor {}: data_offsets [{}, {}] hold {} bytes but {} {} needs {}", file, name,
                      span.begin, span.end, span.end - span.begin, dtype_name(info.type), shape->dump(), expected_bytes);
  }
  if (span.end > data.size()) {
    return make_error(errc::parse_error, "{}: tensor {}: data_offsets [{}, {}] run past the data region ({} bytes; truncated file?)",
                      file, name, span.begin, span.end, data.size());
  }
  info.data = data.data() + span.begin;
  info.size_bytes = static_cast<std::size_t>(expected_bytes);
  return info;
}

status check_no_overlaps(std::vector<tensor_info>& tensors, std::string_view file) {
  std::sort(tensors.begin(), tensors.end(), [](const tensor_info& a, const tensor_info& b) { return a.data < b.data; });
  for (std::size_t i = 1; i < tensors.size(); ++i) {
    const tensor_info& prev = tensors[i - 1];
    if (tensors[i].data < prev.data + prev.size_bytes) {
      return make_error(errc::parse_error, "{}: tensors {} and {} overlap in the data region", file, prev.name, tensors[i].name);
    }
  }
  return ok();
}

}  // namespace

result<std::vector<tensor_info>> parse_safetensors(std::span<const std::byte> bytes, std::string_view file) {
  if (bytes.size() < 8) return make_error(errc::parse_error, "{}: {} bytes is too short for a safetensors file", file, bytes.size());
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), 8);  // little-endian hosts only (x86-64, aarch64)
  if (header_bytes > max_header_bytes || header_bytes > bytes.size() - 8) {
    return make_error(errc::parse_error, "{}: header length {} does not fit in the file ({} bytes)", file, header_bytes, bytes.size());
  }
  const char* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  json header = json::parse(header_begin, header_begin + header_bytes, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return make_error(errc::parse_error, "{}: the {}-byte header is not a JSON object", file, header_bytes);
  }
  std::span<const std::byte> data = bytes.subspan(8 + header_bytes);
  std::vector<tensor_info> tensors;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") continue;
    TROUPE_ASSIGN_OR_RETURN(tensor_info info, read_entry(name, value, data, file));
    tensors.push_back(std::move(info));
  }
  TROUPE_RETURN_IF_ERROR(check_no_overlaps(tensors, file));
  return tensors;
}

result<safetensors_file> open_safetensors(const std::filesystem::path& path) {
  safetensors_file out;
  TROUPE_ASSIGN_OR_RETURN(out.mapping, mapped_file::open(path));
  TROUPE_ASSIGN_OR_RETURN(out.tensors, parse_safetensors(out.mapping.bytes(), path.string()));
  return out;
}

std::size_t safetensors_entry::size_bytes() const {
  std::size_t bytes = dtype_size_bytes(type);
  for (std::int64_t dim : shape) bytes *= static_cast<std::size_t>(dim);
  return bytes;
}

std::string safetensors_header(std::span<const safetensors_entry> entries) {
  // Written by hand so that the entries keep the given order (nlohmann::json sorts keys).
  std::string header = R"({"__metadata__":{"format":"pt"})";
  std::size_t offset = 0;
  for (const safetensors_entry& entry : entries) {
    std::string shape;
    for (std::int64_t dim : entry.shape) shape += fmt::format("{}{}", shape.empty() ? "" : ",", dim);
    std::size_t end = offset + entry.size_bytes();
    header += fmt::format(R"(,{}:{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", json(entry.name).dump(),
                          dtype_name(entry.type), shape, offset, end);
    offset = end;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  std::uint64_t header_bytes = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &header_bytes, 8);
  return out + header;
}

}  // namespace troupe
