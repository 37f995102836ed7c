#pragma once
// A service of the shop: a host on a port (service_host.hpp) plus, for most, a database of
// its own, with the lifecycle the shop drives: start, stop, crash, shutdown.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "platform/peer_directory.hpp"
#include "platform/service_caller.hpp"
#include "platform/service_context.hpp"
#include "platform/service_host.hpp"
#include "platform/trace_context.hpp"

namespace shopctl::platform {

class ResilientCaller;

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
  // Its protected outbound edges (retry, breaker, time limit), for the shop's run-time
  // settings and resets; none for a service that calls nobody through one.
  virtual std::vector<ResilientCaller*> edges() { return {}; }

  // Brings the service up: opens its storage, binds its port (the same one on every start),
  // then starts background work.
  void start();
  // start() in two halves, for a shop that starts all its services: each opens its storage
  // and binds its port first, then each starts its background work. Payment's outbox, begun
  // before order listened, sent the callbacks it kept to a sibling not yet there; those
  // failures filled payment -> order's window, which opened it once order answered, and a
  // kept callback waited ~38 s (an outside probe). start_background_work() does nothing on
  // a service that is not running.
  void start_serving();
  void start_background_work();
  // Takes it down at once (connections refused), lets the requests in flight finish (up to
  // 1 s; the rest are abandoned, as by crash()), stops background work, closes storage. Once it
  // returns, no request of the service takes another step.
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

}  // namespace shopctl::platform
