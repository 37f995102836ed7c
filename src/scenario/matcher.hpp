#pragma once
// Matchers: the right-hand side of an expectation (`$.total_cents: {gt: 0}`).
//
// A plain value means equals; a mapping is a set of operators that must all hold:
// eq, ne, gt, gte, lt, lte, in, matches, exists, length, contains, type.
// Each matcher works in a domain that decides how operands and actual values read:
//   json      actual is any JSON value (a response body member)
//   status    actual is the integer HTTP status; a plain list means `in`
//   header    actual is the header's string value; gt/gte/lt/lte read it as a number
//   duration  actual and operands are durations, held as integer nanoseconds (`{lt: 50ms}`)
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/diagnostics.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/regex.hpp"

namespace shopctl::scenario {

enum class MatcherDomain { json, status, header, duration };

enum class MatchOp { eq, ne, gt, gte, lt, lte, in, matches, exists, length, contains, type };

inline constexpr std::array<std::string_view, 12> kMatcherOperators = {
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "matches", "exists", "length", "contains", "type"};
// Names accepted by `type:`. `integer` is a number without a fractional part; `number` is any
// number.
inline constexpr std::array<std::string_view, 7> kJsonTypeNames = {
    "string", "number", "integer", "boolean", "array", "object", "null"};

std::string_view to_string(MatchOp op);
std::optional<MatchOp> match_op_from_string(std::string_view name);

class Matcher;

// One operator of a matcher.
struct MatchClause {
  MatchOp op = MatchOp::eq;
  // eq/ne/contains: the value; gt/gte/lt/lte: a number; in: an array; matches: the pattern;
  // exists: a boolean; type: a type name; length: unused. Durations are integer nanoseconds.
  // Strings may hold ${...} templates until Matcher::bind expands them.
  nlohmann::json operand;
  std::shared_ptr<const Matcher> length;  // op == length: applies to the length (a number)
  std::shared_ptr<const re2::RE2> regex;  // op == matches: compiled once free of templates
  std::string error;                      // set by bind() when the expanded regex is invalid
  SourceLocation loc;                     // where the operator (or plain value) was written
};

class Matcher {
 public:
  // A matcher without clauses: everything matches.
  Matcher() = default;
  // `subject` names the checked value in messages: "$.status", "status", "header Retry-After".
  Matcher(MatcherDomain domain, std::string subject, SourceLocation loc = {});

  // Returns a json-domain matcher that requires equality with `value`.
  static Matcher equals(nlohmann::json value, std::string subject = "value");
  // Parses a matcher written in YAML (`"{gt: 0, lt: 10}"`, `"PAID"`); every ${name} is
  // accepted. Throws ValidationError listing every problem. Meant for tests and tools.
  static Matcher from_yaml(std::string_view yaml, MatcherDomain domain = MatcherDomain::json,
                           std::string subject = "value");

  // Adds a clause; for `matches` without templates compiles the regex (throws RegexError).
  void add(MatchClause clause);

  MatcherDomain domain() const { return domain_; }
  const std::string& subject() const { return subject_; }
  void set_subject(std::string subject) { subject_ = std::move(subject); }
  const SourceLocation& location() const { return loc_; }
  const std::vector<MatchClause>& clauses() const { return clauses_; }

  // True when an operand still holds a ${...} template, so bind() is needed before check().
  bool has_templates() const;
  // Returns a copy with every template operand expanded (in the status and duration domains a
  // string that reads as a status or a duration becomes one). Throws InterpolationError.
  Matcher bind(const Variables& variables) const;

  // Returns nullopt when every clause holds for `actual` (nullopt = the value is absent), else
  // a message for a person: `expected $.status to equal "PAID", got "PAYMENT_PENDING"`.
  std::optional<std::string> check(const std::optional<nlohmann::json>& actual) const;
  // bind(variables) then check(actual). Throws InterpolationError.
  std::optional<std::string> check(const std::optional<nlohmann::json>& actual,
                                   const Variables& variables) const;
  // check() for the duration domain: `elapsed` as integer nanoseconds.
  std::optional<std::string> check_duration(std::chrono::nanoseconds elapsed) const;

  // What the matcher requires, for reports: `be greater than 0 and be less than 10`.
  std::string describe() const;

 private:
  std::optional<std::string> check_clause(const MatchClause& clause,
                                          const std::optional<nlohmann::json>& actual) const;
  std::string describe(const MatchClause& clause) const;
  std::string render(const nlohmann::json& value) const;

  MatcherDomain domain_ = MatcherDomain::json;
  std::string subject_ = "value";
  SourceLocation loc_;
  std::vector<MatchClause> clauses_;
};

}  // namespace shopctl::scenario
