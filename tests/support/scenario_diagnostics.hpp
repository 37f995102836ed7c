#pragma once
// What the tests of the scenario parser share: the diagnostics of a scenario text, and the
// one of them a test is about.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "scenario/diagnostics.hpp"
#include "scenario/parser.hpp"

namespace shopctl::test_support {

// The diagnostics of `yaml`, parsed as s.yaml.
inline std::vector<scenario::Diagnostic> problems(std::string_view yaml,
                                                  const scenario::ParseOptions& options = {}) {
  return scenario::parse_scenario_text(yaml, "s.yaml", options).diagnostics;
}

// line:column of a diagnostic.
inline std::string at(const scenario::Diagnostic& d) {
  return std::to_string(d.line) + ":" + std::to_string(d.column);
}

// One line per diagnostic: line:column message.
inline std::string dump(const std::vector<scenario::Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += at(d) + " " + d.message + "\n";
  return out;
}

// The one diagnostic that mentions `needle`; fails the test when there is not exactly one.
inline scenario::Diagnostic only(const std::vector<scenario::Diagnostic>& diagnostics,
                                 std::string_view needle) {
  std::vector<scenario::Diagnostic> found;
  for (const auto& d : diagnostics) {
    if (d.message.find(needle) != std::string::npos) found.push_back(d);
  }
  INFO("looking for '" << needle << "' in:\n" << dump(diagnostics));
  REQUIRE(found.size() == 1);
  return found.front();
}

}  // namespace shopctl::test_support
