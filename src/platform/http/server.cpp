#include "platform/http/server.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "platform/error_mapping.hpp"
#include "platform/http/affinity.hpp"
#include "platform/http/beast_util.hpp"
#include "platform/http/chunk_framing.hpp"
#include "platform/trace_context.hpp"

namespace shopctl::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

constexpr std::size_t kServerReadBufferBytes = 16 * 1024;
// What a connection's read buffer may hold at once: a head (header_limit) with room to spare.
// A body passes through it (a chunk's data too), but a chunk line or a trailer section must
// fit whole, and Beast limits neither: without a cap, one that never ends grew the buffer
// without bound (hundreds of MB a second from one client). Past it the read fails with
// buffer_overflow, answered 400.
std::size_t read_buffer_cap(std::size_t header_limit) {
  return std::max<std::size_t>(detail::kMaxBufferedBytes,
                               header_limit + 2 * kServerReadBufferBytes);
}

// The connections every listener of this process holds, and the budget they share (see
// inbound_connection_budget()). Counted by Connection's lifetime, which is its socket's.
std::atomic<std::size_t> g_inbound_connections{0};
// The most connections held at once since the allocator was last asked to give memory back,
// and how many times it was asked (allocator_trims()).
std::atomic<std::size_t> g_connection_peak{0};
std::atomic<std::uint64_t> g_allocator_trims{0};

// A flood of connections leaves its buffers and coroutine frames freed inside glibc's arenas,
// which keep them: 18,000 idle connections opened and closed left the shop at 329 MB for good
// (an outside probe; 15 MB idle). Once the connections held fall to an eighth of a peak of at
// least kTrimAfterPeak, malloc_trim(0) hands the free pages back, on a thread of its own (it
// takes every arena's lock for a few milliseconds, and this runs where a lock may be held).
constexpr std::size_t kTrimAfterPeak = 1000;

void note_connection_opened() {
  const std::size_t now = g_inbound_connections.fetch_add(1, std::memory_order_relaxed) + 1;
  std::size_t peak = g_connection_peak.load(std::memory_order_relaxed);
  while (now > peak &&
         !g_connection_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void note_connection_closed() {
  const std::size_t now = g_inbound_connections.fetch_sub(1, std::memory_order_relaxed) - 1;
  std::size_t peak = g_connection_peak.load(std::memory_order_relaxed);
  if (peak < kTrimAfterPeak || now > peak / 8) return;
  if (!g_connection_peak.compare_exchange_strong(peak, now, std::memory_order_relaxed)) return;
#ifdef __GLIBC__
  std::thread([] {
    ::malloc_trim(0);
    g_allocator_trims.fetch_add(1, std::memory_order_relaxed);
  }).detach();
#endif
}
std::atomic<std::size_t> g_budget_override{0};

// The body budget (inbound_body_budget()): bytes held by requests whose body is being read.
constexpr std::size_t kDefaultBodyBudget = std::size_t{256} << 20;

// Empty lines a request may come after (RFC 9112 2.2: a server SHOULD ignore at least one before
// a request line; some clients send a CRLF after a POST body). More is not a client's mistake.
constexpr std::size_t kEmptyLineBytes = 64;

// Consumes the empty lines (CRLF, or a bare LF) at the front of `buffer`, and a CR that ends it
// (the first half of one), adding their bytes to `skipped`. False once `skipped` passes
// kEmptyLineBytes.
bool skip_empty_lines(beast::flat_buffer& buffer, std::size_t& skipped) {
  const auto data = buffer.data();
  const char* p = static_cast<const char*>(data.data());
  const std::size_t size = data.size();
  std::size_t n = 0;
  while (n < size) {
    if (p[n] == '\n') {
      ++n;
    } else if (p[n] == '\r' && (n + 1 == size || p[n + 1] == '\n')) {
      n += n + 1 == size ? 1 : 2;
    } else {
      break;
    }
  }
  if (n == 0) return true;
  buffer.consume(n);
  skipped += n;
  return skipped <= kEmptyLineBytes;
}
// Whether `buffer` holds a LF without its CR. Called on what the parser left of a chunked body
// when it needs more: the start of a chunk line or of the trailer section. Beast ends those
// lines at CR LF only and skips a bare LF as an ordinary byte, so such a line never ends.
bool has_bare_lf(const beast::flat_buffer& buffer) {
  const auto data = buffer.data();
  const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
  for (std::size_t at = bytes.find('\n'); at != std::string_view::npos;
       at = bytes.find('\n', at + 1)) {
    if (at == 0 || bytes[at - 1] != '\r') return true;
  }
  return false;
}

std::atomic<std::size_t> g_body_bytes{0};
std::atomic<std::size_t> g_body_budget_override{0};

// Part of the body budget, held for one request until destroyed.
class BodyReservation {
 public:
  BodyReservation() = default;
  ~BodyReservation() {
    if (bytes_ != 0) g_body_bytes.fetch_sub(bytes_, std::memory_order_relaxed);
  }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Takes `bytes` of the budget; false (and nothing taken) when that would pass it.
  bool take(std::size_t bytes) {
    const std::size_t budget = inbound_body_budget();
    std::size_t held = g_body_bytes.load(std::memory_order_relaxed);
    do {
      if (bytes > budget || held > budget - bytes) return false;
    } while (!g_body_bytes.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
    bytes_ += bytes;
    return true;
  }

 private:
  std::size_t bytes_ = 0;
};

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) { note_connection_opened(); }
  ~Connection() { note_connection_closed(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  beast::tcp_stream stream;
  std::atomic<bool> busy{false};
  std::atomic<bool> close_when_idle{false};
  // Set (on the connection's io thread) when the server closed it while it looked idle: a
  // request whose bytes were read meanwhile is then not run, since its answer could not be
  // written (a checkout committed 201 behind a stop and its client saw only a close).
  std::atomic<bool> closed_by_server{false};
  // When the connection last became idle (accepted, or its last answer written), in steady
  // clock ticks: a full listener makes room by closing the connection idle the longest.
  std::atomic<std::int64_t> idle_since{std::chrono::steady_clock::now().time_since_epoch().count()};
  // Whether a request on it was answered below 400: on an internal port, only a client with
  // the service credential gets there. A full listener closes the idle connections that never
  // got that far first: a flood of connections that sent half a head, with no credential,
  // closed the order service's kept-alive connections to the catalog as the oldest idle ones,
  // and its new ones waited behind the flood to be accepted: every cart add was 503 for the
  // breaker's 30 s (an outside probe).
  std::atomic<bool> proven{false};
  // When the body of its current request began to be awaited (its head read, the body not with
  // it), in steady clock ticks; 0 while no body is awaited. A full listener that has no idle
  // connection closes the one whose body has been awaited the longest (make_room_locked).
  std::atomic<std::int64_t> body_since{0};
  // When an answer the socket did not take at once began to wait for the client to read it, in
  // steady clock ticks; 0 otherwise. A full listener with no idle connection and no stalled
  // body closes the one whose answer has waited the longest, past the same stalled_body:
  // clients that pipelined requests and never read the answers held every slot for the 30 s
  // body timeout, renewed at will, and every other client got 503 (an outside probe).
  std::atomic<std::int64_t> write_since{0};
  // Marks an answer as waiting for its reader (write_since) for as long as it lives.
  struct WaitingForReader {
    explicit WaitingForReader(Connection& c) : connection(c) {
      c.write_since.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                          std::memory_order_relaxed);
    }
    ~WaitingForReader() { connection.write_since.store(0, std::memory_order_relaxed); }
    WaitingForReader(const WaitingForReader&) = delete;
    WaitingForReader& operator=(const WaitingForReader&) = delete;
    Connection& connection;
  };
  // abandon() cancels the session's coroutine through this signal. Both it and `session_done`
  // are touched only on the connection's own io thread; the signal is emitted only while the
  // session still runs (asio's slot handler must not outlive the coroutine it cancels).
  asio::cancellation_signal cancel;
  bool session_done = false;
};

// co_spawn's completion handler for a session: it holds the connection, and with it the
// cancellation signal the session's slot is bound to, until asio is done with the coroutine.
// The session's own frame ends earlier: when it ran without one asynchronous step (a moved
// connection answered by an immediate reset), asio still posts once after it and clears the
// slot then. Freeing the signal with the session let that touch freed cancellation handlers
// (a segfault of `serve` found by `shopctl chaos`; tests/integration/http_server_limits_test).
auto keep_until_spawn_ends(std::shared_ptr<Connection> connection) {
  return [connection = std::move(connection)](const std::exception_ptr&) {};
}

// Random, as every other answer's: a counter from a fixed start gave every process the same
// sequence (the first 400 of every `serve` was 0000000000005eed8ef4309fcc429a45), so trace ids
// collided across restarts and across the processes of one shop.
std::string quick_trace_id() {
  return platform::trace_hex(2);
}

Response limit_error(int status, std::string code, std::string message) {
  auto trace = quick_trace_id();
  Response r = platform::error_response(status, code, message, nlohmann::json::object(), trace);
  r.headers.set("X-Trace-Id", trace);
  // As every answer of a public port (ServiceHost::finish): no cache keeps it.
  r.headers.set("Cache-Control", "no-store");
  return r;
}

// The answer to a connection past ServerLimits::max_connections (or past the process's
// budget, `process`), written without reading anything (the connection is closed right after).
// Built once per process; each refusal gets a copy with a trace id of its own (the one the
// template was built with, in its X-Trace-Id field and its body, replaced), so that no two
// refusals share an id: the copy and the random id are the whole cost, under overload only.
struct RefusalTemplate {
  std::string text;
  std::string trace;
};
RefusalTemplate make_too_many_connections_answer(const std::string& message) {
  auto res = limit_error(503, "too_many_connections", message);
  std::string out = "HTTP/1.1 503 Service Unavailable\r\n";
  detail::append_fields(res.headers, out);
  out +=
      "X-Content-Type-Options: nosniff\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: ";
  detail::append_number(res.body.size(), out);
  out += "\r\n\r\n" + res.body;
  return {std::move(out), std::string(res.headers.get("X-Trace-Id").value_or(""))};
}
std::string too_many_connections_answer(bool process) {
  static const RefusalTemplate listener = make_too_many_connections_answer(
      "this listener holds as many connections as it may; try again");
  static const RefusalTemplate whole = make_too_many_connections_answer(
      "the shop's listeners hold as many connections as the process may; try again");
  const auto& t = process ? whole : listener;
  std::string out = t.text;
  if (t.trace.empty()) return out;
  const auto fresh = quick_trace_id();
  for (auto at = out.find(t.trace); at != std::string::npos;
       at = out.find(t.trace, at + fresh.size()))
    out.replace(at, t.trace.size(), fresh);
  return out;
}

// On every answer of every port: no browser may read a JSON answer (or an error) as anything
// but its declared type (an old browser sniffing `{"name":"<script>..."}` as HTML). One
// constant field, so the handlers cannot forget it and it costs no lookup.
constexpr std::string_view kNoSniffField = "X-Content-Type-Options: nosniff\r\n";

bool status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

// The status line and fields Beast writes for `res`: its own fields and nosniff. A HEAD
// answer's (an empty body) and every other answer's share it: the HEAD one, built apart,
// left nosniff out (an outside probe).
template <typename Body>
bhttp::response<Body> beast_head(const Response& res, unsigned version, bool keep_alive) {
  bhttp::response<Body> out{static_cast<bhttp::status>(res.status), version};
  // Beast writes "<unknown-status>" for a status it has no name for (an abort fault's 418).
  if (bhttp::obsolete_reason(out.result()).front() == '<') {
    const auto reason = reason_phrase(res.status);
    out.reason(boost::beast::string_view(reason.data(), reason.size()));
  }
  detail::copy_headers_to(res.headers, out.base());
  out.set("X-Content-Type-Options", "nosniff");
  out.keep_alive(keep_alive);
  return out;
}

bhttp::response<bhttp::string_body> to_beast(Response& res, unsigned version, bool keep_alive) {
  auto out = beast_head<bhttp::string_body>(res, version, keep_alive);
  out.body() = std::move(res.body);
  out.prepare_payload();
  // A status that never has a body says nothing of its length: a 304's Content-Length would
  // have to be the 200's (RFC 9110, 8.6), and 1xx and 204 may not carry one (9110, 8.6).
  if (!status_has_body(res.status)) out.erase(bhttp::field::content_length);
  return out;
}

// Writes into `head` (replacing what it held, keeping its storage) the status line and fields
// to_beast() + Beast's serializer would write; false when the response needs Beast's handling
// (see plain_fields(); bodiless statuses).
bool serialize_head(const Response& res, unsigned version, bool keep_alive, std::string& head) {
  int code = res.status;
  if (code < 200 || code > 599 || code == 204 || code == 304 || version > 99) return false;
  if (!detail::plain_fields(res.headers)) return false;
  const auto reason = reason_phrase(code);
  head.clear();
  head.reserve(256);
  head.append("HTTP/", 5);
  head.push_back(static_cast<char>('0' + version / 10));
  head.push_back('.');
  head.push_back(static_cast<char>('0' + version % 10));
  head.push_back(' ');
  head.push_back(static_cast<char>('0' + code / 100));
  head.push_back(static_cast<char>('0' + (code / 10) % 10));
  head.push_back(static_cast<char>('0' + code % 10));
  head.push_back(' ');
  head.append(reason.data(), reason.size());
  head.append("\r\n", 2);
  detail::append_fields(res.headers, head);
  head.append(kNoSniffField);
  // What message::keep_alive() adds when the response had no Connection field.
  if (version < 11 && keep_alive) head.append("Connection: keep-alive\r\n");
  if (version >= 11 && !keep_alive) head.append("Connection: close\r\n");
  head.append("Content-Length: ");
  detail::append_number(res.body.size(), head);
  head.append("\r\n\r\n", 4);
  return true;
}

std::string serialize(Response& res, bool keep_alive) {
  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " +
                     std::string(reason_phrase(res.status)) + "\r\n";
  detail::append_fields(res.headers, head);
  head += kNoSniffField;
  head += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
  head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return head;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, ServerOptions o, Handler h)
      : io(io_), options(std::move(o)), handler(std::move(h)) {
    std::lock_guard lock(registry_mu());
    registry().push_back(this);
  }
  ~Impl() {
    std::lock_guard lock(registry_mu());
    std::erase(registry(), this);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Every listener of this process, for the budget of connections they share: a process past
  // it makes room on whichever listener holds the connection to close (make_room_locked).
  // Never destroyed: a listener may outlive the statics at exit.
  static std::mutex& registry_mu() {
    static auto* m = new std::mutex;
    return *m;
  }
  static std::vector<Impl*>& registry() {
    static auto* listeners = new std::vector<Impl*>;
    return *listeners;
  }

  asio::io_context& io;
  ServerOptions options;
  Handler handler;

  mutable std::mutex mu;  // guards acceptor, running, connections
  std::optional<tcp::acceptor> acceptor;
  // While stopped, a bound socket that does not listen holds the port: connections to it are
  // refused (RST), as for a service that is down, yet no other socket of this machine (another
  // shop's ephemeral port, an outgoing connection) can take the port before start() rebinds it.
  std::optional<tcp::socket> placeholder;
  bool running = false;
  std::uint16_t bound_port = 0;
  std::uint64_t next_connection = 0;
  std::size_t next_io = 0;  // round robin over options.connection_ios
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections;
  // After a failed accept (EMFILE: the pending connection stays queued and the listener stays
  // readable), the next accept waits: 10 ms, doubling up to 1 s, reset by a success.
  std::optional<asio::steady_timer> accept_pause;
  std::chrono::milliseconds accept_backoff{0};
  std::atomic<std::uint64_t> accept_failures{0};

  void start() {
    std::lock_guard lock(mu);
    if (running) return;
    tcp::endpoint endpoint(asio::ip::make_address(options.host),
                           bound_port != 0 ? bound_port : options.port);
    if (placeholder) {
      beast::error_code ignored;
      placeholder->close(ignored);
      placeholder.reset();
    }
    tcp::acceptor a(io);
    a.open(endpoint.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(endpoint);
    a.listen(asio::socket_base::max_listen_connections);
    bound_port = a.local_endpoint().port();
    acceptor.emplace(std::move(a));
    running = true;
    accept_next_locked();
  }

  void accept_next_locked() {
    if (!running || !acceptor) return;
    auto on_accepted = [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    };
    if (options.connection_ios.empty()) {
      acceptor->async_accept(asio::make_strand(io), std::move(on_accepted));
    } else {
      auto& target = *options.connection_ios[next_io++ % options.connection_ios.size()];
      acceptor->async_accept(target, std::move(on_accepted));
    }
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    std::shared_ptr<Connection> accepted;
    std::uint64_t accepted_id = 0;
    {
      std::lock_guard lock(mu);
      if (!running) return;
      if (ec) {
        pause_accepting_locked();
        return;
      }
      register_accepted_locked(std::move(socket), accepted, accepted_id);
      accept_next_locked();
    }
    // Started once `mu` is free: co_spawn dispatches, so the session runs at once on this
    // thread (the connection's io_context), and one that ended at its first step (out of
    // memory under `ulimit -v`) took `mu` again in forget() while on_accept held it: the io
    // thread waited on itself for good (an outside probe's hung run).
    if (accepted) spawn_session(accepted, accepted_id, beast::flat_buffer{}, false);
  }

  // Starts the session of a registered connection; one that cannot start (no memory) is
  // closed and forgotten.
  void spawn_session(const std::shared_ptr<Connection>& connection, std::uint64_t id,
                     beast::flat_buffer buffer, bool placed) {
    try {
      asio::co_spawn(connection->stream.get_executor(),
                     session(shared_from_this(), connection, id, std::move(buffer), placed),
                     asio::bind_cancellation_slot(connection->cancel.slot(),
                                                  keep_until_spawn_ends(connection)));
    } catch (const std::exception&) {
      beast::error_code ignored;
      connection->stream.socket().close(ignored);
      forget_if(id, connection);
    }
  }

  // Answers a full listener, or registers the new connection (`accepted`, `accepted_id`) for
  // its session to be started once `mu` is released.
  void register_accepted_locked(tcp::socket socket, std::shared_ptr<Connection>& accepted,
                                std::uint64_t& accepted_id) {
    beast::error_code ec;
    accept_backoff = std::chrono::milliseconds(0);
    const bool process_full =
        g_inbound_connections.load(std::memory_order_relaxed) >= inbound_connection_budget();
    const bool full = process_full || connections.size() >= options.limits.max_connections;
    if (full && !make_room_locked(process_full)) {
      // Every connection is in the middle of a request: answered and closed without reading,
      // the cap holds whatever the client does.
      socket.non_blocking(true, ec);
      const auto answer = too_many_connections_answer(process_full);
      if (!ec) socket.write_some(asio::buffer(answer), ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    } else {
      try {
        socket.set_option(tcp::no_delay(true), ec);
        auto connection = std::make_shared<Connection>(std::move(socket));
        auto id = next_connection++;
        connections.emplace(id, connection);
        accepted = std::move(connection);
        accepted_id = id;
      } catch (const std::exception&) {
        // No memory for this connection (it is dropped): the listener accepts the next one
        // all the same, or it would stay deaf in a process that looks alive.
      }
    }
  }

  // A full listener makes room as nginx does with its idle keep-alive connections: the
  // connection that has been idle the longest (between requests, or never sent a byte) is
  // closed and forgotten, and the new one is served. Without this, anyone who could reach a
  // port held every slot with silent connections (10,000 in 1.4 s, held for the idle timeout
  // and renewed at will): the gateway and the order service could no longer open connections
  // to catalog or order, and every shopper got 503 (found by an outside probe). A pooled
  // client connection that was closed is found stale before its next use and replaced.
  //
  // With no idle connection, the one whose body has been awaited the longest goes, once past
  // ServerLimits::stalled_body (on loopback or a LAN a body follows its head within
  // milliseconds): 10,050 heads of `POST /api/auth/login` with `Content-Length: 1` and no body
  // (routes that need no credential are not refused at the head) held the gateway's slots for
  // the 30 s body timeout. A connection whose request is being handled is never closed; when
  // every one is, the new one is refused.
  //
  // Past the process's budget (every listener's connections together), the connection to
  // close is looked for on every listener of the process: silent connections to the internal
  // ports held the budget, and the gateway, with none idle of its own, refused every visitor.
  struct Victim {
    std::shared_ptr<Connection> connection;
    std::uint64_t id = 0;
    bool idle = false;
    bool writing = false;  // not idle: its answer waits to be read (else its body is awaited)
    bool proven = false;   // Connection::proven
    std::int64_t since = std::numeric_limits<std::int64_t>::max();
    // Idle ones first, those never answered below 400 before the others; each kind the
    // oldest first.
    bool before(const Victim& other) const {
      if (!connection) return false;
      if (!other.connection) return true;
      if (idle != other.idle) return idle;
      if (idle && proven != other.proven) return !proven;
      return since < other.since;
    }
  };

  Victim pick_victim_locked(std::int64_t now) const {
    const std::int64_t stalled_for =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.limits.stalled_body)
            .count();
    Victim best;
    for (const auto& [id, c] : connections) {
      Victim v;
      if (!c->busy.load(std::memory_order_relaxed)) {
        v = {c,
             id,
             true,
             false,
             c->proven.load(std::memory_order_relaxed),
             c->idle_since.load(std::memory_order_relaxed)};
      } else if (const auto body = c->body_since.load(std::memory_order_relaxed); body != 0) {
        if (now - body < stalled_for) continue;
        v = {c, id, false, false, true, body};
      } else {
        const auto write = c->write_since.load(std::memory_order_relaxed);
        if (write == 0 || now - write < stalled_for) continue;
        v = {c, id, false, true, true, write};
      }
      if (v.before(best)) best = std::move(v);
    }
    return best;
  }

  void close_victim_locked(const Victim& v) {
    connections.erase(v.id);
    asio::post(v.connection->stream.get_executor(), [v] {
      const auto& c = v.connection;
      const bool still = v.idle      ? !c->busy.load()
                         : v.writing ? c->write_since.load(std::memory_order_relaxed) == v.since
                                     : c->body_since.load(std::memory_order_relaxed) == v.since;
      if (!still) {
        c->close_when_idle = true;  // it moved on meanwhile: it ends after its answer
        return;
      }
      c->closed_by_server = true;
      beast::error_code ignored;
      c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      c->stream.socket().close(ignored);
    });
  }

  // Returns false when no connection could be closed.
  bool make_room_locked(bool process_full) {
    const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    Victim best = pick_victim_locked(now);
    if (process_full) {
      Impl* where = this;
      {
        std::lock_guard listeners(registry_mu());
        for (Impl* other : registry()) {
          if (other == this) continue;
          // Never waits on another listener's lock while holding this one's: a busy one is
          // passed over this time.
          std::unique_lock lock(other->mu, std::try_to_lock);
          if (!lock.owns_lock()) continue;
          if (Victim v = other->pick_victim_locked(now); v.before(best)) {
            best = std::move(v);
            where = other;
          }
        }
        if (where != this) {
          std::unique_lock lock(where->mu, std::try_to_lock);
          if (!lock.owns_lock() || !where->connections.count(best.id)) return false;
          where->close_victim_locked(best);
          return true;
        }
      }
    }
    if (!best.connection) return false;
    close_victim_locked(best);
    return true;
  }

  void pause_accepting_locked() {
    accept_failures.fetch_add(1, std::memory_order_relaxed);
    accept_backoff = accept_backoff.count() == 0
                         ? std::chrono::milliseconds(10)
                         : std::min(accept_backoff * 2, std::chrono::milliseconds(1000));
    if (!accept_pause) accept_pause.emplace(io);
    accept_pause->expires_after(accept_backoff);
    accept_pause->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled by stop()
      std::lock_guard lock(self->mu);
      self->accept_next_locked();
    });
  }

  // `abandon`: also cancels each session's coroutine (terminal cancellation), so that the
  // request it is handling stops at its next co_await instead of running to its end.
  // Returns how many connections it posted a close to; each such close calls `closed` (when
  // given) once it has run.
  std::size_t close_all_locked(bool only_idle, bool abandon = false,
                               std::function<void()> closed = {}) {
    std::size_t posted = 0;
    for (auto& entry : connections) {
      auto c = entry.second;
      if (only_idle && c->busy.load()) {
        c->close_when_idle = true;
        continue;
      }
      ++posted;
      asio::post(c->stream.get_executor(), [c, only_idle, abandon, closed] {
        // Idle when the close was posted, but its request's bytes may have been read since
        // (their completion queued before this close): then it ends after its answer, as a
        // busy one does. A graceful stop under load closed such a request's connection while
        // its handler ran, and the answer, committed, was never written (an outside probe).
        if (only_idle && c->busy.load()) {
          c->close_when_idle = true;
          return;
        }
        c->closed_by_server = true;
        if (abandon && !c->session_done) c->cancel.emit(asio::cancellation_type::terminal);
        if (closed) closed();
        beast::error_code ignored;
        c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        c->stream.socket().close(ignored);
      });
    }
    return posted;
  }

  void stop(bool graceful) {
    std::lock_guard lock(mu);
    close_listener_locked();
    close_all_locked(graceful);
  }

  // Waits (unless it runs on one of the server's io threads, which must not block) until each
  // session has been told: once abandon() returns, no abandoned request takes another step,
  // so a service brought back at once cannot see one of them write into its reopened database.
  void abandon() {
    struct Countdown {
      std::mutex mu;
      std::condition_variable cv;
      std::size_t left = 0;
    };
    auto countdown = std::make_shared<Countdown>();
    std::size_t posted = 0;
    {
      std::lock_guard lock(mu);
      close_listener_locked();
      std::lock_guard count_lock(countdown->mu);
      posted = close_all_locked(false, true, [countdown] {
        std::lock_guard l(countdown->mu);
        if (--countdown->left == 0) countdown->cv.notify_all();
      });
      countdown->left += posted;
    }
    if (posted == 0 || on_own_thread()) return;
    std::unique_lock lock(countdown->mu);
    countdown->cv.wait_for(lock, std::chrono::seconds(5), [&] { return countdown->left == 0; });
  }

  bool on_own_thread() const {
    if (io.get_executor().running_in_this_thread()) return true;
    for (auto* each : options.connection_ios) {
      if (each->get_executor().running_in_this_thread()) return true;
    }
    return false;
  }

  void close_listener_locked() {
    running = false;
    if (accept_pause) accept_pause->cancel();
    if (acceptor) {
      beast::error_code ignored;
      acceptor->close(ignored);
      acceptor.reset();
      hold_port_locked();
    }
  }

  void hold_port_locked() {
    if (bound_port == 0 || placeholder) return;
    beast::error_code ec;
    tcp::socket socket(io);
    socket.open(tcp::endpoint(asio::ip::make_address(options.host, ec), 0).protocol(), ec);
    if (!ec) socket.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) socket.bind(tcp::endpoint(asio::ip::make_address(options.host, ec), bound_port), ec);
    if (!ec) placeholder.emplace(std::move(socket));  // else: best effort, as before
  }

  enum class Placement { stay, moved, closed };

  // Once the first bytes of a connection arrived: when its peer is a client connection of
  // this process (see affinity.hpp) running on another of our io_contexts, the socket moves
  // there with what was read, and a new session goes on with it. The client registered its
  // port before writing, so the lookup cannot miss a client of ours.
  Placement place(const std::shared_ptr<Connection>& c, std::uint64_t id,
                  beast::flat_buffer& buffer) {
    beast::error_code ec;
    auto& socket = c->stream.socket();
    auto peer = socket.remote_endpoint(ec);
    if (ec) return Placement::stay;
    const void* wanted = detail::PortAffinity::instance().context_of(peer.port());
    if (wanted == nullptr) return Placement::stay;
    if (wanted == &asio::query(c->stream.get_executor(), asio::execution::context)) {
      return Placement::stay;
    }
    asio::io_context* target = nullptr;
    for (auto* each : options.connection_ios) {
      if (static_cast<const void*>(static_cast<asio::execution_context*>(each)) == wanted) {
        target = each;
      }
    }
    if (target == nullptr) return Placement::stay;
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard lock(mu);
      if (!running) return Placement::closed;
      auto it = connections.find(id);
      if (it == connections.end() || it->second != c) return Placement::closed;
      auto protocol = socket.local_endpoint(ec).protocol();
      if (ec) return Placement::stay;
      auto fd = socket.release(ec);
      if (ec) return Placement::stay;
      tcp::socket moved(*target);
      moved.assign(protocol, fd, ec);
      if (ec) {
        ::close(fd);
        return Placement::closed;
      }
      connection = std::make_shared<Connection>(std::move(moved));
      it->second = connection;
    }
    // Started once `mu` is free, as on_accept() starts one.
    spawn_session(connection, id, std::move(buffer), true);
    return Placement::moved;
  }

  void forget(std::uint64_t id) {
    std::lock_guard lock(mu);
    connections.erase(id);
  }
  // Forgets `id` only while it is still `connection`'s.
  void forget_if(std::uint64_t id, const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(mu);
    auto it = connections.find(id);
    if (it != connections.end() && it->second == connection) connections.erase(it);
  }

  // `head_only`: the answer to HEAD, whose Content-Length is the body's but no body follows.
  static asio::awaitable<void> write_response(beast::tcp_stream& stream, Response& res,
                                              unsigned version, bool keep_alive,
                                              beast::error_code& ec, bool head_only = false) {
    std::string head;
    if (serialize_head(res, version, keep_alive, head)) {
      std::array<asio::const_buffer, 2> buffers{
          asio::buffer(head), asio::buffer(res.body.data(), head_only ? 0 : res.body.size())};
      co_await asio::async_write(stream, buffers, asio::redirect_error(use_awaitable, ec));
      co_return;
    }
    if (head_only) {
      auto out = beast_head<bhttp::empty_body>(res, version, keep_alive);
      if (status_has_body(res.status)) out.content_length(res.body.size());
      bhttp::response_serializer<bhttp::empty_body> serializer(out);
      serializer.split(true);
      co_await bhttp::async_write_header(stream, serializer,
                                         asio::redirect_error(use_awaitable, ec));
      co_return;
    }
    auto out = to_beast(res, version, keep_alive);
    co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, ec));
  }

  // Writes `res` and closes gracefully, draining what the client still sends so that it
  // reads our answer instead of a reset (used after 413/431/400 on an unread request).
  static asio::awaitable<void> answer_and_linger(
      beast::tcp_stream& stream, Response res, unsigned version,
      const std::function<void(const Response&)>* tell = nullptr) {
    if (tell != nullptr && *tell) (*tell)(res);
    beast::error_code ec;
    stream.expires_after(std::chrono::seconds(2));
    co_await write_response(stream, res, version, false, ec);
    if (ec) co_return;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16384> sink{};
    std::size_t drained = 0;
    while (!ec && drained < (8u << 20)) {
      drained += co_await stream.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(use_awaitable, ec));
    }
  }

  static asio::awaitable<void> act(beast::tcp_stream& stream, Response& res, unsigned version,
                                   bool keep_alive, bool head_only, bool& close_after) {
    beast::error_code ec;
    auto& socket = stream.socket();
    switch (res.action) {
      case ConnectionAction::respond:
        co_await write_response(stream, res, version, keep_alive, ec, head_only);
        close_after = ec || !keep_alive;
        co_return;
      case ConnectionAction::hang: {
        // Keep the connection open, answer nothing, until the peer gives up or we stop.
        stream.expires_never();
        std::array<char, 4096> sink{};
        while (!ec) {
          co_await stream.async_read_some(asio::buffer(sink),
                                          asio::redirect_error(use_awaitable, ec));
        }
        close_after = true;
        co_return;
      }
      case ConnectionAction::reset:
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
        close_after = true;
        co_return;
      case ConnectionAction::close:
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        close_after = true;
        co_return;
      case ConnectionAction::garbage: {
        // A head an HTTP/1.1 parser refuses outright (no "HTTP/" version; CRLF CRLF ends it),
        // so the caller records protocol_error, not connection_closed as for `close`. Sized by
        // the array: a std::string built from the literal stopped at its NUL, and only the 4
        // bytes before it went out (read as a message cut short).
        static constexpr char kJunk[] = "\x16\x03\x01\x02\x00 NOT HTTP \xff\xfe garbage\r\n\r\n";
        static const std::string junk(kJunk, sizeof kJunk - 1);
        co_await asio::async_write(socket, asio::buffer(junk),
                                   asio::redirect_error(use_awaitable, ec));
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        close_after = true;
        co_return;
      }
      case ConnectionAction::slow_body: {
        std::string head = serialize(res, keep_alive);
        stream.expires_never();
        co_await asio::async_write(socket, asio::buffer(head),
                                   asio::redirect_error(use_awaitable, ec));
        double rate = res.bytes_per_second > 0 ? res.bytes_per_second : 100;
        // Ten writes a second, each rate/10 bytes (at least one). Each goes out once the bytes
        // up to its end have had their time at `rate`, so the last byte arrives size/rate
        // after the head: a body smaller than one chunk used to go out at once, and every
        // body a chunk early.
        std::size_t chunk = std::max<std::size_t>(1, static_cast<std::size_t>(rate / 10));
        asio::steady_timer timer(stream.get_executor());
        const auto started = std::chrono::steady_clock::now();
        for (std::size_t at = 0; !ec && !head_only && at < res.body.size(); at += chunk) {
          auto n = std::min(chunk, res.body.size() - at);
          timer.expires_at(started +
                           std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::duration<double>(static_cast<double>(at + n) / rate)));
          co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
          if (ec) break;
          co_await asio::async_write(socket, asio::buffer(res.body.data() + at, n),
                                     asio::redirect_error(use_awaitable, ec));
        }
        close_after = ec || !keep_alive;
        co_return;
      }
    }
  }

  // `buffer` holds what was already read from the connection; `placed`: it is on its final
  // io_context (see place()).
  static asio::awaitable<void> session(std::shared_ptr<Impl> self, std::shared_ptr<Connection> c,
                                       std::uint64_t id, beast::flat_buffer buffer, bool placed) {
    auto& stream = c->stream;
    // Runs however the session ends: normally, or by an exception when abandon() cancelled it
    // (every co_await of a cancelled coroutine throws). A session that handed its socket on
    // (Placement::moved) no longer owns `id`.
    struct Finish {
      Impl& self;
      Connection& c;
      std::uint64_t id;
      bool owns_id = true;
      ~Finish() {
        c.session_done = true;
        if (owns_id) self.forget(id);
      }
    } finish{*self, *c, id};
    // A request (headers and a small body) usually arrives in one recv; the buffer still grows
    // for larger ones, up to the parser's limits. Beast reads max(512, capacity - size) bytes
    // at a time, so an empty buffer would cost one syscall per 512 bytes.
    if (buffer.capacity() < kServerReadBufferBytes) buffer.reserve(kServerReadBufferBytes);
    buffer.max_size(read_buffer_cap(self->options.header_limit));
    beast::error_code ec;
    bool closed_early = false;
    const ServerLimits& limits = self->options.limits;
    if (!placed && self->options.connection_ios.size() > 1) {
      stream.expires_after(limits.idle_timeout);
      std::size_t n =
          co_await stream.async_read_some(buffer.prepare(kServerReadBufferBytes - buffer.size()),
                                          asio::redirect_error(use_awaitable, ec));
      buffer.commit(n);
      if (ec) {
        closed_early = true;  // gone, or silent until the idle timeout: nothing to answer
      } else {
        switch (self->place(c, id, buffer)) {
          case Placement::moved:
            finish.owns_id = false;
            co_return;
          case Placement::closed:
            closed_early = true;
            break;
          case Placement::stay:
            break;
        }
      }
    }
    // One Request and one response head buffer for the connection's life: each request
    // reuses their storage.
    Request req;
    {
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) req.peer_address = ep.address().to_string();
    }
    std::string head;
    std::size_t empty_line_bytes = 0;  // before the request being read
    // Empty lines that come on their own while the connection is idle begin a request: the
    // header timeout runs from the first of them. Each one restarted the idle timeout, and a
    // CRLF every minute held a connection for half an hour. (The CRLF some clients send after a
    // POST body comes with it, and leaves the connection idle as before.)
    std::optional<std::chrono::steady_clock::time_point> request_deadline;
    while (!closed_early) {
      req.clear();
      detail::RequestParser parser(req, self->options.header_limit, self->options.body_limit);
      detail::limit_request_parser(parser, self->options.body_limit, self->options.header_limit);
      bool read_while_idle = false;
      if (buffer.size() == 0) {
        // Idle between requests: the keep-alive timeout. This read is the one reading the
        // headers would make anyway.
        if (request_deadline)
          stream.expires_at(*request_deadline);
        else
          stream.expires_after(limits.idle_timeout);
        read_while_idle = true;
        std::size_t n = co_await stream.async_read_some(buffer.prepare(kServerReadBufferBytes),
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) break;  // gone, or idle too long: nothing to answer
        buffer.commit(n);
      }
      const std::size_t empty_before = empty_line_bytes;
      if (!skip_empty_lines(buffer, empty_line_bytes)) {
        co_await answer_and_linger(
            stream,
            limit_error(400, "bad_request",
                        "malformed HTTP request: more than " + std::to_string(kEmptyLineBytes) +
                            " bytes of empty lines before the request line"),
            11, &self->options.on_unread_request);
        break;
      }
      if (read_while_idle && !request_deadline && empty_line_bytes > empty_before)
        request_deadline = std::chrono::steady_clock::now() + limits.header_timeout;
      if (buffer.size() == 0) continue;  // only empty lines so far: wait for the request
      const auto head_deadline = request_deadline;
      request_deadline.reset();
      empty_line_bytes = 0;
      // A request has begun. Usually its whole head is in the buffer now and parses without
      // another read or timer; else the rest must come within the header timeout (slowloris).
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (head_deadline)
          stream.expires_at(*head_deadline);
        else
          stream.expires_after(limits.header_timeout);
        co_await bhttp::async_read_header(stream, buffer, parser,
                                          asio::redirect_error(use_awaitable, ec));
      }
      if (ec == bhttp::error::body_limit) {  // Content-Length already over the limit
        co_await answer_and_linger(
            stream, limit_error(413, "payload_too_large", "request body exceeds 1 MiB"), 11,
            &self->options.on_unread_request);
        break;
      }
      if (ec == bhttp::error::header_limit) {
        co_await answer_and_linger(
            stream, limit_error(431, "headers_too_large", "request headers exceed 16 KiB"), 11,
            &self->options.on_unread_request);
        break;
      }
      if (ec) {
        bool parse_error =
            ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
            ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
        if (parse_error && ec == bhttp::error::bad_version) {
          // HTTP/1.2 to 1.9: read again as HTTP/1.1 (the line's minor digit, still in the
          // buffer: Beast consumes nothing of a start line it refuses).
          auto unread = buffer.data();
          const auto at = detail::higher_minor_version_at(
              {static_cast<const char*>(unread.data()), unread.size()});
          if (at != std::string_view::npos) {
            static_cast<char*>(unread.data())[at] = '1';
            continue;
          }
        }
        if (parse_error && ec == bhttp::error::bad_version &&
            detail::names_other_http_version(
                {static_cast<const char*>(buffer.data().data()), buffer.data().size()})) {
          // A well-formed request line of another HTTP version ("HTTP/2.0", the start of an
          // HTTP/2 connection preface): 505, RFC 9110 15.6.6, not a malformed request.
          Response refused =
              limit_error(505, "http_version_not_supported",
                          "this server speaks HTTP/1.1 and HTTP/1.0; the request names another "
                          "version");
          // The line parsed, so its method is known: an answer to HEAD has no body.
          if (std::string_view(static_cast<const char*>(buffer.data().data()), buffer.data().size())
                  .starts_with("HEAD "))
            refused.body.clear();
          co_await answer_and_linger(stream, std::move(refused), 11,
                                     &self->options.on_unread_request);
          break;
        }
        if (parse_error) {
          const std::string why =
              parser.problem().empty() ? ec.message() : std::string(parser.problem());
          co_await answer_and_linger(
              stream, limit_error(400, "bad_request", "malformed HTTP request: " + why), 11,
              &self->options.on_unread_request);
        }
        break;
      }
      // Only origin-form targets (RFC 9112 3.2.1): no absolute-form, no asterisk-form, and no
      // path without its leading slash, which routers and prefix strippers would misread.
      if (!detail::origin_form(req.target)) {
        co_await answer_and_linger(
            stream,
            limit_error(400, "bad_request",
                        "malformed HTTP request: the target must be a path starting with /"),
            parser.version(), &self->options.on_unread_request);
        break;
      }
      // Closed while the request's bytes were on their way (a stop, or room made for another
      // connection): not run. Its client sees a closed connection, as it would had the close
      // come before the bytes were read.
      if (c->closed_by_server.load()) break;
      c->busy = true;
      BodyReservation body_bytes;  // held until this request's answer is written
      bool over_budget = false;
      bool bare_lf = false;         // a chunk line or the trailer section has a LF without its CR
      std::string framing_problem;  // chunked framing that bytes still to come cannot mend
      if (!parser.is_done()) {
        // A body already in the read buffer (the usual small one) is bounded by the buffer's
        // cap and needs none of the budget. One still arriving holds, before each read, what it
        // has received and what that read may add (a buffer's worth): the bytes that came, not
        // the bytes declared. Held by declaration, ~260 connections that each declared 1 MiB
        // and sent nothing took the whole budget for 30 s, and every other client's body that
        // came after its head was refused 503.
        const auto declared = parser.content_length();
        const bool in_buffer = declared && *declared <= buffer.size();
        // A body still to come, for a request its head already refuses: answered now, the body
        // never waited for (ServerOptions::refuse_at_head). One in the buffer costs nothing.
        if (!in_buffer && self->options.refuse_at_head) {
          std::optional<Response> refused;
          try {
            refused = self->options.refuse_at_head(req);
          } catch (const std::exception&) {
            // The pipeline decides after the body, as it always did.
          }
          if (refused) {
            co_await answer_and_linger(stream, std::move(*refused), parser.version());
            break;
          }
        }
        // What the body holds before the next read: what came of it, and what that read may
        // bring (Beast reads at most the buffer's free capacity, at least 512 bytes), never
        // more than the body declared. A silent client that declared 1 MiB holds 16 KiB.
        const std::size_t step = read_buffer_cap(self->options.header_limit);
        auto wanted = [&] {
          const std::size_t room = buffer.capacity() - buffer.size();
          std::size_t want = req.body.size() + std::min(step, std::max<std::size_t>(512, room));
          if (declared) want = std::min<std::size_t>(want, *declared);
          return want;
        };
        std::size_t held = 0;
        if (!in_buffer) {
          held = wanted();
          over_budget = !body_bytes.take(held);
          c->body_since.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                              std::memory_order_relaxed);
        }
        stream.expires_after(limits.body_timeout);
        // A client that sent `Expect: 100-continue` waits for a go-ahead before its body (curl
        // does for a body over 1 KiB, for a second): with none of the body here yet, give it
        // (RFC 9110 10.1.1). Refusals above (413, 503) are final answers instead.
        if (!over_budget && buffer.size() == 0 && parser.version() >= 11) {
          if (auto expect = req.headers.get("Expect"); expect && iequals(*expect, "100-continue")) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                       asio::redirect_error(use_awaitable, ec));
            if (ec) break;
          }
        }
        if (in_buffer) {
          co_await bhttp::async_read(stream, buffer, parser,
                                     asio::redirect_error(use_awaitable, ec));
        } else {
          const std::size_t body_limit = self->options.body_limit;
          const std::size_t wire_limit = body_limit > std::numeric_limits<std::size_t>::max() / 4
                                             ? std::numeric_limits<std::size_t>::max()
                                             : body_limit + body_limit / 2 + kServerReadBufferBytes;
          std::size_t wire = 0;
          while (!over_budget && !parser.is_done()) {
            // A chunked body is parsed here and read from the socket below, one step at a time:
            // Beast's read_some reads until the parser can go on, so a line that can never end
            // kept it reading. A line with a bare LF is one (RFC 9112 7.1: chunk lines end in
            // CR LF; Beast skips a LF alone as an ordinary byte), and its client waited out
            // the body timeout (30 s) for no answer. Now 400 as soon as it is here.
            const bool chunked = parser.chunked();
            if (chunked && buffer.size() > 0) {
              parser.eager(true);  // all it can, so that what is left is the unended line
              const std::size_t used = parser.put(buffer.data(), ec);
              buffer.consume(used);
              wire += used;
              if (wire > wire_limit) {  // as below
                ec = bhttp::error::body_limit;
                break;
              }
              if (ec == bhttp::error::need_more) {
                ec = {};
                if (has_bare_lf(buffer)) {
                  bare_lf = true;
                  break;
                }
                // Framing no bytes still to come can mend (chunk_framing.hpp): 400 now, not a
                // wait for the body timeout. `wire`: a chunk with data was parsed before.
                const auto left = buffer.data();
                framing_problem = chunked_leftover_problem(
                    std::string_view(static_cast<const char*>(left.data()), left.size()), wire > 0);
                if (!framing_problem.empty()) break;
              } else if (ec) {
                break;
              }
              if (parser.is_done()) break;
            }
            const std::size_t want = wanted();
            if (want > held) {
              if (!body_bytes.take(want - held)) {
                over_budget = true;
                break;
              }
              held = want;
            }
            if (chunked) {
              // What Beast's read_some reads: the buffer's free room, at least 512 bytes, at
              // most 64 KiB, never past its cap.
              const std::size_t size = beast::read_size(buffer, 65536);
              if (size == 0) {
                ec = bhttp::error::buffer_overflow;
                break;
              }
              const std::size_t n = co_await stream.async_read_some(
                  buffer.prepare(size), asio::redirect_error(use_awaitable, ec));
              buffer.commit(n);
              if (ec == asio::error::eof) ec = bhttp::error::partial_message;
            } else {
              wire += co_await bhttp::async_read_some(stream, buffer, parser,
                                                      asio::redirect_error(use_awaitable, ec));
            }
            if (ec) break;
            // The body's bytes on the wire, its chunked framing included: chunk sizes written
            // with thousands of leading zeros carried gigabytes past the parser's limits.
            // Honest framing of 16-byte chunks adds 40 %; past half the limit again, 413.
            if (wire > wire_limit) {
              ec = bhttp::error::body_limit;
              break;
            }
          }
        }
      }
      c->body_since.store(0, std::memory_order_relaxed);
      if (over_budget) {
        auto busy = limit_error(503, "too_busy",
                                "the shop is reading as many request bodies as it may at "
                                "once; try again");
        busy.headers.set("Retry-After", "1");
        co_await answer_and_linger(stream, std::move(busy), parser.version(),
                                   &self->options.on_unread_request);
        break;
      }
      if (bare_lf) {
        co_await answer_and_linger(
            stream,
            limit_error(400, "bad_request",
                        "malformed HTTP request: a chunk line or the trailer section ends a "
                        "line with LF alone; chunked framing needs CR LF"),
            parser.version(), &self->options.on_unread_request);
        break;
      }
      if (!framing_problem.empty()) {
        co_await answer_and_linger(
            stream, limit_error(400, "bad_request", "malformed HTTP request: " + framing_problem),
            parser.version(), &self->options.on_unread_request);
        break;
      }
      if (ec == bhttp::error::body_limit) {
        co_await answer_and_linger(
            stream, limit_error(413, "payload_too_large", "request body exceeds 1 MiB"),
            parser.version(), &self->options.on_unread_request);
        break;
      }
      if (ec == bhttp::error::header_limit) {  // the head and the trailer section together
        co_await answer_and_linger(
            stream, limit_error(431, "headers_too_large", "request headers exceed 16 KiB"),
            parser.version(), &self->options.on_unread_request);
        break;
      }
      if (ec == bhttp::error::buffer_overflow) {
        co_await answer_and_linger(
            stream,
            limit_error(400, "bad_request",
                        "malformed HTTP request: a chunk line or the trailer section exceeds " +
                            std::to_string(read_buffer_cap(self->options.header_limit) / 1024) +
                            " KiB"),
            parser.version(), &self->options.on_unread_request);
        break;
      }
      if (ec) {
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
            ec != bhttp::error::partial_message) {
          co_await answer_and_linger(
              stream,
              limit_error(
                  400, "bad_request",
                  "malformed HTTP request: " +
                      (parser.problem().empty() ? ec.message() : std::string(parser.problem()))),
              parser.version(), &self->options.on_unread_request);
        }
        break;
      }
      unsigned version = parser.version();
      bool keep_alive = detail::keep_alive(req.headers, version);
      const bool head_only = parser.method() == bhttp::verb::head;
      stream.expires_never();  // handlers and faults bound their own time

      Response res;
      try {
        res = co_await self->handler(req);
      } catch (const std::exception& e) {
        res = limit_error(500, "internal_error", std::string("unexpected error: ") + e.what());
      }
      if (res.status < 400) c->proven.store(true, std::memory_order_relaxed);
      if (c->close_when_idle.load()) keep_alive = false;
      bool close_after = false;
      if (res.action == ConnectionAction::respond &&
          serialize_head(res, version, keep_alive, head)) {
        // The usual answer, written from here: one gathered write of the head (built in the
        // connection's reused buffer) and the body, without a coroutine frame per response;
        // at once when the socket takes it all, else the rest within the body timeout.
        const std::string_view body(res.body.data(), head_only ? 0 : res.body.size());
        const std::size_t written = detail::write_now(stream.socket(), head, body, ec);
        if (!ec && written < head.size() + body.size()) {
          stream.expires_after(limits.body_timeout);
          const Connection::WaitingForReader waiting(*c);
          co_await asio::async_write(stream, detail::unwritten(head, body, written),
                                     asio::redirect_error(use_awaitable, ec));
        }
        close_after = ec || !keep_alive;
      } else {
        stream.expires_after(limits.body_timeout);
        // An answer written by Beast (204, 304, fields that need its checks) waits for its
        // reader as the usual one does: pipelined 304s never read held every slot too (an
        // outside probe). The fault actions are not answers waiting to be read.
        std::optional<Connection::WaitingForReader> waiting;
        if (res.action == ConnectionAction::respond) waiting.emplace(*c);
        co_await act(stream, res, version, keep_alive, head_only, close_after);
      }
      c->busy = false;
      c->idle_since.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                          std::memory_order_relaxed);
      if (close_after || c->close_when_idle.load()) break;
    }
    beast::error_code ignored;
    if (stream.socket().is_open()) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream.socket().close(ignored);
    }
  }
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

Server::~Server() {
  impl_->stop(false);
}

void Server::start() {
  impl_->start();
}

void Server::stop() {
  impl_->stop(false);
}
void Server::abandon() {
  impl_->abandon();
}

void Server::shutdown(std::chrono::milliseconds grace) {
  impl_->stop(true);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard lock(impl_->mu);
  impl_->close_all_locked(false);
}

void Server::finish_sessions(std::chrono::milliseconds grace) {
  if (impl_->on_own_thread()) {
    impl_->abandon();
    return;
  }
  auto ended_by = [this](std::chrono::steady_clock::time_point deadline) {
    while (open_connections() > 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  };
  if (ended_by(std::chrono::steady_clock::now() + grace)) return;
  impl_->abandon();
  ended_by(std::chrono::steady_clock::now() + std::chrono::seconds(2));
}

bool Server::running() const {
  std::lock_guard lock(impl_->mu);
  return impl_->running;
}

std::uint16_t Server::port() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bound_port;
}

std::size_t Server::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections.size();
}

std::uint64_t Server::accept_failures() const {
  return impl_->accept_failures.load(std::memory_order_relaxed);
}

std::uint16_t pick_free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  beast::error_code ec;
  tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
  acceptor.open(loopback.protocol(), ec);
  if (!ec) acceptor.bind(loopback, ec);
  if (ec) throw std::runtime_error("cannot find a free port: " + ec.message());
  return acceptor.local_endpoint().port();
}

std::size_t inbound_connection_budget() {
  const std::size_t set = g_budget_override.load(std::memory_order_relaxed);
  if (set != 0) return set;
  // Read at every call (one getrlimit per accepted connection): the limit may change while
  // the process runs (the shop raises it at start; a test lowers it).
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::size_t>::max();
  const std::uint64_t soft = limit.rlim_cur;
  const std::uint64_t kept = std::max<std::uint64_t>(256, soft / 5);
  return static_cast<std::size_t>(soft > 2 * kept ? soft - kept : soft / 2);
}

void set_inbound_connection_budget(std::size_t connections) {
  g_budget_override.store(connections, std::memory_order_relaxed);
}

std::size_t inbound_connections() {
  return g_inbound_connections.load(std::memory_order_relaxed);
}

std::uint64_t allocator_trims() {
  return g_allocator_trims.load(std::memory_order_relaxed);
}

std::size_t inbound_body_budget() {
  const std::size_t set = g_body_budget_override.load(std::memory_order_relaxed);
  return set != 0 ? set : kDefaultBodyBudget;
}

void set_inbound_body_budget(std::size_t bytes) {
  g_body_budget_override.store(bytes, std::memory_order_relaxed);
}

std::size_t inbound_body_bytes() {
  return g_body_bytes.load(std::memory_order_relaxed);
}

std::uint64_t raise_open_file_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return limit.rlim_cur;
}

}  // namespace shopctl::http
