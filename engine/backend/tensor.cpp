#include "engine/backend/tensor.hpp"

namespace troupe {

std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::f32: return "F32";
    case dtype::f16: return "F16";
    case dtype::bf16: return "BF16";
  }
  return "?";
}

std::optional<dtype> dtype_from_name(std::string_view s) {
  if (s == "F32") return dtype::f32;
  if (s == "F16") return dtype::f16;
  if (s == "BF16") return dtype::bf16;
  return std::nullopt;
}

}  // namespace troupe
