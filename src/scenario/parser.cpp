#include "scenario/parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include <sys/stat.h>

#include "platform/clock.hpp"
#include "platform/duration.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/message.hpp"
#include "platform/input_file.hpp"
#include "platform/text_rules.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/parse_context.hpp"
#include "scenario/vocabulary.hpp"
#include "services/catalog/catalog_model.hpp"

namespace shopctl::scenario {
namespace {

using detail::Context;
using detail::Field;

constexpr std::int64_t kMaxRepeat = 1'000'000;

const std::vector<std::string> kTopLevelKeys = {
    "version",          "name",      "description", "tags",  "timeout", "seed", "vars", "config",
    "allow_violations", "exclusive", "setup",       "steps", "teardown"};
const std::vector<std::string> kActionKeys = {
    "request",       "register",  "login",         "pay",     "fault",
    "clear_faults",  "stop",      "start",         "restart", "crash",
    "advance_clock", "set_price", "set_available", "wait",    "concurrently"};
const std::vector<std::string> kStepModifierKeys = {"name",       "expect", "capture", "repeat",
                                                    "eventually", "faults", "after"};
constexpr std::string_view kActionList =
    "request, register, login, pay, fault, clear_faults, stop, start, restart, crash, "
    "advance_clock, set_price, set_available, wait, concurrently";
// A concurrently block runs this many steps at most (each gets a thread and a connection).
constexpr std::size_t kMaxConcurrentSteps = 64;

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_reserved(std::string_view name) {
  return name == kRunIdVariable || name == kUuidVariable || name == kTokenVariable ||
         name == kProviderApiKeyVariable || name == "env";
}

bool responds(std::string_view action) {
  return action == "request" || action == "register" || action == "login" || action == "pay";
}

void restore_scalars(YAML::Node node) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text.find_first_of("\x01\x02") != std::string::npos) {
      node = detail::restore_templates(text);
    }
  } else if (node.IsSequence()) {
    for (YAML::Node item : node) restore_scalars(item);
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      restore_scalars(it->first);
      restore_scalars(it->second);
    }
  }
}

class ScenarioParser {
 public:
  ScenarioParser(Context& ctx, const ParseOptions& options, std::string_view protected_text)
      : ctx_(ctx), options_(options), protected_text_(protected_text) {}

  std::optional<Scenario> parse(const YAML::Node& root);

 private:
  // Checks a variable or capture name; reports at `mark`.
  bool check_name(const YAML::Mark& mark, const std::string& name, std::string_view what);
  void parse_config(const Field& field, Scenario& scenario);
  void parse_vars(const Field& field, Scenario& scenario);
  void parse_phase(const Field& field, std::vector<Step>& out);
  // `inner`: the step is an item of a concurrently block.
  std::optional<Step> parse_step(const Field& item, bool inner = false);
  std::optional<Action> parse_action(const Field& entry, bool inner);
  std::optional<Action> parse_concurrently(const Field& entry, bool inner);
  std::optional<RequestAction> parse_request(const Field& field);
  std::optional<PayAction> parse_pay(const Field& field);
  std::optional<Action> parse_catalog_change(const Field& field, bool price);
  std::optional<Capture> parse_capture(const Field& entry);
  std::optional<Eventually> parse_eventually(const Field& field);
  // Reads a mapping with exactly the given required and optional keys; returns the members.
  std::optional<std::map<std::string, Field, std::less<>>> members(
      const Field& field, std::initializer_list<std::string_view> required,
      std::initializer_list<std::string_view> optional, std::string_view what,
      std::string_view example);

  // Reports a `wait`, an `eventually.within` or an `after` at `mark` that the scenario's
  // timeout would cut short: the run would end in exit 3 and drop the step's last answer.
  // Returns false then.
  bool within_timeout(const YAML::Mark& mark, std::chrono::nanoseconds length,
                      std::string_view what);

  Context& ctx_;
  const ParseOptions& options_;
  std::string_view protected_text_;
  std::chrono::nanoseconds timeout_ = Scenario{}.timeout;
  std::chrono::nanoseconds clock_ahead_{0};  // the advance_clock steps so far, summed
};

bool ScenarioParser::within_timeout(const YAML::Mark& mark, std::chrono::nanoseconds length,
                                    std::string_view what) {
  if (length < timeout_) return true;
  ctx_.error(mark, std::string(what) + " (" + platform::format_duration(length) +
                       ") is not shorter than the scenario's timeout (" +
                       platform::format_duration(timeout_) +
                       "): the timeout would end the run first (exit 3) and drop the last "
                       "answer; make it shorter or raise 'timeout'");
  return false;
}

std::optional<Scenario> ScenarioParser::parse(const YAML::Node& root) {
  for (const auto& name : options_.known_vars) ctx_.scope().names.insert(name);
  ctx_.require_environment(options_.environment_must_be_set);
  Scenario scenario;
  scenario.file = ctx_.file();
  scenario.name = std::filesystem::path(ctx_.file()).stem().string();
  const YAML::Mark root_mark = root.Mark().line >= 0 ? root.Mark() : YAML::Mark();
  scenario.loc = ctx_.location(root_mark);
  const Field top{root, root_mark, {}, {}, {}};
  if (!root.IsMap()) {
    ctx_.error(root_mark, "a scenario file is a mapping that starts with 'version: 1', not " +
                              ctx_.describe(root));
    return std::nullopt;
  }
  const auto entries = ctx_.entries(top);
  ctx_.reject_unknown_keys(entries, kTopLevelKeys, "the scenario");
  std::map<std::string, const Field*, std::less<>> by_name;
  for (const Field& entry : entries) by_name.emplace(entry.name, &entry);
  auto find = [&](std::string_view name) -> const Field* {
    const auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };

  if (const Field* version = find("version")) {
    const std::string text = version->node.IsScalar() ? ctx_.text(version->node) : "";
    // `!(a == b)`, not `a != b`: nlohmann's != is false when either side is NaN, and
    // `version: .nan` passed as version 1 (an outside probe). An integer: `1.0` was taken as
    // version 1, where a status of 200.0 is refused.
    const auto resolved =
        version->node.IsScalar() ? detail::resolve_plain_scalar(text) : nlohmann::json();
    if (!version->node.IsScalar() || platform::yaml_quoted(version->node) ||
        !resolved.is_number_integer() || !(resolved == nlohmann::json(1))) {
      // The version is the number 1: "unsupported format version the string "1"" read badly.
      const bool quoted_one = version->node.IsScalar() && platform::yaml_quoted(version->node) &&
                              detail::resolve_plain_scalar(text) == nlohmann::json(1);
      ctx_.error(version->mark,
                 quoted_one ? std::string("version is the number 1, not the string \"1\": write "
                                          "version: 1, unquoted")
                            : "unsupported format version: " + ctx_.describe(version->node) +
                                  "; this shopctl reads version 1");
    }
  } else {
    ctx_.error(root_mark, "missing 'version: 1' (the scenario format version is required)");
  }
  if (const Field* name = find("name")) {
    if (auto value = ctx_.string(*name)) {
      if (value->empty()) {
        ctx_.error(name->mark, "'name' must not be empty");
      } else {
        scenario.name = *value;
      }
    }
  }
  if (const Field* description = find("description")) {
    if (auto value = ctx_.string(*description)) scenario.description = *value;
  }
  if (const Field* tags = find("tags")) {
    if (ctx_.require_list(*tags, "[checkout, resilience]")) {
      for (const Field& item : ctx_.items(*tags)) {
        auto tag = ctx_.string(item);
        if (!tag) continue;
        if (!is_tag(*tag)) {
          ctx_.error(item.mark,
                     "a tag is one word without commas, spaces or control characters, "
                     "not " +
                         ctx_.describe(item.node));
          continue;
        }
        scenario.tags.push_back(*tag);
      }
    }
  }
  if (const Field* timeout = find("timeout")) {
    if (auto value = ctx_.duration(*timeout)) {
      if (value->count() == 0) {
        ctx_.error(timeout->mark, "'timeout' must be more than 0s");
      } else {
        scenario.timeout = *value;
        timeout_ = *value;
      }
    }
  }
  if (const Field* seed = find("seed")) {
    if (auto value = ctx_.integer(*seed, 0, std::numeric_limits<std::int64_t>::max())) {
      scenario.seed = static_cast<std::uint64_t>(*value);
    }
  }
  if (const Field* allow = find("allow_violations")) {
    if (auto value = ctx_.boolean(*allow)) scenario.allow_violations = *value;
  }
  if (const Field* exclusive = find("exclusive")) {
    if (auto value = ctx_.boolean(*exclusive)) scenario.exclusive = *value;
  }
  if (const Field* config = find("config")) parse_config(*config, scenario);

  // Variables become visible in this order whatever the order of the keys in the file:
  // vars, then setup, then steps, then teardown (which therefore sees every capture).
  if (const Field* vars = find("vars")) parse_vars(*vars, scenario);
  if (const Field* setup = find("setup")) parse_phase(*setup, scenario.setup);
  if (const Field* steps = find("steps")) {
    parse_phase(*steps, scenario.steps);
    if (steps->node.IsSequence() && steps->node.size() == 0) {
      ctx_.error(steps->mark, "'steps' is empty: a scenario needs at least one step");
    }
  } else {
    ctx_.error(root_mark, "missing 'steps' (a scenario needs at least one step)");
  }
  if (const Field* teardown = find("teardown")) parse_phase(*teardown, scenario.teardown);

  if (ctx_.has_errors()) return std::nullopt;
  return scenario;
}

bool ScenarioParser::check_name(const YAML::Mark& mark, const std::string& name,
                                std::string_view what) {
  if (!is_identifier(name)) {
    ctx_.error(mark, "'" + name + "' is not a valid " + std::string(what) +
                         " name (letters, digits and _, not starting with a digit)");
    return false;
  }
  if (is_reserved(name)) {
    ctx_.error(mark, "'" + name + "' is a built-in variable; choose another " + std::string(what) +
                         " name");
    return false;
  }
  return true;
}

void ScenarioParser::parse_config(const Field& field, Scenario& scenario) {
  if (!ctx_.require_mapping(field, "{order: {catalog_client: {timeout: 200ms}}}")) return;
  // Keys given twice and alias bombs first: restore_scalars below and the config's checks walk
  // the tree as its aliases expand it (nine lines of nested aliases took hours).
  if (auto problems = platform::yaml_tree_problems(field.node); !problems.empty()) {
    for (const auto& p : problems) ctx_.error(p.mark, p.message);
    return;
  }
  // A second parse gives a deep copy that keeps its marks (YAML::Clone drops them).
  YAML::Node copy;
  try {
    copy = YAML::Load(std::string(protected_text_))["config"];
  } catch (const YAML::Exception&) {
    copy = YAML::Clone(field.node);
  }
  restore_scalars(copy);
  scenario.config = copy;
  scenario.config_loc = ctx_.location(field.key_mark);
  if (!options_.validate_config) return;
  try {
    for (Diagnostic diagnostic : options_.validate_config(scenario.config, ctx_.file())) {
      if (diagnostic.file.empty()) diagnostic.file = ctx_.file();
      ctx_.add(std::move(diagnostic));
    }
  } catch (const std::exception& e) {
    ctx_.error(field.key_mark, std::string("the config could not be checked: ") + e.what());
  }
}

void ScenarioParser::parse_vars(const Field& field, Scenario& scenario) {
  if (!ctx_.require_mapping(field, "{email: \"ada-${run_id}@shop.test\"}")) return;
  // The least size each var expands to, measured as the run measures a value it splices in
  // (interpolate.cpp, json_size: a string's text and its quotes, 8 bytes for another scalar, a
  // list's or a map's brackets, commas and keys), from its literal text and the vars above it
  // (one not known yet counts as the least any value is, an empty string): a chain that passes
  // kMaxExpandedText is refused here, not found at run time after gigabytes. Text alone
  // counted nothing for a list of empty strings, so ten levels of ten copies of "" passed
  // validate and took 510 MB at run time (an outside probe).
  std::map<std::string, std::size_t, std::less<>> least_size;
  const auto capped = [](std::size_t a, std::size_t b) {
    return std::min(a + b, kMaxExpandedText + 1);
  };
  constexpr std::size_t kQuotes = 2;  // the least any value measures: ""
  const auto known_size = [&](const std::string& name) {
    const auto known = least_size.find(name);
    return known != least_size.end() ? known->second : kQuotes;
  };
  std::function<std::size_t(const nlohmann::json&)> least = [&](const nlohmann::json& value) {
    if (value.is_string()) {
      const auto parts = scan_template(value.get_ref<const std::string&>()).parts;
      // "${v}" alone is v's value itself, whatever it is.
      if (parts.size() == 1 && parts.front().kind == TemplatePart::Kind::variable) {
        return known_size(parts.front().value);
      }
      std::size_t n = kQuotes;
      for (const TemplatePart& part : parts) {
        n = capped(n, part.kind == TemplatePart::Kind::text
                          ? part.value.size()
                          : known_size(part.value) - std::min(known_size(part.value), kQuotes));
      }
      return n;
    }
    if (!value.is_structured()) return std::size_t{8};
    std::size_t n = 2;
    for (auto it = value.begin(); it != value.end() && n <= kMaxExpandedText; ++it) {
      n = capped(n, capped(least(*it), 1));
      if (value.is_object()) n = capped(n, it.key().size() + 3);
    }
    return n;
  };
  for (const Field& entry : ctx_.entries(field)) {
    // A var sees the built-ins, the environment and the vars above it.
    if (!check_name(entry.key_mark, entry.name, "variable")) continue;
    auto value = ctx_.json_template(entry);
    ctx_.scope().names.insert(entry.name);
    if (!value) continue;
    const std::size_t size = least(*value);
    if (size > kMaxExpandedText) {
      ctx_.error(entry.mark, "variable '" + entry.name +
                                 "' expands to more than 16 MiB (the vars it repeats grow "
                                 "with each level); an expanded value holds at most 16 MiB");
      continue;
    }
    least_size[entry.name] = size;
    if (auto text = literal_text(ctx_.scope(), *value);
        text && !options_.known_vars.contains(entry.name)) {
      ctx_.scope().literal_text[entry.name] = std::move(*text);
    }
    scenario.vars.emplace_back(entry.name, std::move(*value));
    scenario.var_locs.push_back(ctx_.location(entry.key_mark));
  }
}

void ScenarioParser::parse_phase(const Field& field, std::vector<Step>& out) {
  if (!ctx_.require_list(field, "[{request: {GET: /api/cart}}]")) return;
  for (const Field& item : ctx_.items(field)) {
    if (auto step = parse_step(item)) out.push_back(std::move(*step));
  }
}

std::optional<Step> ScenarioParser::parse_step(const Field& item, bool inner) {
  if (!item.node.IsMap()) {
    ctx_.error(item.mark,
               "a step is a mapping with one action, like {request: {GET: /api/cart}}, "
               "not " +
                   ctx_.describe(item.node));
    return std::nullopt;
  }
  const auto entries = ctx_.entries(item);
  std::vector<const Field*> actions;
  std::map<std::string, const Field*, std::less<>> modifiers;
  for (const Field& entry : entries) {
    if (contains(kActionKeys, entry.name)) {
      actions.push_back(&entry);
    } else if (contains(kStepModifierKeys, entry.name)) {
      modifiers.emplace(entry.name, &entry);
    } else if (is_http_method(entry.name)) {
      ctx_.error(entry.key_mark, "unknown key '" + entry.name +
                                     "' in a step; a request is written "
                                     "request: {" +
                                     entry.name + ": /path}");
    } else {
      std::vector<std::string> known = kActionKeys;
      known.insert(known.end(), kStepModifierKeys.begin(), kStepModifierKeys.end());
      std::string message = "unknown key '" + platform::visible_text(entry.name) + "' in a step";
      if (entry.name == "<<") {
        message += detail::kMergeKeyNote;
      } else if (auto suggestion = detail::did_you_mean(entry.name, known)) {
        message += "; did you mean '" + *suggestion + "'?";
      } else {
        message += " (actions: " + std::string(kActionList) +
                   "; and name, expect, capture, repeat, eventually, faults, after)";
      }
      ctx_.error(entry.key_mark, std::move(message));
    }
  }
  if (actions.empty()) {
    ctx_.error(item.mark, "a step needs exactly one action (" + std::string(kActionList) + ")");
  }
  for (std::size_t i = 1; i < actions.size(); ++i) {
    ctx_.error(actions[i]->key_mark, "a step has exactly one action; this one already has '" +
                                         actions[0]->name + "', so '" + actions[i]->name +
                                         "' needs a step of its own");
  }

  Step step;
  step.loc = ctx_.location(item.mark);
  std::optional<Action> action;
  const std::string action_key = actions.empty() ? std::string() : actions[0]->name;
  if (!actions.empty()) action = parse_action(*actions[0], inner);
  const bool has_answer = responds(action_key);

  auto find = [&](std::string_view name) -> const Field* {
    const auto it = modifiers.find(name);
    return it == modifiers.end() ? nullptr : it->second;
  };
  auto response_only = [&](const Field* field) {
    if (field == nullptr || has_answer || actions.empty()) return field != nullptr && has_answer;
    ctx_.error(field->key_mark, "'" + field->name +
                                    "' only goes on request, register, login and "
                                    "pay steps, not on a " +
                                    action_key + " step");
    return false;
  };

  if (const Field* name = find("name")) {
    if (auto value = ctx_.string(*name)) step.name = *value;
  }
  if (const Field* expect = find("expect")) {
    const auto place = inner                          ? detail::ExpectPlace::inner_step
                       : action_key == "concurrently" ? detail::ExpectPlace::block
                                                      : detail::ExpectPlace::step;
    step.expect = detail::parse_expectation(ctx_, *expect, has_answer || actions.empty(),
                                            action_key.empty() ? "this" : action_key, place);
  }
  if (const Field* after = find("after")) {
    if (!inner) {
      ctx_.error(after->key_mark,
                 "'after' only goes on a step inside a concurrently block (it "
                 "delays that step from the start of the block); between "
                 "steps in sequence use a wait step");
    } else if (auto delay = ctx_.duration(*after);
               delay && within_timeout(after->mark, *delay, "'after'")) {
      step.after = *delay;
      // A wait delayed by `after` ends at their sum.
      if (const auto* wait = action ? std::get_if<WaitAction>(&*action) : nullptr) {
        within_timeout(after->mark, *delay + wait->duration, "'after' plus its wait");
      }
    }
  }
  if (inner) {
    for (const char* name : {"repeat", "eventually", "faults"}) {
      if (const Field* field = find(name); field != nullptr) {
        ctx_.error(field->key_mark, "'" + std::string(name) +
                                        "' is not allowed on a step inside "
                                        "a concurrently block (put it on a step before or after "
                                        "the block; faults: use a fault step before the block)");
      }
    }
  }
  std::vector<Capture> captures;
  if (const Field* capture = find("capture"); response_only(capture)) {
    if (capture->node.IsMap() && capture->node.size() == 0) {
      // Captures nothing, and checks nothing: a capture that finds nothing fails its step.
      ctx_.error(capture->mark,
                 "an empty 'capture' captures nothing; name a variable and where to find it, "
                 "like {order_id: $.order_id}, or leave 'capture' out");
    } else if (ctx_.require_mapping(*capture, "{order_id: $.order_id}")) {
      for (const Field& entry : ctx_.entries(*capture)) {
        if (auto c = parse_capture(entry)) captures.push_back(std::move(*c));
      }
    }
  }
  const Field* repeat = find("repeat");
  const Field* eventually = find("eventually");
  if (!inner && response_only(repeat)) {
    if (auto value = ctx_.integer(*repeat, 1, kMaxRepeat)) step.repeat = static_cast<int>(*value);
  }
  if (!inner && response_only(eventually)) {
    step.eventually = parse_eventually(*eventually);
    if (find("expect") == nullptr) {
      ctx_.error(eventually->key_mark,
                 "'eventually' retries until 'expect' holds, and this step has no 'expect'");
    }
  }
  if (repeat != nullptr && eventually != nullptr && has_answer && !inner) {
    const Field* later = repeat->key_mark.line > eventually->key_mark.line ||
                                 (repeat->key_mark.line == eventually->key_mark.line &&
                                  repeat->key_mark.column > eventually->key_mark.column)
                             ? repeat
                             : eventually;
    ctx_.error(later->key_mark, "'repeat' and 'eventually' cannot be combined in one step");
  }
  if (const Field* faults = find("faults"); !inner && response_only(faults)) {
    if (ctx_.require_list(*faults, "[{target: catalog, type: hang}]")) {
      for (const Field& fault : ctx_.items(*faults)) {
        if (auto spec = detail::parse_fault(ctx_, fault)) step.faults.push_back(std::move(*spec));
      }
    }
  }

  // What this step defines is visible from the next step on.
  for (const Capture& capture : captures) {
    ctx_.scope().names.insert(capture.name);
    ctx_.scope().literal_text.erase(capture.name);
    ctx_.note_capture(capture.name, capture.loc.line);
  }
  step.captures = std::move(captures);
  if (action_key == "login") ctx_.scope().token = true;
  if (action) {
    if (const auto* fault = std::get_if<FaultAction>(&*action); fault && !fault->fault.id.empty()) {
      ctx_.scope().fault_ids.insert(fault->fault.id);
    }
  }
  if (!action) return std::nullopt;
  step.action = std::move(*action);
  return step;
}

std::optional<std::map<std::string, Field, std::less<>>> ScenarioParser::members(
    const Field& field, std::initializer_list<std::string_view> required,
    std::initializer_list<std::string_view> optional, std::string_view what,
    std::string_view example) {
  if (!ctx_.require_mapping(field, example)) return std::nullopt;
  const auto entries = ctx_.entries(field);
  std::vector<std::string> allowed(required.begin(), required.end());
  allowed.insert(allowed.end(), optional.begin(), optional.end());
  ctx_.reject_unknown_keys(entries, allowed, what);
  std::map<std::string, Field, std::less<>> out;
  for (const Field& entry : entries) {
    if (contains(allowed, entry.name)) out.emplace(entry.name, entry);
  }
  bool ok = true;
  for (std::string_view name : required) {
    if (!out.contains(name)) {
      ctx_.error(field.mark, std::string(what) + " needs '" + std::string(name) + "', like " +
                                 std::string(example));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Action> ScenarioParser::parse_action(const Field& entry, bool inner) {
  const std::string& key = entry.name;
  if (key == "concurrently") return parse_concurrently(entry, inner);
  if (key == "request") {
    if (auto request = parse_request(entry)) return Action(std::move(*request));
    return std::nullopt;
  }
  if (key == "register" || key == "login") {
    const bool registering = key == "register";
    auto fields = registering
                      ? members(entry, {"email", "password"}, {"name"}, "'register'",
                                "{email: ada@shop.test, password: correct-horse, name: Ada}")
                      : members(entry, {"email", "password"}, {}, "'login'",
                                "{email: ada@shop.test, password: correct-horse}");
    if (!fields) return std::nullopt;
    auto email = ctx_.text_template(fields->at("email"));
    auto password = ctx_.text_template(fields->at("password"));
    std::optional<std::string> name;
    bool ok = email && password;
    if (const auto it = fields->find("name"); it != fields->end()) {
      name = ctx_.text_template(it->second);
      ok = ok && name;
    }
    if (!ok) return std::nullopt;
    if (registering) return Action(RegisterAction{*email, *password, name});
    return Action(LoginAction{*email, *password});
  }
  if (key == "pay") {
    if (auto pay = parse_pay(entry)) return Action(std::move(*pay));
    return std::nullopt;
  }
  if (key == "fault") {
    if (auto spec = detail::parse_fault(ctx_, entry)) return Action(FaultAction{std::move(*spec)});
    return std::nullopt;
  }
  if (key == "clear_faults") {
    auto value = ctx_.string(entry);
    if (!value) return std::nullopt;
    if (*value == "all") return Action(ClearFaultsAction{true, {}});
    if (!ctx_.scope().fault_ids.contains(*value)) {
      std::string message = "no earlier fault step sets id '" + *value + "'";
      const std::vector<std::string> ids(ctx_.scope().fault_ids.begin(),
                                         ctx_.scope().fault_ids.end());
      if (auto suggestion = detail::did_you_mean(*value, ids)) {
        message += "; did you mean '" + *suggestion + "'?";
      }
      ctx_.error(entry.mark, message + " (write clear_faults: all, or the id of a fault)");
      return std::nullopt;
    }
    return Action(ClearFaultsAction{false, *value});
  }
  if (key == "stop" || key == "start" || key == "restart" || key == "crash") {
    auto service = ctx_.service(entry);
    if (!service) return std::nullopt;
    if (key == "crash" && *service == "gateway") {
      ctx_.error(entry.mark,
                 "the gateway cannot crash: it serves the admin plane the runner "
                 "drives the shop through (crash order, payment, catalog, auth or "
                 "provider)");
      return std::nullopt;
    }
    const auto kind = key == "stop"    ? ServiceAction::Kind::stop
                      : key == "start" ? ServiceAction::Kind::start
                      : key == "crash" ? ServiceAction::Kind::crash
                                       : ServiceAction::Kind::restart;
    return Action(ServiceAction{kind, *service});
  }
  if (key == "advance_clock") {
    if (auto by = ctx_.duration(entry)) {
      // The shop's clock goes at most 100 years ahead in all: a step past that alone was
      // refused only when it ran (exit 4).
      if (*by > platform::SimulatedClock::kMaxOffset) {
        ctx_.error(entry.mark, "advance_clock: the shop's clock goes at most 100 years ahead");
        return std::nullopt;
      }
      // So do all of the scenario's steps together: the one that passes it is refused.
      if (*by > platform::SimulatedClock::kMaxOffset - clock_ahead_) {
        ctx_.error(entry.mark,
                   "advance_clock: with the advance_clock steps before it (" +
                       platform::format_duration(clock_ahead_) +
                       "), this one takes the shop's clock past 100 years ahead, its limit");
        return std::nullopt;
      }
      clock_ahead_ += *by;
      return Action(AdvanceClockAction{*by});
    }
    return std::nullopt;
  }
  if (key == "wait") {
    auto duration = ctx_.duration(entry);
    if (!duration || !within_timeout(entry.mark, *duration, "wait")) return std::nullopt;
    return Action(WaitAction{*duration});
  }
  if (key == "set_price") return parse_catalog_change(entry, true);
  if (key == "set_available") return parse_catalog_change(entry, false);
  return std::nullopt;
}

std::optional<Action> ScenarioParser::parse_concurrently(const Field& entry, bool inner) {
  if (inner) {
    ctx_.error(entry.key_mark,
               "concurrently blocks do not nest: list every step of the block "
               "directly under the outer 'concurrently'");
    return std::nullopt;
  }
  if (!ctx_.require_list(entry, "[{request: {POST: /api/orders}}, {crash: order, after: 200ms}]")) {
    return std::nullopt;
  }
  const auto items = ctx_.items(entry);
  if (items.size() < 2 || items.size() > kMaxConcurrentSteps) {
    ctx_.error(entry.mark, "a concurrently block runs 2 to " + std::to_string(kMaxConcurrentSteps) +
                               " steps at once, this one has " + std::to_string(items.size()));
  }
  // Every inner step sees what was defined before the block, and nothing its siblings define:
  // their captures (and a login's token, fault ids) become visible after the block.
  const detail::Scope before = ctx_.scope();
  detail::Scope after = before;
  std::map<std::string, int, std::less<>> captured_by;  // name -> line of the inner step
  ConcurrentAction block;
  bool ok = items.size() >= 2 && items.size() <= kMaxConcurrentSteps;
  for (const Field& item : items) {
    ctx_.scope() = before;
    auto step = parse_step(item, true);
    const detail::Scope& mine = ctx_.scope();
    after.names.insert(mine.names.begin(), mine.names.end());
    after.fault_ids.insert(mine.fault_ids.begin(), mine.fault_ids.end());
    after.token = after.token || mine.token;
    if (!step) {
      ok = false;
      continue;
    }
    for (const Capture& capture : step->captures) {
      auto [it, fresh] = captured_by.emplace(capture.name, capture.loc.line);
      if (!fresh) {
        ctx_.error(item.mark, "'" + capture.name + "' is also captured by the step at line " +
                                  std::to_string(it->second) +
                                  " of this concurrently block; "
                                  "which one would win is a race, so give each its own name");
        ok = false;
      }
    }
    block.steps.push_back(std::move(*step));
  }
  ctx_.scope() = std::move(after);
  if (!ok) return std::nullopt;
  return Action(std::move(block));
}

std::optional<RequestAction> ScenarioParser::parse_request(const Field& field) {
  constexpr std::string_view kExample = "{GET: /api/cart} or {method: POST, path: /api/orders}";
  if (!ctx_.require_mapping(field, kExample)) return std::nullopt;
  const auto entries = ctx_.entries(field);
  std::vector<std::string> allowed = {"method", "path",    "headers", "json",
                                      "body",   "service", "auth",    "as"};
  allowed.insert(allowed.end(), kHttpMethods.begin(), kHttpMethods.end());
  ctx_.reject_unknown_keys(entries, allowed, "a request");

  RequestAction request;
  bool ok = true;
  const Field* shorthand = nullptr;
  const Field* method = nullptr;
  const Field* path = nullptr;
  const Field* json = nullptr;
  const Field* body = nullptr;
  const Field* auth = nullptr;
  std::vector<Field> header_fields;  // kept for the marks of an Authorization header
  const Field* authorization = nullptr;
  for (const Field& entry : entries) {
    if (is_http_method(entry.name)) {
      if (shorthand != nullptr) {
        ctx_.error(entry.key_mark,
                   "a request has one method; this one already has " + shorthand->name);
        ok = false;
        continue;
      }
      shorthand = &entry;
    } else if (entry.name == "method") {
      method = &entry;
    } else if (entry.name == "path") {
      path = &entry;
    } else if (entry.name == "json") {
      json = &entry;
    } else if (entry.name == "body") {
      body = &entry;
    }
  }
  if (shorthand != nullptr) {
    for (const Field* both : {method, path}) {
      if (both == nullptr) continue;
      ctx_.error(both->key_mark, "'" + both->name + "' cannot be combined with the shorthand {" +
                                     shorthand->name + ": path}");
      ok = false;
    }
    request.method = shorthand->name;
    path = shorthand;
  } else if (method != nullptr) {
    auto name = ctx_.string(*method);
    if (name && !is_http_method(*name)) {
      std::string message = "unknown HTTP method '" + *name + "'";
      const std::vector<std::string> known(kHttpMethods.begin(), kHttpMethods.end());
      if (auto suggestion = detail::did_you_mean(*name, known)) {
        message += "; did you mean '" + *suggestion + "'?";
      }
      ctx_.error(method->mark, message + " (methods: " + join_names(kHttpMethods) + ")");
      name.reset();
    }
    if (name) {
      request.method = *name;
    } else {
      ok = false;
    }
  }
  if (path == nullptr) {
    ctx_.error(field.mark, "a request needs a path: " + std::string(kExample));
    ok = false;
  } else if (auto value = ctx_.text_template(*path)) {
    if (!value->starts_with("/") && !value->starts_with("http://") &&
        !value->starts_with("https://") && !value->starts_with("${")) {
      ctx_.error(path->mark, "a request path starts with '/' (or is a full http:// URL), not " +
                                 ctx_.describe(path->node));
      ok = false;
    } else if (value->starts_with("https://")) {
      // The runner sends http:// URLs as they are and puts the shop's URL before anything else:
      // "https://example.com/" became http://127.0.0.1:PORThttps://example.com/ at run time.
      ctx_.error(path->mark, "the runner speaks plain HTTP: a full URL starts with http://, not " +
                                 ctx_.describe(path->node));
      ok = false;
    } else if (value->starts_with("http://") && value->find("${") == std::string::npos) {
      // A URL written whole is checked now, not when its step runs ("http://", a port past
      // 65535).
      try {
        http::split_url(*value);
      } catch (const std::exception& e) {
        ctx_.error(path->mark, std::string("not a URL the runner can send to: ") + e.what());
        ok = false;
      }
    }
    request.path = *value;
  } else {
    ok = false;
  }
  if (json != nullptr && body != nullptr) {
    const Field* later =
        json->key_mark.line > body->key_mark.line || (json->key_mark.line == body->key_mark.line &&
                                                      json->key_mark.column > body->key_mark.column)
            ? json
            : body;
    ctx_.error(later->key_mark, "a request sends either 'json' or 'body', not both");
    ok = false;
  }
  for (const Field& entry : entries) {
    if (entry.name == "json") {
      request.json = ctx_.json_template(entry);
      ok = ok && request.json;
    } else if (entry.name == "body") {
      request.body = ctx_.text_template(entry);
      ok = ok && request.body;
    } else if (entry.name == "headers") {
      if (!ctx_.require_mapping(entry, "{Idempotency-Key: \"${uuid}\"}")) {
        ok = false;
        continue;
      }
      header_fields = ctx_.entries(entry);
      for (const Field& header : header_fields) {
        if (!detail::is_header_name(header.name)) {
          ctx_.error(header.key_mark, "'" + header.name + "' is not a header name");
          ok = false;
          continue;
        }
        // Names are case-insensitive in HTTP: a second `authorization` beside `Authorization`
        // was silently dropped.
        const bool repeated =
            std::any_of(request.headers.begin(), request.headers.end(),
                        [&](const auto& h) { return http::iequals(h.first, header.name); });
        if (repeated) {
          ctx_.error(header.key_mark, "header '" + header.name +
                                          "' is given twice (header names are case-insensitive)");
          ok = false;
          continue;
        }
        // The client frames each request itself: these were dropped without a word, so a
        // scenario meant to send a lying length passed having sent an honest one.
        if (http::iequals(header.name, "Content-Length") ||
            http::iequals(header.name, "Transfer-Encoding")) {
          ctx_.error(header.key_mark,
                     "header '" + header.name +
                         "' cannot be set: shopctl frames each request itself (Content-Length "
                         "is the body's length; Transfer-Encoding is never sent), so a "
                         "scenario cannot send a malformed length; leave the header out");
          ok = false;
          continue;
        }
        auto value = ctx_.text_template(header);
        // A line break or NUL in a value would end the field (header injection); the client
        // dropped such a header without a word.
        if (value && value->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
          ctx_.error(header.mark, "the value of header '" + header.name +
                                      "' holds a line break or NUL, which no header value may");
          ok = false;
          continue;
        }
        if (http::iequals(header.name, "Authorization")) authorization = &header;
        if (value) {
          request.headers.emplace_back(header.name, *value);
        } else {
          ok = false;
        }
      }
    } else if (entry.name == "service") {
      auto service = ctx_.service(entry);
      if (service) {
        request.service = *service;
      } else {
        ok = false;
      }
    } else if (entry.name == "auth") {
      auth = &entry;
      auto value = ctx_.text_template(entry);
      if (value && value->empty()) {
        ctx_.error(entry.mark, "'auth' is 'none' or a token, not an empty string");
        value.reset();
      } else if (value &&
                 value->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        // It becomes the Authorization field's value, which a line break would end: the
        // request went out without a token and the step passed (as for `headers`, above).
        ctx_.error(entry.mark, "'auth' holds a line break or NUL, which no header value may");
        value.reset();
      }
      if (!value) {
        ok = false;
      } else if (*value == "none") {
        request.auth = AuthMode::none;
      } else {
        request.auth = AuthMode::token;
        request.auth_token = *value;
      }
    } else if (entry.name == "as") {
      auto value = ctx_.string(entry);
      if (!value) {
        ok = false;
        continue;
      }
      constexpr std::string_view kPrefix = "svc:";
      if (!value->starts_with(kPrefix)) {
        ctx_.error(entry.mark, "'as' names a service credential like svc:payment, not " +
                                   ctx_.describe(entry.node));
        ok = false;
        continue;
      }
      const std::string name = value->substr(kPrefix.size());
      if (!is_service(name)) {
        std::string message = "unknown service '" + name + "'";
        const std::vector<std::string> known(kServices.begin(), kServices.end());
        if (auto suggestion = detail::did_you_mean(name, known)) {
          message += "; did you mean 'svc:" + *suggestion + "'?";
        }
        ctx_.error_in_scalar(entry.mark, *value, kPrefix.size(),
                             message + " (services: " + join_names(kServices) + ")");
        ok = false;
        continue;
      }
      request.sign_as = name;
    }
  }
  // `auth:` is the Authorization field too: with a header of that name the request would have
  // it twice, and the runner used to send its own token over the written one.
  if (authorization != nullptr && auth != nullptr) {
    const bool auth_later = auth->key_mark.line > authorization->key_mark.line ||
                            (auth->key_mark.line == authorization->key_mark.line &&
                             auth->key_mark.column > authorization->key_mark.column);
    ctx_.error(auth_later ? auth->key_mark : authorization->key_mark,
               "'auth' and the header '" + authorization->name +
                   "' both set the Authorization field; give one of them");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return request;
}

std::optional<PayAction> ScenarioParser::parse_pay(const Field& field) {
  constexpr std::string_view kExample = "{order: \"${order_id}\", card: \"4242424242424242\"}";
  auto fields = members(field, {"card"}, {"order", "url", "pay_url"}, "'pay'", kExample);
  if (!fields) return std::nullopt;
  PayAction pay;
  bool ok = true;
  const auto order = fields->find("order");
  // `url` and `pay_url` are two spellings of one key (pay_url is what checkout answers).
  auto pay_url = fields->find("url");
  if (const auto spelled = fields->find("pay_url"); spelled != fields->end()) {
    if (pay_url != fields->end()) {
      ctx_.error(spelled->second.key_mark, "'url' and 'pay_url' are the same key; write one");
      ok = false;
    } else {
      pay_url = spelled;
    }
  }
  if (order == fields->end() && pay_url == fields->end()) {
    ctx_.error(field.mark, "'pay' needs 'order' (an order id) or 'url' (a pay link), like " +
                               std::string(kExample));
    ok = false;
  } else if (order != fields->end() && pay_url != fields->end()) {
    ctx_.error(pay_url->second.key_mark,
               "'pay' takes 'order' or '" + pay_url->first + "', not both");
    ok = false;
  }
  if (order != fields->end()) {
    const Field& value = order->second;
    if (!value.node.IsScalar()) {
      ctx_.error(value.mark, "'order' is an order id, not " + ctx_.describe(value.node));
      ok = false;
    } else {
      pay.order = ctx_.json_template(value);
      ok = ok && pay.order;
    }
  }
  if (pay_url != fields->end()) {
    pay.pay_url = ctx_.text_template(pay_url->second);
    ok = ok && pay.pay_url;
  }
  const Field& card = fields->at("card");
  if (card.node.IsScalar() && !platform::yaml_quoted(card.node) &&
      !detail::resolve_plain_scalar(ctx_.text(card.node)).is_string()) {
    ctx_.error(card.mark,
               "a card number is a string: quote it, like card: \"" + ctx_.text(card.node) + "\"");
    ok = false;
  } else if (auto number = ctx_.text_template(card)) {
    pay.card = *number;
  } else {
    ok = false;
  }
  if (!ok) return std::nullopt;
  return pay;
}

std::optional<Action> ScenarioParser::parse_catalog_change(const Field& field, bool price) {
  auto fields = price ? members(field, {"product", "price_cents"}, {}, "'set_price'",
                                "{product: p-1, price_cents: 1299}")
                      : members(field, {"product", "available"}, {}, "'set_available'",
                                "{product: p-1, available: false}");
  if (!fields) return std::nullopt;
  const Field& product = fields->at("product");
  std::optional<JsonTemplate> id;
  if (!product.node.IsScalar()) {
    ctx_.error(product.mark, "'product' is a product id, not " + ctx_.describe(product.node));
  } else if (ctx_.text(product.node).empty()) {
    // It passed validate, and the run failed with "no admin route for POST /_admin/products/
    // here" (an outside probe).
    ctx_.error(product.mark, "'product' is a product id, not an empty string");
  } else {
    id = ctx_.json_template(product);
  }
  const Field& value = fields->at(price ? "price_cents" : "available");
  std::optional<JsonTemplate> setting;
  if (value.node.IsScalar() && has_template(ctx_.text(value.node))) {
    setting = ctx_.json_template(value);
  } else if (price) {
    // The catalog's range: a price past it was refused only when the step ran (exit 4).
    if (auto cents = ctx_.integer(value, 0, catalog::kMaxPriceCents)) setting = *cents;
  } else if (auto available = ctx_.boolean(value)) {
    setting = *available;
  }
  if (!id || !setting) return std::nullopt;
  if (price) return Action(SetPriceAction{std::move(*id), std::move(*setting)});
  return Action(SetAvailableAction{std::move(*id), std::move(*setting)});
}

std::optional<Capture> ScenarioParser::parse_capture(const Field& entry) {
  if (!check_name(entry.key_mark, entry.name, "capture")) return std::nullopt;
  Capture capture;
  capture.name = entry.name;
  capture.loc = ctx_.location(entry.key_mark);
  auto json_path = [&](const Field& field) -> bool {
    auto text = ctx_.string(field);
    if (!text) return false;
    try {
      capture.path = JsonPath::parse(*text);
      return true;
    } catch (const JsonPathError& e) {
      ctx_.error_in_scalar(field.mark, *text, e.offset(),
                           "invalid JSONPath '" + *text + "': " + e.what());
      return false;
    }
  };
  if (entry.node.IsScalar()) {
    capture.source = Capture::Source::json;
    if (!json_path(entry)) return std::nullopt;
    return capture;
  }
  constexpr std::string_view kExample = "\"$.order_id\" or {header: Location}";
  if (!entry.node.IsMap()) {
    ctx_.error(entry.mark, "a capture is a JSONPath or a mapping, like " + std::string(kExample) +
                               ", not " + ctx_.describe(entry.node));
    return std::nullopt;
  }
  const auto entries = ctx_.entries(entry);
  ctx_.reject_unknown_keys(entries, {"json", "header"}, "a capture");
  const Field* source = nullptr;
  bool ok = true;
  for (const Field& member : entries) {
    if (member.name != "json" && member.name != "header") continue;
    if (source != nullptr) {
      ctx_.error(member.key_mark, "a capture takes one source: 'json' or 'header', not both");
      ok = false;
      continue;
    }
    source = &member;
    if (member.name == "json") {
      capture.source = Capture::Source::json;
      ok = json_path(member) && ok;
    } else {
      capture.source = Capture::Source::header;
      auto header = ctx_.string(member);
      if (header && !detail::is_header_name(*header)) {
        ctx_.error(member.mark, "'" + *header + "' is not a header name");
        header.reset();
      }
      if (header) {
        capture.header = *header;
      } else {
        ok = false;
      }
    }
  }
  if (source == nullptr) {
    ctx_.error(entry.mark, "a capture needs 'json' or 'header', like " + std::string(kExample));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return capture;
}

std::optional<Eventually> ScenarioParser::parse_eventually(const Field& field) {
  auto fields = members(field, {"within"}, {"every"}, "'eventually'", "{within: 5s, every: 100ms}");
  if (!fields) return std::nullopt;
  Eventually eventually;
  eventually.loc = ctx_.location(field.key_mark);
  const Field& within = fields->at("within");
  auto limit = ctx_.duration(within);
  if (limit && limit->count() == 0) {
    ctx_.error(within.mark, "'within' must be more than 0s");
    limit.reset();
  }
  if (limit && !within_timeout(within.mark, *limit, "'within'")) limit.reset();
  if (!limit) return std::nullopt;
  eventually.within = *limit;
  if (const auto it = fields->find("every"); it != fields->end()) {
    auto every = ctx_.duration(it->second);
    if (every && every->count() == 0) {
      ctx_.error(it->second.mark, "'every' must be more than 0s");
      every.reset();
    } else if (every && *every > *limit) {
      ctx_.error(it->second.mark, "'every' is longer than 'within': the step would be tried once");
      every.reset();
    }
    if (!every) return std::nullopt;
    eventually.every = *every;
  } else if (eventually.every > *limit) {
    // The default every (100ms) is held to the same rule: `{within: 50ms}` was taken and tried
    // the step once, where `{within: 50ms, every: 100ms}` was refused.
    ctx_.error(within.mark, "'within' is shorter than the default 'every' of " +
                                platform::format_duration(eventually.every) +
                                ": the step would be tried once (give a shorter 'every')");
    return std::nullopt;
  }
  return eventually;
}

std::string format_all(const std::vector<Diagnostic>& diagnostics,
                       const std::map<std::string, std::string>& sources) {
  std::string out;
  for (const Diagnostic& diagnostic : diagnostics) {
    const auto it = sources.find(diagnostic.file);
    out += format_diagnostic(diagnostic, it == sources.end() ? std::string_view() : it->second);
  }
  return out;
}

// In any case: `Checkout.YAML` from a system that upper-cases names was passed over without a
// word, and the suite ran without it.
bool has_scenario_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension == ".yaml" || extension == ".yml";
}

}  // namespace

Diagnostic diagnostic_at(const YAML::Node& node, const std::string& file, std::string message) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {file, 0, 0, std::move(message)};
  return {file, mark.line + 1, mark.column + 1, std::move(message)};
}

std::string ParseResult::format_diagnostics() const {
  std::string out;
  for (const Diagnostic& diagnostic : diagnostics)
    out += format_diagnostic(diagnostic, source_text);
  return out;
}

std::string LoadResult::format_diagnostics() const {
  return format_all(diagnostics, sources);
}

namespace {

// The entry of a flow collection around column `at` of `line` with its value quoted, as
// `GET: "/api/products?page_size=3"`; nullopt when the entry cannot be told apart.
std::optional<std::string> quoted_flow_value(std::string_view line, std::size_t at) {
  const auto start = line.find_last_of("{[,", at);
  if (start == std::string_view::npos) return std::nullopt;
  auto end = line.find_first_of(",]}", at);
  if (end == std::string_view::npos) end = line.size();
  auto trim = [](std::string_view v) {
    const auto first = v.find_first_not_of(" \t");
    if (first == std::string_view::npos) return std::string_view();
    return v.substr(first, v.find_last_not_of(" \t") - first + 1);
  };
  const std::string_view entry = trim(line.substr(start + 1, end - start - 1));
  std::string_view key;
  std::string_view value = entry;
  if (const auto colon = entry.find(": "); colon != std::string_view::npos) {
    key = entry.substr(0, colon);
    value = trim(entry.substr(colon + 1));
  }
  if (value.empty() || value.find('"') != std::string_view::npos) return std::nullopt;
  std::string quoted = "\"" + detail::restore_templates(std::string(value)) + "\"";
  if (key.empty()) return quoted;
  return detail::restore_templates(std::string(key)) + ": " + quoted;
}

}  // namespace

Diagnostic yaml_syntax_diagnostic(std::string_view text, const std::string& file,
                                  const YAML::ParserException& e) {
  std::string message = "invalid YAML: " + e.msg;
  // yaml-cpp names a bad escape by its code in decimal ("invalid unicode: 55357").
  constexpr std::string_view kInvalidUnicode = "invalid unicode: ";
  if (e.msg.starts_with(kInvalidUnicode)) {
    const unsigned long code = std::strtoul(e.msg.c_str() + kInvalidUnicode.size(), nullptr, 10);
    char name[16];
    std::snprintf(name, sizeof name, "U+%04lX", code);
    message =
        code >= 0xD800 && code <= 0xDFFF
            ? std::string("invalid YAML: the escape of ") + name +
                  " is half of a UTF-16 surrogate pair, which YAML does not join: write "
                  "the character itself, or one \\U escape of 8 hex digits (\\U0001F600 "
                  "for U+1F600)"
            : std::string("invalid YAML: the escape of ") + name + " is not a Unicode character";
  }
  YAML::Mark mark = e.mark;
  bool unclosed_quote = false;
  // yaml-cpp notices an unclosed `{` or `[` where it gives up, often a line later: point at
  // the opener instead.
  if (e.msg.find("flow not found") != std::string::npos) {
    if (auto opener = detail::unclosed_flow_opener(text, e.mark.line, e.mark.column)) {
      unclosed_quote = opener->opener == '"' || opener->opener == '\'';
      message =
          opener->opener == '"' || opener->opener == '\''
              ? std::string("invalid YAML: a quoted value that is never closed (no closing ") +
                    opener->opener + " before the end of the file)"
              : std::string("invalid YAML: this '") + opener->opener + "' is never closed";
      mark.line = opener->line;
      mark.column = opener->column;
    }
  }
  // The usual cause: a plain value with a `{` or `[` inside a flow collection.
  if (e.msg.find("flow") != std::string::npos && !unclosed_quote) {
    message += " (inside {...} or [...], quote values that contain { } [ ] or commas)";
  }
  // yaml-cpp cannot read a `?` inside a plain value of a flow collection (the query of
  // `{GET: /api/products?page_size=3}`) and says only "unknown token": name the cause, and
  // show the value quoted.
  if (e.msg == "unknown token") {
    const auto line = nth_line(text, e.mark.line + 1).value_or("");
    const auto at = static_cast<std::size_t>(std::max(e.mark.column, 0));
    if (at < line.size() && line[at] == '?') {
      message += " (inside {...} or [...], a value that holds '?' must be quoted";
      if (auto suggestion = quoted_flow_value(line, at)) message += ": " + *suggestion;
      message += ")";
    }
  }
  // A tab in a line's indentation, where yaml-cpp only says "illegal block entry" or the
  // like: YAML indents with spaces. On the line of the error or the one before it.
  for (int back = 0; back <= 1 && e.mark.line - back >= 0; ++back) {
    const auto line = nth_line(text, e.mark.line - back + 1).value_or("");
    const auto indent = line.substr(0, line.find_first_not_of(" \t"));
    if (indent.find('\t') != std::string_view::npos) {
      message += " (line " + std::to_string(e.mark.line - back + 1) +
                 " is indented with a tab; YAML indents with spaces)";
      break;
    }
  }
  if (mark.line < 0) return {file, 0, 0, std::move(message)};
  return {file, mark.line + 1, mark.column + 1, std::move(message)};
}

ParseResult parse_scenario_text(std::string_view given, std::string file,
                                const ParseOptions& options) {
  ParseResult result;
  std::string decoded;
  {
    std::string problem;
    if (auto utf8 = platform::utf8_of_wide(given, problem)) {
      decoded = std::move(*utf8);
      given = decoded;
    } else if (!problem.empty()) {
      result.diagnostics.push_back({file, 1, 1, std::move(problem)});
      return result;
    }
  }
  // YAML 1.2 breaks lines at CR LF, LF and a lone CR (an old Mac file); yaml-cpp only at the
  // first two, and a file of lone CRs was one long line: "illegal map value" at 1:16 (an
  // outside probe). A lone CR becomes LF, so lines and columns are those an editor shows.
  std::string with_line_feeds;
  std::string_view text = given;
  for (std::size_t at = text.find('\r'); at != std::string_view::npos;
       at = text.find('\r', at + 1)) {
    if (at + 1 < text.size() && text[at + 1] == '\n') continue;
    if (with_line_feeds.empty()) with_line_feeds = std::string(given);
    with_line_feeds[at] = '\n';
  }
  if (!with_line_feeds.empty()) text = with_line_feeds;
  // A YAML file is Unicode; without a UTF-16 or UTF-32 byte order mark (yaml-cpp decodes
  // those), it must be UTF-8. yaml-cpp took any bytes, and a scenario name that was not UTF-8
  // ended `run --json` with an uncaught exception and made an invalid JUnit file.
  const bool other_encoding = text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
                              text.starts_with(std::string_view("\0\0\xFE\xFF", 4));
  if (!other_encoding) {
    if (auto bad = platform::first_invalid_utf8(text)) {
      const auto before = text.substr(0, *bad);
      const auto line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
      const auto line_start = before.rfind('\n');
      const auto column =
          static_cast<int>(line_start == std::string_view::npos ? *bad : *bad - line_start - 1);
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[*bad]));
      result.diagnostics.push_back({file, line + 1, column + 1,
                                    std::string("not UTF-8: the byte ") + hex +
                                        " starts no UTF-8 character (save the file as UTF-8)"});
      result.source_text = std::string(text);  // the line and a caret under the byte
      return result;
    }
  }
  result.source_text = std::string(text);
  Context ctx(file, result.source_text);
  const std::string protected_text = detail::protect_templates(result.source_text);
  platform::YamlDocuments documents;
  try {
    documents = platform::load_yaml_documents(protected_text);
  } catch (const YAML::ParserException& e) {
    ctx.add(yaml_syntax_diagnostic(protected_text, file, e));
    result.diagnostics = ctx.finish();
    return result;
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, "invalid YAML: " + e.msg);
    result.diagnostics = ctx.finish();
    return result;
  }
  if (documents.count == 0 || (documents.count == 1 && documents.first.IsNull())) {
    ctx.error(YAML::Mark(), "the file is empty; a scenario starts with 'version: 1'");
    result.diagnostics = ctx.finish();
    return result;
  }
  if (documents.count > 1) {
    ctx.error(documents.second_mark, "a scenario file holds one YAML document, this one has " +
                                         std::to_string(documents.count));
  }
  for (const auto& problem : platform::yaml_tag_problems(documents.first)) {
    ctx.error(problem.mark, problem.message);
  }
  ScenarioParser parser(ctx, options, protected_text);
  auto scenario = parser.parse(documents.first);
  result.diagnostics = ctx.finish();
  if (result.diagnostics.empty()) result.scenario = std::move(scenario);
  return result;
}

ParseResult parse_scenario_file(const std::filesystem::path& path, const ParseOptions& options) {
  const std::string file = path.string();
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    ParseResult result;
    result.diagnostics.push_back({file, 0, 0, "is a directory, not a scenario file"});
    return result;
  }
  std::string text;
  try {
    text = platform::read_input_file(path);
  } catch (const platform::InputFileError& e) {
    ParseResult result;
    result.diagnostics.push_back({file, 0, 0, e.what()});
    return result;
  }
  return parse_scenario_text(text, file, options);
}

namespace {
// Why `path` cannot be read although named: a dangling link, a link loop, or nothing there.
std::string not_a_file(const std::filesystem::path& path, const std::error_code& error) {
  namespace fs = std::filesystem;
  if (error == std::errc::too_many_symbolic_link_levels)
    return "a symbolic link loop (too many levels of symbolic links)";
  std::error_code link_error;
  if (fs::is_symlink(fs::symlink_status(path, link_error))) {
    const auto target = fs::read_symlink(path, link_error);
    return "a symbolic link to " + (link_error ? std::string("a missing file") : target.string()) +
           ", which does not exist";
  }
  if (error && error != std::errc::no_such_file_or_directory)
    return "cannot read it: " + error.message();
  return "no such file or directory";
}
}  // namespace

std::vector<std::filesystem::path> scenario_files(const std::filesystem::path& path) {
  if (!std::filesystem::is_directory(path)) return {path};
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  // Linked folders are followed, each real folder once: a link back up the tree (a loop) or a
  // second link to the same folder is not entered again. A loop used to end the listing with
  // "Too many levels of symbolic links", and no file of the folder was read.
  std::error_code error;
  std::set<fs::path> visited;
  visited.insert(fs::canonical(path, error));
  fs::recursive_directory_iterator it(path, fs::directory_options::follow_directory_symlink, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    std::error_code entry_error;
    // A hidden folder or file (its name starts with a dot) is passed over: `.github/`,
    // `.gitlab-ci.yml` and `.git/` are no scenarios, and `shopctl validate .` reported CI
    // workflows as broken ones; so is an editor's lock file (Emacs keeps `.#a.yaml`, a link to
    // nowhere, beside a file being edited). Named on the command line, a hidden file is read.
    if (it->path().filename().string().starts_with(".")) {
      it.disable_recursion_pending();  // a folder's files are not listed; nothing else for a file
      continue;
    }
    if (it->is_directory(entry_error)) {
      const fs::path real = fs::canonical(it->path(), entry_error);
      if (entry_error || !visited.insert(real).second) it.disable_recursion_pending();
      continue;
    }
    // Every *.yaml that is not a folder, also one that cannot be read as a file (a dangling
    // link, a link loop, a pipe): load_scenarios says what is wrong with it. Skipped silently,
    // a scenario that vanished from a CI folder went unnoticed.
    if (!has_scenario_extension(it->path())) continue;
    files.push_back(it->path());
  }
  if (error) throw fs::filesystem_error("cannot list", path, error);
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.generic_string() < b.generic_string(); });
  return files;
}

LoadResult load_scenarios(const std::vector<std::string>& paths_or_dirs,
                          const ParseOptions& options) {
  LoadResult result;
  std::set<std::string> seen;
  // A hard link is the same file under another name, as a symbolic link is: read once (it ran
  // twice, where a symbolic link was read once).
  std::set<std::pair<dev_t, ino_t>> seen_files;
  for (const std::string& argument : paths_or_dirs) {
    const std::filesystem::path path(argument);
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
      result.diagnostics.push_back({argument, 0, 0, not_a_file(path, error)});
      continue;
    }
    const bool listed = std::filesystem::is_directory(path, error);
    std::vector<std::filesystem::path> files;
    try {
      files = scenario_files(path);
    } catch (const std::filesystem::filesystem_error& e) {
      result.diagnostics.push_back({argument, 0, 0, std::string("cannot list: ") + e.what()});
      continue;
    }
    if (files.empty()) {
      result.diagnostics.push_back(
          {argument, 0, 0, "no scenario files (*.yaml, *.yml) in this directory"});
      continue;
    }
    for (const auto& file : files) {
      std::string name = file.string();
      if (listed) {
        // Found in a folder: a file, or what it is instead. (Named on the command line, a pipe
        // is read, as `<(...)` gives one.)
        std::error_code status_error;
        const auto status = std::filesystem::status(file, status_error);
        if (status_error || !std::filesystem::exists(status)) {
          result.diagnostics.push_back({name, 0, 0, not_a_file(file, status_error)});
          continue;
        }
        if (!std::filesystem::is_regular_file(status)) {
          result.diagnostics.push_back(
              {name, 0, 0,
               "is not a regular file (a pipe, socket or device): a scenario folder holds "
               "scenario files"});
          continue;
        }
      }
      std::error_code canonical_error;
      const auto canonical = std::filesystem::weakly_canonical(file, canonical_error);
      if (!seen.insert(canonical_error ? name : canonical.string()).second) continue;
      struct stat info {};
      if (::stat(file.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
          !seen_files.insert({info.st_dev, info.st_ino}).second) {
        continue;
      }
      ParseResult parsed = parse_scenario_file(file, options);
      result.files.push_back(name);
      result.sources.emplace(name, std::move(parsed.source_text));
      result.diagnostics.insert(result.diagnostics.end(), parsed.diagnostics.begin(),
                                parsed.diagnostics.end());
      if (parsed.scenario) result.scenarios.push_back(std::move(*parsed.scenario));
    }
  }
  return result;
}

}  // namespace shopctl::scenario
