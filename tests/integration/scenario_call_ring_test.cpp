// Expectations on the call records of a step (`calls`, `violations`) when the step makes more
// calls than the shop's ring of records keeps (20,000): the count is not judged from what is
// left (10,500 calls passed `max: 10000`, "saw 10000" for 11,000), and a failure lists a few
// records, not all of them.
#include <doctest/doctest.h>

#include <string>

#include "../support/scenario_text.hpp"
#include "scenario/parser.hpp"
#include "scenario/runner.hpp"

namespace {

namespace scenario = shopctl::scenario;
using shopctl::test_support::failures_of;
using shopctl::test_support::run_scenario_text;

bool text_has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// In the "volume" suite: 10,001 requests take about 10 s here and several times that under the
// sanitizers, which skip the suite (scripts/test.sh; the ring's logic is the same code).
TEST_CASE("calls of a step that overflowed the call-record ring are not counted from its rest" *
          doctest::test_suite("volume")) {
  // 10,001 requests, each recorded twice (client->gateway, gateway->catalog): more than the
  // 20,000 records the ring keeps.
  const auto result = run_scenario_text(R"(version: 1
name: more calls than the ring keeps
timeout: 5m
steps:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {GET: /api/catalog/categories}
    repeat: 10001
    expect:
      status: 200
      calls: [{edge: gateway->catalog, max: 10000}]
      violations: 0
)");
  const auto failures = failures_of(result);
  INFO(failures);
  CHECK(result.status == scenario::ScenarioStatus::failed);
  CHECK(text_has(failures,
                 "cannot count the calls on gateway->catalog: the shop's call log keeps "
                 "only the last 20000 records and dropped some of this step's"));
  CHECK(text_has(failures,
                 "cannot count the violations: the shop's call log keeps only the "
                 "last 20000 records"));
  CHECK_FALSE(text_has(failures, "saw"));
}

TEST_CASE("a failed calls expectation lists the first 20 records and counts the others") {
  const auto result = run_scenario_text(R"(version: 1
name: many calls listed
steps:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {GET: /api/catalog/categories}
    repeat: 30
    expect:
      calls: [{edge: gateway->catalog, count: 1}]
)");
  const auto failures = failures_of(result);
  INFO(failures);
  CHECK(text_has(failures, "expected exactly 1 call(s) on gateway->catalog, saw 30"));
  CHECK(text_has(failures, "\n      ... 10 more"));
  std::size_t listed = 0;
  for (auto at = failures.find("-> 200"); at != std::string::npos;
       at = failures.find("-> 200", at + 1))
    ++listed;
  CHECK(listed == 20);
}
