// `expect:` read from YAML (spec/scenarios.md, "Expectations").
#include <limits>

#include "scenario/parse_context.hpp"
#include "scenario/vocabulary.hpp"

namespace shopctl::scenario::detail {
namespace {

constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

bool is_response_key(std::string_view key) {
  return key == "status" || key == "headers" || key == "json" || key == "latency" ||
         key == "schema";
}

// Reads a breaker name from a mapping key.
std::optional<std::string> breaker(Context& ctx, const Field& entry) {
  if (is_breaker(entry.name)) return entry.name;
  std::string message;
  const auto edge = split_edge(entry.name);
  if (edge && (is_service(edge->caller) || edge->caller == kClient) && is_service(edge->callee)) {
    message = "no circuit breaker guards " + entry.name;
  } else {
    message = "unknown circuit breaker '" + entry.name + "'";
    const std::vector<std::string> known(kBreakers.begin(), kBreakers.end());
    if (auto suggestion = did_you_mean(entry.name, known))
      message += "; did you mean '" + *suggestion + "'?";
  }
  ctx.error(entry.key_mark, message + " (breakers: " + join_names(kBreakers) + ")");
  return std::nullopt;
}

// Reports an unknown circuit state written at byte `offset` of the scalar at `mark`.
bool check_state(Context& ctx, const YAML::Mark& mark, std::string_view scalar, std::size_t offset,
                 const std::string& state) {
  if (is_circuit_state(state)) return true;
  std::string message = "unknown circuit state '" + state + "'";
  const std::vector<std::string> known(kCircuitStates.begin(), kCircuitStates.end());
  if (auto suggestion = did_you_mean(state, known))
    message += "; did you mean '" + *suggestion + "'?";
  ctx.error_in_scalar(mark, scalar, offset,
                      message + " (states: " + join_names(kCircuitStates) + ")");
  return false;
}

std::optional<CircuitTransition> transition(Context& ctx, const Field& item) {
  auto text = ctx.string(item);
  if (!text) return std::nullopt;
  const auto arrow = text->find("->");
  if (arrow == std::string::npos || arrow == 0 || arrow + 2 >= text->size()) {
    ctx.error(item.mark, "a transition is written FROM->TO, like CLOSED->OPEN, not " +
                             ctx.describe(item.node));
    return std::nullopt;
  }
  CircuitTransition out{text->substr(0, arrow), text->substr(arrow + 2)};
  bool ok = check_state(ctx, item.mark, *text, 0, out.from);
  ok = check_state(ctx, item.mark, *text, arrow + 2, out.to) && ok;
  if (ok && out.from == out.to) {
    ctx.error(item.mark, "a transition goes from one state to another, not " + *text);
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<CallExpectation> call(Context& ctx, const Field& item) {
  if (!ctx.require_mapping(item, "{edge: order->catalog, count: 1}")) return std::nullopt;
  const auto entries = ctx.entries(item);
  ctx.reject_unknown_keys(entries, {"edge", "count", "min", "max", "refused"}, "a 'calls' item");
  CallExpectation out;
  out.loc = ctx.location(item.mark);
  bool ok = true;
  bool has_edge = false;
  const Field* count = nullptr;
  const Field* bound = nullptr;
  const Field* max_field = nullptr;
  for (const Field& entry : entries) {
    if (entry.name == "edge") {
      has_edge = true;
      auto text = ctx.string(entry);
      if (!text) {
        ok = false;
        continue;
      }
      const auto edge = split_edge(*text);
      if (!edge) {
        ctx.error(entry.mark, "an edge is written CALLER->CALLEE, like order->catalog, not " +
                                  ctx.describe(entry.node));
        ok = false;
        continue;
      }
      std::vector<std::string> callers(kServices.begin(), kServices.end());
      callers.emplace_back(kClient);
      if (edge->caller != kClient && !is_service(edge->caller)) {
        std::string message = "unknown caller '" + edge->caller + "' in edge " + *text;
        if (auto s = did_you_mean(edge->caller, callers)) message += "; did you mean '" + *s + "'?";
        ctx.error_in_scalar(entry.mark, *text, 0,
                            message + " (client, " + join_names(kServices) + ")");
        ok = false;
      }
      if (!is_service(edge->callee)) {
        // `client` is a caller only: nothing calls a client (it read as an unknown name).
        std::string message = edge->callee == kClient
                                  ? "'client' calls, and is never called, in edge " + *text
                                  : "unknown service '" + edge->callee + "' in edge " + *text;
        const std::vector<std::string> services(kServices.begin(), kServices.end());
        if (auto s = did_you_mean(edge->callee, services))
          message += "; did you mean '" + *s + "'?";
        ctx.error_in_scalar(entry.mark, *text, edge->caller.size() + 2,
                            message + " (services: " + join_names(kServices) + ")");
        ok = false;
      } else if (edge->caller == edge->callee) {
        ctx.error(entry.mark, "no edge " + *text + ": a service does not call itself");
        ok = false;
      } else if (edge->caller == kClient && edge->callee == "provider") {
        // The shopper's pay page goes straight to the provider, which records nothing: any
        // count on this edge would read 0 and pass, whatever happened.
        ctx.error(entry.mark,
                  "the edge client->provider is never recorded (the provider does not record "
                  "the shopper's pay page), so a count on it is always 0; count "
                  "payment->provider or provider->gateway instead");
        ok = false;
      }
      out.edge = *text;
      out.caller = edge->caller;
      out.callee = edge->callee;
    } else if (entry.name == "count" || entry.name == "min" || entry.name == "max") {
      auto value = ctx.integer(entry, 0, kNoLimit);
      if (!value) {
        ok = false;
        continue;
      }
      if (entry.name == "count") {
        out.count = *value;
        count = &entry;
      } else if (entry.name == "min") {
        out.min = *value;
        if (bound == nullptr) bound = &entry;
      } else {
        out.max = *value;
        max_field = &entry;
        if (bound == nullptr) bound = &entry;
      }
    } else if (entry.name == "refused") {
      if (auto value = ctx.boolean(entry)) {
        out.refused = *value;
      } else {
        ok = false;
      }
    }
  }
  if (!has_edge) {
    ctx.error(item.mark, "a 'calls' item needs 'edge', like {edge: order->catalog, count: 1}");
    ok = false;
  }
  if (count != nullptr && bound != nullptr) {
    ctx.error(count->key_mark, "'count' is exact; it cannot be combined with 'min' or 'max'");
    ok = false;
  } else if (ok && !out.count && !out.min && !out.max) {
    ctx.error(item.mark, "a 'calls' item needs 'count', or 'min' and/or 'max'");
    ok = false;
  } else if (ok && !out.count && out.min && *out.min == 0 && !out.max && bound != nullptr) {
    ctx.error(bound->mark,
              "'min: 0' alone checks nothing (every count is at least 0); give "
              "'max', a 'min' above 0, or 'count'");
    ok = false;
  }
  if (out.min && out.max && *out.min > *out.max && max_field != nullptr) {
    ctx.error(max_field->mark, "'max' (" + std::to_string(*out.max) + ") is less than 'min' (" +
                                   std::to_string(*out.min) + ")");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

// Why an empty expectation (`circuit`, `circuit_transitions`, `calls`, `headers`, `json`,
// `responses`) is refused, and what to write.
std::string empty_expectation_message(const std::string& name) {
  if (name == "circuit") {
    return "an empty 'circuit' checks nothing; name a breaker and its state, like "
           "{order->catalog: OPEN}, or leave 'circuit' out";
  }
  if (name == "circuit_transitions") {
    return "an empty 'circuit_transitions' checks nothing; name a breaker, like "
           "{order->catalog: [CLOSED->OPEN]}, or {order->catalog: []} for no transition";
  }
  if (name == "calls") {
    return "an empty 'calls' checks nothing; list an edge, like "
           "[{edge: order->catalog, count: 0}] for no call, or leave 'calls' out";
  }
  if (name == "headers") {
    return "an empty 'headers' checks nothing; name a header and its matcher, like "
           "{Retry-After: {exists: true}}, or leave 'headers' out";
  }
  if (name == "json") {
    return "an empty 'json' checks nothing; give a JSONPath and its matcher, like "
           "{$.status: PAID}, or leave 'json' out";
  }
  return "an empty 'responses' checks nothing; count answers, like "
         "[{status: 201, count: 1}], or leave 'responses' out";
}

// `calls: []`, `circuit: {}`, `json: {}` and the like: an empty expectation, which would pass
// whatever happened (docs/scenarios.md, Validation).
bool empty_collection(const Field& entry) {
  return (entry.node.IsMap() || entry.node.IsSequence()) && entry.node.size() == 0;
}

// Reads `headers:` or `json:` of an expectation into `headers` / `json`.
void response_matchers(Context& ctx, const Field& entry, std::vector<HeaderExpectation>& headers,
                       std::vector<JsonExpectation>& json) {
  if (empty_collection(entry)) {
    ctx.error(entry.mark, empty_expectation_message(entry.name));
    return;
  }
  if (entry.name == "headers") {
    if (!ctx.require_mapping(entry, "{Retry-After: {exists: true}}")) return;
    for (const Field& header : ctx.entries(entry)) {
      if (!is_header_name(header.name)) {
        ctx.error(header.key_mark, "'" + header.name + "' is not a header name");
        continue;
      }
      headers.push_back({header.name,
                         parse_matcher(ctx, header, MatcherDomain::header, "header " + header.name),
                         ctx.location(header.key_mark)});
    }
    return;
  }
  if (!ctx.require_mapping(entry, "{$.status: PAID}")) return;
  for (const Field& item : ctx.entries(entry)) {
    std::optional<JsonPath> path;
    try {
      path = JsonPath::parse(item.name);
    } catch (const JsonPathError& e) {
      ctx.error_in_scalar(item.key_mark, item.name, e.offset(),
                          "invalid JSONPath '" + item.name + "': " + e.what());
    }
    Matcher matcher = parse_matcher(ctx, item, MatcherDomain::json, item.name);
    if (path) json.push_back({*path, std::move(matcher), ctx.location(item.key_mark)});
  }
}

// One item of a block's `responses:`.
std::optional<ResponseCount> response_count(Context& ctx, const Field& item) {
  constexpr std::string_view kExample =
      "{status: 409, json: {$.error.code: checkout_in_progress}, count: 3}";
  if (!ctx.require_mapping(item, kExample)) return std::nullopt;
  const auto entries = ctx.entries(item);
  ctx.reject_unknown_keys(entries, {"status", "headers", "json", "count", "min", "max"},
                          "a 'responses' item");
  ResponseCount out;
  out.loc = ctx.location(item.mark);
  bool ok = true;
  const Field* count = nullptr;
  const Field* bound = nullptr;
  const Field* max_field = nullptr;
  for (const Field& entry : entries) {
    if (entry.name == "status") {
      out.status = parse_matcher(ctx, entry, MatcherDomain::status, "status");
    } else if (entry.name == "headers" || entry.name == "json") {
      response_matchers(ctx, entry, out.headers, out.json);
    } else if (entry.name == "count" || entry.name == "min" || entry.name == "max") {
      auto value = ctx.integer(entry, 0, kNoLimit);
      if (!value) {
        ok = false;
      } else if (entry.name == "count") {
        out.count = *value;
        count = &entry;
      } else if (entry.name == "min") {
        out.min = *value;
        if (bound == nullptr) bound = &entry;
      } else {
        out.max = *value;
        max_field = &entry;
        if (bound == nullptr) bound = &entry;
      }
    }
  }
  if (count != nullptr && bound != nullptr) {
    ctx.error(count->key_mark, "'count' is exact; it cannot be combined with 'min' or 'max'");
    ok = false;
  } else if (ok && !out.count && !out.min && !out.max) {
    ctx.error(item.mark, "a 'responses' item needs 'count', or 'min' and/or 'max', like " +
                             std::string(kExample));
    ok = false;
  } else if (ok && !out.count && out.min && *out.min == 0 && !out.max && bound != nullptr) {
    ctx.error(bound->mark,
              "'min: 0' alone checks nothing (every count is at least 0); give "
              "'max', a 'min' above 0, or 'count'");
    ok = false;
  }
  if (out.min && out.max && *out.min > *out.max && max_field != nullptr) {
    ctx.error(max_field->mark, "'max' (" + std::to_string(*out.max) + ") is less than 'min' (" +
                                   std::to_string(*out.min) + ")");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace

Expectation parse_expectation(Context& ctx, const Field& field, bool responds,
                              std::string_view action, ExpectPlace place) {
  Expectation expectation;
  expectation.loc = ctx.location(field.key.IsDefined() ? field.key_mark : field.mark);
  if (!ctx.require_mapping(field, "{status: 200}")) return expectation;
  const auto entries = ctx.entries(field);
  if (entries.empty()) {
    // It would pass whatever came back, as the other empty expectations would.
    ctx.error(field.mark,
              "an empty 'expect' checks nothing; say what must hold, like {status: 200} or "
              "{violations: 0}, or leave 'expect' out");
    return expectation;
  }
  ctx.reject_unknown_keys(entries,
                          {"status", "headers", "json", "latency", "schema", "circuit",
                           "circuit_transitions", "calls", "violations", "responses"},
                          "'expect'");
  for (const Field& entry : entries) {
    if (entry.name == "responses") {
      if (place != ExpectPlace::block) {
        ctx.error(entry.key_mark,
                  "'responses' counts the answers of the steps of a concurrently "
                  "block; it goes on the block's own 'expect'");
        continue;
      }
      if (empty_collection(entry)) {
        ctx.error(entry.mark, empty_expectation_message(entry.name));
        continue;
      }
      if (!ctx.require_list(entry, "[{status: 201, count: 1}, {status: 409, count: 3}]")) continue;
      for (const Field& item : ctx.items(entry)) {
        if (auto c = response_count(ctx, item)) expectation.responses.push_back(std::move(*c));
      }
      continue;
    }
    if (is_response_key(entry.name) && place == ExpectPlace::block) {
      ctx.error(entry.key_mark, "'" + entry.name +
                                    "' needs a response, and a concurrently block "
                                    "has one per step: put it on the steps inside the block, or "
                                    "count their answers with 'responses'");
      continue;
    }
    if (!is_response_key(entry.name) && place == ExpectPlace::inner_step) {
      ctx.error(entry.key_mark,
                "'" + entry.name +
                    "' is not allowed on a step inside a "
                    "concurrently block (the steps' calls and breaker moves overlap); "
                    "put it on the block's own 'expect'");
      continue;
    }
    if (is_response_key(entry.name) && !responds) {
      ctx.error(entry.key_mark, "'" + entry.name + "' needs a response, and a " +
                                    std::string(action) +
                                    " step has none (only request, register, login and pay "
                                    "steps answer; any step can expect circuit, "
                                    "circuit_transitions, calls and violations)");
      continue;
    }
    if (entry.name == "status") {
      expectation.status = parse_matcher(ctx, entry, MatcherDomain::status, "status");
    } else if (entry.name == "latency") {
      expectation.latency = parse_matcher(ctx, entry, MatcherDomain::duration, "latency");
    } else if (entry.name == "schema") {
      if (auto on = ctx.boolean(entry); on && *on) expectation.schema = ctx.location(entry.mark);
    } else if (entry.name == "headers" || entry.name == "json") {
      response_matchers(ctx, entry, expectation.headers, expectation.json);
    } else if ((entry.name == "circuit" || entry.name == "circuit_transitions" ||
                entry.name == "calls") &&
               empty_collection(entry)) {
      // An empty one checks nothing and would pass whatever happened.
      ctx.error(entry.mark, empty_expectation_message(entry.name));
    } else if (entry.name == "circuit") {
      if (!ctx.require_mapping(entry, "{order->catalog: OPEN}")) continue;
      for (const Field& item : ctx.entries(entry)) {
        auto name = breaker(ctx, item);
        auto state = ctx.string(item);
        if (state && !check_state(ctx, item.mark, *state, 0, *state)) state.reset();
        if (name && state)
          expectation.circuit.push_back({*name, *state, ctx.location(item.key_mark)});
      }
    } else if (entry.name == "circuit_transitions") {
      if (!ctx.require_mapping(entry, "{order->catalog: [CLOSED->OPEN]}")) continue;
      for (const Field& item : ctx.entries(entry)) {
        auto name = breaker(ctx, item);
        if (!ctx.require_list(item, "[CLOSED->OPEN]")) continue;
        TransitionExpectation expected{name.value_or(item.name), {}, ctx.location(item.key_mark)};
        bool ok = name.has_value();
        for (const Field& step : ctx.items(item)) {
          if (auto t = transition(ctx, step)) {
            expected.transitions.push_back(*t);
          } else {
            ok = false;
          }
        }
        if (ok) expectation.circuit_transitions.push_back(std::move(expected));
      }
    } else if (entry.name == "calls") {
      if (!ctx.require_list(entry, "[{edge: order->catalog, count: 1}]")) continue;
      for (const Field& item : ctx.items(entry)) {
        if (auto c = call(ctx, item)) expectation.calls.push_back(std::move(*c));
      }
    } else if (entry.name == "violations") {
      if (auto count = ctx.integer(entry, 0, kNoLimit)) {
        expectation.violations = ViolationExpectation{*count, ctx.location(entry.mark)};
      }
    }
  }
  return expectation;
}

}  // namespace shopctl::scenario::detail
