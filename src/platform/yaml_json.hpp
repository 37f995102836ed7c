#pragma once
// Converts YAML to JSON with YAML's plain-scalar typing: `4` is a number, `true` a boolean,
// `"4"` (quoted) a string. Used wherever YAML settings feed code that reads JSON.
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace shopctl::platform {

nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace shopctl::platform
