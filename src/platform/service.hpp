#pragma once
// What every service shares: the context it runs in (clock, faults, call records,
// credentials, peers, logs, metrics) and the host that puts a service on a port. The host is
// the one request pipeline of the shop: trace id, caller identification, the fault point,
// the allowed-caller check, routing, error rendering, call records, metrics and logs.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "platform/clock.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/http/client.hpp"
#include "platform/http/router.hpp"
#include "platform/http/server.hpp"
#include "platform/observe/call_log.hpp"
#include "platform/observe/log.hpp"
#include "platform/observe/metrics.hpp"
#include "platform/security/service_credential.hpp"
#include "platform/store/database.hpp"

namespace boost::asio {
class io_context;
}

namespace shopctl::platform {

// Where each service of the shop listens; filled in as servers bind.
class PeerDirectory {
 public:
  void set(const std::string& service, http::Endpoint endpoint);
  // Returns the endpoint of `service`, or port 0 when it is unknown.
  http::Endpoint get(const std::string& service) const;
  std::map<std::string, http::Endpoint> all() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, http::Endpoint> peers_;
};

inline constexpr std::string_view kAdminTokenHeader = "X-Admin-Token";
inline constexpr std::string_view kUserIdHeader = "X-User-Id";
inline constexpr std::string_view kTraceIdHeader = "X-Trace-Id";

// Shop-wide objects every service sees. Owned by the shop; outlives every service.
struct ServiceContext {
  boost::asio::io_context& io;
  SimulatedClock& clock;
  FaultTable& faults;
  CallLog& calls;
  security::ServiceCredentials& credentials;
  PeerDirectory& peers;
  Logger& log;
  std::string admin_token;
  std::filesystem::path data_dir;
  // The io_contexts that serve connections, `io` among them, each run by exactly one thread:
  // a connection lives on one of them for its whole life (no strands, no cross-thread hand-
  // offs). Empty: connections live on strands of `io`.
  std::vector<boost::asio::io_context*> connection_ios = {};
  // What a commit promises, by database (auth, catalog, order, payment, provider); a database
  // not named here gets Synchronous::normal.
  std::map<std::string, Synchronous> synchronous = {};
  // Connection cap and timeouts of every listener (config `http:`).
  http::ServerLimits http_limits = {};

  // True on a thread that runs `io` or one of `connection_ios`.
  bool running_in_io_thread() const;
  Synchronous synchronous_for(const std::string& database) const {
    auto it = synchronous.find(database);
    return it == synchronous.end() ? Synchronous::normal : it->second;
  }
};

// The W3C trace context of one request.
struct TraceContext {
  std::string trace_id;  // 32 hex digits
  std::string span_id;   // 16 hex digits, this hop
  std::string traceparent() const;
  // A new span of the same trace, for an outbound call.
  TraceContext child() const;
  static TraceContext fresh();
  // Parses a `traceparent` header; nullopt when malformed.
  static std::optional<TraceContext> parse(std::string_view header);
};

// How an outbound edge proves who is calling. Between the shop's services: the caller's
// internal service credential (X-Service-Token). To an outside party (the payment provider):
// the API key that party issued, as `Authorization: Bearer <key>`; the internal credential
// never leaves the shop on such an edge (an outsider holding it could call every service).
// None: an outside party calling into the shop's public surface, where what proves the caller
// travels in the request itself (the provider's signed webhooks).
struct EdgeCredential {
  enum class Kind { service_token, bearer, none };
  Kind kind = Kind::service_token;
  std::string token;  // the bearer key; unused for service_token

  static EdgeCredential service_token() { return {}; }
  static EdgeCredential bearer(std::string api_key) {
    return {Kind::bearer, std::move(api_key)};
  }
  static EdgeCredential none() { return {Kind::none, {}}; }
};

// A service's view of one outbound edge: adds its credential and the trace context, records
// the call, and reports failures as TransportError. Retries and breakers sit above it.
class ServiceCaller {
 public:
  ServiceCaller(ServiceContext& ctx, std::string caller, std::string callee, Metrics* metrics,
                EdgeCredential credential = EdgeCredential::service_token());

  struct Result {
    http::Response response;
    std::chrono::nanoseconds duration;
  };
  // One attempt with one deadline. Records it (with `attempt`). Throws TransportError.
  boost::asio::awaitable<Result> call(http::Request request, std::chrono::nanoseconds timeout,
                                      const std::string& trace_id, int attempt = 1);
  // Records an attempt that a circuit breaker refused before any network activity.
  void record_refused(const http::Request& request, const std::string& trace_id, int attempt);
  const std::string& callee() const { return callee_; }
  const std::string& caller() const { return caller_; }
  http::Client& client() { return client_; }

 private:
  ServiceContext& ctx_;
  std::string caller_;
  std::string callee_;
  Metrics* metrics_;
  EdgeCredential credential_;
  http::Client client_;
};

// Puts one service on a port and runs every request through the pipeline.
class ServiceHost {
 public:
  ServiceHost(ServiceContext& ctx, std::string service, std::uint16_t port);
  ~ServiceHost();

  http::Router& routes() { return routes_; }
  // Routes under /_admin/ (the admin token is checked before they run).
  http::Router& admin_routes() { return admin_routes_; }
  Metrics& metrics() { return metrics_; }
  const std::string& name() const { return service_; }
  ServiceContext& context() { return ctx_; }

  void start();  // binds (same port on every restart) and publishes it in the peer directory
  void stop();   // hard stop: the service is down
  void crash();  // as stop(), and the requests in flight are abandoned (http::Server::abandon)
  void shutdown(std::chrono::milliseconds grace);
  bool running() const;
  std::uint16_t port() const;
  void set_ready(bool ready) { ready_ = ready; }

  // The pipeline the server runs for each request (credential, fault point, routing, handler,
  // error rendering, records), without the socket: the seam of the HTTP fuzz target.
  boost::asio::awaitable<http::Response> serve(http::Request& req) { return handle(req); }

  // Whether the gateway treats callers without a credential as the public ("client").
  void set_public_door(bool is_public) { public_door_ = is_public; }

  // For a host that stands for an outside party (the payment provider): names a caller that
  // carries no service credential from what it does carry (an API key), for the fault point's
  // `from`, logs and handlers. Returns empty when it cannot tell. Set before start().
  using CallerIdentifier = std::function<std::string(const http::Request&)>;
  void set_outside_caller(CallerIdentifier identify) { identify_outside_caller_ = std::move(identify); }

 private:
  boost::asio::awaitable<http::Response> handle(http::Request& req);
  boost::asio::awaitable<http::Response> handle_admin(http::Request& req);
  http::Response error_response(const std::string& trace_id, int status, const std::string& code,
                                const std::string& message,
                                const nlohmann::json& details = nlohmann::json::object());
  void record_violation(const http::Request& req, const std::string& caller,
                        const std::string& reason, int status);
  void add_common_admin_routes();
  // Whether every route needs a service credential (an internal port), and which callers any
  // route accepts; computed from the routes at start().
  void prepare_caller_gate();

  ServiceContext& ctx_;
  std::string service_;
  http::Router routes_;
  http::Router admin_routes_;
  Metrics metrics_;
  std::unique_ptr<http::Server> server_;
  std::atomic<bool> ready_{true};
  bool public_door_ = false;
  // Written once, by the first start(), before any request: routes never change afterwards.
  bool gate_prepared_ = false;
  bool internal_only_ = false;
  std::set<std::string, std::less<>> known_callers_;
  CallerIdentifier identify_outside_caller_;
};

// A service of the shop: a host on a port plus, for most, a database of its own. Subclasses
// register their routes in their constructor and override the storage and background hooks.
class Service {
 public:
  Service(ServiceContext& ctx, std::string name, std::uint16_t port);
  virtual ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& name() const { return host_.name(); }
  ServiceHost& host() { return host_; }
  // The service's database file, or empty when it keeps none (the gateway).
  virtual std::filesystem::path database_file() const { return {}; }

  // Brings the service up: opens its storage, binds its port (the same one on every start),
  // then starts background work.
  void start();
  // Takes it down at once (connections refused), stops background work, closes storage.
  void stop();
  // An abrupt stop, as if the process died: connections are dropped, the requests in flight
  // are abandoned (their coroutines are cancelled: each fails at its next co_await, database
  // steps included, and does nothing more), background loops are abandoned without waiting
  // for their pass, and storage is closed (work already handed to the database finishes, as
  // a transaction that committed just before a crash would). start() brings it back; what
  // the crash left half-done is then the service's start-up recovery's business.
  void crash();
  // Stops accepting, lets in-flight requests finish (up to `grace`), then as stop().
  void shutdown(std::chrono::milliseconds grace);
  bool running() const { return host_.running(); }

 protected:
  virtual void open_storage() {}
  virtual void close_storage() {}
  virtual void start_background() {}
  virtual void stop_background() {}

  ServiceContext& ctx_;
  ServiceHost host_;
};

// The content of GET /_admin/calls for records since `since`.
nlohmann::json calls_json(const CallLog& log, std::uint64_t since);

}  // namespace shopctl::platform
