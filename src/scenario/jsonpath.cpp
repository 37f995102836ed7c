#include "scenario/jsonpath.hpp"

#include <algorithm>
#include <charconv>

namespace shopctl::scenario {
namespace {

constexpr std::string_view kSubset = " (supported: $.a.b, $.a[0], $.a[-1], $['key'])";

bool is_name_char(char c) {
  return c != '.' && c != '[' && c != ']' && c != '\'' && c != '"' && c != '*' && c != ' ' &&
         c != '\t' && c != '(' && c != ')' && c != '?' && c != '@';
}

}  // namespace

JsonPath JsonPath::parse(std::string_view text) {
  JsonPath path;
  path.text_ = std::string(text);
  if (text.empty() || text.front() != '$') {
    throw JsonPathError(0, "a JSONPath starts with $" + std::string(kSubset));
  }
  // A path is written out as it is: `${name}` in it was never expanded and read as the
  // literal key "${name}", so `$.error.${unset}: {exists: false}` passed, even for a name
  // nothing defines (an outside probe). Refused, where it stands.
  for (std::size_t at = text.find("${"); at != std::string_view::npos;
       at = text.find("${", at + 1)) {
    if (at > 0 && text[at - 1] == '$') continue;  // `$${`: a literal "${", as in any value
    throw JsonPathError(at,
                        "a JSONPath is not expanded: '${...}' is no variable here (write the key "
                        "itself, or compare with the variable as the matcher's value: "
                        "$.order_id: \"${order_id}\")");
  }
  std::size_t i = 1;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '.') {
      if (i + 1 < text.size() && text[i + 1] == '.') {
        throw JsonPathError(i, "recursive descent '..' is not supported" + std::string(kSubset));
      }
      const std::size_t start = ++i;
      while (i < text.size() && is_name_char(text[i])) ++i;
      if (i == start) {
        if (i < text.size() && text[i] == '*') {
          throw JsonPathError(i, "wildcards are not supported" + std::string(kSubset));
        }
        throw JsonPathError(i, "expected a key after '.'" + std::string(kSubset));
      }
      const auto name = text.substr(start, i - start);
      // `.0` names a member "0", which no array has: `$.items.0: {exists: false}` always
      // passed and `$.items.0.quantity` failed as "missing" with no hint (an outside probe).
      // Either meaning is written unambiguously instead.
      if (std::all_of(name.begin(), name.end(), [](char d) { return d >= '0' && d <= '9'; })) {
        throw JsonPathError(start, "'." + std::string(name) + "' would name a member called \"" +
                                       std::string(name) + "\": write [" + std::string(name) +
                                       "] for an array's item, or ['" + std::string(name) +
                                       "'] for an object's member of that name");
      }
      path.segments_.emplace_back(std::string(name));
    } else if (c == '[') {
      const std::size_t open = i++;
      if (i >= text.size()) throw JsonPathError(open, "unclosed '['" + std::string(kSubset));
      const char first = text[i];
      if (first == '\'' || first == '"') {
        const char quote = first;
        std::string key;
        ++i;
        bool closed = false;
        while (i < text.size()) {
          if (text[i] == '\\' && i + 1 < text.size() &&
              (text[i + 1] == quote || text[i + 1] == '\\')) {
            key += text[i + 1];
            i += 2;
          } else if (text[i] == quote) {
            closed = true;
            ++i;
            break;
          } else {
            key += text[i++];
          }
        }
        if (!closed) throw JsonPathError(open + 1, "unterminated quoted key");
        if (i >= text.size() || text[i] != ']') {
          throw JsonPathError(i, "expected ']' after the quoted key");
        }
        ++i;
        path.segments_.emplace_back(std::move(key));
      } else if (first == '-' || (first >= '0' && first <= '9')) {
        const std::size_t start = i;
        if (first == '-') ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        std::int64_t index = 0;
        const auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, index);
        if (ec != std::errc() || end != text.data() + i) {
          throw JsonPathError(start, "expected an array index like [0] or [-1]");
        }
        if (i >= text.size() || text[i] != ']') {
          throw JsonPathError(i, "expected ']' after the array index");
        }
        ++i;
        path.segments_.emplace_back(index);
      } else if (first == '*') {
        throw JsonPathError(i, "wildcards are not supported" + std::string(kSubset));
      } else if (first == '?' || first == '(') {
        throw JsonPathError(i, "filters and expressions are not supported" + std::string(kSubset));
      } else {
        throw JsonPathError(
            i, "expected an index or a quoted key inside [...]" + std::string(kSubset));
      }
    } else {
      throw JsonPathError(
          i, std::string("unexpected '") + c + "'; expected '.' or '['" + std::string(kSubset));
    }
  }
  return path;
}

const nlohmann::json* JsonPath::find(const nlohmann::json& document) const {
  const nlohmann::json* current = &document;
  for (const Segment& segment : segments_) {
    if (const auto* key = std::get_if<std::string>(&segment)) {
      if (!current->is_object()) return nullptr;
      const auto it = current->find(*key);
      if (it == current->end()) return nullptr;
      current = &*it;
    } else {
      if (!current->is_array()) return nullptr;
      const auto size = static_cast<std::int64_t>(current->size());
      std::int64_t index = std::get<std::int64_t>(segment);
      if (index < 0) index += size;
      if (index < 0 || index >= size) return nullptr;
      current = &(*current)[static_cast<std::size_t>(index)];
    }
  }
  return current;
}

std::optional<nlohmann::json> JsonPath::evaluate(const nlohmann::json& document) const {
  const nlohmann::json* found = find(document);
  if (found == nullptr) return std::nullopt;
  return *found;
}

}  // namespace shopctl::scenario
