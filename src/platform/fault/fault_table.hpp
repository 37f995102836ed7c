#pragma once
// The shop's fault table. Every service's server asks it, for each request and before the
// handler runs, whether a fault applies (by target service, caller, method and path); the
// server then acts on the real connection. Choices are deterministic from the seed.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

// The admin plane's and the scenarios' bounds of a fault's numbers (docs/faults.md).
inline constexpr double kMaxFaultDelayMs = 86'400'000;  // 24 h: a longer wait is a hang
inline constexpr double kMinBytesPerSecond = 0.001;     // one byte in 1,000 s

// Why `status` cannot be an abort's answer, or nullopt when it can: an abort answers a final
// status with a body, 200-599 but not 204, 205 or 304 (no body). A 1xx went to the client as
// a final answer ("HTTP/1.1 100 Continue" and no more), a 204 with a body or a 304 as 503.
std::optional<std::string> abort_status_problem(long long status);

// Checks that `name` is a component a fault can name: a service, the door or the provider as
// a target, the outside world ("client") too as a caller (`client_allowed`). Throws
// std::invalid_argument "`key` must be one of ..., not 'name'". The admin plane, `fault add`'s
// flags and its --json all judge with it.
void check_fault_component(const std::string& name, std::string_view key, bool client_allowed);

enum class FaultType { delay, hang, abort, reset, close, garbage, slow_body };

std::string_view to_string(FaultType type);
std::optional<FaultType> parse_fault_type(std::string_view name);

// Whether a fault of `type` takes `parameter` (delay, jitter, status, body, bytes_per_second:
// the scenario language's names; the JSON form's delay_ms and jitter_ms are delay and jitter),
// and the fault types a parameter is for, in words ("abort"). A parameter a type does not take
// is refused wherever a fault is given (admin plane, `fault add`, a scenario): it would be
// ignored, and the fault would not do what its author wrote.
bool fault_takes(FaultType type, std::string_view parameter);
// The fault types that take `parameter`, as a message says them ("type abort").
std::string_view fault_parameter_owner(std::string_view parameter);

struct FaultSelect {
  enum class Kind { all, probability, first, every, after };
  Kind kind = Kind::all;
  double probability = 1.0;  // for probability
  std::int64_t n = 0;        // for first, every, after
};

struct Fault {
  std::string id;
  std::string target;  // the service that misbehaves
  std::string from;    // only calls from this caller ("" = any; "client" = outsiders)
  std::string method;  // "" = any
  std::string path;    // glob: `*` matches within one segment, `**` anything; "" = any
  FaultType type = FaultType::delay;
  std::chrono::nanoseconds delay{0};
  std::chrono::nanoseconds jitter{0};
  int status = 503;  // abort
  // abort: the answer's body, sent as given ("" too: an empty body); none: the contract's error
  // shape. (An empty body was taken as none: `fault add --body ''` got the error shape.)
  std::optional<std::string> body;
  double bytes_per_second = 0;  // slow_body
  FaultSelect select;

  // Parses the wire shape (see docs/faults.md). Throws std::invalid_argument naming the key.
  static Fault from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// What the server must do with one request.
struct FaultDecision {
  std::string fault_id;
  FaultType type;
  std::chrono::nanoseconds delay{0};  // delay (jitter applied) — also used before slow_body
  int status = 503;
  std::optional<std::string> body;
  double bytes_per_second = 0;
};

bool glob_match(std::string_view pattern, std::string_view path);

// What is wrong with a fault's id (at most 100 bytes, no control character), or nothing: the
// fault table's own check, which a scenario's fault meets when it is read.
std::optional<std::string> fault_id_problem(std::string_view id);

// What makes a fault's match one that can never apply, or nothing: a path glob that starts
// with neither '/' nor '**' (every request path starts with '/', and '*' stops at a '/'), a
// HEAD on a service (the gateway asks services for a GET, never a HEAD). The fault table's
// own checks, which a scenario's fault meets when it is read.
std::optional<std::string> fault_path_problem(std::string_view path);
std::optional<std::string> fault_method_problem(std::string_view target, std::string_view method);

// The most faults a table holds. Every request walks the table, and GET /_admin/faults answers
// it whole: 20,000 faults slowed every request twofold and made a 63 MB answer (an outside
// probe). A thousand is far more than any test needs at once.
inline constexpr std::size_t kMaxFaults = 1000;

// Thrown by FaultTable::add when the table holds kMaxFaults and the fault is a new one.
class FaultTableFull : public std::length_error {
 public:
  using std::length_error::length_error;
};

class FaultTable {
 public:
  explicit FaultTable(std::uint64_t seed = 0) : seed_(seed) {}

  // Adds (or replaces, by id) a fault and returns its id; a missing id is generated. Throws
  // FaultTableFull when a new fault would make more than kMaxFaults.
  std::string add(Fault fault);
  // Removes one fault; returns false when no fault has that id.
  bool remove(std::string_view id);
  void clear();
  // Each fault with its counts: `matched` (requests that met its target and filters),
  // `shadowed` (of those, taken first by an earlier fault: the first fault in the table whose
  // select picks a request wins), `applied`.
  std::vector<nlohmann::json> list() const;
  // Faults choose from `seed` from now on (as if added under it). When the table is empty,
  // generated ids start again at fault-1, as in a new table.
  void reseed(std::uint64_t seed);

  // Returns the fault to apply to this request, if any. Thread-safe; cheap when empty.
  std::optional<FaultDecision> decide(std::string_view target, std::string_view caller,
                                      std::string_view method, std::string_view path);
  std::uint64_t injected_total() const { return injected_.load(std::memory_order_relaxed); }
  bool empty() const { return empty_.load(std::memory_order_acquire); }

 private:
  struct Entry {
    Fault fault;
    std::uint64_t rng;
    std::int64_t matched = 0;   // met its target and filters, whether it got to decide or not
    std::int64_t shadowed = 0;  // of those, taken first by an earlier fault in the table
    std::int64_t reached = 0;   // of those, left to it by every earlier fault: what select counts
    std::int64_t applied = 0;
  };
  static std::uint64_t next_random(std::uint64_t& state);

  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::atomic<bool> empty_{true};
  std::atomic<std::uint64_t> injected_{0};
  std::uint64_t seed_;
  std::uint64_t next_id_ = 1;
};

}  // namespace shopctl::platform
