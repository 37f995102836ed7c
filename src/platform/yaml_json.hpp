#pragma once
// Converts YAML to JSON with YAML's plain-scalar typing: `4` is a number, `true` a boolean,
// `"4"` (quoted) a string. Used wherever YAML settings feed code that reads JSON.
#include <cstddef>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace shopctl::platform {

// The most values and nesting levels one conversion produces. An alias (`*name`) repeats what
// it points to, so a few hundred bytes of nested aliases expand to billions of values.
inline constexpr std::size_t kMaxYamlJsonValues = 1'000'000;
inline constexpr int kMaxYamlJsonDepth = 64;

// Returns `node` as JSON; throws std::invalid_argument when it expands beyond the limits above.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace shopctl::platform
