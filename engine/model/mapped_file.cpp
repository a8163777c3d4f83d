#include "engine/model/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace troupe {
namespace {

// Closes a file descriptor on scope exit; the mapping stays valid after close.
struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

result<mapped_file> mapped_file::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return make_error(err == ENOENT ? errc::not_found : errc::io_error, "cannot open {}: {}", path.string(), std::strerror(err));
  }
  fd_closer closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) return make_error(errc::io_error, "cannot stat {}: {}", path.string(), std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return make_error(errc::io_error, "{} is not a regular file", path.string());
  mapped_file file;
  file.path_ = path;
  file.size_bytes_ = static_cast<std::size_t>(info.st_size);
  if (file.size_bytes_ == 0) return file;
  void* data = ::mmap(nullptr, file.size_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) {
    int err = errno;
    return make_error(err == ENOMEM ? errc::out_of_memory : errc::io_error, "cannot map {} ({} bytes): {}", path.string(),
                      file.size_bytes_, std::strerror(err));
  }
  file.data_ = static_cast<const std::byte*>(data);
  return file;
}

mapped_file::~mapped_file() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_bytes_);
}

void mapped_file::swap(mapped_file& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(size_bytes_, other.size_bytes_);
  std::swap(path_, other.path_);
}

}  // namespace troupe
