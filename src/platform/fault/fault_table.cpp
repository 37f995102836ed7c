#include "platform/fault/fault_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <stdexcept>

#include "platform/json_text.hpp"
#include "platform/observe/architecture.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::platform {

namespace {

std::string require_string(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  if (!v.is_string()) throw std::invalid_argument(std::string(key) + " must be a string");
  return v.get<std::string>();
}

std::chrono::nanoseconds millis_field(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  // Past a day a delay is a hang (which has its own type); a larger number overflowed the
  // nanosecond count and the fault, reported as applied, did nothing.
  if (!v.is_number() || !(v.get<double>() >= 0) || v.get<double>() > kMaxFaultDelayMs)
    throw std::invalid_argument(std::string(key) +
                                " must be a number of milliseconds from 0 to 86400000 (24h)");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(v.get<double>() * 1e6));
}

// A count of select: a whole number from `least` up (first 0 applied to nothing, every 0 and
// every -1 were refused in other words).
std::int64_t count_of(const nlohmann::json& v, const char* key, std::int64_t least) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX) ||
      v.get<std::int64_t>() < least)
    throw std::invalid_argument(std::string("select.") + key + " must be a whole number from " +
                                std::to_string(least) + " to 9223372036854775807 (2^63-1)");
  return v.get<std::int64_t>();
}

}  // namespace

std::optional<std::string> abort_status_problem(long long status) {
  if (status < 200 || status > 599 || status == 204 || status == 205 || status == 304) {
    return "status must be 200-599, and not 204, 205 or 304: an abort answers a final status "
           "with a body (got " +
           std::to_string(status) + ")";
  }
  return std::nullopt;
}

std::string_view to_string(FaultType type) {
  switch (type) {
    case FaultType::delay:
      return "delay";
    case FaultType::hang:
      return "hang";
    case FaultType::abort:
      return "abort";
    case FaultType::reset:
      return "reset";
    case FaultType::close:
      return "close";
    case FaultType::garbage:
      return "garbage";
    case FaultType::slow_body:
      return "slow_body";
  }
  return "unknown";
}

bool fault_takes(FaultType type, std::string_view parameter) {
  switch (type) {
    case FaultType::delay:
      return parameter == "delay" || parameter == "jitter";
    case FaultType::abort:
      return parameter == "status" || parameter == "body";
    case FaultType::slow_body:
      // `delay` (± `jitter`): a pause before the head.
      return parameter == "bytes_per_second" || parameter == "delay" || parameter == "jitter";
    default:
      return false;
  }
}

std::string_view fault_parameter_owner(std::string_view parameter) {
  if (parameter == "delay" || parameter == "jitter") return "types delay and slow_body";
  if (parameter == "status" || parameter == "body") return "type abort";
  return "type slow_body";
}

std::optional<FaultType> parse_fault_type(std::string_view name) {
  for (auto t : {FaultType::delay, FaultType::hang, FaultType::abort, FaultType::reset,
                 FaultType::close, FaultType::garbage, FaultType::slow_body}) {
    if (to_string(t) == name) return t;
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kMethods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                         "PATCH", "DELETE", "OPTIONS"};

}  // namespace

void check_fault_component(const std::string& name, std::string_view key, bool client_allowed) {
  namespace arch = architecture;
  const auto* c = arch::find_component(name);
  if (c && (client_allowed || c->kind != arch::ComponentKind::outside)) return;
  std::string names;
  for (const auto& each : arch::components()) {
    if (!client_allowed && each.kind == arch::ComponentKind::outside) continue;
    names += (names.empty() ? "" : ", ") + each.name;
  }
  throw std::invalid_argument(std::string(key) + " must be one of " + names + ", not '" +
                              name.substr(0, 64) + "'");
}

std::optional<std::string> fault_id_problem(std::string_view id) {
  // An id is printed in tables and logs and named on command lines: printable, one line.
  if (id.size() > 100) return "id is longer than 100 characters";
  // A URL path cannot name them: DELETE /_admin/faults/. reaches a server as /_admin/faults/
  // from a browser (and curl), which clears every fault.
  if (id == "." || id == "..") return "id must not be '.' or '..' (a URL path cannot name it)";
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return "id must not hold a control character (a newline, a tab)";
  }
  // Nor one that shows as nothing or reorders the text around it: "x\u202Ey" showed in the
  // console as "xy", an id that could pass for another (an outside probe found it taken).
  if (auto hidden = first_hidden_character(id, false)) {
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(*hidden));
    return std::string("id must not hold an invisible or reordering character (") + code + ")";
  }
  // Nor a letter that looks like another: "slow-c\u0430talog" (a Cyrillic a) read as
  // "slow-catalog" beside it, and a runbook's `fault clear slow-catalog` cleared the harmless
  // one; " lead" and "lead" showed alike in HTML (an outside probe). An id is a name typed on
  // command lines: printable ASCII, with no space at either end.
  for (unsigned char c : id) {
    if (c >= 0x80)
      return "id must be printable ASCII (letters, digits, - _ . and the like): a letter of "
             "another script can pass for an ASCII one";
  }
  if (!id.empty() && (id.front() == ' ' || id.back() == ' '))
    return "id must not start or end with a space";
  return std::nullopt;
}

std::optional<std::string> fault_path_problem(std::string_view path) {
  if (path.starts_with("/") || path.starts_with("**")) return std::nullopt;
  if (path.starts_with("*"))
    return "a match path that starts with a single '*' matches no request: every path starts "
           "with '/' and '*' stops at a '/'; write /* (one segment) or ** (any path)";
  return "a match path is a path glob that starts with '/' (or '**'), like /products/*";
}

std::optional<std::string> fault_method_problem(std::string_view target, std::string_view method) {
  if (method == "HEAD" && target != "gateway")
    return "match.method HEAD never reaches " + std::string(target) +
           ": the gateway asks the services for a GET, never a HEAD; match GET (it catches a "
           "shopper's HEAD too), or put a HEAD fault on the gateway";
  return std::nullopt;
}

Fault Fault::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("a fault must be an object");
  static const std::set<std::string> known = {"id",   "target",           "from",      "match",
                                              "type", "delay_ms",         "jitter_ms", "status",
                                              "body", "bytes_per_second", "select"};
  for (const auto& [k, v] : j.items()) {
    if (known.count(k)) continue;
    // The scenario language writes durations (`delay: 50ms`); this JSON form, milliseconds.
    if (k == "delay" || k == "jitter") {
      throw std::invalid_argument("unknown fault key '" + k + "' (here it is '" + k +
                                  "_ms', a number of milliseconds)");
    }
    throw std::invalid_argument("unknown fault key '" + k + "'");
  }
  Fault f;
  if (j.contains("id")) {
    f.id = require_string(j, "id");
    if (auto problem = fault_id_problem(f.id)) throw std::invalid_argument(*problem);
  }
  if (!j.contains("target")) throw std::invalid_argument("a fault needs a target");
  // A name no component has makes a fault that never applies: refused here, so the admin plane
  // (a console, curl) and `shopctl fault add` judge alike (docs/faults.md).
  f.target = require_string(j, "target");
  check_fault_component(f.target, "target", false);
  if (j.contains("from")) {
    f.from = require_string(j, "from");
    check_fault_component(f.from, "from", true);
    // A fault that could never apply, as a scenario's parser says (an outside probe found the
    // admin plane and `fault add` taking it).
    if (f.from == f.target) {
      throw std::invalid_argument("no edge " + f.from + "->" + f.target +
                                  ": a service does not call itself");
    }
    // Nor an edge the architecture does not have (catalog -> payment): the shop's own calls
    // never take it, so the fault never applied, without a word (resilience.md: a fault that
    // names an unknown edge is refused; an outside probe).
    if (!architecture::is_allowed(f.from, f.target)) {
      std::string edges;
      for (const auto& e : architecture::allowed_edges()) {
        if (e.callee == f.target) edges += (edges.empty() ? "" : ", ") + e.caller + "->" + e.callee;
      }
      throw std::invalid_argument("no edge " + f.from + "->" + f.target +
                                  " in the shop's architecture (`shopctl graph`): the fault would "
                                  "never apply; the edges to " +
                                  f.target + " are " +
                                  (edges.empty() ? std::string("none") : edges));
    }
    if (auto why = architecture::unmatchable_fault_edge(f.from, f.target); !why.empty())
      throw std::invalid_argument(why);
  }
  if (j.contains("match")) {
    const auto& m = j.at("match");
    if (!m.is_object()) throw std::invalid_argument("match must be an object");
    for (const auto& [k, v] : m.items()) {
      if (k != "method" && k != "path")
        throw std::invalid_argument("unknown match key '" + k + "'");
    }
    if (m.contains("method")) {
      f.method = require_string(m, "method");
      if (std::find(std::begin(kMethods), std::end(kMethods), f.method) == std::end(kMethods)) {
        throw std::invalid_argument(
            "match.method must be one of GET, HEAD, POST, PUT, PATCH, "
            "DELETE, OPTIONS (upper case), not '" +
            f.method.substr(0, 32) + "'");
      }
      if (auto problem = fault_method_problem(f.target, f.method))
        throw std::invalid_argument(*problem);
    }
    if (m.contains("path")) {
      f.path = require_string(m, "path");
      if (auto problem = fault_path_problem(f.path)) throw std::invalid_argument(*problem);
      // A request's path on the wire holds no control character, space or other script (they
      // are percent-encoded), so such a glob matches nothing; shown in the console and `fault
      // list`, "/x\u202E..." was drawn reversed (an outside probe).
      for (unsigned char c : f.path) {
        if (c <= 0x20 || c >= 0x7f)
          throw std::invalid_argument(
              "match.path holds a space, a control character or a character that is not ASCII: "
              "a request's path has them percent-encoded (%20, %C3%A9), so write them so");
      }
    }
  }
  if (!j.contains("type")) throw std::invalid_argument("a fault needs a type");
  auto type = parse_fault_type(require_string(j, "type"));
  if (!type)
    throw std::invalid_argument("unknown fault type '" + j.at("type").get<std::string>() + "'");
  f.type = *type;
  // The scenario's parser refuses a parameter its type does not take; this took it (`status`
  // on a delay fault) and the fault ignored it.
  for (const auto& [key, parameter] :
       {std::pair<std::string_view, std::string_view>{"delay_ms", "delay"},
        {"jitter_ms", "jitter"},
        {"status", "status"},
        {"body", "body"},
        {"bytes_per_second", "bytes_per_second"}}) {
    if (!j.contains(key) || fault_takes(f.type, parameter)) continue;
    const std::string type_name(to_string(f.type));
    const std::string article = type_name.find_first_of("aeiou") == 0 ? "an " : "a ";
    throw std::invalid_argument("'" + std::string(key) + "' does not apply to " + article +
                                type_name + " fault (it is for " +
                                std::string(fault_parameter_owner(parameter)) + ")");
  }
  if (j.contains("delay_ms")) f.delay = millis_field(j, "delay_ms");
  if (j.contains("jitter_ms")) f.jitter = millis_field(j, "jitter_ms");
  if (j.contains("status")) {
    const auto& s = j.at("status");
    if (!s.is_number_integer())
      throw std::invalid_argument("status must be an HTTP status code (200-599)");
    if (auto problem = abort_status_problem(s.get<long long>()))
      throw std::invalid_argument(*problem);
    f.status = s.get<int>();
  }
  if (j.contains("body")) {
    const auto& b = j.at("body");
    // null was sent as the 4-byte body "null" (an outside probe): without body is the
    // contract's error shape, so null is refused rather than guessed at.
    if (b.is_null())
      throw std::invalid_argument(
          "body is the answer's body, a string or a JSON value, not null: leave body out for "
          "the contract's error shape");
    f.body = b.is_string() ? b.get<std::string>() : json_text(b);
  }
  if (j.contains("bytes_per_second")) {
    const auto& b = j.at("bytes_per_second");
    // Below one byte in 1,000 s a body would take longer than any client waits, and the
    // time to its last byte overflowed: the body went out at once.
    if (!b.is_number() || !(b.get<double>() >= kMinBytesPerSecond) ||
        !std::isfinite(b.get<double>()))
      throw std::invalid_argument("bytes_per_second must be a number of at least 0.001");
    f.bytes_per_second = b.get<double>();
  }
  if (f.type == FaultType::delay && !j.contains("delay_ms"))
    throw std::invalid_argument("a delay fault needs delay_ms");
  if (f.type == FaultType::slow_body && f.bytes_per_second <= 0)
    throw std::invalid_argument("a slow_body fault needs bytes_per_second");
  if (j.contains("select")) {
    const auto& s = j.at("select");
    if (!s.is_object() || s.size() != 1)
      throw std::invalid_argument("select takes exactly one of probability, first, every, after");
    auto [k, v] = *s.items().begin();
    if (k == "probability") {
      // Written so that NaN fails it too (it compares false with 0 and with 1).
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1))
        throw std::invalid_argument("select.probability must be between 0 and 1");
      f.select = {FaultSelect::Kind::probability, v.get<double>(), 0};
    } else if (k == "first") {
      f.select = {FaultSelect::Kind::first, 1.0, count_of(v, "first", 1)};
    } else if (k == "every") {
      f.select = {FaultSelect::Kind::every, 1.0, count_of(v, "every", 1)};
    } else if (k == "after") {
      f.select = {FaultSelect::Kind::after, 1.0, count_of(v, "after", 0)};
    } else {
      throw std::invalid_argument("unknown select key '" + k + "'");
    }
  }
  return f;
}

nlohmann::json Fault::to_json() const {
  nlohmann::json j = {
      {"id", id}, {"target", target}, {"type", std::string(platform::to_string(type))}};
  if (!from.empty()) j["from"] = from;
  if (!method.empty() || !path.empty()) {
    j["match"] = nlohmann::json::object();
    if (!method.empty()) j["match"]["method"] = method;
    if (!path.empty()) j["match"]["path"] = path;
  }
  if (type == FaultType::delay || delay.count() > 0) j["delay_ms"] = delay.count() / 1e6;
  if (jitter.count() > 0) j["jitter_ms"] = jitter.count() / 1e6;
  if (type == FaultType::abort) {
    j["status"] = status;
    if (body) j["body"] = *body;
  }
  if (type == FaultType::slow_body) j["bytes_per_second"] = bytes_per_second;
  switch (select.kind) {
    case FaultSelect::Kind::all:
      break;
    case FaultSelect::Kind::probability:
      j["select"] = {{"probability", select.probability}};
      break;
    case FaultSelect::Kind::first:
      j["select"] = {{"first", select.n}};
      break;
    case FaultSelect::Kind::every:
      j["select"] = {{"every", select.n}};
      break;
    case FaultSelect::Kind::after:
      j["select"] = {{"after", select.n}};
      break;
  }
  return j;
}

bool glob_match(std::string_view pattern, std::string_view path) {
  // Iterative matcher with backtracking for the last star; `*` stops at '/', `**` does not.
  std::size_t p = 0, s = 0;
  std::size_t star_p = std::string_view::npos, star_s = 0;
  bool star_crosses = false;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_crosses = p + 1 < pattern.size() && pattern[p + 1] == '*';
      p += star_crosses ? 2 : 1;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
      continue;
    }
    if (star_p != std::string_view::npos && (star_crosses || path[star_s] != '/')) {
      p = star_p;
      s = ++star_s;
      continue;
    }
    return false;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::uint64_t FaultTable::next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string FaultTable::add(Fault fault) {
  std::lock_guard lock(mu_);
  const bool replaces =
      !fault.id.empty() && std::any_of(entries_.begin(), entries_.end(),
                                       [&](const Entry& e) { return e.fault.id == fault.id; });
  if (!replaces && entries_.size() >= kMaxFaults) {
    throw FaultTableFull("the fault table holds at most " + std::to_string(kMaxFaults) +
                         " faults: clear some first");
  }
  // A generated id skips the ids in use: "adding the same id replaces it" is for an id the
  // caller chose, and a fault someone named fault-2 was silently replaced by the next fault
  // added without an id.
  if (fault.id.empty()) {
    do {
      fault.id = "fault-" + std::to_string(next_id_++);
    } while (std::any_of(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.fault.id == fault.id; }));
  }
  std::uint64_t rng = seed_ ^ std::hash<std::string>{}(fault.id);
  auto id = fault.id;
  // An id in use is replaced where it stood (docs/faults.md): the first fault that matches
  // wins, and a replaced one moved behind the others, so another fault answered in its place
  // (an outside probe).
  auto same = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.fault.id == id; });
  if (same != entries_.end())
    *same = Entry{std::move(fault), rng};
  else
    entries_.push_back(Entry{std::move(fault), rng});
  empty_.store(false, std::memory_order_release);
  return id;
}

bool FaultTable::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  auto n = std::erase_if(entries_, [&](const Entry& e) { return e.fault.id == id; });
  empty_.store(entries_.empty(), std::memory_order_release);
  return n > 0;
}

void FaultTable::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  empty_.store(true, std::memory_order_release);
}

void FaultTable::reseed(std::uint64_t seed) {
  std::lock_guard lock(mu_);
  seed_ = seed;
  for (auto& e : entries_) e.rng = seed_ ^ std::hash<std::string>{}(e.fault.id);
  // An empty table numbers its faults afresh, so that a fault without an id makes the same
  // choices under this seed as in a new shop (fault-1, fault-2, ...).
  if (entries_.empty()) next_id_ = 1;
}

std::vector<nlohmann::json> FaultTable::list() const {
  std::lock_guard lock(mu_);
  std::vector<nlohmann::json> out;
  for (const auto& e : entries_) {
    auto j = e.fault.to_json();
    j["matched"] = e.matched;
    j["shadowed"] = e.shadowed;
    j["applied"] = e.applied;
    out.push_back(std::move(j));
  }
  return out;
}

std::optional<FaultDecision> FaultTable::decide(std::string_view target, std::string_view caller,
                                                std::string_view method, std::string_view path) {
  if (empty_.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard lock(mu_);
  auto meets = [&](const Fault& f) {
    return f.target == target && (f.from.empty() || f.from == caller) &&
           (f.method.empty() || f.method == method) && (f.path.empty() || glob_match(f.path, path));
  };
  // The first fault in the table whose select picks the request wins. The faults after it
  // that the request also met count it as matched and shadowed: `fault list` showed MATCHED 0
  // for a fault whose requests an earlier one took, as if none had met it. Their select does
  // not count it (it never got to choose).
  std::optional<FaultDecision> decision;
  for (auto& e : entries_) {
    const Fault& f = e.fault;
    if (!meets(f)) continue;
    ++e.matched;
    if (decision) {
      ++e.shadowed;
      continue;
    }
    std::int64_t nth = ++e.reached;  // 1-based index of the requests this fault chose among
    bool selected = true;
    switch (f.select.kind) {
      case FaultSelect::Kind::all:
        break;
      case FaultSelect::Kind::probability:
        selected = static_cast<double>(next_random(e.rng) >> 11) * 0x1.0p-53 < f.select.probability;
        break;
      case FaultSelect::Kind::first:
        selected = nth <= f.select.n;
        break;
      case FaultSelect::Kind::every:
        selected = nth % f.select.n == 0;
        break;
      case FaultSelect::Kind::after:
        selected = nth > f.select.n;
        break;
    }
    if (!selected) continue;
    ++e.applied;
    injected_.fetch_add(1, std::memory_order_relaxed);
    FaultDecision d{f.id, f.type, f.delay, f.status, f.body, f.bytes_per_second};
    if (f.jitter.count() > 0) {
      auto span = static_cast<std::uint64_t>(2 * f.jitter.count() + 1);
      auto offset = static_cast<std::int64_t>(next_random(e.rng) % span) - f.jitter.count();
      d.delay = std::max(std::chrono::nanoseconds(0), f.delay + std::chrono::nanoseconds(offset));
    }
    decision = std::move(d);
  }
  return decision;
}

}  // namespace shopctl::platform
