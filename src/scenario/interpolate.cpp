#include "scenario/interpolate.hpp"
#include "platform/input_file.hpp"
#include "platform/json_text.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"
#include "scenario/parse_context.hpp"
#include "scenario/parser.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>

#include <yaml-cpp/yaml.h>

namespace shopctl::scenario {
namespace {

bool is_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || (c >= '0' && c <= '9');
}

void check_var_name(const std::string& name, const std::string& where) {
  if (!is_identifier(name)) {
    throw std::invalid_argument(
        where + ": '" + name +
        "' is not a variable name (letters, digits and _, not starting with a digit)");
  }
  if (name == kRunIdVariable || name == kUuidVariable || name == kTokenVariable ||
      name == kProviderApiKeyVariable || name == "env") {
    throw std::invalid_argument(where + ": ${" + name + "} is built in and cannot be set");
  }
}

void append_text(std::vector<TemplatePart>& parts, std::string_view text, std::size_t offset) {
  if (text.empty()) return;
  if (!parts.empty() && parts.back().kind == TemplatePart::Kind::text) {
    parts.back().value += text;
    return;
  }
  parts.push_back({TemplatePart::Kind::text, std::string(text), offset});
}

[[noreturn]] void throw_undefined(const std::string& name) {
  if (name.starts_with(kEnvPrefix)) {
    throw InterpolationError(name, "environment variable " + name.substr(kEnvPrefix.size()) +
                                       " is not set (read by ${" + name + "})");
  }
  throw InterpolationError(name, "undefined variable ${" + name + "}");
}

const ScannedTemplate& checked(const ScannedTemplate& scanned) {
  if (scanned.error) throw InterpolationError("", *scanned.error);
  return scanned;
}

}  // namespace

ScannedTemplate scan_template(std::string_view text) {
  ScannedTemplate out;
  std::size_t text_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      ++i;
      continue;
    }
    const char next = text[i + 1];
    if (next == '$') {
      append_text(out.parts, text.substr(text_start, i + 1 - text_start), text_start);
      i += 2;
      text_start = i;
      continue;
    }
    if (next != '{') {
      ++i;
      continue;
    }
    const auto close = text.find('}', i + 2);
    const std::string_view name =
        close == std::string_view::npos ? std::string_view() : text.substr(i + 2, close - i - 2);
    const std::string_view bare =
        name.starts_with(kEnvPrefix) ? name.substr(kEnvPrefix.size()) : name;
    if (close == std::string_view::npos || !is_identifier(bare)) {
      if (!out.error) {
        out.error = close == std::string_view::npos
                        ? std::string("unclosed ${ (write ${name}, or $$ for a literal $)")
                        : "malformed variable reference ${" + std::string(name) +
                              "}: expected ${name} or ${env.NAME} (write $$ for a literal $)";
        out.error_offset = i;
      }
      i += 2;
      continue;
    }
    append_text(out.parts, text.substr(text_start, i - text_start), text_start);
    out.parts.push_back({TemplatePart::Kind::variable, std::string(name), i});
    i = close + 1;
    text_start = i;
  }
  append_text(out.parts, text.substr(text_start), text_start);
  return out;
}

bool has_template(std::string_view text) {
  return text.find("${") != std::string_view::npos || text.find("$$") != std::string_view::npos;
}

bool has_template_anywhere(const nlohmann::json& value) {
  if (value.is_string()) return has_template(std::string_view(value.get_ref<const std::string&>()));
  if (value.is_array()) {
    for (const auto& item : value) {
      if (has_template_anywhere(item)) return true;
    }
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (has_template(std::string_view(key)) || has_template_anywhere(item)) return true;
    }
  }
  return false;
}

std::string new_uuid() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t r = engine();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0F];
  }
  return out;
}

Variables::Variables()
    : env_lookup_([](const std::string& name) -> std::optional<std::string> {
        if (const char* value = std::getenv(name.c_str())) return std::string(value);
        return std::nullopt;
      }) {}

void Variables::set(const std::string& name, nlohmann::json value) {
  values_[name] = std::move(value);
}

void Variables::define(const std::vector<std::pair<std::string, nlohmann::json>>& vars) {
  for (const auto& [name, value] : vars) set(name, expand(value, *this));
}

std::optional<nlohmann::json> Variables::lookup(std::string_view name) const {
  if (name.starts_with(kEnvPrefix)) {
    if (!env_lookup_) return std::nullopt;
    auto value = env_lookup_(std::string(name.substr(kEnvPrefix.size())));
    if (!value) return std::nullopt;
    return nlohmann::json(std::move(*value));
  }
  if (const auto it = values_.find(name); it != values_.end()) return it->second;
  if (name == kUuidVariable) return nlohmann::json(new_uuid());
  return std::nullopt;
}

std::string splice_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return platform::json_text(value);
}

std::string expand_text(std::string_view text, const Variables& variables) {
  if (!has_template(text)) return std::string(text);
  const ScannedTemplate scanned = scan_template(text);
  std::string out;
  for (const TemplatePart& part : checked(scanned).parts) {
    if (part.kind == TemplatePart::Kind::text) {
      out += part.value;
      continue;
    }
    auto value = variables.lookup(part.value);
    if (!value) throw_undefined(part.value);
    const std::string spliced = splice_text(*value);
    if (spliced.size() > kMaxExpandedText - std::min(out.size(), kMaxExpandedText)) {
      throw InterpolationError(part.value, "${" + part.value +
                                               "} makes the text longer than 16 MiB, the most "
                                               "an expanded value may hold");
    }
    out += spliced;
  }
  return out;
}

namespace {

// About the size of `value` as JSON text (strings and keys in full, 8 bytes for any other
// scalar), counted no further than past `limit`.
std::size_t json_size(const nlohmann::json& value, std::size_t limit) {
  if (value.is_string()) return value.get_ref<const std::string&>().size() + 2;
  if (!value.is_structured()) return 8;
  std::size_t n = 2;
  for (auto it = value.begin(); it != value.end() && n <= limit; ++it) {
    if (value.is_object()) n += it.key().size() + 3;
    n += json_size(*it, limit) + 1;
  }
  return n;
}

// Adds `bytes` to what one expansion has made so far; past kMaxExpandedText, the error names
// the variable: a list of ten copies of a var that is a list of ten copies ... grows tenfold a
// level without any one text passing the limit.
void charge(std::size_t& used, std::size_t bytes, const std::string& name) {
  used += bytes;
  if (used > kMaxExpandedText) {
    throw InterpolationError(name, "${" + name +
                                       "} makes the value larger than 16 MiB, the most an "
                                       "expanded value may hold");
  }
}

nlohmann::json expand_within(const nlohmann::json& template_value, const Variables& variables,
                             std::size_t& used) {
  if (template_value.is_string()) {
    const auto& text = template_value.get_ref<const std::string&>();
    if (!has_template(std::string_view(text))) return template_value;
    const ScannedTemplate scanned = scan_template(text);
    const auto& parts = checked(scanned).parts;
    if (parts.size() == 1 && parts.front().kind == TemplatePart::Kind::variable) {
      auto value = variables.lookup(parts.front().value);
      if (!value) throw_undefined(parts.front().value);
      charge(used, json_size(*value, kMaxExpandedText), parts.front().value);
      return std::move(*value);
    }
    std::string expanded = expand_text(text, variables);
    std::string first_name;
    for (const auto& part : parts) {
      if (part.kind == TemplatePart::Kind::variable) {
        first_name = part.value;
        break;
      }
    }
    charge(used, expanded.size(), first_name);
    return expanded;
  }
  if (template_value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : template_value) out.push_back(expand_within(item, variables, used));
    return out;
  }
  if (template_value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, item] : template_value.items()) {
      std::string expanded_key = expand_text(key, variables);
      charge(used, expanded_key.size(), key);
      out[std::move(expanded_key)] = expand_within(item, variables, used);
    }
    return out;
  }
  return template_value;
}

}  // namespace

namespace {
// A vars file's value as a scenario's `vars:` reads it (parse_context.cpp): plain scalars by
// the YAML 1.2 core schema, so `0xA14` is 2580 and `+5` is 5 in both places, and infinity or
// NaN has no JSON form. The file's values were read by the configs' reader, which took those
// as text and `.nan` without a word (an outside probe). Its limits were checked before
// (yaml_tree_problems), so the walk is bounded.
nlohmann::json vars_file_value(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = vars_file_value(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(vars_file_value(item));
    return out;
  }
  if (!node.IsScalar()) return nullptr;
  if (platform::yaml_quoted(node)) return node.Scalar();
  nlohmann::json value = detail::resolve_plain_scalar(node.Scalar());
  if (value.is_number_float() && !std::isfinite(value.get<double>())) {
    throw std::invalid_argument("'" + node.Scalar().substr(0, 40) +
                                "' has no JSON form (infinity and NaN are not JSON numbers)");
  }
  return value;
}
}  // namespace

nlohmann::json expand(const nlohmann::json& template_value, const Variables& variables) {
  std::size_t used = 0;
  return expand_within(template_value, variables, used);
}

CommandLineVars command_line_vars(const std::vector<std::string>& pairs,
                                  const std::string& vars_file) {
  CommandLineVars vars;
  if (!vars_file.empty()) {
    YAML::Node root;
    std::string text;
    try {
      text = platform::read_input_file(vars_file);
      root = platform::load_yaml_document(text);
    } catch (const platform::InputFileError& e) {
      throw VarsFileError("--vars-file " + vars_file + ": " + e.what());
    } catch (const YAML::ParserException& e) {
      // As a scenario file's: the line and a caret under where it went wrong.
      auto said = format_diagnostic(yaml_syntax_diagnostic(text, vars_file, e), text);
      while (!said.empty() && said.back() == '\n') said.pop_back();
      throw VarsFileError("--vars-file " + said);
    } catch (const YAML::Exception& e) {
      throw VarsFileError("--vars-file " + vars_file + ":" + std::to_string(e.mark.line + 1) +
                          ": " + e.msg);
    }
    if (root && !root.IsNull()) {
      if (!root.IsMap())
        throw VarsFileError("--vars-file " + vars_file + ": expected a map of names to values");
      for (const auto& kv : root) {
        auto name = kv.first.Scalar();
        try {
          check_var_name(
              name, "--vars-file " + vars_file + ":" + std::to_string(kv.first.Mark().line + 1));
        } catch (const std::invalid_argument& e) {
          throw VarsFileError(e.what());
        }
        // Given twice, the last used to win without a word; a scenario file refuses it.
        // Typed as a scenario's `vars:` are: `qty: 2` was sent as "2", which the shop refuses
        // as a quantity (an outside probe); and, as there, a value may be a list or a map
        // (`item: {product_id: p-001, quantity: 2}`, sent as JSON by `json: "${item}"`).
        // As in a scenario file: a key given twice inside a value, nesting too deep, aliases
        // that expand past the limits.
        if (const auto problems = platform::yaml_tree_problems(kv.second); !problems.empty()) {
          throw VarsFileError("--vars-file " + vars_file + ":" +
                              std::to_string(problems.front().mark.line + 1) + ": " + name + ": " +
                              problems.front().message);
        }
        nlohmann::json value;
        try {
          value = vars_file_value(kv.second);
        } catch (const std::invalid_argument& e) {
          throw VarsFileError("--vars-file " + vars_file + ":" +
                              std::to_string(kv.second.Mark().line + 1) + ": " + name + ": " +
                              e.what());
        }
        if (!vars.emplace(name, std::move(value)).second) {
          throw VarsFileError("--vars-file " + vars_file + ":" +
                              std::to_string(kv.first.Mark().line + 1) + ": " + name +
                              " is given twice");
        }
      }
    }
  }
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("--var takes NAME=VALUE, got '" + pair + "'");
    auto name = pair.substr(0, eq);
    check_var_name(name, "--var");
    vars[name] = pair.substr(eq + 1);  // text: a shell has no types
  }
  return vars;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !is_identifier_start(s.front())) return false;
  for (char c : s) {
    if (!is_identifier_char(c)) return false;
  }
  return true;
}

}  // namespace shopctl::scenario
