#pragma once
// Converts YAML to JSON with YAML's plain-scalar typing: `4` is a number, `true` a boolean,
// `"4"` (quoted) a string. Used wherever YAML settings feed code that reads JSON.
#include <cstddef>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace shopctl::platform {

// The most values and nesting levels one conversion produces. An alias (`*name`) repeats what
// it points to, so a few hundred bytes of nested aliases expand to billions of values.
inline constexpr std::size_t kMaxYamlJsonValues = 1'000'000;
inline constexpr int kMaxYamlJsonDepth = 64;

// Returns `node` as JSON; throws std::invalid_argument when it expands beyond the limits above.
nlohmann::json yaml_to_json(const YAML::Node& node);

// What is wrong with a YAML tree as a whole, for a file a person wrote (a config, a scenario's
// `config:`): each key given twice in one mapping (yaml-cpp keeps both, and `node["key"]`
// finds the first, so the second was dropped without a word), nesting deeper than
// kMaxYamlJsonDepth, and aliases that expand it past kMaxYamlJsonValues nodes. The walk stops
// at that budget, so nested aliases cost at most a million visits, not billions.
struct YamlTreeProblem {
  YAML::Mark mark;
  std::string message;
  // A key given twice leaves the rest of the file readable (its other problems can be said
  // too); too deep or too many nodes does not (the walk stopped).
  bool stops_reading = false;
};
// A node with an explicit YAML tag (`!!int 5`, `!custom x`, `!!python/object`) is a problem
// too, but `!!str`, which says what quotes say: tags were ignored, so `status: !!str 200` was
// read as the number 200 and `!!python/object` went unnoticed (an outside probe).
std::vector<YamlTreeProblem> yaml_tree_problems(const YAML::Node& root);
// Only those tags (for a scenario file, whose parser says the rest in its own words).
std::vector<YamlTreeProblem> yaml_tag_problems(const YAML::Node& root);
// What is said about a tag (as yaml-cpp gives it) that is not read.
std::string yaml_tag_message(const std::string& tag);
// A scalar that is a string by how it is written: quoted, or tagged `!!str`.
bool yaml_quoted(const YAML::Node& node);
// A tag written on `node` other than `!!str` (which yaml_quoted reads): refused where read.
bool yaml_unread_tag(const YAML::Node& node);

}  // namespace shopctl::platform
