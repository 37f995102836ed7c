#pragma once
// The host that puts a service on a port: the one request pipeline of the shop. Each request
// goes through its stages in order (service_host.cpp): trace context, caller identification,
// operator endpoints, the fault point, the allowed-caller gate, routing, the handler, error
// rendering, then the call record, metrics and log line.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "platform/http/router.hpp"
#include "platform/http/server.hpp"
#include "platform/observe/metrics.hpp"
#include "platform/service_context.hpp"

namespace shopctl::platform {

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
  // After stop(), crash() or shutdown(): no request of this service takes another step once
  // it returns (http::Server::finish_sessions).
  void finish_sessions(std::chrono::milliseconds grace);
  bool running() const;
  std::uint16_t port() const;
  void set_ready(bool ready) { ready_ = ready; }

  // The pipeline the server runs for each request (credential, fault point, routing, handler,
  // error rendering, records), without the socket: the seam of the HTTP fuzz target.
  boost::asio::awaitable<http::Response> serve(http::Request& req) { return handle(req); }

  // For a host that stands for an outside party (the payment provider): names a caller that
  // carries no service credential from what it does carry (an API key), for the fault point's
  // `from`, logs and handlers. Returns empty when it cannot tell. Set before start().
  using CallerIdentifier = std::function<std::string(const http::Request&)>;
  void set_outside_caller(CallerIdentifier identify) {
    identify_outside_caller_ = std::move(identify);
  }

  // A check of the host's own on a request's head, for a request whose body has not come with
  // it (refuse_at_head): the gateway's refuses a route that needs a user without a valid JWT.
  // Returns the refusal, or nothing. Set before start().
  using HeadGate = std::function<std::optional<http::Response>(http::Request&)>;
  void set_head_gate(HeadGate gate) { head_gate_ = std::move(gate); }
  // Paths no fault applies to, as the admin plane: the operator's own pages (the console),
  // which a fault on this service would otherwise take away from the one who can clear it.
  // An entry ending in "/" covers every path under it. Before start() only.
  void exempt_from_faults(std::string path) { fault_exempt_.push_back(std::move(path)); }

 private:
  // What the first stages learn of a request, for the later ones.
  struct Caller {
    bool has_credential = false;     // an X-Service-Token came with it
    std::string credential_problem;  // why that token was refused; empty when it was valid
    std::string fault_label;         // req.caller, or "client" for an outsider
  };

  boost::asio::awaitable<http::Response> handle(http::Request& req);
  // The stages of handle(), in order. Each returns the answer when it ends the request.
  void begin_trace(http::Request& req) const;
  Caller identify_caller(http::Request& req) const;
  bool misdirected(const http::Request& req, const Caller& caller) const;
  http::Response host_refused(const http::Request& req);
  static bool is_operator_path(std::string_view path);
  boost::asio::awaitable<http::Response> operator_endpoint(http::Request& req,
                                                           std::string_view& route_label);
  std::optional<http::Response> fault_answer(const FaultDecision& fault, http::Request& req);
  // The allowed-caller gate: `route` null checks the whole port (an internal one), else that
  // route's access rule. Records a violation when it refuses.
  std::optional<http::Response> refuse_caller(const http::Request& req, const Caller& caller,
                                              const http::Route* route);
  http::Response unmatched(const http::Request& req, const http::Router::Match& match);
  http::Response malformed_path(const http::Request& req);
  http::Response malformed_query(const http::Request& req);
  // The gate and routing: the route whose handler answers, or null with the answer in
  // `answer` (a refusal, 404 or 405). Not a coroutine: the handler runs in handle()'s frame.
  const http::Route* route_request(http::Request& req, const Caller& caller,
                                   std::string_view& route_label, http::Response& answer);
  // The fault point's decision for this request: whether a fault answers in its place (then
  // in `res`), how long to wait first, and whether the answer trickles (slow_body).
  struct FaultPlan {
    bool ends = false;
    std::chrono::nanoseconds delay{0};
    bool slow_body = false;
    double bytes_per_second = 0;
  };
  FaultPlan plan_fault(http::Request& req, const Caller& caller, http::Response& res);
  static boost::asio::awaitable<void> pause(std::chrono::nanoseconds delay);
  http::Response render_exception(const http::Request& req, std::string_view route_label);
  void finish(const http::Request& req, http::Response& res, std::string_view route_label,
              const Caller& caller, std::chrono::steady_clock::time_point started);

  boost::asio::awaitable<http::Response> handle_admin(http::Request& req);
  // The admin token's check: the refusal (401) when it is missing or wrong.
  std::optional<http::Response> refuse_admin(const http::Request& req);
  // What the pipeline would answer from the head alone, when that is a refusal (the server's
  // ServerOptions::refuse_at_head, for a request whose body is still to come): the host that
  // was not allowed, the admin token, the caller gate, a path with no route, the head gate.
  std::optional<http::Response> refuse_at_head(http::Request& req);
  // ServerOptions::on_unread_request: counts and logs an answer the HTTP layer wrote itself.
  void unread_request(const http::Response& res);
  http::Response error_response(const std::string& trace_id, int status, const std::string& code,
                                const std::string& message,
                                const nlohmann::json& details = nlohmann::json::object());
  void record_violation(const http::Request& req, const std::string& caller,
                        const std::string& reason, int status);
  void add_common_admin_routes();
  // Whether every route needs a service credential (an internal port), which callers any
  // route accepts, and which callers may state the user (X-User-Id); computed at start().
  void prepare_caller_gate();

  ServiceContext& ctx_;
  std::string service_;
  http::Router routes_;
  http::Router admin_routes_;
  Metrics metrics_;
  std::unique_ptr<http::Server> server_;
  std::atomic<bool> ready_{true};
  // Written once, by the first start(), before any request: routes never change afterwards.
  bool gate_prepared_ = false;
  bool internal_only_ = false;
  std::set<std::string, std::less<>> known_callers_;
  // The shop's door (architecture: ComponentKind::door) states the user it authenticated.
  std::set<std::string, std::less<>> user_forwarders_;
  CallerIdentifier identify_outside_caller_;
  HeadGate head_gate_;
  std::vector<std::string> fault_exempt_;
  // The warn lines of violations, at most kViolationLinesPerSecond a second (record_violation).
  LineBudget violation_lines_{20};  // 20 violations logged a second at most
};

// The 404 `route_not_found` of a request no route answers ("no route for GET /x"): the host's
// own, and a service's catch-all route that answers some clients otherwise.
http::Response route_not_found(const http::Request& req);

// The body of GET /_admin/calls for records since `since` (JSON text).
std::string calls_json_text(const CallLog& log, std::uint64_t since, bool with_records = true);

}  // namespace shopctl::platform
