#include "transport/ucx_memory_region.hpp"

namespace troupe::transport_detail {

result<std::unique_ptr<memory_region>> ucx_memory_region::allocate(shared_context context, std::size_t size_bytes) {
  if (size_bytes == 0) return make_error(errc::invalid_argument, "allocate_region: size_bytes must be positive");
  ucp_mem_map_params_t params{};
  params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH | UCP_MEM_MAP_PARAM_FIELD_FLAGS;
  params.address = nullptr;
  params.length = size_bytes;
  params.flags = UCP_MEM_MAP_ALLOCATE;
  ucp_mem_h memh = nullptr;
  ucs_status_t status = ucp_mem_map(context.get(), &params, &memh);
  if (status != UCS_OK) {
    return ucx_error(errc::out_of_memory, fmt::format("ucp_mem_map of {} bytes failed", size_bytes), status);
  }
  ucp_mem_attr_t attr{};
  attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS | UCP_MEM_ATTR_FIELD_LENGTH;
  status = ucp_mem_query(memh, &attr);
  if (status != UCS_OK || attr.length < size_bytes) {
    ucp_mem_unmap(context.get(), memh);
    return ucx_error(errc::internal, "ucp_mem_query of a new region failed", status);
  }
  void* rkey_buffer = nullptr;
  std::size_t rkey_size = 0;
  status = ucp_rkey_pack(context.get(), memh, &rkey_buffer, &rkey_size);
  if (status != UCS_OK) {
    ucp_mem_unmap(context.get(), memh);
    return ucx_error(errc::internal, "ucp_rkey_pack failed", status);
  }
  const auto* first = static_cast<const std::byte*>(rkey_buffer);
  std::vector<std::byte> packed(first, first + rkey_size);
  ucp_rkey_buffer_release(rkey_buffer);
  return std::unique_ptr<memory_region>(new ucx_memory_region(std::move(context), memh,
                                                              static_cast<std::byte*>(attr.address), size_bytes,
                                                              std::move(packed)));
}

ucx_memory_region::ucx_memory_region(shared_context context, ucp_mem_h memh, std::byte* data, std::size_t size_bytes,
                                     std::vector<std::byte> packed_rkey)
    : context_(std::move(context)), memh_(memh), data_(data), size_bytes_(size_bytes),
      packed_rkey_(std::move(packed_rkey)) {}

ucx_memory_region::~ucx_memory_region() { ucp_mem_unmap(context_.get(), memh_); }

}  // namespace troupe::transport_detail
