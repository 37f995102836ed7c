// The admin routes every service has (/_admin/...): faults, clock, call records, edges.
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "platform/duration.hpp"
#include "platform/error.hpp"
#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/service_host.hpp"

namespace shopctl::platform {

namespace asio = boost::asio;
using http::Request;
using http::Response;

std::string calls_json_text(const CallLog& log, std::uint64_t since, bool with_records) {
  // Written record by record: a whole-answer JSON value of 20,000 records took about 2 KB of
  // heap a record (40 MB for a 6 MB answer), and the shop's RSS stayed at 150 MB after a load
  // whose calls the console or a probe read (an outside probe).
  // One moment's records, transitions and next seq (CallLog::window_since).
  const auto window = log.window_since(since, with_records);
  std::string records = "[";
  records.reserve(window.records.size() * 320 + 2);
  for (const auto& r : window.records) {
    if (records.size() > 1) records += ',';
    records += json_text(r.to_json());
  }
  records += ']';
  nlohmann::json transitions = nlohmann::json::array();
  for (const auto& t : window.transitions) transitions.push_back(t.to_json());
  // `dropped`: records of `since` or later that the ring no longer holds (it keeps the last
  // `ring_capacity`), so that a reader counting them knows its count is too low. The keys in
  // the order a JSON value writes them (sorted).
  std::string out;
  out.reserve(records.size() + 256);
  out += "{\"dropped\":";
  out += window.dropped ? "true" : "false";
  out += ",\"next_seq\":" + std::to_string(window.next_seq);
  out += ",\"records\":";
  out += records;
  out += ",\"ring_capacity\":" + std::to_string(log.capacity());
  out += ",\"transitions\":" + json_text(transitions) + "}";
  return out;
}

void ServiceHost::add_common_admin_routes() {
  auto any = http::Access::anyone();
  admin_routes_.add("GET", "/_admin/info", any, [this](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200,
                             {{"service", service_}, {"port", port()}, {"running", running()}});
  });
  admin_routes_.add("GET", "/_admin/faults", any, [this](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200, {{"items", ctx_.faults.list()}});
  });
  admin_routes_.add(
      "POST", "/_admin/faults", any, [this](Request& req) -> asio::awaitable<Response> {
        auto body = json_object_body(req);
        try {
          auto id = ctx_.faults.add(Fault::from_json(body));
          co_return Response::json(201, {{"id", id}});
        } catch (const platform::FaultTableFull& e) {
          throw ApiError(409, "too_many_faults", e.what(), {{"max_faults", platform::kMaxFaults}});
        } catch (const std::invalid_argument& e) {
          throw ApiError(400, "invalid_fault", e.what());
        }
      });
  admin_routes_.add("DELETE", "/_admin/faults", any, [this](Request&) -> asio::awaitable<Response> {
    ctx_.faults.clear();
    co_return Response::json(200, {{"cleared", "all"}});
  });
  admin_routes_.add("DELETE", "/_admin/faults/{id}", any,
                    [this](Request& req) -> asio::awaitable<Response> {
                      if (!ctx_.faults.remove(req.param("id"))) {
                        throw ApiError(404, "fault_not_found", "no fault " + req.param("id"));
                      }
                      co_return Response::json(200, {{"cleared", req.param("id")}});
                    });
  admin_routes_.add("GET", "/_admin/clock", any, [this](Request&) -> asio::awaitable<Response> {
    co_return Response::json(200, {{"now_ms", ctx_.clock.unix_millis()},
                                   {"offset_ms", ctx_.clock.offset().count() / 1'000'000},
                                   {"offset_ns", ctx_.clock.offset().count()}});
  });
  admin_routes_.add(
      "POST", "/_admin/clock/advance", any, [this](Request& req) -> asio::awaitable<Response> {
        auto body = json_object_body(req);
        refuse_unknown_keys(body, {"by", "to_offset_ns"},
                            "{\"by\": \"61s\"} or {\"to_offset_ns\": N}");
        // {"by": "2h"}, or {"to_offset_ns": N}: forward to that offset, nothing when the clock
        // is there already (what a split shop's fan-out sends every process: sent again, or
        // applied late by a process that was stopped, it moves nothing more).
        std::optional<std::chrono::nanoseconds> to;
        const char* field = "by";
        if (body.contains("to_offset_ns")) {
          field = "to_offset_ns";
          if (body.contains("by"))
            throw ApiError(400, "invalid_request", "give by or to_offset_ns, not both",
                           {{"field", "to_offset_ns"}});
          const auto& value = body["to_offset_ns"];
          if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
              value.get<std::int64_t>() > SimulatedClock::kMaxOffset.count())
            throw ApiError(400, "invalid_duration",
                           "to_offset_ns must be a whole number of nanoseconds from 0 to " +
                               std::to_string(SimulatedClock::kMaxOffset.count()),
                           {{"field", "to_offset_ns"}});
          to = std::chrono::nanoseconds(value.get<std::int64_t>());
        }
        std::optional<std::chrono::nanoseconds> d;
        if (!to) {
          auto by = required_string(body, "by", 64);
          d = parse_duration(by);
          if (!d && duration_overflows(by)) {
            // Past what a duration holds, and so past the clock's 100 years too: said as that.
            throw ApiError(400, "invalid_duration",
                           "by is too long: the clock moves at most 100 years ahead",
                           {{"field", "by"}});
          }
          if (!d || d->count() < 0) {
            throw ApiError(400, "invalid_duration", "by must be a duration like 61s or 250ms",
                           {{"field", "by"}});
          }
        }
        try {
          if (to)
            advance_clock_to(ctx_, *to);
          else
            advance_clock(ctx_, *d);
        } catch (const std::out_of_range& e) {
          throw ApiError(400, "invalid_duration", e.what(), {{"field", field}});
        } catch (const std::exception& e) {
          throw ApiError(503, "storage_unavailable", e.what());
        }
        co_return Response::json(200, {{"now_ms", ctx_.clock.unix_millis()},
                                       {"offset_ms", ctx_.clock.offset().count() / 1'000'000},
                                       {"offset_ns", ctx_.clock.offset().count()}});
      });
  admin_routes_.add("GET", "/_admin/calls", any, [this](Request& req) -> asio::awaitable<Response> {
    // Each parameter once: `since=1&since=2` read the first, which a proxy may not (the
    // public API's rule; an outside probe).
    for (const std::string_view name : {"since", "only"}) {
      int seen = 0;
      std::string_view rest = req.query();
      while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto part = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (part.substr(0, part.find('=')) == name) ++seen;
      }
      if (seen > 1)
        throw ApiError(400, "invalid_query",
                       std::string(name) + " is given more than once; give it once",
                       {{"parameter", std::string(name)}});
    }
    std::uint64_t since = 0;
    if (auto s = req.query_param("since")) {
      // Digits only: std::stoull took "-5" (as 2^64 - 5: an empty list), "+5" and " 5".
      const char* end = s->data() + s->size();
      auto [at, ec] = std::from_chars(s->data(), end, since);
      if (s->empty() || ec != std::errc() || at != end)
        throw ApiError(400, "invalid_query",
                       "since must be a sequence number (a whole number from 0 to "
                       "18446744073709551615)",
                       {{"parameter", "since"}});
    }
    // only=transitions: the breaker transitions alone (`records` empty). `shopctl load` reads
    // only those at the end of a run; the ring holds up to 20,000 records, several MB of JSON.
    bool with_records = true;
    if (auto only = req.query_param("only")) {
      if (*only != "transitions")
        throw ApiError(400, "invalid_query", "only takes one value: transitions",
                       {{"parameter", "only"}});
      with_records = false;
    }
    Response res;
    res.headers.set("Content-Type", "application/json; charset=utf-8");
    ctx_.calls.read_breakers();  // every automatic move that is due, listed when it came
    res.body = calls_json_text(ctx_.calls, since, with_records);
    co_return res;
  });
  admin_routes_.add("GET", "/_admin/edges", any, [this](Request&) -> asio::awaitable<Response> {
    nlohmann::json edges = nlohmann::json::object();
    for (const auto& [edge, s] : ctx_.calls.edges()) {
      edges[edge] = {{"calls", s.calls},
                     {"errors", s.errors},
                     {"refused_by_breaker", s.refused_by_breaker},
                     {"violations", s.violations},
                     {"p99_ms", s.p99_ms()}};
    }
    co_return Response::json(200,
                             {{"edges", edges}, {"violations", ctx_.calls.violations_total()}});
  });
}

}  // namespace shopctl::platform
