#pragma once
// Login throttling: at most `max_failures` failed logins for one email within `window`;
// past that, logins for the email are refused (429) until the oldest failure leaves the
// window. Time comes from the shop clock, so `advance_clock` lifts a throttle.
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "platform/clock.hpp"

namespace shopctl::auth {

class LoginThrottle {
 public:
  LoginThrottle(const platform::Clock& clock, int max_failures, std::chrono::seconds window)
      : clock_(clock), max_failures_(max_failures), window_(window) {}

  // Returns the seconds until the email may try again, or 0 when it may try now.
  std::int64_t retry_after(const std::string& email);
  void record_failure(const std::string& email);
  void record_success(const std::string& email);

 private:
  void prune(std::deque<platform::Clock::time_point>& failures);
  const platform::Clock& clock_;
  int max_failures_;
  std::chrono::seconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<platform::Clock::time_point>> failures_;
};

}  // namespace shopctl::auth
