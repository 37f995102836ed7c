#pragma once
// The call records of a shop: every call one component of the shop makes to another (and
// every request from outside into the gateway), and every call refused by the allowed-caller
// table (a violation). Scenario expectations, /metrics and `shopctl graph` read the same
// records. Bounded: aggregate counts per edge plus a ring of recent records.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

struct CallRecord {
  std::uint64_t seq = 0;   // set by the log; grows by one per record
  std::int64_t at_ms = 0;  // shop clock, Unix milliseconds
  std::string caller;      // "client" for outsiders
  std::string callee;
  std::string method;
  std::string route;    // the route pattern or path
  int status = 0;       // 0: no HTTP answer
  std::string outcome;  // "ok", "http_error", "timeout", "connection_refused", ...
  std::chrono::nanoseconds duration{0};
  int attempt = 1;
  std::string trace_id;
  bool refused_by_breaker = false;
  bool violation = false;        // refused by the allowed-caller table
  std::string violation_reason;  // "missing_service_credential", "caller_not_allowed", ...

  nlohmann::json to_json() const;
};

// One circuit breaker state change, in the same sequence as the call records.
struct BreakerTransition {
  std::uint64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string breaker;  // the edge, e.g. order->catalog
  std::string from;
  std::string to;
  // This machine's time of it (Unix ms), whatever the shop's clock says: `load` dates a
  // transition in its run by it (dated by `at_ms`, the shop's clock, one after a clock advance
  // during the run was 600 s into a 4 s run; an outside probe).
  std::int64_t real_ms = 0;
  nlohmann::json to_json() const;
};

struct EdgeStats {
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;  // no answer or 5xx
  std::uint64_t refused_by_breaker = 0;
  std::uint64_t violations = 0;
  // Latency histogram of every call (upper bounds in microseconds; the last bucket is +Inf).
  static constexpr std::array<std::int64_t, 16> kBucketsUs = {
      100,   250,    500,    1000,   2500,    5000,    10000,   25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
  std::array<std::uint64_t, 17> buckets{};
  // The durations of the most recent calls (a ring of kRecent), for exact percentiles.
  static constexpr std::size_t kRecent = 1024;
  std::vector<double> recent_ms;
  std::size_t recent_next = 0;

  void add_duration(std::chrono::nanoseconds duration);
  // The 99th percentile (nearest rank) of the most recent kRecent calls' durations: exact
  // while an edge has had at most kRecent calls. 0 without calls.
  double p99_ms() const;
};

class CallLog {
 public:
  explicit CallLog(std::size_t ring_capacity = 20000) : capacity_(ring_capacity) {}

  // Stores a record and returns its sequence number.
  std::uint64_t record(CallRecord r);
  // The same for a record the caller keeps (and reuses): once the ring is full, storing it
  // allocates nothing.
  std::uint64_t record_copy(const CallRecord& r);
  // The sequence number the next record will get.
  std::uint64_t next_seq() const;
  // Records with seq >= since still in the ring (oldest first).
  std::vector<CallRecord> since(std::uint64_t seq) const;
  // Whether a record with seq >= `seq` is no longer in the ring (overwritten by newer ones):
  // since(seq) then misses some, and counts made from it are too low.
  bool dropped_since(std::uint64_t seq) const;
  // How many records the ring keeps.
  std::size_t capacity() const { return capacity_; }
  // Per-edge aggregates since the shop started ("caller->callee" -> stats).
  std::map<std::string, EdgeStats> edges() const;
  std::uint64_t violations_total() const;
  // The bytes the ring's strings hold (capacity, not size): bounded by the ring's capacity
  // times a few KiB, whatever clients sent.
  std::size_t retained_text_bytes() const;
  std::uint64_t record_transition(BreakerTransition t);
  std::vector<BreakerTransition> transitions_since(std::uint64_t seq) const;

  // Records (when asked) and transitions with seq >= `seq`, the next seq and whether any of
  // them was dropped, read at one moment (one lock): read one after another, a record stored
  // between the reads had a seq below the next seq handed out, and a reader following the
  // cursor never saw it (an outside probe lost 28 of 10,990 records at 2,000 a second, with
  // `dropped` false).
  struct Window {
    std::vector<CallRecord> records;
    std::vector<BreakerTransition> transitions;
    std::uint64_t next_seq = 0;
    bool dropped = false;
  };
  Window window_since(std::uint64_t seq, bool with_records) const;

  // The readers of this process's circuit breakers (ResilientCaller adds its own, and removes
  // it before its breaker goes). An OPEN breaker's automatic move to HALF_OPEN is made when the
  // breaker is next read, dated when its wait ended: read_breakers() before the records are
  // read makes every move that is due, so a reader of the calls (a scenario's step end, `load`)
  // sees it among the transitions of the time it came, not of whoever read the breaker next (a
  // scrape between two steps moved it into the earlier step; an outside probe).
  std::uint64_t add_breaker_reader(std::function<void()> read);
  void remove_breaker_reader(std::uint64_t id);
  void read_breakers() const;

 private:
  // Under mu_: the aggregates of `r`; returns its sequence number.
  std::uint64_t count_locked(const CallRecord& r);
  void overwrite_oldest_locked(const CallRecord& r, std::uint64_t seq);

  std::size_t capacity_;
  // Apart from mu_: a breaker read here records its transition, which takes mu_.
  mutable std::mutex readers_mu_;
  std::map<std::uint64_t, std::function<void()>> breaker_readers_;
  std::uint64_t next_reader_ = 0;
  mutable std::mutex mu_;
  // The most recent records, at most capacity_: filled in order, then overwritten oldest
  // first (ring_head_ is the oldest once full). A record's slot keeps its strings' storage,
  // so once full a record allocates and frees nothing here: memory allocated on one thread
  // is not freed on another (which would contend for the allocator's arena locks). Text is cut
  // at 512 bytes and a slot string past 1 KiB of storage is shrunk (see record()).
  std::vector<CallRecord> ring_;
  std::size_t ring_head_ = 0;
  std::uint64_t next_ = 1;
  std::uint64_t last_dropped_seq_ = 0;  // the newest record overwritten (or not kept); 0: none
  std::map<std::string, EdgeStats, std::less<>> edges_;
  std::uint64_t violations_ = 0;
  std::deque<BreakerTransition> transitions_;
};

}  // namespace shopctl::platform
