// The HTTP server itself under hostile conditions (issue 11): hand-written heads never carry
// CR, LF or NUL from a field, and an accept loop that hits EMFILE backs off instead of spinning.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

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
  // UBSan checks an object's dynamic type, the first time it meets the type, by copying the
  // object's memory through a pipe; with every descriptor taken that pipe cannot open, and the
  // check reports "invalid vptr" in correct code (run alone or after other tests, the test
  // failed so under ASan+UBSan). So the types the EMFILE path meets are met first with
  // descriptors to spare: one connection accepted and answered, the timer service that the
  // back-off creates, and a strand's end (each failed accept ends one). The connection's own
  // last handlers (its timer's cancellation, its cancellation slot, the end of its strand) must
  // have run before the descriptors are taken: when they ran late, UBSan met those types for the
  // first time inside the window ("invalid vptr" in shared_ptr's _M_dispose of a strand_impl in
  // CI; in cancellation_handler_base in 2 of 15 runs of this test alone).
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(s.server.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
    const std::string warm = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ::send(fd, warm.data(), warm.size(), MSG_NOSIGNAL);
    timeval wait{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char answer[256];
    REQUIRE(::recv(fd, answer, sizeof answer, 0) > 0);
    ::close(fd);
    asio::steady_timer timer(s.io);
    { auto ended = asio::make_strand(s.io); }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (s.server.open_connections() != 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    REQUIRE(s.server.open_connections() == 0);
    // The handlers the connection's end queued run before these posts (one io thread, in order).
    for (int round = 0; round < 3; ++round) {
      std::promise<void> drained;
      asio::post(s.io, [&drained] { drained.set_value(); });
      REQUIRE(drained.get_future().wait_for(5s) == std::future_status::ready);
    }
  }
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

namespace {
// Sends `head`, then `filler_bytes` of 'a' in pieces, until all are sent or the server closes;
// true when all were sent. A server that answered and closed makes the rest fail: fine here.
bool send_while_open(RawConnection& c, const std::string& head, std::size_t filler_bytes) {
  if (!c.send(head)) return false;
  const std::string piece(16 * 1024, 'a');
  for (std::size_t sent = 0; sent < filler_bytes; sent += piece.size()) {
    if (!c.send(piece)) return false;
  }
  return true;
}

http::Handler counting_handler(std::atomic<int>& calls, std::vector<std::string>* targets,
                               std::mutex* mu) {
  return [&calls, targets, mu](http::Request& req) -> asio::awaitable<http::Response> {
    ++calls;
    if (targets) {
      std::lock_guard lock(*mu);
      targets->push_back(req.target);
    }
    http::Response r;
    r.body = "ok";
    co_return r;
  };
}
}  // namespace

// Beast limits neither a chunk line (its size and extensions) nor the trailer section, and a
// connection's read buffer grew until one of them ended: one client sending a chunk extension
// without a line break raised the shop's memory by about 400 MB in 2 s. The buffer is capped
// now; past it the request is answered 400 and the connection closed.
TEST_CASE("a chunk line or trailer section that never ends is answered 400, not buffered") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  const std::string head =
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: "
      "chunked\r\n\r\n";
  struct Case {
    std::string name, start;
  };
  for (const Case& each : {Case{"chunk extension", head + "1;ext="}, Case{"chunk size", head + "1"},
                           Case{"trailer section", head + "1\r\na\r\n0\r\nX-Trailer: "}}) {
    CAPTURE(each.name);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    // 4 MiB more, without a line break: the server must answer long before it has read them.
    send_while_open(c, each.start, 4u << 20);
    CHECK(c.read_until_closed(10s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("exceeds 64 KiB") != std::string::npos);
  }
  CHECK(calls.load() == 0);
  // A chunked body of many chunks still passes: the cap is on what is buffered at once.
  RawConnection ok(s.server.port());
  REQUIRE(ok.connected());
  std::string body;
  for (int i = 0; i < 200; ++i) body += "400\r\n" + std::string(1024, 'b') + "\r\n";
  REQUIRE(ok.send(head + body + "0\r\n\r\n"));
  CHECK(ok.read_until("\r\n\r\nok", 5s));
  CHECK(ok.received.starts_with("HTTP/1.1 200"));
}

// RFC 9112 6.3: a request whose Transfer-Encoding does not end in chunked has no length the
// server can know; it must be answered 400 and the connection closed. Read with an empty body
// instead, its body ran as a second request (a user's cart came back that way): smuggling
// behind any proxy that framed the request by its Transfer-Encoding.
TEST_CASE("a Transfer-Encoding other than chunked alone is 400, and its body never runs") {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> targets;
  RunningServer s(counting_handler(calls, &targets, &mu));
  for (const std::string te : {"gzip", "chunked, gzip", "identity", "xchunked",
                               "chunked\r\n"
                               "Transfer-Encoding: gzip"}) {
    CAPTURE(te);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                   "\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("\"bad_request\"") != std::string::npos);
  }
  CHECK(calls.load() == 0);
  std::lock_guard lock(mu);
  for (const auto& t : targets) CHECK(t != "/smuggled");
}

// The server decodes chunked and nothing else. A coding before it (the body would be read still
// compressed), chunked twice, or chunked with a parameter was served, with a well-framed body:
// the first as if it were plain (test red before: each was answered 200).
TEST_CASE(
    "a Transfer-Encoding with another coding before chunked is 400, with a well-framed body") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  for (const std::string te :
       {"gzip, chunked", "deflate,chunked", "chunked, chunked", "chunked;x=1", "x, chunked",
        "gzip\r\n"
        "Transfer-Encoding: chunked"}) {
    CAPTURE(te);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                   "\r\n\r\n2\r\nhi\r\n0\r\n\r\n"));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("other than chunked alone") != std::string::npos);
  }
  CHECK(calls.load() == 0);
}

// RFC 9112 5.2 lets a server join a field folded onto the next line (obs-fold) or refuse it.
// Beast joins; a proxy in front that does not read "Transfer-Encoding:\r\n chunked" as no
// framing, and the chunked body as a request of its own (an outside probe smuggled a GET so).
// Each fold is 400 now, however the head arrives (test red before: every one was served).
TEST_CASE("a field folded onto a second line is 400, however the head arrives, and runs nothing") {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> targets;
  RunningServer s(counting_handler(calls, &targets, &mu));
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string chunked_body = "2\r\nhi\r\n" + [&] {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", smuggled.size());
    return std::string(size);
  }() + "\r\n" + smuggled + "\r\n0\r\n\r\n";
  for (const std::string& head :
       {"POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" + chunked_body,
        "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n" + chunked_body,
        "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 0\r\n\r\n" + smuggled,
        std::string("GET /first HTTP/1.1\r\nHost:\r\n x\r\n\r\n"),
        std::string("GET /first HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n"),
        std::string("GET /first HTTP/1.1\r\nX-Note: a\r\n\t \tb\r\n \r\nHost: x\r\n\r\n"),
        // In a chunked body's trailer too (red before: served).
        std::string("POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "2\r\nhi\r\n0\r\nX-A: 1\r\n\tX-B: 2\r\n\r\n")}) {
    CAPTURE(head);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(head));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("obs-fold") != std::string::npos);
  }
  // The same head cut at each byte (the parser meets the fold in a later read than the field's
  // name, or the name in a later one than the request line).
  const std::string head =
      "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n";
  for (std::size_t cut = 1; cut < head.size(); ++cut) {
    CAPTURE(cut);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(head.substr(0, cut)));
    std::this_thread::sleep_for(2ms);
    REQUIRE(c.send(head.substr(cut) + chunked_body));
    CHECK(c.read_until_closed(5s));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
  }
  CHECK(calls.load() == 0);
  // A value that goes on after spaces on one line is no fold.
  RawConnection plain(s.server.port());
  REQUIRE(plain.connected());
  REQUIRE(
      plain.send("GET /plain HTTP/1.1\r\nHost: x\r\nX-Note: a \t b \r\nConnection: close\r\n\r\n"));
  CHECK(plain.read_until_closed(5s));
  CHECK(plain.received.starts_with("HTTP/1.1 200"));
  CHECK(calls.load() == 1);
}

TEST_CASE("chunked alone, in any letter case or spacing, is read as before") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  for (const std::string te :
       {"chunked", "Chunked", "CHUNKED", " chunked ", "chunked,", ", chunked"}) {
    CAPTURE(te);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                   "\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n"));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 200"));
  }
  CHECK(calls.load() == 6);
}

// Each listener caps its own connections (10,000 by default), but a process has several (the
// shop six) and one open-file limit: idle connections to two of them used up the process's
// descriptors, after which no listener accepted anything and the services could not reach
// each other. All listeners now share one budget below that limit.
// Bodies awaited this long are never closed for room here: the held connections stay busy.
http::ServerOptions patient() {
  http::ServerOptions o;
  o.limits.stalled_body = std::chrono::minutes(1);
  return o;
}

TEST_CASE("all listeners of a process share one connection budget") {
  std::atomic<int> calls{0};
  RunningServer a(counting_handler(calls, nullptr, nullptr), patient());
  RunningServer b(counting_handler(calls, nullptr, nullptr), patient());
  const std::size_t held_before = http::inbound_connections();
  http::set_inbound_connection_budget(held_before + 3);
  struct Restore {
    ~Restore() { http::set_inbound_connection_budget(0); }
  } restore;
  // Three connections within the budget: two to a, one to b. Each answers, so each is counted;
  // then each begins a request whose body is still to come, so none is idle (a full listener
  // would close an idle one to make room).
  std::vector<std::unique_ptr<RawConnection>> held;
  for (auto port : {a.server.port(), a.server.port(), b.server.port()}) {
    held.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(held.back()->connected());
    REQUIRE(held.back()->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(held.back()->read_until("\r\n\r\nok", 5s));
    REQUIRE(held.back()->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
  }
  std::this_thread::sleep_for(200ms);
  CHECK(http::inbound_connections() == held_before + 3);
  // The fourth, to either listener, far below its own cap: 503, closed at once. Each refusal
  // has a trace id of its own, the same in its X-Trace-Id field and its body (they were one
  // id per process, built once with the answer).
  std::set<std::string> trace_ids;
  for (auto port : {a.server.port(), b.server.port(), a.server.port()}) {
    RawConnection extra(port);
    REQUIRE(extra.connected());
    CHECK(extra.read_until_closed(5s));
    CAPTURE(extra.received.substr(0, 300));
    CHECK(extra.received.starts_with("HTTP/1.1 503"));
    CHECK(extra.received.find("too_many_connections") != std::string::npos);
    const auto at = extra.received.find("X-Trace-Id: ");
    REQUIRE(at != std::string::npos);
    const auto id = extra.received.substr(at + 12, 32);
    CHECK(extra.received.find("\"trace_id\":\"" + id + "\"") != std::string::npos);
    trace_ids.insert(id);
  }
  CHECK(trace_ids.size() == 3);
  // One let go: there is room again.
  held.pop_back();
  std::this_thread::sleep_for(200ms);
  RawConnection again(b.server.port());
  REQUIRE(again.connected());
  REQUIRE(again.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(again.read_until_closed(5s));
  CHECK(again.received.starts_with("HTTP/1.1 200"));
  // The default: the open-file limit less what is kept back for the process's own work.
  http::set_inbound_connection_budget(0);
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur != RLIM_INFINITY) {
    CHECK(http::inbound_connection_budget() < limit.rlim_cur);
    CHECK(http::inbound_connection_budget() + 256 <= limit.rlim_cur);
  }
}

// Past the process's budget, room is made on whichever listener holds the connection idle the
// longest: silent connections to the internal ports (each under its own cap) held the
// budget, and the gateway, with no idle connection of its own, refused every visitor 503.
TEST_CASE("past the process's budget, a silent connection on another listener makes room") {
  std::atomic<int> calls{0};
  RunningServer door(counting_handler(calls, nullptr, nullptr));
  RunningServer inner(counting_handler(calls, nullptr, nullptr));
  const std::size_t held_before = http::inbound_connections();
  http::set_inbound_connection_budget(held_before + 3);
  struct Restore {
    ~Restore() { http::set_inbound_connection_budget(0); }
  } restore;
  std::vector<std::unique_ptr<RawConnection>> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(std::make_unique<RawConnection>(inner.server.port()));
    REQUIRE(silent.back()->connected());
    std::this_thread::sleep_for(50ms);  // accepted in this order: the first is idle longest
  }
  std::this_thread::sleep_for(200ms);
  REQUIRE(http::inbound_connections() == held_before + 3);
  RawConnection visitor(door.server.port());
  REQUIRE(visitor.connected());
  REQUIRE(visitor.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(visitor.read_until_closed(5s));
  CAPTURE(visitor.received.substr(0, 200));
  CHECK(visitor.received.starts_with("HTTP/1.1 200"));
  // The one closed for it: the silent connection idle the longest, on the other listener.
  CHECK(silent[0]->read_until_closed(3s));
  CHECK(silent[0]->received.empty());
}

// A full listener closes idle connections that never had a request answered below 400 before
// those that had: on an internal port, only a client with the service credential gets one so.
// A flood of connections that sent half a head, with no credential, closed the order service's
// kept-alive connections to the catalog as the oldest idle ones, and its new ones waited behind
// the flood to be accepted: every cart add was 503 for the breaker's 30 s (an outside probe).
TEST_CASE("room is made from idle connections never answered before those of a known client") {
  std::atomic<int> calls{0};
  RunningServer server(counting_handler(calls, nullptr, nullptr));
  const std::size_t held_before = http::inbound_connections();
  http::set_inbound_connection_budget(held_before + 3);
  struct Restore {
    ~Restore() { http::set_inbound_connection_budget(0); }
  } restore;
  // The known client first: idle the longest once answered.
  RawConnection known(server.server.port());
  REQUIRE(known.connected());
  REQUIRE(known.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(known.read_until("\r\n\r\nok", 5s));
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(50ms);
    flood.push_back(std::make_unique<RawConnection>(server.server.port()));
    REQUIRE(flood.back()->connected());
    REQUIRE(flood.back()->send("GET /products HTTP/1.1\r\nHost: x\r\n"));  // half a head
  }
  std::this_thread::sleep_for(200ms);
  REQUIRE(http::inbound_connections() == held_before + 3);
  // Two more of the flood: each closes one of the flood, the oldest first, never the known one.
  for (int i = 0; i < 2; ++i) {
    flood.push_back(std::make_unique<RawConnection>(server.server.port()));
    REQUIRE(flood.back()->connected());
    std::this_thread::sleep_for(100ms);
  }
  CHECK(flood[0]->read_until_closed(3s));
  CHECK(flood[1]->read_until_closed(3s));
  known.received.clear();
  REQUIRE(known.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(known.read_until("\r\n\r\nok", 5s));
  CAPTURE(known.received.substr(0, 200));
  CHECK(known.received.starts_with("HTTP/1.1 200"));
}

// RFC 9112 3.2: an HTTP/1.1 request without Host, and any request with two, is a 400. Both
// were answered 200.
TEST_CASE("an HTTP/1.1 request without a Host field, or with two, is 400") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  struct Case {
    std::string request, why;
  };
  for (const Case& each :
       {Case{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "needs a Host field"},
        Case{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
             "more than one Host field"},
        Case{"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host field"}}) {
    CAPTURE(each.request);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(each.request));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find(each.why) != std::string::npos);
  }
  CHECK(calls.load() == 0);
  // HTTP/1.0 may leave Host out.
  RawConnection old(s.server.port());
  REQUIRE(old.connected());
  REQUIRE(old.send("GET / HTTP/1.0\r\n\r\n"));
  CHECK(old.read_until_closed(5s));
  CHECK(old.received.starts_with("HTTP/1.0 200"));
}

// A credential or request-identity field given twice is read differently by a proxy that takes
// the last one and by this server, which takes the first (one user authenticated, another
// served; one key claimed, another replayed). It was answered as if only the first were there.
TEST_CASE(
    "Authorization, Content-Type, Idempotency-Key and the shop's credential fields twice are 400") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  for (const char* field :
       {"Authorization: Bearer a\r\nauthorization: Bearer b",
        "Content-Type: application/json\r\nContent-Type: text/plain",
        "Idempotency-Key: k1\r\nIDEMPOTENCY-KEY: k2",
        "Payment-Signature: t=1,v1=a\r\nPayment-Signature: t=1,v1=b",
        "X-Service-Token: a\r\nX-Service-Token: b", "X-Admin-Token: a\r\nx-admin-token: b",
        "X-User-Id: 1\r\nX-User-Id: 2"}) {
    const std::string request =
        std::string("GET / HTTP/1.1\r\nHost: a\r\n") + field + "\r\nConnection: close\r\n\r\n";
    CAPTURE(request);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(request));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("more than one") != std::string::npos);
  }
  CHECK(calls.load() == 0);
  // Once each, and fields that may repeat (Accept, traceparent's neighbours), are served.
  RawConnection ok(s.server.port());
  REQUIRE(ok.connected());
  REQUIRE(
      ok.send("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nIdempotency-Key: k\r\n"
              "Accept: text/html\r\nAccept: application/json\r\nConnection: close\r\n\r\n"));
  CHECK(ok.read_until_closed(5s));
  CHECK(ok.received.starts_with("HTTP/1.1 200"));
}

// Bodies that arrive slowly hold memory: 500 connections each sending most of a 1 MiB body
// held 400 MB, and 10,000 connections are allowed. The listeners of a process share one budget
// for bodies being read; past it a request is 503 too_busy, and a body complete with its head
// needs none of it. The budget holds the bytes that came (and a read's worth more), not the
// bytes declared: held by declaration, a few hundred connections that each declared 1 MiB and
// sent nothing took it all, and every other client's body that came after its head was 503.
TEST_CASE("all listeners of a process share one budget for the request bodies they receive") {
  std::atomic<int> calls{0};
  RunningServer a(counting_handler(calls, nullptr, nullptr));
  RunningServer b(counting_handler(calls, nullptr, nullptr));
  REQUIRE(http::inbound_body_bytes() == 0);
  http::set_inbound_body_budget(std::size_t{3} << 19);  // 1.5 MiB
  struct Restore {
    ~Restore() { http::set_inbound_body_budget(0); }
  } restore;
  const std::string slow_head =
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1048576\r\n\r\na";
  auto wait_for_held = [](auto pred) {
    for (int i = 0; i < 300 && !pred(http::inbound_body_bytes()); ++i)
      std::this_thread::sleep_for(10ms);
    return pred(http::inbound_body_bytes());
  };
  // Twenty clients declare 1 MiB each (20 MiB against a budget of 1.5) and send one byte: each
  // holds a read's worth (16 KiB), not its declaration.
  std::vector<std::unique_ptr<RawConnection>> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(std::make_unique<RawConnection>((i % 2 ? a : b).server.port()));
    REQUIRE(silent.back()->send(slow_head));
  }
  REQUIRE(wait_for_held([](std::size_t held) { return held >= 20 * std::size_t{512}; }));
  std::this_thread::sleep_for(50ms);
  const std::size_t held_by_silent = http::inbound_body_bytes();
  CHECK(held_by_silent <= 20 * std::size_t{20} * 1024);
  // Another client's body that comes after its head is read and answered.
  {
    RawConnection late(a.server.port());
    REQUIRE(
        late.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"));
    std::this_thread::sleep_for(20ms);
    REQUIRE(late.send("body"));
    CHECK(late.read_until_closed(5s));
    CAPTURE(late.received.substr(0, 300));
    CHECK(late.received.starts_with("HTTP/1.1 200"));
  }
  silent.clear();
  REQUIRE(wait_for_held([](std::size_t held) { return held == 0; }));
  // Bytes that came do hold the budget: one body of 1 MiB on its way holds about 1 MiB; a
  // second one that would pass the 1.5 MiB is 503 too_busy, closed, the handler never called.
  const int before = calls.load();
  RawConnection first(a.server.port());
  REQUIRE(first.send(slow_head));
  REQUIRE(first.send(std::string((1u << 20) - 2, 'b')));  // one byte short
  REQUIRE(wait_for_held([](std::size_t held) { return held >= (std::size_t{1} << 20); }));
  {
    RawConnection second(b.server.port());
    REQUIRE(second.send(slow_head));
    second.send(std::string((1u << 20) - 2, 'c'));  // the server may stop reading
    CHECK(second.read_until_closed(5s));
    CAPTURE(second.received.substr(0, 300));
    CHECK(second.received.starts_with("HTTP/1.1 503"));
    CHECK(second.received.find("too_busy") != std::string::npos);
    CHECK(second.received.find("Retry-After: 1") != std::string::npos);
  }
  // A request whose body came with its head needs none of the budget.
  {
    RawConnection small(b.server.port());
    REQUIRE(small.send(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"));
    CHECK(small.read_until_closed(5s));
    CHECK(small.received.starts_with("HTTP/1.1 200"));
  }
  // The first one's last byte: answered, and the budget comes back.
  REQUIRE(first.send("b"));
  CHECK(first.read_until("\r\n\r\nok", 5s));
  CHECK(first.received.starts_with("HTTP/1.1 200"));
  CHECK(calls.load() == before + 2);
  REQUIRE(wait_for_held([](std::size_t held) { return held == 0; }));
  http::set_inbound_body_budget(0);
  CHECK(http::inbound_body_budget() == (std::size_t{256} << 20));
}

// Chunk extensions count with the data against the body limit: 41 KB of data carried 2.5 GB
// of extensions in 8 s (3.2 s of CPU), never refused. And a Transfer-Encoding in an HTTP/1.0
// request is faulty framing (RFC 9112 6.1): 400 and closed; it was decoded and the connection
// kept for the next request.
TEST_CASE(
    "chunk extensions count against the body limit, and HTTP/1.0 takes no Transfer-Encoding") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  {
    RawConnection c(s.server.port());
    REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk = "1;" + std::string(60000, 'e') + "\r\nx\r\n";
    for (int i = 0; i < 40; ++i) {
      if (!c.send(chunk)) break;  // refused and closed: the rest is not read
    }
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 413"));
  }
  {
    RawConnection c(s.server.port());
    REQUIRE(c.send(
        "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 400"));
    CHECK(c.received.find("HTTP/1.0 has no chunked coding") != std::string::npos);
    CHECK(c.received.find(" 200 ") == std::string::npos);  // nothing after it is served
  }
  // Chunk sizes written with thousands of leading zeros: the bytes on the wire are bounded too
  // (each line counted as a few bytes, gigabytes passed).
  {
    RawConnection c(s.server.port());
    REQUIRE(c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk = std::string(60000, '0') + "1\r\nx\r\n";
    for (int i = 0; i < 60; ++i) {
      if (!c.send(chunk)) break;
    }
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 413"));
  }
  // A whole 1 MiB body in honest 64-byte chunks is framing of 9 %: read and answered.
  {
    RawConnection c(s.server.port());
    std::string body =
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < (1 << 20) / 64 - 1; ++i) body += "40\r\n" + std::string(64, 'y') + "\r\n";
    body += "0\r\n\r\n";
    REQUIRE(c.send(body));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 200"));
  }
  // Small chunks with small extensions, as real clients send them, still pass.
  {
    RawConnection c(s.server.port());
    REQUIRE(
        c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: "
               "close\r\n\r\n2;name=v\r\n{}\r\n0\r\n\r\n"));
    CHECK(c.read_until_closed(5s));
    CHECK(c.received.starts_with("HTTP/1.1 200"));
  }
  CHECK(calls.load() == 2);
}

namespace {
// Answers with what the handler saw: each field that decides who calls and what the body is.
http::Handler echo_fields_handler(std::atomic<int>& calls) {
  return [&calls](http::Request& req) -> asio::awaitable<http::Response> {
    ++calls;
    http::Response r;
    for (const char* name : {"Authorization", "Content-Type", "Idempotency-Key", "Host"}) {
      auto value = req.headers.get(name);
      r.body += std::string(name) + "=" + (value ? std::string(*value) : "(none)") + ";";
    }
    r.body += "fields=" + std::to_string(req.headers.size()) + ";";
    co_return r;
  };
}
}  // namespace

// Beast hands the fields of a chunked request's trailer section to the same callback as the
// header's, after the checks on the header had run: an Authorization only in the trailer
// authenticated the request, one in each was not "more than one", and a Content-Type in the
// trailer made the body JSON. A proxy deciding on the header alone saw another request. The
// trailer's fields are now dropped (RFC 9110 6.5.1: none of these may be merged).
TEST_CASE("a chunked request's trailer fields are dropped, never taken for header fields") {
  std::atomic<int> calls{0};
  RunningServer s(echo_fields_handler(calls));
  const std::string start =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n";
  struct Case {
    std::string header, trailer, expect;
  };
  for (const Case& each :
       {Case{"", "Authorization: Bearer trailer\r\n", "Authorization=(none);"},
        Case{"Authorization: Bearer head\r\n", "Authorization: Bearer trailer\r\n",
             "Authorization=Bearer head;"},
        Case{"", "Content-Type: application/json\r\n", "Content-Type=(none);"},
        Case{"Idempotency-Key: k1\r\n", "Idempotency-Key: k2\r\n", "Idempotency-Key=k1;"},
        Case{"", "Host: b\r\nX-Other: 1\r\n", "Host=a;fields=3;"}}) {
    const std::string request =
        start + each.header + "\r\n2\r\n{}\r\n0\r\n" + each.trailer + "\r\n";
    CAPTURE(request);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send(request));
    CHECK(c.read_until_closed(5s));
    CAPTURE(c.received.substr(0, 400));
    CHECK(c.received.starts_with("HTTP/1.1 200"));
    CHECK(c.received.find(each.expect) != std::string::npos);
  }
}

// Beast's header_limit bounds only the bytes of a head not yet parsed in one call: fields it
// has parsed are consumed, so a head read in two parts (the first 16 KiB read, then the rest)
// passed at twice the limit, and one sent in pieces had none. The server counts the whole head.
TEST_CASE("a request head over 16 KiB is 431 however it arrives, and so is a trailer section") {
  std::atomic<int> calls{0};
  RunningServer s(echo_fields_handler(calls));
  const std::string field(15000, 'a');
  struct Case {
    std::string name, request;
    bool in_pieces;
  };
  for (const Case& each :
       {Case{"two fields of 15,000 bytes",
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: " + field + "\r\nX-B: " + field +
                 "\r\nConnection: close\r\n\r\n",
             false},
        Case{"3,000 small fields, a line at a time", "", true},
        Case{"a trailer section of 30,000 bytes",
             "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: "
             "close\r\n\r\n2\r\n{}\r\n0\r\nX-A: " +
                 field + "\r\nX-B: " + field + "\r\n\r\n",
             false}}) {
    CAPTURE(each.name);
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    if (each.in_pieces) {
      REQUIRE(c.send("GET / HTTP/1.1\r\nHost: a\r\n"));
      bool open = true;
      for (int i = 0; i < 3000 && open; ++i) {
        open = c.send("X-Field-" + std::to_string(i) + ": " + std::string(8, 'v') + "\r\n");
        if (i % 100 == 99) std::this_thread::sleep_for(1ms);
      }
      if (open) c.send("\r\n");
    } else {
      c.send(each.request);
    }
    CHECK(c.read_until_closed(10s));
    CAPTURE(c.received.substr(0, 300));
    CHECK(c.received.starts_with("HTTP/1.1 431"));
    CHECK(c.received.find("exceed 16 KiB") != std::string::npos);
  }
  CHECK(calls.load() == 0);
  // Just under the limit still passes.
  RawConnection ok(s.server.port());
  REQUIRE(ok.connected());
  REQUIRE(ok.send("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + std::string(16000, 'a') +
                  "\r\nConnection: close\r\n\r\n"));
  CHECK(ok.read_until_closed(5s));
  CHECK(ok.received.starts_with("HTTP/1.1 200"));
}

// The answers the HTTP layer writes itself (400, 413, 431, 503) took their trace ids from a
// counter that started at 0x5eed in every process, its second half the first times a constant:
// every `serve` gave the same ids in the same order. They are random now, as others are.
TEST_CASE("the HTTP layer's own error answers carry random trace ids") {
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    RawConnection c(s.server.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("GET * HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK(c.read_until_closed(5s));
    REQUIRE(c.received.starts_with("HTTP/1.1 400"));
    const auto at = c.received.find("X-Trace-Id: ");
    REQUIRE(at != std::string::npos);
    ids.push_back(c.received.substr(at + 12, 32));
  }
  CHECK(ids[0] != ids[1]);
  CHECK(ids[1] != ids[2]);
  for (const auto& id : ids) {
    CAPTURE(id);
    REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    const auto first = std::stoull(id.substr(0, 16), nullptr, 16);
    const auto second = std::stoull(id.substr(16, 16), nullptr, 16);
    CHECK(second != first * 0xbf58476d1ce4e5b9ULL);  // the counter's shape
  }
}

// A graceful stop closes the connections that look idle. One whose next request had been read,
// its completion queued but not yet run, looked idle too: the close ran while its handler did,
// and the answer (a checkout's committed 201, an outside probe) was never written. Now every
// request whose handler runs is answered, and one closed before it ran is not run at all.
TEST_CASE("a graceful stop under load answers every request whose handler ran") {
  for (int round = 0; round < 6; ++round) {
    CAPTURE(round);
    std::mutex mu;
    std::set<std::string> handled;
    auto handler = [&mu, &handled](http::Request& req) -> asio::awaitable<http::Response> {
      // Busy for a while, so that completions queue up on the io thread behind it.
      const auto until = std::chrono::steady_clock::now() + 300us;
      while (std::chrono::steady_clock::now() < until) {
      }
      asio::steady_timer timer(co_await asio::this_coro::executor, 2ms);
      co_await timer.async_wait(asio::use_awaitable);
      {
        std::lock_guard lock(mu);
        handled.insert(req.target);
      }
      http::Response r;
      r.body = "ok";
      co_return r;
    };
    RunningServer s(handler);
    std::atomic<bool> stop{false};
    std::set<std::string> answered;
    std::vector<std::thread> clients;
    for (int i = 0; i < 24; ++i) {
      clients.emplace_back([&, i] {
        RawConnection c(s.server.port());
        if (!c.connected()) return;
        for (int n = 0; !stop.load(); ++n) {
          const std::string target = "/r" + std::to_string(i) + "-" + std::to_string(n);
          if (!c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")) return;
          const std::size_t before = c.received.size();
          if (!c.read_until("\r\n\r\nok", 3s)) return;
          c.received.erase(0, before);
          std::lock_guard lock(mu);
          answered.insert(target);
          c.received.clear();
        }
      });
    }
    std::this_thread::sleep_for(100ms);
    s.server.shutdown(2s);
    stop = true;
    for (auto& t : clients) t.join();
    std::lock_guard lock(mu);
    CHECK(!handled.empty());
    for (const auto& target : handled) {
      CAPTURE(target);
      CHECK(answered.count(target) == 1);
    }
  }
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SHOPCTL_TEST_SANITIZED 1
#endif
#endif

namespace {
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}
}  // namespace

// 18,000 idle connections opened and closed left a shop at 329 MB for good: glibc's arenas kept
// what the connections had freed (an outside probe). Once a flood of at least 1,000 ends (an
// eighth of it left), the server hands the free memory back (red before: no trim, the memory
// stayed).
TEST_CASE("the memory of a flood of connections is handed back once it ends") {
  http::raise_open_file_limit();
  std::atomic<int> calls{0};
  RunningServer s(counting_handler(calls, nullptr, nullptr));
  const auto trims_before = http::allocator_trims();
  [[maybe_unused]] const std::size_t before = resident_bytes();
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 1500; ++i) {
    flood.push_back(std::make_unique<RawConnection>(s.server.port()));
    REQUIRE(flood.back()->connected());
    // Half of them send a request head's first bytes, as slow clients do: a buffer each.
    if (i % 2 == 0) REQUIRE(flood.back()->send("GET /x HTTP/1.1\r\nHost: x\r\nX-Pad: "));
  }
  for (int i = 0; i < 500 && s.server.open_connections() < 1500; ++i)
    std::this_thread::sleep_for(10ms);
  REQUIRE(s.server.open_connections() == 1500);
  [[maybe_unused]] const std::size_t peak = resident_bytes();
  flood.clear();
  for (int i = 0; i < 500 && s.server.open_connections() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  bool trimmed = false;
  for (int i = 0; i < 300 && !(trimmed = http::allocator_trims() > trims_before); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(trimmed);
#ifndef SHOPCTL_TEST_SANITIZED
  const std::size_t after = resident_bytes();
  CAPTURE(before);
  CAPTURE(peak);
  CAPTURE(after);
  CHECK(after < peak - (peak - before) / 4);
#endif
}
