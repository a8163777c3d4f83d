#include "engine/backend/backend.hpp"

#include <utility>

namespace troupe {

device_buffer::~device_buffer() {
  if (owner_ != nullptr && data_ != nullptr) owner_->deallocate(data_, size_bytes_);
}

void device_buffer::swap(device_buffer& other) noexcept {
  std::swap(owner_, other.owner_);
  std::swap(data_, other.data_);
  std::swap(size_bytes_, other.size_bytes_);
}

tensor device_buffer::as_tensor(dtype type, std::int64_t rows, std::int64_t cols) const {
  return tensor::contiguous(data_, type, rows, cols);
}

}  // namespace troupe
