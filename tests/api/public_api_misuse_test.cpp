// The public C++ API (include/shopctl/) used wrongly, the way a probe of its headers used it:
// values no plan can mean, callbacks that throw, objects used after a move, a clock pushed past
// what it can hold. Each gets an exception that says what was wrong; none ends the process or
// leaves it spinning. Public headers only (tests/architecture/include_rules_test.cpp).
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <shopctl/admin_client.hpp>
#include <shopctl/load.hpp>
#include <shopctl/scenario_runner.hpp>
#include <shopctl/shop.hpp>
#include <shopctl/version.hpp>

using namespace std::chrono_literals;

namespace {

template <typename F>
std::string message_of(F&& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

shopctl::ShopOptions fast_shop() {
  shopctl::ShopOptions options;
  options.threads = 2;
  options.config_yaml = "auth: {password_hashing: fast}";
  return options;
}

constexpr const char* kMisuseScenario = R"yaml(version: 1
name: NAME
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
    expect: {status: 200}
steps:
  - name: the first page of products
    request: {GET: /api/catalog/products}
    expect: {status: 200}
)yaml";

// Two users browsing while the catalog answers 1 ms late: a plan whose faults need switching.
shopctl::LoadPlan browse_with_slow_catalog() {
  shopctl::LoadPlan plan;
  plan.users = 2;
  plan.mix = "browse=1";
  shopctl::FaultSpec slow;
  slow.target_service = "catalog";
  slow.type = "delay";
  slow.delay = "1ms";
  plan.faults = {slow};
  return plan;
}

std::string scenario_named(const std::string& name) {
  std::string text = kMisuseScenario;
  text.replace(text.find("NAME"), 4, name);
  return text;
}

}  // namespace

// check_plan took rate = INFINITY (run_load then spun for ever starting journeys), NaN (a
// closed loop), users = 0 and threads = 0 (a run of nothing), and a fault_at past the end.
TEST_CASE("check_plan refuses a plan no run can mean, as shopctl load refuses its flags") {
  auto refused = [](auto change) {
    shopctl::LoadPlan plan;
    change(plan);
    return message_of([&] { shopctl::check_plan(plan); });
  };
  CHECK(refused([](auto& p) { p.rate = std::numeric_limits<double>::infinity(); }).find("rate") !=
        std::string::npos);
  CHECK(refused([](auto& p) { p.rate = std::nan(""); }).find("rate") != std::string::npos);
  CHECK(refused([](auto& p) { p.rate = 1e7; }).find("rate") != std::string::npos);
  CHECK(refused([](auto& p) { p.rate = 0.0001; }).find("rate") != std::string::npos);
  CHECK(refused([](auto& p) { p.users = 0; }).find("users") != std::string::npos);
  CHECK(refused([](auto& p) { p.users = 100001; }).find("users") != std::string::npos);
  CHECK(refused([](auto& p) { p.threads = 0; }).find("threads") != std::string::npos);
  CHECK(refused([](auto& p) { p.threads = 65; }).find("threads") != std::string::npos);
  CHECK(refused([](auto& p) { p.duration = 25h; }).find("24h") != std::string::npos);
  CHECK(refused([](auto& p) {
          p.duration = 2s;
          p.fault_at = 2s;
        }).find("fault_at") != std::string::npos);
  CHECK(refused([](auto& p) { p.abandon_share = std::nan(""); }).find("abandon_share") !=
        std::string::npos);
  // The limits themselves are fine.
  shopctl::LoadPlan plan;
  plan.rate = 0.001;
  plan.users = 100000;
  plan.threads = 64;
  plan.duration = 24h;
  plan.fault_at = 1s;
  CHECK_NOTHROW(shopctl::check_plan(plan));
}

// An on_progress that threw went out of the engine's loop with its threads still joinable:
// std::terminate. A caller that throws to stop the run gets its exception back, at once.
TEST_CASE("a load's on_progress that throws stops the run, and run_load rethrows it") {
  shopctl::Shop shop(fast_shop());
  shopctl::LoadPlan plan = browse_with_slow_catalog();
  plan.duration = 60s;
  int calls = 0;
  plan.on_progress = [&](const shopctl::LoadProgress&) {
    ++calls;
    throw std::domain_error("enough");
  };
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(shopctl::run_load(shop, plan), "enough", std::domain_error);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
  CHECK(calls == 1);
  CHECK(shop.faults_json() == R"({"items":[]})");  // switched off on the way out
}

// Switching the faults on at fault_at threw from the engine's loop when the gateway did not
// answer, with the load's threads still running: std::terminate (an outside probe). The run
// ends with LoadSetupError, the threads joined.
TEST_CASE("a load whose faults cannot be switched on at fault_at ends with an error, not a crash") {
  shopctl::Shop shop(fast_shop());
  shopctl::LoadPlan plan = browse_with_slow_catalog();
  plan.duration = 4s;
  plan.fault_at = 2500ms;
  bool stopped = false;
  plan.on_progress = [&](const shopctl::LoadProgress&) {
    if (!stopped) {
      stopped = true;
      shop.stop_service("gateway");
    }
  };
  CHECK_THROWS_AS(shopctl::run_load(shop, plan), shopctl::LoadSetupError);
  CHECK(stopped);
}

// A fault's body that is not UTF-8 was taken; sending or listing it threw nlohmann's type_error.
TEST_CASE("a fault whose text is not UTF-8 is refused with invalid_argument") {
  shopctl::Shop shop(fast_shop());
  shopctl::FaultSpec bad;
  bad.target_service = "catalog";
  bad.type = "abort";
  bad.status = 500;
  bad.body = std::string("\xff\xfe", 2);
  CHECK_THROWS_AS(shop.add_fault(bad), std::invalid_argument);
  CHECK_THROWS_AS(shopctl::fault_json(bad), std::invalid_argument);
  CHECK(shop.faults_json() == R"({"items":[]})");
}

// The runner's progress callback ran on the runner's threads: an exception ended the process.
TEST_CASE("a run's progress callback that throws starts no other scenario; run rethrows it") {
  shopctl::ScenarioRunner runner(shopctl::RunnerOptions{.jobs = 1});
  for (const std::string name : {"one", "two", "three"})
    REQUIRE(runner.add_text(scenario_named(name), name + ".yaml").empty());
  int calls = 0;
  CHECK_THROWS_WITH_AS(runner.run([&](const shopctl::ScenarioResult&, int, int) {
    ++calls;
    throw std::domain_error("stop here");
  }),
                       "stop here", std::domain_error);
  CHECK(calls == 1);
  // The runner is still usable, and runs everything when nothing throws.
  auto report = runner.run();
  CHECK(report.passed() == 3);
}

// A moved-from Shop, ScenarioRunner or AdminClient held a null pointer: any call crashed.
TEST_CASE("an object used after it was moved from says so") {
  shopctl::Shop shop(fast_shop());
  shopctl::Shop taken = std::move(shop);
  CHECK_THROWS_AS((void)shop.gateway_url(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS(shop.advance_clock(1s), std::logic_error);
  CHECK_THROWS_AS(shop.add_fault_json("{}"), std::logic_error);
  CHECK_NOTHROW(shop.shutdown());  // nothing to stop
  CHECK(taken.gateway_url().rfind("http://127.0.0.1:", 0) == 0);

  shopctl::ScenarioRunner runner;
  shopctl::ScenarioRunner other = std::move(runner);
  CHECK_THROWS_AS((void)runner.scenarios(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS(runner.run(), std::logic_error);
  CHECK(other.scenarios().empty());

  auto admin = taken.admin_client();
  auto moved = std::move(admin);
  CHECK_THROWS_AS((void)admin.base_url(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS(admin.services(), std::logic_error);
  CHECK(moved.services().size() == 6);
}

// A moved-from LoadReport held a null pointer: figures() and text() crashed (an outside probe).
TEST_CASE("a LoadReport used after it was moved from says so") {
  shopctl::LoadReport report;
  shopctl::LoadReport taken = std::move(report);
  CHECK_THROWS_AS((void)report.figures(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_AS((void)report.text(), std::logic_error);
  CHECK_THROWS_AS((void)report.passed(), std::logic_error);
  CHECK(taken.figures().requests == 0);
  // A report no run filled passes nothing: it passed with exit 0 (an outside probe), which a
  // CI step would take for a green run.
  CHECK_FALSE(taken.passed());
  CHECK(taken.exit_code() == shopctl::kExitInvalid);
  shopctl::RunReport empty;
  CHECK(empty.exit_code() == shopctl::kExitInvalid);
  CHECK(empty.results().empty());
  CHECK(empty.console_summary().find("no run filled this report") != std::string::npos);
}

// check_plan held a plan to fewer limits than `shopctl load`'s flags: an empty card ran every
// checkout into a failure (reported as a breached threshold), and think went with rate.
TEST_CASE("check_plan refuses an empty card and think with rate, as shopctl load does") {
  shopctl::LoadPlan plan;
  plan.gateway_url = "http://127.0.0.1:1";
  plan.card = "";
  CHECK_THROWS_WITH_AS(shopctl::check_plan(plan),
                       "card: empty; a card number like 4242424242424242", std::invalid_argument);
  plan.card = "4242424242424242";
  plan.rate = 5;
  plan.think = 1s;
  CHECK_THROWS_AS(shopctl::check_plan(plan), std::invalid_argument);
  plan.think = 0s;
  CHECK_NOTHROW(shopctl::check_plan(plan));
}

// think, timeout, fault_at and fault_for took milliseconds::max(): the engine keeps nanoseconds,
// and the pause overflowed to a negative one. Each is a day at most, as the duration.
TEST_CASE("check_plan takes no pause or limit past a day") {
  const auto too_long = std::chrono::milliseconds::max();
  const auto day_and_a_bit = std::chrono::milliseconds(std::chrono::hours(24)) + 1ms;
  for (auto field : {&shopctl::LoadPlan::think, &shopctl::LoadPlan::timeout,
                     &shopctl::LoadPlan::fault_at, &shopctl::LoadPlan::fault_for}) {
    for (auto value : {too_long, day_and_a_bit}) {
      shopctl::LoadPlan plan;
      plan.*field = value;
      CHECK(message_of([&] { shopctl::check_plan(plan); }).find("at most 24h") !=
            std::string::npos);
    }
    shopctl::LoadPlan plan;
    plan.duration = std::chrono::hours(24);
    plan.*field = std::chrono::hours(1);
    CHECK_NOTHROW(shopctl::check_plan(plan));
  }
}

// AdminClient took a timeout of 0: every call "timed out" unsent. A negative advance does
// nothing, through the client as through the Shop (the headers say so).
TEST_CASE("AdminClient refuses a timeout of 0; a clock is not moved backwards") {
  CHECK(message_of([] {
          shopctl::AdminClient client("http://127.0.0.1:1", "t", 0ms);
        }).find("timeout") != std::string::npos);
  CHECK_THROWS_AS(shopctl::AdminClient("http://127.0.0.1:1", "t", -5ms), std::invalid_argument);
  shopctl::Shop shop(fast_shop());
  auto admin = shop.admin_client();
  CHECK(admin.advance_clock(1h) == 1h);
  CHECK(admin.advance_clock(-1h) == 1h);
  CHECK(shop.advance_clock(-1h) == 1h);
  CHECK(admin.clock_offset() == 1h);
}

// A run against a shop that went away before the end put nothing back, and said so on the
// embedding program's stderr only: the report said nothing.
TEST_CASE("a target that cannot be put back at the end is named in the run's report") {
  auto shop = std::make_unique<shopctl::Shop>(fast_shop());
  shopctl::ScenarioRunner runner(shopctl::RunnerOptions{
      .jobs = 1, .target = shop->gateway_url(), .admin_token = shop->admin_token()});
  REQUIRE(runner.add_text(scenario_named("gone"), "gone.yaml").empty());
  auto report = runner.run([&](const shopctl::ScenarioResult&, int, int) { shop->shutdown(); });
  CHECK(report.passed() == 1);
  CHECK(report.console_summary().find("not put back") != std::string::npos);
  CHECK(report.json().find("\"target_restore_error\"") != std::string::npos);
}

// advance_clock(INT64_MAX ms) overflowed the offset to a negative one: the shop's time went
// back to before 1970, and every token and breaker with it. The admin plane did the same after
// two advances of 2,000,000 hours.
TEST_CASE("the clock moves at most 100 years in all, and says so past that") {
  shopctl::Shop shop(fast_shop());
  const auto message = message_of([&] { shop.advance_clock(std::chrono::milliseconds::max()); });
  CHECK(message.find("100 years") != std::string::npos);
  CHECK(shop.clock_offset() == 0ms);
  const auto sixty_years =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::hours(24 * 365 * 60));
  CHECK(shop.advance_clock(sixty_years) == sixty_years);
  CHECK_THROWS_AS(shop.advance_clock(sixty_years), std::invalid_argument);
  CHECK(shop.clock_offset() == sixty_years);

  auto admin = shop.admin_client();
  auto answer = admin.send("POST", "/_admin/clock/advance", R"({"by": "2000000h"})");
  CHECK(answer.status == 400);
  CHECK(answer.body.find("100 years") != std::string::npos);
  CHECK(admin.clock_offset() == sixty_years);
  CHECK_THROWS_AS(admin.advance_clock(sixty_years), shopctl::AdminError);
}

// A NaN probability compared false with both 0 and 1, so it passed the range check and was
// stored as null.
TEST_CASE("a fault's probability must be a number from 0 to 1") {
  shopctl::Shop shop(fast_shop());
  shopctl::FaultSpec spec;
  spec.target_service = "catalog";
  spec.type = "reset";
  spec.probability = std::nan("");
  CHECK(message_of([&] { shop.add_fault(spec); }).find("probability") != std::string::npos);
  spec.probability = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(shop.add_fault(spec), std::invalid_argument);
  CHECK(shop.faults_json() == R"({"items":[]})");
  spec.probability = 0.5;
  CHECK_NOTHROW(shop.add_fault(spec));
}

// AdminClient took "http://" (no host) and a port of 99999, and failed later as unreachable;
// "" was reported as "got '/'", and a path with CR LF as "expected an http:// URL".
TEST_CASE("AdminClient refuses a URL without a host or with a port out of range, and bad paths") {
  auto refused = [](const std::string& url) {
    return message_of([&] { shopctl::AdminClient client(url, "token"); });
  };
  CHECK(refused("http://").find("'http://'") != std::string::npos);
  CHECK(refused("http://127.0.0.1:99999").find("'http://127.0.0.1:99999'") != std::string::npos);
  CHECK(refused("http://127.0.0.1:0").find("port from 1 to 65535") != std::string::npos);
  CHECK(refused("").find("got ''") != std::string::npos);
  CHECK(refused("ftp://127.0.0.1:21").find("http://") != std::string::npos);

  shopctl::AdminClient client("http://127.0.0.1:1", "token");
  const auto bad_path = message_of([&] { client.send("GET", "/_admin/x\r\nX-Evil: 1"); });
  CHECK(bad_path.find("path") != std::string::npos);
  CHECK(message_of([&] { client.send("GET", "_admin/services"); }).find("path") !=
        std::string::npos);
  CHECK(message_of([&] { client.send("GE T", "/_admin/services"); }).find("method") !=
        std::string::npos);
  // Both were taken without a word: "get" got the shop's 405, the user name was dropped.
  CHECK(message_of([&] { client.send("get", "/_admin/services"); }).find("upper case") !=
        std::string::npos);
  CHECK(refused("http://user:pw@127.0.0.1:8080").find("user name or password") !=
        std::string::npos);
}

// threads = 100000 failed as std::runtime_error ("the shop could not start"), and two services
// on one port as "in use by another process".
TEST_CASE("a Shop's thread count and ports are settings: std::invalid_argument") {
  shopctl::ShopOptions options = fast_shop();
  options.threads = 100000;
  CHECK(message_of([&] { shopctl::Shop shop(options); }).find("threads") != std::string::npos);
  options.threads = 2;
  options.ports = {{"auth", 47123}, {"catalog", 47123}};
  const auto message = message_of([&] { shopctl::Shop shop(options); });
  CHECK(message.find("auth") != std::string::npos);
  CHECK(message.find("catalog") != std::string::npos);
  CHECK(message.find("47123") != std::string::npos);
}

// Bytes that are not UTF-8 reached nlohmann's serializer: a card made every user's pay request
// throw (the run ended after 10 ms and passed); a breaker state and a scenario's file name
// threw nlohmann's type_error out of the API; a token with a line break was dropped unsent.
TEST_CASE("text that is not UTF-8, or a token with a line break, gets a documented error") {
  shopctl::LoadPlan plan;
  plan.card = "4242\xff";
  CHECK(message_of([&] { shopctl::check_plan(plan); }).find("card") != std::string::npos);
  plan.card = std::string(65, '4');
  CHECK_THROWS_AS(shopctl::check_plan(plan), std::invalid_argument);
  plan.card = "4000000000000002";
  CHECK_NOTHROW(shopctl::check_plan(plan));

  CHECK(message_of([] {
          shopctl::AdminClient client("http://127.0.0.1:1", "adm_x\n");
        }).find("admin token") != std::string::npos);

  shopctl::Shop shop(fast_shop());
  auto admin = shop.admin_client();
  CHECK_THROWS_AS(admin.set_breaker("order->catalog", "CLOSED\xff"), shopctl::AdminError);
  try {
    admin.set_breaker("nope", "CLOSED");
    FAIL("no AdminError");
  } catch (const shopctl::AdminError& e) {
    CHECK(e.status() == 404);
    CHECK(std::string(e.what()).find("POST /_admin/circuit-breakers/nope answered 404") == 0);
  }

  shopctl::ScenarioRunner runner(shopctl::RunnerOptions{.jobs = 1});
  REQUIRE(runner.add_text(scenario_named("latin"), "caf\xe9.yaml").empty());
  auto report = runner.run();
  CHECK(report.passed() == 1);
  std::string json;
  CHECK_NOTHROW(json = report.json());
  CHECK(json.find("caf\xef\xbf\xbd.yaml") != std::string::npos);  // U+FFFD, as the JUnit report
}

// After shutdown(), restart_service("catalog") brought the catalog back on a closed shop (its
// database reopened), and add_fault or advance_clock returned as if they had done something.
TEST_CASE("a Shop that was shut down refuses the calls that change it; its reads still answer") {
  shopctl::Shop shop(fast_shop());
  const auto gateway = shop.gateway_url();
  shop.shutdown();
  CHECK_THROWS_AS(shop.restart_service("catalog"), std::logic_error);
  CHECK_THROWS_AS(shop.start_service("catalog"), std::logic_error);
  CHECK_THROWS_AS(shop.advance_clock(1s), std::logic_error);
  CHECK_THROWS_WITH_AS(shop.add_fault_json(R"({"target_service":"catalog","type":"reset"})"),
                       doctest::Contains("shut down"), std::logic_error);
  CHECK_THROWS_AS(shop.clear_faults(), std::logic_error);
  CHECK(shop.gateway_url() == gateway);
  for (const auto& service : shop.services()) CHECK_FALSE(service.running);
  CHECK_NOTHROW(shop.shutdown());
}

namespace {
std::size_t entries(const char* folder) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(folder)) ++n;
  return n;
}
}  // namespace

// shutdown() kept the shop's threads and sockets until the object went: about 10 threads and
// 13 descriptors for each shut-down Shop a program kept for its reads (an outside probe).
TEST_CASE("shutdown lets the shop's threads and descriptors go; the reads still answer") {
  const auto threads_before = entries("/proc/self/task");
  const auto fds_before = entries("/proc/self/fd");
  shopctl::Shop shop(fast_shop());
  const auto gateway = shop.gateway_url();
  const auto catalog = shop.url("catalog");
  const auto folder = shop.data_dir();
  REQUIRE(entries("/proc/self/task") > threads_before);
  shop.shutdown();
  // About 10 threads and 13 descriptors stayed. Room for one helper thread of the process that
  // a first shop may start (and that outlives it), and for the temporary folder's marker,
  // locked while the object keeps the folder (else another shopctl would sweep it as left by a
  // killed one), and one more descriptor of such a helper.
  CHECK(entries("/proc/self/task") <= threads_before + 1);
  CHECK(entries("/proc/self/fd") <= fds_before + 2);
  CHECK(shop.gateway_url() == gateway);
  CHECK(shop.url("catalog") == catalog);
  CHECK_THROWS_AS((void)shop.url("nope"), std::invalid_argument);
  CHECK(shop.services().size() == 6);
  for (const auto& service : shop.services()) CHECK_FALSE(service.running);
  CHECK(shop.data_dir() == folder);
  CHECK(std::filesystem::exists(folder));  // a temporary folder goes with the object
  CHECK(shop.faults_json() == R"({"items":[]})");
  CHECK_FALSE(shop.admin_token().empty());
}

// A target that is no gateway URL made every scenario a shop_error ("not a url/_admin/services"),
// and one with a path a 404 blamed on the admin token.
TEST_CASE("a ScenarioRunner's target must be a gateway's base URL") {
  const auto refused = [](const std::string& target) {
    return message_of([&] { shopctl::ScenarioRunner runner({.target = target}); });
  };
  CHECK(refused("not a url").find("http://") != std::string::npos);
  CHECK(refused("http://127.0.0.1:8080/api").find("without a path") != std::string::npos);
  CHECK(refused("http://127.0.0.1:99999").find("65535") != std::string::npos);
  CHECK_NOTHROW(shopctl::ScenarioRunner({.target = "http://127.0.0.1:8080/"}));
}

// An outside probe of the embedding API: AdminClient::remove_fault("") switched every fault off
// (DELETE /_admin/faults/ is the table's clear, a trailing '/' reaching the same route), and
// start_service("catalog/stop?") stopped the catalog (the name went into the path as it was).
TEST_CASE("AdminClient removes one fault by a real id, and a service name stays a name") {
  shopctl::Shop shop(fast_shop());
  auto admin = shop.admin_client();
  shopctl::FaultSpec slow;
  slow.target_service = "catalog";
  slow.type = "delay";
  slow.delay = "1ms";
  admin.add_fault(slow);
  admin.add_fault(slow);
  try {
    admin.remove_fault("");
    FAIL("no AdminError");
  } catch (const shopctl::AdminError& e) {
    CHECK(e.status() == 404);
    CHECK(std::string(e.what()).find("clear_faults()") != std::string::npos);
  }
  CHECK(admin.faults_json().find("\"catalog\"") != std::string::npos);  // both still there

  CHECK_THROWS_AS(admin.start_service("catalog/stop?"), shopctl::AdminError);
  CHECK_THROWS_AS(admin.stop_service("auth?x=1"), shopctl::AdminError);
  for (const auto& service : shop.services()) {
    CAPTURE(service.name);
    CHECK(service.running);
  }
}

// AdminClient("http://127.0.0.1:P?x=1") answered services() with an empty list and no error,
// and one with a path blamed a 404 on the route; check_plan took a gateway_url run_load then
// refused with a message about an internal route.
TEST_CASE("AdminClient and check_plan take a base URL without a path, query or fragment") {
  for (const char* url : {"http://127.0.0.1:8080?x=1", "http://127.0.0.1:8080/x",
                          "http://127.0.0.1:8080#f", "http://127.0.0.1:8080/_admin"}) {
    CAPTURE(url);
    CHECK(message_of([&] {
            shopctl::AdminClient client(url, "token");
          }).find("without a path, query or fragment") != std::string::npos);
  }
  CHECK_NOTHROW(shopctl::AdminClient("http://127.0.0.1:8080/", "token"));
  shopctl::LoadPlan plan;
  for (const char* url : {"http://127.0.0.1:99999", "http://127.0.0.1:8080/api", "not a url"}) {
    CAPTURE(url);
    plan.gateway_url = url;
    CHECK(message_of([&] { shopctl::check_plan(plan); }).find("gateway_url") != std::string::npos);
  }
  plan.gateway_url = "http://127.0.0.1:8080/";
  CHECK_NOTHROW(shopctl::check_plan(plan));
}

// shutdown(milliseconds::max()) overflowed the deadline and cut the requests in flight at
// once; and the data folder stayed locked until the Shop object went, so that the next Shop
// on it (what the library's own message after shutdown() advises) was refused.
TEST_CASE("shutdown with a grace past any deadline lets requests finish, and frees the folder") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("shopctl-misuse-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto options = fast_shop();
  options.data_dir = dir.string();
  {
    shopctl::Shop shop(options);
    shopctl::FaultSpec slow;
    slow.target_service = "gateway";
    slow.type = "delay";
    slow.delay = "600ms";
    shop.add_fault(slow);
    const auto url = shop.gateway_url();
    std::promise<int> status;
    std::thread client([&] {
      try {
        auto answer =
            shopctl::AdminClient(url, shop.admin_token()).send("GET", "/api/catalog/products");
        status.set_value(answer.status);
      } catch (...) {
        status.set_value(-1);
      }
    });
    std::this_thread::sleep_for(200ms);  // the request is in flight, held by the delay
    const auto began = std::chrono::steady_clock::now();
    shop.shutdown(std::chrono::milliseconds::max());
    client.join();
    CHECK(status.get_future().get() > 0);  // answered (401: no user token), not cut
    CHECK(std::chrono::steady_clock::now() - began >= 200ms);
    // The folder is free once the shop is shut down, while the object still lives.
    CHECK_NOTHROW(shopctl::Shop(options).shutdown());
  }
  std::filesystem::remove_all(dir);
}

// A body over the shop's limit is answered 413 before the shop has read it all, and the
// connection closed: AdminClient::send of 20 MB threw Unreachable ("write: Broken pipe") where
// 1 and 5 MB got the 413 (an outside probe).
TEST_CASE("AdminClient::send of a body far over the shop's limit gets the shop's 413") {
  shopctl::Shop shop(fast_shop());
  shopctl::AdminClient admin(shop.gateway_url(), shop.admin_token());
  for (const std::size_t mb : {5u, 20u, 40u}) {
    CAPTURE(mb);
    const std::string body = "{\"x\":\"" + std::string(mb << 20, 'a') + "\"}";
    shopctl::AdminAnswer answer;
    CHECK_NOTHROW(answer = admin.send("POST", "/_admin/faults", body));
    CHECK(answer.status == 413);
  }
  CHECK(admin.services().size() == 6);  // and the client goes on with a new connection
}
