// http::BlockingClient keeps its time limit on real sockets: a server that accepts and never
// answers costs the caller the request's timeout, reported as a timeout, not forever (Asio's
// synchronous reads poll without a limit, whatever SO_RCVTIMEO says).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "../support/loopback_listener.hpp"
#include "platform/http/blocking_client.hpp"

namespace {

namespace http = shopctl::http;
using namespace std::chrono_literals;

// A listener on an ephemeral loopback port that accepts every connection and never answers.
// With `read_requests` it reads (and drops) whatever a connection sends.
class SilentServer {
 public:
  explicit SilentServer(bool read_requests) : read_requests_(read_requests) {
    const auto listener = shopctl::test_support::listen_on_loopback();
    listener_ = listener.fd;
    port_ = listener.port;
    thread_ = std::thread([this] { serve(); });
  }
  ~SilentServer() { close_all(); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t bytes_read() const { return bytes_read_; }

  // Stops serving and closes every connection (a client still waiting then sees it closed).
  void close_all() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    for (int fd : accepted_) ::close(fd);
    ::close(listener_);
  }

 private:
  void serve() {
    while (!stop_) {
      std::vector<pollfd> watched{{listener_, POLLIN, 0}};
      if (read_requests_) {
        for (int fd : accepted_) watched.push_back({fd, POLLIN, 0});
      }
      if (::poll(watched.data(), watched.size(), 20) <= 0) continue;
      if (watched[0].revents & POLLIN) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd >= 0) accepted_.push_back(fd);
      }
      for (std::size_t i = 1; i < watched.size(); ++i) {
        if (!(watched[i].revents & POLLIN)) continue;
        char buffer[4096];
        auto n = ::recv(watched[i].fd, buffer, sizeof buffer, 0);
        if (n > 0) bytes_read_ += static_cast<std::size_t>(n);
      }
    }
  }

  bool read_requests_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> accepted_;  // touched by the serving thread only, until it is joined
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> bytes_read_{0};
  std::thread thread_;
};

struct TimedOutcome {
  std::optional<http::TransportErrorKind> error;  // none: an answer came
  std::chrono::steady_clock::duration took{};
};

// Sends GET / to 127.0.0.1:`port` with `timeout`, on a thread of its own.
std::future<TimedOutcome> send_async(std::uint16_t port, std::chrono::milliseconds timeout) {
  return std::async(std::launch::async, [port, timeout] {
    http::BlockingClient client;
    http::Request request;
    request.method = "GET";
    request.target = "/";
    TimedOutcome outcome;
    const auto started = std::chrono::steady_clock::now();
    try {
      client.send(http::Endpoint{"127.0.0.1", port}, request, timeout);
    } catch (const http::TransportError& e) {
      outcome.error = e.kind();
    }
    outcome.took = std::chrono::steady_clock::now() - started;
    return outcome;
  });
}

// Waits for `pending` at most `limit`; if it is still running, closes the server's
// connections so that a client that ignores its timeout ends (and the suite does not hang).
TimedOutcome wait_bounded(std::future<TimedOutcome>& pending, SilentServer& server,
                          std::chrono::milliseconds limit) {
  const bool in_time = pending.wait_for(limit) == std::future_status::ready;
  server.close_all();
  auto outcome = pending.get();
  CHECK_MESSAGE(in_time, "the request was still waiting after its timeout");
  return outcome;
}

}  // namespace

TEST_CASE("a request to a server that accepts and never reads times out within its timeout") {
  SilentServer server(false);
  auto pending = send_async(server.port(), 300ms);
  auto outcome = wait_bounded(pending, server, 3000ms);
  REQUIRE(outcome.error.has_value());
  CHECK(*outcome.error == http::TransportErrorKind::timeout);
  CHECK(outcome.took >= 250ms);
  CHECK(outcome.took < 2000ms);  // the deadline, with room for a loaded machine
}

TEST_CASE("a request to a server that reads it and never answers times out within its timeout") {
  SilentServer server(true);
  auto pending = send_async(server.port(), 300ms);
  auto outcome = wait_bounded(pending, server, 3000ms);
  CHECK(server.bytes_read() > 0);  // the request went out: the read is what timed out
  REQUIRE(outcome.error.has_value());
  CHECK(*outcome.error == http::TransportErrorKind::timeout);
  CHECK(outcome.took >= 250ms);
  CHECK(outcome.took < 2000ms);  // the deadline, with room for a loaded machine
}

TEST_CASE("a request to a closed port is refused at once, not reported as a timeout") {
  std::uint16_t port = 0;
  {
    SilentServer gone(false);  // a port that was just free, and is again
    port = gone.port();
  }
  auto pending = std::async(std::launch::async, [port] {
    http::BlockingClient client;
    http::Request request;
    request.method = "GET";
    request.target = "/";
    try {
      client.send(http::Endpoint{"127.0.0.1", port}, request, 5s);
    } catch (const http::TransportError& e) {
      return std::optional(e.kind());
    }
    return std::optional<http::TransportErrorKind>();
  });
  REQUIRE(pending.wait_for(3s) == std::future_status::ready);
  auto kind = pending.get();
  REQUIRE(kind.has_value());
  CHECK(*kind == http::TransportErrorKind::refused);
}
