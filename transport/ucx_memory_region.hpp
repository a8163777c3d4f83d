// memory_region on ucp_mem_map(UCP_MEM_MAP_ALLOCATE): UCX allocates the memory itself so that
// shared-memory transports can map it into peers. Owns the mapping and the packed rkey.
#pragma once

#include "transport/transport.hpp"
#include "transport/ucx_util.hpp"

namespace troupe::transport_detail {

class ucx_memory_region final : public memory_region {
 public:
  // Thread-safe (the context is created with mt_workers_shared). Errors: size 0, out of memory.
  static result<std::unique_ptr<memory_region>> allocate(shared_context context, std::size_t size_bytes);
  ~ucx_memory_region() override;
  ucx_memory_region(const ucx_memory_region&) = delete;
  ucx_memory_region& operator=(const ucx_memory_region&) = delete;

  std::byte* data() override { return data_; }
  std::size_t size_bytes() const override { return size_bytes_; }
  std::vector<std::byte> packed_rkey() const override { return packed_rkey_; }

 private:
  ucx_memory_region(shared_context context, ucp_mem_h memh, std::byte* data, std::size_t size_bytes,
                    std::vector<std::byte> packed_rkey);

  shared_context context_;
  ucp_mem_h memh_;
  std::byte* data_;
  std::size_t size_bytes_;
  std::vector<std::byte> packed_rkey_;
};

}  // namespace troupe::transport_detail
