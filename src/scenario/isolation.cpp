#include "scenario/isolation.hpp"

#include <optional>
#include <type_traits>
#include <variant>

#include "platform/json_text.hpp"
#include "scenario/interpolate.hpp"

namespace shopctl::scenario {

namespace {

// The variables whose values the runner knows before a scenario runs: its own `vars:` (as
// written, templates and all) and the run's --var.
struct KnownVars {
  const Scenario& scenario;
  const std::map<std::string, nlohmann::json>& command_line;

  // Whether the variable `name` may hold "_admin": its value does, or a variable its value
  // reads does (`depth` bounds a chain). Captures, built-ins and the environment are values
  // the shop or the machine gives: not known here, taken as not.
  bool may_hold_admin(const std::string& name, int depth = 0) const {
    if (depth > 8) return true;
    if (auto v = command_line.find(name); v != command_line.end())
      return platform::json_text(v->second).find("_admin") != std::string::npos;
    for (const auto& [var, value] : scenario.vars) {
      if (var != name) continue;
      const std::string text = platform::json_text(value);
      if (text.find("_admin") != std::string::npos) return true;
      for (const auto& part : scan_template(text).parts) {
        if (part.kind == TemplatePart::Kind::variable && may_hold_admin(part.value, depth + 1))
          return true;
      }
      return false;
    }
    return false;
  }

  // Whether `path` may reach the admin plane (isolation.hpp).
  bool admin_path(const std::string& path) const {
    if (path.find("/_admin") != std::string::npos) return true;
    const auto scanned = scan_template(path);
    for (const auto& part : scanned.parts) {
      if (part.kind != TemplatePart::Kind::variable) continue;
      if (part.offset == 0 || may_hold_admin(part.value)) return true;
    }
    return false;
  }
};

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

// A login that may fail with a wrong password (401): each failure counts toward the email's
// login throttle, which every scenario using that email shares (five wrong passwords for
// demo@shop.test would answer 429 to the others' demo logins). Only a `status` expectation that
// accepts 200 and refuses 401 says it must succeed, and so does a `login` step that says nothing
// of its answer (the runner then fails it unless it answers 2xx). An expectation on the body
// alone ({$.error.code: invalid_credentials}) may well expect the failure, and a request to
// the login route with no status expectation may fail unnoticed: both were taken as logins
// that succeed, ran in parallel and locked the demo user out of the others.
// Likewise a registration that may be refused 409 email_taken: each refusal counts toward the
// client's registration throttle, and against a running shop every scenario is one client
// (three scenarios expecting email_taken answered 429 to the registrations of the scenarios
// beside them; an outside probe). `judged_by_block`: the step is inside a concurrently block
// whose `expect` counts its answers, so a step that says nothing of its answer may fail too.
// Returns why the step may fail in a way other scenarios would feel, or nothing.
std::optional<std::string> may_fail_auth(const Step& step, bool judged_by_block) {
  const bool is_login = std::holds_alternative<LoginAction>(step.action);
  const bool is_register = std::holds_alternative<RegisterAction>(step.action);
  bool login = is_login, registration = is_register;
  if (const auto* r = std::get_if<RequestAction>(&step.action)) {
    login = r->method == "POST" && r->path.find("/api/auth/login") != std::string::npos;
    registration = r->method == "POST" && r->path.find("/api/auth/register") != std::string::npos;
  }
  if (!login && !registration) return std::nullopt;
  const std::string why =
      login ? "a login that may fail" + at(step.loc) +
                  " counts toward the email's login throttle, which other scenarios share"
            : "a registration that may be refused" + at(step.loc) +
                  " counts toward the client's registration throttle, which every scenario "
                  "against the shop shares";
  const bool judges_answer = step.expect && (step.expect->status || !step.expect->headers.empty() ||
                                             !step.expect->json.empty() || step.expect->schema);
  if (!judges_answer) {
    if (judged_by_block || !(is_login || is_register)) return why;
    return std::nullopt;
  }
  if (!step.expect->status) return why;
  const auto& status = *step.expect->status;
  const int ok = login ? 200 : 201, refused = login ? 401 : 409;
  if (status.has_templates() || status.check(nlohmann::json(ok)).has_value() ||
      !status.check(nlohmann::json(refused)).has_value())
    return why;
  return std::nullopt;
}

// Why this step makes the scenario exclusive, or nullopt.
std::optional<std::string> step_reason(const Step& step, const KnownVars& vars,
                                       bool judged_by_block = false) {
  // A `concurrently` block is what its steps are: one that only reads shares the shop (it was
  // made exclusive as "changing shared state" whatever it held).
  if (const auto* block = std::get_if<ConcurrentAction>(&step.action)) {
    const bool counts = step.expect && !step.expect->responses.empty();
    for (const auto& inner : block->steps) {
      if (auto why = step_reason(inner, vars, counts)) return why;
    }
    return faults_or_expectations_reason(step);
  }
  const bool shares = std::visit(
      [&vars](const auto& action) {
        using A = std::decay_t<decltype(action)>;
        if constexpr (std::is_same_v<A, RequestAction>) {
          // The admin plane is the operator's: forcing a breaker, changing the catalog, ...
          return !vars.admin_path(action.path);
        } else {
          return std::is_same_v<A, RegisterAction> || std::is_same_v<A, LoginAction> ||
                 std::is_same_v<A, PayAction> || std::is_same_v<A, WaitAction>;
        }
      },
      step.action);
  if (shares) {
    if (auto why = may_fail_auth(step, judged_by_block)) return why;
  }
  if (!shares) {
    if (const auto* r = std::get_if<RequestAction>(&step.action)) {
      return std::string(r->path.find("/_admin") != std::string::npos
                             ? "a request to the admin plane ("
                             : "a request whose path may reach the admin plane (") +
             r->path + ")" + at(step.loc) + " changes shared state";
    }
    return "`" + std::string(action_name(step.action)) + "`" + at(step.loc) +
           " changes shared state";
  }
  return faults_or_expectations_reason(step);
}

std::optional<std::string> detected_reason(const Scenario& s, const KnownVars& vars) {
  if (s.has_config()) return "`config:`" + at(s.config_loc) + " changes the shop's settings";
  if (s.seed) return "`seed:` reseeds the shop's fault choices and retry jitter";
  if (s.allow_violations)
    return "`allow_violations: true`: its violations would show in the other scenarios' records";
  for (const auto* phase : {&s.setup, &s.steps, &s.teardown}) {
    for (const auto& step : *phase) {
      if (auto why = step_reason(step, vars)) return why;
    }
  }
  return std::nullopt;
}

}  // namespace

Isolation isolation_of(const Scenario& scenario,
                       const std::map<std::string, nlohmann::json>& command_line_vars) {
  if (scenario.exclusive) {
    if (*scenario.exclusive) return {true, "declared `exclusive: true`"};
    return {false, ""};
  }
  if (auto why = detected_reason(scenario, KnownVars{scenario, command_line_vars}))
    return {true, *why};
  return {false, ""};
}

}  // namespace shopctl::scenario
