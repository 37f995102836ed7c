#pragma once
// Reports of a scenario run: the console (progress while running, then every failure with
// its file:line, what came back and the trace id), JUnit XML and a JSON report.
#include <cstdio>
#include <string>

#include "scenario/runner.hpp"

namespace shopctl::scenario {

struct ConsoleStyle {
  bool color = false;
};

// One line as a scenario finishes: "[3/20] PASS name (412 ms, 9 steps)".
std::string progress_line(const ScenarioResult& r, int done, int total, const ConsoleStyle& style);
// Every failure in detail, then the summary line ("scenarios: 18 passed, 1 failed").
std::string console_summary(const RunSummary& summary, const ConsoleStyle& style);
std::string junit_xml(const RunSummary& summary);
nlohmann::json json_report(const RunSummary& summary);

}  // namespace shopctl::scenario
