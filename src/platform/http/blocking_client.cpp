#include "platform/http/blocking_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <map>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "platform/http/beast_util.hpp"
#include "platform/http/resolver.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {
struct BlockingConnection {
  explicit BlockingConnection(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer{detail::kMaxBufferedBytes};  // a hostile server cannot grow it
};

bool peer_closed(BlockingConnection& c) {
  char byte;
  auto n = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || n > 0) return true;
  return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

// Starts one asynchronous operation with `start(handler)` and runs the client's private
// io_context until it completes; returns its error. The caller bounds the operation with the
// stream's timer (expires_after), so this returns by that deadline.
template <typename Start>
beast::error_code run_to_completion(asio::io_context& io, Start start) {
  beast::error_code result;
  bool done = false;
  start([&result, &done](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  io.restart();
  io.run();
  // run() returns only once no work is left, which includes the operation's handler.
  if (!done) return asio::error::operation_aborted;
  return result;
}
}  // namespace

struct BlockingClient::Impl {
  asio::io_context io;
  std::map<std::pair<std::string, int>, std::unique_ptr<BlockingConnection>> pool;
  detail::HostResolver* resolver = &detail::HostResolver::shared();
};

BlockingClient::BlockingClient() : impl_(std::make_unique<Impl>()) {}
BlockingClient::BlockingClient(detail::HostResolver& resolver) : BlockingClient() {
  impl_->resolver = &resolver;
}
BlockingClient::~BlockingClient() = default;

void BlockingClient::reset() {
  impl_->pool.clear();
}

Response BlockingClient::send(const Endpoint& endpoint, Request request,
                              std::chrono::nanoseconds timeout) {
  // One deadline for the whole exchange (connect, write, read): the stream's timer applies to
  // every asynchronous operation until it is set again, and closes the socket when it fires.
  // Synchronous Beast calls would ignore it, and socket timeouts (SO_RCVTIMEO) do not bound
  // them either: Asio answers EAGAIN by polling without a time limit.
  timeout = std::clamp<std::chrono::nanoseconds>(timeout, std::chrono::milliseconds(1),
                                                 std::chrono::hours(24 * 365));
  auto key = std::make_pair(endpoint.host, static_cast<int>(endpoint.port));
  auto& slot = impl_->pool[key];
  if (slot && (!slot->stream.socket().is_open() || peer_closed(*slot))) slot.reset();
  beast::error_code ec;
  if (!slot) {
    slot = std::make_unique<BlockingConnection>(impl_->io);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const detail::Resolution found = impl_->resolver->resolve(endpoint.host, deadline);
    const auto targets = detail::endpoints_of(found, endpoint.port);
    if (targets.empty()) {
      slot.reset();
      throw TransportError(
          found.timed_out ? TransportErrorKind::timeout : TransportErrorKind::refused,
          "no address for " + endpoint.host +
              (found.problem.empty() ? "" : " (" + found.problem + ")"));
    }
    slot->stream.expires_at(deadline);  // the lookup's wait counts against the timeout
    ec = run_to_completion(impl_->io, [&](auto handler) {
      // Each address in turn, until one answers or the deadline passes.
      slot->stream.async_connect(targets, std::move(handler));
    });
    if (ec) {
      slot.reset();
      throw detail::transport_error(ec, "connect");
    }
    slot->stream.socket().set_option(tcp::no_delay(true), ec);
  } else {
    slot->stream.expires_after(timeout);
  }
  auto& conn = *slot;
  bhttp::request<bhttp::string_body> out;
  auto verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown)
    out.method_string(request.method);
  else
    out.method(verb);
  out.target(request.target);
  out.version(11);
  detail::copy_headers_to(request.headers, out.base());
  if (!out.base().count(bhttp::field::host))
    out.set(
        bhttp::field::host,
        (endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host) +
            ":" + std::to_string(endpoint.port));
  out.body() = std::move(request.body);
  out.keep_alive(true);
  out.prepare_payload();

  const auto wrote = run_to_completion(
      impl_->io, [&](auto handler) { bhttp::async_write(conn.stream, out, std::move(handler)); });
  // A server may answer before it has read the whole body, and close: 413 for a body over its
  // limit. The write then fails (EPIPE, ECONNRESET) and the answer waits to be read: a 20 MB
  // body was "unreachable: write: Broken pipe" where the shop had said 413 (an outside probe).
  // The answer is read as any other, within the same deadline; without one, the write's error.
  const bool answered_early =
      wrote == boost::asio::error::broken_pipe || wrote == boost::asio::error::connection_reset;
  if (wrote && !answered_early) {
    slot.reset();
    throw detail::transport_error(wrote, "write");
  }
  // The outbound client's parser (detail::ResponseParser): an answer's trailer fields are
  // dropped, not merged into its header, and its whole head counts against the cap.
  Response res;
  detail::ResponseParser parser(res);
  parser.body_limit(64u << 20);
  // The answer to HEAD has a Content-Length but no body (RFC 9110, 9.3.2).
  if (verb == bhttp::verb::head) parser.skip(true);
  ec = run_to_completion(impl_->io, [&](auto handler) {
    bhttp::async_read(conn.stream, conn.buffer, parser, std::move(handler));
  });
  if (ec) {
    slot.reset();
    if (answered_early) throw detail::transport_error(wrote, "write");
    if (ec == beast::error::timeout)
      throw TransportError(TransportErrorKind::timeout, "no answer within the deadline");
    throw detail::transport_error(ec, "read");
  }
  if (answered_early || !detail::keep_alive(res.headers, parser.version())) slot.reset();
  return res;
}

std::pair<Endpoint, std::string> split_url(std::string_view url) {
  // The scheme and authority are parsed as a URL; the path and query after them are the
  // request target as written, so that a scenario can send "/products/%zz" (a malformed
  // escape the shop answers 400 for) instead of failing as "expected an http:// URL".
  const auto authority_at = url.find("://");
  const auto target_at = authority_at == std::string_view::npos
                             ? std::string_view::npos
                             : url.find_first_of("/?", authority_at + 3);
  const std::string_view base = url.substr(0, target_at);
  std::string target =
      target_at == std::string_view::npos ? std::string("/") : std::string(url.substr(target_at));
  target.erase(std::min(target.find('#'), target.size()));  // a fragment is not sent
  if (target.empty() || target.front() != '/') target.insert(0, "/");
  auto parsed = boost::urls::parse_absolute_uri(base);
  // A host, and a port a server can listen on when one is given: "http://" and port 99999
  // were taken, then failed as unreachable. The target goes on the request line as it is: no
  // space or control character.
  const bool plain_target = std::all_of(target.begin(), target.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) != 0x7F;
  });
  if (!parsed || parsed->scheme() != "http" || parsed->host_address().empty() ||
      (parsed->has_port() && !valid_port(parsed->port())) || !parsed->encoded_path().empty() ||
      !plain_target) {
    // Quoted with its control characters as escapes: what() is a C string, and a NUL in the
    // URL cut the message there (an outside probe).
    const auto shown = platform::terminal_text(url.substr(0, 200), true);
    throw std::invalid_argument(
        plain_target ? "expected an http:// URL like http://127.0.0.1:8080, got '" + shown + "'"
                     : "the path holds a space or a control character: '" + shown + "'");
  }
  Endpoint ep;
  ep.host = std::string(parsed->host_address());  // an IPv6 address without its brackets
  if (ep.host == "localhost") ep.host = "127.0.0.1";
  ep.port = parsed->has_port() ? parsed->port_number() : 80;
  return {ep, target};
}

Response BlockingClient::send_url(std::string_view url, Request request,
                                  std::chrono::nanoseconds timeout) {
  auto [ep, target] = split_url(url);
  request.target = target;
  return send(ep, std::move(request), timeout);
}

}  // namespace shopctl::http
