#pragma once
// An HTTP/1.1 server on Boost.Beast with C++20 coroutines: keep-alive, the contract's request
// limits (413 body, 431 headers), a connection cap, header, body and idle timeouts, a hard stop
// (the service goes down: connections refused) and a graceful one (in-flight requests finish).
// Hostile input gets a 4xx or a closed connection: a target that is not origin-form is 400,
// HEAD is answered with the head only, and no response field carrying CR, LF or NUL is written.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "platform/http/message.hpp"

namespace boost::asio {
class io_context;
}

namespace shopctl::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

// The limits every listener of the shop applies (config `http:`; see docs/security.md).
struct ServerLimits {
  // Open connections per listener; one more is answered 503 and closed at once.
  std::size_t max_connections = 10'000;
  // From the first byte of a request to the end of its headers (slowloris).
  std::chrono::milliseconds header_timeout{10'000};
  // Reading the body once the headers are in, and writing the answer.
  std::chrono::milliseconds body_timeout{30'000};
  // A keep-alive connection with no request in it.
  std::chrono::milliseconds idle_timeout{60'000};
  // A body still arriving this long after its head may be closed to make room on a full
  // listener, when no connection is idle (server.cpp, make_room_locked).
  std::chrono::milliseconds stalled_body{1'000};
};

struct ServerOptions {
  std::string name = "server";  // for logs
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, kept across stop()/start()
  std::size_t body_limit = 1 << 20;
  std::size_t header_limit = 16 * 1024;
  ServerLimits limits;
  // When not empty: io_contexts each run by exactly one thread; accepted connections are
  // spread over them and each stays on its own for its whole life (no strand needed). Empty:
  // each connection gets a strand of the server's io_context.
  std::vector<boost::asio::io_context*> connection_ios;
  // Asked once a request's head is in while its body is still to come (not with the head in
  // the read buffer): an answer it returns is written at once and the connection closed, the
  // body never waited for. A request its head already refuses (no credential, no route) held
  // its connection, and a slot of max_connections that is never closed to make room, for the
  // whole body timeout: 10,050 heads with no body kept a service from its own callers.
  std::function<std::optional<Response>(Request&)> refuse_at_head;
  // Told of each answer the server writes on its own for a request it could not read whole (a
  // malformed head, a head or body too large, a body the process has no budget for): the
  // handler never sees those, and they were neither counted nor logged (an outside probe).
  // Not for refuse_at_head's answers (its caller counts them) nor a connection refused at
  // accept (under overload, where nothing more is done).
  std::function<void(const Response&)> on_unread_request;
};

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Throws std::system_error when the port cannot be bound.
  void start();
  // Closes the listener and every connection at once, in-flight requests included: the
  // service is down and connections are refused. Returns after the listener is closed.
  void stop();
  // As stop(), and abandons the requests in flight, as a process that dies would: each one's
  // coroutine is cancelled, so its next co_await throws (operation_aborted) and it does no
  // further work. Returns once every session has been told (called on one of the server's
  // io threads: at once, without waiting); they unwind on their io threads afterwards.
  void abandon();
  // Closes the listener, lets in-flight requests finish (up to `grace`), then closes the rest.
  void shutdown(std::chrono::milliseconds grace);
  // Ends what stop() or shutdown() left running: waits up to `grace` for the requests still in
  // flight to finish, abandons the rest (as abandon() does), and waits (at most 2 s more) until
  // every session has ended. After it, no request of this server takes another step, so what
  // the handler refers to may be destroyed. On one of the server's io threads it only
  // abandons, without waiting.
  void finish_sessions(std::chrono::milliseconds grace);
  bool running() const;
  // The bound port (valid after the first start()).
  std::uint16_t port() const;
  std::size_t open_connections() const;
  // Accepts that failed (EMFILE, ENFILE, ENOBUFS, ...) since construction; each is followed by
  // a pause before the next accept (10 ms doubling to 1 s), never a spin.
  std::uint64_t accept_failures() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit (once a listener may hold
// max_connections sockets, the default soft limit of 1024 is the first wall). Returns the soft
// limit in force afterwards. Idempotent; never throws.
std::uint64_t raise_open_file_limit() noexcept;

// Every listener of this process draws its connections from one budget, so that clients can
// never take the file descriptors the process needs for its own work (its connections between
// services, its databases, its logs): a connection past it is answered like one past
// ServerLimits::max_connections (503 too_many_connections, closed at once). By default the
// soft RLIMIT_NOFILE in force (the shop raises it to the hard limit at start) less a fifth of
// it, at least 256 kept back.
std::size_t inbound_connection_budget();
// Replaces the default budget (tests; 0 restores the default).
void set_inbound_connection_budget(std::size_t connections);
// Connections the listeners of this process hold now.
std::size_t inbound_connections();
// How many times the process handed freed memory back to the system after a flood of
// connections ended (at least 1,000 held, then an eighth of that; glibc only).
std::uint64_t allocator_trims();

// Bytes of request bodies the listeners of this process may hold at once while they arrive: a
// request whose body is not complete with its head holds min(Content-Length, body limit) of
// the budget (the body limit when it is chunked) until its answer is written. A request past
// it is answered 503 too_busy (Retry-After: 1) and its connection closed, unread. Without it,
// connections each sending most of a 1 MiB body slowly held 1 MiB apiece (500 held 400 MB;
// 10,000 connections are allowed). Default 256 MiB: 256 such bodies at once.
std::size_t inbound_body_budget();
// Replaces the default budget (tests; 0 restores the default).
void set_inbound_body_budget(std::size_t bytes);
// Bytes of the body budget held now.
std::size_t inbound_body_bytes();

// A TCP port free on loopback now (bound to port 0, then released: another process may take
// it before the caller binds it). Throws std::runtime_error when none can be had.
std::uint16_t pick_free_port();

}  // namespace shopctl::http
