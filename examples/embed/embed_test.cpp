// Embeds a shopctl shop in a doctest test, through the public API only: a shop starts in this
// process, its gateway answers, a scenario file runs against fresh shops and against this one.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include <shopctl/scenario_runner.hpp>
#include <shopctl/shop.hpp>
#include <shopctl/version.hpp>

using namespace std::chrono_literals;

namespace {

// GETs `path` from "http://127.0.0.1:PORT" with HTTP/1.0 and returns the status (0: no
// answer). Any HTTP client does; this one needs nothing but sockets.
int http_get_status(const std::string& base_url, const std::string& path) {
  const int port = std::stoi(base_url.substr(base_url.rfind(':') + 1));
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
      if (head.size() >= 12 && head.rfind("HTTP/", 0) == 0) status = std::stoi(head.substr(9, 3));
    }
  }
  ::close(fd);
  return status;
}

shopctl::ShopOptions test_shop() {
  shopctl::ShopOptions options;
  options.threads = 2;
  options.config_yaml = "auth: {password_hashing: fast}";  // cheap hashing: a test, not a shop
  return options;
}

}  // namespace

TEST_CASE("the headers and the library are the same version") {
  CHECK(shopctl::library_version() == shopctl::kVersion);
}

TEST_CASE("an embedded shop answers on its gateway, and a stopped service does not") {
  shopctl::Shop shop(test_shop());
  CHECK(http_get_status(shop.gateway_url(), "/health/live") == 200);
  CHECK(http_get_status(shop.gateway_url(), "/api/cart") == 401);  // no token

  shop.stop_service("catalog");
  CHECK(http_get_status(shop.url("catalog"), "/health/live") == 0);
  shop.start_service("catalog");
  CHECK(http_get_status(shop.url("catalog"), "/health/live") == 200);

  shopctl::FaultSpec outage;
  outage.target_service = "gateway";
  outage.type = "abort";
  outage.status = 503;
  outage.path = "/api/cart";
  shop.add_fault(outage);
  CHECK(http_get_status(shop.gateway_url(), "/api/cart") == 503);
  shop.clear_faults();
  CHECK(shop.advance_clock(61s) == 61s);
}

TEST_CASE("a scenario file of the repository passes on a fresh shop of its own") {
  shopctl::ScenarioRunner runner;
  auto problems = runner.add_files({EMBED_SCENARIO_FILE});
  INFO(runner.format(problems));
  REQUIRE(problems.empty());
  REQUIRE(runner.scenarios().size() == 1);

  auto report = runner.run();
  INFO(report.console_summary());
  CHECK(report.passed() == 1);
  CHECK(report.exit_code() == shopctl::kExitOk);
}

TEST_CASE("the same scenario passes against the embedded shop, as against shopctl serve") {
  shopctl::Shop shop(test_shop());
  shopctl::RunnerOptions options;
  options.target = shop.gateway_url();
  options.admin_token = shop.admin_token();
  shopctl::ScenarioRunner runner(options);
  REQUIRE(runner.add_files({EMBED_SCENARIO_FILE}).empty());

  auto report = runner.run();
  INFO(report.console_summary());
  CHECK(report.passed() == 1);
}
