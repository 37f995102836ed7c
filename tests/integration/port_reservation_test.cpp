// http::PortReservation: a port held for a child process (serve --processes, chaos --crash).
// Real sockets: what the kernel allows on a port held that way.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "../support/running_server.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/port_reservation.hpp"

namespace {
namespace http = shopctl::http;
using namespace std::chrono_literals;

// Binds 127.0.0.1:`port` (0: any) as another program would, optionally with SO_REUSEADDR:
// the port it got, or 0 when the bind failed.
std::uint16_t bind_as_another(std::uint16_t port, bool reuse) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  const int on = 1;
  if (reuse) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof at;
  std::uint16_t got = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size) == 0) {
    got = ntohs(at.sin_port);
  }
  ::close(fd);
  return got;
}
}  // namespace

TEST_CASE("a reserved port is no one else's, and the server it is meant for listens on it") {
  http::PortReservation held;
  const auto port = held.port();
  REQUIRE(port != 0);
  // A plain bind of it fails; a port-0 bind never lands on it (with SO_REUSEADDR or not).
  CHECK(bind_as_another(port, false) == 0);
  for (int i = 0; i < 500; ++i) {
    const auto any = bind_as_another(0, i % 2 == 0);
    REQUIRE(any != 0);
    CHECK(any != port);
  }
  // The server it is for binds it (SO_REUSEADDR) and serves on it.
  http::ServerOptions options;
  options.port = port;
  {
    shopctl::test_support::RunningServer server(
        [](http::Request&) -> boost::asio::awaitable<http::Response> {
          co_return http::Response::json(200, nlohmann::json{{"ok", true}});
        },
        options);
    CHECK(server.server.port() == port);
    http::BlockingClient client;
    http::Request req;
    req.method = "GET";
    CHECK(client.send_url("http://127.0.0.1:" + std::to_string(port) + "/", std::move(req), 2s)
              .status == 200);
    // While it listens, no second reservation can take the port: a launcher started on a
    // folder in use says so.
    std::string refusal;
    try {
      http::PortReservation again(port);
    } catch (const std::runtime_error& e) {
      refusal = e.what();
    }
    CHECK(refusal.find("port " + std::to_string(port) + " of 127.0.0.1 is taken") !=
          std::string::npos);
  }
  // The server gone, the port is still held: refused to a plain bind, served by nobody.
  CHECK(bind_as_another(port, false) == 0);
  http::BlockingClient client;
  http::Request req;
  req.method = "GET";
  CHECK_THROWS_AS(
      client.send_url("http://127.0.0.1:" + std::to_string(port) + "/", std::move(req), 2s),
      http::TransportError);
}

// A connection in TIME-WAIT whose local port is a shop's kept port (any program's, made while
// the shop was down) made every bind of it fail for up to 60 s, SO_REUSEADDR or not: a shop
// killed and started again on its folder failed with "port P is taken by another process" (an
// outside probe). The start waits it out; here, the checks it waits on.
TEST_CASE("a port held only by a connection in TIME-WAIT is known as such, and waited for") {
  // The TIME-WAIT: a client bound to a port of its own closes first.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof at;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &size) == 0);
  const std::uint16_t listening = ntohs(at.sin_port);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in own{};
  own.sin_family = AF_INET;
  own.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(client, reinterpret_cast<sockaddr*>(&own), sizeof own) == 0);
  size = sizeof own;
  REQUIRE(::getsockname(client, reinterpret_cast<sockaddr*>(&own), &size) == 0);
  const std::uint16_t port = ntohs(own.sin_port);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  const int accepted = ::accept(listener, nullptr, nullptr);
  REQUIRE(accepted >= 0);
  ::close(client);  // the active close: the client's side stays in TIME-WAIT
  std::this_thread::sleep_for(100ms);
  ::close(accepted);
  std::this_thread::sleep_for(100ms);

  CHECK(bind_as_another(port, true) == 0);  // what the start met
  CHECK(http::port_held_by_time_wait(port));
  int said = 0;
  const auto began = std::chrono::steady_clock::now();
  http::wait_out_time_wait("127.0.0.1", port, 400ms, [&] { ++said; });
  CHECK(said == 1);
  CHECK(std::chrono::steady_clock::now() - began >= 400ms);

  // A listener holds its port for good: not waited for, and the caller's bind says why.
  CHECK_FALSE(http::port_held_by_time_wait(listening));
  said = 0;
  const auto at_once = std::chrono::steady_clock::now();
  http::wait_out_time_wait("127.0.0.1", listening, 5s, [&] { ++said; });
  CHECK(said == 0);
  CHECK(std::chrono::steady_clock::now() - at_once < 1s);
  // A free port: at once too.
  const std::uint16_t free_port = bind_as_another(0, false);
  said = 0;
  http::wait_out_time_wait("127.0.0.1", free_port, 5s, [&] { ++said; });
  CHECK(said == 0);
  ::close(listener);
}
