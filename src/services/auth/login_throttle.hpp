#pragma once
// Login throttling: at most `max_failures` failed logins for one email within `window`;
// past that, logins for the email are refused (429) until the oldest failure leaves the
// window. Time comes from the shop clock, so `advance_clock` lifts a throttle.
//
// An attempt is reserved before the password is verified (begin_attempt) and counts as a
// failure while it is in flight: 40 parallel guesses for one email get at most max_failures
// verdicts, not 40. The table holds at most `max_emails` emails and forgets the least recently
// tried one to make room (never all of them at once).
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "platform/clock.hpp"
#include "platform/lru_map.hpp"

namespace shopctl::auth {

class LoginThrottle {
 public:
  LoginThrottle(const platform::Clock& clock, int max_failures, std::chrono::seconds window,
                std::size_t max_emails = 100'000)
      : clock_(clock), max_failures_(max_failures), window_(window), emails_(max_emails) {}

  // Returns 0 and reserves an attempt for `email` when it may try now (the attempt counts as
  // a failure until end_attempt), or the seconds until it may try again (nothing reserved).
  std::int64_t begin_attempt(const std::string& email);
  enum class Outcome {
    failure,    // wrong password: stays counted as a failure from now
    success,    // right password: the email's failures are forgotten
    abandoned,  // never judged (the hashing pool was full, an error): the reservation is given back
  };
  void end_attempt(const std::string& email, Outcome outcome);

  // Changes the limits at run time (Shop::apply_runtime_config): every email is judged by the
  // new ones from its next attempt on, with the failures it has already made.
  void set_limits(int max_failures, std::chrono::seconds window);

  // Returns the seconds until the email may try again, or 0 when it may try now.
  std::int64_t retry_after(const std::string& email);
  void record_failure(const std::string& email);
  // Forgets every failure counted so far (the shop's reset, docs/scenarios.md); attempts in
  // flight stay reserved. Returns how many emails had failures.
  std::size_t forget_failures();
  void record_success(const std::string& email);

 private:
  struct Entry {
    // Oldest first; at most max_failures (more only just after the limit was lowered).
    std::vector<platform::Clock::time_point> failures;
    int in_flight = 0;
  };
  void prune(Entry& entry);
  std::int64_t wait_locked(Entry& entry);
  void add_failure_locked(Entry& entry);

  const platform::Clock& clock_;
  std::mutex mu_;  // guards everything below
  int max_failures_;
  std::chrono::seconds window_;
  platform::LruMap<Entry> emails_;
};

}  // namespace shopctl::auth
