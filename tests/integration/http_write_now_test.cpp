// Messages are written at once when the socket takes them (detail::write_now), and the rest
// with async_write when it does not: both halves must arrive intact, in order, whatever size
// the first write happened to take.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <future>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "../support/running_server.hpp"
#include "../support/test_shop.hpp"
#include "platform/http/beast_util.hpp"
#include "platform/http/client.hpp"
#include "platform/http/server.hpp"

namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = shopctl::http;
using shopctl::test_support::RawConnection;
using shopctl::test_support::RunningServer;

http::ServerOptions options_with_body_limit(std::size_t limit) {
  http::ServerOptions o;
  o.body_limit = limit;
  return o;
}

// Bytes that differ from their neighbours, so a lost, repeated or reordered chunk shows.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}
}  // namespace

TEST_CASE("unwritten(): the rest of head + body after any number of written bytes") {
  const std::string head = "HEAD:", body = "body-bytes";
  auto joined = [](const std::array<asio::const_buffer, 2>& b) {
    std::string s;
    for (const auto& x : b) s.append(static_cast<const char*>(x.data()), x.size());
    return s;
  };
  const std::string all = head + body;
  for (std::size_t written = 0; written <= all.size(); ++written) {
    CAPTURE(written);
    CHECK(joined(http::detail::unwritten(head, body, written)) == all.substr(written));
  }
}

TEST_CASE("a response larger than the socket takes at once reaches a slow reader intact") {
  const std::string body = pattern(8u << 20);
  RunningServer s([&body](http::Request&) -> asio::awaitable<http::Response> {
    http::Response r;
    r.status = 200;
    r.headers.set("Content-Type", "application/octet-stream");
    r.body = body;
    co_return r;
  });
  RawConnection c(s.server.port());
  REQUIRE(c.connected());
  REQUIRE(c.send("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  // Nothing read for a while: the server's first write fills the socket and the rest waits.
  std::this_thread::sleep_for(200ms);
  REQUIRE(c.read_until_closed(20s));
  auto end_of_head = c.received.find("\r\n\r\n");
  REQUIRE(end_of_head != std::string::npos);
  CHECK(c.received.starts_with("HTTP/1.1 200"));
  CHECK(c.received.find("Content-Length: " + std::to_string(body.size())) < end_of_head);
  const std::string got = c.received.substr(end_of_head + 4);
  CHECK(got.size() == body.size());
  CHECK(got == body);
}

TEST_CASE("the client writes a request body larger than the socket takes at once intact") {
  // Far more than a loopback socket's buffers hold, so one sendmsg cannot take it all.
  const std::string sent = pattern(32u << 20);
  std::promise<std::string> received;
  auto future = received.get_future();
  RunningServer s(
      [&received](http::Request& req) -> asio::awaitable<http::Response> {
        received.set_value(req.body);
        co_return http::Response::json(200, nlohmann::json{{"ok", true}});
      },
      options_with_body_limit(64u << 20));
  asio::io_context io;
  http::Client client({[port = s.server.port()] {
                         return http::Endpoint{"127.0.0.1", port};
                       },
                       4, 16u << 20});
  std::optional<http::Response> answer;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        http::Request req;
        req.method = "POST";
        req.target = "/upload";
        req.headers.set("Content-Type", "application/octet-stream");
        req.body = sent;
        answer = co_await client.send(std::move(req), 20s);
      },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  REQUIRE_FALSE(failure);
  REQUIRE(answer);
  CHECK(answer->status == 200);
  REQUIRE(future.wait_for(5s) == std::future_status::ready);
  const std::string got = future.get();
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}

TEST_CASE("a response written to a client that already reset ends the session, not the server") {
  RunningServer s([](http::Request&) -> asio::awaitable<http::Response> {
    http::Response r;
    r.status = 200;
    r.body = pattern(4u << 20);
    co_return r;
  });
  {
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // Closing with unread data pending sends a reset: the server's writes fail.
  }
  // The server still answers the next client in full.
  RawConnection c(s.server.port());
  REQUIRE(c.connected());
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  REQUIRE(c.read_until_closed(20s));
  auto end_of_head = c.received.find("\r\n\r\n");
  REQUIRE(end_of_head != std::string::npos);
  CHECK(c.received.size() - end_of_head - 4 == (4u << 20));
}

TEST_CASE("answers on pooled connections are read however fast they come: no read is lost") {
  // The client skips Asio's speculative read after a request on a pooled connection (the
  // answer cannot be there yet). If that were done at a moment when an answer could already
  // have been noticed, the read would wait for an edge that has passed: a timeout here.
  RunningServer s([](http::Request& req) -> asio::awaitable<http::Response> {
    co_return http::Response::json(200, nlohmann::json{{"n", req.target}});
  });
  asio::io_context io;
  http::Client client({[port = s.server.port()] {
                         return http::Endpoint{"127.0.0.1", port};
                       },
                       4, 16u << 20});
  int answered = 0;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3000; ++i) {
          http::Request req;
          req.method = "GET";
          req.target = "/n/" + std::to_string(i);
          auto res = co_await client.send(std::move(req), 2s);
          if (res.status == 200 && res.body.find("/n/" + std::to_string(i)) != std::string::npos)
            ++answered;
        }
      },
      [&](std::exception_ptr e) { failure = e; });
  const auto started = std::chrono::steady_clock::now();
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      FAIL("request failed: " << std::string(e.what()));
    }
  }
  CHECK(answered == 3000);
  CHECK(client.idle_connections() == 1);  // one pooled connection carried them all
  CHECK(std::chrono::steady_clock::now() - started < 30s);
}

// The answer to HEAD says Content-Length but sends no body: the client read it as a GET's and
// waited for the body until its deadline. Two in a row on one pooled connection, then a GET,
// so a misread would show as a timeout or a shifted answer.
TEST_CASE("the client reads the answer to HEAD without a body, and the connection stays usable") {
  RunningServer s([](http::Request& req) -> asio::awaitable<http::Response> {
    co_return http::Response::json(200, nlohmann::json{{"method", req.method}, {"pad", "xxxxxx"}});
  });
  asio::io_context io;
  http::Client client({[port = s.server.port()] {
                         return http::Endpoint{"127.0.0.1", port};
                       },
                       1, 1u << 20});
  std::vector<http::Response> answers;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const char* method : {"HEAD", "HEAD", "GET"}) {
          http::Request req;
          req.method = method;
          req.target = "/x";
          answers.push_back(co_await client.send(std::move(req), 3s));
        }
      },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  REQUIRE_FALSE(failure);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].status == 200);
  CHECK(answers[0].body.empty());
  CHECK(answers[0].headers.get("Content-Length").value_or("") != "0");
  CHECK(answers[1].body.empty());
  CHECK(answers[2].body.find("\"method\":\"GET\"") != std::string::npos);
}
