// Fuzz target: JSONPath and the matchers. Input: the first byte picks the matcher's domain;
// then, on separate lines, a JSONPath, a matcher in YAML (flow style: `{gt: 0, matches: a+}`),
// and the rest, a JSON document. The path is compiled and evaluated, the matcher parsed, bound
// and checked against what the path found, and described. The only exceptions allowed are the
// documented ones (JsonPathError, ValidationError, InterpolationError, RegexError).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "scenario/diagnostics.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/jsonpath.hpp"
#include "scenario/matcher.hpp"
#include "scenario/regex.hpp"

namespace {

std::string_view next_line(std::string_view& rest) {
  auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shopctl::scenario;
  if (size < 1) return 0;
  const auto domain = static_cast<MatcherDomain>(data[0] % 4);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string_view path_text = next_line(rest);
  const std::string_view matcher_text = next_line(rest);
  const auto document = nlohmann::json::parse(rest, nullptr, false);

  std::optional<nlohmann::json> actual;
  try {
    JsonPath path = JsonPath::parse(path_text);
    actual = path.evaluate(document);
    const nlohmann::json* found = path.find(document);
    if ((found != nullptr) != actual.has_value()) std::abort();
    if (JsonPath::parse(path.text()) != path) std::abort();  // the text reads back the same
  } catch (const JsonPathError& e) {
    if (e.offset() > path_text.size()) std::abort();
  }

  try {
    Matcher matcher = Matcher::from_yaml(matcher_text, domain, "$.fuzz");
    Variables variables;
    variables.set_env_lookup([](const std::string&) { return std::optional<std::string>("env"); });
    variables.set("x", document.is_discarded() ? nlohmann::json(1) : document);
    (void)matcher.describe();
    if (domain == MatcherDomain::duration) {
      (void)matcher.bind(variables).check_duration(std::chrono::milliseconds(42));
    } else {
      (void)matcher.check(actual, variables);
    }
  } catch (const ValidationError&) {
  } catch (const InterpolationError&) {
  } catch (const RegexError&) {
  }
  return 0;
}
