// A host name with several addresses connects when its first address refuses: both clients try
// each address in turn (getaddrinfo's order), as a browser or curl does. Before, they took the
// first address only, so a name whose first address was down, or an IPv6 ::1 for a service
// listening on 127.0.0.1 only, could not be reached at all. The server and the sockets are
// real; only the name's answer comes from the test, since no name of a CI machine is known to
// have two addresses.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "../support/loopback_listener.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/client.hpp"
#include "platform/http/resolver.hpp"

namespace {

namespace http = shopctl::http;
using namespace std::chrono_literals;

// Listens on 127.0.0.1 only and answers every request on a connection "200 ok".
class OkServer {
 public:
  OkServer() : listener_(shopctl::test_support::listen_on_loopback()) {
    thread_ = std::thread([this] { serve(); });
  }
  ~OkServer() {
    stop_ = true;
    ::shutdown(listener_.fd, SHUT_RDWR);
    thread_.join();
    ::close(listener_.fd);
  }
  OkServer(const OkServer&) = delete;
  OkServer& operator=(const OkServer&) = delete;
  std::uint16_t port() const { return listener_.port; }
  int answered() const { return answered_; }

 private:
  void serve() {
    while (!stop_) {
      const int fd = ::accept(listener_.fd, nullptr, nullptr);
      if (fd < 0) return;
      std::string buffer;
      char chunk[4096];
      for (;;) {
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = buffer.find("\r\n\r\n")) != std::string::npos) {
          buffer.erase(0, end + 4);
          const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
          // Counted before it is sent: a client that has its answer may read the count at
          // once (counted after, the check raced the server thread and failed now and then).
          ++answered_;
          (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
      }
      ::close(fd);
    }
  }
  shopctl::test_support::LoopbackListener listener_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
};

// A resolver whose name has two addresses: one where nothing listens (127.0.0.2: the server
// is bound to 127.0.0.1 alone, so a connect there is refused), then the server's.
http::detail::HostResolver two_addresses() {
  return http::detail::HostResolver([](const std::string&, std::string&) {
    return std::vector<std::string>{"127.0.0.2", "127.0.0.1"};
  });
}

http::Request get() {
  http::Request request;
  request.method = "GET";
  request.target = "/";
  return request;
}

}  // namespace

TEST_CASE("the blocking client tries each address of a name until one answers") {
  OkServer server;
  auto resolver = two_addresses();
  http::BlockingClient client(resolver);
  http::Response answer;
  try {
    answer = client.send(http::Endpoint{"shop.test", server.port()}, get(), 5s);
  } catch (const http::TransportError& e) {
    FAIL("no answer: " << std::string(e.what()));
  }
  CHECK(answer.status == 200);
  CHECK(answer.body == "ok");
  CHECK(server.answered() == 1);
}

TEST_CASE("the asynchronous client tries each address of a name until one answers") {
  OkServer server;
  auto resolver = two_addresses();
  boost::asio::io_context io;
  const std::uint16_t port = server.port();
  http::Client client({.endpoint =
                           [port] {
                             return http::Endpoint{"shop.test", port};
                           },
                       .resolver = &resolver});
  auto done = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<std::string> {
        try {
          auto answer = co_await client.send(get(), 5s);
          co_return std::to_string(answer.status) + " " + answer.body;
        } catch (const http::TransportError& e) {
          co_return std::string(http::to_string(e.kind())) + ": " + e.what();
        }
      },
      boost::asio::use_future);
  io.run();
  CHECK(done.get() == "200 ok");
  CHECK(server.answered() == 1);
}

TEST_CASE("a name none of whose addresses answers is refused, naming the name") {
  auto resolver = http::detail::HostResolver([](const std::string&, std::string&) {
    return std::vector<std::string>{"127.0.0.2", "127.0.0.3"};
  });
  http::BlockingClient client(resolver);
  const auto free_port = [] {
    auto l = shopctl::test_support::listen_on_loopback();
    ::close(l.fd);
    return l.port;
  }();
  CHECK_THROWS_AS(client.send(http::Endpoint{"shop.test", free_port}, get(), 5s),
                  http::TransportError);
}

TEST_CASE("getaddrinfo's answer keeps every address of a name, each once") {
  std::string problem;
  const auto addresses = http::detail::lookup_with_getaddrinfo("localhost", problem);
  INFO(problem);
  REQUIRE_FALSE(addresses.empty());
  CHECK(std::find(addresses.begin(), addresses.end(), "127.0.0.1") != addresses.end());
  auto sorted = addresses;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}
