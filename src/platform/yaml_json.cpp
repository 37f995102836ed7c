#include "platform/yaml_json.hpp"

#include <charconv>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace shopctl::platform {

namespace {
constexpr std::string_view kCoreTags = "tag:yaml.org,2002:";
}  // namespace

bool yaml_quoted(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "!" || tag == "tag:yaml.org,2002:str";
}

bool yaml_unread_tag(const YAML::Node& node) {
  // yaml-cpp gives an untagged node "?" (or nothing), a quoted scalar "!".
  const std::string& tag = node.Tag();
  return !tag.empty() && tag != "?" && !yaml_quoted(node);
}

std::string yaml_tag_message(const std::string& tag) {
  const std::string written =
      tag.starts_with(kCoreTags) ? "!!" + tag.substr(kCoreTags.size()) : tag;
  return "YAML tags (" + written +
         ") are not read: write the value without it (quoted or !!str for a string)";
}

namespace {
nlohmann::json scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (yaml_quoted(node)) return s;  // quoted or !!str: always a string
  if (s == "~" || s == "null" || s == "Null" || s == "NULL" || s.empty()) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  double d = 0;
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && q == s.data() + s.size()) return d;
  return s;
}

nlohmann::json convert(const YAML::Node& node, std::size_t& budget, int depth) {
  if (budget == 0) {
    throw std::invalid_argument("the YAML expands to too many nodes: more than " +
                                std::to_string(kMaxYamlJsonValues) +
                                " values (each alias *name repeats everything it points to)");
  }
  --budget;
  if (depth > kMaxYamlJsonDepth) {
    throw std::invalid_argument("the YAML nests deeper than " + std::to_string(kMaxYamlJsonDepth) +
                                " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence: {
      auto arr = nlohmann::json::array();
      for (const auto& item : node) arr.push_back(convert(item, budget, depth + 1));
      return arr;
    }
    case YAML::NodeType::Map: {
      auto obj = nlohmann::json::object();
      for (const auto& kv : node) {
        obj[kv.first.as<std::string>()] = convert(kv.second, budget, depth + 1);
      }
      return obj;
    }
  }
  return nullptr;
}
}  // namespace

namespace {

struct TreeWalk {
  bool keys = true;  // keys given twice, too (not only tags)
  std::size_t budget = kMaxYamlJsonValues;
  bool stopped = false;
  std::set<std::pair<int, int>> reported;  // an alias shows the same mapping again
  std::vector<YamlTreeProblem> problems;

  void report(const YAML::Mark& mark, std::string message, bool stops_reading = false) {
    if (reported.insert({mark.line, mark.column}).second)
      problems.push_back({mark, std::move(message), stops_reading});
  }

  void visit(const YAML::Node& node, int depth) {
    if (stopped) return;
    if (budget == 0) {
      stopped = true;
      report(node.Mark(),
             "the YAML expands to too many nodes: more than " + std::to_string(kMaxYamlJsonValues) +
                 " values (each alias *name repeats everything it points to)",
             true);
      return;
    }
    --budget;
    if (depth > kMaxYamlJsonDepth) {
      stopped = true;
      report(node.Mark(),
             "the YAML nests deeper than " + std::to_string(kMaxYamlJsonDepth) + " levels", true);
      return;
    }
    if (yaml_unread_tag(node)) report(node.Mark(), yaml_tag_message(node.Tag()));
    if (node.IsSequence()) {
      for (const auto& item : node) visit(item, depth + 1);
    } else if (node.IsMap()) {
      std::map<std::string, int> first_line;
      for (const auto& kv : node) {
        if (kv.first.IsScalar() && yaml_unread_tag(kv.first))
          report(kv.first.Mark(), yaml_tag_message(kv.first.Tag()));
        if (!keys) {
          if (!kv.first.IsScalar()) visit(kv.first, depth + 1);
        } else if (kv.first.IsScalar()) {
          const auto [at, fresh] = first_line.emplace(kv.first.Scalar(), kv.first.Mark().line + 1);
          if (!fresh)
            report(kv.first.Mark(), "duplicate key '" + kv.first.Scalar() + "' (first at line " +
                                        std::to_string(at->second) + ")");
        } else {
          visit(kv.first, depth + 1);
        }
        visit(kv.second, depth + 1);
      }
    }
  }
};

}  // namespace

std::vector<YamlTreeProblem> yaml_tree_problems(const YAML::Node& root) {
  TreeWalk walk;
  if (root) walk.visit(root, 0);
  return std::move(walk.problems);
}

std::vector<YamlTreeProblem> yaml_tag_problems(const YAML::Node& root) {
  TreeWalk walk;
  walk.keys = false;
  if (root) walk.visit(root, 0);
  // Too deep or too many nodes: the scenario parser says that itself.
  std::erase_if(walk.problems, [](const YamlTreeProblem& p) { return p.stops_reading; });
  return std::move(walk.problems);
}

nlohmann::json yaml_to_json(const YAML::Node& node) {
  std::size_t budget = kMaxYamlJsonValues;
  return convert(node, budget, 0);
}

}  // namespace shopctl::platform
