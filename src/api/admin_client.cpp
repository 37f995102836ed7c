// shopctl::AdminClient (include/shopctl/admin_client.hpp): the public face of
// platform::AdminClient, the one client of the admin plane.
#include "shopctl/admin_client.hpp"

#include <nlohmann/json.hpp>

#include "api/convert.hpp"
#include "observe_tools/fault_spec.hpp"
#include "platform/admin_client.hpp"
#include "platform/http/client.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"

namespace shopctl {

AdminError::~AdminError() = default;

using nlohmann::json;

std::string fault_json(const FaultSpec& spec) {
  return observe_tools::fault_json_from_flags(api::to_flags(spec)).dump();
}

struct AdminClient::Impl {
  platform::AdminClient client;

  Impl(std::string base_url, std::string token, std::chrono::milliseconds timeout)
      : client(checked_url(std::move(base_url)), checked_token(std::move(token)),
               checked_timeout(timeout)) {}

  // A base URL, as ScenarioRunner's target and `--target`: "http://host:port?x=1" answered
  // services() with an empty list and no error, and one with a path blamed a 404 on the route
  // (an outside probe). Trailing slashes are dropped.
  static std::string checked_url(std::string url) {
    while (url.size() > 7 && url.back() == '/') url.pop_back();
    if (url.rfind("http://", 0) == 0 && url.find_first_of("/?#", 7) != std::string::npos)
      throw std::invalid_argument(
          "give the shop's base URL, like http://127.0.0.1:8080, without a path, query or "
          "fragment; got '" +
          platform::terminal_text(url.substr(0, 200), true) + "'");
    return url;
  }

  // A token with a line break or another control character was dropped from every request
  // without a word, and the shop's 401 blamed a missing token.
  static std::string checked_token(std::string token) {
    for (unsigned char c : token) {
      if (c < 0x21 || c == 0x7f)
        throw std::invalid_argument(
            "the admin token holds a space or a control character; give it as the shop printed "
            "it (adm_...)");
    }
    return token;
  }

  // A timeout of 0 or less failed every call as "timed out" without sending it.
  static std::chrono::milliseconds checked_timeout(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0)
      throw std::invalid_argument("the timeout must be above 0, got " +
                                  std::to_string(timeout.count()) + " ms");
    return timeout;
  }

  // Sends; turns a transport failure into Unreachable.
  platform::AdminAnswer send(const std::string& method, const std::string& path,
                             const std::optional<json>& body = std::nullopt) {
    try {
      return client.send(method, path, body);
    } catch (const http::TransportError& e) {
      throw Unreachable("cannot reach " + client.base_url() + " (" + method + " " + path +
                        "): " + e.what());
    }
  }
  // Sends and insists on a 2xx answer whose body is a JSON object, as every admin answer is;
  // returns it.
  json expect(const std::string& method, const std::string& path,
              const std::optional<json>& body = std::nullopt) {
    auto answer = send(method, path, body);
    if (!answer.ok()) {
      throw AdminError(answer.status, method + " " + path + " answered " +
                                          std::to_string(answer.status) + ": " +
                                          answer.error_message());
    }
    if (!answer.body.is_object()) unreadable(answer.status, method, path, "not a JSON object");
    return answer.body;
  }
  // A 2xx answer that is not the admin plane's (another program on the port, a proxy's page,
  // a shop of another version): AdminError, as the header promises. nlohmann::json's own
  // type_error escaped (not even a std::runtime_error), or a call returned nothing at all: an
  // empty service list, a fault id "" (an outside probe).
  [[noreturn]] void unreadable(int status, const std::string& method, const std::string& path,
                               const std::string& what) const {
    throw AdminError(status, method + " " + path + " answered " + std::to_string(status) +
                                 ", but not as a shopctl admin plane answers (" + what + "): is " +
                                 client.base_url() + " a shopctl shop?");
  }
  // A member of an answer, of the type asked for.
  template <typename T>
  T member(const json& answer, const char* name, const std::string& method,
           const std::string& path) const {
    const auto it = answer.find(name);
    const bool fits = it != answer.end() && (std::is_same_v<T, std::string> ? it->is_string()
                                             : std::is_same_v<T, bool>      ? it->is_boolean()
                                                                       : it->is_number_integer());
    if (!fits) unreadable(200, method, path, std::string("no ") + name + " of the right type");
    return it->template get<T>();
  }
  // GET /_admin/services, each item checked.
  std::vector<ServiceInfo> services() {
    const std::string path = "/_admin/services";
    auto answer = expect("GET", path);
    const auto items = answer.find("items");
    if (items == answer.end() || !items->is_array()) unreadable(200, "GET", path, "no items");
    for (const auto& item : *items) {
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
          (item.contains("url") && !item["url"].is_string()) ||
          (item.contains("database") && !item["database"].is_string()) ||
          (item.contains("running") && !item["running"].is_boolean()))
        unreadable(200, "GET", path, "an item that is no service");
    }
    return api::services_from_json(answer);
  }
  // The name as one path segment: "catalog/stop?" went as it was, and start_service stopped
  // the catalog (an outside probe).
  void control(const std::string& name, const char* action) {
    expect("POST", "/_admin/services/" + http::percent_encode(name) + "/" + action);
  }
};

AdminClient::AdminClient(std::string base_url, std::string admin_token,
                         std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(base_url), std::move(admin_token), timeout)) {}
AdminClient::~AdminClient() = default;
AdminClient::AdminClient(AdminClient&&) noexcept = default;
AdminClient& AdminClient::operator=(AdminClient&&) noexcept = default;

const std::string& AdminClient::base_url() const {
  auto& self = api::live(impl_, "AdminClient");
  return self.client.base_url();
}

AdminAnswer AdminClient::send(const std::string& method, const std::string& path,
                              const std::string& json_body) {
  std::optional<json> body;
  if (!json_body.empty()) {
    body = platform::parse_json_or_discarded(json_body);
    if (body->is_discarded()) throw std::invalid_argument("the request body is not JSON");
  }
  auto answer = api::live(impl_, "AdminClient").send(method, path, body);
  return AdminAnswer{answer.status, std::move(answer.raw)};
}

std::vector<ServiceInfo> AdminClient::services() const {
  auto& self = api::live(impl_, "AdminClient");
  return self.services();
}

void AdminClient::stop_service(const std::string& name) {
  auto& self = api::live(impl_, "AdminClient");
  self.control(name, "stop");
}
void AdminClient::start_service(const std::string& name) {
  auto& self = api::live(impl_, "AdminClient");
  self.control(name, "start");
}
void AdminClient::restart_service(const std::string& name) {
  auto& self = api::live(impl_, "AdminClient");
  self.control(name, "restart");
}
void AdminClient::crash_service(const std::string& name) {
  auto& self = api::live(impl_, "AdminClient");
  self.control(name, "crash");
}

std::chrono::milliseconds AdminClient::advance_clock(std::chrono::milliseconds by) {
  auto& self = api::live(impl_, "AdminClient");
  // As Shop::advance_clock: a negative step does nothing (the clock only moves forward).
  auto answer =
      self.expect("POST", "/_admin/clock/advance",
                  json{{"by", std::to_string(std::max<std::int64_t>(0, by.count())) + "ms"}});
  return std::chrono::milliseconds(
      self.member<std::int64_t>(answer, "offset_ms", "POST", "/_admin/clock/advance"));
}

std::chrono::milliseconds AdminClient::clock_offset() const {
  auto& self = api::live(impl_, "AdminClient");
  auto answer = self.expect("GET", "/_admin/clock");
  return std::chrono::milliseconds(
      self.member<std::int64_t>(answer, "offset_ms", "GET", "/_admin/clock"));
}

std::string AdminClient::add_fault(const FaultSpec& spec) {
  auto& self = api::live(impl_, "AdminClient");
  auto fault = observe_tools::fault_json_from_flags(api::to_flags(spec));
  return self.member<std::string>(self.expect("POST", "/_admin/faults", fault), "id", "POST",
                                  "/_admin/faults");
}

std::string AdminClient::add_fault_json(const std::string& fault_json) {
  auto& self = api::live(impl_, "AdminClient");
  auto fault = observe_tools::fault_json_from_text(fault_json);
  return self.member<std::string>(self.expect("POST", "/_admin/faults", fault), "id", "POST",
                                  "/_admin/faults");
}

void AdminClient::remove_fault(const std::string& id) {
  auto& self = api::live(impl_, "AdminClient");
  // DELETE /_admin/faults/ is the table's clear (a trailing '/' reaches the same route): an
  // empty id switched every fault off (an outside probe). No fault has one.
  if (id.empty())
    throw AdminError(404,
                     "DELETE /_admin/faults/{id}: no fault has an empty id (clear_faults() "
                     "switches them all off)");
  self.expect("DELETE", "/_admin/faults/" + http::percent_encode(id));
}

void AdminClient::clear_faults() {
  auto& self = api::live(impl_, "AdminClient");
  self.expect("DELETE", "/_admin/faults");
}

std::string AdminClient::faults_json() const {
  auto& self = api::live(impl_, "AdminClient");
  return self.expect("GET", "/_admin/faults").dump();
}

std::vector<BreakerState> AdminClient::breakers() const {
  auto& self = api::live(impl_, "AdminClient");
  std::vector<BreakerState> out;
  for (const auto& service : services()) {
    if (!service.running || service.url.empty()) continue;
    platform::AdminClient plane(service.url, self.client.admin_token(), self.client.timeout());
    platform::AdminAnswer answer;
    try {
      answer = plane.send("GET", "/_admin/circuit-breakers");
    } catch (const http::TransportError& e) {
      throw Unreachable("cannot reach " + service.url + ": " + e.what());
    }
    if (answer.status == 404) continue;  // a service without breakers
    if (!answer.ok()) {
      throw AdminError(answer.status,
                       "GET " + service.name + " /_admin/circuit-breakers answered " +
                           std::to_string(answer.status) + ": " + answer.error_message());
    }
    const auto items = answer.body.is_object() ? answer.body.find("items") : answer.body.end();
    if (items == answer.body.end() || !items->is_array())
      self.unreadable(answer.status, "GET", service.url + "/_admin/circuit-breakers", "no items");
    for (const auto& item : *items) {
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
          !item.contains("state") || !item["state"].is_string())
        self.unreadable(answer.status, "GET", service.url + "/_admin/circuit-breakers",
                        "an item that is no circuit breaker");
      out.push_back(
          {service.name, item["name"].get<std::string>(), item["state"].get<std::string>()});
    }
  }
  return out;
}

void AdminClient::set_breaker(const std::string& edge, const std::string& state) {
  auto& self = api::live(impl_, "AdminClient");
  // The breaker belongs to the service at the start of its edge ("order->catalog": order).
  auto owner = edge.substr(0, edge.find("->"));
  std::string url;
  for (const auto& service : services()) {
    if (service.name == owner) url = service.url;
  }
  if (url.empty())
    throw AdminError(404, "POST /_admin/circuit-breakers/" + http::percent_encode(edge) +
                              " answered 404: no circuit breaker by that name (the service "
                              "before -> is not in the shop: GET /_admin/services)");
  AdminClient plane(url, self.client.admin_token(),
                    std::chrono::duration_cast<std::chrono::milliseconds>(self.client.timeout()));
  plane.impl_->expect("POST", "/_admin/circuit-breakers/" + http::percent_encode(edge),
                      json{{"state", state}});
}

std::string AdminClient::calls_json(std::uint64_t since) const {
  auto& self = api::live(impl_, "AdminClient");
  return self.expect("GET", "/_admin/calls?since=" + std::to_string(since)).dump();
}

std::string AdminClient::edges_json() const {
  auto& self = api::live(impl_, "AdminClient");
  return self.expect("GET", "/_admin/edges").dump();
}

}  // namespace shopctl
