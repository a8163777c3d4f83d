// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC'11), the generator behind cuRAND's and PyTorch's device RNG.
//
// A draw is a pure function of (key, counter), so a sequence's draws do not depend on what else
// was batched with it, on thread count, or on whether it was preempted and recomputed.
#pragma once

#include <array>
#include <cstdint>

namespace troupe {

using philox_counter = std::array<std::uint32_t, 4>;
using philox_key = std::array<std::uint32_t, 2>;

// Ten rounds of Philox4x32; matches Random123's kat_vectors.
philox_counter philox4x32_10(philox_counter counter, philox_key key);

// A uniform double in [0, 1) with 53 random bits for the draw at `output_index` of the request
// seeded with `seed`: key = seed (low word first), counter = (output_index low, high, 0, 0).
double draw_uniform(std::uint64_t seed, std::uint64_t output_index);

}  // namespace troupe
