// The scenario run's reports (src/scenario/report.hpp): what a failure quotes stays on its line,
// and secrets in it are cut, in the console and the JUnit, JSON and HTML reports alike; and the
// public API's exit code, as `shopctl run` exits, lets a failure win over a timeout.
#include <doctest/doctest.h>

#include <string>

#include <shopctl/scenario_runner.hpp>
#include <shopctl/version.hpp>

#include "scenario/report.hpp"
#include "scenario/runner.hpp"

namespace {

using shopctl::scenario::Failure;
using shopctl::scenario::RunSummary;
using shopctl::scenario::ScenarioResult;
using shopctl::scenario::ScenarioStatus;

const std::string kJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMSIsImV4cCI6MTc5NjQwOTQxMn0."
    "n8Y-0J5H2CEk9JaSrZRy9JHt9OX2Wzev9OQJh1T7V90";

RunSummary one_failure(Failure failure, std::string file = "a.yaml") {
  ScenarioResult result;
  result.name = "fails";
  result.file = std::move(file);
  result.status = ScenarioStatus::failed;
  result.failures.push_back(std::move(failure));
  RunSummary summary;
  summary.results.push_back(std::move(result));
  return summary;
}

// Whether a line of `text` starts, after spaces, with `start`.
bool has_line_starting(const std::string& text, const std::string& start) {
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t first = text.find_first_not_of(' ', at);
    if (first != std::string::npos && text.compare(first, start.size(), start) == 0) return true;
    const auto end = text.find('\n', at);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}

}  // namespace

TEST_CASE("a failure's body, step name and file name cannot start a line of the console") {
  Failure f{"steps",
            "s\n[1of1] PASS forged-step",
            {"x\n[9of9] PASS forged.yaml", 6, 22},
            "expected status to equal 200, got 500",
            500,
            "x\n[1/1] PASS forged-body",
            "ab\ncd"};
  const auto summary = one_failure(f, "x\n[9of9] PASS forged.yaml");
  const std::string console = shopctl::scenario::console_summary(summary, {});
  CAPTURE(console);
  CHECK_FALSE(has_line_starting(console, "[1/1] PASS"));
  CHECK_FALSE(has_line_starting(console, "[1of1] PASS"));
  CHECK_FALSE(has_line_starting(console, "[9of9] PASS"));
  CHECK_FALSE(has_line_starting(console, "cd"));
  CHECK(console.find("response: 500 x\\x0a[1/1] PASS forged-body") != std::string::npos);
  CHECK(console.find(
            "step \"s\\x0a[1of1] PASS forged-step\" at x\\x0a[9of9] PASS forged.yaml:6:22") !=
        std::string::npos);
  const std::string junit = shopctl::scenario::junit_xml(summary);
  CHECK(junit.find("response: 500 x\\x0a[1/1] PASS forged-body") != std::string::npos);
}

TEST_CASE("a message's own indented lines stay lines, other line feeds in it are escapes") {
  Failure f{"steps",
            "step",
            {"a.yaml", 3, 5},
            "expected 1 call(s) on order->catalog, saw 0\n      GET /x\n[1/1] PASS forged -> 500"};
  const std::string console = shopctl::scenario::console_summary(one_failure(f), {});
  CAPTURE(console);
  CHECK(console.find("saw 0\n") != std::string::npos);
  CHECK(has_line_starting(console, "GET /x\\x0a[1/1] PASS forged -> 500"));
  CHECK_FALSE(has_line_starting(console, "[1/1] PASS"));
}

TEST_CASE("an access token in a failed login's answer is cut in every report") {
  Failure f{"steps",
            "login demo@shop.test",
            {"a.yaml", 4, 5},
            "expected status to equal 201, got 200 (Authorization: Bearer " + kJwt + ")",
            200,
            "{\"access_token\":\"" + kJwt + "\",\"expires_in\":900,\"token_type\":\"Bearer\"}"};
  const auto summary = one_failure(f);
  const std::string console = shopctl::scenario::console_summary(summary, {});
  const std::string junit = shopctl::scenario::junit_xml(summary);
  const std::string json = shopctl::scenario::json_report(summary).dump();
  for (const std::string& report : {console, junit, json}) {
    CAPTURE(report);
    CHECK(report.find(kJwt) == std::string::npos);
    CHECK(report.find(kJwt.substr(0, 30)) == std::string::npos);
    CHECK(report.find("eyJhbGci\xE2\x80\xA6(redacted)") != std::string::npos);
  }
  // The rest of the body stays readable.
  CHECK(console.find("\"access_token\":\"eyJhbGci\xE2\x80\xA6(redacted)\",\"expires_in\":900,"
                     "\"token_type\":\"Bearer\"}") != std::string::npos);
  CHECK(console.find("Bearer eyJhbGci\xE2\x80\xA6(redacted))") != std::string::npos);
  // A matcher's message cuts a long value (no closing quote): the redacted value is closed.
  f.message = "expected $.access_token to be of type number, got \"" + kJwt.substr(0, 40) +
              "... (a string)";
  CHECK(shopctl::scenario::console_summary(one_failure(f), {})
            .find("got \"eyJhbGci\xE2\x80\xA6(redacted)\" (a string)") != std::string::npos);
}

// The JSON report (and the HTML report, drawn from it) carries each step's name and each
// request's URL and transport error: a token written or interpolated into them was kept whole.
TEST_CASE("a token in a step's name, a request's URL or its error is cut in the JSON report") {
  Failure f{"steps", "GET /api/orders?access_token=" + kJwt, {"a.yaml", 4, 5}, "failed", 0, ""};
  auto summary = one_failure(f);
  shopctl::scenario::StepResult step;
  step.phase = "steps";
  step.label = f.step;
  step.action = "request";
  step.requests.push_back({"GET", "http://127.0.0.1:1/api/orders?access_token=" + kJwt, 0,
                           "connection reset after Bearer " + kJwt, 1.0, ""});
  step.failures.push_back(f);
  summary.results.front().steps.push_back(step);
  const std::string json = shopctl::scenario::json_report(summary).dump();
  CAPTURE(json);
  CHECK(json.find(kJwt.substr(0, 30)) == std::string::npos);
  std::size_t cuts = 0;
  for (auto at = json.find("(redacted)"); at != std::string::npos;
       at = json.find("(redacted)", at + 1))
    ++cuts;
  CHECK(cuts == 5);  // the step's name twice, the scenario's failure, the URL, the error
  CHECK(json.find("Bearer eyJhbGci") != std::string::npos);
  CHECK(json.find("/api/orders?access_token=eyJhbGci") != std::string::npos);
}

TEST_CASE("a short or absent token is shown as it is") {
  Failure f{"steps",
            "login",
            {"a.yaml", 4, 5},
            "this route needs Authorization: Bearer <token>",
            401,
            "{\"access_token\":\"short\",\"note\":\"eyJ is just text\"}"};
  const std::string console = shopctl::scenario::console_summary(one_failure(f), {});
  CHECK(console.find("Bearer <token>") != std::string::npos);
  CHECK(console.find("\"access_token\":\"short\"") != std::string::npos);
  CHECK(console.find("eyJ is just text") != std::string::npos);
  CHECK(console.find("redacted") == std::string::npos);
}

TEST_CASE("RunReport::exit_code is 4 when a scenario failed and another timed out") {
  shopctl::ScenarioRunner runner(shopctl::RunnerOptions{.jobs = 2});
  REQUIRE(runner
              .add_text("version: 1\nname: fails\nsteps:\n"
                        "  - request: {GET: /api/catalog/products}\n    expect: {status: 418}\n",
                        "fails.yaml")
              .empty());
  REQUIRE(runner
              .add_text("version: 1\nname: times out\ntimeout: 300ms\nsteps:\n  - wait: 200ms\n  - "
                        "wait: 200ms\n",
                        "times-out.yaml")
              .empty());
  const auto report = runner.run();
  REQUIRE(report.failed() == 1);
  REQUIRE(report.errors() == 1);
  CHECK(report.exit_code() == shopctl::kExitExpectation);
}

TEST_CASE(
    "a token cut short in a matcher's message, a token in a call's route and the "
    "provider's API key are cut in every report") {
  // A failed {length: 3} on $.access_token printed the token's first 200 characters (cut, it
  // lost the second dot a JWT was known by); a ${token} in a request's path stayed whole in
  // the JSON report's calls[].route; the shop's key at the provider was printed whole.
  const std::string long_jwt = kJwt + std::string(200, 'x');
  const std::string key = "sk_test_51AbCdEfGhIjKlMnOpQrStUv";
  Failure f{"steps",
            "login demo@shop.test",
            {"a.yaml", 4, 5},
            "expected $.access_token to have length 3, got length 242: \"" +
                long_jwt.substr(0, 199) + "...",
            200,
            "{\"api_key\":\"" + key + "\"}"};
  auto summary = one_failure(f);
  shopctl::scenario::StepResult step;
  step.phase = "steps";
  step.label = "GET /api/catalog/products/x";
  step.action = "request";
  step.calls = nlohmann::json::array(
      {{{"edge", "client->gateway"}, {"route", "GET /api/catalog/products/" + kJwt}}});
  summary.results.front().steps.push_back(step);
  summary.results.front().calls = step.calls;
  const std::string console = shopctl::scenario::console_summary(summary, {});
  const std::string junit = shopctl::scenario::junit_xml(summary);
  const std::string json = shopctl::scenario::json_report(summary).dump();
  for (const std::string& report : {console, junit, json}) {
    CAPTURE(report);
    CHECK(report.find(kJwt.substr(0, 30)) == std::string::npos);
    CHECK(report.find(key.substr(0, 12)) == std::string::npos);
    CHECK(report.find("sk_test_\xE2\x80\xA6(redacted)") != std::string::npos);
  }
  CHECK(json.find("/api/catalog/products/eyJhbGci\xE2\x80\xA6(redacted)") != std::string::npos);
}

TEST_CASE("a JUnit classname is the file's folders and stem joined by dots, as Jenkins reads it") {
  // Jenkins splits a classname at each '.': scenarios/flow/cart.yaml showed as class "yaml".
  Failure f{"steps", "s", {"scenarios/flow/cart.yaml", 4, 5}, "failed", 0, ""};
  auto summary = one_failure(f, "./scenarios/flow/cart.v2.yaml");
  const std::string xml = shopctl::scenario::junit_xml(summary);
  CAPTURE(xml);
  CHECK(xml.find("classname=\"scenarios.flow.cart_v2\"") != std::string::npos);
  CHECK(xml.find("file=\"./scenarios/flow/cart.v2.yaml\"") != std::string::npos);
}

// "../suite/pass.yaml" was the class "__.suite.pass": a package "__" in Jenkins.
TEST_CASE("a JUnit classname leaves out the . and .. segments of the file's path") {
  for (const auto& [file, classname] :
       std::vector<std::pair<std::string, std::string>>{{"../suite/pass.yaml", "suite.pass"},
                                                        {"../../a/./b/../c.yml", "a.b.c"},
                                                        {"/tmp/x/s.yaml", "tmp.x.s"},
                                                        {"..\\w\\s.yaml", "w.s"},
                                                        // Read from a folder in any case.
                                                        {"suite/Cart.YAML", "suite.Cart"},
                                                        {"suite/pay.Yml", "suite.pay"}}) {
    Failure f{"steps", "s", {file, 4, 5}, "failed", 0, ""};
    auto summary = one_failure(f, file);
    const std::string xml = shopctl::scenario::junit_xml(summary);
    CAPTURE(xml);
    CHECK(xml.find("classname=\"" + classname + "\"") != std::string::npos);
    CHECK(xml.find("file=\"" + file + "\"") != std::string::npos);
  }
}

TEST_CASE("a JUnit skipped says why: the tags that left it out, or --fail-fast") {
  shopctl::scenario::Scenario tagged;
  tagged.tags = {"slow", "flow"};
  shopctl::scenario::RunOptions options;
  options.skip_tags = {"slow"};
  CHECK(shopctl::scenario::tag_skip_reason(tagged, options) ==
        "tagged slow, which --skip-tags skips");
  options.skip_tags.clear();
  options.tags = {"payment", "cart"};
  CHECK(shopctl::scenario::tag_skip_reason(tagged, options) ==
        "has none of the tags --tags selects (payment, cart)");
  options.tags = {"flow"};
  CHECK(shopctl::scenario::tag_skip_reason(tagged, options).empty());

  RunSummary summary;
  ScenarioResult result;
  result.name = "left out";
  result.file = "a.yaml";
  result.status = ScenarioStatus::skipped;
  result.skip_reason = "tagged slow, which --skip-tags skips";
  summary.results.push_back(result);
  const std::string xml = shopctl::scenario::junit_xml(summary);
  CAPTURE(xml);
  CHECK(xml.find("<skipped message=\"tagged slow, which --skip-tags skips\"/>") !=
        std::string::npos);
}
