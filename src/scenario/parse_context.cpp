#include "scenario/parse_context.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "platform/duration.hpp"
#include "platform/text_rules.hpp"
#include "platform/yaml_json.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/vocabulary.hpp"

namespace shopctl::scenario::detail {
namespace {

constexpr char kOpenBrace = '\x01';
constexpr char kCloseBrace = '\x02';
constexpr int kMaxDepth = 64;
// The JSON values one file may convert to. An alias (`*name`) repeats what it points to, so
// nine levels of nine aliases (a "billion laughs") expand a few hundred bytes into 9^9 values;
// a real scenario holds a few thousand.
constexpr std::size_t kMaxJsonValues = 1'000'000;
constexpr std::size_t kMaxQuoted = 60;

bool is_template_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

bool all_digits(std::string_view s, bool hex = false) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool digit = c >= '0' && c <= '9';
    const bool hex_letter = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!digit && !(hex && hex_letter)) return false;
  }
  return true;
}

bool is_core_float(std::string_view s) {
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t int_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  std::size_t fraction_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++fraction_digits;
  }
  if (int_digits == 0 && fraction_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exponent_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == s.size();
}

std::string shorten(std::string text) {
  if (text.size() > kMaxQuoted) {
    text.resize(kMaxQuoted);
    text += "...";
  }
  return text;
}

bool starts_with_null_literal(std::string_view rest) {
  for (std::string_view literal : {"~", "null", "Null", "NULL"}) {
    if (rest.starts_with(literal)) return true;
  }
  return false;
}

}  // namespace

namespace {

// Each `$` `open` name `close` of `text` becomes `$` `new_open` name `new_close`: the braces of
// `${name}` hidden from YAML, and back.
std::string swap_template_braces(std::string text, char open, char close, char new_open,
                                 char new_close) {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] != '$' || text[i + 1] != open) continue;
    std::size_t j = i + 2;
    while (j < text.size() && is_template_name_char(text[j])) ++j;
    if (j == i + 2 || j >= text.size() || text[j] != close) continue;
    text[i + 1] = new_open;
    text[j] = new_close;
    i = j;
  }
  return text;
}

}  // namespace

std::string protect_templates(std::string_view source) {
  return swap_template_braces(std::string(source), '{', '}', kOpenBrace, kCloseBrace);
}

std::optional<TextPosition> unclosed_flow_opener(std::string_view text, int line, int column) {
  std::vector<TextPosition> open;
  int l = 0, c = 0;
  // The last character on this line that is not a space: a `{`, `[` or quote starts a
  // value only after `:`, `-`, `,`, `?`, another opener, or at the line's start.
  char last = '\0';
  auto value_starts_here = [&] {
    return last == '\0' || last == ':' || last == '-' || last == ',' || last == '?' ||
           last == '[' || last == '{';
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (l > line || (l == line && c >= column)) break;
    const char ch = text[i];
    if (ch == '\n') {
      ++l;
      c = 0;
      last = '\0';
      continue;
    }
    if ((ch == '"' || ch == '\'') && value_starts_here()) {
      // A quoted scalar, which may run over lines: skip to its end.
      std::size_t j = i + 1;
      int jl = l, jc = c + 1;
      for (; j < text.size(); ++j, ++jc) {
        if (text[j] == '\n') {
          ++jl;
          jc = -1;
          continue;
        }
        if (ch == '"' && text[j] == '\\') {
          ++j;
          ++jc;
          continue;
        }
        if (text[j] == ch) {
          if (ch == '\'' && j + 1 < text.size() && text[j + 1] == '\'') {
            ++j;
            ++jc;
            continue;
          }
          break;
        }
      }
      // A quote that is never closed ran to the end of the text: that is what kept the
      // collection open (yaml-cpp saw the closer inside the quotes).
      if (j >= text.size()) return TextPosition{l, c, ch};
      i = j;
      l = jl;
      c = jc + 1;
      last = ch;
      continue;
    }
    if (ch == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      c = 0;
      continue;
    }
    if ((ch == '{' || ch == '[') && value_starts_here()) {
      open.push_back({l, c, ch});
    } else if ((ch == '}' || ch == ']') && !open.empty()) {
      open.pop_back();
    }
    if (ch != ' ' && ch != '\t' && ch != '\r') last = ch;
    ++c;
  }
  if (open.empty()) return std::nullopt;
  return open.back();
}

// Only what protect_templates() made: "$", the opener, a name, the closer. A \x01 or \x02
// that the YAML itself holds (a double-quoted "\x01" escape) stays what it is: every such
// byte used to become a brace, so a name sent as "a\x01b" went out as "a{b" and a scenario
// expecting it back passed.
std::string restore_templates(std::string text) {
  return swap_template_braces(std::move(text), kOpenBrace, kCloseBrace, '{', '}');
}

nlohmann::json resolve_plain_scalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;

  std::string_view digits = text;
  const bool negative = digits.front() == '-';
  if (digits.front() == '-' || digits.front() == '+') digits.remove_prefix(1);
  if (all_digits(digits)) {
    std::uint64_t magnitude = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
    if (ec == std::errc() && ptr == digits.data() + digits.size()) {
      if (!negative) {
        if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return static_cast<std::int64_t>(magnitude);
        }
        return magnitude;
      }
      if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
        return static_cast<std::int64_t>(0 - magnitude);
      }
    }
    return std::strtod(text.c_str(), nullptr);
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    const bool hex = text[1] == 'x';
    const std::string_view body = std::string_view(text).substr(2);
    if (all_digits(body, hex) && (hex || body.find_first_of("89") == std::string_view::npos)) {
      std::int64_t value = 0;
      const auto [ptr, ec] =
          std::from_chars(body.data(), body.data() + body.size(), value, hex ? 16 : 8);
      if (ec == std::errc() && ptr == body.data() + body.size()) return value;
    }
  }
  if (is_core_float(text)) return std::strtod(text.c_str(), nullptr);
  for (std::string_view inf : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}) {
    if (text == inf) return std::numeric_limits<double>::infinity();
  }
  for (std::string_view inf : {"-.inf", "-.Inf", "-.INF"}) {
    if (text == inf) return -std::numeric_limits<double>::infinity();
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return text;
}

Context::Context(std::string file, std::string_view source) : file_(std::move(file)) {
  std::size_t start = 0;
  while (start <= source.size()) {
    auto end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = source.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines_.push_back(line);
    start = end + 1;
  }
}

SourceLocation Context::location(const YAML::Mark& mark) const {
  if (mark.line < 0) return {file_, 0, 0};
  return {file_, mark.line + 1, mark.column + 1};
}

void Context::error(const YAML::Mark& mark, std::string message) {
  const SourceLocation loc = location(mark);
  // A value reached through several aliases is read once per alias: its problem is said once.
  if (!said_.emplace(loc.line, loc.column, message).second) return;
  diagnostics_.push_back({loc.file, loc.line, loc.column, std::move(message)});
}

void Context::error_in_scalar(const YAML::Mark& mark, std::string_view scalar_text,
                              std::size_t offset, std::string message) {
  YAML::Mark at = mark;
  if (mark.line >= 0 && static_cast<std::size_t>(mark.line) < lines_.size() && mark.column >= 0) {
    const std::string_view line = lines_[static_cast<std::size_t>(mark.line)];
    const auto column = static_cast<std::size_t>(mark.column);
    if (column <= line.size() && line.substr(column).starts_with(scalar_text)) {
      at.column = static_cast<int>(column + offset);
    } else if (column < line.size() && (line[column] == '"' || line[column] == '\'') &&
               line.substr(column + 1).starts_with(scalar_text)) {
      at.column = static_cast<int>(column + 1 + offset);
    }
  }
  error(at, std::move(message));
}

std::vector<Diagnostic> Context::finish() {
  for (const auto& pending : pending_) {
    if (const auto it = captured_at_.find(pending.name); it != captured_at_.end()) {
      diagnostics_[pending.diagnostic].message +=
          " (it is captured at line " + std::to_string(it->second) +
          "; a capture can be used from the step after the one that takes it)";
    }
  }
  pending_.clear();
  sort_diagnostics(diagnostics_);
  // The same problem found twice (a scenario's config is checked by the whole file's pass and by
  // the config's own) is said once.
  diagnostics_.erase(std::unique(diagnostics_.begin(), diagnostics_.end(),
                                 [](const Diagnostic& a, const Diagnostic& b) {
                                   return a.file == b.file && a.line == b.line &&
                                          a.column == b.column && a.message == b.message;
                                 }),
                     diagnostics_.end());
  return std::move(diagnostics_);
}

std::string Context::text(const YAML::Node& scalar) const {
  return restore_templates(scalar.Scalar());
}

std::string Context::describe(const YAML::Node& node) const {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (!node.IsScalar()) return "nothing";
  const std::string value = shorten(text(node));
  if (platform::yaml_quoted(node)) return "the string \"" + value + "\"";
  return "'" + value + "'";
}

std::string Context::label(const Field& field) {
  return field.name.empty() ? std::string("this value") : "'" + field.name + "'";
}

std::vector<Field> Context::entries(const Field& mapping) {
  std::vector<Field> out;
  if (!mapping.node.IsMap()) return out;
  std::map<std::string, int, std::less<>> seen;
  for (auto it = mapping.node.begin(); it != mapping.node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      error(key.Mark(), "a key must be a name, not " + describe(key));
      continue;
    }
    std::string name = text(key);
    if (const auto previous = seen.find(name); previous != seen.end()) {
      error(key.Mark(), "duplicate key '" + name + "' (first at line " +
                            std::to_string(previous->second) + ")");
      continue;
    }
    seen.emplace(name, key.Mark().line + 1);
    YAML::Mark value_mark = value.Mark();
    if (!value.IsMap() && !value.IsSequence() && !value.IsScalar()) {
      // An empty value has the position of whatever follows it; point at the key instead.
      bool literal = false;
      if (value_mark.line >= 0 && static_cast<std::size_t>(value_mark.line) < lines_.size()) {
        const std::string_view line = lines_[static_cast<std::size_t>(value_mark.line)];
        if (value_mark.column >= 0 && static_cast<std::size_t>(value_mark.column) <= line.size()) {
          literal =
              starts_with_null_literal(line.substr(static_cast<std::size_t>(value_mark.column)));
        }
      }
      if (!literal) value_mark = key.Mark();
    }
    out.push_back(Field{value, value_mark, std::move(name), key, key.Mark()});
  }
  return out;
}

bool Context::is_null_literal(const Field& field) const {
  if (!field.node.IsNull() || field.mark.line < 0 ||
      static_cast<std::size_t>(field.mark.line) >= lines_.size()) {
    return false;
  }
  const std::string_view line = lines_[static_cast<std::size_t>(field.mark.line)];
  if (field.mark.column < 0 || static_cast<std::size_t>(field.mark.column) > line.size())
    return false;
  return starts_with_null_literal(line.substr(static_cast<std::size_t>(field.mark.column)));
}

std::vector<Field> Context::items(const Field& list) {
  std::vector<Field> out;
  if (!list.node.IsSequence()) return out;
  for (const YAML::Node& item : list.node) {
    YAML::Mark mark = item.Mark();
    if (!item.IsMap() && !item.IsSequence() && !item.IsScalar()) mark = list.mark;
    out.push_back(Field{item, mark, {}, {}, {}});
  }
  return out;
}

void Context::reject_unknown_keys(const std::vector<Field>& entries,
                                  const std::vector<std::string>& allowed, std::string_view where) {
  for (const auto& entry : entries) {
    if (std::find(allowed.begin(), allowed.end(), entry.name) != allowed.end()) continue;
    std::string message =
        "unknown key '" + platform::visible_text(entry.name) + "' in " + std::string(where);
    if (entry.name == "<<") {
      error(entry.key_mark, message + std::string(kMergeKeyNote));
      continue;
    }
    if (auto suggestion = did_you_mean(entry.name, allowed)) {
      message += "; did you mean '" + *suggestion + "'?";
    } else {
      message += " (expected one of: ";
      for (std::size_t i = 0; i < allowed.size(); ++i) {
        if (i > 0) message += ", ";
        message += allowed[i];
      }
      message += ")";
    }
    error(entry.key_mark, std::move(message));
  }
}

void Context::reject_unknown_keys(const std::vector<Field>& entries,
                                  std::initializer_list<std::string_view> allowed,
                                  std::string_view where) {
  reject_unknown_keys(entries, std::vector<std::string>(allowed.begin(), allowed.end()), where);
}

bool Context::require_mapping(const Field& field, std::string_view example) {
  if (field.node.IsMap()) return true;
  std::string message = label(field) + " must be a mapping";
  if (!example.empty()) message += " like " + std::string(example);
  error(field.mark, message + ", not " + describe(field.node));
  return false;
}

bool Context::require_list(const Field& field, std::string_view example) {
  if (field.node.IsSequence()) return true;
  std::string message = label(field) + " must be a list";
  if (!example.empty()) message += " like " + std::string(example);
  error(field.mark, message + ", not " + describe(field.node));
  return false;
}

std::optional<std::string> Context::string(const Field& field) {
  if (field.node.IsScalar()) return text(field.node);
  error(field.mark, label(field) + " must be a string, not " + describe(field.node));
  return std::nullopt;
}

std::optional<std::int64_t> Context::integer(const Field& field, std::int64_t min,
                                             std::int64_t max) {
  std::optional<nlohmann::json> value;
  if (field.node.IsScalar() && !platform::yaml_quoted(field.node))
    value = resolve_plain_scalar(text(field.node));
  std::string range;
  if (max == std::numeric_limits<std::int64_t>::max()) {
    range = min == 0 ? " (0 or more)" : " (" + std::to_string(min) + " or more)";
  } else {
    range = " from " + std::to_string(min) + " to " + std::to_string(max);
  }
  // An integer past 2^63-1 (say, a seed of 2^63) was told it "must be an integer (0 or more)",
  // which it is: name the upper end when the value is over it.
  const std::string whole_range =
      max == std::numeric_limits<std::int64_t>::max()
          ? " from " + std::to_string(min) + " to 2^63-1 (" + std::to_string(max) + ")"
          : range;
  const bool too_large =
      (value && value->is_number_unsigned() &&
       value->get<std::uint64_t>() >
           static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) ||
      (value && value->is_number_float() && field.node.IsScalar() && all_digits(text(field.node)));
  if (too_large) {
    error(field.mark,
          label(field) + " must be an integer" + whole_range + ", not " + describe(field.node));
    return std::nullopt;
  }
  if (!value || !value->is_number_integer()) {
    error(field.mark,
          label(field) + " must be an integer" + range + ", not " + describe(field.node));
    return std::nullopt;
  }
  const auto result = value->get<std::int64_t>();
  if (result < min || result > max) {
    error(field.mark,
          label(field) + " must be an integer" + range + ", not " + describe(field.node));
    return std::nullopt;
  }
  return result;
}

std::optional<double> Context::number(const Field& field, double min, double max) {
  std::optional<nlohmann::json> value;
  if (field.node.IsScalar() && !platform::yaml_quoted(field.node))
    value = resolve_plain_scalar(text(field.node));
  if (!value || !value->is_number() || !std::isfinite(value->get<double>()) ||
      value->get<double>() < min || value->get<double>() > max) {
    std::string range;
    if (max == std::numeric_limits<double>::max()) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, " of at least %g", min);
      range = min > 0 ? buffer : "";
    } else {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, " from %g to %g", min, max);
      range = buffer;
    }
    error(field.mark, label(field) + " must be a number" + range + ", not " + describe(field.node));
    return std::nullopt;
  }
  return value->get<double>();
}

std::optional<bool> Context::boolean(const Field& field) {
  if (field.node.IsScalar() && !platform::yaml_quoted(field.node)) {
    const auto value = resolve_plain_scalar(text(field.node));
    if (value.is_boolean()) return value.get<bool>();
  }
  error(field.mark, label(field) + " must be true or false, not " + describe(field.node));
  return std::nullopt;
}

std::optional<std::chrono::nanoseconds> Context::duration(const Field& field) {
  if (field.node.IsScalar()) {
    if (auto value = platform::parse_duration(text(field.node))) return value;
    // Written right but past what a duration holds: "too long", not "must be a duration like"
    // (an outside probe read the latter as a syntax error).
    if (platform::duration_overflows(text(field.node))) {
      error(field.mark, label(field) + " is too long: " + describe(field.node) +
                            " does not fit in a duration (about 292 years at most)");
      return std::nullopt;
    }
  }
  error(field.mark,
        label(field) + " must be a duration like 250ms, 2s, 1m or 2h, not " + describe(field.node));
  return std::nullopt;
}

std::optional<std::string> Context::service(const Field& field) {
  auto name = string(field);
  if (!name) return std::nullopt;
  if (is_service(*name)) return name;
  std::string message = "unknown service '" + *name + "'";
  const std::vector<std::string> known(kServices.begin(), kServices.end());
  if (auto suggestion = did_you_mean(*name, known))
    message += "; did you mean '" + *suggestion + "'?";
  message += " (services: " + join_names(kServices) + ")";
  error_in_scalar(field.mark, *name, 0, std::move(message));
  return std::nullopt;
}

std::optional<TextTemplate> Context::text_template(const Field& field) {
  auto value = string(field);
  if (value) check_references(field.mark, *value);
  return value;
}

std::optional<JsonTemplate> Context::json_template(const Field& field) {
  return to_json(field, 0);
}

std::optional<nlohmann::json> Context::to_json(const Field& field, int depth) {
  if (json_values_ >= kMaxJsonValues) {
    if (!json_budget_reported_) {
      json_budget_reported_ = true;
      error(field.mark, "the file expands to too many nodes: more than " +
                            std::to_string(kMaxJsonValues) +
                            " values (each alias *name repeats everything it points to)");
    }
    return std::nullopt;
  }
  ++json_values_;
  if (depth > kMaxDepth) {
    error(field.mark, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    return std::nullopt;
  }
  const YAML::Node& node = field.node;
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    bool ok = true;
    for (const Field& entry : entries(field)) {
      check_references(entry.key_mark, entry.name);
      auto value = to_json(entry, depth + 1);
      if (!value) {
        ok = false;
        continue;
      }
      out[entry.name] = std::move(*value);
    }
    if (!ok) return std::nullopt;
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    bool ok = true;
    for (const Field& item : items(field)) {
      auto value = to_json(item, depth + 1);
      if (!value) {
        ok = false;
        continue;
      }
      out.push_back(std::move(*value));
    }
    if (!ok) return std::nullopt;
    return out;
  }
  if (!node.IsScalar()) return nlohmann::json(nullptr);
  const std::string value = text(node);
  nlohmann::json out;
  if (platform::yaml_quoted(node)) {
    out = value;
  } else if (!platform::yaml_unread_tag(node)) {
    out = resolve_plain_scalar(value);
  } else {  // the same words as the whole file's check (parse_scenario_text): said once
    error(field.mark, platform::yaml_tag_message(node.Tag()));
    return std::nullopt;
  }
  if (out.is_number_float() && !std::isfinite(out.get<double>())) {
    error(field.mark, "'" + value + "' has no JSON form (infinity and NaN are not JSON numbers)");
    return std::nullopt;
  }
  if (out.is_string()) check_references(field.mark, value);
  return out;
}

void Context::check_references(const YAML::Mark& mark, std::string_view text) {
  if (!has_template(text)) return;
  const ScannedTemplate scanned = scan_template(text);
  if (scanned.error) error_in_scalar(mark, text, scanned.error_offset, *scanned.error);
  for (const TemplatePart& part : scanned.parts) {
    if (part.kind != TemplatePart::Kind::variable) continue;
    const std::string& name = part.value;
    if (require_environment_ && name.starts_with(kEnvPrefix)) {
      const std::string variable = name.substr(kEnvPrefix.size());
      if (std::getenv(variable.c_str()) == nullptr) {
        // A step failed with it (exit 4, a "real failure"), after a shop had started: it is
        // the job's environment that is wrong, and it is known before anything runs.
        error_in_scalar(mark, text, part.offset,
                        "environment variable " + variable + " is not set (read by ${" + name +
                            "}): set it where shopctl runs");
      }
      continue;
    }
    if (scope_.accept_everything || name.starts_with(kEnvPrefix) || name == kRunIdVariable ||
        name == kUuidVariable || name == kProviderApiKeyVariable) {
      continue;
    }
    if (name == kTokenVariable) {
      if (!scope_.token) {
        error_in_scalar(mark, text, part.offset, "${token} is only defined after a login step");
      }
      continue;
    }
    if (scope_.names.contains(name)) continue;
    std::string message = "undefined variable ${" + name + "}";
    std::vector<std::string> candidates(scope_.names.begin(), scope_.names.end());
    candidates.emplace_back(kRunIdVariable);
    candidates.emplace_back(kUuidVariable);
    candidates.emplace_back(kProviderApiKeyVariable);
    if (scope_.token) candidates.emplace_back(kTokenVariable);
    if (auto suggestion = did_you_mean(name, candidates)) {
      message += "; did you mean ${" + *suggestion + "}?";
    }
    const std::size_t index = diagnostics_.size();
    error_in_scalar(mark, text, part.offset, std::move(message));
    // Only when it was said: the same place reached again through an alias adds nothing.
    if (diagnostics_.size() > index) pending_.push_back({index, name, mark.line + 1});
  }
}

void Context::note_capture(const std::string& name, int line) {
  captured_at_.emplace(name, line);
}

std::optional<std::string> literal_text(const Scope& scope, const nlohmann::json& value) {
  if (!value.is_string()) return std::nullopt;
  const ScannedTemplate scanned = scan_template(value.get_ref<const std::string&>());
  if (scanned.error) return std::nullopt;
  std::string out;
  for (const TemplatePart& part : scanned.parts) {
    if (part.kind == TemplatePart::Kind::text) {
      out += part.value;
      continue;
    }
    const auto known = scope.literal_text.find(part.value);
    if (known == scope.literal_text.end()) return std::nullopt;
    out += known->second;
  }
  return out;
}

bool is_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace shopctl::scenario::detail
