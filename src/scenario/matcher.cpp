#include "scenario/matcher.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "platform/duration.hpp"
#include "platform/json_text.hpp"
#include "scenario/regex.hpp"

namespace shopctl::scenario {
namespace {

// A value as JSON text for a message. Never throws: a string that is not UTF-8 (a scenario file
// or an environment variable can hold any bytes) shows U+FFFD where dump() would throw
// type_error 316 out of describe() and check() (found by fuzz_jsonpath_matcher).
std::string shown(const nlohmann::json& value) {
  return platform::json_text(value);
}

using nlohmann::json;

constexpr std::size_t kMaxRendered = 200;

std::string truncated(std::string text) {
  if (text.size() <= kMaxRendered) return text;
  // Cut before a character, never inside one: the message goes into JSON reports, whose
  // dump() throws on a split UTF-8 sequence.
  std::size_t cut = kMaxRendered;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

// A duration that came from a measurement reads better rounded: "73.2ms", "1.234s".
std::string readable_duration(std::int64_t ns) {
  constexpr std::int64_t kMillisecond = 1'000'000;
  constexpr std::int64_t kSecond = 1'000'000'000;
  if (ns <= 0 || ns % kMillisecond == 0) {
    return platform::format_duration(std::chrono::nanoseconds(ns));
  }
  char buffer[64];
  if (ns < kMillisecond) {
    // Three significant digits (0.227ms, 0.0412ms), as the times above a millisecond have.
    std::snprintf(buffer, sizeof buffer, "%#.3gms", static_cast<double>(ns) / 1e6);
  } else if (ns < kSecond) {
    std::snprintf(buffer, sizeof buffer, "%.1fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3fs", static_cast<double>(ns) / 1e9);
  }
  return buffer;
}

std::string kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::null:
      return "null";
    default:
      return "a value";
  }
}

bool type_matches(const json& value, std::string_view name) {
  if (name == "string") return value.is_string();
  if (name == "number") return value.is_number();
  if (name == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double d = value.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  if (name == "boolean") return value.is_boolean();
  if (name == "array") return value.is_array();
  if (name == "object") return value.is_object();
  if (name == "null") return value.is_null();
  return false;
}

// Reads a header value as a number: an integer if it is one, else a decimal.
std::optional<json> number_from_text(const std::string& text) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  std::int64_t integer = 0;
  if (auto [ptr, ec] = std::from_chars(begin, end, integer); ec == std::errc() && ptr == end) {
    return json(integer);
  }
  double real = 0;
  if (auto [ptr, ec] = std::from_chars(begin, end, real); ec == std::errc() && ptr == end) {
    return json(real);
  }
  return std::nullopt;
}

// Compares a finite double with an integer by their mathematical values: -1, 0 or 1. A double
// far past either end of the integers is below or above them all; otherwise its floor fits an
// __int128 exactly, and a fraction left over puts it just above that floor.
int compare_double_with_integer(double x, const json& integer) {
  const __int128 i = integer.is_number_unsigned()
                         ? static_cast<__int128>(integer.get<std::uint64_t>())
                         : static_cast<__int128>(integer.get<std::int64_t>());
  if (x < -0x1p63) return -1;
  if (x >= 0x1p64) return 1;
  const double whole = std::floor(x);
  const auto floor_value = static_cast<__int128>(whole);
  if (floor_value != i) return floor_value < i ? -1 : 1;
  return whole == x ? 0 : 1;
}

// Returns -1, 0 or 1 comparing two JSON numbers by their mathematical values, across unsigned,
// signed and floating-point kinds (18446744073709551615 is not -1, nor 2^63 -2^63), or
// std::nullopt when either is NaN, which nothing equals.
std::optional<int> compare_numbers(const json& a, const json& b) {
  if (a.is_number_float() && b.is_number_float()) {
    const double x = a.get<double>();
    const double y = b.get<double>();
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_number_float() || b.is_number_float()) {
    const bool a_float = a.is_number_float();
    const double x = (a_float ? a : b).get<double>();
    if (std::isnan(x)) return std::nullopt;
    const int order = compare_double_with_integer(x, a_float ? b : a);
    return a_float ? order : -order;
  }
  const bool a_negative =
      a.is_number_integer() && !a.is_number_unsigned() && a.get<std::int64_t>() < 0;
  const bool b_negative =
      b.is_number_integer() && !b.is_number_unsigned() && b.get<std::int64_t>() < 0;
  if (a_negative != b_negative) return a_negative ? -1 : 1;
  if (a_negative) {
    const auto x = a.get<std::int64_t>();
    const auto y = b.get<std::int64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const auto x = a.get<std::uint64_t>();
  const auto y = b.get<std::uint64_t>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// JSON equality with numbers compared by value, at any depth: nlohmann's == casts an unsigned
// to a signed integer, so 18446744073709551615 == -1 there.
bool same_json(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_json(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      if (other == b.end() || !same_json(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

std::size_t utf8_length(const std::string& text) {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::optional<std::int64_t> integer_from_text(const std::string& text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  if (auto [ptr, ec] = std::from_chars(text.data(), end, value); ec == std::errc() && ptr == end) {
    return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(MatchOp op) {
  return kMatcherOperators[static_cast<std::size_t>(op)];
}

std::optional<MatchOp> match_op_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kMatcherOperators.size(); ++i) {
    if (kMatcherOperators[i] == name) return static_cast<MatchOp>(i);
  }
  return std::nullopt;
}

Matcher::Matcher(MatcherDomain domain, std::string subject, SourceLocation loc)
    : domain_(domain), subject_(std::move(subject)), loc_(std::move(loc)) {}

Matcher Matcher::equals(json value, std::string subject) {
  Matcher matcher(MatcherDomain::json, std::move(subject));
  matcher.add({MatchOp::eq, std::move(value), nullptr, nullptr, {}, {}});
  return matcher;
}

void Matcher::add(MatchClause clause) {
  if (clause.op == MatchOp::matches && !clause.regex && clause.operand.is_string() &&
      !has_template(std::string_view(clause.operand.get_ref<const std::string&>()))) {
    clause.regex = compile_regex(clause.operand.get<std::string>());
  }
  clauses_.push_back(std::move(clause));
}

bool Matcher::has_templates() const {
  for (const auto& clause : clauses_) {
    if (has_template_anywhere(clause.operand)) return true;
  }
  return false;
}

Matcher Matcher::bind(const Variables& variables) const {
  if (!has_templates()) return *this;
  Matcher out(domain_, subject_, loc_);
  for (MatchClause clause : clauses_) {
    if (has_template_anywhere(clause.operand)) {
      clause.operand = expand(clause.operand, variables);
      // An expanded operand is read the way the domain reads a written one.
      auto coerce = [&](json& value) {
        if (!value.is_string()) {
          if (domain_ == MatcherDomain::header && value.is_primitive()) value = splice_text(value);
          return;
        }
        const auto& text = value.get_ref<const std::string&>();
        if (domain_ == MatcherDomain::status) {
          if (auto number = integer_from_text(text)) value = *number;
        } else if (domain_ == MatcherDomain::duration) {
          if (auto duration = platform::parse_duration(text)) value = duration->count();
        }
      };
      if (clause.op == MatchOp::in && clause.operand.is_array()) {
        for (auto& item : clause.operand) coerce(item);
      } else if (clause.op != MatchOp::matches) {
        coerce(clause.operand);
      }
      if (clause.op == MatchOp::matches) {
        clause.regex.reset();
        if (!clause.operand.is_string()) {
          clause.error = "the pattern of " + subject_ + " expanded to " + shown(clause.operand) +
                         ", not a string";
        } else {
          try {
            clause.regex = compile_regex(clause.operand.get<std::string>());
          } catch (const RegexError& e) {
            clause.error = "the pattern of " + subject_ + " expanded to an invalid regex " +
                           shown(clause.operand) + ": " + e.what();
          }
        }
      }
    }
    out.clauses_.push_back(std::move(clause));
  }
  return out;
}

std::string Matcher::render(const json& value) const {
  if (domain_ == MatcherDomain::duration && value.is_number_integer()) {
    return readable_duration(value.get<std::int64_t>());
  }
  return truncated(shown(value));
}

std::string Matcher::describe(const MatchClause& clause) const {
  auto operand_text = [&](const json& value) {
    if (domain_ == MatcherDomain::duration && value.is_number_integer()) {
      return platform::format_duration(std::chrono::nanoseconds(value.get<std::int64_t>()));
    }
    return truncated(shown(value));
  };
  switch (clause.op) {
    case MatchOp::eq:
      return "equal " + operand_text(clause.operand);
    case MatchOp::ne:
      return "not equal " + operand_text(clause.operand);
    case MatchOp::gt:
      return "be greater than " + operand_text(clause.operand);
    case MatchOp::gte:
      return "be at least " + operand_text(clause.operand);
    case MatchOp::lt:
      return "be less than " + operand_text(clause.operand);
    case MatchOp::lte:
      return "be at most " + operand_text(clause.operand);
    case MatchOp::in: {
      std::string out = "be one of [";
      if (clause.operand.is_array()) {
        bool first = true;
        for (const auto& item : clause.operand) {
          if (!first) out += ", ";
          first = false;
          out += operand_text(item);
        }
      } else {
        out += operand_text(clause.operand);
      }
      return out + "]";
    }
    case MatchOp::matches:
      return "match /" +
             (clause.operand.is_string() ? clause.operand.get<std::string>()
                                         : shown(clause.operand)) +
             "/";
    case MatchOp::exists:
      return clause.operand.is_boolean() && !clause.operand.get<bool>() ? "be absent" : "exist";
    case MatchOp::length: {
      if (!clause.length) return "have a length";
      std::string out = "have length ";
      bool first = true;
      for (const auto& inner : clause.length->clauses_) {
        if (!first) out += " and ";
        first = false;
        std::string text = inner.op == MatchOp::eq ? clause.length->render(inner.operand)
                                                   : clause.length->describe(inner);
        if (text.starts_with("be ")) text.erase(0, 3);
        out += text;
      }
      return out;
    }
    case MatchOp::contains:
      return "contain " + operand_text(clause.operand);
    case MatchOp::type:
      return "be of type " + (clause.operand.is_string() ? clause.operand.get<std::string>()
                                                         : shown(clause.operand));
  }
  return "match";
}

std::string Matcher::describe() const {
  std::string out;
  for (const auto& clause : clauses_) {
    if (!out.empty()) out += " and ";
    out += describe(clause);
  }
  return out.empty() ? "be anything" : out;
}

std::optional<std::string> Matcher::check_clause(const MatchClause& clause,
                                                 const std::optional<json>& actual) const {
  const std::string expected = "expected " + subject_ + " to " + describe(clause);
  if (!clause.error.empty()) return clause.error;
  if (clause.op == MatchOp::exists) {
    const bool wanted = !clause.operand.is_boolean() || clause.operand.get<bool>();
    if (wanted == actual.has_value()) return std::nullopt;
    if (wanted) return expected + ", but it is missing";
    return expected + ", got " + render(*actual);
  }
  if (!actual) return expected + ", but it is missing";
  const json& value = *actual;
  const std::string got = ", got " + render(value);

  switch (clause.op) {
    case MatchOp::eq:
      if (same_json(value, clause.operand)) return std::nullopt;
      return expected + got;
    case MatchOp::ne:
      if (!same_json(value, clause.operand)) return std::nullopt;
      return expected + got;
    case MatchOp::gt:
    case MatchOp::gte:
    case MatchOp::lt:
    case MatchOp::lte: {
      std::optional<json> number;
      if (value.is_number()) {
        number = value;
      } else if (domain_ == MatcherDomain::header && value.is_string()) {
        number = number_from_text(value.get<std::string>());
      }
      // The operand can be text only through a template ("${limit}": a --var, or a capture of
      // a string): the message blames the side that is not a number (it blamed the value,
      // "got 3450 (a number, not a number)", an outside probe).
      if (!clause.operand.is_number()) {
        return expected + got + " (the value to compare with is " + kind_of(clause.operand) +
               ", not a number" +
               (clause.operand.is_string() ? ": a --var, or a capture of a string, is text)" : ")");
      }
      if (!number) return expected + got + " (" + kind_of(value) + ", not a number)";
      const std::optional<int> compared = compare_numbers(*number, clause.operand);
      const int order = compared.value_or(0);
      const bool holds =
          compared.has_value() &&
          ((clause.op == MatchOp::gt && order > 0) || (clause.op == MatchOp::gte && order >= 0) ||
           (clause.op == MatchOp::lt && order < 0) || (clause.op == MatchOp::lte && order <= 0));
      if (holds) return std::nullopt;
      return expected + got;
    }
    case MatchOp::in:
      if (clause.operand.is_array()) {
        for (const auto& item : clause.operand) {
          if (same_json(value, item)) return std::nullopt;
        }
      }
      return expected + got;
    case MatchOp::matches: {
      if (!value.is_string()) return expected + got + " (" + kind_of(value) + ", not a string)";
      if (!clause.regex) return expected + ": the pattern was never compiled";
      // RE2: linear in the value's length, whatever the pattern; it cannot fail on a value.
      if (regex_search(value.get_ref<const std::string&>(), *clause.regex)) return std::nullopt;
      return expected + got;
    }
    case MatchOp::length: {
      std::size_t length = 0;
      if (value.is_string()) {
        length = utf8_length(value.get_ref<const std::string&>());
      } else if (value.is_array() || value.is_object()) {
        length = value.size();
      } else {
        return expected + got + " (" + kind_of(value) + ", which has no length)";
      }
      if (!clause.length || !clause.length->check(json(length))) return std::nullopt;
      return expected + ", got length " + std::to_string(length) + ": " + render(value);
    }
    case MatchOp::contains:
      if (value.is_string()) {
        if (clause.operand.is_string() &&
            value.get_ref<const std::string&>().find(
                clause.operand.get_ref<const std::string&>()) != std::string::npos) {
          return std::nullopt;
        }
      } else if (value.is_array()) {
        for (const auto& item : value) {
          if (same_json(item, clause.operand)) return std::nullopt;
        }
      } else if (value.is_object()) {
        if (clause.operand.is_string() && value.contains(clause.operand.get<std::string>())) {
          return std::nullopt;
        }
      } else {
        return expected + got + " (" + kind_of(value) + ", which cannot contain anything)";
      }
      return expected + got;
    case MatchOp::type:
      if (clause.operand.is_string() && type_matches(value, clause.operand.get<std::string>())) {
        return std::nullopt;
      }
      return expected + got + " (" + kind_of(value) + ")";
    case MatchOp::exists:
      break;  // handled above
  }
  return std::nullopt;
}

std::optional<std::string> Matcher::check(const std::optional<json>& actual) const {
  for (const auto& clause : clauses_) {
    if (auto failure = check_clause(clause, actual)) return failure;
  }
  return std::nullopt;
}

std::optional<std::string> Matcher::check(const std::optional<json>& actual,
                                          const Variables& variables) const {
  if (!has_templates()) return check(actual);
  return bind(variables).check(actual);
}

std::optional<std::string> Matcher::check_duration(std::chrono::nanoseconds elapsed) const {
  return check(json(static_cast<std::int64_t>(elapsed.count())));
}

}  // namespace shopctl::scenario
