// Fuzz target: the scenario parser and validator (with the shop's `config:` check, as
// `shopctl run` and `validate` use it). YAML text in, a Scenario or diagnostics out, never a
// crash, never an exception out of parse_scenario_text, and never both or neither.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "scenario/parser.hpp"
#include "scenario/runner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shopctl::scenario;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseOptions options;
  options.validate_config = validate_shop_config;
  ParseResult result = parse_scenario_text(text, "fuzz.yaml", options);
  if (result.scenario.has_value() == !result.diagnostics.empty()) std::abort();
  if (!result.diagnostics.empty() && result.format_diagnostics().empty()) std::abort();
  return 0;
}
