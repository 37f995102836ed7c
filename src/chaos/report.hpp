#pragma once
// The report of a chaos run: a table for people (disturbances, shoppers, orders, each
// invariant with its verdict and evidence) ending in "chaos: N passed, M failed", and the
// same in JSON.
#include <string>

#include <nlohmann/json.hpp>

#include "chaos/runner.hpp"

namespace shopctl::chaos {

struct Tally {
  int passed = 0, failed = 0, not_checked = 0;
};
Tally tally(const std::vector<Verdict>& verdicts);

std::string text_report(const ChaosResult& result);
nlohmann::json json_report(const ChaosResult& result);

}  // namespace shopctl::chaos
