#pragma once
// A small JSON Schema validator (the subset docs/openapi.yaml uses) and the lookup of an
// operation's response schema in an OpenAPI description: what `expect: {schema: true}` and
// `shopctl run --validate-schema` check (docs/scenarios.md, "Response schemas"). Pure logic.
//
// Hand-written because Debian 12 packages no JSON Schema validator for C++ and Redocly CLI
// (JavaScript) lints descriptions only. Supported keywords: type (a name or a list, "null"
// included; "integer" is a number without a fraction), properties, required,
// additionalProperties (false or a schema), items, minItems, maxItems, enum, const, pattern
// (RE2 syntax, searched anywhere in the string as JSON Schema says, in linear time), minLength,
// maxLength (in code points), minimum, maximum, exclusiveMinimum, exclusiveMaximum, allOf,
// anyOf, oneOf, and $ref to a JSON pointer in the same document ("#/components/schemas/X").
// format, description, examples, default and title are annotations: not checked. Any other
// keyword is ignored.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::scenario {

// One value that does not fit its schema.
struct SchemaMismatch {
  std::string path;    // where, as a JSONPath: "$.items[0].price_cents"
  std::string wanted;  // what the schema wanted: "type integer", "minimum 0", "no property 'x'"
  std::string got;     // what came, shortened: "\"12\"", "-5", "an object"
};

// "$.items[0].price_cents: wanted minimum 0, got -5".
std::string to_string(const SchemaMismatch& mismatch);

// Checks `value` against `schema`; `$ref`s are resolved in `document` (the whole description).
// Returns the mismatches, at most `max_mismatches`; empty when the value fits. A `$ref` that
// leads nowhere is a mismatch too.
std::vector<SchemaMismatch> validate_json_schema(const nlohmann::json& value,
                                                 const nlohmann::json& schema,
                                                 const nlohmann::json& document,
                                                 std::size_t max_mismatches = 10);

// The response schema an OpenAPI description gives for one answer.
struct ResponseSchema {
  std::string operation;                   // "GET /api/orders/{id}", or "" when none matched
  const nlohmann::json* schema = nullptr;  // the JSON body's schema; null: no JSON body described
  std::string problem;                     // set when the answer is not described at all
};

// Finds the operation by `method` and the request `path` (its query is ignored) matched against
// the path templates (`{id}` matches one non-empty segment; the template with the most literal
// segments wins), then the response by status: the exact code, then "4XX", then "default".
// An undescribed path or method answered 404 or 405 gets `#/components/schemas/Error` (the
// description says every such answer has the error shape); otherwise an undescribed path,
// method or status is a `problem`.
ResponseSchema find_response_schema(const nlohmann::json& description, std::string_view method,
                                    std::string_view path, int status);

}  // namespace shopctl::scenario
