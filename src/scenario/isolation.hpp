#pragma once
// Which scenarios must run alone against a running shop (`shopctl run --target`). Scenarios
// that change state the whole shop shares (faults, services, the clock, breakers, the catalog,
// settings) or that read the shop-wide records (calls, violations, breaker states) would see
// each other; they run one at a time, the others in parallel. docs/scenarios.md, "Against a
// running shop", lists the rules.
#include <map>
#include <string>

#include "scenario/model.hpp"

namespace shopctl::scenario {

struct Isolation {
  bool exclusive = false;
  // Why, for reports: "`stop: order` (file.yaml:12:5) changes shared state", "declared
  // `exclusive: true`", ...; empty when the scenario may share the shop.
  std::string reason;
};

// Detected from the parsed scenario; `exclusive: true|false` in the file overrides the
// detection. Any action other than request, register, login, pay and wait makes a scenario
// exclusive, so an action added later is exclusive until this function is told otherwise.
// A request's path counts as the admin plane's when its text holds "/_admin", when it starts
// with a variable (where it goes is not known before it runs), or when a variable in it (a
// `vars:` entry, or one of `command_line_vars`, the run's --var) holds "_admin": `path: "${p}"`
// with `p: /_admin/faults` ran in parallel.
Isolation isolation_of(const Scenario& scenario,
                       const std::map<std::string, nlohmann::json>& command_line_vars = {});

}  // namespace shopctl::scenario
