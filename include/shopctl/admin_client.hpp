#pragma once
// A client for the admin plane of a running shop (/_admin/ on every service, with the admin
// token): faults, the simulated clock, stopping and starting services, circuit breakers and
// the call records. It speaks HTTP, so the shop may be a shopctl::Shop in this process or a
// `shopctl serve` elsewhere. Part of the public API (docs/architecture.md, "The public C++
// API"): standard types only.
//
// Unless said otherwise, every call throws shopctl::Unreachable when no answer came and
// shopctl::AdminError when the shop answered with an error status.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl {

// No answer came from the shop: connection refused, reset, or the time limit passed.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The shop answered with an error status (a wrong admin token, a refused fault, an unknown
// service). what() holds the method, the path, the status and the shop's message.
class AdminError : public std::runtime_error {
 public:
  AdminError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  AdminError(const AdminError&) = default;
  AdminError& operator=(const AdminError&) = default;
  // Out of line: the vtable lives in the library (clang's -Wweak-vtables, which a consumer's
  // -Weverything -Werror turned into an error, is quiet).
  ~AdminError() override;
  int status() const { return status_; }

 private:
  int status_;
};

// One fault, field for field the flags of `shopctl fault add` (durations as text: "2s",
// "250ms"). Checked the way that command checks them: problems are reported in the words of
// its flags ("--delay applies to delay and slow_body faults"). docs/faults.md has the types.
struct FaultSpec {
  std::string target_service;  // required: the service that misbehaves
  std::string type;            // required: delay, hang, abort, reset, close, garbage, slow_body
  std::string id;              // empty: the shop picks one
  std::string from;            // only calls from this caller ("client" for outsiders)
  std::string method;          // only this method
  std::string path;            // glob: `*` within one segment, `**` across
  std::string delay;           // delay, slow_body: "2s"
  std::string jitter;          // delay, slow_body
  std::optional<int> status;   // abort: the answer's status
  // abort: the answer's body (JSON text or plain), sent as given ("" too); none: the
  // contract's error shape.
  std::optional<std::string> body;
  std::optional<double> bytes_per_second;  // slow_body
  // At most one of these four selects which matching calls the fault hits (default: all).
  std::optional<double> probability;
  std::optional<std::int64_t> first;
  std::optional<std::int64_t> every;
  std::optional<std::int64_t> after;
};

// Returns the wire JSON of `spec` (what POST /_admin/faults and `shopctl fault add --json`
// take). Throws std::invalid_argument with a message for a person.
std::string fault_json(const FaultSpec& spec);

// One service of a shop, as GET /_admin/services reports it.
struct ServiceInfo {
  std::string name;      // gateway, auth, catalog, order, payment, provider
  std::string url;       // http://127.0.0.1:PORT
  std::string database;  // the SQLite file; empty for the gateway
  bool running = false;
};

// One circuit breaker, as GET /_admin/circuit-breakers reports it.
struct BreakerState {
  std::string service;  // the service that owns it: order or payment
  std::string name;     // its edge: "order->catalog"
  std::string state;    // CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY
};

// Any answer of the admin plane, for routes without a call of their own.
struct AdminAnswer {
  int status = 0;
  std::string body;  // JSON text, as sent
  bool ok() const { return status >= 200 && status < 300; }
};

// Not thread-safe: one client per thread (each keeps its own connections), the const calls
// included: they change nothing in the shop (they only read it), but they use the client's
// connections. A client that was moved from throws std::logic_error on every call.
class AdminClient {
 public:
  // `base_url` is any service's URL, usually the gateway's ("http://127.0.0.1:8080");
  // `timeout` limits each request. Throws std::invalid_argument when it is not an http:// URL
  // with a host (and a port from 1 to 65535, when it names one) and no user name or password,
  // or the timeout is not above 0.
  // Connects lazily: constructing one sends nothing.
  AdminClient(std::string base_url, std::string admin_token,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~AdminClient();
  AdminClient(AdminClient&&) noexcept;
  AdminClient& operator=(AdminClient&&) noexcept;

  const std::string& base_url() const;

  // Sends one request with the admin token to base_url() + path ("/_admin/edges"); `json_body`
  // goes as application/json when not empty. Returns the answer whatever its status; throws
  // Unreachable, or std::invalid_argument when `json_body` is not JSON, the method is not an
  // upper-case word (GET) or the path does not start with / or holds spaces or control
  // characters.
  AdminAnswer send(const std::string& method, const std::string& path,
                   const std::string& json_body = "");

  // The shop's services (GET /_admin/services; served by the gateway).
  std::vector<ServiceInfo> services() const;
  // Takes a service down (connections refused), brings it back with its data, or both; crash
  // takes it down as if its process died. The gateway cannot be stopped (AdminError 409).
  void stop_service(const std::string& name);
  void start_service(const std::string& name);
  void restart_service(const std::string& name);
  void crash_service(const std::string& name);

  // Moves the shop's simulated clock forward; returns the clock's total offset afterwards.
  // Negative `by` does nothing. AdminError 400 past 100 years ahead in all.
  std::chrono::milliseconds advance_clock(std::chrono::milliseconds by);
  // The simulated clock's offset from real time.
  std::chrono::milliseconds clock_offset() const;

  // Switches a fault on; returns its id. Throws std::invalid_argument for a spec the shop
  // would refuse (checked here first), AdminError when the shop refuses it.
  std::string add_fault(const FaultSpec& spec);
  // The same from wire JSON text (`shopctl fault add --json`).
  std::string add_fault_json(const std::string& fault_json);
  // Switches one fault off. AdminError 404 when there is no such fault.
  void remove_fault(const std::string& id);
  void clear_faults();
  // GET /_admin/faults: {"items": [...]} with each fault's counters, as JSON text.
  std::string faults_json() const;

  // Every breaker of the shop (the order and payment services own them).
  std::vector<BreakerState> breakers() const;
  // Forces a breaker (by its edge, "order->catalog"): "FORCED_OPEN", "DISABLED",
  // "METRICS_ONLY", or "CLOSED" (back to normal). AdminError for an unknown breaker or state.
  void set_breaker(const std::string& edge, const std::string& state);

  // GET /_admin/calls?since=N: the call records and breaker transitions from sequence N, and
  // "next_seq" (docs/architecture.md, "Control plane"), as JSON text.
  std::string calls_json(std::uint64_t since = 0) const;
  // GET /_admin/edges: per-edge totals, as JSON text.
  std::string edges_json() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopctl
