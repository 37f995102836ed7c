#include "platform/admin_fanout.hpp"

#include <algorithm>
#include <charconv>

#include <yaml-cpp/yaml.h>

#include "platform/clock.hpp"
#include "platform/duration.hpp"
#include "platform/http/client.hpp"
#include "platform/input_file.hpp"
#include "platform/json_text.hpp"
#include "platform/observe/architecture.hpp"

#include "platform/security/random.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"

namespace shopctl::platform {

namespace {

using nlohmann::json;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string_view path_only(std::string_view path) {
  return path.substr(0, path.find('?'));
}

// The first failed answer, if any.
const AdminAnswer* first_failure(const std::vector<AdminAnswer>& answers) {
  for (const auto& a : answers) {
    if (!a.ok()) return &a;
  }
  return nullptr;
}

// Moves the `records` and `transitions` of a process's calls answer into `records` and
// `transitions` (copies held every record twice, and an answer holds up to 20,000).
void take_items(AdminAnswer& a, json& records, json& transitions) {
  const auto take = [&a](const char* key, json& into) {
    const auto it = a.body.find(key);
    into = it != a.body.end() && it->is_array() ? std::move(*it) : json::array();
  };
  take("records", records);
  take("transitions", transitions);
  a.raw.clear();
  a.raw.shrink_to_fit();
}

AdminAnswer with_body(int status, json body) {
  AdminAnswer a;
  a.status = status;
  a.raw = json_text(body);
  a.body = std::move(body);
  return a;
}

// The name a tool knows a process by: its services ("catalog", "auth+order").
std::string process_name(const AdminProcess& p) {
  std::string name;
  for (const auto& s : p.services) name += (name.empty() ? "" : "+") + s;
  return name.empty() ? p.admin_url : name;
}

// The process by its services and its admin plane's URL ("catalog+provider at http://...").
std::string describe(const AdminProcess& p) {
  const auto name = process_name(p);
  return name == p.admin_url ? name : name + " at " + p.admin_url;
}

// A process that refuses the admin token the first one took holds another one: said as
// that, naming it. "X-Admin-Token is not this shop's admin token" told an operator whose token
// the gateway had just taken that it was wrong (an outside probe of a split shop).
AdminAnswer named_refusal(AdminAnswer a, const Deployment& d, const AdminProcess& p) {
  if (a.status != 401 || &p == &d.processes.front() || !a.body.is_object()) return a;
  const auto error = a.body.find("error");
  if (error == a.body.end() || !error->is_object() ||
      error->value("code", std::string()) != "invalid_admin_token")
    return a;
  json named = a.body;
  named["error"]["message"] = "the admin plane of " + describe(p) +
                              " refused the admin token that " + describe(d.processes.front()) +
                              " took: its secrets.admin_token differs (every process of a "
                              "shop holds the same one)";
  named["error"]["details"]["process"] = process_name(p);
  return with_body(401, std::move(named));
}

std::vector<AdminAnswer> to_all(const Deployment& d, const AdminSender& sender,
                                const std::string& method, const std::string& path,
                                const std::optional<json>& body) {
  std::vector<AdminAnswer> answers;
  for (const auto& p : d.processes) {
    try {
      answers.push_back(named_refusal(sender(p.admin_url, method, path, body), d, p));
    } catch (const http::TransportError& e) {
      // Which process did not answer, and where: "connect: Connection refused" alone was
      // blamed on the gateway the tool had named (an outside probe of a split shop).
      throw http::TransportError(e.kind(), "the admin plane of " + describe(p) + ": " + e.what());
    }
  }
  return answers;
}

// A request sent to every process, each tried whatever another did. A process that does not
// answer (or answers 5xx: stopping, or its own peers away) is named in `not_reached`; the
// others' answers are in `answers`, in the processes' order, with `reached` their processes.
struct Reach {
  std::vector<AdminAnswer> answers;
  std::vector<const AdminProcess*> reached;
  std::vector<std::string> not_reached;
};

Reach to_each(const Deployment& d, const AdminSender& sender, const std::string& method,
              const std::string& path, const std::optional<json>& body) {
  Reach r;
  for (const auto& p : d.processes) {
    try {
      auto a = named_refusal(sender(p.admin_url, method, path, body), d, p);
      if (a.status >= 500) {
        r.not_reached.push_back(process_name(p) + " (" + a.error_message() + ")");
        continue;
      }
      r.answers.push_back(std::move(a));
      r.reached.push_back(&p);
    } catch (const std::exception& e) {
      r.not_reached.push_back(process_name(p) + " (" + e.what() + ")");
    }
  }
  return r;
}

std::string joined(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : "; ") + n;
  return list;
}

// 503 for a fan-out some processes did not take: what happened, and which ones.
AdminAnswer unreachable(const Deployment& d, const std::string& what, const Reach& r,
                        std::vector<std::string> applied_in) {
  return with_body(503,
                   {{"error",
                     {{"code", "process_unreachable"},
                      {"message", what + " in " + std::to_string(applied_in.size()) + " of " +
                                      std::to_string(d.processes.size()) +
                                      " processes, not in: " + joined(r.not_reached)},
                      {"details", {{"applied_in", applied_in}, {"not_reached", r.not_reached}}}}}});
}

std::vector<std::string> names_of(const std::vector<const AdminProcess*>& processes) {
  std::vector<std::string> names;
  for (const auto* p : processes) names.push_back(process_name(*p));
  return names;
}

// POST /_admin/clock/advance on a split shop: every process is moved to one offset, the
// furthest any of them has reached plus `by`, with {"to_offset_ns": N}, which moves a process
// that is there already no further. Each process is tried whatever another did: the fan-out
// stopped at the first process that did not answer, the ones after it never moved, and a
// stopped process applied its "by" late when it resumed, so the processes' clocks stayed
// apart (every token expired at the gateway, every webhook was stale at payment) and each
// kept its own offset across a restart. "by 0s" brings every process to the furthest clock.
AdminAnswer advance_everywhere(const Deployment& d, const AdminSender& sender,
                               const std::string& full_path, const std::optional<json>& body) {
  const std::string& first = d.processes.front().admin_url;
  std::optional<std::chrono::nanoseconds> by;
  if (body && body->is_object() && body->size() == 1 && body->contains("by") &&
      (*body)["by"].is_string())
    by = parse_duration((*body)["by"].get<std::string>());
  // Anything else is the first process's to refuse, with its own words.
  if (!by || by->count() < 0) return sender(first, "POST", full_path, body);
  std::vector<std::string> moved, not_moved;
  std::int64_t furthest = -1;
  std::vector<const AdminProcess*> answering;
  for (const auto& p : d.processes) {
    try {
      auto a = sender(p.admin_url, "GET", "/_admin/clock", std::nullopt);
      const auto offset = a.body.is_object() ? a.body.find("offset_ns") : a.body.end();
      if (a.ok() && offset != a.body.end() && offset->is_number_integer()) {
        furthest = std::max(furthest, offset->get<std::int64_t>());
        answering.push_back(&p);
        continue;
      }
      not_moved.push_back(process_name(p) + " (" + a.error_message() + ")");
    } catch (const std::exception& e) {
      not_moved.push_back(process_name(p) + " (" + e.what() + ")");
    }
  }
  if (furthest < 0) {
    return with_body(503, {{"error",
                            {{"code", "process_unreachable"},
                             {"message", "no process of this shop said where its clock is"},
                             {"details", {{"not_moved", not_moved}}}}}});
  }
  if (by->count() > SimulatedClock::kMaxOffset.count() - furthest) {
    return with_body(400,
                     {{"error",
                       {{"code", "invalid_duration"},
                        {"message", "the clock can be at most 100 years ahead in all; it is " +
                                        std::to_string(furthest / 1'000'000) + " ms ahead now"},
                        {"details", {{"field", "by"}}}}}});
  }
  const std::int64_t target = furthest + by->count();
  std::optional<AdminAnswer> answer;
  for (const auto* p : answering) {
    try {
      auto a = sender(p->admin_url, "POST", full_path, json{{"to_offset_ns", target}});
      if (a.ok()) {
        moved.push_back(process_name(*p));
        if (!answer) answer = std::move(a);
        continue;
      }
      not_moved.push_back(process_name(*p) + " (" + a.error_message() + ")");
    } catch (const std::exception& e) {
      not_moved.push_back(process_name(*p) + " (" + e.what() + ")");
    }
  }
  if (not_moved.empty() && answer) return *answer;
  const std::string list = joined(not_moved);
  return with_body(
      503, {{"error",
             {{"code", "process_unreachable"},
              {"message", "the clock moved to " + std::to_string(target / 1'000'000) +
                              " ms ahead in " + std::to_string(moved.size()) + " of " +
                              std::to_string(d.processes.size()) + " processes, not in: " + list +
                              ". Advance by 0s once they answer: it brings every process to the "
                              "furthest clock"},
              {"details",
               {{"offset_ms", target / 1'000'000}, {"moved", moved}, {"not_moved", not_moved}}}}}});
}

// Adds the numbers of `from` into `into`, concatenates arrays; other values keep the first.
void merge_into(json& into, const json& from) {
  if (!into.is_object() || !from.is_object()) return;
  for (const auto& [key, value] : from.items()) {
    if (!into.contains(key)) {
      into[key] = value;
    } else if (into[key].is_number_integer() && value.is_number_integer()) {
      into[key] = into[key].get<std::int64_t>() + value.get<std::int64_t>();
    } else if (into[key].is_array() && value.is_array()) {
      for (const auto& v : value) into[key].push_back(v);
    } else if (into[key].is_object() && value.is_object()) {
      merge_into(into[key], value);
    }
  }
}

}  // namespace

std::string Deployment::admin_of(const std::string& service) const {
  for (const auto& p : processes) {
    if (std::find(p.services.begin(), p.services.end(), service) != p.services.end())
      return p.admin_url;
  }
  return {};
}

Deployment Deployment::from_services(const json& answer, const std::string& asked_url) {
  Deployment d;
  d.processes.push_back({asked_url, {}});
  if (!answer.is_object() || !answer.contains("items") || !answer["items"].is_array()) return d;
  for (const auto& item : answer["items"]) {
    if (!item.is_object() || !item.value("name", json()).is_string()) continue;
    auto name = item["name"].get<std::string>();
    auto url =
        item.value("url", json()).is_string() ? item["url"].get<std::string>() : std::string();
    auto admin =
        item.value("admin", json()).is_string() ? item["admin"].get<std::string>() : std::string();
    d.service_urls[name] = url;
    // Local items name the asked plane (or nothing, for an older shop); remote ones theirs,
    // or none known: then their own URL serves the per-process routes while they run.
    if (admin.empty()) admin = item.value("remote", false) ? url : asked_url;
    auto it = std::find_if(d.processes.begin(), d.processes.end(),
                           [&](const AdminProcess& p) { return p.admin_url == admin; });
    if (it == d.processes.end()) {
      d.processes.push_back({admin, {name}});
    } else {
      it->services.push_back(name);
    }
  }
  // The asked plane may be an alias of one listed (its gateway's URL): keep it only when it
  // runs something.
  if (d.processes.front().services.empty() && d.processes.size() > 1) {
    d.processes.erase(d.processes.begin());
    // The process of the service whose URL was asked goes first: it took the token (it
    // answered this list), and a refusal by another is named as that one's (named_refusal).
    // The list's first, the catalog, was taken for it, and its refusal of the token was said
    // as the operator's wrong token (an outside probe of a split shop).
    for (const auto& [service, url] : d.service_urls) {
      if (url != asked_url) continue;
      const std::string& name = service;
      auto asked = std::find_if(d.processes.begin(), d.processes.end(), [&](const AdminProcess& p) {
        return std::find(p.services.begin(), p.services.end(), name) != p.services.end();
      });
      if (asked != d.processes.end()) std::rotate(d.processes.begin(), asked, asked + 1);
      break;
    }
  }
  return d;
}

DeploymentFile load_deployment_file(const std::string& path) {
  auto fail = [&](const std::string& what) { return std::invalid_argument(path + ": " + what); };
  std::string text;
  try {
    text = read_input_file(path);
  } catch (const InputFileError& e) {
    throw fail(std::string("cannot read the deployment file: ") + e.what());
  }
  YAML::Node root;
  try {
    root = platform::load_yaml_document(text);
  } catch (const YAML::Exception& e) {
    throw fail("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw fail("expected a map with admin_token and services");
  if (const auto problems = platform::yaml_tree_problems(root); !problems.empty())
    throw fail("line " + std::to_string(problems.front().mark.line + 1) + ": " +
               problems.front().message);
  for (const auto& kv : root) {
    auto key = kv.first.Scalar();
    if (key != "admin_token" && key != "services")
      throw fail("unknown key '" + key + "' (admin_token, services)");
  }
  DeploymentFile file;
  if (root["admin_token"]) {
    if (!root["admin_token"].IsScalar()) throw fail("admin_token must be a string");
    file.admin_token = root["admin_token"].Scalar();
  }
  auto services = root["services"];
  if (!services || !services.IsMap() || services.size() == 0)
    throw fail("services must map each service to {url, admin}");
  json items = json::array();
  for (const auto& kv : services) {
    auto name = kv.first.Scalar();
    // A name the shop does not have, or a key it does not read, is a typo that would otherwise
    // surface as "cannot reach" the gateway, or not at all.
    // The shop's components (architecture::components()), the outside world excepted.
    const auto* component = architecture::find_component(name);
    if (!component || component->kind == architecture::ComponentKind::outside) {
      std::string names;
      for (const auto& each : architecture::components())
        if (each.kind != architecture::ComponentKind::outside)
          names += (names.empty() ? "" : ", ") + each.name;
      throw fail("services: unknown service '" + name + "' (" + names + ")");
    }
    std::string url, admin;
    if (kv.second.IsScalar()) {
      url = kv.second.Scalar();
    } else if (kv.second.IsMap() && kv.second["url"] && kv.second["url"].IsScalar()) {
      for (const auto& entry : kv.second) {
        const auto key = entry.first.Scalar();
        if (key != "url" && key != "admin")
          throw fail("services." + name + ": unknown key '" + key + "' (url, admin)");
      }
      url = kv.second["url"].Scalar();
      if (kv.second["admin"]) {
        if (!kv.second["admin"].IsScalar()) throw fail("services." + name + ".admin must be a URL");
        admin = kv.second["admin"].Scalar();
      }
    } else {
      throw fail("services." + name + " must be a URL or {url, admin}");
    }
    for (const auto* u : {&url, &admin}) {
      if (u->empty()) continue;
      if (auto why = http::base_url_problem(*u)) {
        throw fail("services." + name + ": '" + *u + "' is not a URL like http://10.0.0.2:7002 (" +
                   *why + ")");
      }
    }
    if (name == "gateway") file.gateway_url = url;
    items.push_back(
        {{"name", name}, {"url", url}, {"admin", admin.empty() ? url : admin}, {"remote", true}});
  }
  if (file.gateway_url.empty())
    throw fail("services.gateway is missing: the tools reach the shop through it");
  file.deployment = Deployment::from_services({{"items", items}}, file.gateway_url);
  return file;
}

namespace {
std::mutex remembered_mu;
std::map<std::string, Deployment>& remembered() {
  static std::map<std::string, Deployment> all;
  return all;
}
std::string trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}
}  // namespace

void remember_deployment(const std::string& gateway_url, const Deployment& deployment) {
  std::lock_guard lock(remembered_mu);
  remembered()[trimmed(gateway_url)] = deployment;
}

std::optional<Deployment> remembered_deployment(const std::string& gateway_url) {
  std::lock_guard lock(remembered_mu);
  auto it = remembered().find(trimmed(gateway_url));
  if (it == remembered().end()) return std::nullopt;
  return it->second;
}

bool AdminFanOut::handles(const std::string& method, std::string_view full_path) {
  auto path = path_only(full_path);
  if (path == "/_admin/services" || starts_with(path, "/_admin/services/")) return true;
  if (path == "/_admin/faults" || starts_with(path, "/_admin/faults/")) return true;
  if (path == "/_admin/clock/advance" && method == "POST") return true;
  if (path == "/_admin/calls" || path == "/_admin/edges") return method == "GET";
  if (path == "/_admin/reset" || path == "/_admin/baseline" || path == "/_admin/config")
    return method == "POST";
  return false;
}

AdminAnswer AdminFanOut::send(const Deployment& d, const AdminSender& sender,
                              const std::string& method, const std::string& full_path,
                              const std::optional<json>& body) {
  auto path = path_only(full_path);
  const std::string& first = d.processes.front().admin_url;
  std::unique_lock<std::mutex> changing;
  if (method != "GET" && method != "HEAD") changing = std::unique_lock(changes_mu_);
  if (starts_with(path, "/_admin/services/")) {
    // POST /_admin/services/{name}/{action}: the process that runs it.
    auto rest = path.substr(std::string_view("/_admin/services/").size());
    auto name = std::string(rest.substr(0, rest.find('/')));
    auto admin = d.admin_of(name);
    return sender(admin.empty() ? first : admin, method, full_path, body);
  }
  if (path == "/_admin/services") {
    auto answers = to_all(d, sender, method, full_path, body);
    // A process listed by its `url` alone (no admin plane: docs/deploy.md) serves its
    // services' own admin routes, not this shop-wide one: its 404 is left out, as the
    // gateway's process lists its services as remote ones. Before, `run --target` with such
    // a deployment file said the gateway was no shop's (an outside probe of separate hosts).
    const bool some_listed =
        std::any_of(answers.begin(), answers.end(), [](const AdminAnswer& a) { return a.ok(); });
    if (some_listed) {
      answers.erase(std::remove_if(answers.begin(), answers.end(),
                                   [](const AdminAnswer& a) { return a.status == 404; }),
                    answers.end());
    }
    if (auto* failed = first_failure(answers)) return *failed;
    // Each process lists its own services as they are, the others as where they are.
    std::map<std::string, json> by_name;
    std::vector<std::string> order;
    for (const auto& a : answers) {
      if (!a.body.contains("items") || !a.body["items"].is_array()) continue;
      for (const auto& item : a.body["items"]) {
        auto name = item.value("name", std::string());
        if (!by_name.count(name)) order.push_back(name);
        if (!by_name.count(name) || by_name[name].value("remote", false)) by_name[name] = item;
      }
    }
    json items = json::array();
    for (const auto& n : order) items.push_back(by_name[n]);
    return with_body(200, {{"items", items}});
  }
  if (path == "/_admin/calls") return calls_since(d, sender, full_path);
  if (path == "/_admin/faults" && method == "POST") {
    // One id in every process, so that it can be listed and removed as one fault. All or
    // nothing: it stopped at the first process that did not answer, and the ones before it
    // kept the fault, in effect behind a 503 that said it was not added (and sent again
    // without an id, it was there twice). Now a fault not taken everywhere is taken back.
    json fault = body.value_or(json::object());
    if (fault.is_object() && !fault.contains("id")) fault["id"] = "f-" + security::random_hex(6);
    auto r = to_each(d, sender, method, full_path, fault);
    const auto* refused = first_failure(r.answers);
    if (!refused && r.not_reached.empty()) return r.answers.front();
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < r.answers.size(); ++i) {
      if (!r.answers[i].ok() || !fault["id"].is_string()) continue;
      const auto& p = *r.reached[i];
      try {
        auto a = sender(p.admin_url, "DELETE",
                        "/_admin/faults/" + http::percent_encode(fault["id"].get<std::string>()),
                        std::nullopt);
        if (a.ok() || a.status == 404) continue;
      } catch (const std::exception&) {
      }
      kept.push_back(process_name(p));
    }
    // Refused (every process checks a fault alike): the refusal, in its own words.
    if (refused && kept.empty()) return *refused;
    std::string message = "the fault was not added";
    const std::string id = fault["id"].is_string() ? fault["id"].get<std::string>() : "";
    if (!r.not_reached.empty()) {
      message += ": " + joined(r.not_reached) + " did not answer; send it again once they do";
      // A process that did not answer in time may still read the request and keep the fault
      // when it answers again (a hung one, resumed): `fault list` then marks it as held by
      // some processes only (an outside probe: listed as live, applied nowhere it mattered).
      if (!id.empty())
        message +=
            ". One that did not answer may still take it when it does: `shopctl fault list` "
            "then marks " +
            id +
            " as held by some processes only; remove it with "
            "`shopctl fault clear " +
            id + "`";
    }
    if (!kept.empty()) message += "; it could not be taken back from " + joined(kept);
    return with_body(503, {{"error",
                            {{"code", "process_unreachable"},
                             {"message", message},
                             {"details", {{"not_reached", r.not_reached}, {"kept_in", kept}}}}}});
  }
  if (path == "/_admin/faults" && method == "GET") {
    auto answers = to_all(d, sender, method, full_path, body);
    if (auto* failed = first_failure(answers)) return *failed;
    std::map<std::string, json> by_id;
    std::map<std::string, std::vector<std::string>> held_by;
    std::vector<std::string> order;
    for (std::size_t i = 0; i < answers.size(); ++i) {
      const auto& a = answers[i];
      for (const auto& item : a.body.value("items", json::array())) {
        auto id = item.value("id", std::string());
        held_by[id].push_back(process_name(d.processes[i]));
        if (!by_id.count(id)) {
          order.push_back(id);
          by_id[id] = item;
          continue;
        }
        // The same fault in another process: its counts add up, and only its counts (every
        // integer used to, so an abort's status 502 read 3012 across six processes).
        for (const char* key : {"matched", "shadowed", "applied"}) {
          const auto value = item.find(key);
          if (value != item.end() && value->is_number_integer() &&
              by_id[id][key].is_number_integer()) {
            by_id[id][key] = by_id[id][key].get<std::int64_t>() + value->get<std::int64_t>();
          }
        }
      }
    }
    // A fault every process holds is the shop's; one held by some only (an add a process took
    // after it was reported not added, a process started again while it was added) applies
    // only where it is, and says where.
    json items = json::array();
    for (const auto& id : order) {
      if (held_by[id].size() < d.processes.size()) by_id[id]["only_in"] = held_by[id];
      items.push_back(by_id[id]);
    }
    return with_body(200, {{"items", items}});
  }
  if (starts_with(path, "/_admin/faults")) {
    // DELETE: removed wherever it is; found if any process had it. A process that does not
    // answer keeps it, and the answer says so (the removal can be sent again).
    auto r = to_each(d, sender, method, full_path, body);
    if (!r.not_reached.empty()) {
      std::vector<std::string> removed;
      for (std::size_t i = 0; i < r.answers.size(); ++i) {
        if (r.answers[i].ok()) removed.push_back(process_name(*r.reached[i]));
      }
      return unreachable(d, "removed", r, removed);
    }
    for (const auto& a : r.answers) {
      if (a.ok()) return a;
    }
    return r.answers.front();
  }
  if (path == "/_admin/edges") {
    auto answers = to_all(d, sender, method, full_path, body);
    if (auto* failed = first_failure(answers)) return *failed;
    json edges = json::object();
    std::int64_t violations = 0;
    for (const auto& a : answers) {
      violations += a.body.value("violations", std::int64_t{0});
      // Named: items() of a temporary would outlive it.
      const json listed = a.body.value("edges", json::object());
      for (const auto& [edge, stats] : listed.items()) {
        if (!edges.contains(edge)) {
          edges[edge] = stats;
          continue;
        }
        auto& e = edges[edge];
        for (const char* key : {"calls", "errors", "refused_by_breaker", "violations"}) {
          e[key] = e.value(key, std::int64_t{0}) + stats.value(key, std::int64_t{0});
        }
        // The slower process's p99 (the merged one needs the samples): an upper bound.
        e["p99_ms"] = std::max(e.value("p99_ms", 0.0), stats.value("p99_ms", 0.0));
      }
    }
    return with_body(200, {{"edges", edges}, {"violations", violations}});
  }
  if (path == "/_admin/clock/advance") return advance_everywhere(d, sender, full_path, body);
  // Reset, baseline and config apply in every process: each one tried whatever another did
  // (the fan-out stopped at the first process that did not answer, the ones after it never
  // reset), and a 503 names the ones that did not take it. Sent again, each is the same.
  auto r = to_each(d, sender, method, full_path, body);
  if (auto* failed = first_failure(r.answers)) return *failed;
  if (!r.not_reached.empty())
    return unreachable(d,
                       std::string(path.substr(std::string_view("/_admin/").size())) + " applied",
                       r, names_of(r.reached));
  auto& answers = r.answers;
  if (path == "/_admin/config") return answers.front();
  json merged = answers.front().body;
  for (std::size_t i = 1; i < answers.size(); ++i) {
    // The clock each reports is its own; the first one's stands.
    json next = answers[i].body;
    if (next.is_object()) next.erase("clock");
    merge_into(merged, next);
  }
  return with_body(answers.front().status, merged);
}

AdminAnswer AdminFanOut::calls_since(const Deployment& d, const AdminSender& sender,
                                     std::string_view full_path) {
  std::uint64_t since = 0;
  if (auto q = full_path.find("since="); q != std::string_view::npos) {
    auto digits = full_path.substr(q + 6);
    std::from_chars(digits.data(), digits.data() + digits.size(), since);
  }
  // since: 0 is everything; a number at or past half the range is "from now on" (the callers
  // ask for next_seq that way); else a position in the merged numbering.
  std::vector<std::uint64_t> per_process(d.processes.size(), 0);
  if (since >= UINT64_MAX / 2) {
    std::fill(per_process.begin(), per_process.end(), since);
  } else if (since > 0) {
    std::lock_guard lock(mu_);
    // Each process reads from the last cursor at or before `since` (from its first record when
    // there is none kept), and the records numbered below `since` are left out below: so any
    // number works as in one process (a record's seq + 1 too), not only a next_seq handed out.
    auto it = std::upper_bound(cursors_.begin(), cursors_.end(), since,
                               [](std::uint64_t v, const CallsCursor& c) { return v < c.value; });
    if (it != cursors_.begin() && std::prev(it)->per_process.size() == per_process.size()) {
      per_process = std::prev(it)->per_process;
    }
  }
  // `only` goes to every process, read as one process reads it (the first, decoded) and
  // encoded again; each process checks it.
  std::string only;
  {
    http::Request query;
    query.target = std::string(full_path);
    if (auto value = query.query_param("only")) only = "&only=" + http::percent_encode(*value);
  }
  std::vector<json> records_of(d.processes.size()), transitions_of(d.processes.size());
  std::vector<std::uint64_t> next(d.processes.size(), 0);
  bool dropped = false;             // some process's ring dropped records asked for
  std::uint64_t ring_capacity = 0;  // the smallest ring: what a reader may count on
  for (std::size_t i = 0; i < d.processes.size(); ++i) {
    auto a = sender(d.processes[i].admin_url, "GET",
                    "/_admin/calls?since=" + std::to_string(per_process[i]) + only, std::nullopt);
    if (!a.ok()) return a;
    next[i] = a.body.value("next_seq", std::uint64_t{0});
    dropped = dropped || a.body.value("dropped", false);
    const auto capacity = a.body.value("ring_capacity", std::uint64_t{0});
    if (i == 0 || capacity < ring_capacity) ring_capacity = capacity;
    take_items(a, records_of[i], transitions_of[i]);
  }
  // A process that restarted numbers its records from 0 again: asked from a position of its
  // earlier life, it answered nothing until its new records passed that number, and a reader
  // with a cursor (the console, a run's `calls:`) never saw the restarted service's calls (an
  // outside probe). Such a process is read from its first record again.
  bool restarted = false;
  if (since > 0 && since < UINT64_MAX / 2) {
    for (std::size_t i = 0; i < d.processes.size(); ++i) {
      if (next[i] >= per_process[i]) continue;
      auto a =
          sender(d.processes[i].admin_url, "GET", "/_admin/calls?since=0" + only, std::nullopt);
      if (!a.ok()) return a;
      restarted = true;
      next[i] = a.body.value("next_seq", std::uint64_t{0});
      take_items(a, records_of[i], transitions_of[i]);
    }
  }
  std::uint64_t merged_next = 0;
  json records = json::array(), transitions = json::array();
  if (restarted) {
    // A new numbering from here on: the cursors handed out before name positions of a life
    // that ended. This read's records follow every number handed out before, in order.
    std::lock_guard lock(mu_);
    std::uint64_t seq = std::max(since, cursors_.empty() ? 0 : cursors_.back().value + 1);
    cursors_.clear();
    for (std::size_t i = 0; i < d.processes.size(); ++i) {
      for (auto& r : records_of[i]) {
        r["seq"] = seq++;
        records.push_back(std::move(r));
      }
      for (auto& t : transitions_of[i]) {
        t["seq"] = seq++;
        transitions.push_back(std::move(t));
      }
    }
    cursors_.push_back({seq, next});
    merged_next = seq;
  } else {
    std::lock_guard lock(mu_);
    // Nothing new since the last cursor: the same cursor (it went up by one on every read).
    if (cursors_.empty() || cursors_.back().per_process != next) {
      // Positions of another set of processes mean nothing here (and would be read past
      // their end): the numbering starts again.
      if (!cursors_.empty() && cursors_.back().per_process.size() != next.size()) cursors_.clear();
      if (cursors_.size() >= kMaxCursors)
        cursors_.erase(cursors_.begin(), cursors_.begin() + kMaxCursors / 2);
      std::uint64_t total = 0;
      for (auto n : next) total = n > UINT64_MAX - total ? UINT64_MAX : total + n;
      // Values only go up: a process that restarted numbers its records from 0 again.
      if (!cursors_.empty() && total <= cursors_.back().value) total = cursors_.back().value + 1;
      cursors_.push_back({total, next});
    }
    merged_next = cursors_.back().value;
    // A record's `seq` in the merged numbering: the value of the last cursor handed out before
    // it, plus its place among the records between that cursor and the next one (by process,
    // then by its own seq). So "seq >= cursor" means "recorded at or after that cursor", as it
    // does for one process, and no two records share a number (they did: every record between
    // two cursors had the earlier one's). Cursors only move forward: a process's records are
    // numbered from 0 again after it restarts, which a merged cursor taken before cannot tell.
    const auto gap = [](std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; };
    const CallsCursor origin{0, std::vector<std::uint64_t>(d.processes.size(), 0)};
    auto renumber = [&](json& item, std::size_t i) {
      auto local = item.value("seq", std::uint64_t{0});
      auto next_cursor = std::upper_bound(
          cursors_.begin(), cursors_.end(), local,
          [i](std::uint64_t s, const CallsCursor& c) { return s < c.per_process[i]; });
      const auto& earlier = next_cursor == cursors_.begin() ? origin : *std::prev(next_cursor);
      std::uint64_t place = gap(local, earlier.per_process[i]);
      if (next_cursor != cursors_.end()) {
        for (std::size_t p = 0; p < i; ++p)
          place += gap(next_cursor->per_process[p], earlier.per_process[p]);
      }
      auto seq = earlier.value + place;
      if (next_cursor != cursors_.end() && seq >= next_cursor->value) seq = next_cursor->value - 1;
      item["seq"] = seq;
    };
    const std::uint64_t lowest = since < UINT64_MAX / 2 ? since : 0;
    for (std::size_t i = 0; i < d.processes.size(); ++i) {
      for (auto& r : records_of[i]) {
        renumber(r, i);
        if (r["seq"].get<std::uint64_t>() >= lowest) records.push_back(std::move(r));
      }
      for (auto& t : transitions_of[i]) {
        renumber(t, i);
        if (t["seq"].get<std::uint64_t>() >= lowest) transitions.push_back(std::move(t));
      }
    }
  }
  auto by_time = [](const json& a, const json& b) {
    return a.value("at_ms", 0.0) < b.value("at_ms", 0.0);
  };
  std::stable_sort(records.begin(), records.end(), by_time);
  std::stable_sort(transitions.begin(), transitions.end(), by_time);
  // One ring's worth, the newest, as one process answers: the answer was every process's ring
  // end to end (75,636 records under a "ring_capacity" of 20,000, 23 MB, and the gateway's
  // process held 340 MB after building it; an outside probe). Those left out are `dropped`.
  if (ring_capacity > 0 && records.size() > ring_capacity) {
    records.erase(records.begin(),
                  records.begin() + static_cast<std::ptrdiff_t>(records.size() - ring_capacity));
    dropped = true;
  }
  json answer = json::object();
  answer["next_seq"] = merged_next;
  answer["records"] = std::move(records);
  answer["transitions"] = std::move(transitions);
  answer["dropped"] = dropped;
  answer["ring_capacity"] = ring_capacity;
  return with_body(200, std::move(answer));
}

}  // namespace shopctl::platform
