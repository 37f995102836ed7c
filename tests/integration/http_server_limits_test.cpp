// The HTTP server itself under hostile conditions (issue 11): hand-written heads never carry
// CR, LF or NUL from a field, and an accept loop that hits EMFILE backs off instead of spinning.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <thread>
#include <vector>

#include <atomic>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "../support/running_server.hpp"
#include "../support/test_shop.hpp"
#include "platform/http/client.hpp"
#include "platform/http/server.hpp"

namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = shopctl::http;
using shopctl::test_support::RawConnection;
using shopctl::test_support::RunningServer;

double process_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}
}  // namespace

TEST_CASE("a response field holding CR, LF or NUL is never written: no header can be injected") {
  RunningServer s([](http::Request&) -> asio::awaitable<http::Response> {
    http::Response r;
    r.status = 200;
    r.headers.set("Content-Type", "text/plain");
    r.headers.set("X-Echo", "a\r\nSet-Cookie: injected=1");
    r.headers.set("X-Lf", "b\nX-Injected: 1");
    r.headers.set(std::string("X-Nul\0", 6), "c");
    r.headers.set("X-Fine", "kept");
    r.body = "ok";
    co_return r;
  });
  RawConnection c(s.server.port());
  REQUIRE(c.connected());
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(c.read_until_closed(5s));
  CHECK(c.received.starts_with("HTTP/1.1 200"));
  CHECK(c.received.find("Set-Cookie") == std::string::npos);
  CHECK(c.received.find("X-Injected") == std::string::npos);
  CHECK(c.received.find(std::string("\0", 1)) == std::string::npos);
  CHECK(c.received.find("X-Fine: kept\r\n") != std::string::npos);
}

TEST_CASE("an accept loop out of file descriptors backs off instead of spinning") {
  RunningServer s([](http::Request&) -> asio::awaitable<http::Response> {
    http::Response r;
    r.body = "ok";
    co_return r;
  });
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  // Client sockets first, then every other descriptor taken: the server's accept() gets EMFILE.
  std::vector<int> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(::socket(AF_INET, SOCK_STREAM, 0));
  std::vector<int> filler;
  rlimit low = original;
  low.rlim_cur = 512;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  while (true) {
    int fd = ::open("/dev/null", O_RDONLY);
    if (fd < 0) break;
    filler.push_back(fd);
    if (filler.size() > 600) break;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : clients) ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  std::this_thread::sleep_for(100ms);
  const double cpu_before = process_cpu_seconds();
  std::this_thread::sleep_for(500ms);
  const double spent = process_cpu_seconds() - cpu_before;
  for (int fd : filler) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &original);
  CAPTURE(spent);
  CHECK(spent < 0.1);  // a spinning loop burns the whole 0.5 s
  // With descriptors back, the waiting connections are served.
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(clients[0], request.data(), request.size(), MSG_NOSIGNAL);
  char buf[256];
  timeval tv{5, 0};
  ::setsockopt(clients[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto n = ::recv(clients[0], buf, sizeof buf, 0);
  CHECK(n > 0);
  for (int fd : clients) ::close(fd);
}

// A session that ends without one asynchronous step (a connection of our own client moved to
// its io_context with the whole request already read, answered by a handler that resets the
// connection at once, as the `reset` fault does) ends before asio's co_spawn has finished with
// the cancellation slot bound to the connection. The connection must outlive that: freeing it
// with the session let asio touch freed cancellation handlers, which crashed `serve` under
// chaos (a segfault, or UBSan "invalid vptr" in cancellation_slot::clear()).
TEST_CASE("sessions ended by an immediate reset, moved between io threads, free nothing early") {
  asio::io_context a(1), b(1);
  auto work_a = asio::make_work_guard(a);
  auto work_b = asio::make_work_guard(b);
  http::ServerOptions options;
  options.connection_ios = {&a, &b};
  std::atomic<int> served{0};
  http::Server server(a, options, [&served](http::Request&) -> asio::awaitable<http::Response> {
    served.fetch_add(1);
    http::Response r;
    r.action = http::ConnectionAction::reset;
    co_return r;
  });
  server.start();
  std::thread ta([&a] { a.run(); });
  std::thread tb([&b] { b.run(); });
  const auto port = server.port();
  http::Client client({.endpoint = [port] { return http::Endpoint{"127.0.0.1", port}; }});
  // Clients on both threads, so that connections land on the other thread and are moved.
  constexpr int kPerWorker = 300;
  constexpr int kWorkers = 8;
  std::atomic<int> answered_reset{0};
  std::atomic<int> finished{0};
  for (int w = 0; w < kWorkers; ++w) {
    auto& io = (w % 2 == 0) ? a : b;
    asio::co_spawn(
        io,
        [&client, &answered_reset]() -> asio::awaitable<void> {
          for (int i = 0; i < kPerWorker; ++i) {
            http::Request req;
            req.method = "GET";
            req.target = "/x";
            try {
              co_await client.send(req, std::chrono::seconds(5));
            } catch (const http::TransportError&) {
              answered_reset.fetch_add(1);
            }
          }
        },
        [&finished](std::exception_ptr) { finished.fetch_add(1); });
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (finished.load() < kWorkers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(finished.load() == kWorkers);
  CHECK(answered_reset.load() == kPerWorker * kWorkers);
  CHECK(served.load() == kPerWorker * kWorkers);
  server.stop();
  work_a.reset();
  work_b.reset();
  a.stop();
  b.stop();
  ta.join();
  tb.join();
}
