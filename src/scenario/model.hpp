#pragma once
// The in-memory form of a scenario file (spec/scenarios.md, format version 1). The parser
// builds it and has validated every name, duration and variable reference in it; the runner
// reads it.
//
// Templates: a field typed TextTemplate or JsonTemplate may hold `${...}` references (see
// interpolate.hpp). The runner expands a TextTemplate with expand_text() and a JsonTemplate
// with expand() (which keeps a lone `${name}`'s JSON type), against its Variables, just before
// the step runs. Matchers hold templates too: use Matcher::check(actual, variables).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "scenario/diagnostics.hpp"
#include "scenario/jsonpath.hpp"
#include "scenario/matcher.hpp"

namespace shopctl::scenario {

using TextTemplate = std::string;     // expand with expand_text()
using JsonTemplate = nlohmann::json;  // expand with expand()

// ---------------------------------------------------------------------------------------------
// Faults (spec/resilience.md)

enum class FaultType { delay, hang, abort, reset, close, garbage, slow_body };

std::string_view to_string(FaultType type);
std::optional<FaultType> fault_type_from_string(std::string_view name);

// Which of the matching requests the fault hits. `always` (no `select:`) hits every one.
struct FaultSelect {
  enum class Kind { always, probability, first, every, after };
  Kind kind = Kind::always;
  double probability = 1.0;  // kind == probability: 0..1
  std::int64_t count = 0;    // first: the first N (>= 1); every: every Nth (>= 1);
                             // after: all but the first N (>= 0)
};

// Which requests to the target a fault applies to; empty members match anything.
struct FaultMatch {
  std::string method;  // GET, POST, ...
  TextTemplate path;   // a glob on the path: `*` stands for any characters ("/products/*")
};

struct FaultSpec {
  std::string id;      // optional (empty): the shop assigns one
  std::string target;  // the service that misbehaves (a known service)
  std::string from;    // optional (empty = any caller): a service or "client"
  FaultMatch match;
  FaultType type = FaultType::delay;
  std::chrono::nanoseconds delay{0};   // delay: required (a fraction of a millisecond too)
  std::chrono::nanoseconds jitter{0};  // delay: optional
  int status = 503;                    // abort: 100..599, default 503
  std::optional<TextTemplate> body;    // abort: optional response body
  double bytes_per_second = 0;         // slow_body: required, > 0
  FaultSelect select;
  SourceLocation loc;

  // The wire shape for `/_admin/faults` (see docs/scenarios.md, "Faults"):
  // {"id", "target", "from", "match": {"method", "path"}, "type", "delay_ms", "jitter_ms",
  //  "status", "body", "bytes_per_second", "select": {"probability"|"first"|"every"|"after": v}}
  // Optional members are left out when unset and parameters that the type does not use are
  // never written. `match.path` and `body` may hold templates: send expand(to_json(), vars).
  nlohmann::json to_json() const;
};

// ---------------------------------------------------------------------------------------------
// Actions: exactly one per step.

// How a request authenticates the end user.
enum class AuthMode {
  current_user,  // the token of the last login, if any (no Authorization header before it)
  none,          // `auth: none`: no Authorization header
  token,         // `auth: <template>`: this bearer token
};

struct RequestAction {
  std::string method = "GET";  // upper case, one of kHttpMethods
  TextTemplate path;           // "/api/cart", may include a query; or an absolute URL
  std::vector<std::pair<std::string, TextTemplate>> headers;  // in file order
  std::optional<JsonTemplate> json;    // body sent as JSON; never together with `body`
  std::optional<TextTemplate> body;    // raw body
  std::string service = "gateway";     // a known service; others are called directly
  std::optional<std::string> sign_as;  // `as: svc:NAME`: sign the call as service NAME
  AuthMode auth = AuthMode::current_user;
  TextTemplate auth_token;  // auth == token
};

// POST /api/auth/register.
struct RegisterAction {
  TextTemplate email;
  TextTemplate password;
  std::optional<TextTemplate> name;  // sent only when given
};

// POST /api/auth/login; on 200 the runner sets `token` (the current user's token).
struct LoginAction {
  TextTemplate email;
  TextTemplate password;
};

// POST {pay_url} {card_number} at the payment provider. Exactly one of `order` and `pay_url`
// (written `url:` or `pay_url:`) is set. With `order`, the runner uses the pay_url it saw for
// that order in an earlier answer (checkout's 201, GET /api/orders/{id}, the order list), and
// only when it saw none asks the order service (GET /api/orders/{id}).
struct PayAction {
  std::optional<JsonTemplate> order;
  std::optional<TextTemplate> pay_url;
  TextTemplate card;
};

struct FaultAction {
  FaultSpec fault;
};

// `clear_faults: all` or `clear_faults: <id>` (an id set by an earlier fault step).
struct ClearFaultsAction {
  bool all = false;
  std::string id;
};

// `crash` is an abrupt stop that abandons the requests in flight (Shop::crash_service).
struct ServiceAction {
  enum class Kind { stop, start, restart, crash };
  Kind kind = Kind::stop;
  std::string service;  // a known service
};

struct AdvanceClockAction {
  std::chrono::nanoseconds by{0};
};

// Catalog operator changes. `product` is a product id (string or number, or a template).
struct SetPriceAction {
  JsonTemplate product;
  JsonTemplate price_cents;  // a non-negative integer, or a template
};
struct SetAvailableAction {
  JsonTemplate product;
  JsonTemplate available;  // a boolean, or a template
};

struct WaitAction {
  std::chrono::nanoseconds duration{0};
};

struct Step;

// `concurrently: [step, step, ...]`: the inner steps run at the same time, each on its own
// connection (see docs/scenarios.md, "Steps at the same time"). The parser guarantees that
// there are 2 to 64 of them, none is itself a `concurrently` block, none carries `repeat`,
// `eventually`, `faults` or shop expectations, and no two capture the same name.
struct ConcurrentAction {
  std::vector<Step> steps;  // std::vector allows the incomplete Step here (C++17)
};

using Action = std::variant<RequestAction, RegisterAction, LoginAction, PayAction, FaultAction,
                            ClearFaultsAction, ServiceAction, AdvanceClockAction, SetPriceAction,
                            SetAvailableAction, WaitAction, ConcurrentAction>;

// The action's key as written: "request", "register", ..., "stop", "start", "restart", ...
std::string_view action_name(const Action& action);
// True for request, register, login and pay: the actions that get an HTTP response and may
// carry response expectations, captures, repeat, eventually and step faults.
bool has_response(const Action& action);

// ---------------------------------------------------------------------------------------------
// Expectations. Every item keeps where it was written, for failure reports.

struct HeaderExpectation {
  std::string name;  // compare case-insensitively
  Matcher matcher;   // header domain; actual = the first value, nullopt when absent
  SourceLocation loc;
};

struct JsonExpectation {
  JsonPath path;
  Matcher matcher;  // json domain; actual = path.evaluate(body), nullopt when missing
  SourceLocation loc;
};

// The breaker's state when the step ends.
struct CircuitExpectation {
  std::string breaker;  // one of kBreakers
  std::string state;    // one of kCircuitStates
  SourceLocation loc;
};

struct CircuitTransition {
  std::string from;
  std::string to;
  std::string to_string() const { return from + "->" + to; }
  friend bool operator==(const CircuitTransition&, const CircuitTransition&) = default;
};

// The breaker's transitions since the previous step ended, exactly these in this order (an
// empty list means none).
struct TransitionExpectation {
  std::string breaker;
  std::vector<CircuitTransition> transitions;
  SourceLocation loc;
};

// Calls recorded on one edge during the step (retries count). `count` is exact; `min`/`max`
// bound it; at least one of the three is set, never `count` with `min` or `max`.
struct CallExpectation {
  std::string edge;    // "caller->callee" as written
  std::string caller;  // a service or "client"
  std::string callee;  // a service
  std::optional<std::int64_t> count;
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  // Absent: count every call. true: only calls that were refused (by an open breaker or the
  // allowed-caller rules). false: only calls that were not refused.
  std::optional<bool> refused;
  SourceLocation loc;
};

// Architecture violations (refused calls that break the allowed-caller table) during the step.
struct ViolationExpectation {
  std::int64_t count = 0;
  SourceLocation loc;
};

// On a `concurrently` block: how many of its inner steps' answers meet every matcher given
// (`status`, `headers`, `json`; none given: every answer). An inner step that got no answer
// is not counted. `count` is exact; `min`/`max` bound it; as for CallExpectation.
struct ResponseCount {
  std::optional<Matcher> status;
  std::vector<HeaderExpectation> headers;
  std::vector<JsonExpectation> json;
  std::optional<std::int64_t> count;
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  SourceLocation loc;
};

struct Expectation {
  SourceLocation loc;  // the `expect:` key
  // Response expectations: only on steps where has_response(action).
  std::optional<Matcher> status;  // status domain; Matcher::location() is where it was written
  std::vector<HeaderExpectation> headers;
  std::vector<JsonExpectation> json;
  std::optional<Matcher> latency;  // duration domain: check_duration(the request's wall time)
  // `schema: true`: the JSON body fits the response schema docs/openapi.yaml gives for the
  // request's operation and status (scenario/json_schema.hpp); the location is the value's.
  std::optional<SourceLocation> schema;
  // Expectations on the shop, allowed on any step.
  std::vector<CircuitExpectation> circuit;
  std::vector<TransitionExpectation> circuit_transitions;
  std::vector<CallExpectation> calls;
  std::optional<ViolationExpectation> violations;
  // Only on a concurrently block.
  std::vector<ResponseCount> responses;

  bool needs_response() const {
    return status.has_value() || !headers.empty() || !json.empty() || latency.has_value() ||
           schema.has_value();
  }
};

// `capture: {order_id: "$.order_id", location: {header: Location}}`.
struct Capture {
  enum class Source { json, header };
  std::string name;
  Source source = Source::json;
  JsonPath path;       // source == json
  std::string header;  // source == header
  SourceLocation loc;
};

// `eventually: {within: 5s, every: 100ms}`: retry until the expectation holds.
struct Eventually {
  std::chrono::nanoseconds within{0};
  std::chrono::nanoseconds every = std::chrono::milliseconds(100);
  SourceLocation loc;
};

struct Step {
  std::string name;    // as written; may be empty (see step_label)
  SourceLocation loc;  // the step's mapping (the `-` item)
  Action action;
  std::optional<Expectation> expect;
  std::vector<Capture> captures;  // taken from the response after `expect` passed
  int repeat = 1;                 // >= 1; never together with `eventually`
  std::optional<Eventually> eventually;
  std::vector<FaultSpec> faults;  // on only while this step runs
  // Inside a concurrently block only: the step starts this long after the block does.
  std::chrono::nanoseconds after{0};
};

// The step's name, or a short description of its action ("GET /api/cart", "stop catalog").
std::string step_label(const Step& step);

// A tag (`tags:`, --tags, --skip-tags) is one word: not empty, no commas, no spaces of any
// kind, no control, invisible or reordering character. A line feed in one was printed raw in
// the run's messages and forged a console line (an outside probe).
bool is_tag(std::string_view tag);

struct Scenario {
  std::string file;    // as given or found by load_scenarios
  SourceLocation loc;  // the top-level mapping
  std::string name;    // `name:`, else the file's stem
  std::string description;
  std::vector<std::string> tags;
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);
  std::optional<std::uint64_t> seed;
  // `vars:` in file order; later ones may use earlier ones. Expand with Variables::define.
  std::vector<std::pair<std::string, JsonTemplate>> vars;
  std::vector<SourceLocation> var_locs;  // where each of `vars` was written, in its order
  bool allow_violations = false;
  // `exclusive:`: overrides whether it runs alone against a running shop (isolation.hpp).
  std::optional<bool> exclusive;
  // `config:` for this scenario's own shop, a deep clone (marks kept); a Null node if absent.
  YAML::Node config;
  SourceLocation config_loc;  // where `config:` was written, when present
  std::vector<Step> setup;
  std::vector<Step> steps;
  std::vector<Step> teardown;

  bool has_config() const { return config.IsDefined() && !config.IsNull(); }
};

}  // namespace shopctl::scenario
