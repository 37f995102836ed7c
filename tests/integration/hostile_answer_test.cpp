// A hostile server cannot make shopctl's clients buffer without bound: an answer whose chunk
// line never ends is a protocol error once 64 KiB are buffered (http::detail::kMaxBufferedBytes),
// for the blocking client (`run --target`, `fault`, `graph`) and the asynchronous one (the
// services' calls, `load`). Before, the blocking client kept reading it into memory.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "../support/loopback_listener.hpp"
#include "platform/http/beast_util.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/client.hpp"

namespace {

namespace http = shopctl::http;
using namespace std::chrono_literals;

// Accepts one connection, reads the request, answers a chunked 200 whose first chunk-size line
// has an extension that goes on for `endless` bytes, then closes.
class EndlessChunkLine {
 public:
  explicit EndlessChunkLine(std::size_t endless) : endless_(endless) {
    const auto listener = shopctl::test_support::listen_on_loopback(4);
    listener_ = listener.fd;
    port_ = listener.port;
    thread_ = std::thread([this] { serve(); });
  }
  ~EndlessChunkLine() {
    thread_.join();
    ::close(listener_);
  }
  EndlessChunkLine(const EndlessChunkLine&) = delete;
  EndlessChunkLine& operator=(const EndlessChunkLine&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t sent() const { return sent_; }

 private:
  void serve() {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    timeval wait{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char request[4096];
    (void)::recv(fd, request, sizeof request, 0);
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=";
    (void)::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string block(64 * 1024, 'a');
    while (sent_ < endless_) {
      const auto n = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL);
      if (n <= 0) break;  // the client gave up and closed
      sent_ += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  std::size_t endless_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> sent_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("the blocking client refuses an answer whose chunk line never ends, at 64 KiB") {
  EndlessChunkLine server(8u << 20);
  http::BlockingClient client;
  http::Request request;
  request.method = "GET";
  request.target = "/";
  std::optional<http::TransportError> error;
  try {
    client.send(http::Endpoint{"127.0.0.1", server.port()}, request, 10s);
  } catch (const http::TransportError& e) {
    error = e;
  }
  REQUIRE(error.has_value());
  CHECK(error->kind() == http::TransportErrorKind::protocol);
  INFO(std::string(error->what()));
  CHECK(std::string(error->what()).find("exceeds 64 KiB") != std::string::npos);
  CHECK(http::detail::kMaxBufferedBytes == 64 * 1024);
}

TEST_CASE("the asynchronous client refuses an answer whose chunk line never ends, at 64 KiB") {
  EndlessChunkLine server(8u << 20);
  boost::asio::io_context io;
  const std::uint16_t port = server.port();
  http::Client client({.endpoint = [port] { return http::Endpoint{"127.0.0.1", port}; }});
  http::Request request;
  request.method = "GET";
  request.target = "/";
  auto done = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<std::string> {
        try {
          co_await client.send(std::move(request), 10s);
        } catch (const http::TransportError& e) {
          co_return std::string(http::to_string(e.kind())) + ": " + e.what();
        }
        co_return "answered";
      },
      boost::asio::use_future);
  io.run();
  const std::string outcome = done.get();
  INFO(outcome);
  CHECK(outcome.rfind("protocol_error: ", 0) == 0);
  CHECK(outcome.find("exceeds 64 KiB") != std::string::npos);
}

namespace {

// Accepts one connection, reads the request, sends `answer` and closes.
class CannedAnswer {
 public:
  explicit CannedAnswer(std::string answer) : answer_(std::move(answer)) {
    const auto listener = shopctl::test_support::listen_on_loopback(4);
    listener_ = listener.fd;
    port_ = listener.port;
    thread_ = std::thread([this] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      timeval wait{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      char request[4096];
      (void)::recv(fd, request, sizeof request, 0);
      (void)::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      ::close(fd);
    });
  }
  ~CannedAnswer() {
    thread_.join();
    ::close(listener_);
  }
  CannedAnswer(const CannedAnswer&) = delete;
  CannedAnswer& operator=(const CannedAnswer&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  std::string answer_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

constexpr const char* kAnswerWithTrailer =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    "Connection: close\r\n\r\n2\r\n{}\r\n0\r\nContent-Type: text/html\r\nX-Injected: 1\r\n\r\n";

}  // namespace

// The blocking client read answers with Beast's response_parser, which merges a trailer's
// fields into the header: a server could add or double fields after the body.
TEST_CASE("both clients drop an answer's trailer fields") {
  {
    CannedAnswer server(kAnswerWithTrailer);
    http::BlockingClient client;
    http::Request request;
    request.method = "GET";
    request.target = "/";
    auto res = client.send(http::Endpoint{"127.0.0.1", server.port()}, request, 10s);
    CHECK(res.status == 200);
    CHECK(res.body == "{}");
    CHECK(res.headers.get("Content-Type") == "application/json");
    CHECK_FALSE(res.headers.get("X-Injected"));
  }
  {
    CannedAnswer server(kAnswerWithTrailer);
    boost::asio::io_context io;
    const std::uint16_t port = server.port();
    http::Client client({.endpoint = [port] { return http::Endpoint{"127.0.0.1", port}; }});
    http::Request request;
    request.method = "GET";
    request.target = "/";
    auto done =
        boost::asio::co_spawn(io, client.send(std::move(request), 10s), boost::asio::use_future);
    io.run();
    auto res = done.get();
    CHECK(res.body == "{}");
    CHECK(res.headers.get("Content-Type") == "application/json");
    CHECK_FALSE(res.headers.get("X-Injected"));
  }
}
