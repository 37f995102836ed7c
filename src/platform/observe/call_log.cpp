#include "platform/observe/call_log.hpp"

#include <algorithm>
#include <cmath>

namespace shopctl::platform {

// Field by field: nlohmann's brace form builds a two-element array per field first (two heap
// allocations more each), and GET /_admin/calls answers up to 20,000 of these.
nlohmann::json CallRecord::to_json() const {
  nlohmann::json j(nlohmann::json::value_t::object);
  j["seq"] = seq;
  j["at_ms"] = at_ms;
  j["edge"] = caller + "->" + callee;
  j["caller"] = caller;
  j["callee"] = callee;
  j["method"] = method;
  j["route"] = route;
  j["status"] = status;
  j["outcome"] = outcome;
  j["duration_ms"] = static_cast<double>(duration.count()) / 1e6;
  j["attempt"] = attempt;
  j["trace_id"] = trace_id;
  j["refused_by_breaker"] = refused_by_breaker;
  j["violation"] = violation;
  if (violation) j["violation_reason"] = violation_reason;
  return j;
}

void EdgeStats::add_duration(std::chrono::nanoseconds duration) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  std::size_t i = 0;
  while (i < kBucketsUs.size() && us > kBucketsUs[i]) ++i;
  ++buckets[i];
  double ms = static_cast<double>(duration.count()) / 1e6;
  if (recent_ms.size() < kRecent) {
    recent_ms.push_back(ms);
  } else {
    recent_ms[recent_next] = ms;
  }
  recent_next = (recent_next + 1) % kRecent;
}

double EdgeStats::p99_ms() const {
  if (recent_ms.empty()) return 0;
  std::vector<double> sorted = recent_ms;
  auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                   sorted.end());
  return sorted[rank - 1];
}

namespace {
// A record's text fields come partly from clients (a path that matched nothing, a method):
// each is cut at kMaxRecordedText bytes, and a ring slot whose string grew past kSlotKeepBytes
// gives that storage back instead of keeping its largest string for ever.
constexpr std::size_t kMaxRecordedText = 512;
constexpr std::size_t kSlotKeepBytes = 1024;

void bound_text(std::string& s) {
  if (s.size() > kMaxRecordedText) s.resize(kMaxRecordedText);
  if (s.capacity() > kSlotKeepBytes) s.shrink_to_fit();
}

void bound_texts(CallRecord& r) {
  bound_text(r.caller);
  bound_text(r.callee);
  bound_text(r.method);
  bound_text(r.route);
  bound_text(r.outcome);
  bound_text(r.trace_id);
  bound_text(r.violation_reason);
}
}  // namespace

std::uint64_t CallLog::count_locked(const CallRecord& r) {
  thread_local std::string edge;  // "caller->callee", in a reused buffer
  // The names as stored (bound_text() cuts them), whether or not `r` was cut yet.
  edge.assign(std::string_view(r.caller).substr(0, kMaxRecordedText))
      .append("->")
      .append(std::string_view(r.callee).substr(0, kMaxRecordedText));
  auto found = edges_.find(std::string_view(edge));
  if (found == edges_.end()) found = edges_.emplace(edge, EdgeStats{}).first;
  auto& e = found->second;
  if (r.violation) {
    ++e.violations;
    ++violations_;
  } else if (r.refused_by_breaker) {
    ++e.refused_by_breaker;
  } else {
    ++e.calls;
    if (r.status == 0 || r.status >= 500) ++e.errors;
    e.add_duration(r.duration);
  }
  return next_++;
}

void CallLog::overwrite_oldest_locked(const CallRecord& r, std::uint64_t seq) {
  // Copy-assign into the oldest slot: its strings' storage is reused; `r`'s stays with the
  // caller (freed, if at all, by the thread that allocated it).
  CallRecord& slot = ring_[ring_head_];
  last_dropped_seq_ = slot.seq;
  slot.seq = seq;
  slot.at_ms = r.at_ms;
  slot.caller = r.caller;
  slot.callee = r.callee;
  slot.method = r.method;
  slot.route = r.route;
  slot.status = r.status;
  slot.outcome = r.outcome;
  slot.duration = r.duration;
  slot.attempt = r.attempt;
  slot.trace_id = r.trace_id;
  slot.refused_by_breaker = r.refused_by_breaker;
  slot.violation = r.violation;
  slot.violation_reason = r.violation_reason;
  bound_texts(slot);
  ring_head_ = (ring_head_ + 1) % capacity_;
}

std::uint64_t CallLog::record(CallRecord r) {
  bound_texts(r);  // before the lock: a rare shrink allocates
  std::lock_guard lock(mu_);
  const auto seq = count_locked(r);
  r.seq = seq;
  if (capacity_ == 0) {
    last_dropped_seq_ = seq;
    return seq;
  }
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(r));
    return seq;
  }
  overwrite_oldest_locked(r, seq);
  return seq;
}

std::uint64_t CallLog::record_copy(const CallRecord& r) {
  std::lock_guard lock(mu_);
  const auto seq = count_locked(r);
  if (capacity_ == 0) {
    last_dropped_seq_ = seq;
    return seq;
  }
  if (ring_.size() < capacity_) {
    ring_.push_back(r);
    ring_.back().seq = seq;
    bound_texts(ring_.back());
    return seq;
  }
  overwrite_oldest_locked(r, seq);
  return seq;
}

std::size_t CallLog::retained_text_bytes() const {
  std::lock_guard lock(mu_);
  std::size_t bytes = 0;
  for (const auto& r : ring_) {
    bytes += r.caller.capacity() + r.callee.capacity() + r.method.capacity() + r.route.capacity() +
             r.outcome.capacity() + r.trace_id.capacity() + r.violation_reason.capacity();
  }
  return bytes;
}

std::uint64_t CallLog::next_seq() const {
  std::lock_guard lock(mu_);
  return next_;
}

std::vector<CallRecord> CallLog::since(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  std::vector<CallRecord> out;
  const std::size_t n = ring_.size();
  for (std::size_t i = 0; i < n; ++i) {  // oldest first
    const CallRecord& r = ring_[(ring_head_ + i) % n];
    if (r.seq >= seq) out.push_back(r);
  }
  return out;
}

std::uint64_t CallLog::add_breaker_reader(std::function<void()> read) {
  std::lock_guard lock(readers_mu_);
  const auto id = ++next_reader_;
  breaker_readers_.emplace(id, std::move(read));
  return id;
}

void CallLog::remove_breaker_reader(std::uint64_t id) {
  std::lock_guard lock(readers_mu_);
  breaker_readers_.erase(id);
}

void CallLog::read_breakers() const {
  // Held while reading: a breaker's owner removes its reader (under this lock) before the
  // breaker goes.
  std::lock_guard lock(readers_mu_);
  for (const auto& [id, read] : breaker_readers_) read();
}

CallLog::Window CallLog::window_since(std::uint64_t seq, bool with_records) const {
  std::lock_guard lock(mu_);
  Window w;
  if (with_records) {
    const std::size_t n = ring_.size();
    for (std::size_t i = 0; i < n; ++i) {  // oldest first
      const CallRecord& r = ring_[(ring_head_ + i) % n];
      if (r.seq >= seq) w.records.push_back(r);
    }
  }
  for (const auto& t : transitions_)
    if (t.seq >= seq) w.transitions.push_back(t);
  w.next_seq = next_;
  w.dropped = last_dropped_seq_ != 0 && last_dropped_seq_ >= seq;
  return w;
}

bool CallLog::dropped_since(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  return last_dropped_seq_ != 0 && last_dropped_seq_ >= seq;
}

std::map<std::string, EdgeStats> CallLog::edges() const {
  std::lock_guard lock(mu_);
  return {edges_.begin(), edges_.end()};
}

std::uint64_t CallLog::violations_total() const {
  std::lock_guard lock(mu_);
  return violations_;
}

nlohmann::json BreakerTransition::to_json() const {
  return {{"seq", seq},
          {"at_ms", at_ms},
          {"real_ms", real_ms},
          {"breaker", breaker},
          {"from", from},
          {"to", to},
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
