// The admin plane of a shop split over processes (platform/admin_fanout): which process a
// request goes to and how answers merge. Pure logic: the processes are a fake sender.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "observe_tools/fault_spec.hpp"
#include "platform/admin_fanout.hpp"
#include "platform/http/message.hpp"

namespace {

using nlohmann::json;
using shopctl::platform::AdminAnswer;
using shopctl::platform::AdminFanOut;
using shopctl::platform::Deployment;

AdminAnswer answer(int status, json body) {
  AdminAnswer a;
  a.status = status;
  a.raw = body.dump();
  a.body = std::move(body);
  return a;
}

// Three processes: the gateway's (A), catalog's (B), order's (C); each keeps call records.
struct FakeShop {
  std::map<std::string, std::vector<json>> records;  // by admin URL, seq = index
  std::vector<std::string> sent;                     // "URL METHOD PATH"
  std::map<std::string, std::vector<json>> faults;

  std::set<std::string> down;     // admin URLs that do not answer
  std::set<std::string> refused;  // admin URLs whose connection is refused, as a client says it
  std::set<std::string> no_admin_plane;  // URLs that serve only their services' own routes
  std::set<std::string> other_token;     // admin URLs whose process holds another admin token
  std::uint64_t ring_capacity = 20000;   // each process's ring, as it says it

  AdminAnswer operator()(const std::string& base, const std::string& method,
                         const std::string& path, const std::optional<json>& body) {
    sent.push_back(base + " " + method + " " + path);
    if (down.count(base)) throw std::runtime_error("connection refused");
    if (other_token.count(base))
      return answer(401, {{"error",
                           {{"code", "invalid_admin_token"},
                            {"message", "X-Admin-Token is not this shop's admin token"},
                            {"details", json::object()}}}});
    if (no_admin_plane.count(base) && path == "/_admin/services")
      return answer(404, {{"error", {{"code", "route_not_found"}}}});
    if (refused.count(base))
      throw shopctl::http::TransportError(shopctl::http::TransportErrorKind::refused,
                                          "connect: Connection refused");
    if (path.rfind("/_admin/faults/", 0) == 0 && method == "DELETE") {
      auto id = path.substr(15);
      auto& list = faults[base];
      auto it =
          std::find_if(list.begin(), list.end(), [&](const json& f) { return f["id"] == id; });
      if (it == list.end()) return answer(404, {{"error", {{"code", "not_found"}}}});
      list.erase(it);
      return answer(200, {{"removed", id}});
    }
    if (path.rfind("/_admin/calls?since=", 0) == 0) {
      auto since = std::stoull(path.substr(20));
      auto& all = records[base];
      json out = json::array();
      for (std::size_t i = 0; i < all.size(); ++i) {
        if (i >= since) out.push_back(all[i]);
      }
      return answer(200, {{"next_seq", all.size()},
                          {"records", out},
                          {"transitions", json::array()},
                          {"dropped", false},
                          {"ring_capacity", ring_capacity}});
    }
    if (path == "/_admin/faults" && method == "POST") {
      faults[base].push_back(*body);
      return answer(201, {{"id", (*body)["id"]}});
    }
    if (path == "/_admin/faults" && method == "GET") {
      json items = json::array();
      for (auto f : faults[base]) {
        f["matched"] = base == "http://b" ? 3 : 0;
        items.push_back(f);
      }
      return answer(200, {{"items", items}});
    }
    if (path == "/_admin/edges") {
      if (base == "http://b")
        return answer(
            200, {{"edges", {{"order->catalog", {{"calls", 2}, {"errors", 1}, {"p99_ms", 9.0}}}}},
                  {"violations", 1}});
      return answer(
          200, {{"edges", {{"order->catalog", {{"calls", 3}, {"errors", 0}, {"p99_ms", 4.0}}}}},
                {"violations", 0}});
    }
    return answer(200, {{"ok", base}});
  }
  void record(const std::string& base, const std::string& edge) {
    records[base].push_back(
        {{"seq", records[base].size()}, {"edge", edge}, {"at_ms", records[base].size()}});
  }
};

// The merged call records after `since`, as the console reads them.
AdminAnswer read_calls(AdminFanOut& fan, const Deployment& d, FakeShop& shop, std::uint64_t since) {
  auto sender = std::ref(shop);
  return fan.send(d, sender, "GET", "/_admin/calls?since=" + std::to_string(since), std::nullopt);
}

Deployment three_processes() {
  json services = {
      {"items",
       {{{"name", "gateway"}, {"url", "http://g"}, {"admin", "http://a"}, {"running", true}},
        {{"name", "catalog"}, {"url", "http://c"}, {"admin", "http://b"}, {"remote", true}},
        {{"name", "order"}, {"url", "http://o"}, {"admin", "http://c2"}, {"remote", true}}}}};
  return Deployment::from_services(services, "http://g");
}

}  // namespace

TEST_CASE("a shop in one process is not split; three processes are, each with its services") {
  json one = {{"items",
               {{{"name", "gateway"}, {"url", "http://g"}, {"admin", "http://g"}},
                {{"name", "catalog"}, {"url", "http://c"}, {"admin", "http://g"}}}}};
  CHECK_FALSE(Deployment::from_services(one, "http://g").split());
  // An older shop names no admin plane: one process too.
  json older = {
      {"items",
       {{{"name", "gateway"}, {"url", "http://g"}}, {{"name", "catalog"}, {"url", "http://c"}}}}};
  CHECK_FALSE(Deployment::from_services(older, "http://g").split());

  auto d = three_processes();
  REQUIRE(d.split());
  CHECK(d.processes.size() == 3);
  CHECK(d.admin_of("catalog") == "http://b");
  CHECK(d.admin_of("gateway") == "http://a");
  CHECK(d.admin_of("payment").empty());
}

TEST_CASE("stopping a service goes to its process; a fault goes to every process with one id") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  auto sender = std::ref(shop);
  CHECK(AdminFanOut::handles("POST", "/_admin/services/catalog/stop"));
  CHECK_FALSE(AdminFanOut::handles("GET", "/_admin/circuit-breakers"));
  fan.send(d, sender, "POST", "/_admin/services/catalog/stop", std::nullopt);
  CHECK(shop.sent == std::vector<std::string>{"http://b POST /_admin/services/catalog/stop"});

  auto added =
      fan.send(d, sender, "POST", "/_admin/faults",
               json{{"target", "catalog"}, {"type", "abort"}, {"status", 502}, {"delay_ms", 20}});
  CHECK(added.status == 201);
  auto id = added.body.at("id").get<std::string>();
  CHECK_FALSE(id.empty());
  for (const auto& base : {"http://a", "http://b", "http://c2"}) {
    REQUIRE(shop.faults[base].size() == 1);
    CHECK(shop.faults[base][0]["id"] == id);
  }
  // Listed once, with the counts of every process added up.
  auto listed = fan.send(d, sender, "GET", "/_admin/faults", std::nullopt);
  REQUIRE(listed.body["items"].size() == 1);
  CHECK(listed.body["items"][0]["matched"] == 3);
  // What the fault is stays what it is: only its counts add up (status read 1506).
  CHECK(listed.body["items"][0]["status"] == 502);
  CHECK(listed.body["items"][0]["delay_ms"] == 20);
}

TEST_CASE("edges add up across processes; the p99 is the slower one's") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  auto merged = fan.send(d, std::ref(shop), "GET", "/_admin/edges", std::nullopt);
  CHECK(merged.body["edges"]["order->catalog"]["calls"] == 8);  // 3 + 2 + 3
  CHECK(merged.body["edges"]["order->catalog"]["errors"] == 1);
  CHECK(merged.body["edges"]["order->catalog"]["p99_ms"] == 9.0);
  CHECK(merged.body["violations"] == 1);
}

TEST_CASE(
    "merged call records keep one numbering: records since a cursor are exactly the newer ones") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  auto sender = std::ref(shop);
  shop.record("http://a", "client->gateway");
  shop.record("http://b", "order->catalog");
  // The cursor now, as the runner takes it before a step.
  auto now = fan.send(d, sender, "GET", "/_admin/calls?since=9223372036854775807", std::nullopt);
  auto cursor = now.body.at("next_seq").get<std::uint64_t>();
  CHECK(now.body["records"].empty());
  shop.record("http://b", "order->catalog");
  shop.record("http://c2", "payment->order");
  shop.record("http://a", "gateway->order");
  auto since =
      fan.send(d, sender, "GET", "/_admin/calls?since=" + std::to_string(cursor), std::nullopt);
  REQUIRE(since.body["records"].size() == 3);
  for (const auto& r : since.body["records"]) CHECK(r["seq"].get<std::uint64_t>() >= cursor);
  // From the start, the older two are numbered before the cursor and the newer three not.
  auto all = fan.send(d, sender, "GET", "/_admin/calls?since=0", std::nullopt);
  REQUIRE(all.body["records"].size() == 5);
  int before = 0, after = 0;
  for (const auto& r : all.body["records"])
    (r["seq"].get<std::uint64_t>() >= cursor ? after : before)++;
  CHECK(before == 2);
  CHECK(after == 3);
  // only=transitions reaches every process.
  shop.sent.clear();
  fan.send(d, sender, "GET", "/_admin/calls?only=transitions&since=0", std::nullopt);
  REQUIRE(shop.sent.size() == d.processes.size());
  for (const auto& s : shop.sent) CHECK(s.ends_with("&only=transitions"));
  // Read as one process reads it: the first, decoded (review).
  shop.sent.clear();
  fan.send(d, sender, "GET", "/_admin/calls?%6Fnly=transitions&only=x&since=0", std::nullopt);
  REQUIRE(shop.sent.size() == d.processes.size());
  for (const auto& s : shop.sent) CHECK(s.ends_with("&only=transitions"));
}

// An outside probe: two records of two processes between reads shared one seq, and next_seq
// went up by one on every read though nothing was recorded.
TEST_CASE("merged call records: each has a number of its own, and a quiet read moves no cursor") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  const auto read = [&](std::uint64_t since) { return read_calls(fan, d, shop, since); };
  const auto seqs_of = [](const AdminAnswer& a) {
    std::vector<std::uint64_t> out;
    for (const auto& r : a.body["records"]) out.push_back(r["seq"].get<std::uint64_t>());
    std::sort(out.begin(), out.end());
    return out;
  };
  shop.record("http://a", "client->gateway");
  shop.record("http://b", "client->catalog");
  shop.record("http://c2", "client->order");
  auto first = read(0);
  CHECK(seqs_of(first) == std::vector<std::uint64_t>{0, 1, 2});
  const auto cursor = first.body["next_seq"].get<std::uint64_t>();
  CHECK(cursor == 3);
  CHECK(read(0).body["next_seq"] == cursor);
  CHECK(read(cursor).body["next_seq"] == cursor);
  CHECK(read(cursor).body["records"].empty());
  // Between two reads, in two processes, then a third, after the second read.
  shop.record("http://b", "order->catalog");
  shop.record("http://a", "gateway->order");
  shop.record("http://b", "order->catalog");
  auto second = read(cursor);
  CHECK(seqs_of(second) == std::vector<std::uint64_t>{3, 4, 5});
  shop.record("http://c2", "payment->order");
  auto all = read(0);
  CHECK(seqs_of(all) == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(all.body["next_seq"] == 7);
  // The numbers stay what they were, and any number reads as in one process: a record's
  // seq + 1 (not a next_seq handed out) gives the records after it.
  CHECK(seqs_of(read(cursor)) == std::vector<std::uint64_t>{3, 4, 5, 6});
  CHECK(seqs_of(read(5)) == std::vector<std::uint64_t>{5, 6});
  CHECK(seqs_of(read(4)) == std::vector<std::uint64_t>{4, 5, 6});
  CHECK(read(7).body["records"].empty());
}

// A process that restarted numbers its records from 0 again: asked from a position of its
// earlier life, it answered nothing, and a reader with a cursor never saw the restarted
// service's calls (an outside probe killed order's process of serve --processes).
TEST_CASE("merged call records: a process that restarted is read from its first record again") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  const auto read = [&](std::uint64_t since) { return read_calls(fan, d, shop, since); };
  for (int i = 0; i < 10; ++i) shop.record("http://c2", "order->catalog");
  shop.record("http://a", "client->gateway");
  const auto cursor = read(0).body["next_seq"].get<std::uint64_t>();
  CHECK(cursor == 11);
  shop.records["http://c2"].clear();  // order's process restarted
  shop.record("http://c2", "order->catalog");
  shop.record("http://c2", "order->catalog");
  shop.record("http://a", "gateway->order");
  auto after = read(cursor);
  REQUIRE(after.body["records"].size() == 3);
  std::set<std::uint64_t> seqs;
  for (const auto& r : after.body["records"]) {
    CHECK(r["seq"].get<std::uint64_t>() >= cursor);
    seqs.insert(r["seq"].get<std::uint64_t>());
  }
  CHECK(seqs.size() == 3);  // a number each
  const auto next = after.body["next_seq"].get<std::uint64_t>();
  CHECK(next > cursor);
  // And the reads after it go on from there.
  CHECK(read(next).body["records"].empty());
  shop.record("http://c2", "order->payment");
  auto later = read(next);
  REQUIRE(later.body["records"].size() == 1);
  CHECK(later.body["records"][0]["edge"] == "order->payment");
  CHECK(later.body["records"][0]["seq"].get<std::uint64_t>() >= next);
}

// The merged answer was every process's ring end to end: 75,636 records under a
// "ring_capacity" of 20,000 (23 MB), and the gateway's process kept 340 MB after building it
// (an outside probe). It holds one ring's worth, the newest, and says the rest were dropped.
TEST_CASE("merged call records: one ring's worth, the newest, and the rest said dropped") {
  auto d = three_processes();
  FakeShop shop;
  shop.ring_capacity = 5;
  AdminFanOut fan;
  int at = 0;
  for (int i = 0; i < 4; ++i) {
    for (const char* base : {"http://a", "http://b", "http://c2"}) {
      auto& list = shop.records[base];
      list.push_back({{"seq", list.size()}, {"edge", "client->gateway"}, {"at_ms", ++at}});
    }
  }
  const auto all = read_calls(fan, d, shop, 0);
  REQUIRE(all.body["records"].size() == 5);
  std::vector<int> times;
  for (const auto& r : all.body["records"]) times.push_back(r["at_ms"].get<int>());
  CHECK(times == std::vector<int>{8, 9, 10, 11, 12});
  CHECK(all.body["dropped"] == true);
  CHECK(all.body["ring_capacity"] == 5);
  CHECK(all.raw.find("\"at_ms\":7") == std::string::npos);
  // Under the capacity: all of them, nothing dropped.
  shop.ring_capacity = 100;
  const auto under = read_calls(fan, d, shop, 0);
  CHECK(under.body["records"].size() == 12);
  CHECK(under.body["dropped"] == false);
}

// Each process is tried whatever another did: a fan-out stopped at the first process that did
// not answer, and the ones after it were never reset or given the fault.
TEST_CASE("a process that does not answer: the others still reset, and the 503 names it") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  shop.down.insert("http://a");
  auto reset = fan.send(d, std::ref(shop), "POST", "/_admin/reset", json::object());
  CHECK(reset.status == 503);
  CHECK(reset.body["error"]["code"] == "process_unreachable");
  const auto message = reset.body["error"]["message"].get<std::string>();
  CHECK(message.find("2 of 3") != std::string::npos);
  CHECK(message.find("gateway") != std::string::npos);
  CHECK(std::count(shop.sent.begin(), shop.sent.end(), "http://b POST /_admin/reset") == 1);
  CHECK(std::count(shop.sent.begin(), shop.sent.end(), "http://c2 POST /_admin/reset") == 1);
}

// A process given by its url alone has no admin plane: its 404 to the shop-wide services list
// made `run --target` say the gateway was no shop's (an outside probe of separate hosts).
TEST_CASE("a process without an admin plane is left out of the services list, not a failure") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  shop.no_admin_plane.insert("http://b");
  auto listed = fan.send(d, std::ref(shop), "GET", "/_admin/services", std::nullopt);
  CHECK(listed.status == 200);
  // Every process answering 404 is still a failure: nothing listed the services.
  shop.no_admin_plane = {"http://a", "http://b", "http://c2"};
  CHECK(fan.send(d, std::ref(shop), "GET", "/_admin/services", std::nullopt).status == 404);
}

// A read of every process (the faults, the services) failed with the client's words alone,
// "connect: Connection refused", which the tools blamed on the gateway they had named (an
// outside probe of a split shop): the process and its admin URL are named.
TEST_CASE("a read of every process names the one that did not answer, and where") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  shop.refused.insert("http://b");
  try {
    (void)fan.send(d, std::ref(shop), "GET", "/_admin/faults", std::nullopt);
    FAIL("no TransportError");
  } catch (const shopctl::http::TransportError& e) {
    CHECK(e.kind() == shopctl::http::TransportErrorKind::refused);
    CHECK(std::string(e.what()) ==
          "the admin plane of catalog at http://b: connect: Connection refused");
  }
}

TEST_CASE("a fault is added in every process or in none, so that it can be sent again") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  auto sender = std::ref(shop);
  const json fault = {{"id", "slow"}, {"target", "catalog"}, {"type", "delay"}, {"delay_ms", 5}};
  shop.down.insert("http://b");
  auto first = fan.send(d, sender, "POST", "/_admin/faults", fault);
  CHECK(first.status == 503);
  CHECK(first.body["error"]["message"].get<std::string>().find("catalog") != std::string::npos);
  // Taken back where it was added: it was in effect there behind the 503.
  for (const auto& base : {"http://a", "http://c2"}) CHECK(shop.faults[base].empty());
  // Sent again once every process answers: added everywhere.
  shop.down.clear();
  auto again = fan.send(d, sender, "POST", "/_admin/faults", fault);
  CHECK(again.status == 201);
  for (const auto& base : {"http://a", "http://b", "http://c2"})
    CHECK(shop.faults[base].size() == 1);
  // Removed with one process away: removed from the others, and the 503 names it.
  shop.down.insert("http://c2");
  auto removed = fan.send(d, sender, "DELETE", "/_admin/faults/slow", std::nullopt);
  CHECK(removed.status == 503);
  CHECK(removed.body["error"]["message"].get<std::string>().find("order") != std::string::npos);
  CHECK(shop.faults["http://a"].empty());
  CHECK(shop.faults["http://b"].empty());
  CHECK(shop.faults["http://c2"].size() == 1);
}

// A process that did not answer an add in time (hung, not down) took it when it resumed: the
// fault was listed as the shop's, and applied in that process only (an outside probe of a
// split shop). The 503 says how to find and remove it, and the list says who holds it.
TEST_CASE("a fault held by some processes only is listed with the processes that hold it") {
  auto d = three_processes();
  FakeShop shop;
  AdminFanOut fan;
  auto sender = std::ref(shop);
  const json fault = {{"id", "late"}, {"target", "order"}, {"type", "delay"}, {"delay_ms", 5}};
  shop.down.insert("http://b");
  auto added = fan.send(d, sender, "POST", "/_admin/faults", fault);
  REQUIRE(added.status == 503);
  CHECK(added.body["error"]["message"].get<std::string>().find("shopctl fault clear late") !=
        std::string::npos);
  // The hung process resumes and reads the add it was sent.
  shop.down.clear();
  shop.faults["http://b"].push_back(fault);
  auto listed = fan.send(d, sender, "GET", "/_admin/faults", std::nullopt);
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["items"].size() == 1);
  CHECK(listed.body["items"][0]["only_in"] == json::array({"catalog"}));
  const auto table = shopctl::observe_tools::fault_table(listed.body);
  CHECK(table.find("note: fault late is held only by catalog") != std::string::npos);
  // One every process holds has no such mark.
  REQUIRE(fan.send(d, sender, "POST", "/_admin/faults",
                   json{{"id", "all"}, {"target", "order"}, {"type", "delay"}, {"delay_ms", 5}})
              .status == 201);
  listed = fan.send(d, sender, "GET", "/_admin/faults", std::nullopt);
  for (const auto& item : listed.body["items"]) {
    if (item["id"] == "all") CHECK_FALSE(item.contains("only_in"));
  }
}

// One process of a split shop holding another admin token answered "X-Admin-Token is not this
// shop's admin token" to a token the gateway had just taken (an outside probe): it is named.
TEST_CASE("a process that refuses the admin token the first process took is named") {
  auto d = three_processes();
  FakeShop shop;
  shop.other_token.insert("http://b");
  AdminFanOut fan;
  for (const std::string method : {"GET", "POST"}) {
    const std::string path = "/_admin/faults";
    CAPTURE(method);
    auto refused = fan.send(d, std::ref(shop), method, path,
                            json{{"target", "catalog"}, {"type", "abort"}, {"status", 503}});
    CHECK(refused.status == 401);
    CHECK(refused.body["error"]["code"] == "invalid_admin_token");
    CHECK(refused.body["error"]["message"].get<std::string>().find(
              "the admin plane of catalog at http://b refused the admin token that gateway at "
              "http://a took") != std::string::npos);
    CHECK(refused.body["error"]["details"]["process"] == "catalog");
  }
  // A shop lists its catalog first: the process asked (the gateway's, which took the token) is
  // still the first, and the catalog's refusal is named (it was said as the token's).
  json catalog_first = {
      {"items",
       {{{"name", "catalog"}, {"url", "http://c"}, {"admin", "http://b"}, {"remote", true}},
        {{"name", "order"}, {"url", "http://o"}, {"admin", "http://c2"}, {"remote", true}},
        {{"name", "gateway"}, {"url", "http://g"}, {"admin", "http://a"}, {"running", true}}}}};
  const auto listed = Deployment::from_services(catalog_first, "http://g");
  REQUIRE(listed.processes.size() == 3);
  CHECK(listed.processes.front().admin_url == "http://a");
  auto named = fan.send(listed, std::ref(shop), "GET", "/_admin/faults", std::nullopt);
  CHECK(named.body["error"]["details"]["process"] == "catalog");
  // The first process's own refusal is the token's: left as it is.
  FakeShop wrong;
  wrong.other_token = {"http://a", "http://b", "http://c2"};
  auto all = fan.send(d, std::ref(wrong), "GET", "/_admin/faults", std::nullopt);
  CHECK(all.body["error"]["message"] == "X-Admin-Token is not this shop's admin token");
}
