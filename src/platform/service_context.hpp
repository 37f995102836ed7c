#pragma once
// What every service shares: the context it runs in (clock, faults, call records,
// credentials, peers, logs, limits), and the header names of the shop's internal protocol.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/clock.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/http/host_allowlist.hpp"
#include "platform/http/server.hpp"
#include "platform/observe/call_log.hpp"
#include "platform/observe/log.hpp"
#include "platform/observe/public_traffic.hpp"
#include "platform/peer_directory.hpp"
#include "platform/security/service_credential.hpp"
#include "platform/store/database.hpp"

namespace boost::asio {
class io_context;
}

namespace shopctl::platform {

inline constexpr std::string_view kAdminTokenHeader = "X-Admin-Token";
// On an admin request: "process" asks that process alone, never a fan-out across a split shop
// (ServiceContext::admin_fanout). The admin clients send it with every request: they fan out
// themselves.
inline constexpr std::string_view kAdminScopeHeader = "X-Admin-Scope";
// On an admin request of a run that holds the shop's run lease (docs/scenarios.md, "Two runs
// on one shop"): the lease's holder id. The process that keeps the lease refuses (409
// lease_lost) a request whose holder no longer holds it while another does: a run whose lease
// ran out reset the shop under the run that took it (an outside probe).
inline constexpr std::string_view kLeaseHolderHeader = "X-Shopctl-Lease";
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
  // The address every listener binds to (config `host`, `serve --bind`).
  std::string bind_host = "127.0.0.1";
  // Connection cap and timeouts of every listener (config `http:`).
  http::ServerLimits http_limits = {};
  // The names a request without a service credential may carry in Host (docs/security.md,
  // "Host names"); null allows every name.
  std::shared_ptr<const http::HostAllowlist> allowed_hosts = {};
  // Told of every public request the gateway answers (`serve --record`); empty: not recorded.
  PublicTrafficObserver public_traffic = {};
  // A shop split across processes (`serve --processes`, a deployment): answers an admin
  // request that concerns the whole shop (faults, the clock, services, calls, ...: what
  // AdminFanOut handles) for every process, when it does not ask for this process alone
  // (kAdminScopeHeader). The operator console and curl talk to the gateway only; a fault added
  // there for the catalog was kept in the gateway's process and never applied. Empty in a
  // shop of one process.
  http::Handler admin_fanout = {};
  // Keeps the clock's offset for the next start on this data folder (shop/identity.hpp,
  // clock.json); called with the offset an admin advance is about to reach, before the clock
  // moves, and throws when it cannot. Empty: a temporary folder, nothing kept.
  std::function<void(std::chrono::nanoseconds offset)> save_clock_offset = {};
  // Why an admin request of the lease holder `holder` (kLeaseHolderHeader) is refused: another
  // holder's lease has not run out; nothing when it may go on. Empty: no lease kept here.
  std::function<std::optional<std::string>(std::string_view holder)> lease_fence = {};

  // The address this process's services are called at from this process: the bind address,
  // or loopback when it binds every address (0.0.0.0, ::).
  std::string local_host() const;
  // The base URL of a port of this process: http://HOST:PORT, an IPv6 address in brackets.
  std::string local_url(unsigned short port) const;
  // True on a thread that runs `io` or one of `connection_ios`.
  bool running_in_io_thread() const;
  Synchronous synchronous_for(const std::string& database) const {
    auto it = synchronous.find(database);
    return it == synchronous.end() ? Synchronous::normal : it->second;
  }
};

// Moves the shop's clock forward by `by`, one advance at a time in the process: the offset it
// reaches is kept first (save_clock_offset), then the clock moves. Throws std::out_of_range
// when the offset would pass SimulatedClock::kMaxOffset, std::runtime_error when it cannot be
// kept; the clock has not moved then. The admin route and the C++ API's Shop both use it.
void advance_clock(ServiceContext& ctx, std::chrono::nanoseconds by);
// Moves it forward to the offset `to` (nothing when it is there or past it), as advance_clock
// does: a request that is sent again, or applied late, moves nothing more. The processes of a
// split shop are moved together this way (AdminFanOut).
void advance_clock_to(ServiceContext& ctx, std::chrono::nanoseconds to);

}  // namespace shopctl::platform
