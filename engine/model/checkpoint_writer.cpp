#include "engine/model/checkpoint_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/random_weights.hpp"
#include "engine/model/safetensors.hpp"

namespace troupe {
namespace {

constexpr std::size_t chunk_bytes = 32 << 20;         // one write() of generated data
constexpr std::size_t min_bytes_per_thread = 1 << 20;  // below this a chunk is filled by one thread

// A file opened for writing; closed (and its close checked) by finish() or the destructor.
class output_file {
 public:
  static result<output_file> create(const std::filesystem::path& path) {
    output_file out;
    out.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out.fd_ < 0) return make_error(errc::io_error, "cannot create {}: {}", path.string(), std::strerror(errno));
    out.path_ = path;
    return out;
  }
  output_file() = default;
  output_file(output_file&& other) noexcept : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}
  output_file& operator=(output_file&&) = delete;
  ~output_file() {
    if (fd_ >= 0) ::close(fd_);
  }

  status write_all(const void* data, std::size_t size_bytes) {
    const auto* p = static_cast<const char*>(data);
    while (size_bytes > 0) {
      ssize_t n = ::write(fd_, p, size_bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return make_error(errc::io_error, "cannot write {}: {}", path_.string(), std::strerror(errno));
      p += n;
      size_bytes -= static_cast<std::size_t>(n);
    }
    return ok();
  }
  status finish() {
    int rc = ::close(std::exchange(fd_, -1));
    if (rc != 0) return make_error(errc::io_error, "cannot close {}: {}", path_.string(), std::strerror(errno));
    return ok();
  }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// One tensor placed in a shard's data region.
struct placed_tensor {
  const hf_tensor_spec* spec;
  random_tensor_init init;
  std::size_t begin_bytes;  // offset in the data region
  std::size_t size_bytes;
};

struct shard_plan {
  std::vector<placed_tensor> tensors;
  std::size_t data_bytes = 0;
};

std::vector<shard_plan> plan_shards(std::span<const hf_tensor_spec> specs, const weight_write_options& options) {
  std::vector<shard_plan> shards(1);
  for (const hf_tensor_spec& spec : specs) {
    std::size_t size = safetensors_entry{spec.name, options.type, spec.shape}.size_bytes();
    if (!shards.back().tensors.empty() && shards.back().data_bytes + size > static_cast<std::size_t>(options.max_shard_bytes)) {
      shards.emplace_back();
    }
    shard_plan& shard = shards.back();
    shard.tensors.push_back({&spec, random_init_for(spec, options.seed), shard.data_bytes, size});
    shard.data_bytes += size;
  }
  return shards;
}

// Fills bytes [begin, end) of the shard's data region into `out`. Offsets are element-aligned.
void fill_region(const shard_plan& shard, dtype type, std::size_t begin, std::size_t end, std::byte* out) {
  const std::size_t element_bytes = dtype_size_bytes(type);
  for (const placed_tensor& t : shard.tensors) {
    std::size_t lo = std::max(begin, t.begin_bytes);
    std::size_t hi = std::min(end, t.begin_bytes + t.size_bytes);
    if (lo >= hi) continue;
    fill_random(t.init, type, static_cast<std::int64_t>((lo - t.begin_bytes) / element_bytes),
                static_cast<std::int64_t>((hi - lo) / element_bytes), out + (lo - begin));
  }
}

void fill_parallel(const shard_plan& shard, dtype type, std::size_t begin, std::size_t end, std::byte* out) {
  const std::size_t element_bytes = dtype_size_bytes(type);
  std::size_t num_threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 64);
  num_threads = std::max<std::size_t>(1, std::min(num_threads, (end - begin) / min_bytes_per_thread));
  std::size_t per_thread = ((end - begin) / num_threads + element_bytes - 1) / element_bytes * element_bytes;
  std::vector<std::jthread> workers;
  for (std::size_t i = 1; i < num_threads; ++i) {
    std::size_t lo = std::min(end, begin + i * per_thread);
    std::size_t hi = std::min(end, lo + per_thread);
    if (lo < hi) workers.emplace_back([&, lo, hi] { fill_region(shard, type, lo, hi, out + (lo - begin)); });
  }
  fill_region(shard, type, begin, std::min(end, begin + per_thread), out);
}

// Header, then the data region in chunks: chunk k + 1 is generated while chunk k is written.
status write_shard(const shard_plan& shard, dtype type, const std::filesystem::path& path) {
  std::vector<safetensors_entry> entries;
  for (const placed_tensor& t : shard.tensors) entries.push_back({t.spec->name, type, t.spec->shape});
  TROUPE_ASSIGN_OR_RETURN(output_file file, output_file::create(path));
  std::string header = safetensors_header(entries);
  TROUPE_RETURN_IF_ERROR(file.write_all(header.data(), header.size()));
  std::vector<std::byte> buffers[2];
  auto chunk_end = [&](std::size_t begin) { return std::min(shard.data_bytes, begin + chunk_bytes); };
  auto generate = [&](std::size_t begin, std::vector<std::byte>& buffer) {
    buffer.resize(chunk_end(begin) - begin);
    fill_parallel(shard, type, begin, chunk_end(begin), buffer.data());
  };
  if (shard.data_bytes > 0) generate(0, buffers[0]);
  for (std::size_t begin = 0, k = 0; begin < shard.data_bytes; begin = chunk_end(begin), ++k) {
    std::future<void> next;
    std::size_t next_begin = chunk_end(begin);
    if (next_begin < shard.data_bytes) {
      next = std::async(std::launch::async, generate, next_begin, std::ref(buffers[(k + 1) % 2]));
    }
    status written = file.write_all(buffers[k % 2].data(), buffers[k % 2].size());
    if (next.valid()) next.get();
    TROUPE_RETURN_IF_ERROR(written);
  }
  return file.finish();
}

status write_index(const std::vector<shard_plan>& shards, const std::vector<std::string>& names, const std::filesystem::path& path) {
  nlohmann::json weight_map = nlohmann::json::object();
  std::size_t total_bytes = 0;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (const placed_tensor& t : shards[i].tensors) weight_map[t.spec->name] = names[i];
    total_bytes += shards[i].data_bytes;
  }
  nlohmann::json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
  TROUPE_ASSIGN_OR_RETURN(output_file file, output_file::create(path));
  std::string text = index.dump(2) + "\n";
  TROUPE_RETURN_IF_ERROR(file.write_all(text.data(), text.size()));
  return file.finish();
}

}  // namespace

status write_random_weights(std::span<const hf_tensor_spec> specs, const weight_write_options& options) {
  std::vector<shard_plan> shards = plan_shards(specs, options);
  if (shards.size() == 1) return write_shard(shards[0], options.type, options.out_dir / "model.safetensors");
  std::vector<std::string> names;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    names.push_back(fmt::format("model-{:05}-of-{:05}.safetensors", i + 1, shards.size()));
    TROUPE_RETURN_IF_ERROR(write_shard(shards[i], options.type, options.out_dir / names.back()));
  }
  return write_index(shards, names, options.out_dir / "model.safetensors.index.json");
}

}  // namespace troupe
