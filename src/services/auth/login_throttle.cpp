#include "services/auth/login_throttle.hpp"

#include <algorithm>

namespace shopctl::auth {

void LoginThrottle::prune(Entry& entry) {
  auto now = clock_.now();
  auto& f = entry.failures;
  auto expired = std::find_if(f.begin(), f.end(), [&](auto t) { return now - t < window_; });
  f.erase(f.begin(), expired);
}

std::int64_t LoginThrottle::wait_locked(Entry& entry) {
  prune(entry);
  const auto count = static_cast<int>(entry.failures.size());
  if (count + entry.in_flight < max_failures_) return 0;
  if (count < max_failures_) return 1;  // attempts in flight
  // The email may try again once fewer than max_failures failures are left in the window:
  // when the (count - max_failures + 1)-th oldest leaves it (the oldest, unless the limit was
  // lowered since those failures were counted).
  auto free_at = entry.failures[static_cast<std::size_t>(count - max_failures_)] + window_;
  auto wait = std::chrono::duration_cast<std::chrono::seconds>(free_at - clock_.now()).count();
  return std::max<std::int64_t>(1, wait + 1);
}

void LoginThrottle::add_failure_locked(Entry& entry) {
  prune(entry);
  entry.failures.push_back(clock_.now());
  // Bounded memory: an email never needs more than max_failures timestamps.
  if (static_cast<int>(entry.failures.size()) > max_failures_) {
    entry.failures.erase(entry.failures.begin(),
                         entry.failures.end() - static_cast<std::ptrdiff_t>(max_failures_));
  }
}

void LoginThrottle::set_limits(int max_failures, std::chrono::seconds window) {
  std::lock_guard lock(mu_);
  max_failures_ = max_failures;
  window_ = window;
}

std::int64_t LoginThrottle::begin_attempt(const std::string& email) {
  std::lock_guard lock(mu_);
  auto& entry = emails_.touch(email);
  if (auto wait = wait_locked(entry); wait > 0) return wait;
  ++entry.in_flight;
  return 0;
}

void LoginThrottle::end_attempt(const std::string& email, Outcome outcome) {
  std::lock_guard lock(mu_);
  auto* entry = emails_.find(email);
  if (entry == nullptr) return;  // forgotten meanwhile (the table was full)
  if (entry->in_flight > 0) --entry->in_flight;
  switch (outcome) {
    case Outcome::failure:
      add_failure_locked(*entry);
      break;
    case Outcome::success:
      entry->failures.clear();
      break;
    case Outcome::abandoned:
      break;
  }
  if (entry->failures.empty() && entry->in_flight == 0) emails_.erase(email);
}

std::int64_t LoginThrottle::retry_after(const std::string& email) {
  std::lock_guard lock(mu_);
  auto* entry = emails_.find(email);
  return entry == nullptr ? 0 : wait_locked(*entry);
}

std::size_t LoginThrottle::forget_failures() {
  std::lock_guard lock(mu_);
  std::size_t had = 0;
  emails_.erase_if([&had](std::string_view, Entry& entry) {
    if (!entry.failures.empty()) ++had;
    entry.failures.clear();
    return entry.in_flight == 0;
  });
  return had;
}

void LoginThrottle::record_failure(const std::string& email) {
  std::lock_guard lock(mu_);
  add_failure_locked(emails_.touch(email));
}

void LoginThrottle::record_success(const std::string& email) {
  std::lock_guard lock(mu_);
  auto* entry = emails_.find(email);
  if (entry == nullptr) return;
  entry->failures.clear();
  if (entry->in_flight == 0) emails_.erase(email);
}

}  // namespace shopctl::auth
