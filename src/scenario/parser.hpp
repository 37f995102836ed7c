#pragma once
// Reading and validating scenario files (spec/scenarios.md, format version 1).
//
// Validation is strict and complete: every problem in a file is reported, each with its
// position (unknown keys at every level, wrong types, bad durations, unknown services, edges,
// breakers, states and fault types, invalid regexes and JSONPaths, undefined ${vars}, and the
// shop's own verdict on `config:`). A file with any problem yields no Scenario.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "scenario/diagnostics.hpp"
#include "scenario/model.hpp"

namespace shopctl::scenario {

// Checks a scenario's `config:` (the shop's settings). It receives the node as parsed from the
// file (yaml-cpp marks intact) and the file's name, and returns one Diagnostic per problem
// with 1-based line and column; diagnostic_at() builds one from a node. It may throw; the
// exception is reported as a diagnostic at `config:`.
using ConfigValidator =
    std::function<std::vector<Diagnostic>(const YAML::Node& config, const std::string& file)>;

// Returns a Diagnostic at `node`'s position (yaml-cpp's 0-based mark made 1-based).
Diagnostic diagnostic_at(const YAML::Node& node, const std::string& file, std::string message);

// A YAML syntax error (what yaml-cpp threw reading `text`) as a Diagnostic, its words made
// clearer: an unclosed `{` or `[` is pointed at where it opened, a tab in an indentation is
// named. Scenario files and `--vars-file` say them the same way.
Diagnostic yaml_syntax_diagnostic(std::string_view text, const std::string& file,
                                  const YAML::ParserException& e);

struct ParseOptions {
  // Validates `config:` when a scenario has one; empty (the default) accepts any mapping.
  ConfigValidator validate_config;
  // Variables defined from outside the file (`run --var`): known to every scenario.
  std::set<std::string> known_vars;
  // A `${env.NAME}` whose NAME is not set in this process's environment is a diagnostic at
  // its place (`run` and `validate`: nothing runs, exit 2), not a step that fails later.
  bool environment_must_be_set = false;
};

struct ParseResult {
  std::optional<Scenario> scenario;     // set if and only if diagnostics is empty
  std::vector<Diagnostic> diagnostics;  // every problem, sorted by position
  std::string source_text;              // the file's text, for format_diagnostic

  bool ok() const { return diagnostics.empty() && scenario.has_value(); }
  // Every diagnostic with its source line and caret, one after the other.
  std::string format_diagnostics() const;
};

// Parses and validates scenario text; `file` names it in diagnostics and Scenario::file.
ParseResult parse_scenario_text(std::string_view text, std::string file,
                                const ParseOptions& options = {});
// Reads and parses one file. A file that cannot be read gives a diagnostic, never a throw.
ParseResult parse_scenario_file(const std::filesystem::path& path,
                                const ParseOptions& options = {});

struct LoadResult {
  std::vector<Scenario> scenarios;             // the valid files' scenarios, in file order
  std::vector<std::string> files;              // every scenario file found, in order
  std::vector<Diagnostic> diagnostics;         // all problems of all files and paths
  std::map<std::string, std::string> sources;  // file -> text, for format_diagnostic

  // True when every path exists and every file is valid: only then should anything run.
  bool ok() const { return diagnostics.empty(); }
  std::string format_diagnostics() const;
};

// Returns the scenario files `path` stands for: the file itself (whatever its extension), or,
// for a directory, every `*.yaml` and `*.yml` file under it, recursively, sorted by path,
// passing over files and folders whose name starts with a dot (`.github/`, `.gitlab-ci.yml`).
// Throws std::filesystem::filesystem_error when the path cannot be listed.
std::vector<std::filesystem::path> scenario_files(const std::filesystem::path& path);

// Validates every file named or found under the given paths before anything runs. A path that
// does not exist, a directory without scenario files, an unreadable or broken file: each is a
// diagnostic, never a crash and never skipped in silence. A file named twice is read once.
LoadResult load_scenarios(const std::vector<std::string>& paths_or_dirs,
                          const ParseOptions& options = {});

}  // namespace shopctl::scenario
