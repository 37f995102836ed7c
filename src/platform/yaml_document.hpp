#pragma once
// Loading YAML text that a user wrote (a scenario, a config, a vars or faults file, a catalog,
// a deployment). yaml-cpp 0.7's YAML::LoadAll never returns on some invalid input: after
// `a #note` a line starting with `,` makes its parser begin an empty document at the same place
// again and again, each one kept. These helpers count the documents first, with a pass that
// builds nothing and stops when a document starts where the previous one did, and then load
// only the first. YAML::Load alone would return `a` and drop the rest without a word.
#include <cstddef>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace shopctl::platform {

// The most nodes (keys, values, lists, maps; an alias counts once) a text may hold: the same
// million as the values a file may expand to (yaml_json.hpp). yaml-cpp keeps about 700 bytes
// per node, so a 16 MiB file of small steps took 1.9 GB to load; the pass that counts the
// documents counts the nodes too and refuses more before anything is built.
inline constexpr std::size_t kMaxYamlNodes = 1'000'000;

struct YamlDocuments {
  YAML::Node first;          // null when the text holds no document
  std::size_t count = 0;     // how many documents the text holds
  YAML::Mark second_mark{};  // where the second one starts, when count > 1
};

// Parses every document of `text` and loads the first. Throws YAML::ParserException for
// invalid YAML, including input the parser cannot move past (its mark points there), and at
// the node past kMaxYamlNodes.
YamlDocuments load_yaml_documents(std::string_view text);

// The one document of `text`: as load_yaml_documents, and a ParserException at the second
// document when there is more than one ("holds N YAML documents; one is expected").
YAML::Node load_yaml_document(std::string_view text);

}  // namespace shopctl::platform
