// The operator console's read routes on the gateway's admin plane (web_routes.hpp). The
// gateway holds no business logic here either: it reads the shop-wide architecture it already
// shares, and asks the services' own admin planes (with the admin token, outside the call
// records: these are operator reads, not calls between services) for what only they hold.
#include <memory>

#include "platform/error.hpp"
#include "platform/json_text.hpp"
#include "platform/observe/architecture.hpp"
#include "services/gateway/web_routes.hpp"

namespace shopctl::gateway {

namespace asio = boost::asio;
namespace architecture = platform::architecture;
using http::Request;
using http::Response;

namespace {

constexpr std::chrono::seconds kAdminReadTimeout{2};

std::string_view kind_name(architecture::ComponentKind kind) {
  switch (kind) {
    case architecture::ComponentKind::outside:
      return "outside";
    case architecture::ComponentKind::door:
      return "door";
    case architecture::ComponentKind::service:
      return "service";
    case architecture::ComponentKind::external:
      return "external";
  }
  return "outside";
}

// One admin-plane client per service the console reads, for the gateway's whole life.
struct AdminPlanes {
  AdminPlanes(platform::ServiceContext& context) : ctx(context) {
    for (const char* name : {"order", "payment"}) {
      std::string service = name;
      // Pooled connections end before the peer's idle timeout would close them (as every
      // ServiceCaller's do: http::pooled_idle_limit).
      clients.emplace(service,
                      std::make_unique<http::Client>(http::ClientOptions{
                          .endpoint = [&peers = ctx.peers, service] { return peers.get(service); },
                          .max_idle_time = http::pooled_idle_limit(ctx.http_limits.idle_timeout)}));
    }
  }

  // GET `path` on `service`'s admin plane: its JSON answer, or {"reachable": false, "error"}
  // when it does not answer (stopped, crashed) or answers something that is not JSON.
  asio::awaitable<nlohmann::json> read(const std::string& service, const std::string& path) {
    Request out;
    out.method = "GET";
    out.target = path;
    out.headers.add(std::string(platform::kAdminTokenHeader), ctx.admin_token);
    std::string error;
    try {
      auto res = co_await clients.at(service)->send(std::move(out), kAdminReadTimeout);
      auto body = platform::parse_json_or_discarded(res.body);
      if (res.status == 200 && body.is_object()) {
        body["reachable"] = true;
        co_return body;
      }
      error = "answered " + std::to_string(res.status);
    } catch (const http::TransportError& e) {
      error = std::string(http::to_string(e.kind()));
    } catch (const std::exception& e) {  // not even a connection (an unknown port)
      error = e.what();
    }
    co_return nlohmann::json{{"reachable", false}, {"error", error}};
  }

  platform::ServiceContext& ctx;
  std::map<std::string, std::unique_ptr<http::Client>> clients;
};

}  // namespace

void add_console_routes(platform::ServiceContext& ctx, platform::ServiceHost& host) {
  auto any = http::Access::anyone();
  auto planes = std::make_shared<AdminPlanes>(ctx);
  auto& admin = host.admin_routes();
  admin.add("GET", "/_admin/console/architecture", any, [](Request&) -> asio::awaitable<Response> {
    nlohmann::json components = nlohmann::json::array();
    for (const auto& c : architecture::components()) {
      components.push_back({{"name", c.name}, {"kind", kind_name(c.kind)}, {"role", c.role}});
    }
    nlohmann::json edges = nlohmann::json::array();
    for (const auto& e : architecture::allowed_edges()) {
      edges.push_back({{"caller", e.caller},
                       {"callee", e.callee},
                       {"edge", e.caller + "->" + e.callee},
                       {"label", e.label},
                       {"recorded", e.recorded}});
    }
    co_return Response::json(200, {{"components", components}, {"allowed_edges", edges}});
  });
  admin.add("GET", "/_admin/console/breakers", any,
            [planes](Request&) -> asio::awaitable<Response> {
              nlohmann::json services = nlohmann::json::object();
              for (const char* name : {"order", "payment"}) {
                services[name] = co_await planes->read(name, "/_admin/circuit-breakers");
              }
              co_return Response::json(200, {{"services", services}});
            });
  admin.add("GET", "/_admin/console/outbox", any, [planes](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200, co_await planes->read("payment", "/_admin/outbox"));
  });
}

}  // namespace shopctl::gateway
