#include "scenario/runner.hpp"
#include "scenario/url_encoding.hpp"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "platform/admin_client.hpp"
#include "platform/admin_fanout.hpp"
#include "platform/duration.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/server.hpp"
#include "platform/input_file.hpp"
#include "platform/json_text.hpp"
#include "platform/security/random.hpp"
#include "platform/service.hpp"
#include "platform/text_rules.hpp"
#include "platform/yaml_json.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/isolation.hpp"
#include "scenario/json_schema.hpp"
#include "services/catalog/catalog_model.hpp"
#include "services/gateway/openapi_description.hpp"
#include "shop/shop.hpp"

namespace shopctl::scenario {

namespace {

// The folder a scenario's relative paths (its `config:`'s catalog.file) are read from: the
// scenario file's own, absolute, so that a run gives the same result from any folder.
std::filesystem::path scenario_folder(const std::string& file) {
  if (file.empty() || file == "-") return {};
  std::error_code ec;
  auto absolute = std::filesystem::absolute(file, ec);
  return ec ? std::filesystem::path(file).parent_path() : absolute.parent_path();
}

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::size_t kBodyExcerpt = 400;
// The call records a failure lists (a step of 20,000 calls printed every one of them); the
// rest are counted ("... 19980 more"), and the JSON report has them all.
constexpr std::size_t kListedRecords = 20;

// The records a failure lists, one per line: the first kListedRecords, then "... N more".
class RecordListing {
 public:
  // Whether it lists no more records: a caller builds a record's line only when not.
  bool full() const { return listed_ == kListedRecords; }
  void add(const std::string& line) {
    if (full()) {
      skip();
      return;
    }
    text_ += "\n      " + line;
    ++listed_;
  }
  void skip() { ++more_; }
  std::string text() const {
    return more_ == 0 ? text_ : text_ + "\n      ... " + std::to_string(more_) + " more";
  }

 private:
  std::string text_;
  std::size_t listed_ = 0;
  std::size_t more_ = 0;
};

std::string trim_body(const std::string& body) {
  if (body.size() <= kBodyExcerpt) return body;
  return body.substr(0, kBodyExcerpt) + "... (" + std::to_string(body.size()) + " bytes)";
}

// Whether two absolute URLs have the same origin: scheme, host and port (80 when not given),
// letter case aside. What cannot be parsed has no origin, and matches nothing.
bool same_origin(std::string_view a, std::string_view b) {
  auto one = boost::urls::parse_absolute_uri(a);
  auto two = boost::urls::parse_absolute_uri(b);
  if (!one || !two) return false;
  auto port = [](const boost::urls::url_view& u) -> std::uint32_t {
    if (u.has_port()) return u.port_number();
    return http::iequals(u.scheme(), "https") ? 443 : 80;
  };
  return http::iequals(one->scheme(), two->scheme()) &&
         http::iequals(one->encoded_host(), two->encoded_host()) && port(*one) == port(*two);
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The JSON of an admin answer (parsed once, by send_admin_request); throws as json::parse
// does when the answer was not JSON (or std::runtime_error when a NUL byte made it not JSON:
// json::parse would read the text before it).
json json_of(platform::AdminAnswer& answer) {
  if (answer.body.is_discarded()) {
    if (answer.raw.find('\0') == std::string::npos) return json::parse(answer.raw);
    throw std::runtime_error("the answer is not JSON: it holds a NUL byte");
  }
  return std::move(answer.body);
}

// Thrown when the scenario's deadline has passed.
struct ScenarioTimeout {};
// A var of `vars:` could not be expanded; its failure is in the result already.
struct VarsFailed {};

// A step that could not be carried out at all (not an expectation that failed).
struct StepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A request that got no answer (refused, reset, timed out): under `eventually`, an attempt
// that did not hold, and tried again.
struct NoAnswer : StepError {
  using StepError::StepError;
};

// Another run took the shop's run lease after this run's ran out: the shop refuses this run's
// admin requests (409 lease_lost). Not a step's failure: the scenario is the shop's error
// (exit 3), as the shop cannot be used by this run any more.
struct LeaseLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

platform::AdminAnswer refuse_lost_lease(platform::AdminAnswer answer) {
  if (answer.status == 409 && answer.body.is_object() && answer.body.contains("error") &&
      answer.body["error"].is_object() && answer.body["error"].value("code", "") == "lease_lost")
    throw LeaseLost(answer.body["error"].value("message", "this run lost the shop's lease"));
  return answer;
}

// How the runner reaches one shop: base URLs, the admin token, and how to stop and start
// a service. In-process shops are stopped through the Shop object; remote ones through the
// gateway's admin plane.
class ShopDriver {
 public:
  ShopDriver(std::string gateway_url, std::string admin_token, shop::Shop* local,
             std::string lease_holder = {})
      : gateway_url_(std::move(gateway_url)),
        admin_token_(std::move(admin_token)),
        lease_holder_(std::move(lease_holder)),
        local_(local) {}

  void discover(http::BlockingClient& client) {
    auto res = admin(client, "GET", "/_admin/services", std::nullopt, std::chrono::seconds(5));
    if (res.status != 200) {
      throw std::runtime_error("the shop's admin plane answered " + std::to_string(res.status) +
                               " to GET /_admin/services (wrong --admin-token?)");
    }
    auto j = json_of(res);
    // Something else on the port that answers 200 with JSON: said so, not in the JSON
    // library's words ("[json.exception.out_of_range.403] key 'url' not found"; an outside
    // probe of the public API).
    std::optional<platform::Deployment> described;
    try {
      for (const auto& item : j.at("items"))
        urls_[item.at("name").get<std::string>()] = item.at("url").get<std::string>();
      gateway_instance_ = gateway_instance(j);
      described = platform::Deployment::from_services(j, gateway_url_);
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error(
          "GET /_admin/services answered 200, but not as a shopctl admin "
          "plane answers: is " +
          gateway_url_ + " a shopctl gateway?");
    }
    // A shop split over processes: the shop-wide admin requests fan out (docs/deploy.md).
    auto deployment = platform::remembered_deployment(gateway_url_).value_or(std::move(*described));
    if (deployment.split()) deployment_ = std::move(deployment);
    // A shop without the route (older) leaves ${provider_api_key} undefined at run time. In a
    // split shop only the payment and provider processes hold the key (docs/deploy.md).
    // The route is the process's (its admin plane), not a service's.
    for (const char* holder : {"gateway", "payment", "provider"}) {
      const std::string plane = deployment_ ? deployment_->admin_of(holder) : std::string();
      if (std::string_view(holder) != "gateway" && plane.empty()) continue;
      try {
        auto key = plane.empty()
                       ? admin(client, "GET", "/_admin/provider-api-key", std::nullopt,
                               std::chrono::seconds(5), holder)
                       : platform::send_admin_request(client, plane + "/_admin/provider-api-key",
                                                      admin_token_, "GET", std::nullopt,
                                                      std::chrono::seconds(5), true, lease_holder_);
        const auto& body = key.body;
        if (key.status == 200 && body.is_object() &&
            body.value("provider_api_key", json()).is_string()) {
          provider_api_key_ = body["provider_api_key"].get<std::string>();
          break;
        }
      } catch (const StepError&) {
        // That process is down or unreachable: the next may answer.
      } catch (const http::TransportError&) {
      }
    }
  }

  const std::optional<std::string>& provider_api_key() const { return provider_api_key_; }

  // The gateway process's start id in a GET /_admin/services answer; empty when it has none
  // (an older shop).
  static std::string gateway_instance(const json& services) {
    if (!services.is_object() || !services.contains("items") || !services["items"].is_array())
      return "";
    for (const auto& item : services["items"]) {
      if (item.is_object() && item.value("name", "") == "gateway" &&
          item.value("instance", json()).is_string())
        return item["instance"].get<std::string>();
    }
    return "";
  }
  // The gateway's start id when the scenario began (discover()).
  const std::string& gateway_instance() const { return gateway_instance_; }

  std::string url(const std::string& service) const {
    if (service == "gateway") return gateway_url_;
    auto it = urls_.find(service);
    if (it == urls_.end()) throw StepError("the shop has no service '" + service + "'");
    return it->second;
  }

  // An admin request; tries the gateway first, then any other service (they share the
  // shop-wide clock, faults and call records), so the plane works while one is down.
  platform::AdminAnswer admin(http::BlockingClient& client, const std::string& method,
                              const std::string& path, const std::optional<json>& body,
                              std::chrono::nanoseconds timeout, const std::string& service = "") {
    if (deployment_ && (service.empty() || service == "gateway") &&
        platform::AdminFanOut::handles(method, path)) {
      platform::AdminSender sender = [&](const std::string& base, const std::string& m,
                                         const std::string& p, const std::optional<json>& b) {
        return platform::send_admin_request(client, base + p, admin_token_, m, b, timeout, true,
                                            lease_holder_);
      };
      try {
        return refuse_lost_lease(fanout_->send(*deployment_, sender, method, path, body));
      } catch (const http::TransportError& e) {
        throw StepError("a process of the shop's admin plane is unreachable: " +
                        std::string(e.what()));
      }
    }
    std::vector<std::string> order;
    if (!service.empty())
      order.push_back(service);
    else {
      order = {"gateway", "catalog", "auth", "order", "payment", "provider"};
    }
    // Another service's admin plane is tried when one refuses the connection (a scenario
    // stopped it), all within `timeout`. One that does not answer in time is the shop's process
    // not answering, which the next one shares: each was given the whole timeout, so a hung
    // target held every step for 6 x 5 s and a 4 s scenario ran for two minutes (an outside
    // probe).
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<http::TransportError> last;
    for (const auto& s : order) {
      if (s != "gateway" && !urls_.count(s)) continue;
      const auto left = deadline - std::chrono::steady_clock::now();
      if (last && left <= std::chrono::nanoseconds(0)) break;
      try {
        return refuse_lost_lease(platform::send_admin_request(
            client, url(s) + path, admin_token_, method, body,
            std::max<std::chrono::nanoseconds>(left, std::chrono::milliseconds(1)), true,
            lease_holder_));
      } catch (const http::TransportError& e) {
        last = e;
        if (!service.empty() || e.kind() == http::TransportErrorKind::timeout) break;
      }
    }
    throw StepError("the shop's admin plane is unreachable: " +
                    std::string(last ? last->what() : "no service"));
  }

  // Stops, starts, crashes or restarts `service`; against a running shop, within `timeout`.
  void control(http::BlockingClient& client, const std::string& action, const std::string& service,
               std::chrono::nanoseconds timeout) {
    if (local_) {
      if (action == "stop")
        local_->stop_service(service);
      else if (action == "start")
        local_->start_service(service);
      else if (action == "crash")
        local_->crash_service(service);
      else
        local_->restart_service(service);
      return;
    }
    auto res = admin(client, "POST", "/_admin/services/" + service + "/" + action, std::nullopt,
                     timeout, "gateway");
    if (res.status != 200) throw StepError(action + " " + service + " failed: " + res.raw);
  }

 private:
  std::string gateway_url_;
  std::string admin_token_;
  std::string lease_holder_;
  shop::Shop* local_;
  std::map<std::string, std::string> urls_;
  std::optional<std::string> provider_api_key_;
  std::string gateway_instance_;
  std::optional<platform::Deployment> deployment_;  // a shop split over processes
  std::shared_ptr<platform::AdminFanOut> fanout_ = std::make_shared<platform::AdminFanOut>();
};

// The pay link of each order, as the answers of the scenario showed it (checkout's 201, an
// order, the order list): a shopper keeps the link they were given, and pays with it even
// while the order service is down. Shared by the steps of a concurrently block.
class PayLinks {
 public:
  // Remembers `payment.pay_url` of an order object, or of each item of an order list.
  void learn(const json& body) {
    if (!body.is_object()) return;
    learn_order(body);
    if (auto items = body.find("items"); items != body.end() && items->is_array()) {
      for (const auto& item : *items) learn_order(item);
    }
  }
  std::optional<std::string> find(const std::string& order_id) const {
    std::lock_guard lock(mu_);
    auto it = links_.find(order_id);
    if (it == links_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void learn_order(const json& order) {
    if (!order.is_object()) return;
    auto id = order.find("order_id");
    auto payment = order.find("payment");
    if (id == order.end() || !id->is_string() || payment == order.end() || !payment->is_object())
      return;
    auto url = payment->find("pay_url");
    if (url == payment->end() || !url->is_string()) return;
    std::lock_guard lock(mu_);
    links_[id->get<std::string>()] = url->get<std::string>();
  }

  mutable std::mutex mu_;
  std::map<std::string, std::string> links_;
};

// The trace ids of the scenario's own requests, against a running shop: the ids the runner
// sent in `traceparent` (its own, or one the scenario wrote) and every X-Trace-Id answered.
// The shop's background work continues the trace of the request that created its subject
// (docs/money.md), so a call record with one of these ids is this scenario's; the others are
// other scenarios' (or operators'). Shared by the steps of a concurrently block.
class OwnTraces {
 public:
  void add(std::string trace_id) {
    if (trace_id.empty()) return;
    std::lock_guard lock(mu_);
    ids_.insert(std::move(trace_id));
  }
  bool contains(const std::string& trace_id) const {
    std::lock_guard lock(mu_);
    return ids_.count(trace_id) != 0;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> ids_;
};

struct Response {
  int status = 0;
  http::Headers headers;
  std::string body;
  std::optional<json> json_body;  // parsed once, when the body is JSON
  std::chrono::nanoseconds latency{0};
  std::string trace_id;
  std::string method;  // of the request, for the schema check
  std::string url;
};

class ScenarioRun {
 public:
  ScenarioRun(const Scenario& scenario, ShopDriver& driver, http::BlockingClient& client,
              Clock::time_point deadline, const RunOptions& options)
      : sc_(scenario), driver_(driver), client_(client), deadline_(deadline), options_(options) {}

  ScenarioResult run() {
    ScenarioResult result;
    result.name = sc_.name;
    result.file = sc_.file;
    result.tags = sc_.tags;
    auto started = Clock::now();
    try {
      vars_.set(std::string(kRunIdVariable), security_run_id());
      if (driver_.provider_api_key())
        vars_.set(std::string(kProviderApiKeyVariable), *driver_.provider_api_key());
      for (const auto& [name, value] : options_.vars) vars_.set(name, value);
      // The scenario's own vars, each reported at its line when it cannot be expanded (an
      // unset ${env.X} was reported at the file's 1:1). --var wins over a var of that name.
      for (std::size_t i = 0; i < sc_.vars.size(); ++i) {
        const auto& [name, value] = sc_.vars[i];
        if (options_.vars.count(name)) continue;
        try {
          vars_.define({{name, value}});
        } catch (const InterpolationError& e) {
          const auto& at = i < sc_.var_locs.size() ? sc_.var_locs[i] : sc_.loc;
          result.status = ScenarioStatus::failed;
          result.failures.push_back({"scenario", "", at, "var '" + name + "': " + e.what()});
          throw VarsFailed{};
        }
      }
      start_seq_ = next_seq();
      step_cursor_ = start_seq_;
      violations_at_start_ = violations_total();
      bool setup_ok = run_phase("setup", sc_.setup, result);
      bool steps_ok = setup_ok && run_phase("steps", sc_.steps, result);
      if (!setup_ok)
        result.status = ScenarioStatus::setup_failed;
      else if (!steps_ok)
        result.status = ScenarioStatus::failed;
      // Teardown always runs and sees every capture.
      if (!run_phase("teardown", sc_.teardown, result) && result.status == ScenarioStatus::passed)
        result.status = ScenarioStatus::failed;
    } catch (const ScenarioTimeout&) {
      result.status = ScenarioStatus::timed_out;
      const std::string message =
          "the scenario passed its timeout of " + platform::format_duration(sc_.timeout);
      if (timed_out_in_) {
        result.failures.push_back({timed_out_in_->phase, timed_out_in_->step, timed_out_in_->where,
                                   message + " during this step"});
      } else {
        result.failures.push_back({"scenario", "", sc_.loc, message});
      }
      safe_teardown_after_timeout(result);
    } catch (const InterpolationError& e) {
      result.status = ScenarioStatus::failed;
      result.failures.push_back({"scenario", "", sc_.loc, e.what()});
    } catch (const VarsFailed&) {
      // Reported at the var's line above.
    } catch (const LeaseLost& e) {
      result.status = ScenarioStatus::shop_error;
      result.error = e.what();
      result.failures.push_back({"scenario", "", sc_.loc, e.what()});
    } catch (const std::exception& e) {
      result.status = ScenarioStatus::shop_error;
      result.error = e.what();
      result.failures.push_back(
          {"scenario", "", sc_.loc, std::string("runner error: ") + e.what()});
    }
    // Every call of the scenario, and the architecture rule: no violations unless allowed.
    try {
      auto records = calls_since(start_seq_, std::chrono::seconds(5));
      result.calls = records.at("records");
      result.transitions = records.at("transitions");
      std::vector<std::string> violations;
      for (const auto& r : result.calls) {
        if (r.value("violation", false) && own(r)) {
          violations.push_back(
              r.at("edge").get<std::string>() + " " + r.at("method").get<std::string>() + " " +
              r.at("route").get<std::string>() + " (" + r.value("violation_reason", "") + ")");
        }
      }
      // The ring dropped records of this scenario: the violations among them are counted by
      // the shop's exact total instead (in-process, the shop is the scenario's own; against a
      // running shop the total holds other runs' too, and is reported as such).
      std::uint64_t unlisted = 0;
      if (records.value("dropped", false) && violations_at_start_) {
        if (const auto now = violations_total(); now && *now >= *violations_at_start_ &&
                                                 *now - *violations_at_start_ > violations.size())
          unlisted = *now - *violations_at_start_ - violations.size();
      }
      if (unlisted > 0 && !sc_.allow_violations) {
        result.failures.push_back(
            {"scenario", "", sc_.loc,
             std::to_string(unlisted) + " architecture violation(s) " +
                 (options_.target ? "recorded by the shop during this scenario (its own or "
                                    "another run's)"
                                  : "recorded") +
                 " whose call records the shop's call log dropped (it keeps only the last " +
                 std::to_string(records.value("ring_capacity", std::uint64_t{0})) +
                 "); set allow_violations: true if the scenario attempts them on purpose"});
        if (result.status == ScenarioStatus::passed) result.status = ScenarioStatus::failed;
      }
      if (!violations.empty() && !sc_.allow_violations) {
        RecordListing list;
        for (const auto& violation : violations) list.add(violation);
        result.failures.push_back(
            {"scenario", "", sc_.loc,
             std::to_string(violations.size()) +
                 " architecture violation(s) recorded (set allow_violations: true "
                 "if the scenario attempts them on purpose):" +
                 list.text()});
        if (result.status == ScenarioStatus::passed) result.status = ScenarioStatus::failed;
      }
    } catch (const std::exception& e) {
      if (result.status == ScenarioStatus::passed) {
        result.status = ScenarioStatus::shop_error;
        result.error = e.what();
      }
    }
    result.duration_ms = ms_since(started);
    return result;
  }

 private:
  static std::string security_run_id() { return platform::security::random_hex(4); }

  void check_deadline() const {
    if (Clock::now() >= deadline_) throw ScenarioTimeout{};
  }

  std::chrono::nanoseconds remaining() const {
    auto left = deadline_ - Clock::now();
    if (left <= std::chrono::nanoseconds(0)) throw ScenarioTimeout{};
    return left;
  }

  // The time limit of a request a step makes: its own, cut to what is left of the scenario's
  // timeout. Throws ScenarioTimeout when nothing is left.
  std::chrono::nanoseconds within(std::chrono::nanoseconds own) const {
    return std::min(own, remaining());
  }

  // Whether a call record counts for this scenario's expectations: in-process every record
  // does (the shop is the scenario's own); against a running shop only those of its own traces.
  bool own(const json& record) const {
    if (!options_.target) return true;
    auto trace = record.find("trace_id");
    return trace != record.end() && trace->is_string() &&
           own_traces_->contains(trace->get<std::string>());
  }

  std::uint64_t next_seq(std::chrono::nanoseconds timeout = std::chrono::seconds(5)) {
    auto j = calls_since(UINT64_MAX / 2, timeout);
    return j.at("next_seq").get<std::uint64_t>();
  }

  json calls_since(std::uint64_t seq, std::chrono::nanoseconds timeout,
                   const std::string& more_query = "") {
    auto res =
        driver_.admin(client_, "GET", "/_admin/calls?since=" + std::to_string(seq) + more_query,
                      std::nullopt, timeout);
    if (res.status != 200)
      throw StepError("GET /_admin/calls answered " + std::to_string(res.status));
    return json_of(res);
  }

  // The shop's count of architecture violations since it started (GET /_admin/edges): exact,
  // where the call records are a ring that may have dropped some. Nothing when unknown.
  std::optional<std::uint64_t> violations_total() {
    try {
      auto res =
          driver_.admin(client_, "GET", "/_admin/edges", std::nullopt, std::chrono::seconds(5));
      const auto body = json_of(res);
      if (res.status == 200 && body.is_object() && body.contains("violations") &&
          body["violations"].is_number_unsigned())
        return body["violations"].get<std::uint64_t>();
    } catch (const std::exception&) {
    }
    return std::nullopt;
  }

  void safe_teardown_after_timeout(ScenarioResult& result) {
    // Give teardown a short grace period of its own. A teardown the deadline cut short goes on
    // after the step that was running; its earlier steps do not run twice.
    deadline_ = Clock::now() + std::chrono::seconds(5);
    const auto first = std::min(teardown_next_, sc_.teardown.size());
    const std::vector<Step> rest(sc_.teardown.begin() + static_cast<std::ptrdiff_t>(first),
                                 sc_.teardown.end());
    try {
      run_phase("teardown", rest, result);
    } catch (const ScenarioTimeout&) {
      // Said, with the teardown steps that never ran: the step the grace ran out in was
      // reported failed with no reason, and the steps after it (a clear_faults among them) were
      // in no report (an outside probe).
      std::string not_run;
      for (std::size_t i = std::min(teardown_next_, sc_.teardown.size()); i < sc_.teardown.size();
           ++i) {
        not_run += (not_run.empty() ? "" : ", ") + step_label(sc_.teardown[i]) + " (line " +
                   std::to_string(sc_.teardown[i].loc.line) + ")";
      }
      const std::string message =
          "the teardown's 5 s grace after the scenario's timeout ran out during this step" +
          (not_run.empty() ? std::string() : "; not run: " + not_run);
      if (timed_out_in_ && timed_out_in_->phase == "teardown") {
        Failure f{"teardown", timed_out_in_->step, timed_out_in_->where, message};
        if (!result.steps.empty() && result.steps.back().phase == "teardown")
          result.steps.back().failures.push_back(f);
        result.failures.push_back(std::move(f));
      }
    } catch (...) {
    }
  }

  bool run_phase(const std::string& phase, const std::vector<Step>& steps, ScenarioResult& result) {
    bool ok = true;
    for (const auto& step : steps) {
      if (phase == "teardown") ++teardown_next_;
      StepResult sr;
      try {
        sr = run_step(phase, step);
      } catch (const ScenarioTimeout&) {
        // Keep the step that was running when the deadline passed, so the report says where,
        // with what it did until then when run_step kept it.
        StepResult cut;
        if (cut_step_ && cut_step_->loc.line == step.loc.line &&
            cut_step_->loc.file == step.loc.file) {
          cut = std::move(*cut_step_);
        }
        cut_step_.reset();
        cut.phase = phase;
        cut.label = step_label(step);
        cut.action = std::string(action_name(step.action));
        cut.loc = step.loc;
        cut.passed = false;
        timed_out_in_ = Failure{phase, cut.label, step.loc, ""};
        result.steps.push_back(std::move(cut));
        throw;
      }
      // The deadline passed while this step ran, though nothing in it noticed (its last request
      // answered just in time, or its bookkeeping took the rest): this step timed out, even
      // when it was the last one.
      if (Clock::now() >= deadline_) {
        sr.passed = false;
        for (const auto& f : sr.failures) result.failures.push_back(f);
        timed_out_in_ = Failure{phase, sr.label, step.loc, ""};
        result.steps.push_back(std::move(sr));
        throw ScenarioTimeout{};
      }
      if (!sr.passed) {
        for (const auto& f : sr.failures) result.failures.push_back(f);
        ok = false;
      }
      result.steps.push_back(std::move(sr));
      if (!ok && phase != "teardown") break;  // teardown runs every step regardless
    }
    return ok;
  }

  StepResult run_step(const std::string& phase, const Step& step) {
    check_deadline();
    StepResult sr;
    sr.phase = phase;
    sr.label = step_label(step);
    sr.action = std::string(action_name(step.action));
    sr.loc = step.loc;
    auto started = Clock::now();
    std::uint64_t step_seq = 0;
    std::vector<std::string> step_fault_ids;
    auto fail = [&](SourceLocation where, std::string message, const Response* r = nullptr) {
      Failure f{phase, sr.label, std::move(where), std::move(message)};
      if (r) {
        f.status = r->status;
        f.body = trim_body(r->body);
        f.trace_id = r->trace_id;
      }
      sr.failures.push_back(std::move(f));
      sr.passed = false;
    };
    try {
      step_seq = next_seq(within(std::chrono::seconds(5)));
      for (const auto& fault : step.faults) step_fault_ids.push_back(add_fault(fault));

      if (const auto* block = std::get_if<ConcurrentAction>(&step.action)) {
        run_concurrently(step, *block, sr, fail);
        if (step.expect) check_shop_expectations(*step.expect, step_seq, sr, fail, nullptr);
      } else if (has_response(step.action)) {
        run_response_step(step, sr, fail);
      } else {
        run_control_step(step, sr);
        ++sr.attempts;
        if (step.expect) check_shop_expectations(*step.expect, step_seq, sr, fail, nullptr);
      }
    } catch (const ScenarioTimeout&) {
      remove_faults(step_fault_ids);
      // What the step did until the deadline cut it: its requests (the one in flight with its
      // transport error) and how long it ran. The report showed 0 ms and no request.
      sr.passed = false;
      sr.duration_ms = ms_since(started);
      if (options_.verbose) {  // -v prints every step, the one the deadline cut too
        std::fprintf(stderr, "    %sFAIL %s: %s (%.1f ms, cut by the scenario's timeout)\n",
                     verbose_prefix().c_str(), phase.c_str(),
                     platform::terminal_text(sr.label, true).c_str(), sr.duration_ms);
      }
      cut_step_ = std::move(sr);
      throw;
    } catch (const LeaseLost&) {
      throw;  // the scenario's end: no step of it can use the shop any more
    } catch (const InterpolationError& e) {
      fail(step.loc, e.what());
    } catch (const StepError& e) {
      fail(step.loc, e.what());
    } catch (const http::TransportError& e) {
      fail(step.loc, std::string("no answer: ") + e.what());
    } catch (const std::exception& e) {
      fail(step.loc, std::string("the step could not run: ") + e.what());
    }
    remove_faults(step_fault_ids);
    // What the shop recorded during the step, for the JSON report and the graph.
    try {
      auto j = calls_since(step_seq, bookkeeping_time());
      sr.calls = j.at("records");
      sr.transitions = j.at("transitions");
    } catch (const std::exception&) {
    }
    step_cursor_ = next_seq_or(step_cursor_);
    sr.duration_ms = ms_since(started);
    if (options_.verbose) {
      // The label is the scenario author's text: printed with its control characters escaped.
      std::fprintf(stderr, "    %s%s %s: %s (%.1f ms)\n", verbose_prefix().c_str(),
                   sr.passed ? "ok  " : "FAIL", phase.c_str(),
                   platform::terminal_text(sr.label, true).c_str(), sr.duration_ms);
    }
    return sr;
  }

  // -v's step lines of scenarios that run side by side interleave: each then names its
  // scenario ("[checkout and pay] ok   steps: ..."); one at a time (--jobs 1) they need not.
  std::string verbose_prefix() const {
    if (options_.jobs == 1) return "";
    return "[" + platform::terminal_text(sc_.name, true) + "] ";
  }

  std::uint64_t next_seq_or(std::uint64_t fallback) {
    try {
      return next_seq(bookkeeping_time());
    } catch (const std::exception&) {
      return fallback;
    }
  }

  // The time of a request that only keeps the books (a step's call records): what is left of
  // the scenario's timeout, at most 5 s and at least half a second, so that a step that ran to
  // its deadline still gets its records from a shop that answers, and one that does not
  // answer holds the scenario no longer than that (it took 5 s a request past the deadline).
  std::chrono::nanoseconds bookkeeping_time() const {
    const std::chrono::nanoseconds left = deadline_ - Clock::now();
    return std::clamp<std::chrono::nanoseconds>(left, std::chrono::milliseconds(500),
                                                std::chrono::seconds(5));
  }

  // The action's name when a step of it that says nothing of its answer must succeed:
  // "register", "login", "pay" and "request" (inside a block whose own `expect` counts its
  // answers, the block judges them: run_concurrently); nothing otherwise.
  std::optional<std::string_view> must_succeed_action(const Step& step) const {
    if (answers_judged_by_block_) return std::nullopt;
    return answer_action(step);
  }
  static std::optional<std::string_view> answer_action(const Step& step) {
    if (std::holds_alternative<RegisterAction>(step.action)) return "register";
    if (std::holds_alternative<LoginAction>(step.action)) return "login";
    if (std::holds_alternative<PayAction>(step.action)) return "pay";
    if (std::holds_alternative<RequestAction>(step.action)) return "request";
    return std::nullopt;
  }

  // Why an answer is no success for a step that must succeed, or nothing: not 2xx, or a pay
  // whose payment did not go through (the provider answers 200 with status "failed").
  static std::optional<std::string> not_a_success(std::string_view action,
                                                  const Response& response) {
    if (response.status < 200 || response.status >= 300) {
      return std::string(action) + " answered " + std::to_string(response.status) +
             ", not a success (2xx)";
    }
    if (action != "pay") return std::nullopt;
    const auto& body = response.json_body;
    const bool succeeded =
        body && body->is_object() && body->contains("status") && (*body)["status"] == "succeeded";
    if (succeeded) return std::nullopt;
    std::string why = "pay answered " + std::to_string(response.status) + ", but the payment ";
    if (body && body->is_object() && body->contains("status") && (*body)["status"].is_string()) {
      why += "is " + (*body)["status"].get<std::string>();
      if (body->contains("failure_reason") && (*body)["failure_reason"].is_string())
        why += " (" + (*body)["failure_reason"].get<std::string>() + ")";
    } else {
      why += "status is not in the answer";
    }
    return why;
  }

  // True when `expect` says what the answer must be (its status, headers, body or schema);
  // latency, calls or breakers alone do not.
  static bool judges_answer(const std::optional<Expectation>& expect) {
    return expect &&
           (expect->status || !expect->headers.empty() || !expect->json.empty() || expect->schema);
  }

  template <class Fail>
  void run_response_step(const Step& step, StepResult& sr, Fail& fail) {
    const int repeats = step.repeat;
    auto eventually_until =
        step.eventually ? std::optional(Clock::now() + step.eventually->within) : std::nullopt;
    std::optional<Response> last;
    std::uint64_t attempt_seq = 0;
    struct AnswerBy {  // the window of `eventually`, for the requests of this step only
      std::optional<Clock::time_point>& by;
      ~AnswerBy() { by.reset(); }
    } answer_by{answer_by_};
    answer_by_ = eventually_until;
    for (int i = 0;; ++i) {
      attempt_seq = next_seq(within(std::chrono::seconds(5)));
      std::optional<Response> answered;
      try {
        answered = perform(step, sr);
      } catch (const NoAnswer& e) {
        // Under `eventually` an attempt that got no answer did not hold: tried again while the
        // window lasts, else the step fails with it (it failed at the first refused connect).
        if (!eventually_until) throw;
        ++sr.attempts;
        if (Clock::now() + step.eventually->every < *eventually_until) {
          std::this_thread::sleep_for(
              std::min<std::chrono::nanoseconds>(step.eventually->every, remaining()));
          continue;
        }
        throw StepError("not met within " + platform::format_duration(step.eventually->within) +
                        " (" + std::to_string(sr.attempts) + " attempts): " + e.what());
      }
      auto response = std::move(*answered);
      ++sr.attempts;
      std::vector<Failure> attempt_failures;
      // The failures from here on judge every repeat together (calls, circuit, transitions):
      // labelled "over all N repeats", not as the last repeat's.
      std::size_t whole_step_from = std::numeric_limits<std::size_t>::max();
      StepResult scratch;
      auto collect = [&](SourceLocation where, std::string message, const Response* r = nullptr) {
        Failure f{sr.phase, sr.label, std::move(where), std::move(message)};
        if (r) {
          f.status = r->status;
          f.body = trim_body(r->body);
          f.trace_id = r->trace_id;
        }
        attempt_failures.push_back(std::move(f));
      };
      if (i == 0) first_attempt_seq_ = attempt_seq;
      if (step.expect) {
        check_response_expectations(*step.expect, response, collect);
        // Shop expectations (calls, violations, circuit, transitions) judge the whole step: with
        // `repeat`, once after the last repeat and over every repeat (checking them after each
        // repeat would hold repeat 1 to the count of all N); under `eventually`, each attempt
        // on its own.
        if (eventually_until) {
          check_shop_expectations(*step.expect, attempt_seq, scratch, collect, &response);
        } else if (i + 1 >= repeats) {
          whole_step_from = attempt_failures.size();
          check_shop_expectations(*step.expect, first_attempt_seq_, scratch, collect, &response);
        }
      }
      if (auto action = must_succeed_action(step); action && !judges_answer(step.expect)) {
        // A step that says nothing of its answer is there to get somewhere: a wrong password
        // passed, and the steps after it ran without a token; a request answered 503, or a
        // pay whose card was declined, passed (false greens; an outside probe).
        if (auto why = not_a_success(*action, response)) {
          const std::string name(*action);
          collect(step.loc,
                  *why + ": a " + name +
                      " step with no expectation on its answer must succeed; to expect "
                      "another answer, say so, like expect: {status: " +
                      (name == "pay" ? std::string("200, json: {$.status: failed}}")
                                     : std::to_string(response.status) + "}"),
                  &response);
        }
      }
      if ((step.expect && step.expect->schema) || options_.validate_schema) {
        check_response_schema(step.expect ? step.expect->schema : std::nullopt, step, response,
                              collect);
      }
      last = std::move(response);
      last_response_ = last;
      if (attempt_failures.empty()) {
        take_captures(step, *last, fail);
        if (eventually_until || i + 1 >= repeats) return;
        continue;
      }
      if (eventually_until && Clock::now() + step.eventually->every < *eventually_until) {
        std::this_thread::sleep_for(
            std::min<std::chrono::nanoseconds>(step.eventually->every, remaining()));
        continue;
      }
      const std::size_t first_new = sr.failures.size();
      for (std::size_t k = 0; k < attempt_failures.size(); ++k) {
        auto& f = attempt_failures[k];
        if (eventually_until)
          f.message = "not met within " + platform::format_duration(step.eventually->within) +
                      " (" + std::to_string(sr.attempts) + " attempts): " + f.message;
        else if (repeats > 1 && k >= whole_step_from)
          f.message = "over all " + std::to_string(repeats) + " repeats: " + f.message;
        else if (repeats > 1)
          f.message = "repeat " + std::to_string(i + 1) + " of " + std::to_string(repeats) + ": " +
                      f.message;
        sr.failures.push_back(std::move(f));
      }
      // In the order of the file: the answer's expectations are judged before the shop's
      // (`calls` at line 17 was listed after `circuit` at line 18).
      std::stable_sort(sr.failures.begin() + static_cast<std::ptrdiff_t>(first_new),
                       sr.failures.end(), [](const Failure& a, const Failure& b) {
                         return std::tie(a.where.line, a.where.column) <
                                std::tie(b.where.line, b.where.column);
                       });
      sr.passed = false;
      return;
    }
  }

  http::Request json_request(const std::string& method, const std::string& target,
                             const json& body) {
    http::Request req;
    req.method = method;
    req.target = target;
    req.headers.set("Content-Type", "application/json");
    req.body = platform::json_text(body);
    return req;
  }

  Response send(const std::string& url, http::Request req, StepResult& sr) {
    RequestRecord rec;
    rec.method = req.method;
    rec.url = url;
    std::string sent_trace;
    if (options_.target) {
      // The trace the shop will use for this request, known before any answer (a request
      // that gets none may still have caused calls): the scenario's own valid traceparent, or
      // a new one. A malformed one makes the shop start a trace, learnt from X-Trace-Id.
      if (auto written = req.headers.get("traceparent")) {
        if (auto parsed = platform::TraceContext::parse(*written))
          sent_trace = std::move(parsed->trace_id);
      } else {
        auto trace = platform::TraceContext::fresh();
        req.headers.set("traceparent", trace.traceparent());
        sent_trace = std::move(trace.trace_id);
      }
      own_traces_->add(sent_trace);
    }
    auto t0 = Clock::now();
    Response r;
    r.method = rec.method;
    r.url = url;
    // Under `eventually`, an attempt waits no longer than the step's window: `within: 1s` ran
    // 10 s, one attempt waiting out the gateway's upstream timeout (an outside probe).
    auto limit = remaining();
    if (answer_by_) {
      limit = std::min<std::chrono::nanoseconds>(
          limit, std::max<std::chrono::nanoseconds>(*answer_by_ - Clock::now(),
                                                    std::chrono::milliseconds(1)));
    }
    try {
      auto res = client_.send_url(url, std::move(req), limit);
      r.status = res.status;
      r.headers = std::move(res.headers);
      r.body = std::move(res.body);
    } catch (const http::TransportError& e) {
      rec.error = e.what();
      rec.trace_id = sent_trace;  // the trace the request was sent in, if the runner knows it
      rec.duration_ms = ms_since(t0);
      const std::string summary = req_summary(rec);  // before rec is moved (it said " : no answer")
      record_request(sr, std::move(rec));
      check_deadline();
      throw NoAnswer(summary + ": no answer (" + std::string(http::to_string(e.kind())) + ": " +
                     e.what() + ")");
    }
    r.latency = Clock::now() - t0;
    if (auto t = r.headers.get("X-Trace-Id")) r.trace_id = std::string(*t);
    if (options_.target) own_traces_->add(r.trace_id);
    if (!r.body.empty()) {
      auto parsed = platform::parse_json_or_discarded(r.body);
      if (!parsed.is_discarded()) {
        pay_links_->learn(parsed);
        r.json_body = std::move(parsed);
      }
    }
    rec.status = r.status;
    rec.duration_ms = std::chrono::duration<double, std::milli>(r.latency).count();
    rec.trace_id = r.trace_id;
    record_request(sr, std::move(rec));
    return r;
  }

  static std::string req_summary(const RequestRecord& r) { return r.method + " " + r.url; }

  // A header value as the step wrote it, once its ${...} are filled in. A line break or NUL,
  // brought by a variable, an environment variable or a captured value, would end the field:
  // the client drops such a field, so the request went out without it and the step passed as
  // if it had been sent. The validator refuses it in a literal value; here it fails the step.
  static std::string header_value(std::string_view name, std::string value) {
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      throw StepError("the value of header '" + std::string(name) +
                      "' holds a line break or NUL once its variables are filled in (" +
                      platform::json_text(json(value)) + "), which no header value may");
    return value;
  }

  // The Authorization field of a request to a path of the shop, or to `absolute_url` when the
  // scenario wrote one. One the scenario wrote in `headers` is sent as written: the runner's
  // token replaced it, and a step expecting 401 for a bad token got 200. The current user's
  // token goes to the shop only: an absolute URL of another origin (an echo server, another
  // host) got it too. A token given with `auth:` is sent wherever it is asked.
  void add_bearer(http::Request& req, AuthMode mode, const TextTemplate& token_template,
                  std::string_view absolute_url) {
    if (mode == AuthMode::none || req.headers.contains("Authorization")) return;
    std::string token;
    if (mode == AuthMode::token) {
      token = header_value("Authorization", expand_text(token_template, vars_));
    } else if (!current_token_.empty() &&
               (absolute_url.empty() || same_origin(absolute_url, driver_.url("gateway")))) {
      token = current_token_;
    }
    if (!token.empty()) req.headers.set("Authorization", "Bearer " + token);
  }

  Response perform(const Step& step, StepResult& sr) {
    return std::visit(
        [&](const auto& action) -> Response {
          using A = std::decay_t<decltype(action)>;
          if constexpr (std::is_same_v<A, RequestAction>) {
            return perform_request(action, sr);
          } else if constexpr (std::is_same_v<A, RegisterAction>) {
            json body = {{"email", expand_text(action.email, vars_)},
                         {"password", expand_text(action.password, vars_)}};
            if (action.name)
              body["name"] = expand_text(*action.name, vars_);
            else
              body["name"] = "Scenario User";
            return send(driver_.url("gateway") + "/api/auth/register",
                        json_request("POST", "", body), sr);
          } else if constexpr (std::is_same_v<A, LoginAction>) {
            json body = {{"email", expand_text(action.email, vars_)},
                         {"password", expand_text(action.password, vars_)}};
            auto r = send(driver_.url("gateway") + "/api/auth/login",
                          json_request("POST", "", body), sr);
            if (r.status == 200 && r.json_body && r.json_body->contains("access_token")) {
              current_token_ = r.json_body->at("access_token").get<std::string>();
              vars_.set(std::string(kTokenVariable), current_token_);
              logged_in_ = true;
            }
            return r;
          } else if constexpr (std::is_same_v<A, PayAction>) {
            std::string pay_url;
            if (action.pay_url) {
              pay_url = expand_text(*action.pay_url, vars_);
            } else if (auto order = expand(*action.order, vars_);
                       auto known =
                           pay_links_->find(order.is_string() ? order.template get<std::string>()
                                                              : platform::json_text(order))) {
              pay_url = *known;
            } else {
              std::string order_id = order.is_string() ? order.template get<std::string>()
                                                       : platform::json_text(order);
              http::Request req;
              req.method = "GET";
              add_bearer(req, AuthMode::current_user, {}, "");
              auto r =
                  send(driver_.url("gateway") + "/api/orders/" + http::percent_encode(order_id),
                       std::move(req), sr);
              if (r.status != 200 || !r.json_body)
                throw StepError("pay: GET /api/orders/" + order_id + " answered " +
                                std::to_string(r.status) + ": " + trim_body(r.body));
              auto* url = r.json_body->contains("payment") ? &(*r.json_body)["payment"] : nullptr;
              if (!url || !url->contains("pay_url") || !(*url)["pay_url"].is_string())
                throw StepError("pay: order " + order_id + " has no payment.pay_url");
              pay_url = (*url)["pay_url"].get<std::string>();
            }
            return send(
                pay_url,
                json_request("POST", "", {{"card_number", expand_text(action.card, vars_)}}), sr);
          } else {
            throw StepError("this action has no response");
          }
        },
        step.action);
  }

  Response perform_request(const RequestAction& a, StepResult& sr) {
    http::Request req;
    req.method = a.method;
    std::string path = expand_text(a.path, vars_);
    for (const auto& [name, value] : a.headers)
      req.headers.set(name, header_value(name, expand_text(value, vars_)));
    if (a.json) {
      req.body = platform::json_text(expand(*a.json, vars_));
      if (!req.headers.contains("Content-Type"))
        req.headers.set("Content-Type", "application/json");
    } else if (a.body) {
      req.body = expand_text(*a.body, vars_);
    }
    const bool absolute = path.rfind("http://", 0) == 0;
    // A path from a variable is checked as a written one is (validate cannot see it): "nopath"
    // failed as "expected an http:// URL ..., got 'http://127.0.0.1:38463nopath'", a URL the
    // author never wrote (an outside probe).
    if (!absolute && !path.starts_with("/")) {
      throw StepError(
          path.starts_with("https://")
              ? "the runner speaks plain HTTP: a full URL starts with http://, not '" +
                    platform::terminal_text(path.substr(0, 200), true) + "' (from " + a.path + ")"
              : "a request path starts with '/' (or is a full http:// URL), not '" +
                    platform::terminal_text(path.substr(0, 200), true) + "' (from " + a.path + ")");
    }
    const std::string url =
        encode_unsafe_url_chars(absolute ? path : driver_.url(a.service) + path);
    add_bearer(req, a.auth, a.auth_token, absolute ? url : "");
    if (a.sign_as) {
      auto res = driver_.admin(client_, "POST", "/_admin/credentials",
                               json{{"service", *a.sign_as}}, within(std::chrono::seconds(5)));
      if (res.status != 200) throw StepError("cannot sign as svc:" + *a.sign_as + ": " + res.raw);
      req.headers.set("X-Service-Token", json_of(res).at("token").get<std::string>());
    }
    return send(url, std::move(req), sr);
  }

  // `schema: true` (`asked`) or --validate-schema: the JSON body against the response schema
  // docs/openapi.yaml gives for the request's operation and status (scenario/json_schema.hpp).
  // The flag checks the gateway's JSON answers only; `schema: true` on any other answer fails,
  // as the description is the gateway's.
  template <class Fail>
  void check_response_schema(const std::optional<SourceLocation>& asked, const Step& step,
                             const Response& r, Fail& fail) {
    const SourceLocation where = asked ? *asked : step.loc;
    const std::string gateway = driver_.url("gateway");
    if (!r.url.starts_with(gateway) ||
        (r.url.size() > gateway.size() && r.url[gateway.size()] != '/')) {
      if (asked)
        fail(where,
             "schema: " + r.method + " " + r.url +
                 " did not go to the gateway, and docs/openapi.yaml describes the gateway only",
             &r);
      return;
    }
    const std::string path = r.url.substr(gateway.size());
    // What the description leaves out on purpose (its x-undescribed-routes): the admin plane,
    // and the pages and files that answer HTML, scripts and styles. The flag passes them by,
    // and every answer once a fault was injected.
    const bool json_answer =
        r.headers.get("Content-Type").value_or("").find("json") != std::string_view::npos;
    if (!asked && (path.starts_with("/_admin") || !json_answer || injected_fault_)) return;
    const json& description = gateway::openapi_description();
    const auto found = find_response_schema(description, r.method, path, r.status);
    if (!found.problem.empty()) return fail(where, "schema: " + found.problem, &r);
    if (!found.schema) return;
    const std::string answer = "the " + std::to_string(r.status) + " answer of " + found.operation;
    if (!r.json_body) return fail(where, "schema: " + answer + " is not JSON", &r);
    const auto mismatches = validate_json_schema(*r.json_body, *found.schema, description);
    if (mismatches.empty()) return;
    std::string message = "schema: " + answer + " does not fit docs/openapi.yaml: ";
    for (std::size_t i = 0; i < mismatches.size(); ++i)
      message += (i ? "; " : "") + to_string(mismatches[i]);
    fail(where, message, &r);
  }

  template <class Fail>
  void check_response_expectations(const Expectation& e, const Response& r, Fail& fail) {
    if (e.status) {
      if (auto msg = e.status->check(json(r.status), vars_)) fail(e.status->location(), *msg, &r);
    }
    for (const auto& h : e.headers) {
      std::optional<json> actual;
      if (auto v = r.headers.get(h.name)) actual = json(std::string(*v));
      if (auto msg = h.matcher.check(actual, vars_)) fail(h.loc, *msg, &r);
    }
    if (!e.json.empty() && !r.json_body) {
      fail(e.loc, "the response body is not JSON", &r);
    } else {
      for (const auto& j : e.json) {
        if (auto msg = j.matcher.check(j.path.evaluate(*r.json_body), vars_)) fail(j.loc, *msg, &r);
      }
    }
    if (e.latency) {
      auto m = e.latency->has_templates() ? e.latency->bind(vars_) : *e.latency;
      if (auto msg = m.check_duration(r.latency)) fail(e.latency->location(), *msg, &r);
    }
  }

  json breaker_snapshot(const std::string& breaker) {
    auto owner = breaker.substr(0, breaker.find("->"));
    platform::AdminAnswer res;
    try {
      res = driver_.admin(client_, "GET", "/_admin/circuit-breakers", std::nullopt,
                          within(std::chrono::seconds(5)), owner);
    } catch (const StepError& e) {
      // A breaker lives in the service that calls through it: with that service stopped or
      // crashed there is nothing to read (it said "the shop's admin plane is unreachable",
      // which read as the shop's fault; an outside probe).
      throw StepError("cannot read circuit breaker " + breaker + ": the " + owner +
                      " service, which holds it, does not answer (a stop or crash step earlier "
                      "leaves it so until a start or restart): " +
                      e.what());
    }
    if (res.status != 200)
      throw StepError("GET " + owner + " /_admin/circuit-breakers answered " +
                      std::to_string(res.status));
    // Named: a range-for over a member of a temporary would dangle (the temporary dies first).
    const auto listing = json_of(res);
    for (const auto& item : listing.at("items")) {
      if (item.value("name", "") == breaker) return item;
    }
    throw StepError("the shop has no circuit breaker " + breaker);
  }

  template <class Fail>
  void check_shop_expectations(const Expectation& e, std::uint64_t since, StepResult&, Fail& fail,
                               const Response* r) {
    if (e.circuit.empty() && e.circuit_transitions.empty() && e.calls.empty() && !e.violations)
      return;
    // The breakers' state first: reading a breaker is what makes a due automatic OPEN ->
    // HALF_OPEN move happen (Resilience4j's lazy semantics), and that transition must be in the
    // records read below, not lost between this step and the next.
    std::map<std::string, std::string> states;
    for (const auto& c : e.circuit) {
      if (!states.count(c.breaker))
        states[c.breaker] = breaker_snapshot(c.breaker).value("state", "?");
    }
    for (const auto& t : e.circuit_transitions) {
      if (!states.count(t.breaker))
        states[t.breaker] = breaker_snapshot(t.breaker).value("state", "?");
    }
    json records = json::array(), transitions = json::array();
    // Why the step's calls cannot be counted: the shop's ring of call records overflowed
    // during the step and dropped some of them, so a count would be too low (10,500 calls
    // passed `max: 10000` as "saw 10000"). Empty when they can.
    std::string uncountable;
    if (!e.calls.empty() || e.violations || !e.circuit_transitions.empty()) {
      auto j = calls_since(std::min(since, step_cursor_), within(std::chrono::seconds(5)));
      for (auto& rec : j.at("records")) {
        if (rec.at("seq").get<std::uint64_t>() >= since && own(rec)) records.push_back(rec);
      }
      for (auto& t : j.at("transitions")) {
        if (t.at("seq").get<std::uint64_t>() >= step_cursor_) transitions.push_back(t);
      }
      // Dropped from an earlier cursor: asked again from the step's own start (the
      // transitions alone: a small answer).
      if (j.value("dropped", false) && (!e.calls.empty() || e.violations) &&
          (since <= step_cursor_ ||
           calls_since(since, within(std::chrono::seconds(5)), "&only=transitions")
               .value("dropped", false))) {
        uncountable = "the shop's call log keeps only the last " +
                      std::to_string(j.value("ring_capacity", std::uint64_t{0})) +
                      " records and dropped some of this step's, so the count cannot be judged "
                      "(make the step make fewer calls: fewer repeats, a smaller block)";
      }
    }
    for (const auto& c : e.circuit) {
      const auto& state = states.at(c.breaker);
      if (state != c.state)
        fail(c.loc, "expected circuit " + c.breaker + " to be " + c.state + ", it is " + state, r);
    }
    for (const auto& t : e.circuit_transitions) {
      std::vector<std::string> seen, wanted;
      for (const auto& x : transitions) {
        if (x.at("breaker") == t.breaker) seen.push_back(x.at("transition").get<std::string>());
      }
      for (const auto& w : t.transitions) wanted.push_back(w.to_string());
      if (seen != wanted) {
        auto list = [](const std::vector<std::string>& v) {
          std::string s = "[";
          for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
          return s + "]";
        };
        fail(t.loc,
             "expected circuit " + t.breaker + " transitions " + list(wanted) + ", saw " +
                 list(seen),
             r);
      }
    }
    for (const auto& c : e.calls) {
      if (!uncountable.empty()) {
        fail(c.loc, "cannot count the calls on " + c.edge + ": " + uncountable, r);
        continue;
      }
      // Why a record of the edge is not counted; empty when it is. The listing below says it, so
      // a failure's "saw 0" does not list the very call it expected without a word (an
      // outside probe).
      const auto not_counted = [&c](const json& rec) -> std::string {
        const bool violation = rec.value("violation", false);
        const bool refused = rec.value("refused_by_breaker", false) || violation;
        if (c.refused) {
          if (*c.refused == refused) return {};
          return refused ? "not counted: refused, and this expects non-refused calls"
                         : "not counted: not refused";
        }
        if (violation) return "not counted: a violation; `violations` or `refused: true` counts it";
        return {};
      };
      std::int64_t n = 0;
      for (const auto& rec : records) {
        if (rec.at("caller") != c.caller || rec.at("callee") != c.callee) continue;
        if (not_counted(rec).empty()) ++n;
      }
      bool ok = true;
      std::string want;
      if (c.count) {
        ok = n == *c.count;
        want = "exactly " + std::to_string(*c.count);
      } else {
        if (c.min && n < *c.min) ok = false;
        if (c.max && n > *c.max) ok = false;
        want = c.min && c.max
                   ? "between " + std::to_string(*c.min) + " and " + std::to_string(*c.max)
               : c.min ? "at least " + std::to_string(*c.min)
                       : "at most " + std::to_string(*c.max);
      }
      if (!ok) {
        RecordListing detail;
        for (const auto& rec : records) {
          if (rec.at("caller") != c.caller || rec.at("callee") != c.callee) continue;
          if (detail.full()) {
            detail.skip();
            continue;
          }
          detail.add(rec.at("method").get<std::string>() + " " +
                     rec.at("route").get<std::string>() + " -> " +
                     (rec.at("status").get<int>() ? std::to_string(rec.at("status").get<int>())
                                                  : rec.at("outcome").get<std::string>()) +
                     (rec.value("refused_by_breaker", false) ? " (refused by breaker)" : "") + [&] {
                       const auto why = not_counted(rec);
                       return why.empty() ? std::string() : " (" + why + ")";
                     }());
        }
        fail(c.loc,
             "expected " + want + (c.refused ? (*c.refused ? " refused" : " non-refused") : "") +
                 " call(s) on " + c.edge + ", saw " + std::to_string(n) + detail.text(),
             r);
      }
    }
    if (e.violations && !uncountable.empty()) {
      fail(e.violations->loc, "cannot count the violations: " + uncountable, r);
    } else if (e.violations) {
      std::int64_t n = 0;
      RecordListing detail;
      for (const auto& rec : records) {
        if (!rec.value("violation", false)) continue;
        ++n;
        if (detail.full()) {
          detail.skip();
          continue;
        }
        detail.add(rec.at("edge").get<std::string>() + " " + rec.at("route").get<std::string>() +
                   " (" + rec.value("violation_reason", "") + ")");
      }
      if (n != e.violations->count)
        fail(e.violations->loc,
             "expected " + std::to_string(e.violations->count) + " violation(s), saw " +
                 std::to_string(n) + detail.text(),
             r);
    }
  }

  template <class Fail>
  void take_captures(const Step& step, const Response& r, Fail& fail) {
    for (const auto& c : step.captures) {
      if (c.source == Capture::Source::header) {
        auto v = r.headers.get(c.header);
        if (!v) {
          fail(c.loc, "capture " + c.name + ": the response has no header " + c.header, &r);
          continue;
        }
        vars_.set(c.name, std::string(*v));
      } else {
        std::optional<json> v = r.json_body ? c.path.evaluate(*r.json_body) : std::nullopt;
        if (!v) {
          fail(c.loc, "capture " + c.name + ": " + c.path.text() + " is not in the response", &r);
          continue;
        }
        vars_.set(c.name, *v);
      }
    }
  }

  std::string add_fault(const FaultSpec& spec) {
    injected_fault_ = true;
    auto body = expand(spec.to_json(), vars_);
    auto res =
        driver_.admin(client_, "POST", "/_admin/faults", body, within(std::chrono::seconds(5)));
    if (res.status != 201) throw StepError("the shop refused the fault: " + res.raw);
    return json_of(res).at("id").get<std::string>();
  }

  void remove_faults(const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      try {
        driver_.admin(client_, "DELETE", "/_admin/faults/" + http::percent_encode(id), std::nullopt,
                      std::chrono::seconds(5));
      } catch (const std::exception&) {
      }
    }
  }

  void run_control_step(const Step& step, StepResult&) {
    std::visit(
        [&](const auto& action) {
          using A = std::decay_t<decltype(action)>;
          if constexpr (std::is_same_v<A, FaultAction>) {
            add_fault(action.fault);
          } else if constexpr (std::is_same_v<A, ClearFaultsAction>) {
            auto limit = within(std::chrono::seconds(5));
            auto res = action.all
                           ? driver_.admin(client_, "DELETE", "/_admin/faults", std::nullopt, limit)
                           : driver_.admin(client_, "DELETE",
                                           "/_admin/faults/" + http::percent_encode(action.id),
                                           std::nullopt, limit);
            // Clearing is idempotent: a fault already gone (cleared before, or a step's own
            // `faults:` ended) is what the step asks for, and a teardown's tidy-up must not fail
            // the run over it.
            const auto error = res.body.is_object() ? res.body.find("error") : res.body.end();
            const bool already_gone = res.status == 404 && error != res.body.end() &&
                                      error->is_object() &&
                                      error->value("code", "") == "fault_not_found";
            if (res.status != 200 && !already_gone) {
              throw StepError("clear_faults: " + res.error_message());
            }
          } else if constexpr (std::is_same_v<A, ServiceAction>) {
            const char* verb = action.kind == ServiceAction::Kind::stop    ? "stop"
                               : action.kind == ServiceAction::Kind::start ? "start"
                               : action.kind == ServiceAction::Kind::crash ? "crash"
                                                                           : "restart";
            driver_.control(client_, verb, action.service, within(std::chrono::seconds(30)));
          } else if constexpr (std::is_same_v<A, AdvanceClockAction>) {
            auto res = driver_.admin(client_, "POST", "/_admin/clock/advance",
                                     json{{"by", platform::format_duration(action.by)}},
                                     within(std::chrono::seconds(5)));
            if (res.status != 200) throw StepError("advance_clock: " + trim_body(res.raw));
          } else if constexpr (std::is_same_v<A, SetPriceAction> ||
                               std::is_same_v<A, SetAvailableAction>) {
            auto product = expand(action.product, vars_);
            std::string id = product.is_string() ? product.template get<std::string>()
                                                 : platform::json_text(product);
            json body;
            if constexpr (std::is_same_v<A, SetPriceAction>)
              body["price_cents"] = expand(action.price_cents, vars_);
            else
              body["available"] = expand(action.available, vars_);
            auto res =
                driver_.admin(client_, "POST", "/_admin/products/" + http::percent_encode(id), body,
                              within(std::chrono::seconds(5)), "catalog");
            if (res.status != 200)
              throw StepError(std::string(action_name(step.action)) + " " + id + ": " +
                              trim_body(res.raw));
          } else if constexpr (std::is_same_v<A, WaitAction>) {
            auto left = remaining();
            if (action.duration > left) {
              std::this_thread::sleep_for(left);
              throw ScenarioTimeout{};
            }
            std::this_thread::sleep_for(action.duration);
          }
        },
        step.action);
  }

  // A run for one step of a concurrently block: its own connection, a copy of the variables
  // and of the current token (what it captures reaches this run after the block), the same
  // pay links.
  std::unique_ptr<ScenarioRun> fork(http::BlockingClient& client) const {
    auto child = std::make_unique<ScenarioRun>(sc_, driver_, client, deadline_, options_);
    child->vars_ = vars_;
    child->current_token_ = current_token_;
    child->pay_links_ = pay_links_;
    child->own_traces_ = own_traces_;
    child->start_seq_ = start_seq_;
    child->step_cursor_ = step_cursor_;
    child->injected_fault_ = injected_fault_.load();
    return child;
  }

  // Runs the steps of a concurrently block, each on a thread and a connection of its own,
  // then folds their results into `sr` and their captures into the variables.
  template <class Fail>
  void run_concurrently(const Step& step, const ConcurrentAction& block, StepResult& sr,
                        Fail& fail) {
    const std::size_t n = block.steps.size();
    std::vector<std::unique_ptr<http::BlockingClient>> clients;
    std::vector<std::unique_ptr<ScenarioRun>> runs;
    for (std::size_t i = 0; i < n; ++i) {
      clients.push_back(std::make_unique<http::BlockingClient>());
      runs.push_back(fork(*clients.back()));
      runs.back()->answers_judged_by_block_ = step.expect && !step.expect->responses.empty();
    }
    std::vector<StepResult> results(n);
    std::vector<char> timed_out(n, 0);
    const auto started = Clock::now();
    {
      std::vector<std::thread> threads;
      threads.reserve(n);
      // A thread the system refuses (`ulimit -u`, `ulimit -v`) ends the block once the steps
      // started have ended: the threads already started, destroyed joinable, ended the run
      // with SIGABRT.
      std::string refused;
      for (std::size_t i = 0; i < n && refused.empty(); ++i) {
        try {
          threads.emplace_back([&, i] {
            const Step& inner = block.steps[i];
            try {
              if (inner.after.count() > 0) {
                const auto wake = started + inner.after;
                if (wake >= deadline_) {
                  std::this_thread::sleep_until(deadline_);
                  throw ScenarioTimeout{};
                }
                std::this_thread::sleep_until(wake);
              }
              results[i] = runs[i]->run_step(sr.phase, inner);
            } catch (const ScenarioTimeout&) {
              timed_out[i] = 1;
            } catch (const std::exception& e) {
              results[i].passed = false;
              results[i].failures.push_back({sr.phase, step_label(inner), inner.loc,
                                             std::string("the step could not run: ") + e.what()});
            }
          });
        } catch (const std::exception& e) {
          refused = e.what();
        }
      }
      for (auto& t : threads) t.join();
      if (!refused.empty()) {
        throw std::runtime_error("the system refused a thread for the block's steps (" + refused +
                                 "; ulimit -u or -v?)");
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const Step& inner = block.steps[i];
      if (timed_out[i]) {
        timed_out_in_ = Failure{sr.phase, step_label(inner), inner.loc, ""};
        throw ScenarioTimeout{};
      }
      StepResult& r = results[i];
      sr.attempts += r.attempts;
      for (auto& req : r.requests) record_request(sr, std::move(req));
      sr.requests_dropped += r.requests_dropped;
      for (auto& f : r.failures) {
        // "step 2/4" tells apart steps written once and repeated with a YAML alias (they
        // share the anchor's line).
        f.step = (step.name.empty() ? std::string() : step.name + " > ") + "step " +
                 std::to_string(i + 1) + "/" + std::to_string(n) + ": " + f.step;
        sr.failures.push_back(std::move(f));
        sr.passed = false;
      }
      // Captures and a login's token become visible now, in list order.
      for (const auto& capture : inner.captures) {
        if (auto value = runs[i]->vars_.lookup(capture.name)) vars_.set(capture.name, *value);
      }
      // Only a login that got a token: a failed one still holds the token from before the
      // block (its fork's copy), which put back the token a login before it had replaced.
      if (std::holds_alternative<LoginAction>(inner.action) && runs[i]->logged_in_) {
        current_token_ = runs[i]->current_token_;
        vars_.set(std::string(kTokenVariable), current_token_);
      }
    }
    if (!step.expect) return;
    // A step that says nothing of its answer is judged by the block's counts: an answer none of
    // them counts is not one the block expects (a 500 beside the one 200 counted passed).
    if (!step.expect->responses.empty()) {
      for (std::size_t i = 0; i < n; ++i) {
        const Step& inner = block.steps[i];
        const auto& answer = runs[i]->last_response_;
        if (!answer_action(inner) || judges_answer(inner.expect) || !answer) continue;
        const bool counted =
            std::any_of(step.expect->responses.begin(), step.expect->responses.end(),
                        [&](const ResponseCount& c) { return response_matches(c, *answer); });
        if (!counted) {
          fail(inner.loc, "step " + std::to_string(i + 1) + " answered " +
                              std::to_string(answer->status) +
                              ", which none of the block's responses counts: a step that says "
                              "nothing of its answer is judged by them; give it an expect, or "
                              "count that answer too");
        }
      }
    }
    for (const auto& count : step.expect->responses) {
      std::int64_t n_matching = 0;
      std::string seen;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& answer = runs[i]->last_response_;
        const Step& inner = block.steps[i];
        const std::string which = "\n      step " + std::to_string(i + 1) + " (line " +
                                  std::to_string(inner.loc.line) + "): ";
        if (!answer) {
          seen += which + "no answer";
          continue;
        }
        seen += which + std::to_string(answer->status);
        if (answer->json_body && answer->json_body->is_object()) {
          if (auto code = JsonPath::parse("$.error.code").evaluate(*answer->json_body);
              code && code->is_string()) {
            seen += " " + code->get<std::string>();
          }
        }
        if (response_matches(count, *answer)) ++n_matching;
      }
      bool ok = true;
      std::string want;
      if (count.count) {
        ok = n_matching == *count.count;
        want = "exactly " + std::to_string(*count.count);
      } else {
        if (count.min && n_matching < *count.min) ok = false;
        if (count.max && n_matching > *count.max) ok = false;
        want = count.min && count.max
                   ? "between " + std::to_string(*count.min) + " and " + std::to_string(*count.max)
               : count.min ? "at least " + std::to_string(*count.min)
                           : "at most " + std::to_string(*count.max);
      }
      if (!ok) {
        fail(count.loc, "expected " + want + " of the block's answers to match, " +
                            std::to_string(n_matching) + " did; the answers:" + seen);
      }
    }
  }

  bool response_matches(const ResponseCount& c, const Response& r) {
    if (c.status && c.status->check(json(r.status), vars_)) return false;
    for (const auto& h : c.headers) {
      std::optional<json> actual;
      if (auto v = r.headers.get(h.name)) actual = json(std::string(*v));
      if (h.matcher.check(actual, vars_)) return false;
    }
    if (!c.json.empty() && !r.json_body) return false;
    for (const auto& j : c.json) {
      if (j.matcher.check(j.path.evaluate(*r.json_body), vars_)) return false;
    }
    return true;
  }

  const Scenario& sc_;
  ShopDriver& driver_;
  http::BlockingClient& client_;
  Clock::time_point deadline_;
  // While a step under `eventually` runs: when its window ends, which no request outlasts.
  std::optional<Clock::time_point> answer_by_;
  const RunOptions& options_;
  Variables vars_;
  std::string current_token_;
  bool logged_in_ = false;  // a login of this run got a token (a block's step: its own)
  // This run is a step of a concurrently block whose `expect` counts its answers (`responses`).
  bool answers_judged_by_block_ = false;
  std::uint64_t start_seq_ = 0;
  std::optional<std::uint64_t> violations_at_start_;  // the shop's total when the run began
  std::uint64_t step_cursor_ = 0;
  std::uint64_t first_attempt_seq_ = 0;
  std::optional<Failure> timed_out_in_;  // the step that was running when the deadline passed
  std::optional<StepResult> cut_step_;   // that step as run_step left it (requests, duration)
  std::size_t teardown_next_ = 0;        // how many teardown steps have started
  // A fault was injected: answers may be ones the API never gives (an injected 502, a custom
  // body), so --validate-schema stops checking; `schema: true` still checks.
  std::atomic<bool> injected_fault_{false};
  std::shared_ptr<PayLinks> pay_links_ = std::make_shared<PayLinks>();
  std::shared_ptr<OwnTraces> own_traces_ = std::make_shared<OwnTraces>();  // --target only
  std::optional<Response> last_response_;  // the last answer of the last response step
};

}  // namespace

bool selected_by_tags(const Scenario& s, const RunOptions& o) {
  auto has = [&](const std::string& t) {
    return std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end();
  };
  for (const auto& t : o.skip_tags) {
    if (has(t)) return false;
  }
  if (o.tags.empty()) return true;
  for (const auto& t : o.tags) {
    if (has(t)) return true;
  }
  return false;
}

std::string tag_skip_reason(const Scenario& s, const RunOptions& o) {
  for (const auto& t : o.skip_tags) {
    if (std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end())
      return "tagged " + t + ", which --skip-tags skips";
  }
  if (selected_by_tags(s, o)) return "";
  std::string wanted;
  for (const auto& t : o.tags) wanted += (wanted.empty() ? "" : ", ") + t;
  return "has none of the tags --tags selects (" + wanted + ")";
}

std::optional<RunRefusal> run_refusal(const std::vector<Scenario>& scenarios,
                                      const RunOptions& options) {
  constexpr int kUsage = 1;    // shopctl/version.hpp: kExitUsage
  constexpr int kInvalid = 2;  // kExitInvalid
  // A tag is one word (as in a scenario's `tags:`).
  for (const auto* list : {&options.tags, &options.skip_tags}) {
    for (const auto& tag : *list) {
      if (!is_tag(tag)) {
        return RunRefusal{kUsage, "'" + platform::terminal_text(tag.substr(0, 100), true) +
                                      "' is not a tag (one word without commas, spaces or "
                                      "control characters)"};
      }
    }
  }
  if (scenarios.empty()) return RunRefusal{kInvalid, "no scenario to run"};
  // A filter that leaves nothing to run is a mistake, not a pass: a CI gate with `--tags
  // chekout` passed with zero scenarios run.
  if (std::none_of(scenarios.begin(), scenarios.end(),
                   [&](const Scenario& s) { return selected_by_tags(s, options); })) {
    std::set<std::string> in_use;
    for (const auto& s : scenarios) in_use.insert(s.tags.begin(), s.tags.end());
    std::string names;
    for (const auto& t : in_use) names += (names.empty() ? "" : ", ") + t;
    return RunRefusal{kUsage,
                      "--tags/--skip-tags leave none of the " + std::to_string(scenarios.size()) +
                          " scenario(s) to run",
                      "the tags in these files: " + (names.empty() ? "none" : names)};
  }
  return std::nullopt;
}

namespace {
// `stop`, `start` or `restart` of the gateway: in-process the runner drives the shop directly,
// but a running shop's gateway is the door the runner reaches it through (its admin plane
// answers 409 cannot_stop_gateway). Found before anything runs, not as a failed step.
void gateway_action_refusals(const std::vector<Step>& steps, const std::string& file,
                             std::vector<Diagnostic>& out) {
  for (const auto& step : steps) {
    if (const auto* block = std::get_if<ConcurrentAction>(&step.action)) {
      gateway_action_refusals(block->steps, file, out);
      continue;
    }
    const auto* action = std::get_if<ServiceAction>(&step.action);
    if (!action || action->service != "gateway") continue;
    out.push_back(
        Diagnostic{file, step.loc.line, step.loc.column,
                   "`" + std::string(action_name(step.action)) +
                       ": gateway` cannot run against a running shop: the runner reaches the shop "
                       "through its gateway"});
  }
}
}  // namespace

std::vector<Diagnostic> target_config_refusals(const std::vector<Scenario>& scenarios,
                                               const RunOptions& options) {
  std::vector<Diagnostic> out;
  if (!options.target) return out;
  for (const auto& s : scenarios) {
    if (!selected_by_tags(s, options)) continue;
    if (s.has_config()) {
      for (const auto& issue : shop::runtime_config_refusals(s.config))
        out.push_back(Diagnostic{s.file, issue.line, issue.column, issue.message});
    }
    for (const auto* phase : {&s.setup, &s.steps, &s.teardown})
      gateway_action_refusals(*phase, s.file, out);
  }
  return out;
}

namespace {

// What this machine ran short of when a scenario's failures say so: the process's open files
// (EMFILE, anywhere: the runner's own client, or a service's call inside the in-process shop)
// or room on the disk of the shop's folder (SQLite's "database or disk is full", ENOSPC).
// nullopt when neither shows.
std::optional<std::string> machine_shortage(const ScenarioResult& r,
                                            const std::filesystem::path& data_dir) {
  // Where a shortage shows: a failure with no answer (a transport error says strerror), a 5xx
  // (a service's cause, in its body), the scenario's own error. Not a failure the shop
  // answered 2xx-4xx: its message and body hold the scenario's own data, and a shopper named
  // "Too many open files" (201) made a failed expectation an ERROR, exit 3, "this process ran
  // out of open files" (an outside probe).
  auto said = [&](std::string_view text) {
    for (const auto& f : r.failures) {
      if ((f.status == 0 || f.status >= 500) &&
          (f.message.find(text) != std::string::npos || f.body.find(text) != std::string::npos))
        return true;
    }
    return r.error.find(text) != std::string::npos;
  };
  // Whether a failure could be a shortage's at all: one with no answer, a 5xx, or a timeout.
  // One the shop answered 2xx-4xx is the shop's answer, whatever the limit.
  const bool unanswered = r.status == ScenarioStatus::timed_out ||
                          std::any_of(r.failures.begin(), r.failures.end(), [](const Failure& f) {
                            return f.status == 0 || f.status >= 500;
                          });
  rlimit limit{};
  const bool known = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
  // Below what one shop needs, a failure with no answer or a 5xx is taken for a shortage
  // whatever it says: the failures then read "no answer" or "connection_reset" as often as
  // EMFILE.
  if (said(std::strerror(EMFILE)) || said(std::strerror(ENFILE)) ||
      (unanswered && known && limit.rlim_cur < kFilesPerShop + 64)) {
    return "this process ran out of open files" +
           (known ? " (ulimit -n is " + std::to_string(limit.rlim_cur) + ")" : std::string()) +
           ": the shop could not work; raise the limit, or run fewer scenarios at once (--jobs); "
           "each in-process shop, with the runner, needs about " +
           std::to_string(kFilesPerShop + 64) + " files";
  }
  // The folder's disk, asked directly: a shop that could not store a webhook fails a scenario
  // with "saw 0 calls", naming no disk.
  struct statvfs disk {};
  const bool nearly_full = !data_dir.empty() &&
                           ::statvfs(data_dir.parent_path().c_str(), &disk) == 0 &&
                           static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize < 1024 * 1024;
  if (nearly_full || said("database or disk is full") || said(std::strerror(ENOSPC))) {
    return "the disk of the shop's temporary folder is full (" + data_dir.parent_path().string() +
           ", $TMPDIR): the shop could not store what it was sent; free room there, or point "
           "TMPDIR at a folder with room";
  }
  return std::nullopt;
}

ScenarioResult run_one(const Scenario& sc, const RunOptions& options) {
  ScenarioResult result;
  result.name = sc.name;
  result.file = sc.file;
  result.tags = sc.tags;
  auto started = Clock::now();
  // The scenario's timeout covers its setup, steps and teardown, from when its shop answers:
  // counted from here, the shop's start took 60-250 ms of it, and a `wait` that validate
  // accepts (shorter than the timeout) timed out on every run (an outside probe).
  // A timeout near the longest one validate takes (about 292 years) went past the clock's end
  // and wrapped: every scenario timed out on its first step (an outside probe). Such a deadline
  // is the clock's end.
  const auto deadline_from_now = [&sc] {
    const auto now = Clock::now();
    return sc.timeout >= Clock::time_point::max() - now ? Clock::time_point::max()
                                                        : now + sc.timeout;
  };
  http::BlockingClient client;
  try {
    if (options.target) {
      // The baseline, `config:` and `seed:` were taken care of by run_against_target().
      ShopDriver driver(*options.target, options.admin_token, nullptr, options.lease_holder);
      driver.discover(client);
      auto r = ScenarioRun(sc, driver, client, deadline_from_now(), options).run();
      // A failed scenario on a shop that no longer answers at all (the gateway cannot be
      // stopped by a scenario here): the shop's error (exit 3, JUnit <error>), not a failed
      // expectation. Any answer, a 503 of a busy shop too, means it is there: only no answer
      // counts (a refused connection twice, half a second apart; no answer in 5 s once).
      // A scenario that ran out of time on a target that stopped answering is that shop's
      // error too (it said TIMEOUT, as if the scenario were slow; an outside probe).
      if (r.status == ScenarioStatus::failed || r.status == ScenarioStatus::setup_failed ||
          r.status == ScenarioStatus::timed_out) {
        for (int attempt = 0; attempt < 2; ++attempt) {
          try {
            http::BlockingClient probe;
            const auto listed = platform::send_admin_request(
                probe, *options.target + "/_admin/services", options.admin_token, "GET",
                std::nullopt, std::chrono::seconds(5));
            // It answers, but as another start of the gateway's process (serve --processes
            // started it again after it died): the scenario met a restart, which is the
            // shop's doing, not a failed expectation (it was FAIL, exit 4; an outside probe).
            const auto now = ShopDriver::gateway_instance(listed.body);
            if (!driver.gateway_instance().empty() && !now.empty() &&
                now != driver.gateway_instance()) {
              r.status = ScenarioStatus::shop_error;
              r.error =
                  "the target's gateway restarted during the scenario (its process was started "
                  "again)";
              r.failures.push_back({"scenario", "", sc.loc, r.error});
            }
            break;
          } catch (const http::TransportError& e) {
            // A refusal may be a restart in its last moment: asked again. No answer in 5 s is
            // no restart: said at once.
            if (attempt == 0 && e.kind() != http::TransportErrorKind::timeout) {
              std::this_thread::sleep_for(std::chrono::milliseconds(500));
              continue;
            }
            r.status = ScenarioStatus::shop_error;
            r.error = std::string("the target stopped answering during the scenario: ") + e.what();
            r.failures.push_back({"scenario", "", sc.loc, r.error});
            break;
          }
        }
      }
      return r;
    }
    shop::ShopConfig config;
    config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
    config.seed_demo_user = true;
    config.seed = sc.seed.value_or(0);
    if (sc.has_config()) {
      auto issues = shop::apply_config(sc.config, config, scenario_folder(sc.file));
      if (!issues.empty()) throw std::runtime_error("config: " + issues.front().message);
    }
    for (const auto& name : shop::service_names()) config.ports[name] = 0;
    shop::ShopOptions shop_options;
    shop_options.threads = 2;
    shop_options.log_level = options.verbose ? platform::LogLevel::warn : platform::LogLevel::off;
    std::unique_ptr<shop::Shop> shop;
    try {
      shop = std::make_unique<shop::Shop>(config, shop_options);
      shop->start();
    } catch (const std::exception& e) {
      result.status = ScenarioStatus::shop_error;
      result.error = std::string("the shop could not start: ") + e.what();
      result.failures.push_back({"scenario", "", sc.loc, result.error});
      result.duration_ms = ms_since(started);
      return result;
    }
    ShopDriver driver(shop->url("gateway"), shop->admin_token(), shop.get());
    driver.discover(client);
    auto r = ScenarioRun(sc, driver, client, deadline_from_now(), options).run();
    // A scenario that failed because this machine ran out of something the shop needs (open
    // files, room on the disk of its temporary folder) is the shop's error (exit 3, which CI
    // may retry), not a failed expectation (exit 4: a real failure). Both were exit 4 under
    // `ulimit -n 64` and on a full $TMPDIR (an outside probe).
    if (r.status == ScenarioStatus::failed || r.status == ScenarioStatus::setup_failed ||
        r.status == ScenarioStatus::timed_out) {
      if (auto why = machine_shortage(r, shop->config().data_dir)) {
        r.status = ScenarioStatus::shop_error;
        r.error = *why;
        r.failures.push_back({"scenario", "", sc.loc, *why});
      }
    }
    client.reset();
    shop->shutdown(std::chrono::milliseconds(200));
    r.duration_ms = ms_since(started);
    return r;
  } catch (const std::exception& e) {
    result.status = ScenarioStatus::shop_error;
    result.error = e.what();
    result.failures.push_back({"scenario", "", sc.loc, e.what()});
    result.duration_ms = ms_since(started);
    return result;
  }
}

}  // namespace

std::string_view to_string(ScenarioStatus status) {
  switch (status) {
    case ScenarioStatus::passed:
      return "passed";
    case ScenarioStatus::failed:
      return "failed";
    case ScenarioStatus::setup_failed:
      return "setup_failed";
    case ScenarioStatus::timed_out:
      return "timed_out";
    case ScenarioStatus::shop_error:
      return "shop_error";
    case ScenarioStatus::skipped:
      return "skipped";
  }
  return "?";
}

int RunSummary::passed() const {
  return static_cast<int>(std::count_if(
      results.begin(), results.end(), [](auto& r) { return r.status == ScenarioStatus::passed; }));
}
int RunSummary::failed() const {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [](auto& r) {
    return r.status == ScenarioStatus::failed || r.status == ScenarioStatus::setup_failed;
  }));
}
int RunSummary::errors() const {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [](auto& r) {
    return r.status == ScenarioStatus::timed_out || r.status == ScenarioStatus::shop_error;
  }));
}
int RunSummary::skipped() const {
  return static_cast<int>(std::count_if(
      results.begin(), results.end(), [](auto& r) { return r.status == ScenarioStatus::skipped; }));
}
int RunSummary::steps() const {
  int n = 0;
  for (const auto& r : results) n += static_cast<int>(r.steps.size());
  return n;
}

namespace {

// Runs run_one() for each of `indices` on up to `jobs` threads, storing each result and
// reporting progress as it finishes. `annotate` adds to a result before it is reported.
bool failed(const ScenarioResult& r) {
  return r.status != ScenarioStatus::passed && r.status != ScenarioStatus::skipped;
}

ScenarioResult skipped_by_fail_fast(const Scenario& sc, const RunOptions& options) {
  ScenarioResult r;
  r.name = sc.name;
  r.file = sc.file;
  r.tags = sc.tags;
  r.status = ScenarioStatus::skipped;
  r.skip_reason = options.fail_fast ? "not started: --fail-fast stopped the run after a scenario "
                                      "that did not pass"
                                    : "not started: the run was stopped";
  return r;
}

// A scenario that could not run at all: the shop's error, with what stopped it.
ScenarioResult error_result(const Scenario& sc, const std::string& message) {
  ScenarioResult r;
  r.name = sc.name;
  r.file = sc.file;
  r.tags = sc.tags;
  r.status = ScenarioStatus::shop_error;
  r.error = message;
  r.failures.push_back({"scenario", "", sc.loc, message});
  return r;
}

void run_parallel(const std::vector<Scenario>& scenarios, const std::vector<std::size_t>& indices,
                  unsigned jobs, const RunOptions& options, RunSummary& summary,
                  const std::function<void(std::size_t)>& report, std::mutex& mu,
                  const std::function<void(ScenarioResult&)>& annotate = {}) {
  jobs = std::min<unsigned>(std::max(1u, jobs),
                            static_cast<unsigned>(std::max<std::size_t>(1, indices.size())));
  // The scenarios see how many run at once (-v names its scenario on each line then).
  RunOptions effective = options;
  effective.jobs = jobs;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (;;) {
      auto k = next.fetch_add(1);
      if (k >= indices.size()) return;
      auto i = indices[k];
      ScenarioResult result;
      if (options.stop->load()) {
        result = skipped_by_fail_fast(scenarios[i], options);
      } else {
        try {
          result = run_one(scenarios[i], effective);
        } catch (const std::exception& e) {  // e.g. no file descriptor left for its client
          result =
              error_result(scenarios[i], std::string("the scenario could not run: ") + e.what());
        }
        if (annotate) annotate(result);
        if (options.fail_fast && failed(result)) options.stop->store(true);
      }
      std::lock_guard lock(mu);
      summary.results[i] = std::move(result);
      report(i);
    }
  };
  std::vector<std::thread> threads;
  try {
    threads.reserve(jobs);
    for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(worker);
  } catch (const std::exception&) {
    // The system refused a thread (`ulimit -u`, or no address space for its stack under
    // `ulimit -v`): the scenarios run on the threads it gave, or on this one. The threads
    // already started, destroyed joinable with the vector, ended the run with SIGABRT (exit
    // 134; an outside probe).
  }
  if (threads.empty()) worker();
  for (auto& t : threads) t.join();
}

// The running shop's baseline, through its gateway's admin plane (docs/scenarios.md, "Against
// a running shop"). Each call throws std::runtime_error saying what failed.
class TargetShop {
 public:
  explicit TargetShop(const RunOptions& options)
      : driver_(*options.target, options.admin_token, nullptr, options.lease_holder) {}

  // Records the shop's baseline; returns the clock's offset then, when the shop says it.
  std::optional<std::int64_t> record_baseline() {
    driver_.discover(client_);
    auto res = post("/_admin/baseline", json::object());
    if (res.status == 404) {
      throw std::runtime_error(
          "the shop has no POST /_admin/baseline: it predates target mode's baseline "
          "(run a shopctl serve of this version)");
    }
    if (res.status != 200)
      throw std::runtime_error("POST /_admin/baseline answered " + std::to_string(res.status) +
                               ": " + trim_body(res.raw));
    const auto body = json_of(res);
    if (body.contains("clock") && body["clock"].is_object() &&
        body["clock"].contains("offset_ms") && body["clock"]["offset_ms"].is_number_integer())
      return body["clock"]["offset_ms"].get<std::int64_t>();
    return std::nullopt;
  }

  // Restores the baseline; returns the clock's offset then. The run's last restore says so
  // (`end_of_run`): the shop then knows the run ended and put back what it changed.
  std::int64_t restore(bool end_of_run = false) {
    // A target that stopped answering is not given a reset's 30 s: after its scenarios had
    // timed out, a hung shop held the run's end for half a minute more (an outside probe).
    try {
      driver_.admin(client_, "GET", "/_admin/services", std::nullopt, std::chrono::seconds(5),
                    "gateway");
    } catch (const std::exception& e) {
      throw std::runtime_error(e.what());
    }
    auto res = post("/_admin/reset", end_of_run ? json{{"end_of_run", true}} : json::object());
    if (res.status != 200)
      throw std::runtime_error(
          "the shop's baseline could not be restored: POST /_admin/reset answered " +
          std::to_string(res.status) + ": " + trim_body(res.raw));
    return json_of(res).at("clock").at("offset_ms").get<std::int64_t>();
  }

  // A scenario's `config:` and `seed:`, until the next restore.
  void apply(const Scenario& sc) {
    json body = sc.has_config() ? platform::yaml_to_json(sc.config) : json::object();
    if (sc.seed && !body.contains("seed")) body["seed"] = *sc.seed;
    if (body.empty()) return;
    auto res = post("/_admin/config", body);
    if (res.status != 200)
      throw std::runtime_error("the shop refused the scenario's config: " + trim_body(res.raw));
  }

 private:
  platform::AdminAnswer post(const std::string& path, const json& body) {
    try {
      return driver_.admin(client_, "POST", path, body, std::chrono::seconds(30), "gateway");
    } catch (const std::exception& e) {
      throw std::runtime_error(e.what());
    }
  }

  ShopDriver driver_;
  http::BlockingClient client_;
};

// --target: the scenarios that may share the shop run in parallel after one restore of the
// baseline; then each exclusive one runs alone after its own restore; a last restore leaves
// the shop as the run found it.
void run_against_target(const std::vector<Scenario>& scenarios,
                        const std::vector<std::size_t>& to_run, unsigned jobs,
                        const RunOptions& options, RunSummary& summary,
                        const std::function<void(std::size_t)>& report) {
  std::mutex mu;
  std::vector<std::size_t> shared, alone;
  std::map<std::size_t, std::string> reasons;
  for (auto i : to_run) {
    auto iso = isolation_of(scenarios[i], options.vars);
    if (iso.exclusive) {
      alone.push_back(i);
      reasons[i] = iso.reason;
    } else {
      shared.push_back(i);
    }
  }
  auto fail_all = [&](const std::vector<std::size_t>& indices, const std::string& message) {
    for (auto i : indices) {
      std::lock_guard lock(mu);
      summary.results[i] = error_result(scenarios[i], message);
      report(i);
    }
  };
  TargetShop shop(options);
  try {
    summary.target_clock_before_ms = shop.record_baseline();
  } catch (const std::exception& e) {
    fail_all(to_run, e.what());
    return;
  }
  if (options.on_baseline_recorded) options.on_baseline_recorded();
  if (!shared.empty()) {
    try {
      const auto offset = shop.restore();
      run_parallel(scenarios, shared, jobs, options, summary, report, mu, [&](ScenarioResult& r) {
        r.exclusive = false;
        r.clock_offset_ms = offset;
      });
    } catch (const std::exception& e) {
      fail_all(shared, e.what());
    }
  }
  for (auto i : alone) {
    ScenarioResult result;
    std::optional<std::int64_t> offset;
    if (options.stop->load()) {
      std::lock_guard lock(mu);
      summary.results[i] = skipped_by_fail_fast(scenarios[i], options);
      report(i);
      continue;
    }
    try {
      offset = shop.restore();
      shop.apply(scenarios[i]);
      result = run_one(scenarios[i], options);
    } catch (const std::exception& e) {
      result = error_result(scenarios[i], e.what());
    }
    if (options.fail_fast && failed(result)) options.stop->store(true);
    result.exclusive = true;
    result.exclusive_reason = reasons[i];
    result.clock_offset_ms = offset;
    std::lock_guard lock(mu);
    summary.results[i] = std::move(result);
    report(i);
  }
  // Once more at the end, whatever ran: a run of shared scenarios only (or ones declared
  // `exclusive: false` that changed the shop anyway) left its faults and prices behind.
  try {
    summary.target_clock_after_ms = shop.restore(/*end_of_run=*/true);
  } catch (const std::exception& e) {
    // In the summary, not on stderr: a program using the C++ API keeps its stderr.
    summary.target_restore_error = e.what();
  }
}

}  // namespace

unsigned in_process_jobs_cap() {
  return 2 * std::max(1u, std::thread::hardware_concurrency());
}

unsigned in_process_jobs_allowed() {
  const std::uint64_t files = http::raise_open_file_limit();
  constexpr std::uint64_t kReserve = 64;  // the runner's own: reports, clients, stdio
  if (files == 0 || files >= kReserve + 1024ull * kFilesPerShop) return 1024;
  return static_cast<unsigned>(
      std::max<std::uint64_t>(1, (files - std::min(files, kReserve)) / kFilesPerShop));
}

RunSummary run_scenarios(const std::vector<Scenario>& scenarios, const RunOptions& options,
                         const ProgressCallback& progress) {
  RunSummary summary;
  auto started = Clock::now();
  summary.started_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  summary.results.resize(scenarios.size());
  std::vector<std::size_t> to_run;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    if (selected_by_tags(scenarios[i], options)) {
      to_run.push_back(i);
    } else {
      auto& r = summary.results[i];
      r.name = scenarios[i].name;
      r.file = scenarios[i].file;
      r.tags = scenarios[i].tags;
      r.status = ScenarioStatus::skipped;
      r.skip_reason = tag_skip_reason(scenarios[i], options);
    }
  }
  unsigned jobs = options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  // More shops than open files allow failed most of a run with EMFILE (and ended it, before).
  // More than twice the cores' worth of in-process shops share the CPU so thinly that the
  // suite's latency expectations failed (--jobs 16 and 64 on two cores: an outside probe).
  if (!options.target) jobs = std::min({jobs, in_process_jobs_allowed(), in_process_jobs_cap()});
  int done = 0;
  const int total = static_cast<int>(to_run.size());
  // Called with the results' mutex held.
  auto report = [&](std::size_t i) {
    ++done;
    if (progress) progress(summary.results[i], done, total);
  };
  if (options.target) {
    run_against_target(scenarios, to_run, jobs, options, summary, report);
  } else {
    std::mutex mu;
    run_parallel(scenarios, to_run, jobs, options, summary, report, mu);
  }
  summary.duration_ms = ms_since(started);
  return summary;
}

namespace {

bool is_loopback_address(const std::string& host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace

std::vector<Diagnostic> validate_shop_config(const YAML::Node& config, const std::string& file) {
  shop::ShopConfig scratch;
  std::vector<Diagnostic> out;
  const auto issues = shop::apply_config(config, scratch, scenario_folder(file));
  for (const auto& issue : issues) {
    out.push_back(Diagnostic{file, issue.line, issue.column, issue.message});
  }
  // Whether a problem was already reported at `node` (its own value refused): the checks
  // below judge what apply_config took, and report beside every other problem (they waited
  // for none: a non-loopback host went unsaid while a typo elsewhere was said).
  auto reported_at = [&](const YAML::Node& node) {
    const int line = node.Mark().line + 1, column = node.Mark().column + 1;
    return std::any_of(issues.begin(), issues.end(), [&](const auto& issue) {
      return issue.line == line && issue.column == column;
    });
  };
  // A catalog file that is not there failed the run with exit 3 (the shop could not start),
  // which CI reads as a broken machine; validate said the scenario was fine.
  if (scratch.catalog_file && config && config.IsMap() && config["catalog"] &&
      config["catalog"].IsMap() && config["catalog"]["file"] &&
      !reported_at(config["catalog"]["file"])) {
    std::error_code ec;
    const auto mark = config["catalog"]["file"].Mark();
    if (!std::filesystem::is_regular_file(*scratch.catalog_file, ec)) {
      out.push_back(Diagnostic{file, mark.line + 1, mark.column + 1,
                               "catalog.file " + scratch.catalog_file->string() +
                                   " is not a file (a relative path is read from the "
                                   "scenario's folder)"});
    } else {
      // Read as the catalog reads it at its first start: a file that is there but no catalog
      // (invalid YAML, a missing field) passed validate and failed the run with exit 3.
      try {
        catalog::read_catalog_file(*scratch.catalog_file);
      } catch (const std::exception& e) {
        out.push_back(Diagnostic{file, mark.line + 1, mark.column + 1,
                                 "catalog.file is no catalog: " + std::string(e.what())});
      }
    }
  }
  // A scenario's shop takes free ports and a temporary folder of its own, and runs every
  // service: these keys were accepted and silently ignored (ports), or would have shared one
  // folder between parallel scenarios (data_dir).
  static const std::map<std::string, std::string> kNotForAScenario = {
      {"ports", "the scenario's shop listens on free ports of its own"},
      {"data_dir", "the scenario's shop keeps its databases in a temporary folder of its own"},
      {"only", "the scenario's shop runs every service in one process"},
      {"peers", "the scenario's shop runs every service in one process"},
      {"admin_port", "the scenario's shop has no process-wide admin port"},
  };
  if (config && config.IsMap()) {
    for (auto it = config.begin(); it != config.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      auto found = kNotForAScenario.find(it->first.Scalar());
      if (found == kNotForAScenario.end()) continue;
      auto mark = it->first.Mark();
      out.push_back(Diagnostic{file, mark.line + 1, mark.column + 1,
                               "config key '" + found->first + "' does not apply to a scenario: " +
                                   found->second + " (it belongs in shopctl serve --config)"});
    }
  }
  // The scenario's shop is on loopback (docs/scenarios.md): `host: 0.0.0.0` put it, with the
  // demo user's published password, on every interface of the machine. A loopback address is
  // the scenario's to pick.
  if (config && config.IsMap() && config["host"] && !reported_at(config["host"]) &&
      !is_loopback_address(scratch.host)) {
    const auto mark = config["host"].Mark();
    out.push_back(Diagnostic{file, mark.line + 1, mark.column + 1,
                             "host " + scratch.host +
                                 " is not a loopback address: a scenario's shop listens on this "
                                 "machine only (127.0.0.1, another 127.x.y.z, or ::1); serve "
                                 "--config takes other addresses"});
  }
  return out;
}

}  // namespace shopctl::scenario
