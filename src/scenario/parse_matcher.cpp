// Matchers read from YAML, for every domain (see matcher.hpp).
#include <cmath>
#include <limits>

#include "platform/duration.hpp"
#include "platform/json_text.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/parse_context.hpp"
#include "scenario/regex.hpp"
#include "scenario/vocabulary.hpp"

namespace shopctl::scenario {
namespace detail {
namespace {

using nlohmann::json;

bool applies(MatchOp op, MatcherDomain domain) {
  switch (domain) {
    case MatcherDomain::json:
      return true;
    case MatcherDomain::header:
      return op != MatchOp::type;
    case MatcherDomain::status:
    case MatcherDomain::duration:
      return op == MatchOp::eq || op == MatchOp::ne || op == MatchOp::gt || op == MatchOp::gte ||
             op == MatchOp::lt || op == MatchOp::lte || op == MatchOp::in;
  }
  return false;
}

std::string_view domain_noun(MatcherDomain domain) {
  switch (domain) {
    case MatcherDomain::json:
      return "a JSON value";
    case MatcherDomain::status:
      return "a status";
    case MatcherDomain::header:
      return "a header";
    case MatcherDomain::duration:
      return "a duration";
  }
  return "a value";
}

// A scalar that is nothing but templates is kept as a string for bind() to expand.
bool is_template_scalar(Context& ctx, const Field& field) {
  return field.node.IsScalar() && has_template(ctx.text(field.node));
}

std::optional<json> status_code(Context& ctx, const Field& field) {
  if (is_template_scalar(ctx, field)) {
    const std::string text = ctx.text(field.node);
    ctx.check_references(field.mark, text);
    return json(text);
  }
  if (field.node.IsScalar() && !platform::yaml_quoted(field.node)) {
    const json value = resolve_plain_scalar(ctx.text(field.node));
    if (value.is_number_integer() && value.get<std::int64_t>() >= 100 &&
        value.get<std::int64_t>() <= 599) {
      return value;
    }
  }
  ctx.error(field.mark, ctx.describe(field.node) + " is not an HTTP status code (100 to 599)");
  return std::nullopt;
}

std::optional<json> duration_operand(Context& ctx, const Field& field) {
  if (is_template_scalar(ctx, field)) {
    const std::string text = ctx.text(field.node);
    ctx.check_references(field.mark, text);
    return json(text);
  }
  if (auto value = ctx.duration(field)) return json(static_cast<std::int64_t>(value->count()));
  return std::nullopt;
}

std::optional<json> header_text(Context& ctx, const Field& field) {
  if (!field.node.IsScalar()) {
    ctx.error(field.mark, "a header value is text, not " + ctx.describe(field.node));
    return std::nullopt;
  }
  auto text = ctx.text_template(field);
  if (!text) return std::nullopt;
  return json(*text);
}

std::optional<json> number_operand(Context& ctx, const Field& field, std::string_view op) {
  if (is_template_scalar(ctx, field)) {
    const std::string text = ctx.text(field.node);
    ctx.check_references(field.mark, text);
    return json(text);
  }
  if (field.node.IsScalar() && !platform::yaml_quoted(field.node)) {
    const json value = resolve_plain_scalar(ctx.text(field.node));
    if (value.is_number() && std::isfinite(value.get<double>())) return value;
  }
  ctx.error(field.mark,
            "'" + std::string(op) + "' compares numbers, not " + ctx.describe(field.node));
  return std::nullopt;
}

// The value of eq, ne, contains and each item of in.
std::optional<json> value_operand(Context& ctx, const Field& field, MatcherDomain domain) {
  switch (domain) {
    case MatcherDomain::json:
      return ctx.json_template(field);
    case MatcherDomain::status:
      return status_code(ctx, field);
    case MatcherDomain::header:
      return header_text(ctx, field);
    case MatcherDomain::duration:
      return duration_operand(ctx, field);
  }
  return std::nullopt;
}

std::optional<json> ordering_operand(Context& ctx, const Field& field, MatcherDomain domain,
                                     std::string_view op) {
  switch (domain) {
    case MatcherDomain::status:
      return status_code(ctx, field);
    case MatcherDomain::duration:
      return duration_operand(ctx, field);
    case MatcherDomain::json:
    case MatcherDomain::header:
      return number_operand(ctx, field, op);
  }
  return std::nullopt;
}

std::optional<MatchClause> parse_clause(Context& ctx, const Field& entry, MatchOp op,
                                        MatcherDomain domain, const std::string& subject) {
  MatchClause clause;
  clause.op = op;
  clause.loc = ctx.location(entry.key_mark);
  switch (op) {
    case MatchOp::eq:
    case MatchOp::ne:
    case MatchOp::contains: {
      auto value = value_operand(ctx, entry, domain);
      if (!value) return std::nullopt;
      clause.operand = std::move(*value);
      return clause;
    }
    case MatchOp::gt:
    case MatchOp::gte:
    case MatchOp::lt:
    case MatchOp::lte: {
      auto value = ordering_operand(ctx, entry, domain, entry.name);
      if (!value) return std::nullopt;
      // A latency is never below 0: `lt: 0ms` failed every run and `gte: 0ms` passed whatever
      // happened, where `shopctl load` refuses both (`p99<0ms`, `p99>=0ms`; an outside probe).
      if (domain == MatcherDomain::duration && value->is_number_integer() &&
          value->get<std::int64_t>() == 0 && (op == MatchOp::lt || op == MatchOp::gte)) {
        ctx.error(entry.mark, op == MatchOp::lt
                                  ? "no " + subject + " is below 0ms: nothing can meet '" +
                                        entry.name + ": 0ms'"
                                  : "every " + subject + " is at least 0ms: '" + entry.name +
                                        ": 0ms' would pass whatever happened");
        return std::nullopt;
      }
      clause.operand = std::move(*value);
      return clause;
    }
    case MatchOp::in: {
      if (!entry.node.IsSequence()) {
        ctx.error(entry.mark, "'in' needs a list of values, like {in: [a, b]}, not " +
                                  ctx.describe(entry.node));
        return std::nullopt;
      }
      const auto items = ctx.items(entry);
      if (items.empty()) {
        // `status: []` is the list form of {in: [...]}: said in the words the author wrote.
        ctx.error(entry.mark, entry.name == "in" ? "'in' needs at least one value"
                                                 : entry.name + ": [] needs at least one status");
        return std::nullopt;
      }
      clause.operand = json::array();
      bool ok = true;
      for (const Field& item : items) {
        auto value = value_operand(ctx, item, domain);
        if (value) {
          clause.operand.push_back(std::move(*value));
        } else {
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      return clause;
    }
    case MatchOp::matches: {
      if (!entry.node.IsScalar()) {
        ctx.error(entry.mark,
                  "'matches' needs a regular expression, not " + ctx.describe(entry.node));
        return std::nullopt;
      }
      const std::string pattern = ctx.text(entry.node);
      clause.operand = pattern;
      // A refused pattern may be thousands of characters: quote only its start.
      const auto quoted = [](const std::string& text) {
        return "\"" + (text.size() > 60 ? text.substr(0, 60) + "..." : text) + "\"";
      };
      if (has_template(pattern)) {
        ctx.check_references(entry.mark, pattern);
        // Made only of vars the file fixes: checked now, as run would refuse it at the step.
        if (const auto expanded = literal_text(ctx.scope(), pattern)) {
          try {
            (void)compile_regex(*expanded);
          } catch (const RegexError& e) {
            ctx.error(entry.mark, "invalid regular expression " + quoted(*expanded) + " (from " +
                                      quoted(pattern) + "): " + e.what());
            return std::nullopt;
          }
        }
        return clause;
      }
      try {
        clause.regex = compile_regex(pattern);
      } catch (const RegexError& e) {
        ctx.error(entry.mark, "invalid regular expression " + quoted(pattern) + ": " + e.what());
        return std::nullopt;
      }
      return clause;
    }
    case MatchOp::exists: {
      auto value = ctx.boolean(entry);
      if (!value) return std::nullopt;
      clause.operand = *value;
      return clause;
    }
    case MatchOp::length: {
      Matcher length(MatcherDomain::json, "the length of " + subject, clause.loc);
      if (entry.node.IsMap()) {
        length = parse_matcher(ctx, entry, MatcherDomain::json, "the length of " + subject);
        for (const MatchClause& inner : length.clauses()) {
          const bool ordering = inner.op == MatchOp::eq || inner.op == MatchOp::ne ||
                                inner.op == MatchOp::gt || inner.op == MatchOp::gte ||
                                inner.op == MatchOp::lt || inner.op == MatchOp::lte ||
                                inner.op == MatchOp::in;
          auto is_count = [](const json& v) {
            return v.is_number_unsigned() ||
                   (v.is_number_integer() && v.get<std::int64_t>() >= 0) ||
                   (v.is_string() && has_template(v.get<std::string>()));
          };
          bool counts =
              inner.op == MatchOp::in ? inner.operand.is_array() : is_count(inner.operand);
          if (inner.op == MatchOp::in && counts) {
            for (const auto& item : inner.operand) counts = counts && is_count(item);
          }
          if (!ordering) {
            const auto& loc = inner.loc;
            ctx.add({loc.file, loc.line, loc.column,
                     "'" + std::string(to_string(inner.op)) +
                         "' does not apply to a length (use eq, ne, gt, gte, lt, lte or in)"});
          } else if (!counts) {
            const auto& loc = inner.loc;
            ctx.add({loc.file, loc.line, loc.column,
                     "a length is compared with whole numbers (0 or more), not " +
                         platform::json_text(inner.operand)});
          }
        }
      } else if (entry.node.IsScalar() && !platform::yaml_quoted(entry.node)) {
        auto count = ctx.integer(entry, 0, std::numeric_limits<std::int64_t>::max());
        if (!count) return std::nullopt;
        length.add({MatchOp::eq, *count, nullptr, nullptr, {}, clause.loc});
      } else {
        ctx.error(entry.mark, "'length' needs a whole number or a matcher like {gt: 0}, not " +
                                  ctx.describe(entry.node));
        return std::nullopt;
      }
      clause.length = std::make_shared<const Matcher>(std::move(length));
      return clause;
    }
    case MatchOp::type: {
      // `type: null` reads as a YAML null; it names the JSON type null.
      auto name =
          ctx.is_null_literal(entry) ? std::optional<std::string>("null") : ctx.string(entry);
      if (!name) return std::nullopt;
      if (!is_one_of(*name, kJsonTypeNames)) {
        std::string message = "unknown type '" + *name + "'";
        const std::vector<std::string> known(kJsonTypeNames.begin(), kJsonTypeNames.end());
        if (auto suggestion = did_you_mean(*name, known))
          message += "; did you mean '" + *suggestion + "'?";
        ctx.error(entry.mark, message + " (types: " + join_names(kJsonTypeNames) + ")");
        return std::nullopt;
      }
      clause.operand = *name;
      return clause;
    }
  }
  return std::nullopt;
}

}  // namespace

Matcher parse_matcher(Context& ctx, const Field& field, MatcherDomain domain, std::string subject) {
  Matcher matcher(domain, subject, ctx.location(field.mark));
  const YAML::Node& node = field.node;
  if (node.IsMap()) {
    const auto entries = ctx.entries(field);
    if (entries.empty()) {
      ctx.error(field.mark, "an empty matcher: write a value, or operators like {gt: 0}");
      return matcher;
    }
    const std::vector<std::string> operators(kMatcherOperators.begin(), kMatcherOperators.end());
    const Field* absent = nullptr;
    std::optional<std::pair<double, bool>> lower, upper;  // bound, and whether it is strict
    for (const Field& entry : entries) {
      const auto op = match_op_from_string(entry.name);
      if (!op) {
        std::string message = "unknown matcher operator '" + entry.name + "'";
        if (auto suggestion = did_you_mean(entry.name, operators)) {
          message += "; did you mean '" + *suggestion + "'?";
        } else {
          message += " (operators: " + join_names(kMatcherOperators) +
                     "; to compare with an object write {eq: {...}})";
        }
        ctx.error(entry.key_mark, std::move(message));
        continue;
      }
      if (!applies(*op, domain)) {
        ctx.error(entry.key_mark, "'" + entry.name + "' does not apply to " +
                                      std::string(domain_noun(domain)) + " (" + subject + ")");
        continue;
      }
      if (*op == MatchOp::exists && entry.node.IsScalar() && !platform::yaml_quoted(entry.node) &&
          resolve_plain_scalar(ctx.text(entry.node)) == json(false)) {
        absent = &entry;
      }
      if (auto clause = parse_clause(ctx, entry, *op, domain, subject)) {
        // The bounds the comparisons set, to catch a matcher no value meets.
        if (clause->operand.is_number() && (*op == MatchOp::gt || *op == MatchOp::gte ||
                                            *op == MatchOp::lt || *op == MatchOp::lte)) {
          const double v = clause->operand.get<double>();
          const bool strict = *op == MatchOp::gt || *op == MatchOp::lt;
          if (*op == MatchOp::gt || *op == MatchOp::gte) {
            if (!lower || v > lower->first || (v == lower->first && strict))
              lower = std::make_pair(v, strict);
          } else if (!upper || v < upper->first || (v == upper->first && strict)) {
            upper = std::make_pair(v, strict);
          }
        }
        matcher.add(std::move(*clause));
      }
    }
    if (lower && upper &&
        (lower->first > upper->first ||
         (lower->first == upper->first && (lower->second || upper->second)))) {
      ctx.error(field.mark, "no value can match this: its lower bound is above its upper bound");
    }
    if (absent != nullptr && entries.size() > 1) {
      ctx.error(absent->key_mark, "'exists: false' cannot be combined with other operators");
    }
    return matcher;
  }

  MatchClause clause;
  clause.loc = ctx.location(field.mark);
  if (node.IsSequence()) {
    if (domain == MatcherDomain::json) {
      auto value = ctx.json_template(field);
      if (!value) return matcher;
      clause.op = MatchOp::eq;
      clause.operand = std::move(*value);
    } else if (domain == MatcherDomain::status) {
      Field in = field;
      in.key_mark = field.mark;
      auto parsed = parse_clause(ctx, in, MatchOp::in, domain, subject);
      if (!parsed) return matcher;
      clause = std::move(*parsed);
      clause.loc = ctx.location(field.mark);
    } else {
      ctx.error(field.mark, "a list is not " + std::string(domain_noun(domain)) +
                                "; to accept several values write {in: [...]}");
      return matcher;
    }
  } else {
    auto value = value_operand(ctx, field, domain);
    if (!value) return matcher;
    clause.op = MatchOp::eq;
    clause.operand = std::move(*value);
  }
  matcher.add(std::move(clause));
  return matcher;
}

}  // namespace detail

Matcher Matcher::from_yaml(std::string_view yaml, MatcherDomain domain, std::string subject) {
  const std::string file = "<matcher>";
  const std::string source(yaml);
  YAML::Node node;
  try {
    node = platform::load_yaml_document(detail::protect_templates(source));
  } catch (const YAML::ParserException& e) {
    throw ValidationError({{file, e.mark.line + 1, e.mark.column + 1, e.msg}});
  }
  detail::Context ctx(file, source);
  ctx.scope().accept_everything = true;
  Matcher matcher =
      detail::parse_matcher(ctx, {node, node.Mark(), {}, {}, {}}, domain, std::move(subject));
  auto diagnostics = ctx.finish();
  if (!diagnostics.empty()) throw ValidationError(std::move(diagnostics));
  return matcher;
}

}  // namespace shopctl::scenario
