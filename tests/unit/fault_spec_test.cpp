// `shopctl fault add` flags to the fault table's wire shape, and `shopctl fault list`'s table.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "observe_tools/fault_spec.hpp"
#include "platform/fault/fault_table.hpp"

namespace {
using nlohmann::json;
namespace tools = shopctl::observe_tools;
}  // namespace

TEST_CASE("fault flags become the wire shape that Fault::from_json reads") {
  tools::FaultFlags f;
  f.target_service = "catalog";
  f.type = "delay";
  f.delay = "2s";
  f.jitter = "250ms";
  f.from = "order";
  f.path = "/products/*";
  f.method = "get";
  f.probability = 0.5;
  f.id = "catalog-slow";
  auto j = tools::fault_json_from_flags(f);
  CHECK(j == json{{"target", "catalog"},
                  {"type", "delay"},
                  {"id", "catalog-slow"},
                  {"from", "order"},
                  {"match", {{"method", "GET"}, {"path", "/products/*"}}},
                  {"delay_ms", 2000.0},
                  {"jitter_ms", 250.0},
                  {"select", {{"probability", 0.5}}}});
  auto fault = shopctl::platform::Fault::from_json(j);
  CHECK(fault.delay == std::chrono::seconds(2));
  CHECK(fault.select.kind == shopctl::platform::FaultSelect::Kind::probability);

  tools::FaultFlags abort;
  abort.target_service = "payment";
  abort.type = "abort";
  abort.status = 503;
  abort.first = 2;
  CHECK(
      tools::fault_json_from_flags(abort) ==
      json{{"target", "payment"}, {"type", "abort"}, {"status", 503}, {"select", {{"first", 2}}}});

  tools::FaultFlags slow;
  slow.target_service = "order";
  slow.type = "slow_body";
  slow.bytes_per_second = 200;
  slow.every = 3;
  CHECK(tools::fault_json_from_flags(slow)["bytes_per_second"] == 200.0);
  CHECK(tools::fault_json_from_flags(slow)["select"] == json{{"every", 3}});
}

// `fault add --body ''` is an empty body, not the option left out (docs/cli.md): it was taken
// as none, and the fault answered the contract's error shape.
TEST_CASE("an abort's empty body is kept from the flags to the fault table and back") {
  tools::FaultFlags empty;
  empty.target_service = "gateway";
  empty.type = "abort";
  empty.body = "";
  const auto j = tools::fault_json_from_flags(empty);
  REQUIRE(j.contains("body"));
  CHECK(j["body"] == "");
  const auto fault = shopctl::platform::Fault::from_json(j);
  REQUIRE(fault.body.has_value());
  CHECK(fault.body->empty());
  CHECK(fault.to_json()["body"] == "");
  tools::FaultFlags none = empty;
  none.body.reset();
  CHECK_FALSE(tools::fault_json_from_flags(none).contains("body"));
  CHECK_FALSE(shopctl::platform::Fault::from_json(tools::fault_json_from_flags(none)).body);
}

TEST_CASE("fault flags that make no sense are refused before anything is sent") {
  auto refused = [](tools::FaultFlags f) {
    try {
      tools::fault_json_from_flags(f);
      return std::string();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
  };
  tools::FaultFlags base;
  base.target_service = "catalog";
  base.type = "hang";
  CHECK(refused(base).empty());

  auto f = base;
  f.target_service = "";
  CHECK(refused(f).find("--target-service") != std::string::npos);
  f = base;
  f.target_service = "catalgo";
  CHECK(refused(f).find("--target-service must be one of gateway, auth, catalog") !=
        std::string::npos);
  CHECK(refused(f).find("'catalgo'") != std::string::npos);
  f = base;
  f.target_service = "client";
  CHECK_FALSE(refused(f).empty());
  f = base;
  f.from = "gateway";
  CHECK(refused(f).empty());
  // An edge the architecture lacks: the fault would never apply (an outside probe).
  f = base;
  f.from = "client";
  CHECK(refused(f).find("no edge client->catalog in the shop's architecture") != std::string::npos);
  f = base;
  f.target_service = "payment";
  f.from = "catalog";
  CHECK(refused(f).find("the edges to payment are gateway->payment, order->payment") !=
        std::string::npos);
  f = base;
  f.from = "ordr";
  CHECK(refused(f).find("--from") != std::string::npos);
  f = base;
  f.type = "explode";
  CHECK(refused(f).find("--type") != std::string::npos);
  f = base;
  f.type = "delay";
  CHECK(refused(f).find("--delay") != std::string::npos);
  f.delay = "2 seconds";
  CHECK(refused(f).find("duration") != std::string::npos);
  f = base;
  f.delay = "1s";
  CHECK(refused(f).find("--delay") != std::string::npos);  // a hang has no delay
  f = base;
  f.status = 503;
  CHECK(refused(f).find("--status") != std::string::npos);
  f = base;
  f.type = "slow_body";
  CHECK(refused(f).find("--bytes-per-second") != std::string::npos);
  f = base;
  f.first = 1;
  f.every = 2;
  CHECK(refused(f).find("at most one") != std::string::npos);
  f = base;
  f.probability = 1.5;
  CHECK(refused(f).find("probability") != std::string::npos);
  f = base;
  f.type = "abort";
  f.status = 700;
  CHECK(refused(f).find("status") != std::string::npos);
  // An abort answers a final status with a body: a 1xx went out as the final answer, a 304
  // or a 204 with a body as 503.
  for (int status : {100, 101, 199, 204, 205, 304}) {
    CAPTURE(status);
    f.status = status;
    CHECK(refused(f).find("final status with a body") != std::string::npos);
  }
  for (int status : {200, 302, 404, 429, 599}) {
    CAPTURE(status);
    f.status = status;
    CHECK(refused(f).empty());
  }
}

TEST_CASE("the admin plane takes an abort's status only when it is a final status with a body") {
  for (int status : {100, 103, 204, 205, 304, 600}) {
    CAPTURE(status);
    CHECK_THROWS_WITH_AS(shopctl::platform::Fault::from_json(
                             json{{"target", "catalog"}, {"type", "abort"}, {"status", status}}),
                         doctest::Contains("status must be 200-599"), std::invalid_argument);
  }
  CHECK(shopctl::platform::Fault::from_json(
            json{{"target", "catalog"}, {"type", "abort"}, {"status", 200}})
            .status == 200);
}

// The admin plane took these with 201, and the fault never applied (a typo such as "catalgo",
// a method no request has); `fault add` refused them. Both now go through Fault::from_json.
TEST_CASE("the admin plane refuses a fault that could never apply") {
  using shopctl::platform::Fault;
  const auto refused = [](const json& j) {
    try {
      Fault::from_json(j);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(refused(json{{"target", "catalgo"}, {"type", "hang"}}).find("target must be one of") !=
        std::string::npos);
  // provider->gateway is an edge, but the gateway sees every caller as `client`: the fault was
  // taken and never applied (an outside probe).
  CHECK(refused(json{{"target", "gateway"}, {"from", "provider"}, {"type", "hang"}})
            .find("the gateway sees every caller as `client`") != std::string::npos);
  CHECK(refused(json{{"target", "gateway"}, {"from", "client"}, {"type", "hang"}}).empty());
  CHECK(refused(json{{"target", "client"}, {"type", "hang"}}).find("target must be one of") !=
        std::string::npos);
  CHECK(refused(json{{"target", "catalog"}, {"from", "nobody"}, {"type", "hang"}})
            .find("from must be one of") != std::string::npos);
  CHECK(refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"method", "brew"}}}})
            .find("match.method must be one of") != std::string::npos);
  CHECK(refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"method", "get"}}}})
            .find("match.method") != std::string::npos);
  CHECK(refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"path", "products"}}}})
            .find("a match path is a path glob") != std::string::npos);
  // A single '*' at the start matches no request (every path starts with '/', '*' stops at a
  // '/'), and a service is never asked for HEAD: both were taken and never applied (an outside
  // probe). A null body was sent as the four bytes "null".
  for (const char* path : {"*", "*/p-001", "*.json"}) {
    CAPTURE(path);
    CHECK(refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"path", path}}}})
              .find("single '*'") != std::string::npos);
  }
  CHECK(refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"method", "HEAD"}}}})
            .find("HEAD never reaches catalog") != std::string::npos);
  CHECK(
      refused(json{{"target", "catalog"}, {"type", "abort"}, {"body", nullptr}}).find("not null") !=
      std::string::npos);
  // What may apply still passes: every component as a target, client as a caller, globs.
  for (const char* target : {"gateway", "auth", "catalog", "order", "payment", "provider"}) {
    CAPTURE(target);
    CHECK(refused(json{{"target", target}, {"type", "hang"}}).empty());
  }
  CHECK(refused(json{{"target", "gateway"},
                     {"from", "client"},
                     {"type", "hang"},
                     {"match", {{"method", "HEAD"}, {"path", "/api/**"}}}})
            .empty());
  CHECK(
      refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"path", "**"}}}}).empty());
  CHECK(refused(json{{"target", "catalog"}, {"type", "hang"}, {"match", {{"path", "**/p-001"}}}})
            .empty());
  CHECK(refused(json{{"target", "catalog"}, {"type", "abort"}, {"body", json::object()}}).empty());
}

TEST_CASE("--json is checked like the shop checks it") {
  CHECK(tools::fault_json_from_text(
            R"({"target":"payment","type":"reset","select":{"first":3}})")["type"] == "reset");
  CHECK_THROWS_AS(tools::fault_json_from_text("{"), std::invalid_argument);
  CHECK_THROWS_AS(
      tools::fault_json_from_text(R"({"target":"payment","type":"reset","colour":"red"})"),
      std::invalid_argument);
  CHECK_THROWS_AS(tools::fault_json_from_text(R"({"target":"paymnt","type":"reset"})"),
                  std::invalid_argument);
  CHECK_THROWS_AS(tools::fault_json_from_text(R"({"type":"reset"})"), std::invalid_argument);
}

TEST_CASE("fault list prints an aligned table of the faults and their counts") {
  shopctl::platform::FaultTable table;
  table.add(shopctl::platform::Fault::from_json(json{{"id", "catalog-slow"},
                                                     {"target", "catalog"},
                                                     {"type", "delay"},
                                                     {"delay_ms", 2000},
                                                     {"from", "order"},
                                                     {"match", {{"path", "/products/*"}}},
                                                     {"select", {{"probability", 0.5}}}}));
  table.add(shopctl::platform::Fault::from_json(
      json{{"id", "pay-down"}, {"target", "payment"}, {"type", "abort"}, {"status", 503}}));
  table.decide("payment", "order", "POST", "/internal/payments");
  const auto text = tools::fault_table(json{{"items", table.list()}});
  INFO(text);
  std::istringstream lines(text);
  std::string header, first, second, extra;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK_FALSE(std::getline(lines, extra));
  CHECK(header.rfind("ID", 0) == 0);
  CHECK(first.rfind("catalog-slow", 0) == 0);
  CHECK(first.find("* /products/*") != std::string::npos);
  CHECK(first.find("2000ms") != std::string::npos);
  CHECK(first.find("probability 0.5") != std::string::npos);
  CHECK(second.find("status 503") != std::string::npos);
  CHECK(second.substr(second.size() - 1) == "1");  // applied once
  // Columns line up: TARGET starts at the same place in every row.
  CHECK(header.find("TARGET") == first.find("catalog "));
  CHECK(header.find("TARGET") == second.find("payment "));
  CHECK(tools::fault_table(json{{"items", json::array()}}) == "no faults\n");
}

// An abort's body was not shown: a pasted fault whose 201 body forged an order with another
// pay link read as "status 201" only (an outside probe). Its first 60 characters, escaped.
TEST_CASE("fault list shows an abort's body, cut and escaped") {
  namespace tools = shopctl::observe_tools;
  const std::string forged =
      R"({"order_id":"ord_a","payment":{"pay_url":"http://evil.example/pay/pi_x"}})";
  const auto text = tools::fault_table(json{{"items", json::array({json{{"id", "f"},
                                                                        {"target", "gateway"},
                                                                        {"type", "abort"},
                                                                        {"status", 201},
                                                                        {"body", forged}}})}});
  INFO(text);
  CHECK(text.find(R"(status 201, body "{\"order_id\":\"ord_a\")") != std::string::npos);
  CHECK(text.find("...") != std::string::npos);
  CHECK(text.find("evil.example") == std::string::npos);  // past the first 60 characters
}

TEST_CASE("a fault id is one printable line: a newline would break fault list's table") {
  using shopctl::platform::Fault;
  CHECK(
      Fault::from_json(json{{"id", "slow-catalog"}, {"target", "catalog"}, {"type", "reset"}}).id ==
      "slow-catalog");
  CHECK_THROWS_AS(Fault::from_json(json{{"id", "a\nb"}, {"target", "catalog"}, {"type", "reset"}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(Fault::from_json(json{{"id", "a\tb"}, {"target", "catalog"}, {"type", "reset"}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(Fault::from_json(json{
                      {"id", std::string(101, 'x')}, {"target", "catalog"}, {"type", "reset"}}),
                  std::invalid_argument);
  // "." and ".." cannot be named in a URL path: a browser sends DELETE /_admin/faults/. as
  // DELETE /_admin/faults/, which cleared every fault (the console's Clear of fault ".").
  for (const char* dots : {".", ".."}) {
    CAPTURE(dots);
    CHECK_THROWS_WITH_AS(
        Fault::from_json(json{{"id", dots}, {"target", "catalog"}, {"type", "reset"}}),
        doctest::Contains("'.' or '..'"), std::invalid_argument);
  }
  CHECK(Fault::from_json(json{{"id", "..."}, {"target", "catalog"}, {"type", "reset"}}).id ==
        "...");
  // Nothing that shows as nothing or reorders the text: "x\u202Ey" showed in the console as
  // "xy" (an outside probe; it was 201). Letters of any script stay.
  for (const char* hidden : {"x\u202ey", "\u200bslow", "slow\ufeff", "a\u2066b"}) {
    CAPTURE(hidden);
    CHECK_THROWS_WITH_AS(
        Fault::from_json(json{{"id", hidden}, {"target", "catalog"}, {"type", "reset"}}),
        doctest::Contains("invisible or reordering character (U+"), std::invalid_argument);
  }
  // Nor a letter of another script, which can pass for an ASCII one: "slow-c\u0430talog" (a
  // Cyrillic a) read as "slow-catalog" beside it, and " lead" as "lead" (an outside probe).
  for (const char* lookalike : {"slow-c\u0430talog", "langsam-\u00fc", "x\u2800", "a\u0301"}) {
    CAPTURE(lookalike);
    CHECK_THROWS_WITH_AS(
        Fault::from_json(json{{"id", lookalike}, {"target", "catalog"}, {"type", "reset"}}),
        doctest::Contains("printable ASCII"), std::invalid_argument);
  }
  for (const char* spaced : {" lead", "lead "}) {
    CAPTURE(spaced);
    CHECK_THROWS_WITH_AS(
        Fault::from_json(json{{"id", spaced}, {"target", "catalog"}, {"type", "reset"}}),
        doctest::Contains("space"), std::invalid_argument);
  }
  CHECK(Fault::from_json(json{{"id", "a b:c/d?e#f%g"}, {"target", "catalog"}, {"type", "reset"}})
            .id == "a b:c/d?e#f%g");
}

// A request's path on the wire is ASCII with no space or control character: a glob with one
// matched nothing, and "/x\u202E..." was drawn reversed in the console and `fault list`.
TEST_CASE("a fault's match.path is ASCII without spaces or control characters") {
  using shopctl::platform::Fault;
  for (const char* path : {"/x\u202e<img>", "/x\u200by", "/a b", "/caf\u00e9", "/a\tb"}) {
    CAPTURE(path);
    CHECK_THROWS_WITH_AS(
        Fault::from_json(
            json{{"target", "catalog"}, {"type", "reset"}, {"match", {{"path", path}}}}),
        doctest::Contains("percent-encoded"), std::invalid_argument);
  }
  CHECK(Fault::from_json(
            json{{"target", "catalog"}, {"type", "reset"}, {"match", {{"path", "/caf%C3%A9/*"}}}})
            .path == "/caf%C3%A9/*");
}

TEST_CASE("a fault's numbers out of range are refused, not accepted and then ignored") {
  // A delay past a day overflowed the nanosecond count: the fault answered 201, counted as
  // applied, and delayed nothing. A rate below a byte in 1,000 s sent the body at once.
  const auto fault = [](const std::string& fields) {
    return json::parse(R"({"target":"catalog",)" + fields + "}");
  };
  using shopctl::platform::Fault;
  for (const char* bad :
       {R"("type":"delay","delay_ms":10000000000000)", R"("type":"delay","delay_ms":86400001)",
        R"("type":"delay","delay_ms":1000,"jitter_ms":10000000000000)",
        R"("type":"delay","delay_ms":-1)", R"("type":"slow_body","bytes_per_second":1e-10)",
        R"("type":"slow_body","bytes_per_second":0)"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(Fault::from_json(fault(bad)), std::invalid_argument);
    CHECK_THROWS_AS(tools::fault_json_from_text(fault(bad).dump()), std::invalid_argument);
  }
  CHECK(Fault::from_json(fault(R"("type":"delay","delay_ms":86400000)")).delay ==
        std::chrono::hours(24));
  CHECK(
      Fault::from_json(fault(R"("type":"slow_body","bytes_per_second":0.001)")).bytes_per_second ==
      0.001);
  // A count past 2^63-1 names the range it takes (the console's rounding sent 2^63 and read
  // "must be a whole number from 0", true of what was typed; an outside probe).
  try {
    (void)Fault::from_json(fault(R"("type":"reset","select":{"after":9223372036854775808})"));
    FAIL("2^63 was taken");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) ==
          "select.after must be a whole number from 0 to 9223372036854775807 (2^63-1)");
  }
  CHECK_NOTHROW(
      (void)Fault::from_json(fault(R"("type":"reset","select":{"after":9223372036854775807})")));
}

// A fault added without an id replaced a fault the caller had named fault-N (the generated
// number reached it): a generated id now skips the ids in use.
TEST_CASE("a generated fault id never replaces a fault already in the table") {
  shopctl::platform::FaultTable table;
  table.add(shopctl::platform::Fault::from_json(
      json{{"id", "fault-2"}, {"target", "order"}, {"type", "hang"}}));
  const auto first = table.add(
      shopctl::platform::Fault::from_json(json{{"target", "catalog"}, {"type", "reset"}}));
  const auto second = table.add(
      shopctl::platform::Fault::from_json(json{{"target", "catalog"}, {"type", "close"}}));
  CHECK(first == "fault-1");
  CHECK(second == "fault-3");
  const auto listed = table.list();
  REQUIRE(listed.size() == 3);
  CHECK(std::any_of(listed.begin(), listed.end(),
                    [](const json& f) { return f["id"] == "fault-2" && f["target"] == "order"; }));
}

// Replacing a fault by its id moved it behind the others, so another fault that matched the
// same requests answered in its place (an outside probe; docs/faults.md says "in its place").
TEST_CASE("a fault replaced by its id keeps its place in the table") {
  shopctl::platform::FaultTable table;
  const auto abort_with = [](const char* id, int status) {
    return shopctl::platform::Fault::from_json(
        json{{"id", id}, {"target", "catalog"}, {"type", "abort"}, {"status", status}});
  };
  table.add(abort_with("A", 502));
  table.add(abort_with("B", 500));
  table.add(abort_with("A", 501));
  const auto listed = table.list();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["id"] == "A");
  CHECK(listed[1]["id"] == "B");
  const auto decision = table.decide("catalog", "order", "GET", "/products");
  REQUIRE(decision);
  CHECK(decision->fault_id == "A");
  CHECK(decision->status == 501);
}

// A --faults list written like a scenario's faults (`delay: 50ms`) was told only "unknown
// fault key 'delay'": the JSON form takes milliseconds, and says so.
TEST_CASE("a fault's `delay` in the JSON form points at delay_ms") {
  try {
    shopctl::platform::Fault::from_json(
        json{{"target", "catalog"}, {"type", "delay"}, {"delay", "50ms"}});
    FAIL("accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) ==
          "unknown fault key 'delay' (here it is 'delay_ms', a number of milliseconds)");
  }
}

// The admin plane and `fault add` took a parameter the fault's type does not take (`status`
// on a delay fault) and ignored it; a scenario's parser refused it. All now refuse it alike.
TEST_CASE("a fault's JSON form refuses a parameter its type does not take") {
  auto refusal = [](const json& fault) -> std::string {
    try {
      shopctl::platform::Fault::from_json(fault);
      return "accepted";
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  };
  CHECK(
      refusal(json{{"target", "catalog"}, {"type", "delay"}, {"delay_ms", 100}, {"status", 503}}) ==
      "'status' does not apply to a delay fault (it is for type abort)");
  CHECK(refusal(json{{"target", "catalog"}, {"type", "abort"}, {"delay_ms", 100}}) ==
        "'delay_ms' does not apply to an abort fault (it is for types delay and slow_body)");
  CHECK(refusal(json{{"target", "catalog"}, {"type", "hang"}, {"jitter_ms", 5}}) ==
        "'jitter_ms' does not apply to a hang fault (it is for types delay and slow_body)");
  CHECK(refusal(json{{"target", "catalog"}, {"type", "reset"}, {"bytes_per_second", 10}}) ==
        "'bytes_per_second' does not apply to a reset fault (it is for type slow_body)");
  CHECK(refusal(json{{"target", "catalog"}, {"type", "garbage"}, {"body", "x"}}) ==
        "'body' does not apply to a garbage fault (it is for type abort)");
  // What each type takes is still taken, and what the table lists is taken back.
  for (const auto& ok :
       {json{{"target", "catalog"}, {"type", "delay"}, {"delay_ms", 100}, {"jitter_ms", 5}},
        json{{"target", "catalog"}, {"type", "abort"}, {"status", 502}, {"body", ""}},
        json{{"target", "catalog"},
             {"type", "slow_body"},
             {"bytes_per_second", 10},
             {"delay_ms", 1},
             {"jitter_ms", 1}}}) {
    CHECK(refusal(ok) == "accepted");
    CHECK(refusal(shopctl::platform::Fault::from_json(ok).to_json()) == "accepted");
  }
}

// `fault add --target-service catalog --from catalog` and the admin plane took a fault on an
// edge that does not exist; a scenario's parser refused it.
TEST_CASE("a fault whose caller is its target is refused, as in a scenario") {
  try {
    shopctl::platform::Fault::from_json(
        json{{"target", "catalog"}, {"from", "catalog"}, {"type", "abort"}});
    FAIL("accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "no edge catalog->catalog: a service does not call itself");
  }
  CHECK_NOTHROW(shopctl::platform::Fault::from_json(
      json{{"target", "catalog"}, {"from", "order"}, {"type", "abort"}}));
}

// Two faults on one edge: the first in the table whose select picks a request wins. The one
// after it showed MATCHED 0 although every request met its target and filters; it now counts
// them as matched and shadowed, and its select does not count them (it never got to choose).
TEST_CASE("a fault shadowed by an earlier one counts the requests it met as matched and shadowed") {
  shopctl::platform::FaultTable table;
  table.add(shopctl::platform::Fault::from_json(
      json{{"id", "first"}, {"target", "catalog"}, {"type", "abort"}, {"select", {{"first", 2}}}}));
  table.add(shopctl::platform::Fault::from_json(json{{"id", "second"},
                                                     {"target", "catalog"},
                                                     {"type", "reset"},
                                                     {"from", "order"},
                                                     {"select", {{"first", 1}}}}));
  for (int i = 0; i < 3; ++i) {
    const auto d = table.decide("catalog", "order", "GET", "/products");
    REQUIRE(d.has_value());
    CHECK(d->fault_id == (i < 2 ? "first" : "second"));  // first: 1 counts its own first request
  }
  CHECK_FALSE(table.decide("catalog", "order", "GET", "/products").has_value());
  const auto listed = table.list();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["matched"] == 4);
  CHECK(listed[0]["shadowed"] == 0);
  CHECK(listed[0]["applied"] == 2);
  CHECK(listed[1]["matched"] == 4);
  CHECK(listed[1]["shadowed"] == 2);
  CHECK(listed[1]["applied"] == 1);
  const auto text = tools::fault_table(json{{"items", listed}});
  INFO(text);
  CHECK(text.find("MATCHED  SHADOWED  APPLIED") != std::string::npos);
}
