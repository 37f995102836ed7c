#include "platform/observe/call_log.hpp"

namespace shopctl::platform {

nlohmann::json CallRecord::to_json() const {
  nlohmann::json j = {{"seq", seq},
                      {"at_ms", at_ms},
                      {"edge", caller + "->" + callee},
                      {"caller", caller},
                      {"callee", callee},
                      {"method", method},
                      {"route", route},
                      {"status", status},
                      {"outcome", outcome},
                      {"duration_ms", static_cast<double>(duration.count()) / 1e6},
                      {"attempt", attempt},
                      {"trace_id", trace_id},
                      {"refused_by_breaker", refused_by_breaker},
                      {"violation", violation}};
  if (violation) j["violation_reason"] = violation_reason;
  return j;
}

double EdgeStats::p99_ms() const {
  std::uint64_t total = 0;
  for (auto b : buckets) total += b;
  if (total == 0) return 0;
  auto rank = static_cast<std::uint64_t>(static_cast<double>(total) * 0.99 + 0.5);
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank) {
      return i < kBucketsUs.size() ? static_cast<double>(kBucketsUs[i]) / 1000.0
                                   : static_cast<double>(kBucketsUs.back()) / 1000.0;
    }
  }
  return static_cast<double>(kBucketsUs.back()) / 1000.0;
}

std::uint64_t CallLog::record(CallRecord r) {
  std::lock_guard lock(mu_);
  r.seq = next_++;
  auto& e = edges_[r.caller + "->" + r.callee];
  if (r.violation) {
    ++e.violations;
    ++violations_;
  } else if (r.refused_by_breaker) {
    ++e.refused_by_breaker;
  } else {
    ++e.calls;
    if (r.status == 0 || r.status >= 500) ++e.errors;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count();
    std::size_t i = 0;
    while (i < EdgeStats::kBucketsUs.size() && us > EdgeStats::kBucketsUs[i]) ++i;
    ++e.buckets[i];
  }
  auto seq = r.seq;
  ring_.push_back(std::move(r));
  if (ring_.size() > capacity_) ring_.pop_front();
  return seq;
}

std::uint64_t CallLog::next_seq() const {
  std::lock_guard lock(mu_);
  return next_;
}

std::vector<CallRecord> CallLog::since(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  std::vector<CallRecord> out;
  for (const auto& r : ring_) {
    if (r.seq >= seq) out.push_back(r);
  }
  return out;
}

std::map<std::string, EdgeStats> CallLog::edges() const {
  std::lock_guard lock(mu_);
  return edges_;
}

std::uint64_t CallLog::violations_total() const {
  std::lock_guard lock(mu_);
  return violations_;
}

nlohmann::json BreakerTransition::to_json() const {
  return {{"seq", seq}, {"at_ms", at_ms}, {"breaker", breaker}, {"from", from}, {"to", to},
          {"transition", from + "->" + to}};
}

std::uint64_t CallLog::record_transition(BreakerTransition t) {
  std::lock_guard lock(mu_);
  t.seq = next_++;
  auto seq = t.seq;
  transitions_.push_back(std::move(t));
  if (transitions_.size() > 4096) transitions_.pop_front();
  return seq;
}

std::vector<BreakerTransition> CallLog::transitions_since(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  std::vector<BreakerTransition> out;
  for (const auto& t : transitions_) {
    if (t.seq >= seq) out.push_back(t);
  }
  return out;
}

}  // namespace shopctl::platform
