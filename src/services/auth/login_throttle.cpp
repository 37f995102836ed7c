#include "services/auth/login_throttle.hpp"

namespace shopctl::auth {

void LoginThrottle::prune(std::deque<platform::Clock::time_point>& failures) {
  auto now = clock_.now();
  while (!failures.empty() && now - failures.front() >= window_) failures.pop_front();
}

std::int64_t LoginThrottle::retry_after(const std::string& email) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(email);
  if (it == failures_.end()) return 0;
  prune(it->second);
  if (static_cast<int>(it->second.size()) < max_failures_) return 0;
  auto free_at = it->second.front() + window_;
  auto wait = std::chrono::duration_cast<std::chrono::seconds>(free_at - clock_.now()).count();
  return std::max<std::int64_t>(1, wait + 1);
}

void LoginThrottle::record_failure(const std::string& email) {
  std::lock_guard lock(mu_);
  auto& f = failures_[email];
  prune(f);
  f.push_back(clock_.now());
  // Bounded memory: an email never needs more than max_failures timestamps.
  while (static_cast<int>(f.size()) > max_failures_) f.pop_front();
  if (failures_.size() > 100'000) failures_.clear();
}

void LoginThrottle::record_success(const std::string& email) {
  std::lock_guard lock(mu_);
  failures_.erase(email);
}

}  // namespace shopctl::auth
