#pragma once
// The report of a load run: a text summary for people and JSON for machines, from the same
// figures, with the thresholds' verdicts.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/engine.hpp"
#include "load/plan.hpp"

namespace shopctl::load {

struct Verdict {
  Threshold threshold;
  Threshold::Outcome outcome;
};

std::vector<Verdict> check_thresholds(const LoadResult& result,
                                      const std::vector<Threshold>& thresholds);

// Tables: per journey and per route (count, per second, errors, p50/p90/p99/max), errors by
// code, orders, breaker transitions, faults and the thresholds.
std::string text_report(const LoadResult& result, const std::vector<Verdict>& verdicts);

nlohmann::json json_report(const LoadResult& result, const std::vector<Verdict>& verdicts);

// One progress line: "  3.0s  7,213 req/s  errors 0 (0.00%)  p99 9.1 ms  ...".
std::string progress_line(const Progress& p);

}  // namespace shopctl::load
