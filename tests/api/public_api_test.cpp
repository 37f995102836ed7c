// The public C++ API (include/shopctl/), used the way an embedding program uses it: through
// the public headers only (tests/architecture/include_rules_test.cpp holds this file to that),
// with a small HTTP client of its own on plain sockets.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <shopctl/admin_client.hpp>
#include <shopctl/load.hpp>
#include <shopctl/scenario_runner.hpp>
#include <shopctl/shop.hpp>
#include <shopctl/version.hpp>

using namespace std::chrono_literals;

namespace {

// GETs `path` from the loopback URL `base` ("http://127.0.0.1:PORT") with HTTP/1.0; returns
// the status, or 0 when the connection was refused or no status line came.
int http_get_status(const std::string& base, const std::string& path) {
  const auto colon = base.rfind(':');
  const int port = std::stoi(base.substr(colon + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buffer[64] = {};
      const auto n = ::recv(fd, buffer, sizeof buffer - 1, 0);
      const std::string head(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
      // "HTTP/1.1 200 OK"
      if (head.size() >= 12 && head.rfind("HTTP/", 0) == 0) status = std::stoi(head.substr(9, 3));
    }
  }
  ::close(fd);
  return status;
}

shopctl::ShopOptions test_options() {
  shopctl::ShopOptions options;
  options.threads = 2;
  options.config_yaml = "auth: {password_hashing: fast}";
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr const char* kPassingScenario = R"yaml(version: 1
name: the catalog answers a shopper who signed in
tags: [api]
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
    expect: {status: 200}
steps:
  - name: the first page of products
    request: {GET: /api/catalog/products}
    expect: {status: 200, json: {$.page: 1}}
)yaml";

}  // namespace

TEST_CASE("the version and the exit codes are public constants") {
  CHECK(shopctl::library_version() == shopctl::kVersion);
  CHECK(shopctl::kExitOk == 0);
  CHECK(shopctl::kExitUsage == 1);
  CHECK(shopctl::kExitInvalid == 2);
  CHECK(shopctl::kExitShop == 3);
  CHECK(shopctl::kExitExpectation == 4);
}

TEST_CASE("an embedded shop answers on its gateway and names its six services") {
  shopctl::Shop shop(test_options());
  CHECK(http_get_status(shop.gateway_url(), "/health/live") == 200);
  CHECK(shop.gateway_url() == shop.url("gateway"));
  CHECK_FALSE(shop.admin_token().empty());
  CHECK(shop.demo_email() == "demo@shop.test");
  CHECK(std::filesystem::is_directory(shop.data_dir()));

  auto services = shop.services();
  REQUIRE(services.size() == 6);
  for (const auto& s : services) {
    INFO(s.name);
    CHECK(s.running);
    CHECK(s.url.rfind("http://127.0.0.1:", 0) == 0);
    CHECK(s.database.empty() == (s.name == "gateway"));
  }
  CHECK_THROWS_AS(shop.url("warehouse"), std::invalid_argument);

  const auto data = shop.data_dir();
  shop.shutdown();
  shop.shutdown();  // the second time does nothing
  CHECK(http_get_status(services.front().url, "/health/live") == 0);
  (void)data;
}

TEST_CASE("an embedded shop's temporary data folder goes with it") {
  std::string data;
  {
    shopctl::Shop shop(test_options());
    data = shop.data_dir();
    CHECK(std::filesystem::exists(data));
  }
  CHECK_FALSE(std::filesystem::exists(data));
}

TEST_CASE("invalid shop settings are refused with their position before anything starts") {
  auto options = test_options();
  options.config_yaml = "order:\n  catalog_client: {timeout: soon}\n";
  try {
    shopctl::Shop shop(options);
    FAIL("the shop started with an invalid timeout");
  } catch (const std::invalid_argument& e) {
    INFO(e.what());
    CHECK(contains(e.what(), "config_yaml:2:"));
  }
  options = test_options();
  options.ports["warehouse"] = 0;
  CHECK_THROWS_AS(shopctl::Shop{options}, std::invalid_argument);
}

TEST_CASE("a service stopped through the public Shop refuses connections until it starts again") {
  shopctl::Shop shop(test_options());
  const auto catalog = shop.url("catalog");
  REQUIRE(http_get_status(catalog, "/health/live") == 200);

  shop.stop_service("catalog");
  CHECK(http_get_status(catalog, "/health/live") == 0);
  for (const auto& s : shop.services()) {
    if (s.name == "catalog") CHECK_FALSE(s.running);
  }
  shop.start_service("catalog");
  CHECK(http_get_status(catalog, "/health/live") == 200);

  shop.crash_service("catalog");
  CHECK(http_get_status(catalog, "/health/live") == 0);
  shop.restart_service("catalog");
  CHECK(http_get_status(catalog, "/health/live") == 200);
  CHECK_THROWS_AS(shop.stop_service("warehouse"), std::invalid_argument);
}

TEST_CASE("a fault added through the public Shop acts on the real connection until removed") {
  shopctl::Shop shop(test_options());
  const auto gateway = shop.gateway_url();
  // Without a token the gateway refuses the cart itself; a fault answers before it does.
  REQUIRE(http_get_status(gateway, "/api/cart") == 401);

  shopctl::FaultSpec spec;
  spec.target_service = "gateway";
  spec.type = "abort";
  spec.status = 503;
  spec.path = "/api/cart";
  const auto id = shop.add_fault(spec);
  CHECK_FALSE(id.empty());
  CHECK(contains(shop.faults_json(), "\"" + id + "\""));
  CHECK(http_get_status(gateway, "/api/cart") == 503);

  CHECK(shop.remove_fault(id));
  CHECK_FALSE(shop.remove_fault(id));
  CHECK(http_get_status(gateway, "/api/cart") == 401);

  shop.add_fault_json(R"({"target": "gateway", "type": "abort", "status": 418})");
  CHECK(http_get_status(gateway, "/api/cart") == 418);
  shop.clear_faults();
  CHECK(http_get_status(gateway, "/api/cart") == 401);
  CHECK(shop.faults_json() == R"({"items":[]})");

  // The checks of `shopctl fault add`, in the words of its flags.
  shopctl::FaultSpec no_delay;
  no_delay.target_service = "catalog";
  no_delay.type = "delay";
  CHECK_THROWS_WITH_AS(shop.add_fault(no_delay), "a delay fault needs --delay",
                       std::invalid_argument);
  shopctl::FaultSpec unknown = no_delay;
  unknown.target_service = "warehouse";
  CHECK_THROWS_AS(shop.add_fault(unknown), std::invalid_argument);
  CHECK_THROWS_AS(shop.add_fault_json("{\"target\": \"catalog\"}"), std::invalid_argument);
  CHECK(shopctl::fault_json(spec).find("\"abort\"") != std::string::npos);
}

TEST_CASE("the simulated clock moves forward through the Shop and through its admin client") {
  shopctl::Shop shop(test_options());
  CHECK(shop.clock_offset() == 0ms);
  CHECK(shop.advance_clock(61s) == 61s);
  CHECK(shop.advance_clock(-5s) == 61s);  // the clock only moves forward

  auto admin = shop.admin_client();
  CHECK(admin.clock_offset() == 61s);
  CHECK(admin.advance_clock(1500ms) == 62500ms);
  CHECK(shop.clock_offset() == 62500ms);
}

TEST_CASE("the admin client drives a running shop: services, faults, breakers, call records") {
  shopctl::Shop shop(test_options());
  shopctl::AdminClient admin(shop.gateway_url(), shop.admin_token(), 5s);
  CHECK(admin.base_url() == shop.gateway_url());

  auto services = admin.services();
  CHECK(services.size() == 6);
  // The calls that only read the shop are const: a const client (a member read by a const
  // function, say) can ask them.
  const shopctl::AdminClient& reader = admin;
  CHECK(reader.services().size() == 6);
  CHECK(reader.faults_json() == R"({"items":[]})");
  CHECK(reader.breakers().size() >= 1);
  CHECK(reader.clock_offset() == 0ms);
  CHECK(contains(reader.calls_json(), "next_seq"));
  CHECK(contains(reader.edges_json(), "{"));

  admin.stop_service("payment");
  CHECK(http_get_status(shop.url("payment"), "/health/live") == 0);
  admin.start_service("payment");
  CHECK(http_get_status(shop.url("payment"), "/health/live") == 200);
  try {
    admin.stop_service("gateway");
    FAIL("the gateway was stopped through its own admin plane");
  } catch (const shopctl::AdminError& e) {
    CHECK(e.status() == 409);
  }

  shopctl::FaultSpec spec;
  spec.target_service = "catalog";
  spec.type = "delay";
  spec.delay = "10ms";
  spec.first = 1;
  const auto id = admin.add_fault(spec);
  CHECK(contains(admin.faults_json(), id));
  admin.remove_fault(id);
  CHECK_THROWS_AS(admin.remove_fault(id), shopctl::AdminError);
  admin.add_fault_json(R"({"target": "order", "type": "reset"})");
  admin.clear_faults();
  CHECK(shop.faults_json() == R"({"items":[]})");

  admin.set_breaker("order->catalog", "FORCED_OPEN");
  bool forced = false;
  for (const auto& b : admin.breakers()) {
    if (b.name == "order->catalog") {
      CHECK(b.service == "order");
      forced = b.state == "FORCED_OPEN";
    }
  }
  CHECK(forced);
  admin.set_breaker("order->catalog", "CLOSED");
  CHECK_THROWS_AS(admin.set_breaker("order->catalog", "SIDEWAYS"), shopctl::AdminError);

  CHECK(contains(admin.calls_json(), "next_seq"));
  CHECK(contains(admin.edges_json(), "\"edges\""));
  auto raw = admin.send("GET", "/_admin/info");
  CHECK(raw.ok());
  CHECK(contains(raw.body, "gateway"));

  shopctl::AdminClient wrong(shop.gateway_url(), "not-the-token", 5s);
  CHECK_THROWS_AS(wrong.services(), shopctl::AdminError);
  CHECK(wrong.send("GET", "/_admin/info").status == 401);
  const auto url = shop.gateway_url();
  shop.shutdown();
  shopctl::AdminClient gone(url, "token", 2s);
  CHECK_THROWS_AS(gone.services(), shopctl::Unreachable);
  CHECK_THROWS_AS(shopctl::AdminClient("ftp://example", "token"), std::invalid_argument);
}

TEST_CASE("ScenarioRunner reports every problem of a broken file at its line and column") {
  shopctl::ScenarioRunner runner;
  const std::string broken =
      "version: 1\n"
      "name: broken\n"
      "steps:\n"
      "  - request: {GET: /api/cart}\n"
      "    expect: {status: 200, latncy: {lt: 1s}}\n"
      "  - wait: soon\n";
  auto problems = runner.add_text(broken, "broken.yaml");
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].file == "broken.yaml");
  CHECK(problems[0].line == 5);
  CHECK(problems[0].column > 1);
  CHECK(contains(problems[0].message, "latncy"));
  CHECK(problems[1].line == 6);
  CHECK(problems[0].to_string().rfind("broken.yaml:5:", 0) == 0);
  CHECK(contains(problems[0].to_string(), ": error: "));
  // Formatted as `shopctl validate` prints them: the line and a caret under the column.
  const auto text = runner.format(problems);
  CHECK(contains(text, "    expect: {status: 200, latncy: {lt: 1s}}\n"));
  CHECK(contains(text, "^"));
  CHECK(runner.scenarios().empty());

  auto missing = runner.add_files({"/nonexistent/scenarios"});
  REQUIRE(missing.size() == 1);
  CHECK(contains(missing[0].message, "no such file"));

  // A folder: every file is checked; the valid one is added, the broken one is not.
  const auto dir =
      std::filesystem::temp_directory_path() / ("shopctl-api-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a-valid.yaml") << kPassingScenario;
  std::ofstream(dir / "b-broken.yaml") << broken;
  auto found = runner.add_files({dir.string()});
  CHECK(found.size() == 2);
  CHECK(found[0].file == (dir / "b-broken.yaml").string());
  CHECK(shopctl::ScenarioRunner::validate({dir.string()}).size() == 2);
  REQUIRE(runner.scenarios().size() == 1);
  CHECK(runner.scenarios()[0].name == "the catalog answers a shopper who signed in");
  CHECK(runner.scenarios()[0].steps == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ScenarioRunner runs scenarios on fresh shops and writes JUnit and JSON reports") {
  shopctl::ScenarioRunner runner(shopctl::RunnerOptions{.jobs = 2});
  REQUIRE(runner.add_text(kPassingScenario, "passing.yaml").empty());
  REQUIRE(runner
              .add_text("version: 1\n"
                        "name: a cart without a token is refused\n"
                        "steps:\n"
                        "  - request: {GET: /api/cart, auth: none}\n"
                        "    expect: {status: 200}\n",
                        "failing.yaml")
              .empty());
  int reported = 0;
  auto report = runner.run([&](const shopctl::ScenarioResult&, int done, int total) {
    ++reported;
    CHECK(done <= total);
  });
  CHECK(reported == 2);
  REQUIRE(report.results().size() == 2);
  CHECK(report.passed() == 1);
  CHECK(report.failed() == 1);
  CHECK(report.exit_code() == shopctl::kExitExpectation);

  const auto& passed = report.results()[0];
  CHECK(passed.outcome == shopctl::ScenarioOutcome::passed);
  CHECK(passed.file == "passing.yaml");
  CHECK(passed.steps == 2);
  CHECK(passed.duration_ms > 0);
  const auto& failed = report.results()[1];
  CHECK(failed.outcome == shopctl::ScenarioOutcome::failed);
  CHECK(failed.status == "failed");
  REQUIRE_FALSE(failed.failures.empty());
  CHECK(failed.failures[0].where.rfind("failing.yaml:5:", 0) == 0);
  CHECK(failed.failures[0].status == 401);
  CHECK(contains(failed.failures[0].message, "401"));

  CHECK(contains(report.junit_xml(), "<testcase classname=\"passing\" name="));
  CHECK(contains(report.json(), "\"passed\": 1"));
  CHECK(contains(report.console_summary(), "scenarios: 1 passed, 1 failed"));
  const auto file = std::filesystem::temp_directory_path() /
                    ("shopctl-api-junit-" + std::to_string(::getpid()) + ".xml");
  report.write_junit(file.string());
  CHECK(std::filesystem::file_size(file) > 100);
  std::filesystem::remove(file);
  CHECK_THROWS_AS(report.write_json("/nonexistent/dir/report.json"), std::runtime_error);
}

TEST_CASE("ScenarioRunner runs against an embedded shop as its target, and skips by tag") {
  shopctl::Shop shop(test_options());
  shopctl::RunnerOptions options;
  options.target = shop.gateway_url();
  options.admin_token = shop.admin_token();
  shopctl::ScenarioRunner runner(options);
  REQUIRE(runner.add_text(kPassingScenario, "passing.yaml").empty());
  // A setting a running shop cannot take is refused when the file is added.
  auto refused = runner.add_text(
      "version: 1\nname: ports\nconfig: {ports: {gateway: 1}}\nsteps:\n  - wait: 1ms\n",
      "ports.yaml");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].line == 3);
  CHECK(runner.scenarios().size() == 1);

  auto report = runner.run();
  CHECK(report.passed() == 1);
  CHECK(report.exit_code() == shopctl::kExitOk);

  options.skip_tags = {"api"};
  shopctl::ScenarioRunner skipping(options);
  REQUIRE(skipping.add_text(kPassingScenario, "passing.yaml").empty());
  REQUIRE(skipping.add_text("version: 1\nname: untagged\nsteps:\n  - wait: 1ms\n", "other.yaml")
              .empty());
  auto skipped = skipping.run();
  CHECK(skipped.skipped() == 1);
  CHECK(skipped.passed() == 1);
  CHECK(skipped.results()[0].outcome == shopctl::ScenarioOutcome::skipped);
  CHECK(skipped.exit_code() == shopctl::kExitOk);

  shopctl::ScenarioRunner no_token(shopctl::RunnerOptions{.target = shop.gateway_url()});
  CHECK_THROWS_AS(no_token.run(), std::invalid_argument);
}

TEST_CASE("ScenarioRunner against a target holds the shop's run lease as shopctl run does") {
  // An API run and a `shopctl run --target` on the same shop both went ahead and reset each
  // other's faults: the API took no lease.
  shopctl::Shop shop(test_options());
  shopctl::AdminClient admin(shop.gateway_url(), shop.admin_token());
  const std::string other = R"({"holder": "other-run", "about": "another run"})";
  REQUIRE(admin.send("POST", "/_admin/lease", other).ok());

  shopctl::RunnerOptions options;
  options.target = shop.gateway_url();
  options.admin_token = shop.admin_token();
  shopctl::ScenarioRunner runner(options);
  REQUIRE(runner.add_text(kPassingScenario, "passing.yaml").empty());
  const auto refused = runner.run();
  CHECK(refused.exit_code() == shopctl::kExitShop);
  CHECK(refused.results().empty());
  CHECK(contains(refused.console_summary(), shop.gateway_url() + " is in use: another run uses "
                                                                 "it (another run)"));
  CHECK(contains(refused.console_summary(), "nothing ran (exit 3)"));

  // Free again: the run takes the lease, holds it while it runs, and releases it at its end.
  REQUIRE(admin.send("POST", "/_admin/lease/release", R"({"holder": "other-run"})").ok());
  int while_running = 0;
  const auto report = runner.run([&](const shopctl::ScenarioResult&, int, int) {
    shopctl::AdminClient own(shop.gateway_url(), shop.admin_token());
    while_running = own.send("POST", "/_admin/lease", other).status;
  });
  CHECK(report.passed() == 1);
  CHECK(while_running == 409);
  CHECK(admin.send("POST", "/_admin/lease", other).status == 200);
}

TEST_CASE("RunReport::exit_code() is not 0 when nothing ran, as shopctl run exits") {
  // Tags that left nothing, a tag that is not one word, or no scenario at all gave exit 0:
  // a CI gate passed with nothing run, where shopctl run exits 1 or 2.
  auto run_with = [](shopctl::RunnerOptions options) {
    shopctl::ScenarioRunner runner(std::move(options));
    REQUIRE(runner.add_text(kPassingScenario, "passing.yaml").empty());
    return runner.run();
  };
  const auto none_left = run_with({.tags = {"nomatch"}});
  CHECK(none_left.exit_code() == shopctl::kExitUsage);
  CHECK(none_left.results().empty());
  CHECK(contains(none_left.console_summary(), "leave none of the 1 scenario(s) to run"));
  CHECK(run_with({.skip_tags = {"api"}}).exit_code() == shopctl::kExitUsage);
  CHECK(run_with({.tags = {"api,beta"}}).exit_code() == shopctl::kExitUsage);
  CHECK(run_with({.tags = {""}}).exit_code() == shopctl::kExitUsage);
  CHECK(run_with({.skip_tags = {"two words"}}).exit_code() == shopctl::kExitUsage);

  shopctl::ScenarioRunner empty;
  CHECK(empty.run().exit_code() == shopctl::kExitInvalid);
  CHECK_FALSE(empty.add_files({"/nonexistent/dir"}).empty());
  const auto after_bad_add = empty.run();
  CHECK(after_bad_add.exit_code() == shopctl::kExitInvalid);
  CHECK(contains(after_bad_add.console_summary(), "no scenario to run"));
}

TEST_CASE("a load plan is checked before anything runs") {
  shopctl::LoadPlan plan;
  CHECK_NOTHROW(shopctl::check_plan(plan));
  plan.mix = "browse=1,teleport=2";
  CHECK_THROWS_AS(shopctl::check_plan(plan), std::invalid_argument);
  plan = {};
  plan.thresholds = {"p99 under 50ms"};
  CHECK_THROWS_AS(shopctl::check_plan(plan), std::invalid_argument);
  plan = {};
  plan.fault_json = {R"({"target": "catalog", "type": "reset"})"};
  CHECK_THROWS_WITH_AS(shopctl::check_plan(plan), "faults need the shop's admin token",
                       std::invalid_argument);
  plan = {};
  plan.duration = 0ms;
  CHECK_THROWS_AS(shopctl::check_plan(plan), std::invalid_argument);
  plan = {};
  plan.gateway_url = "http://127.0.0.1:1";
  plan.duration = 100ms;
  CHECK_THROWS_AS(shopctl::run_load(plan), shopctl::LoadSetupError);
}

TEST_CASE("load runs against an embedded shop, with a fault, and reports its thresholds") {
  shopctl::Shop shop(test_options());
  shopctl::LoadPlan plan;
  plan.users = 2;
  plan.duration = 700ms;
  plan.mix = "browse=3,product=1";
  plan.thresholds = {"errors<100%", "p99<1ms", "checkout.errors<1%"};
  shopctl::FaultSpec slow;
  slow.target_service = "catalog";
  slow.type = "delay";
  slow.delay = "5ms";
  plan.faults = {slow};
  int ticks = 0;
  plan.on_progress = [&](const shopctl::LoadProgress&) { ++ticks; };

  auto report = shopctl::run_load(shop, plan);
  CHECK(ticks >= 1);
  CHECK(report.figures().requests > 0);
  CHECK(report.figures().seconds > 0.5);
  // Every request waited 5 ms at the catalog: "p99<1ms" cannot hold.
  CHECK(report.figures().p99_ms >= 5);
  REQUIRE(report.verdicts().size() == 3);
  CHECK(report.verdicts()[0].passed);
  CHECK_FALSE(report.verdicts()[0].no_samples);
  CHECK_FALSE(report.verdicts()[1].passed);
  CHECK(report.verdicts()[1].unit == "ms");
  // The mix has no checkout: nothing of it ran, so its threshold is not met, and says why.
  CHECK_FALSE(report.verdicts()[2].passed);
  CHECK(report.verdicts()[2].no_samples);
  CHECK(contains(report.json(), "\"no_samples\": true"));
  // The shop runs in this process: the CPU is split between it and the load generator.
  CHECK(contains(report.text(), "cpu: shop "));
  CHECK_FALSE(contains(report.text(), "the shop runs elsewhere"));
  CHECK(contains(report.json(), "\"shop_in_process\": true"));
  CHECK_FALSE(report.passed());
  CHECK(report.exit_code() == shopctl::kExitExpectation);
  CHECK(contains(report.text(), "p99<1ms"));
  CHECK(contains(report.json(), "\"thresholds\""));
  CHECK(shop.faults_json() == R"({"items":[]})");  // switched off at the end
}

// The clock's offset is kept in a shop's own data folder, as the admin route keeps it: a Shop
// started again there goes on from it (it went back to real time, and what the later clock had
// scheduled waited).
TEST_CASE(
    "an embedded shop on a data folder of its own keeps its clock's offset across a restart") {
  const auto folder =
      std::filesystem::temp_directory_path() / ("shopctl-api-clock-" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  auto options = test_options();
  options.data_dir = folder.string();
  {
    shopctl::Shop shop(options);
    CHECK(shop.advance_clock(std::chrono::hours(10)) == std::chrono::hours(10));
  }
  {
    shopctl::Shop shop(options);
    CHECK(shop.clock_offset() == std::chrono::hours(10));
    CHECK(shop.advance_clock(1s) == std::chrono::hours(10) + 1s);
  }
  std::filesystem::remove_all(folder);
}

// A data folder holds one layout: `serve --processes` keeps D/order/order.db. An embedded shop
// started there opened new, empty databases under the folder's identity (every order gone,
// old tokens still good); the CLI refused it, the library did not.
TEST_CASE("an embedded shop refuses a data folder of a shop run with --processes") {
  const auto folder =
      std::filesystem::temp_directory_path() / ("shopctl-api-layout-" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder / "order");
  std::ofstream(folder / "order" / "order.db") << "";
  auto options = test_options();
  options.data_dir = folder.string();
  std::string message;
  try {
    shopctl::Shop shop(options);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK(contains(message, "--processes"));
  CHECK(contains(message, (folder / "order" / "order.db").string()));
  CHECK_FALSE(std::filesystem::exists(folder / "order.db"));  // nothing opened beside it
  std::filesystem::remove_all(folder);
}
