#include "scenario/isolation.hpp"

#include <optional>
#include <type_traits>
#include <variant>

namespace shopctl::scenario {

namespace {

std::string at(const SourceLocation& loc) {
  return " (" + loc.to_string() + ")";
}

// Step faults, and expectations that read what every scenario shares.
std::optional<std::string> faults_or_expectations_reason(const Step& step) {
  if (!step.faults.empty()) return "step faults" + at(step.loc) + " change shared state";
  if (step.expect) {
    const auto& e = *step.expect;
    if (!e.circuit.empty() || !e.circuit_transitions.empty())
      return "expectations on breakers" + at(e.loc) + " read shared state";
    if (!e.calls.empty() || e.violations)
      return "expectations on calls or violations" + at(e.loc) + " read the shop-wide call records";
  }
  return std::nullopt;
}

// Why this step makes the scenario exclusive, or nullopt.
std::optional<std::string> step_reason(const Step& step) {
  // A `concurrently` block is what its steps are: one that only reads shares the shop (it was
  // made exclusive as "changing shared state" whatever it held).
  if (const auto* block = std::get_if<ConcurrentAction>(&step.action)) {
    for (const auto& inner : block->steps) {
      if (auto why = step_reason(inner)) return why;
    }
    return faults_or_expectations_reason(step);
  }
  const bool shares = std::visit(
      [](const auto& action) {
        using A = std::decay_t<decltype(action)>;
        if constexpr (std::is_same_v<A, RequestAction>) {
          // The admin plane is the operator's: forcing a breaker, changing the catalog, ...
          return action.path.find("/_admin") == std::string::npos;
        } else {
          return std::is_same_v<A, RegisterAction> || std::is_same_v<A, LoginAction> ||
                 std::is_same_v<A, PayAction> || std::is_same_v<A, WaitAction>;
        }
      },
      step.action);
  if (!shares) {
    if (const auto* r = std::get_if<RequestAction>(&step.action)) {
      return "a request to the admin plane (" + r->path + ")" + at(step.loc) +
             " changes shared state";
    }
    return "`" + std::string(action_name(step.action)) + "`" + at(step.loc) +
           " changes shared state";
  }
  return faults_or_expectations_reason(step);
}

std::optional<std::string> detected_reason(const Scenario& s) {
  if (s.has_config()) return "`config:`" + at(s.config_loc) + " changes the shop's settings";
  if (s.seed) return "`seed:` reseeds the shop's fault choices and retry jitter";
  if (s.allow_violations)
    return "`allow_violations: true`: its violations would show in the other scenarios' records";
  for (const auto* phase : {&s.setup, &s.steps, &s.teardown}) {
    for (const auto& step : *phase) {
      if (auto why = step_reason(step)) return why;
    }
  }
  return std::nullopt;
}

}  // namespace

Isolation isolation_of(const Scenario& scenario) {
  if (scenario.exclusive) {
    if (*scenario.exclusive) return {true, "declared `exclusive: true`"};
    return {false, ""};
  }
  if (auto why = detected_reason(scenario)) return {true, *why};
  return {false, ""};
}

}  // namespace shopctl::scenario
