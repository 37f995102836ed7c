// `shopctl graph`'s model and drawings: call records and /_admin/edges answers aggregated
// into observed edges, and the Mermaid and DOT text drawn from them.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe_tools/call_graph.hpp"
#include "platform/observe/architecture.hpp"
#include "platform/observe/call_log.hpp"
#include "platform/service_host.hpp"

namespace {

using nlohmann::json;
namespace tools = shopctl::observe_tools;
namespace arch = shopctl::platform::architecture;

json record(const std::string& caller, const std::string& callee, int status, double ms) {
  return {{"edge", caller + "->" + callee},
          {"caller", caller},
          {"callee", callee},
          {"status", status},
          {"duration_ms", ms},
          {"violation", false},
          {"refused_by_breaker", false}};
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the allowed graph is a Mermaid flowchart with every allowed edge and no red") {
  const auto text = tools::render_graph(tools::GraphFormat::mermaid);
  INFO(text);
  CHECK(text.rfind("flowchart LR\n", 0) == 0);
  for (const auto& e : arch::allowed_edges()) {
    CHECK_MESSAGE(text.find("  " + e.caller + " -->|\"" + e.label + "\"| " + e.callee + "\n") !=
                      std::string::npos,
                  e.caller << "->" << e.callee);
  }
  CHECK(count(text, " -->|") == arch::allowed_edges().size());
  CHECK(text.find("linkStyle") == std::string::npos);
  CHECK(text.find("-.->") == std::string::npos);
  CHECK(text.find("subgraph shop") != std::string::npos);
  CHECK(text.find("gateway{{\"gateway\"}}") != std::string::npos);
  CHECK(text.find("provider[[\"provider\"]]") != std::string::npos);
}

TEST_CASE("the allowed graph as DOT is one digraph with every allowed edge") {
  const auto text = tools::render_graph(tools::GraphFormat::dot);
  INFO(text);
  CHECK(text.rfind("digraph shopctl {\n", 0) == 0);
  CHECK(text.ends_with("}\n"));
  CHECK(count(text, " -> ") == arch::allowed_edges().size());
  CHECK(text.find("\"payment\" -> \"order\" [label=\"callback only\"];") != std::string::npos);
  CHECK(text.find("color=red") == std::string::npos);
  CHECK(count(text, "{") == count(text, "}"));
}

TEST_CASE("call records aggregate into edges with counts, error rate and a nearest-rank p99") {
  json records = json::array();
  for (int i = 1; i <= 200; ++i)
    records.push_back(record("order", "catalog", i % 50 == 0 ? 503 : 200, i));
  records.push_back(record("order", "catalog", 0, 5000));  // no answer: an error, and the slowest
  records.push_back(
      {{"caller", "order"}, {"callee", "catalog"}, {"refused_by_breaker", true}, {"status", 0}});
  records.push_back({{"edge", "catalog->order"},
                     {"violation", true},
                     {"violation_reason", "caller_not_allowed"},
                     {"status", 403}});
  auto g = tools::graph_from_records(records);
  REQUIRE(g.count("order->catalog") == 1);
  const auto& e = g.at("order->catalog");
  CHECK(e.calls == 201);
  CHECK(e.errors == 5);  // four 503s and one without an answer
  CHECK(e.refused_by_breaker == 1);
  CHECK(e.violations == 0);
  // 201 calls: rank ceil(0.99 * 201) = 199 -> the 199th smallest duration.
  CHECK(e.p99_ms == doctest::Approx(199));
  REQUIRE(g.count("catalog->order") == 1);
  CHECK(g.at("catalog->order").violations == 1);
  CHECK(g.at("catalog->order").violation_reasons.at("caller_not_allowed") == 1);
  CHECK(tools::observed_label(e) == "201 calls, 2.5% errors, p99 199 ms, 1 refused by breaker");
}

TEST_CASE("a scenario report's calls are aggregated over its scenarios, not its steps") {
  json report = {
      {"tool", "shopctl"},
      {"scenarios",
       {{{"name", "a"},
         {"steps", {{{"calls", {record("gateway", "order", 200, 4)}}}}},
         {"calls", {record("gateway", "order", 200, 4), record("order", "catalog", 200, 2)}}},
        {{"name", "b"}, {"calls", {record("gateway", "order", 500, 8)}}}}}};
  auto g = tools::graph_from_document(report);
  CHECK(g.at("gateway->order").calls == 2);
  CHECK(g.at("gateway->order").errors == 1);
  CHECK(g.at("gateway->order").p99_ms == doctest::Approx(8));
  CHECK(g.at("order->catalog").calls == 1);
  CHECK(
      tools::graph_from_document(json{{"records", {record("a", "b", 200, 1)}}}).at("a->b").calls ==
      1);
  CHECK(tools::graph_from_document(json::array({record("a", "b", 200, 1)})).at("a->b").calls == 1);
  CHECK_THROWS_AS(tools::graph_from_document(json{{"something", 1}}), std::invalid_argument);
  CHECK_THROWS_AS(tools::graph_from_document(json::array({json{{"status", 200}}})),
                  std::invalid_argument);
  // A scenario that is no object is no report's: it drew an empty graph, exit 0 (a probe).
  CHECK_THROWS_AS(tools::graph_from_document(json{{"scenarios", json::array({json::array({1})})}}),
                  std::invalid_argument);
}

TEST_CASE("an /_admin/edges answer becomes the observed graph") {
  json answer = {{"edges",
                  {{"gateway->order",
                    {{"calls", 10},
                     {"errors", 1},
                     {"refused_by_breaker", 0},
                     {"violations", 0},
                     {"p99_ms", 12.5}}},
                   {"client->catalog",
                    {{"calls", 0},
                     {"errors", 0},
                     {"refused_by_breaker", 0},
                     {"violations", 2},
                     {"p99_ms", 0}}}}},
                 {"violations", 2}};
  auto g = tools::graph_from_admin_edges(answer);
  CHECK(g.at("gateway->order").calls == 10);
  CHECK(g.at("gateway->order").p99_ms == doctest::Approx(12.5));
  CHECK(g.at("client->catalog").violations == 2);
  CHECK_THROWS_AS(tools::graph_from_admin_edges(json{{"edges", {{"no-arrow", json::object()}}}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(tools::graph_from_admin_edges(json::array()), std::invalid_argument);
}

TEST_CASE(
    "the observed graph: used edges labelled, unused dashed, forbidden and refused calls red") {
  json records =
      json::array({record("client", "gateway", 200, 3), record("client", "gateway", 503, 30),
                   record("gateway", "order", 200, 2), record("catalog", "payment", 200, 1)});
  records.push_back({{"caller", "catalog"},
                     {"callee", "order"},
                     {"violation", true},
                     {"violation_reason", "caller_not_allowed"},
                     {"status", 403}});
  records.push_back({{"caller", "gateway"},
                     {"callee", "payment"},
                     {"violation", true},
                     {"violation_reason", "caller_not_allowed"},
                     {"status", 403}});
  auto g = tools::graph_from_records(records);

  const auto mermaid = tools::render_graph(tools::GraphFormat::mermaid, &g);
  INFO(mermaid);
  CHECK(mermaid.find("  client -->|\"2 calls, 50% errors, p99 30 ms\"| gateway\n") !=
        std::string::npos);
  CHECK(mermaid.find("  gateway -->|\"1 call, 0% errors, p99 2 ms\"| order\n") !=
        std::string::npos);
  CHECK(mermaid.find("  order -.->|\"products, prices: no calls\"| catalog\n") !=
        std::string::npos);
  CHECK(mermaid.find("  client -.->|\"pay page (not recorded)\"| provider\n") != std::string::npos);
  // An allowed edge with refused calls keeps its own arrow and gets a red one for the refusals.
  CHECK(mermaid.find("  gateway -.->|\"webhook only: no calls\"| payment\n") != std::string::npos);
  CHECK(mermaid.find("  gateway -->|\"1 call refused: caller_not_allowed\"| payment\n") !=
        std::string::npos);
  CHECK(mermaid.find("  catalog -->|\"1 call refused: caller_not_allowed\"| order\n") !=
        std::string::npos);
  CHECK(mermaid.find("  catalog -->|\"not allowed: 1 call, 0% errors, p99 1 ms\"| payment\n") !=
        std::string::npos);

  // linkStyle names exactly the red arrows, counted from 0 in the order they are drawn.
  std::vector<std::string> arrows;
  std::istringstream lines(mermaid);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(" -->|") != std::string::npos || line.find(" -.->|") != std::string::npos)
      arrows.push_back(line);
  }
  std::string expected;
  for (std::size_t i = 0; i < arrows.size(); ++i) {
    bool red = arrows[i].find("refused") != std::string::npos ||
               arrows[i].find("not allowed") != std::string::npos;
    if (red) expected += (expected.empty() ? "" : ",") + std::to_string(i);
  }
  CHECK(mermaid.find("  linkStyle " + expected + " stroke:red,stroke-width:2px,color:red\n") !=
        std::string::npos);

  const auto dot = tools::render_graph(tools::GraphFormat::dot, &g);
  INFO(dot);
  CHECK(dot.find("\"catalog\" -> \"order\" [label=\"1 call refused: caller_not_allowed\", "
                 "color=red, fontcolor=red, "
                 "penwidth=2];") != std::string::npos);
  CHECK(dot.find("\"order\" -> \"catalog\" [label=\"products, prices: no calls\", style=dashed") !=
        std::string::npos);
  CHECK(count(dot, ", color=red") == 3);
}

TEST_CASE("names outside the architecture become nodes of their own, quoted safely") {
  json records = json::array();
  records.push_back({{"caller", "unknown"},
                     {"callee", "order"},
                     {"violation", true},
                     {"violation_reason", "invalid_service_credential"}});
  records.push_back(record("we\"ird-name", "gateway", 200, 1));
  auto g = tools::graph_from_records(records);
  const auto mermaid = tools::render_graph(tools::GraphFormat::mermaid, &g);
  INFO(mermaid);
  CHECK(mermaid.find("n_unknown([\"unknown\"])") != std::string::npos);
  CHECK(mermaid.find("n_we_22ird_2dname([\"we#quot;ird-name\"])") != std::string::npos);
  CHECK(mermaid.find("n_unknown -->|\"1 call refused: invalid_service_credential\"| order") !=
        std::string::npos);
  const auto dot = tools::render_graph(tools::GraphFormat::dot, &g);
  CHECK(dot.find("\"we\\\"ird-name\" -> \"gateway\"") != std::string::npos);
}

TEST_CASE("a call log's edge p99 is exact over its recent calls") {
  shopctl::platform::CallLog log;
  for (int i = 1; i <= 100; ++i) {
    shopctl::platform::CallRecord r;
    r.caller = "order";
    r.callee = "catalog";
    r.status = 200;
    r.duration = std::chrono::milliseconds(i);
    log.record(r);
  }
  auto edges = log.edges();
  CHECK(edges.at("order->catalog").calls == 100);
  CHECK(edges.at("order->catalog").p99_ms() == doctest::Approx(99));
  CHECK(shopctl::platform::EdgeStats{}.p99_ms() == 0);
  // Older calls leave the window: after kRecent more fast calls, the slow ones no longer count.
  for (std::size_t i = 0; i < shopctl::platform::EdgeStats::kRecent; ++i) {
    shopctl::platform::CallRecord r;
    r.caller = "order";
    r.callee = "catalog";
    r.status = 200;
    r.duration = std::chrono::microseconds(500);
    log.record(r);
  }
  CHECK(log.edges().at("order->catalog").p99_ms() == doctest::Approx(0.5));
}

TEST_CASE("the call log keeps the most recent records, oldest first, once its ring is full") {
  shopctl::platform::CallLog log(3);
  for (int i = 1; i <= 7; ++i) {
    shopctl::platform::CallRecord r;
    r.caller = "gateway";
    r.callee = "catalog";
    r.method = "GET";
    r.route = i % 2 ? "/products" : "/a-route-long-enough-to-live-on-the-heap/" + std::to_string(i);
    r.status = 200;
    r.outcome = "ok";
    r.trace_id = std::string(32, static_cast<char>('a' + i));
    r.violation = i == 6;
    r.violation_reason = i == 6 ? "caller_not_allowed" : "";
    CHECK(log.record(r) == static_cast<std::uint64_t>(i));
  }
  CHECK(log.next_seq() == 8);
  const auto all = log.since(0);
  REQUIRE(all.size() == 3);
  for (int k = 0; k < 3; ++k) {
    const int i = 5 + k;
    CHECK(all[k].seq == static_cast<std::uint64_t>(i));
    CHECK(all[k].route == (i % 2
                               ? std::string("/products")
                               : "/a-route-long-enough-to-live-on-the-heap/" + std::to_string(i)));
    CHECK(all[k].trace_id == std::string(32, static_cast<char>('a' + i)));
    CHECK(all[k].violation == (i == 6));
    CHECK(all[k].violation_reason == (i == 6 ? "caller_not_allowed" : ""));
  }
  const auto recent = log.since(7);
  REQUIRE(recent.size() == 1);
  CHECK(recent[0].seq == 7);
  CHECK(log.violations_total() == 1);
  CHECK(log.edges().at("gateway->catalog").calls == 6);

  shopctl::platform::CallLog none(0);
  shopctl::platform::CallRecord r;
  r.caller = "a";
  r.callee = "b";
  CHECK(none.record(r) == 1);
  CHECK(none.record(r) == 2);
  CHECK(none.since(0).empty());
}

// A reader counting calls from since() could not tell a full count from one the ring cut
// short: 10,500 calls passed `max: 10000`.
TEST_CASE("the call log says when records at or after a sequence number were dropped") {
  shopctl::platform::CallLog log(3);
  shopctl::platform::CallRecord r;
  r.caller = "gateway";
  r.callee = "catalog";
  CHECK_FALSE(log.dropped_since(0));
  for (int i = 1; i <= 3; ++i) log.record(r);
  CHECK_FALSE(log.dropped_since(1));  // full, nothing overwritten yet
  log.record(r);                      // 4 overwrites 1
  log.record_copy(r);                 // 5 overwrites 2
  CHECK(log.dropped_since(1));
  CHECK(log.dropped_since(2));
  CHECK_FALSE(log.dropped_since(3));
  CHECK_FALSE(log.dropped_since(6));
  CHECK(log.capacity() == 3);

  shopctl::platform::CallLog none(0);
  CHECK_FALSE(none.dropped_since(1));
  none.record(r);
  CHECK(none.dropped_since(1));
  CHECK_FALSE(none.dropped_since(2));
}

// A reader following /_admin/calls' cursor (next_seq) while calls are recorded: the answer's
// records and its next_seq were read one after another, and a record stored in between was never
// returned, with `dropped` false (an outside probe lost 28 of 10,990 records at 2,000 a second).
TEST_CASE("a reader following the calls cursor while calls are recorded misses none") {
  shopctl::platform::CallLog log;
  std::atomic<bool> done{false};
  const std::uint64_t first = log.next_seq();
  std::thread writer([&] {
    shopctl::platform::CallRecord r;
    r.caller = "gateway";
    r.callee = "catalog";
    for (int i = 0; i < 20000; ++i) {
      log.record_copy(r);
      if (i % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    done = true;
  });
  std::uint64_t cursor = first, expected = first, missed = 0, reads = 0;
  for (;;) {
    const bool last = done.load();
    const auto answer = nlohmann::json::parse(shopctl::platform::calls_json_text(log, cursor));
    ++reads;
    REQUIRE_FALSE(answer.at("dropped").get<bool>());
    for (const auto& record : answer.at("records")) {
      const auto seq = record.at("seq").get<std::uint64_t>();
      if (seq != expected) missed += seq - expected;
      expected = seq + 1;
    }
    const auto next = answer.at("next_seq").get<std::uint64_t>();
    if (next != expected) missed += next - expected;
    expected = cursor = next;
    if (last) break;
  }
  writer.join();
  CAPTURE(reads);
  CHECK(missed == 0);
  CHECK(cursor == log.next_seq());
}

// Names the architecture does not know became node ids by turning every other character into
// '_': "x-y" and "x.y" were both n_x_y, one node, so their arrows met in a drawing of calls
// that never did.
TEST_CASE("names outside the architecture get node ids of their own") {
  tools::ObservedGraph graph = tools::graph_from_records(
      json::array({record("gateway", "x-y", 200, 1.0), record("gateway", "x.y", 200, 1.0),
                   record("gateway", "x_y", 200, 1.0)}));
  const auto text = tools::render_graph(tools::GraphFormat::mermaid, &graph);
  INFO(text);
  std::vector<std::string> ids;
  for (const std::string name : {"x-y", "x.y", "x_y"}) {
    const auto label = "([\"" + name + "\"])";
    const auto at = text.find(label);
    REQUIRE(at != std::string::npos);
    const auto start = text.rfind(' ', at) + 1;
    ids.push_back(text.substr(start, at - start));
  }
  CHECK(ids[0] != ids[1]);
  CHECK(ids[0] != ids[2]);
  CHECK(ids[1] != ids[2]);
  for (const auto& id : ids) {
    CHECK(id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
          std::string::npos);
    CHECK(count(text, "gateway -->|") + count(text, "gateway -.->|") >= 3);
  }
}

// `graph --from` wrote an ESC from a report's caller name to stdout as it was.
TEST_CASE("a control character in a name is drawn as an escape, never sent") {
  tools::ObservedGraph graph =
      tools::graph_from_records(json::array({record("evil\x1b]0;title\x07", "gateway", 200, 1.0)}));
  for (auto format : {tools::GraphFormat::mermaid, tools::GraphFormat::dot}) {
    const auto text = tools::render_graph(format, &graph);
    INFO(text);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find("x1b]0;title") != std::string::npos);
  }
}

// `graph --from` drew nonsense from records it should have refused (an outside probe).
TEST_CASE("call records with an empty name or a duration that is not one are refused") {
  auto with = [](json r) { return json::array({std::move(r)}); };
  auto good = record("gateway", "auth", 200, 1.0);
  CHECK_NOTHROW(tools::graph_from_records(with(good)));
  for (const json& duration : {json(-5), json("NaN"), json(1e308), json(nullptr)}) {
    auto r = good;
    r["duration_ms"] = duration;
    CAPTURE(duration.dump());
    CHECK_THROWS_AS(tools::graph_from_records(with(r)), std::invalid_argument);
  }
  auto empty = good;
  empty["caller"] = "";
  CHECK_THROWS_AS(tools::graph_from_records(with(empty)), std::invalid_argument);
  CHECK_THROWS_AS(tools::graph_from_admin_edges(
                      json{{"edges", {{"gateway->auth", {{"calls", 1}, {"p99_ms", -1}}}}}}),
                  std::invalid_argument);
}
