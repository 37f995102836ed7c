#include "platform/resilient_caller.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/error.hpp"
#include "platform/json_body.hpp"

namespace shopctl::platform {

namespace asio = boost::asio;
using resilience::CircuitEvent;
using resilience::CircuitState;

ResilientCaller::ResilientCaller(ServiceContext& ctx, std::string caller, std::string callee,
                                 EdgeSettings settings, Metrics* metrics, std::uint64_t seed)
    : ctx_(ctx),
      edge_(caller + "->" + callee),
      settings_(std::make_shared<const EdgeSettings>(std::move(settings))),
      caller_(ctx, caller, callee, metrics, settings_->credential),
      rng_(seed ^ std::hash<std::string>{}(edge_)) {
  breaker_ = std::make_unique<resilience::CircuitBreaker>(
      edge_, settings_->breaker, ctx.clock, [this, metrics, caller](const CircuitEvent& e) {
        if (e.kind != CircuitEvent::Kind::state_transition) return;
        auto from = std::string(resilience::to_string(e.from));
        auto to = std::string(resilience::to_string(e.to));
        if (metrics) metrics->count_breaker_transition(edge_, from, to);
        // `service`: the caller, whose breaker it is (architecture.md: every line names the
        // service that logs it; this one named none).
        ctx_.log.warn("circuit breaker transition",
                      {{"service", caller}, {"breaker", edge_}, {"from", from}, {"to", to}});
        ctx_.calls.record_transition(BreakerTransition{
            0,
            std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count(),
            edge_, from, to,
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count()});
      });
  if (metrics) metrics->declare_breaker(edge_);
  breaker_reader_ =
      ctx.calls.add_breaker_reader([breaker = breaker_.get()] { (void)breaker->state(); });
}

ResilientCaller::~ResilientCaller() {
  ctx_.calls.remove_breaker_reader(breaker_reader_);
}

namespace {

// The whole seconds of an answer's Retry-After; 0 when it has none, or the HTTP-date form, or
// something else.
std::int64_t retry_after_of(const http::Response& response) {
  const auto value = response.headers.get("Retry-After");
  if (!value || value->empty() || value->size() > 9) return 0;
  std::int64_t seconds = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return 0;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds;
}

}  // namespace

void ResilientCaller::note_callee_wait(const http::Response& answer) {
  if (answer.status < 500 && answer.status != 429) {
    // Read before it is written: the steady state (no wait asked for) writes nothing.
    if (callee_wait_until_ns_.load(std::memory_order_relaxed) != 0)
      callee_wait_until_ns_.store(0, std::memory_order_relaxed);
    return;
  }
  const auto seconds = retry_after_of(answer);
  const auto until =
      seconds == 0 ? 0
                   : (ctx_.clock.now() + std::chrono::seconds(seconds)).time_since_epoch().count();
  callee_wait_until_ns_.store(static_cast<std::int64_t>(until), std::memory_order_relaxed);
}

int ResilientCaller::retry_after_seconds() const {
  const auto now = ctx_.clock.now();
  std::int64_t millis_left = 0;
  const auto snapshot = breaker_->snapshot();
  if (snapshot.open_until)
    millis_left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*snapshot.open_until - now).count();
  if (const auto until = callee_wait_until_ns_.load(std::memory_order_relaxed); until != 0) {
    const Clock::time_point end{Clock::time_point::duration(until)};
    millis_left = std::max<std::int64_t>(
        millis_left, std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count());
  }
  return platform::retry_after_seconds(millis_left);
}

std::optional<std::chrono::milliseconds> ResilientCaller::refusal_wait_left() const {
  const auto snapshot = breaker_->snapshot();
  if (snapshot.state == resilience::CircuitState::HALF_OPEN) return std::chrono::milliseconds(0);
  if (snapshot.state != resilience::CircuitState::OPEN || !snapshot.open_until) return std::nullopt;
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(*snapshot.open_until -
                                                                        ctx_.clock.now()));
}

bool ResilientCaller::refuses_calls_now() const {
  const auto snapshot = breaker_->snapshot();
  if (snapshot.state == resilience::CircuitState::FORCED_OPEN) return true;
  return snapshot.state == resilience::CircuitState::OPEN && snapshot.open_until &&
         *snapshot.open_until > ctx_.clock.now();
}

EdgeSettings ResilientCaller::settings() const {
  std::lock_guard lock(settings_mu_);
  return *settings_;
}

void ResilientCaller::reconfigure(EdgeSettings settings, std::uint64_t seed) {
  // The breaker starts over (an empty window) only when its own settings change: any POST
  // /_admin/config emptied every window, a `seed` too, and an OPEN breaker's failure rate read
  // -1 (an outside probe).
  bool breaker_changed = false;
  {
    std::lock_guard lock(settings_mu_);
    breaker_changed = !(settings_->breaker == settings.breaker);
  }
  if (breaker_changed) breaker_->reconfigure(settings.breaker);
  auto fresh = std::make_shared<const EdgeSettings>(std::move(settings));
  {
    std::lock_guard lock(settings_mu_);
    settings_ = std::move(fresh);
  }
  std::lock_guard lock(rng_mu_);
  rng_ = seed ^ std::hash<std::string>{}(edge_);
}

asio::awaitable<http::Response> ResilientCaller::call(http::Request request, bool retryable,
                                                      const std::string& trace_id, bool* unheard,
                                                      bool (*acted_on)(const http::Response&),
                                                      Deadline deadline) {
  if (unheard) *unheard = false;
  std::shared_ptr<const EdgeSettings> settings;
  {
    std::lock_guard lock(settings_mu_);
    settings = settings_;
  }
  int attempts = retryable ? std::max(1, settings->retry.max_attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    // The attempt's time limit: the edge's, or what is left before the caller's deadline.
    auto timeout = settings->timeout;
    if (deadline) {
      const auto left = *deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds::zero()) {
        throw http::TransportError(
            http::TransportErrorKind::timeout,
            "no time left for " + edge_ + " before the answer is due (gateway.upstream_timeout)");
      }
      timeout = std::min<std::chrono::nanoseconds>(timeout, left);
    }
    if (!breaker_->try_acquire()) {
      caller_.record_refused(request, trace_id, attempt);
      // A refused call fails at once: no retry, no backoff (the breaker says the edge is sick).
      throw http::TransportError(http::TransportErrorKind::not_permitted,
                                 "circuit breaker " + edge_ + " does not permit the call");
    }
    std::optional<http::Response> answer;
    std::optional<http::TransportError> failure;
    auto started = std::chrono::steady_clock::now();
    try {
      auto result = co_await caller_.call(request, timeout, trace_id, attempt);
      answer = std::move(result.response);
    } catch (const http::TransportError& e) {
      failure = e;
    }
    // Refused or unreachable, the request was never sent: nobody heard it.
    if (unheard && failure && failure->kind() != http::TransportErrorKind::refused &&
        failure->kind() != http::TransportErrorKind::unreachable)
      *unheard = true;
    if (unheard && acted_on && answer && answer->status >= 500 && acted_on(*answer))
      *unheard = true;
    if (answer) note_callee_wait(*answer);
    auto took = std::chrono::steady_clock::now() - started;
    bool failed = failure.has_value() || answer->status >= 500;
    if (failed) {
      breaker_->on_error(took);
    } else {
      breaker_->on_success(took);  // a 4xx is the caller's problem: a success for the breaker
      co_return std::move(*answer);
    }
    if (attempt >= attempts) {
      if (answer) co_return std::move(*answer);
      throw *failure;
    }
    std::chrono::milliseconds backoff;
    {
      std::lock_guard lock(rng_mu_);
      backoff = settings->retry.backoff_before(attempt + 1, rng_);
    }
    // A retry that could not begin before the answer is due is not made: the caller answers
    // with what it has (with retries of 12 s apart, a shopper got 504 and the order was
    // created two seconds later, an outside probe).
    if (deadline && std::chrono::steady_clock::now() + backoff >= *deadline) {
      if (answer) co_return std::move(*answer);
      throw *failure;
    }
    if (backoff.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(backoff);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

void expose_breakers(ServiceHost& host, std::vector<ResilientCaller*> callers) {
  auto any = http::Access::anyone();
  host.admin_routes().add("GET", "/_admin/circuit-breakers", any,
                          [callers](http::Request&) -> asio::awaitable<http::Response> {
                            nlohmann::json items = nlohmann::json::array();
                            for (auto* c : callers)
                              items.push_back(c->breaker().snapshot().to_json());
                            co_return http::Response::json(200, {{"items", items}});
                          });
  host.admin_routes().add(
      "POST", "/_admin/circuit-breakers/{name}", any,
      [callers](http::Request& req) -> asio::awaitable<http::Response> {
        const auto& name = req.param("name");
        ResilientCaller* found = nullptr;
        for (auto* c : callers) {
          if (c->edge() == name) found = c;
        }
        if (!found) throw ApiError(404, "breaker_not_found", "no circuit breaker " + name);
        auto body = json_object_body(req);
        // `state` is all it reads: anything else is a mistake to say, as a fault's unknown key
        // is (it was ignored, with 200).
        refuse_unknown_keys(body, {"state"}, "{\"state\": ...}");
        auto state = required_string(body, "state", 32);
        auto parsed = resilience::parse_circuit_state(state);
        auto& b = found->breaker();
        if (parsed == CircuitState::FORCED_OPEN)
          b.transition_to_forced_open();
        else if (parsed == CircuitState::DISABLED)
          b.transition_to_disabled();
        else if (parsed == CircuitState::METRICS_ONLY)
          b.transition_to_metrics_only();
        else if (parsed == CircuitState::CLOSED)
          b.transition_to_closed();
        else
          throw ApiError(400, "invalid_state",
                         "state must be FORCED_OPEN, DISABLED, METRICS_ONLY or CLOSED",
                         {{"field", "state"}});
        co_return http::Response::json(200, b.snapshot().to_json());
      });
  host.metrics().add_gauge(
      "shopctl_circuit_breaker_state",
      "Breaker state: 0 CLOSED, 1 OPEN, 2 HALF_OPEN, 3 DISABLED, 4 FORCED_OPEN, 5 METRICS_ONLY",
      "breaker", [callers] {
        std::vector<std::pair<std::string, double>> out;
        for (auto* c : callers)
          out.emplace_back(c->edge(), static_cast<double>(static_cast<int>(c->breaker().state())));
        return out;
      });
}

}  // namespace shopctl::platform
