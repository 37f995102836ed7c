// Unit tests of src/platform/http/resolver: when a host name is looked up, how long callers
// wait, and what is remembered. The lookup function is replaced by one the test holds back, as
// a DNS server that does not answer would (the real one is checked in tests/deploy/netns.sh).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "platform/http/resolver.hpp"

using namespace std::chrono_literals;
using shopctl::http::detail::HostResolver;
using shopctl::http::detail::Resolution;
using Clock = std::chrono::steady_clock;

namespace {

// A lookup that answers only when the test lets it: "10.0.0.<n>" for the n-th lookup, or a
// failure while `fail` is set.
struct HeldLookup {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  bool fail = false;
  int calls = 0;

  // Shared with the lookup threads, which may end after the test's scope.
  static HostResolver::Lookup function(const std::shared_ptr<HeldLookup>& self) {
    return [self](const std::string&, std::string& problem) {
      std::unique_lock lock(self->mu);
      const int n = ++self->calls;
      self->cv.wait(lock, [&] { return self->open; });
      if (self->fail) {
        problem = "Name or service not known";
        return std::vector<std::string>();
      }
      return std::vector<std::string>{"10.0.0." + std::to_string(n)};
    };
  }
  void release(bool failing = false) {
    {
      std::lock_guard lock(mu);
      open = true;
      fail = failing;
    }
    cv.notify_all();
  }
  int call_count() {
    std::lock_guard lock(mu);
    return calls;
  }
  void hold() {
    std::lock_guard lock(mu);
    open = false;
  }
};

// Waits (briefly) until the resolver has an answer for `host` without starting a lookup.
std::optional<Resolution> settled(HostResolver& resolver, const std::string& host) {
  for (int i = 0; i < 2000; ++i) {
    auto r = resolver.resolve(host, Clock::now() + 1ms);
    if (!r.timed_out) return r;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("an IP address needs no lookup") {
  auto held = std::make_shared<HeldLookup>();
  HeldLookup& dns = *held;
  HostResolver resolver(HeldLookup::function(held));
  auto r = resolver.try_resolve("192.0.2.7");
  REQUIRE(r);
  CHECK(r->address == "192.0.2.7");
  CHECK(resolver.try_resolve("::1")->address == "::1");
  CHECK(resolver.lookups_started() == 0);
  dns.release();
}

TEST_CASE("a lookup that does not answer costs a caller its deadline, not the lookup's time") {
  auto held = std::make_shared<HeldLookup>();
  HeldLookup& dns = *held;
  HostResolver resolver(HeldLookup::function(held));
  const auto began = Clock::now();
  auto r = resolver.resolve("order.shop.test", Clock::now() + 50ms);
  const auto took = Clock::now() - began;
  CHECK(r.address.empty());
  CHECK(r.timed_out);
  CHECK(r.problem.find("still looking the name up") != std::string::npos);
  CHECK(took >= 50ms);
  CHECK(took < 2s);
  // A second caller joins the running lookup instead of starting another.
  (void)resolver.resolve("order.shop.test", Clock::now() + 10ms);
  CHECK(resolver.lookups_started() == 1);
  dns.release();
  auto later = settled(resolver, "order.shop.test");
  REQUIRE(later);
  CHECK(later->address == "10.0.0.1");
  CHECK(resolver.lookups_started() == 1);
}

TEST_CASE("an answer is kept, and after it is stale it is still given while a new lookup runs") {
  auto held = std::make_shared<HeldLookup>();
  HeldLookup& dns = *held;
  HostResolver::Options options;
  options.fresh = 100ms;
  HostResolver resolver(HeldLookup::function(held), options);
  dns.release();
  CHECK(resolver.resolve("catalog.shop.test", Clock::now() + 2s).address == "10.0.0.1");
  CHECK(resolver.resolve("catalog.shop.test", Clock::now() + 2s).address == "10.0.0.1");
  CHECK(resolver.lookups_started() == 1);  // fresh: not asked again

  // Stale, and DNS stops answering: the old address comes at once, one new lookup runs.
  dns.hold();
  std::this_thread::sleep_for(120ms);
  auto stale = resolver.try_resolve("catalog.shop.test");
  REQUIRE(stale);
  CHECK(stale->address == "10.0.0.1");
  CHECK(resolver.try_resolve("catalog.shop.test")->address == "10.0.0.1");
  CHECK(resolver.lookups_started() == 2);

  // That lookup fails: the last good answer is kept (a DNS outage does not lose a known peer).
  dns.release(true);
  for (int i = 0; i < 200 && dns.call_count() < 2; ++i) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  CHECK(resolver.resolve("catalog.shop.test", Clock::now() + 1s).address == "10.0.0.1");
}

TEST_CASE("a name without an address is remembered for a short while, then asked again") {
  auto held = std::make_shared<HeldLookup>();
  HeldLookup& dns = *held;
  HostResolver::Options options;
  options.negative = 150ms;
  HostResolver resolver(HeldLookup::function(held), options);
  dns.release(true);
  auto first = resolver.resolve("nope.shop.test", Clock::now() + 2s);
  CHECK(first.address.empty());
  CHECK_FALSE(first.timed_out);
  CHECK(first.problem == "Name or service not known");
  auto again = resolver.try_resolve("nope.shop.test");
  REQUIRE(again);
  CHECK(again->problem == "Name or service not known");
  CHECK(resolver.lookups_started() == 1);

  std::this_thread::sleep_for(170ms);
  dns.release(false);
  CHECK(resolver.resolve("nope.shop.test", Clock::now() + 2s).address == "10.0.0.2");
  CHECK(resolver.lookups_started() == 2);
}

TEST_CASE("lookups running at once are bounded") {
  auto held = std::make_shared<HeldLookup>();
  HeldLookup& dns = *held;
  HostResolver::Options options;
  options.max_running = 2;
  HostResolver resolver(HeldLookup::function(held), options);
  CHECK_FALSE(resolver.try_resolve("a.shop.test"));
  CHECK_FALSE(resolver.try_resolve("b.shop.test"));
  auto third = resolver.try_resolve("c.shop.test");
  REQUIRE(third);
  CHECK(third->address.empty());
  CHECK(third->problem.find("too many host lookups") != std::string::npos);
  dns.release();
  REQUIRE(settled(resolver, "a.shop.test"));
  REQUIRE(settled(resolver, "b.shop.test"));
  CHECK_FALSE(resolver.resolve("c.shop.test", Clock::now() + 2s).address.empty());
}

TEST_CASE("a coroutine waiting for a lookup leaves its thread free for other work") {
  auto held = std::make_shared<HeldLookup>();
  HeldLookup& dns = *held;
  HostResolver resolver(HeldLookup::function(held));
  boost::asio::io_context io;
  std::optional<Resolution> got;
  Clock::duration took{};
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        const auto began = Clock::now();
        got = co_await resolver.async_resolve("payment.shop.test", Clock::now() + 80ms);
        took = Clock::now() - began;
      },
      boost::asio::detached);
  // Work queued on the same (only) thread runs while the lookup is held.
  std::atomic<int> ticks{0};
  boost::asio::steady_timer tick(io);
  std::function<void()> again = [&] {
    tick.expires_after(5ms);
    tick.async_wait([&](boost::system::error_code ec) {
      if (ec || got) return;
      ++ticks;
      again();
    });
  };
  again();
  io.run();
  REQUIRE(got);
  CHECK(got->timed_out);
  CHECK(took >= 80ms);
  CHECK(took < 2s);
  CHECK(ticks >= 5);

  // Once the lookup answers, the next coroutine gets the address.
  dns.release();
  REQUIRE(settled(resolver, "payment.shop.test"));
  got.reset();
  io.restart();
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        got = co_await resolver.async_resolve("payment.shop.test", Clock::now() + 1s);
      },
      boost::asio::detached);
  io.run();
  REQUIRE(got);
  CHECK(got->address == "10.0.0.1");
}
