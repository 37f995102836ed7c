#pragma once
// What the tests of the scenario runner share: one scenario from YAML text, run in-process on
// a shop of its own, and its failures as one text for a check's message.
#include <doctest/doctest.h>

#include <string>

#include "scenario/parser.hpp"
#include "scenario/runner.hpp"

namespace shopctl::test_support {

// Parses `yaml` (named `file` in diagnostics) and runs it with the default options.
inline scenario::ScenarioResult run_scenario_text(const std::string& yaml,
                                                  const std::string& file = "test.yaml") {
  auto parsed = scenario::parse_scenario_text(yaml, file);
  INFO(parsed.format_diagnostics());
  REQUIRE(parsed.ok());
  auto summary = scenario::run_scenarios({*parsed.scenario}, scenario::RunOptions{});
  REQUIRE(summary.results.size() == 1);
  return summary.results[0];
}

// One line per failure: phase | step | message.
inline std::string failures_of(const scenario::ScenarioResult& r) {
  std::string all;
  for (const auto& f : r.failures) all += f.phase + " | " + f.step + " | " + f.message + "\n";
  return all;
}

}  // namespace shopctl::test_support
