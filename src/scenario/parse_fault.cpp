// Faults read from YAML (spec/resilience.md), for `fault:` steps and a step's `faults:`.
#include <chrono>
#include <limits>
#include <map>

#include "platform/duration.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/json_body.hpp"
#include "platform/observe/architecture.hpp"
#include "scenario/parse_context.hpp"
#include "scenario/vocabulary.hpp"

namespace shopctl::scenario::detail {
namespace {

std::optional<std::chrono::nanoseconds> fault_duration(Context& ctx, const Field& field) {
  auto value = ctx.duration(field);
  if (!value) return std::nullopt;
  if (*value > std::chrono::hours(24)) {
    ctx.error(field.mark, Context::label(field) +
                              " must be at most 24h (a longer wait is a hang "
                              "fault), not " +
                              ctx.describe(field.node));
    return std::nullopt;
  }
  // A fraction of a millisecond is taken, as the admin plane and `fault add --delay` take it
  // (the scenario refused 0.4ms that the others took).
  return value;
}

std::optional<FaultSelect> parse_select(Context& ctx, const Field& field) {
  if (!ctx.require_mapping(field, "{probability: 0.5}, {first: 3}, {every: 2} or {after: 5}")) {
    return std::nullopt;
  }
  const auto entries = ctx.entries(field);
  ctx.reject_unknown_keys(entries, {"probability", "first", "every", "after"}, "'select'");
  FaultSelect select;
  const Field* chosen = nullptr;
  bool ok = true;
  for (const Field& entry : entries) {
    FaultSelect::Kind kind;
    if (entry.name == "probability") {
      kind = FaultSelect::Kind::probability;
    } else if (entry.name == "first") {
      kind = FaultSelect::Kind::first;
    } else if (entry.name == "every") {
      kind = FaultSelect::Kind::every;
    } else if (entry.name == "after") {
      kind = FaultSelect::Kind::after;
    } else {
      continue;
    }
    if (chosen != nullptr) {
      ctx.error(entry.key_mark,
                "'select' takes exactly one of probability, first, every, after; "
                "this one already has '" +
                    chosen->name + "'");
      ok = false;
      continue;
    }
    chosen = &entry;
    select.kind = kind;
    if (kind == FaultSelect::Kind::probability) {
      if (auto p = ctx.number(entry, 0.0, 1.0)) {
        select.probability = *p;
      } else {
        ok = false;
      }
    } else {
      const std::int64_t min = kind == FaultSelect::Kind::after ? 0 : 1;
      if (auto n = ctx.integer(entry, min, std::numeric_limits<std::int64_t>::max())) {
        select.count = *n;
      } else {
        ok = false;
      }
    }
  }
  if (chosen == nullptr) {
    if (entries.empty() || ok) {
      ctx.error(field.mark, "'select' needs exactly one of probability, first, every, after");
    }
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return select;
}

}  // namespace

std::optional<FaultSpec> parse_fault(Context& ctx, const Field& field) {
  if (!ctx.require_mapping(field, "{target: catalog, type: delay, delay: 2s}")) return std::nullopt;
  const auto entries = ctx.entries(field);
  ctx.reject_unknown_keys(entries,
                          {"id", "target", "from", "match", "type", "delay", "jitter", "status",
                           "body", "bytes_per_second", "select"},
                          "a fault");
  std::map<std::string, const Field*, std::less<>> by_name;
  for (const Field& entry : entries) by_name.emplace(entry.name, &entry);
  auto find = [&](std::string_view name) -> const Field* {
    const auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };

  FaultSpec spec;
  spec.loc = ctx.location(field.mark);
  bool ok = true;

  if (const Field* id = find("id")) {
    auto value = ctx.string(*id);
    if (value && value->empty()) {
      ctx.error(id->mark, "a fault's 'id' must not be empty");
      value.reset();
    } else if (value) {
      // Found when the file is read, not when the shop refuses it mid-run (exit 4).
      if (auto problem = platform::fault_id_problem(*value)) {
        ctx.error(id->mark, "a fault's " + *problem);
        value.reset();
      }
    }
    if (value) {
      spec.id = *value;
    } else {
      ok = false;
    }
  }

  if (const Field* target = find("target")) {
    if (auto value = ctx.service(*target)) {
      spec.target = *value;
    } else {
      ok = false;
    }
  } else {
    ctx.error(field.mark, "a fault needs 'target', the service that misbehaves (" +
                              join_names(kServices) + ")");
    ok = false;
  }

  if (const Field* from = find("from")) {
    auto value = ctx.string(*from);
    if (value && *value != kClient && !is_service(*value)) {
      std::string message = "unknown caller '" + *value + "'";
      std::vector<std::string> known(kServices.begin(), kServices.end());
      known.emplace_back(kClient);
      if (auto suggestion = did_you_mean(*value, known))
        message += "; did you mean '" + *suggestion + "'?";
      ctx.error(from->mark, message + " (callers: client, " + join_names(kServices) + ")");
      value.reset();
    } else if (value && *value == spec.target) {
      ctx.error(from->mark,
                "no edge " + *value + "->" + spec.target + ": a service does not call itself");
      value.reset();
    } else if (value && !spec.target.empty() &&
               !platform::architecture::is_allowed(*value, spec.target)) {
      // As the admin plane refuses it (Fault::from_json): the shop's own calls never take an
      // edge the architecture lacks, and the fault never applied (an outside probe).
      std::string edges;
      for (const auto& e : platform::architecture::allowed_edges()) {
        if (e.callee == spec.target)
          edges += (edges.empty() ? "" : ", ") + e.caller + "->" + e.callee;
      }
      ctx.error(from->mark, "no edge " + *value + "->" + spec.target +
                                " in the shop's architecture (`shopctl graph`): the fault would "
                                "never apply; the edges to " +
                                spec.target + " are " +
                                (edges.empty() ? std::string("none") : edges));
      value.reset();
    } else if (value && !spec.target.empty()) {
      if (auto why = platform::architecture::unmatchable_fault_edge(*value, spec.target);
          !why.empty()) {
        ctx.error(from->mark, why);
        value.reset();
      }
    }
    if (value) {
      spec.from = *value;
    } else {
      ok = false;
    }
  }

  if (const Field* match = find("match")) {
    if (ctx.require_mapping(*match, "{method: GET, path: /products/*}")) {
      const auto match_entries = ctx.entries(*match);
      ctx.reject_unknown_keys(match_entries, {"method", "path"}, "a fault's 'match'");
      for (const Field& entry : match_entries) {
        if (entry.name == "method") {
          auto method = ctx.string(entry);
          if (method && !is_http_method(*method)) {
            ctx.error(entry.mark, "unknown HTTP method '" + *method +
                                      "' (methods: " + join_names(kHttpMethods) + ")");
            method.reset();
          }
          if (method && !spec.target.empty()) {
            if (auto problem = platform::fault_method_problem(spec.target, *method)) {
              ctx.error(entry.mark, *problem);
              method.reset();
            }
          }
          if (method) {
            spec.match.method = *method;
          } else {
            ok = false;
          }
        } else if (entry.name == "path") {
          auto path = ctx.text_template(entry);
          if (path && !path->starts_with("${")) {
            if (auto problem = platform::fault_path_problem(*path)) {
              ctx.error(entry.mark, *problem);
              path.reset();
            }
          }
          if (path) {
            spec.match.path = *path;
          } else {
            ok = false;
          }
        }
      }
    } else {
      ok = false;
    }
  }

  std::optional<FaultType> type;
  if (const Field* type_field = find("type")) {
    if (auto name = ctx.string(*type_field)) {
      type = fault_type_from_string(*name);
      if (!type) {
        std::string message = "unknown fault type '" + *name + "'";
        const std::vector<std::string> known(kFaultTypes.begin(), kFaultTypes.end());
        if (auto suggestion = did_you_mean(*name, known))
          message += "; did you mean '" + *suggestion + "'?";
        ctx.error(type_field->mark, message + " (types: " + join_names(kFaultTypes) + ")");
      }
    }
    if (!type) ok = false;
  } else {
    ctx.error(field.mark, "a fault needs 'type' (" + join_names(kFaultTypes) + ")");
    ok = false;
  }

  if (type) {
    spec.type = *type;
    // The fault table's own rule (the admin plane and `fault add` apply it too), by the type's
    // name: the scenario model has its own FaultType.
    const auto table_type = platform::parse_fault_type(to_string(*type));
    for (std::string_view parameter : {"delay", "jitter", "status", "body", "bytes_per_second"}) {
      const Field* entry = find(parameter);
      if (entry == nullptr || (table_type && platform::fault_takes(*table_type, parameter)))
        continue;
      const std::string type_name(to_string(*type));
      const std::string article = type_name.find_first_of("aeiou") == 0 ? "an " : "a ";
      ctx.error(entry->key_mark, "'" + std::string(parameter) + "' does not apply to " + article +
                                     type_name + " fault (it is for " +
                                     std::string(platform::fault_parameter_owner(parameter)) + ")");
      ok = false;
    }
    switch (*type) {
      case FaultType::delay:
        if (const Field* delay = find("delay")) {
          if (auto value = fault_duration(ctx, *delay)) {
            spec.delay = *value;
          } else {
            ok = false;
          }
        } else {
          ctx.error(field.mark, "a delay fault needs 'delay', like delay: 2s");
          ok = false;
        }
        if (const Field* jitter = find("jitter")) {
          if (auto value = fault_duration(ctx, *jitter)) {
            spec.jitter = *value;
          } else {
            ok = false;
          }
        }
        break;
      case FaultType::abort:
        if (const Field* status = find("status")) {
          if (auto value = ctx.integer(*status, 200, 599)) {
            if (auto problem = platform::abort_status_problem(*value)) {
              ctx.error(status->mark, *problem);
              ok = false;
            }
            spec.status = static_cast<int>(*value);
          } else {
            ok = false;
          }
        }
        if (const Field* body = find("body")) {
          if (body->node.IsMap() || body->node.IsSequence()) {
            if (auto value = ctx.json_template(*body)) {
              spec.body = value->dump();
            } else {
              ok = false;
            }
          } else if (auto value = ctx.text_template(*body)) {
            spec.body = *value;
          } else {
            ok = false;
          }
          // The admin plane reads a string of at most 10,000 characters: a longer body written
          // out was refused only when its step ran (string_too_long, exit 4).
          if (spec.body && spec.body->find("${") == std::string::npos &&
              platform::utf8_length(*spec.body) > platform::kMaxJsonString) {
            ctx.error(body->mark, "a fault's body is at most " +
                                      std::to_string(platform::kMaxJsonString) +
                                      " characters (the admin plane's longest string)");
            ok = false;
          }
        }
        break;
      case FaultType::slow_body:
        if (const Field* rate = find("bytes_per_second")) {
          if (auto value = ctx.number(*rate, platform::kMinBytesPerSecond,
                                      std::numeric_limits<double>::max())) {
            spec.bytes_per_second = *value;
          } else {
            ok = false;
          }
        } else {
          ctx.error(field.mark,
                    "a slow_body fault needs 'bytes_per_second', like bytes_per_second: 100");
          ok = false;
        }
        if (const Field* delay = find("delay")) {
          if (auto value = fault_duration(ctx, *delay)) {
            spec.delay = *value;
          } else {
            ok = false;
          }
        }
        if (const Field* jitter = find("jitter")) {
          if (auto value = fault_duration(ctx, *jitter)) {
            spec.jitter = *value;
          } else {
            ok = false;
          }
        }
        break;
      default:
        break;
    }
  }

  if (const Field* select = find("select")) {
    if (auto value = parse_select(ctx, *select)) {
      spec.select = *value;
    } else {
      ok = false;
    }
  }

  if (!ok) return std::nullopt;
  return spec;
}

}  // namespace shopctl::scenario::detail
