#pragma once
// An HTTP/1.1 client with a keep-alive connection pool for one upstream and one explicit
// deadline per call. The deadline is the only timeout: connect, write and read all share it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "platform/http/message.hpp"

namespace shopctl::http {

namespace detail {
class HostResolver;
class PoolSweeper;
// How often the process's pool sweeper closes expired idle connections now (half the shortest
// max_idle_time of the live clients, 50 ms to 5 s); 0 while there is no client. Whether its
// thread runs (it ends with the last client). For tests.
std::chrono::milliseconds pool_sweep_interval();
bool pool_sweeper_running();
}  // namespace detail

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
};

struct ClientOptions {
  // Where the upstream is, asked at every new connection (peers may start after us).
  std::function<Endpoint()> endpoint;
  std::size_t max_idle_connections = 64;
  std::size_t response_body_limit = 16u << 20;
  std::chrono::milliseconds max_idle_time{20'000};  // below the servers' idle timeout
  // Looks host names up; nullptr: the process's (HostResolver::shared(), getaddrinfo).
  detail::HostResolver* resolver = nullptr;
};

// How long a pooled connection to a server whose idle timeout is `server_idle_timeout` may
// stay idle: half of it, at most ClientOptions' 20 s, at least 1 ms. A caller that kept one
// longer reused connections the server had just closed (with `http.idle_timeout: 5ms` the
// gateway answered 503 to ordinary GETs; an outside probe).
std::chrono::milliseconds pooled_idle_limit(std::chrono::milliseconds server_idle_timeout);

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` and returns the answer, whatever its status. Throws TransportError when
  // no HTTP answer arrived within `timeout` (timeout, refused, reset, closed, protocol).
  boost::asio::awaitable<Response> send(Request request, std::chrono::nanoseconds timeout);

  // Drops every pooled connection.
  void clear_pool();
  std::size_t idle_connections() const;

 private:
  struct Impl;
  friend class detail::PoolSweeper;
  std::shared_ptr<Impl> impl_;
};

// Parses "http://host:port" (a trailing "/" allowed). Throws std::invalid_argument naming what
// is wrong: not an http URL, no port or one that is not valid_port, or a part the shop would
// drop without a word (a path, a user:password, a query).
Endpoint parse_base_url(std::string_view url);
// What parse_base_url would refuse `url` for ("no port", ...), or nothing when it takes it.
std::optional<std::string> base_url_problem(std::string_view url);

// True when `digits` is a TCP port a server can listen on: 1 to 65535, digits only. Boost.URL's
// port_number() does not say that 99999 is out of range, and 0 names no server.
bool valid_port(std::string_view digits);

}  // namespace shopctl::http
