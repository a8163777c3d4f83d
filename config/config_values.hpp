// Parsers for the scalar value formats of cluster.yaml: integers, byte sizes and device lists.
// They see only the text; errors are the "problem" part of a message ("expected ..., got ...") and
// the caller adds "file:line:col: key path: " in front.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cluster_config.hpp"
#include "engine/common/result.hpp"

namespace troupe {

// Most devices one node may list, and the largest device index: bounds "cpu:N" and "cuda:a-b" so a
// typo cannot allocate millions of entries.
inline constexpr std::int32_t max_num_node_devices = 1024;

// `text` in double quotes for "got ..." messages, cut to its first 64 characters (then "...").
std::string quote_for_message(std::string_view text);

// A decimal integer with an optional leading '-' or '+', nothing else (no spaces, no hex, no
// fraction). nullopt when malformed or outside int64.
std::optional<std::int64_t> parse_integer(std::string_view text);

// A byte size: a plain byte count ("1048576"), or a count with a unit, optionally separated by one
// space: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), case-sensitive.
// Errors: malformed text, an unknown unit, overflow of uint64.
result<std::uint64_t> parse_size(std::string_view text);

// A device list of one kind: "cpu:N" (N CPU devices cpu:0 .. cpu:N-1, N >= 1), or "cuda:" followed
// by comma-separated indices and inclusive ranges ("cuda:3", "cuda:0-7", "cuda:0,2,5",
// "cuda:0-3,6"). Errors: other kinds, malformed numbers, empty or reversed ranges, duplicates, more
// than max_num_node_devices devices or an index >= max_num_node_devices.
result<std::vector<device_spec>> parse_devices(std::string_view text);

}  // namespace troupe
