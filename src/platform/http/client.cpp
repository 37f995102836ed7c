#include "platform/http/client.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/version.hpp>

#include "platform/http/affinity.hpp"
#include "platform/http/beast_util.hpp"
#include "platform/http/resolver.hpp"

namespace shopctl::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

// Beast reads max(512, capacity - size) bytes at a time: an empty buffer costs one recv per
// 512 bytes of answer. With this much room a typical answer arrives in one or two.
constexpr std::size_t kClientReadBufferBytes = 16 * 1024;

struct PooledConnection {
  explicit PooledConnection(asio::any_io_executor ex) : stream(std::move(ex)) {
    buffer.reserve(kClientReadBufferBytes);
  }
  ~PooledConnection() {
    if (local_port != 0) detail::PortAffinity::instance().forget(local_port, context);
  }
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;

  // Tells servers of this process which io_context this connection runs on (see affinity.hpp).
  void announce(const void* on_context) {
    beast::error_code ec;
    auto local = stream.socket().local_endpoint(ec);
    if (ec || local.port() == 0) return;
    local_port = local.port();
    context = on_context;
    detail::PortAffinity::instance().remember(local_port, context);
  }

  beast::tcp_stream stream;
  // At most 64 KiB at once: an answer's body passes through, but a chunk line or trailer
  // section that never ends is an error (buffer_overflow), not unbounded memory.
  beast::flat_buffer buffer{detail::kMaxBufferedBytes};
  std::string head;  // the request head being written; its storage is reused
  std::chrono::steady_clock::time_point idle_since;
  std::uint16_t local_port = 0;
  const void* context = nullptr;
};

// Asio's epoll reactor tries every read once before it waits for readiness (a "speculative"
// recv), and has no switch to turn that off. Right after a request has gone out on a pooled
// connection that read always fails with EAGAIN: the answer cannot be there yet. This tells the
// reactor to skip it for the next read of `socket`, so the read waits for epoll straight away
// and the answer costs one recvmsg instead of two (docs/performance.md, "Reads that wait").
//
// Safe only when the socket is known to be empty and no epoll event for it can have been
// handled since that was seen: then any byte that arrives later raises a new edge, which
// performs the queued read. send() calls it only in that case: after the pool's stale check
// saw nothing waiting (EAGAIN) and the whole request was written without suspending.
//
// The flag is a private member of Asio's reactor: explicit instantiation may name private
// members, and the friend function it defines hands out the member pointers. Bound to the
// Boost version it was checked against; on any other the hint is simply not given.
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && \
    BOOST_VERSION == 108100
namespace reactor_access {
using Reactor = asio::detail::epoll_reactor;
using State = Reactor::descriptor_state;
template <class Tag, typename Tag::type Member>
struct Grant {
  friend typename Tag::type member(Tag) { return Member; }
};
struct TrySpeculative {
  using type = bool (State::*)[Reactor::max_ops];
  friend type member(TrySpeculative);
};
struct Mutex {
  using type = asio::detail::conditionally_enabled_mutex State::*;
  friend type member(Mutex);
};
template struct Grant<TrySpeculative, &State::try_speculative_>;
template struct Grant<Mutex, &State::mutex_>;
// The socket's implementation (a protected member, reached through a derived class).
struct SocketImpl : tcp::socket {
  static auto& of(tcp::socket& s) { return s.*(&SocketImpl::impl_); }
};
}  // namespace reactor_access

void skip_speculative_read(tcp::socket& socket) {
  using namespace reactor_access;
  State* state = SocketImpl::of(socket).get_implementation().reactor_data_;
  if (state == nullptr) return;
  asio::detail::conditionally_enabled_mutex::scoped_lock lock(state->*member(Mutex{}));
  (state->*member(TrySpeculative{}))[Reactor::read_op] = false;
}
#else
void skip_speculative_read(tcp::socket&) {}
#endif

// True when the peer has already closed (or sent unexpected bytes on) an idle connection.
bool is_stale(PooledConnection& c, std::chrono::milliseconds max_idle) {
  if (std::chrono::steady_clock::now() - c.idle_since > max_idle) return true;
  if (!c.stream.socket().is_open()) return true;
  char byte;
  auto n = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;                            // orderly close by the peer
  if (n > 0) return true;                             // bytes nobody asked for
  return !(errno == EAGAIN || errno == EWOULDBLOCK);  // error pending
}

// Writes into `head` (replacing what it held, keeping its storage) the request line and fields
// Beast would write for the message send() builds; false when the request needs Beast's
// handling (see plain_fields()).
bool serialize_request_head(const Request& request, std::string& head) {
  const std::string& method = request.method;
  if (method.empty() || request.target.empty() || method == "TRACE") return false;
  if (!detail::plain_fields(request.headers)) return false;
  head.clear();
  head.reserve(256 + request.target.size());
  head.append(method);
  head.push_back(' ');
  head.append(request.target);
  head.append(" HTTP/1.1\r\n", 11);
  detail::append_fields(request.headers, head);
  if (!request.headers.contains("Host")) head.append("Host: 127.0.0.1\r\n");
  // message::prepare_payload(): a length for a body, and for these methods even without one.
  if (!request.body.empty() || method == "POST" || method == "PUT" || method == "OPTIONS") {
    head.append("Content-Length: ");
    detail::append_number(request.body.size(), head);
    head.append("\r\n", 2);
  }
  head.append("\r\n", 2);
  return true;
}

}  // namespace

struct Client::Impl {
  explicit Impl(ClientOptions o) : options(std::move(o)) {}
  ClientOptions options;
  mutable std::mutex mu;
  // Idle connections by the execution context their socket belongs to: a connection is only
  // reused by a caller on that context, so its I/O stays on the thread(s) that own it.
  std::unordered_map<const void*, std::vector<std::unique_ptr<PooledConnection>>> idle;
  std::size_t idle_count = 0;

  // The stale check (a syscall) and the closing of stale connections happen outside the
  // lock, which every thread's calls to this upstream share.
  std::unique_ptr<PooledConnection> take(const void* context) {
    for (;;) {
      std::unique_ptr<PooledConnection> c;
      {
        std::lock_guard lock(mu);
        auto it = idle.find(context);
        if (it == idle.end() || it->second.empty()) return nullptr;
        c = std::move(it->second.back());
        it->second.pop_back();
        --idle_count;
      }
      if (!is_stale(*c, options.max_idle_time)) return c;
    }
  }

  void give_back(const void* context, std::unique_ptr<PooledConnection> c) {
    c->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    if (idle_count < options.max_idle_connections) {
      idle[context].push_back(std::move(c));
      ++idle_count;
    }
  }

  // Closes the connections idle for longer than max_idle_time. take() dropped them only when
  // a caller came for one: once the traffic stopped, up to 64 a client stayed open, and the
  // servers' idle timeout left them in CLOSE-WAIT for good (69 sockets after a load; an
  // outside soak probe). Called by the sweeper (below), on its own thread: an idle connection
  // has no operation pending and nothing else holds it, so it may be closed from anywhere.
  void close_expired(std::chrono::steady_clock::time_point now) {
    std::lock_guard sweeping(sweep_mu);
    if (closed) return;
    std::vector<std::unique_ptr<PooledConnection>> expired;  // closed before sweep_mu is let go
    {
      std::lock_guard lock(mu);
      for (auto& [context, list] : idle) {
        std::erase_if(list, [&](std::unique_ptr<PooledConnection>& c) {
          if (now - c->idle_since <= options.max_idle_time) return false;
          expired.push_back(std::move(c));
          return true;
        });
      }
      idle_count -= expired.size();
    }
    // Closed outside `mu`, as take() closes the stale ones.
  }

  // ~Client sets `closed` under sweep_mu: no sweep is under way then, and none starts after
  // it, so the sweeper never closes a socket whose io_context its owner destroys next.
  std::mutex sweep_mu;
  bool closed = false;
};

namespace detail {

// One thread for the process that closes expired pooled connections of every live client,
// every half of the shortest max_idle_time among the live ones (at most every 5 s, at least
// every 50 ms). It starts with the first client and ends when the last one goes (a client's
// destructor wakes it), so no thread of ours outlives the last Shop of an embedding program.
//
// The sweeper itself is never destroyed (a static pointer, not a static object): a process
// forked while the thread waited on `wake_` and then calling exit() hung for good in the
// condition variable's destructor, which waits for a waiter that does not exist in the child
// (an outside probe: a fork()ed child of a program that had run a Shop never exited).
class PoolSweeper {
 public:
  static PoolSweeper& instance() {
    static auto* const sweeper = new PoolSweeper;
    return *sweeper;
  }
  void add(const std::shared_ptr<Client::Impl>& impl, std::chrono::milliseconds max_idle) {
    std::lock_guard lock(mu_);
    clients_.push_back(impl);
    interval_ =
        clients_.size() == 1 ? interval_for(max_idle) : std::min(interval_, interval_for(max_idle));
    if (!running_) {
      // Detached: a thread that ran out of clients set running_ under mu_ and ends on its own;
      // joined by nobody, it is not left behind unjoined at exit (ThreadSanitizer's "thread
      // leak", as a joinable one that ended with the last client was).
      std::thread([this] { run(); }).detach();
      running_ = true;
    }
    wake_.notify_one();
  }
  // A client went: look at once, so that the thread ends with the last one.
  void forget() {
    std::lock_guard lock(mu_);
    wake_.notify_one();
  }
  // How often it sweeps now; 0 while there is no client.
  std::chrono::milliseconds interval() {
    std::lock_guard lock(mu_);
    return clients_.empty() ? std::chrono::milliseconds(0) : interval_;
  }
  bool running() {
    std::lock_guard lock(mu_);
    return running_;
  }

 private:
  PoolSweeper() = default;
  static std::chrono::milliseconds interval_for(std::chrono::milliseconds max_idle) {
    return std::clamp<std::chrono::milliseconds>(max_idle / 2, std::chrono::milliseconds(50),
                                                 std::chrono::seconds(5));
  }

  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      wake_.wait_for(lock, interval_);
      std::vector<std::shared_ptr<Client::Impl>> live;
      auto interval = std::chrono::milliseconds(std::chrono::seconds(5));
      for (auto it = clients_.begin(); it != clients_.end();) {
        if (auto impl = it->lock()) {
          interval = std::min(interval, interval_for(impl->options.max_idle_time));
          live.push_back(std::move(impl));
          ++it;
        } else {
          it = clients_.erase(it);
        }
      }
      if (live.empty() && clients_.empty()) {
        running_ = false;  // add() starts another thread when a client comes
        return;
      }
      interval_ = interval;  // the pace of a short-lived client goes with it
      lock.unlock();
      const auto now = std::chrono::steady_clock::now();
      for (const auto& impl : live) impl->close_expired(now);
      live.clear();  // a client's last reference may go here, outside the lock
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::weak_ptr<Client::Impl>> clients_;
  std::chrono::milliseconds interval_{5000};
  bool running_ = false;
};

}  // namespace detail

namespace detail {
std::chrono::milliseconds pool_sweep_interval() {
  return PoolSweeper::instance().interval();
}
bool pool_sweeper_running() {
  return PoolSweeper::instance().running();
}
}  // namespace detail

std::chrono::milliseconds pooled_idle_limit(std::chrono::milliseconds server_idle_timeout) {
  return std::clamp<std::chrono::milliseconds>(
      server_idle_timeout / 2, std::chrono::milliseconds(1), ClientOptions{}.max_idle_time);
}

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
  detail::PoolSweeper::instance().add(impl_, impl_->options.max_idle_time);
}
Client::~Client() {
  {
    std::lock_guard sweeping(impl_->sweep_mu);
    impl_->closed = true;
  }
  clear_pool();  // here, on the owner's thread, not wherever the last reference goes
  impl_.reset();
  detail::PoolSweeper::instance().forget();
}

void Client::clear_pool() {
  std::lock_guard lock(impl_->mu);
  impl_->idle.clear();
  impl_->idle_count = 0;
}

std::size_t Client::idle_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->idle_count;
}

namespace {

// The rare paths of send(), in coroutines of their own so that send()'s frame stays small.
// A new connection to the upstream, announced before its first request (see affinity.hpp).
asio::awaitable<void> connect(const ClientOptions& options, PooledConnection& connection,
                              std::chrono::steady_clock::time_point deadline, const void* context) {
  beast::error_code ec;
  Endpoint ep = options.endpoint();
  // An address (every in-process peer) needs no resolver; a name waits for one, off this thread.
  auto address = asio::ip::make_address(ep.host, ec);
  if (!ec && ep.port != 0) {
    connection.stream.expires_at(deadline);
    co_await connection.stream.async_connect(tcp::endpoint(address, ep.port),
                                             asio::redirect_error(use_awaitable, ec));
  } else {
    // A name: each of its addresses in turn, until one answers or the deadline passes.
    const detail::Resolution found =
        co_await (options.resolver ? *options.resolver : detail::HostResolver::shared())
            .async_resolve(ep.host, deadline);
    const auto targets = detail::endpoints_of(found, ep.port);
    if (targets.empty() || ep.port == 0) {
      throw TransportError(
          found.timed_out ? TransportErrorKind::timeout : TransportErrorKind::refused,
          "no address for upstream " + ep.host + ":" + std::to_string(ep.port) +
              (found.problem.empty() ? "" : " (" + found.problem + ")"));
    }
    connection.stream.expires_at(deadline);
    co_await connection.stream.async_connect(targets, asio::redirect_error(use_awaitable, ec));
  }
  if (ec) throw detail::transport_error(ec, "connect");
  connection.stream.socket().set_option(tcp::no_delay(true), ec);
  // Before the first request is written: the server looks the port up when it arrives.
  connection.announce(context);
}

// A request whose head serialize_request_head() leaves to Beast.
asio::awaitable<void> write_with_beast(PooledConnection& connection, Request& request,
                                       beast::error_code& ec) {
  bhttp::request<bhttp::string_body> out;
  bhttp::verb verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown) {
    out.method_string(request.method);
  } else {
    out.method(verb);
  }
  out.target(request.target);
  out.version(11);
  detail::copy_headers_to(request.headers, out.base());
  if (!out.base().count(bhttp::field::host)) out.set(bhttp::field::host, "127.0.0.1");
  out.body() = std::move(request.body);
  out.keep_alive(true);
  out.prepare_payload();
  co_await bhttp::async_write(connection.stream, out, asio::redirect_error(use_awaitable, ec));
}

}  // namespace

asio::awaitable<Response> Client::send(Request request, std::chrono::nanoseconds timeout) {
  auto impl = impl_;  // keeps the pool alive while this call runs
  // The request line is written as given: one holding a space, CR, LF or NUL would become
  // another request (defence in depth; a server parsed every path we forward).
  for (char c : request.method) {
    if (c <= ' ' || c == '\x7f')
      throw TransportError(TransportErrorKind::protocol, "refused to send a malformed method");
  }
  for (char c : request.target) {
    if (c == ' ' || c == '\r' || c == '\n' || c == '\0') {
      throw TransportError(TransportErrorKind::protocol, "refused to send a malformed target");
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  beast::error_code ec;
  const void* context = nullptr;
  std::unique_ptr<PooledConnection> connection;
  {
    // Scoped: the executor is not kept in this coroutine's frame.
    auto executor = co_await asio::this_coro::executor;
    context = &asio::query(executor, asio::execution::context);
    connection = impl->take(context);
    if (!connection) connection = std::make_unique<PooledConnection>(executor);
  }
  // take() found the pooled connection's socket empty (its stale check), and nothing below
  // suspends before the read unless the request does not go out at once.
  bool empty_until_answer = connection->stream.socket().is_open();
  // A pooled connection is open (take() checks); a new one connects first.
  if (!connection->stream.socket().is_open()) {
    co_await connect(impl->options, *connection, deadline, context);
  }
  connection->stream.expires_at(deadline);

  if (serialize_request_head(request, connection->head)) {
    // At once when the socket takes it all (nearly always), else the rest by the deadline.
    const std::string_view head(connection->head);
    const std::string_view body(request.body);
    const std::size_t written = detail::write_now(connection->stream.socket(), head, body, ec);
    if (!ec && written < head.size() + body.size()) {
      empty_until_answer = false;
      co_await asio::async_write(connection->stream, detail::unwritten(head, body, written),
                                 asio::redirect_error(use_awaitable, ec));
    }
  } else {
    empty_until_answer = false;
    co_await write_with_beast(*connection, request, ec);
  }
  if (ec) throw detail::transport_error(ec, "write");
  if (empty_until_answer && connection->buffer.size() == 0)
    skip_speculative_read(connection->stream.socket());

  Response res;
  detail::ResponseParser parser(res);
  parser.body_limit(impl->options.response_body_limit);
  // The answer to HEAD has a Content-Length but no body (RFC 9110, 9.3.2).
  if (request.method == "HEAD") parser.skip(true);
  co_await bhttp::async_read(connection->stream, connection->buffer, parser,
                             asio::redirect_error(use_awaitable, ec));
  if (ec) throw detail::transport_error(ec, "read");

  bool keep = detail::keep_alive(res.headers, parser.version());
  if (keep) {
    connection->stream.expires_never();
    impl->give_back(context, std::move(connection));
  }
  co_return res;
}

bool valid_port(std::string_view digits) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return error == std::errc() && end == digits.data() + digits.size() && value >= 1 &&
         value <= 65535;
}

namespace {

// The reason `parsed` is no base URL, or nullptr. An outside probe: "expected a base URL" for a
// port of 99999 said nothing of what was wrong, and a path or a user:password was taken and
// then dropped without a word (only the host and the port of a base URL are used).
const char* base_url_flaw(const boost::system::result<boost::urls::url_view>& parsed) {
  if (!parsed || !parsed->has_scheme() || !parsed->has_authority())
    return "not a URL of the form http://HOST:PORT";
  if (parsed->scheme() != "http") return "only http:// is served";
  if (parsed->host().empty()) return "no host";
  if (!parsed->has_port() || parsed->port().empty()) return "no port";
  if (!valid_port(parsed->port())) return "the port must be 1 to 65535";
  if (parsed->has_userinfo()) return "a base URL holds no user or password";
  if (!parsed->encoded_path().empty() && parsed->encoded_path() != "/")
    return "a base URL has no path (the services' routes are fixed)";
  if (parsed->has_query() || parsed->has_fragment()) return "a base URL has no query or fragment";
  return nullptr;
}

}  // namespace

std::optional<std::string> base_url_problem(std::string_view url) {
  if (const char* flaw = base_url_flaw(boost::urls::parse_uri_reference(url))) return flaw;
  return std::nullopt;
}

Endpoint parse_base_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri_reference(url);
  if (const char* flaw = base_url_flaw(parsed)) {
    throw std::invalid_argument("expected a base URL like http://127.0.0.1:8080, got '" +
                                std::string(url) + "': " + flaw);
  }
  Endpoint ep;
  ep.host = std::string(parsed->host_address());  // an IPv6 address without its brackets
  if (ep.host == "localhost") ep.host = "127.0.0.1";
  ep.port = parsed->port_number();
  return ep;
}

}  // namespace shopctl::http
