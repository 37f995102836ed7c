// The provider's webhook retry schedule as pure logic: 1 s doubling, each wait capped at 1 h,
// given up 72 h after settlement (the defaults), and the same rules for other settings.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "services/provider/pay_page.hpp"
#include "services/provider/provider_model.hpp"

namespace {

using shopctl::provider::next_webhook_attempt;
using shopctl::provider::webhook_retry_backoff;
using shopctl::provider::WebhookRetryPolicy;
using namespace std::chrono_literals;

}  // namespace

TEST_CASE("a webhook retry waits 1 s after the first failure, doubling, each wait at most 1 h") {
  const WebhookRetryPolicy policy;
  CHECK(webhook_retry_backoff(1, policy) == 1s);
  CHECK(webhook_retry_backoff(2, policy) == 2s);
  CHECK(webhook_retry_backoff(3, policy) == 4s);
  CHECK(webhook_retry_backoff(12, policy) == 2048s);
  CHECK(webhook_retry_backoff(13, policy) == 1h);  // 4096 s would be more than an hour
  CHECK(webhook_retry_backoff(500, policy) == 1h);
  CHECK(webhook_retry_backoff(0, policy) == 1s);  // never below the initial wait
}

TEST_CASE("a webhook that is never taken is tried 83 times and given up 72 h after settlement") {
  const WebhookRetryPolicy policy;
  const std::int64_t settled_at = 1'000'000;
  std::int64_t now = settled_at;  // the inline attempt, at settlement
  int attempts = 1;
  std::int64_t last_attempt = now;
  for (int guard = 0; guard < 1000; ++guard) {
    auto next = next_webhook_attempt(attempts, settled_at, now, policy);
    if (!next) break;
    CHECK(*next - now == webhook_retry_backoff(attempts, policy).count());
    now = *next;
    last_attempt = now;
    ++attempts;
  }
  // Waits 1 + 2 + ... + 2048 s (4095 s over 12 retries), then 70 waits of an hour.
  CHECK(attempts == 1 + 12 + 70);
  CHECK(last_attempt - settled_at == (4095 + 70 * 3600) * 1000LL);
  CHECK(last_attempt - settled_at <= std::chrono::milliseconds(72h).count());
  // One more hour would pass the 72 h.
  CHECK(last_attempt + 3'600'000 - settled_at > std::chrono::milliseconds(72h).count());
}

TEST_CASE(
    "a retry falls due on the shop clock after the attempt that failed, not after settlement") {
  const WebhookRetryPolicy policy;
  // An attempt made late (the provider was down for a day) schedules from its own time.
  CHECK(next_webhook_attempt(1, 0, 86'400'000, policy) == 86'401'000);
  // Past the deadline already: given up after this attempt.
  CHECK_FALSE(next_webhook_attempt(1, 0, 72LL * 3'600'000, policy).has_value());
}

TEST_CASE("the retry schedule follows provider.webhook_retry") {
  const WebhookRetryPolicy policy{250ms, 2s, 10s};
  CHECK(webhook_retry_backoff(1, policy) == 250ms);
  CHECK(webhook_retry_backoff(4, policy) == 2s);
  CHECK(webhook_retry_backoff(5, policy) == 2s);
  CHECK(next_webhook_attempt(4, 0, 7'000, policy) == 9'000);
  CHECK_FALSE(next_webhook_attempt(5, 0, 9'000, policy).has_value());  // 11 s > 10 s
  // A max below the initial wait (the config refuses it) caps every wait.
  const WebhookRetryPolicy odd{5s, 1s, 1h};
  CHECK(webhook_retry_backoff(3, odd) == 1s);
}

// A provider started again tries its kept events at once; a failure then waits its backoff,
// but never longer than the provider has been up (at least initial_backoff): the shop it calls
// may still be starting, and 12 earlier failures made the next wait 34 minutes.
TEST_CASE("a webhook retry never waits longer than the provider has been up") {
  const WebhookRetryPolicy policy;
  CHECK(next_webhook_attempt(12, 0, 1'000, policy, 200ms) == 2'000);  // initial_backoff
  CHECK(next_webhook_attempt(12, 0, 1'000, policy, 5s) == 6'000);
  CHECK(next_webhook_attempt(2, 0, 1'000, policy, 5s) == 3'000);  // its own backoff is shorter
  CHECK(next_webhook_attempt(12, 0, 1'000, policy, 2h) == 1'000 + 2'048'000);
  // The give-up deadline still counts from settlement.
  CHECK_FALSE(next_webhook_attempt(12, 0, 72LL * 3'600'000, policy, 5s).has_value());
}

// "text/html;q=0" got the page and "TEXT/HTML" the JSON (an outside probe).
TEST_CASE("the pay page goes to a client whose Accept prefers HTML to JSON") {
  auto wants = [](const char* accept) {
    shopctl::http::Request req;
    req.method = "GET";
    if (accept) req.headers.set("Accept", accept);
    return shopctl::provider::wants_pay_page(req);
  };
  CHECK(wants("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  CHECK(wants("TEXT/HTML"));
  CHECK_FALSE(wants(nullptr));
  CHECK_FALSE(wants("*/*"));
  CHECK_FALSE(wants("application/json"));
  CHECK_FALSE(wants("application/json, text/html;q=0"));
  CHECK_FALSE(wants("text/html;q=0, application/json"));
  CHECK_FALSE(wants("text/html;q=0.5, application/json"));
  CHECK(wants("text/html, application/json;q=0.5"));
}
