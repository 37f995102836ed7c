#include "scenario/model.hpp"

#include "platform/text_rules.hpp"

#include "platform/duration.hpp"
#include "scenario/vocabulary.hpp"

namespace shopctl::scenario {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Milliseconds on the wire: a whole number when it is one, else a fraction (0.4ms), as the
// admin plane and `fault add --delay` take them.
nlohmann::json wire_milliseconds(std::chrono::nanoseconds d) {
  if (d.count() % 1'000'000 == 0)
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<double>(d.count()) / 1e6;
}

}  // namespace

std::string_view to_string(FaultType type) {
  return kFaultTypes[static_cast<std::size_t>(type)];
}

std::optional<FaultType> fault_type_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kFaultTypes.size(); ++i) {
    if (kFaultTypes[i] == name) return static_cast<FaultType>(i);
  }
  return std::nullopt;
}

nlohmann::json FaultSpec::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  if (!id.empty()) out["id"] = id;
  out["target"] = target;
  if (!from.empty()) out["from"] = from;
  if (!match.method.empty() || !match.path.empty()) {
    nlohmann::json m = nlohmann::json::object();
    if (!match.method.empty()) m["method"] = match.method;
    if (!match.path.empty()) m["path"] = match.path;
    out["match"] = std::move(m);
  }
  out["type"] = std::string(to_string(type));
  switch (type) {
    case FaultType::delay:
      out["delay_ms"] = wire_milliseconds(delay);
      if (jitter.count() > 0) out["jitter_ms"] = wire_milliseconds(jitter);
      break;
    case FaultType::abort:
      out["status"] = status;
      if (body) out["body"] = *body;
      break;
    case FaultType::slow_body:
      out["bytes_per_second"] = bytes_per_second;
      if (delay.count() > 0) out["delay_ms"] = wire_milliseconds(delay);
      if (jitter.count() > 0) out["jitter_ms"] = wire_milliseconds(jitter);
      break;
    default:
      break;
  }
  switch (select.kind) {
    case FaultSelect::Kind::always:
      break;
    case FaultSelect::Kind::probability:
      out["select"] = {{"probability", select.probability}};
      break;
    case FaultSelect::Kind::first:
      out["select"] = {{"first", select.count}};
      break;
    case FaultSelect::Kind::every:
      out["select"] = {{"every", select.count}};
      break;
    case FaultSelect::Kind::after:
      out["select"] = {{"after", select.count}};
      break;
  }
  return out;
}

std::string_view action_name(const Action& action) {
  return std::visit(
      Overloaded{
          [](const RequestAction&) -> std::string_view { return "request"; },
          [](const RegisterAction&) -> std::string_view { return "register"; },
          [](const LoginAction&) -> std::string_view { return "login"; },
          [](const PayAction&) -> std::string_view { return "pay"; },
          [](const FaultAction&) -> std::string_view { return "fault"; },
          [](const ClearFaultsAction&) -> std::string_view { return "clear_faults"; },
          [](const ServiceAction& a) -> std::string_view {
            switch (a.kind) {
              case ServiceAction::Kind::stop:
                return "stop";
              case ServiceAction::Kind::start:
                return "start";
              case ServiceAction::Kind::restart:
                return "restart";
              case ServiceAction::Kind::crash:
                return "crash";
            }
            return "stop";
          },
          [](const AdvanceClockAction&) -> std::string_view { return "advance_clock"; },
          [](const SetPriceAction&) -> std::string_view { return "set_price"; },
          [](const SetAvailableAction&) -> std::string_view { return "set_available"; },
          [](const WaitAction&) -> std::string_view { return "wait"; },
          [](const ConcurrentAction&) -> std::string_view { return "concurrently"; },
      },
      action);
}

bool has_response(const Action& action) {
  return std::holds_alternative<RequestAction>(action) ||
         std::holds_alternative<RegisterAction>(action) ||
         std::holds_alternative<LoginAction>(action) || std::holds_alternative<PayAction>(action);
}

std::string step_label(const Step& step) {
  if (!step.name.empty()) return step.name;
  auto text = [](const nlohmann::json& value) { return splice_text(value); };
  return std::visit(
      Overloaded{
          [](const RequestAction& a) {
            std::string out = a.method + " " + a.path;
            if (a.service != "gateway") out += " on " + a.service;
            return out;
          },
          [](const RegisterAction& a) { return "register " + a.email; },
          [](const LoginAction& a) { return "login " + a.email; },
          [&](const PayAction& a) {
            return "pay " + (a.order ? "order " + text(*a.order) : a.pay_url.value_or("")) +
                   " with card " + a.card;
          },
          [](const FaultAction& a) {
            std::string out = "fault " + std::string(to_string(a.fault.type)) + " on ";
            out += a.fault.from.empty() ? a.fault.target : a.fault.from + "->" + a.fault.target;
            return out;
          },
          [](const ClearFaultsAction& a) {
            return a.all ? std::string("clear all faults") : "clear fault " + a.id;
          },
          [&](const ServiceAction& a) {
            return std::string(action_name(Action(a))) + " " + a.service;
          },
          [](const AdvanceClockAction& a) {
            return "advance the clock by " + platform::format_duration(a.by);
          },
          [&](const SetPriceAction& a) {
            return "set the price of " + text(a.product) + " to " + text(a.price_cents);
          },
          [&](const SetAvailableAction& a) {
            return "set " + text(a.product) + " available: " + text(a.available);
          },
          [](const WaitAction& a) { return "wait " + platform::format_duration(a.duration); },
          [](const ConcurrentAction& a) {
            std::string out = std::to_string(a.steps.size()) + " steps at once:";
            for (std::size_t i = 0; i < a.steps.size(); ++i) {
              out += (i ? "; " : " ") + step_label(a.steps[i]);
            }
            return out;
          },
      },
      step.action);
}

}  // namespace shopctl::scenario

namespace shopctl::scenario {

bool is_tag(std::string_view tag) {
  if (tag.empty() || tag.find_first_of(", \t") != std::string_view::npos) return false;
  return !platform::first_unseen_character(tag);
}

}  // namespace shopctl::scenario
