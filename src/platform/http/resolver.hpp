#pragma once
// Host names to addresses for the HTTP clients, without blocking a thread that serves requests
// and within the caller's deadline. getaddrinfo takes no deadline and cannot be cancelled: a
// DNS server that does not answer holds it for resolv.conf's timeout times its attempts (10 s
// and more by default). So each lookup runs on a thread of its own, one per name at a time,
// and a caller waits for it only until its own deadline; an io thread waits on a timer, so it
// keeps serving meanwhile.
//
// Answers are kept 30 s. After that the last good answer is still given at once while a new
// lookup runs behind it (serve-stale, as in RFC 8767), so a DNS outage does not stop a shop that
// already knew its peers. A name without an address is remembered for 1 s, so a broken name
// costs one lookup per second, not one per request.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace shopctl::http::detail {

struct Resolution {
  std::string address;     // the first IP address as text; empty when there is none
  std::string problem;     // why there is none ("Name or service not known", "still looking ...")
  bool timed_out = false;  // the caller's deadline came before the lookup's answer
  // Every address of the name, in getaddrinfo's order (RFC 6724), the first one included: a
  // client tries them in turn, so a name with an address that refuses (an IPv6 ::1 for a
  // service listening on 127.0.0.1 only, a replica that is down) still connects.
  std::vector<std::string> addresses;
};

class HostResolver {
 public:
  using Clock = std::chrono::steady_clock;
  // Looks one name up (blocking): its addresses, or none with `problem` set.
  using Lookup =
      std::function<std::vector<std::string>(const std::string& host, std::string& problem)>;
  struct Options {
    Clock::duration fresh = std::chrono::seconds(30);    // an answer is used without asking again
    Clock::duration negative = std::chrono::seconds(1);  // a failure is given without asking again
    std::size_t max_running = 16;                        // lookups running at once
  };

  explicit HostResolver(Lookup lookup, Options options);
  explicit HostResolver(Lookup lookup) : HostResolver(std::move(lookup), Options{}) {}

  // The process's resolver, with getaddrinfo. Never destroyed: lookup threads may outlive main.
  static HostResolver& shared();

  // The answer at once when there is one to give: an IP literal, a kept answer (fresh or
  // stale), a recent failure. Otherwise starts a lookup (unless one for `host` runs) and
  // returns nothing.
  std::optional<Resolution> try_resolve(const std::string& host);
  // Waits for the answer until `deadline`, blocking the calling thread.
  Resolution resolve(const std::string& host, Clock::time_point deadline);
  // As resolve(), in a coroutine: the thread runs other work while it waits.
  boost::asio::awaitable<Resolution> async_resolve(const std::string& host,
                                                   Clock::time_point deadline);
  // Lookups started so far (for tests).
  std::size_t lookups_started() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// getaddrinfo: the addresses of `host` (each once, in its order), or none with `problem` set.
std::vector<std::string> lookup_with_getaddrinfo(const std::string& host, std::string& problem);

// The addresses of `found` that parse, with `port`, in order: what a client connects to, one
// after another until one answers (Beast's range connect).
std::vector<boost::asio::ip::tcp::endpoint> endpoints_of(const Resolution& found,
                                                         unsigned short port);

}  // namespace shopctl::http::detail
