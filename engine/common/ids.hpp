// Strong id types, so a block id is never passed where a request id is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace troupe {

template <class Tag, class Rep>
struct strong_id {
  Rep value{};

  constexpr strong_id() = default;
  constexpr explicit strong_id(Rep v) : value(v) {}
  constexpr auto operator<=>(const strong_id&) const = default;
};

using request_id = strong_id<struct request_id_tag, std::uint64_t>;
using block_id = strong_id<struct block_id_tag, std::int32_t>;

// Token ids stay plain int32 (they are tensor data: embedding indices, sampled ids on devices).
using token_id = std::int32_t;

}  // namespace troupe

template <class Tag, class Rep>
struct std::hash<troupe::strong_id<Tag, Rep>> {
  std::size_t operator()(const troupe::strong_id<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value);
  }
};
