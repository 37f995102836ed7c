#pragma once
// Internal to the scenario parser: the state of one file's validation (diagnostics, the
// variables in scope) and the typed readers that report a problem at its exact position.
// Not part of the scenario API; include parser.hpp instead.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "platform/suggest.hpp"
#include "scenario/diagnostics.hpp"
#include "scenario/matcher.hpp"
#include "scenario/model.hpp"

namespace shopctl::scenario::detail {

// yaml-cpp, like the YAML grammar, ends a plain scalar at `{` inside a flow collection, so
// `{order: ${order_id}}` would not parse. Before parsing, the braces of every well-formed
// `${name}` are swapped for two control characters of the same width (columns stay right);
// Context::text() swaps them back in every scalar read.
std::string protect_templates(std::string_view source);
std::string restore_templates(std::string text);

// Where a flow collection that yaml-cpp says is never closed was opened: the innermost `{` or
// `[` still open at (line, column) (0-based, yaml-cpp's mark of the error), skipping quoted
// scalars and comments. yaml-cpp reports the error where it gave up, often the next line;
// the opener is what the author has to fix. Nothing when the scan finds none open there.
struct TextPosition {
  int line = 0;
  int column = 0;
  char opener = '{';
};
std::optional<TextPosition> unclosed_flow_opener(std::string_view text, int line, int column);

// A YAML value and where to point when it is wrong.
struct Field {
  YAML::Node node;
  YAML::Mark mark;   // the value's position; the key's when the value is empty
  std::string name;  // the key it sits under ("timeout"); empty for list items
  YAML::Node key;    // the key node, for fields read from a mapping
  YAML::Mark key_mark;
};

// What `${...}` may read at one point of the file.
struct Scope {
  bool accept_everything = false;            // Matcher::from_yaml: no file, no scope
  std::set<std::string, std::less<>> names;  // vars and captures defined so far
  bool token = false;                        // a login step came before
  std::set<std::string, std::less<>> fault_ids;
  // Vars whose text is known when the file is read (literal text, or made only of such vars;
  // not set by --var, which wins over the file): a regex built from them is checked at parse
  // time, as a literal one is.
  std::map<std::string, std::string, std::less<>> literal_text;
};

// Said after "unknown key '<<' in ...": YAML 1.1's merge key, which yaml-cpp reads as a plain
// key.
inline constexpr std::string_view kMergeKeyNote =
    ": YAML merge keys (<<) are not supported; repeat the keys, or put the whole mapping in a "
    "variable";

// The closest of `candidates` to `name` if it is a plausible typo (platform/suggest.hpp).
using platform::did_you_mean;

// Resolves a plain (unquoted) scalar with the YAML 1.2 core schema: null, booleans, integers,
// floats, else a string.
nlohmann::json resolve_plain_scalar(const std::string& text);

// True for an HTTP field name (an RFC 9110 token).
bool is_header_name(std::string_view name);

// What `value` expands to when it is text made only of literal text and the scope's
// literal_text vars; nullopt when any part is known only at run time (or it is not a string).
std::optional<std::string> literal_text(const Scope& scope, const nlohmann::json& value);

class Context {
 public:
  Context(std::string file, std::string_view source);

  const std::string& file() const { return file_; }
  Scope& scope() { return scope_; }

  SourceLocation location(const YAML::Mark& mark) const;
  void error(const YAML::Mark& mark, std::string message);
  // Reports at byte `offset` of `scalar_text`, when the scalar at `mark` is written on one line
  // (plain or quoted without escapes); else at the scalar's start.
  void error_in_scalar(const YAML::Mark& mark, std::string_view scalar_text, std::size_t offset,
                       std::string message);
  // Returns the diagnostics, sorted by position, with late hints added.
  std::vector<Diagnostic> finish();
  bool has_errors() const { return !diagnostics_.empty(); }
  void add(Diagnostic diagnostic) { diagnostics_.push_back(std::move(diagnostic)); }

  // The text of a scalar, templates restored.
  std::string text(const YAML::Node& scalar) const;
  // "a mapping", "a list", "nothing", "'abc'" or `the string "5"`, for messages.
  std::string describe(const YAML::Node& node) const;
  static std::string label(const Field& field);

  // The members of a mapping, in file order; reports keys that are not scalars and duplicates.
  std::vector<Field> entries(const Field& mapping);
  // The items of a list.
  std::vector<Field> items(const Field& list);
  // Reports every key not in `allowed`, with a suggestion. `where` names the mapping.
  void reject_unknown_keys(const std::vector<Field>& entries,
                           std::initializer_list<std::string_view> allowed, std::string_view where);
  void reject_unknown_keys(const std::vector<Field>& entries,
                           const std::vector<std::string>& allowed, std::string_view where);

  // True when the value is written as a YAML null (`~`, `null`), not left empty.
  bool is_null_literal(const Field& field) const;

  // Typed readers: each returns nullopt after reporting why the value does not fit.
  bool require_mapping(const Field& field, std::string_view example = {});
  bool require_list(const Field& field, std::string_view example = {});
  std::optional<std::string> string(const Field& field);
  std::optional<std::int64_t> integer(const Field& field, std::int64_t min, std::int64_t max);
  std::optional<double> number(const Field& field, double min, double max);
  std::optional<bool> boolean(const Field& field);
  std::optional<std::chrono::nanoseconds> duration(const Field& field);
  // A known service name (`what` says what it is for: "target").
  std::optional<std::string> service(const Field& field);

  // A scalar whose text may hold templates; every reference is checked against the scope.
  std::optional<TextTemplate> text_template(const Field& field);
  // Any YAML value as JSON (scalars resolved by the core schema, quoted ones are strings);
  // template references in strings and keys are checked.
  std::optional<JsonTemplate> json_template(const Field& field);
  // Checks the `${...}` references of `text`, a scalar at `mark`.
  void check_references(const YAML::Mark& mark, std::string_view text);
  // Whether check_references refuses a `${env.NAME}` that is not set (ParseOptions).
  void require_environment(bool on) { require_environment_ = on; }

  // Remembers where a capture defines `name`, for the "captured later" hint.
  void note_capture(const std::string& name, int line);

 private:
  bool require_environment_ = false;
  struct PendingUndefined {
    std::size_t diagnostic;
    std::string name;
    int line;
  };

  std::optional<nlohmann::json> to_json(const Field& field, int depth);

  std::string file_;
  std::vector<std::string_view> lines_;
  std::vector<Diagnostic> diagnostics_;
  std::set<std::tuple<int, int, std::string>> said_;  // line, column, message of each error
  Scope scope_;
  std::vector<PendingUndefined> pending_;
  std::map<std::string, int, std::less<>> captured_at_;
  // Values converted by to_json in this file, against a budget that stops alias bombs.
  std::size_t json_values_ = 0;
  bool json_budget_reported_ = false;
};

// Parsers of the pieces of a step, shared by parser.cpp and Matcher::from_yaml.
Matcher parse_matcher(Context& ctx, const Field& field, MatcherDomain domain, std::string subject);
std::optional<FaultSpec> parse_fault(Context& ctx, const Field& field);
// Where an `expect:` is written: on a step in sequence, on a step inside a concurrently block
// (response expectations only: the shop ones would judge the block's other steps too), or on
// a concurrently block itself (shop expectations and `responses`).
enum class ExpectPlace { step, inner_step, block };
Expectation parse_expectation(Context& ctx, const Field& field, bool responds,
                              std::string_view action, ExpectPlace place = ExpectPlace::step);

}  // namespace shopctl::scenario::detail
