#include "observe_tools/fault_spec.hpp"

#include "platform/text_rules.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "platform/duration.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::observe_tools {

using nlohmann::json;

namespace {

double millis(const std::string& text, const char* flag) {
  auto d = platform::parse_duration(text);
  if (!d) {
    throw std::invalid_argument(std::string(flag) +
                                " takes a duration like 250ms, 2s or 1.5m, not '" + text + "'");
  }
  return static_cast<double>(d->count()) / 1e6;
}

// Checks `j` exactly as the shop will (the same function), so that a bad fault fails here
// with exit code 1.
void check_wire(const json& j) {
  platform::Fault::from_json(j);  // throws std::invalid_argument naming the key
}

std::string select_text(const json& f) {
  if (!f.contains("select")) return "all";
  const auto& s = f.at("select");
  if (!s.is_object() || s.empty()) return "all";
  auto it = s.begin();
  return it.key() + " " +
         (it->is_number_float() ? json(it->get<double>()).dump() : platform::json_text(*it));
}

std::string number_text(const json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    // Whole numbers without ".0"; the range check keeps the conversion defined.
    if (std::fabs(d) < 1e15 && d == std::floor(d))
      return std::to_string(static_cast<std::int64_t>(d));
  }
  return platform::json_text(v);
}

std::string effect_text(const json& f) {
  std::string type = f.value("type", std::string());
  std::string effect;
  if (f.contains("delay_ms") && f.at("delay_ms").is_number() &&
      (type == "delay" || type == "slow_body")) {
    effect = number_text(f.at("delay_ms")) + "ms";
    if (f.contains("jitter_ms")) effect += " +-" + number_text(f.at("jitter_ms")) + "ms";
  }
  if (type == "abort" && f.contains("status"))
    effect = "status " + platform::json_text(f.at("status"));
  // What an abort sends instead of the service's answer: a pasted fault whose body forged an
  // order with another pay link showed as "status 201" only (an outside probe).
  if (type == "abort" && f.contains("body") && f.at("body").is_string()) {
    const auto& body = f.at("body").get_ref<const std::string&>();
    effect += ", body " + platform::terminal_text(platform::json_text(body.substr(0, 60)), true) +
              (body.size() > 60 ? "..." : "");
  }
  if (type == "slow_body" && f.contains("bytes_per_second")) {
    effect += (effect.empty() ? "" : ", ") + number_text(f.at("bytes_per_second")) + " B/s";
  }
  return effect.empty() ? "-" : effect;
}

std::string cell(const json& f, const char* key) {
  if (!f.contains(key)) return "-";
  const auto& v = f.at(key);
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  return platform::json_text(v);
}

}  // namespace

json fault_json_from_flags(const FaultFlags& flags) {
  if (flags.target_service.empty()) throw std::invalid_argument("--target-service is required");
  platform::check_fault_component(flags.target_service, "--target-service", false);
  if (!flags.from.empty()) platform::check_fault_component(flags.from, "--from", true);
  if (flags.type.empty()) throw std::invalid_argument("--type is required");
  if (!platform::parse_fault_type(flags.type)) {
    throw std::invalid_argument(
        "--type must be one of delay, hang, abort, reset, close, garbage, "
        "slow_body, not '" +
        flags.type + "'");
  }
  const bool timed = flags.type == "delay" || flags.type == "slow_body";
  if (!flags.delay.empty() && !timed)
    throw std::invalid_argument("--delay applies to delay and slow_body faults");
  if (!flags.jitter.empty() && !timed)
    throw std::invalid_argument("--jitter applies to delay and slow_body faults");
  if ((flags.status || flags.body) && flags.type != "abort") {
    throw std::invalid_argument("--status and --body apply to abort faults");
  }
  if (flags.bytes_per_second && flags.type != "slow_body") {
    throw std::invalid_argument("--bytes-per-second applies to slow_body faults");
  }
  if (flags.type == "delay" && flags.delay.empty())
    throw std::invalid_argument("a delay fault needs --delay");
  if (flags.type == "slow_body" && !flags.bytes_per_second) {
    throw std::invalid_argument("a slow_body fault needs --bytes-per-second");
  }
  // A fault is sent as JSON, which holds UTF-8 text only: a body of other bytes was taken, and
  // sending or listing it threw nlohmann's type_error (an embedding program's Shop could no
  // longer list its faults; run_load ended the process; an outside probe).
  for (const auto& [option, text] : {std::pair<const char*, const std::string*>{"--id", &flags.id},
                                     {"--path", &flags.path},
                                     {"--body", flags.body ? &*flags.body : nullptr}}) {
    if (text == nullptr) continue;
    if (auto at = platform::first_invalid_utf8(*text)) {
      throw std::invalid_argument(std::string(option) + " must be UTF-8 text (byte " +
                                  std::to_string(*at + 1) + " is not)");
    }
  }
  int selects = (flags.probability ? 1 : 0) + (flags.first ? 1 : 0) + (flags.every ? 1 : 0) +
                (flags.after ? 1 : 0);
  if (selects > 1)
    throw std::invalid_argument("use at most one of --probability, --first, --every, --after");

  json j = {{"target", flags.target_service}, {"type", flags.type}};
  if (!flags.id.empty()) j["id"] = flags.id;
  if (!flags.from.empty()) j["from"] = flags.from;
  if (!flags.method.empty() || !flags.path.empty()) {
    j["match"] = json::object();
    if (!flags.method.empty()) {
      std::string method = flags.method;
      std::transform(method.begin(), method.end(), method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      j["match"]["method"] = method;
    }
    if (!flags.path.empty()) j["match"]["path"] = flags.path;
  }
  if (!flags.delay.empty()) j["delay_ms"] = millis(flags.delay, "--delay");
  if (!flags.jitter.empty()) j["jitter_ms"] = millis(flags.jitter, "--jitter");
  if (flags.status) j["status"] = *flags.status;
  if (flags.body) j["body"] = *flags.body;
  if (flags.bytes_per_second) j["bytes_per_second"] = *flags.bytes_per_second;
  if (flags.probability) j["select"] = {{"probability", *flags.probability}};
  if (flags.first) j["select"] = {{"first", *flags.first}};
  if (flags.every) j["select"] = {{"every", *flags.every}};
  if (flags.after) j["select"] = {{"after", *flags.after}};
  check_wire(j);
  return j;
}

json fault_json_from_text(const std::string& text, const std::string& option) {
  json j = platform::parse_json_or_discarded(text);
  if (j.is_discarded()) throw std::invalid_argument(option + " is not valid JSON");
  if (!j.is_object())
    throw std::invalid_argument(option +
                                " takes one fault, a JSON object like "
                                "'{\"target\":\"catalog\",\"type\":\"delay\",\"delay_ms\":50}'"
                                ", not a JSON " +
                                std::string(j.type_name()));
  check_wire(j);
  return j;
}

std::vector<json> faults_json_from_text(const std::string& text, const std::string& option) {
  json j = platform::parse_json_or_discarded(text);
  if (j.is_discarded()) throw std::invalid_argument(option + " is not valid JSON");
  if (!j.is_array()) return {fault_json_from_text(text, option)};
  if (j.empty()) throw std::invalid_argument(option + " is an empty list: give at least one fault");
  std::vector<json> faults;
  for (std::size_t i = 0; i < j.size(); ++i)
    faults.push_back(fault_json_from_text(j[i].dump(), option + " [" + std::to_string(i) + "]"));
  return faults;
}

std::string fault_table(const json& answer) {
  if (!answer.is_object() || !answer.contains("items") || !answer.at("items").is_array()) {
    throw std::invalid_argument("expected {\"items\": [...]}");
  }
  const auto& items = answer.at("items");
  if (items.empty()) return "no faults\n";
  std::vector<std::vector<std::string>> rows = {{"ID", "TARGET", "TYPE", "FROM", "MATCH", "EFFECT",
                                                 "SELECT", "MATCHED", "SHADOWED", "APPLIED"}};
  for (const auto& f : items) {
    std::string match = "* **";  // any method, any path: as a fault that names them
    if (f.contains("match") && f.at("match").is_object()) {
      const auto& m = f.at("match");
      std::string method = m.value("method", std::string());
      std::string path = m.value("path", std::string());
      match = (method.empty() ? "*" : method) + " " + (path.empty() ? "**" : path);
    }
    rows.push_back({cell(f, "id"), cell(f, "target"), cell(f, "type"), cell(f, "from"), match,
                    effect_text(f), select_text(f), cell(f, "matched"), cell(f, "shadowed"),
                    cell(f, "applied")});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  // A split shop's fault that some processes hold and others not (GET /_admin/faults says
  // `only_in`): it applies only there.
  for (const auto& f : items) {
    if (!f.contains("only_in") || !f.at("only_in").is_array()) continue;
    std::string where;
    for (const auto& p : f.at("only_in")) {
      if (!p.is_string()) continue;
      where += (where.empty() ? "" : ", ") + p.get<std::string>();
    }
    out += "note: fault " + cell(f, "id") + " is held only by " + where +
           ", not by every process of the shop (an add that was reported not added, taken late): "
           "remove it with `shopctl fault clear " +
           cell(f, "id") + "`, or add it again\n";
  }
  return out;
}

}  // namespace shopctl::observe_tools
