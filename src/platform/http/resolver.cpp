#include "platform/http/resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/thread_name.hpp"

namespace shopctl::http::detail {

namespace asio = boost::asio;
using Clock = HostResolver::Clock;

namespace {

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Resolution found(const std::vector<std::string>& addresses) {
  return Resolution{addresses.front(), {}, false, addresses};
}

// How long a caller has waited, for the problem text.
std::string waited_text(Clock::duration waited) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()) +
         " ms";
}

}  // namespace

struct HostResolver::State {
  struct Entry {
    std::vector<std::string> addresses;  // last good answer (none yet: empty)
    Clock::time_point answered{};        // when `addresses` were found
    std::string problem;                 // the last lookup's failure, when it failed
    Clock::time_point failed{};          // when it failed
    bool running = false;                // a lookup for this name is running
  };

  Lookup lookup;
  Options options;
  mutable std::mutex mu;
  std::condition_variable changed;
  std::unordered_map<std::string, Entry> entries;
  std::size_t running = 0;
  std::size_t started = 0;

  // With `mu` held: the answer now, if there is one; else makes sure a lookup runs.
  std::optional<Resolution> answer_or_start(const std::string& host,
                                            const std::shared_ptr<State>& self) {
    const auto now = Clock::now();
    if (entries.size() >= kMaxNames && !entries.contains(host)) forget_idle();
    Entry& e = entries[host];
    if (!e.addresses.empty()) {
      if (now - e.answered >= options.fresh && !e.running && running < options.max_running)
        start(host, e, self);
      return found(e.addresses);
    }
    if (!e.problem.empty() && now - e.failed < options.negative) return Resolution{{}, e.problem};
    if (!e.running) {
      if (running >= options.max_running)
        return Resolution{
            {},
            "too many host lookups running at once (" + std::to_string(options.max_running) + ")"};
      start(host, e, self);
    }
    return std::nullopt;
  }

  // Names are the shop's peers and the tools' targets: a few. Past this many, the names with
  // no lookup running are forgotten, so that no caller can grow the table without bound.
  static constexpr std::size_t kMaxNames = 1024;

  void forget_idle() {
    std::erase_if(entries, [](const auto& kv) { return !kv.second.running; });
  }

  void start(const std::string& host, Entry& e, const std::shared_ptr<State>& self) {
    e.running = true;
    ++running;
    ++started;
    // Detached: getaddrinfo cannot be interrupted, and nothing should wait for it to end.
    std::thread([self, host] {
      platform::name_this_thread("resolve");
      std::string problem;
      std::vector<std::string> addresses;
      try {
        addresses = self->lookup(host, problem);
      } catch (const std::exception& error) {
        problem = error.what();
      }
      std::erase(addresses, std::string());
      if (addresses.empty() && problem.empty()) problem = "no address";
      {
        std::lock_guard lock(self->mu);
        Entry& entry = self->entries[host];
        entry.running = false;
        --self->running;
        const auto now = Clock::now();
        if (!addresses.empty()) {
          entry.addresses = std::move(addresses);
          entry.answered = now;
          entry.problem.clear();
        } else {
          entry.problem = std::move(problem);
          entry.failed = now;
        }
      }
      self->changed.notify_all();
    }).detach();
  }

  // With `mu` held, after the deadline or between waits: what the entry says now.
  std::optional<Resolution> settled(const std::string& host) const {
    const auto it = entries.find(host);
    if (it == entries.end()) return std::nullopt;
    if (!it->second.addresses.empty()) return found(it->second.addresses);
    if (!it->second.running) return Resolution{{}, it->second.problem};
    return std::nullopt;
  }
};

HostResolver::HostResolver(Lookup lookup, Options options) : state_(std::make_shared<State>()) {
  state_->lookup = std::move(lookup);
  state_->options = options;
}

HostResolver& HostResolver::shared() {
  static auto* resolver = new HostResolver(lookup_with_getaddrinfo);
  return *resolver;
}

std::optional<Resolution> HostResolver::try_resolve(const std::string& host) {
  if (is_ip_literal(host)) return Resolution{host, {}, false, {host}};
  if (host.empty() || host.size() > 253) return Resolution{{}, "not a host name", false, {}};
  std::lock_guard lock(state_->mu);
  return state_->answer_or_start(host, state_);
}

Resolution HostResolver::resolve(const std::string& host, Clock::time_point deadline) {
  if (auto now = try_resolve(host)) return *now;
  const auto began = Clock::now();
  std::unique_lock lock(state_->mu);
  std::optional<Resolution> answer;
  state_->changed.wait_until(lock, deadline,
                             [&] { return (answer = state_->settled(host)).has_value(); });
  if (answer) return *answer;
  return {{}, "still looking the name up after " + waited_text(Clock::now() - began), true};
}

asio::awaitable<Resolution> HostResolver::async_resolve(const std::string& host,
                                                        Clock::time_point deadline) {
  if (auto now = try_resolve(host)) co_return *now;
  // The lookup's thread cannot post to this executor safely (it may outlive it), so the
  // coroutine looks again at growing intervals: 0.1 ms, doubling up to 10 ms. Only a name not
  // yet known waits here: once per name, not once per request.
  const auto began = Clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    {
      std::lock_guard lock(state_->mu);
      if (auto answer = state_->settled(host)) co_return *answer;
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    timer.expires_at(std::min<Clock::time_point>(deadline, now + pause));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
  }
  co_return Resolution{
      {}, "still looking the name up after " + waited_text(Clock::now() - began), true};
}

std::size_t HostResolver::lookups_started() const {
  std::lock_guard lock(state_->mu);
  return state_->started;
}

std::vector<asio::ip::tcp::endpoint> endpoints_of(const Resolution& found, unsigned short port) {
  std::vector<asio::ip::tcp::endpoint> out;
  out.reserve(found.addresses.size());
  for (const auto& text : found.addresses) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (!ec) out.emplace_back(address, port);
  }
  return out;
}

std::vector<std::string> lookup_with_getaddrinfo(const std::string& host, std::string& problem) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    problem = rc != 0 ? gai_strerror(rc) : "no address";
    return {};
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (a->ai_family == AF_INET)
      raw = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    else if (a->ai_family == AF_INET6)
      raw = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    if (raw == nullptr || !inet_ntop(a->ai_family, raw, text, sizeof text)) continue;
    if (std::find(addresses.begin(), addresses.end(), text) == addresses.end())
      addresses.emplace_back(text);
  }
  freeaddrinfo(found);
  if (addresses.empty()) problem = "no address";
  return addresses;
}

}  // namespace shopctl::http::detail
