#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "scenario/diagnostics.hpp"
#include "scenario/interpolate.hpp"
#include "scenario/matcher.hpp"

using namespace std::chrono_literals;
using namespace shopctl::scenario;
using nlohmann::json;

namespace {

// True when `yaml`, read as a json-domain matcher, accepts `actual`.
bool accepts(const std::string& yaml, const std::optional<json>& actual) {
  return !Matcher::from_yaml(yaml, MatcherDomain::json, "$.x").check(actual).has_value();
}

std::string failure(const std::string& yaml, const std::optional<json>& actual,
                    MatcherDomain domain = MatcherDomain::json,
                    const std::string& subject = "$.x") {
  return Matcher::from_yaml(yaml, domain, subject).check(actual).value_or("(passed)");
}

}  // namespace

TEST_CASE("a plain value means equals, with YAML scalars typed as JSON") {
  CHECK(accepts("PAID", json("PAID")));
  CHECK_FALSE(accepts("PAID", json("paid")));
  CHECK(accepts("2", json(2)));
  CHECK_FALSE(accepts("2", json("2")));
  CHECK(accepts("\"2\"", json("2")));
  CHECK(accepts("true", json(true)));
  CHECK(accepts("null", json(nullptr)));
  CHECK(accepts("~", json(nullptr)));
  CHECK(accepts("[1, a]", json::array({1, "a"})));
  CHECK(accepts("{eq: {a: 1}}", json{{"a", 1}}));
}

TEST_CASE("numbers compare across integers and floats") {
  CHECK(accepts("2", json(2.0)));
  CHECK(accepts("2.0", json(2)));
  CHECK(accepts("{gt: 1}", json(1.5)));
  CHECK(accepts("{gte: 1.5}", json(2)));
  CHECK_FALSE(accepts("{lt: 1}", json(1)));
  CHECK(accepts("{lte: 1}", json(1u)));
  CHECK(accepts("{gt: -1}", json(0u)));
  CHECK(accepts("{lt: 18446744073709551615}", json(1)));
  CHECK_FALSE(accepts("{gt: 9223372036854775807}", json(-1)));
  CHECK(accepts("{gte: 0, lt: 10}", json(9.99)));
}

TEST_CASE("an ordering on something that is not a number fails and says so") {
  CHECK(failure("{gt: 0}", json("12")) ==
        "expected $.x to be greater than 0, got \"12\" (a string, not a number)");
}

TEST_CASE("ne, in and matches") {
  CHECK(accepts("{ne: FAILED}", json("PAID")));
  CHECK_FALSE(accepts("{ne: FAILED}", json("FAILED")));
  CHECK(accepts("{in: [catalog_unavailable, payment_unavailable]}", json("payment_unavailable")));
  CHECK_FALSE(accepts("{in: [a, b]}", json("c")));
  CHECK(accepts("{in: [1, 2]}", json(2.0)));
  CHECK(accepts(R"({matches: "^http://127\\.0\\.0\\.1:"})", json("http://127.0.0.1:8/pay")));
  CHECK(accepts("{matches: \"[0-9]+\"}", json("order 17 ok")));
  CHECK_FALSE(accepts("{matches: \"^[0-9]+$\"}", json("order 17")));
  CHECK(failure("{matches: a}", json(5)) ==
        "expected $.x to match /a/, got 5 (a number, not a string)");
}

TEST_CASE("exists checks presence; exists false passes when the value is absent") {
  CHECK(accepts("{exists: true}", json(nullptr)));
  CHECK_FALSE(accepts("{exists: true}", std::nullopt));
  CHECK(accepts("{exists: false}", std::nullopt));
  CHECK_FALSE(accepts("{exists: false}", json(0)));
  CHECK(failure("{exists: true}", std::nullopt) == "expected $.x to exist, but it is missing");
  CHECK(failure("{exists: false}", json("x")) == "expected $.x to be absent, got \"x\"");
}

TEST_CASE("every other operator fails on an absent value") {
  CHECK(failure("PAID", std::nullopt) == "expected $.x to equal \"PAID\", but it is missing");
  CHECK_FALSE(accepts("{ne: 1}", std::nullopt));
  CHECK_FALSE(accepts("{type: null}", std::nullopt));
}

TEST_CASE("length applies to strings, arrays and objects, as a number or a matcher") {
  CHECK(accepts("{length: 2}", json::array({1, 2})));
  CHECK(accepts("{length: 3}", json("abc")));
  CHECK(accepts("{length: 2}", json("é€")));
  CHECK(accepts("{length: 1}", json{{"a", 1}}));
  CHECK(accepts("{length: {gt: 0}}", json::array({1})));
  CHECK_FALSE(accepts("{length: {gt: 0}}", json::array()));
  CHECK(accepts("{length: {in: [1, 2]}}", json("ab")));
  CHECK(failure("{length: 2}", json::array({1, 2, 3})) ==
        "expected $.x to have length 2, got length 3: [1,2,3]");
  CHECK(failure("{length: {gte: 5}}", json("abc")) ==
        "expected $.x to have length at least 5, got length 3: \"abc\"");
  CHECK(failure("{length: 1}", json(5)) ==
        "expected $.x to have length 1, got 5 (a number, which has no length)");
}

TEST_CASE("contains finds substrings, array elements and object keys") {
  CHECK(accepts("{contains: json}", json("application/json; charset=utf-8")));
  CHECK_FALSE(accepts("{contains: xml}", json("application/json")));
  CHECK(accepts("{contains: 2}", json::array({1, 2, 3})));
  CHECK(accepts("{contains: {product_id: p-1}}", json::array({json{{"product_id", "p-1"}}})));
  CHECK_FALSE(accepts("{contains: \"2\"}", json::array({1, 2})));
  CHECK(accepts("{contains: payment}", json{{"payment", 1}}));
  CHECK_FALSE(accepts("{contains: x}", json(5)));
}

TEST_CASE("type names every JSON type; integer means no fractional part") {
  CHECK(accepts("{type: string}", json("a")));
  CHECK(accepts("{type: number}", json(1.5)));
  CHECK(accepts("{type: number}", json(1)));
  CHECK(accepts("{type: integer}", json(3)));
  CHECK(accepts("{type: integer}", json(3.0)));
  CHECK_FALSE(accepts("{type: integer}", json(3.5)));
  CHECK(accepts("{type: boolean}", json(false)));
  CHECK(accepts("{type: array}", json::array()));
  CHECK(accepts("{type: object}", json::object()));
  CHECK(accepts("{type: null}", json(nullptr)));
  CHECK_FALSE(accepts("{type: string}", json(1)));
  CHECK(failure("{type: string}", json(1)) ==
        "expected $.x to be of type string, got 1 (a number)");
}

TEST_CASE("several operators in one map must all hold, and the first failure is told") {
  CHECK(accepts("{type: integer, gt: 0, lt: 100, ne: 50}", json(7)));
  CHECK(failure("{type: integer, gt: 0, lt: 100}", json(100)) ==
        "expected $.x to be less than 100, got 100");
}

TEST_CASE("a failure message names the subject, the expectation and what came back") {
  CHECK(failure("PAID", json("PAYMENT_PENDING"), MatcherDomain::json, "$.status") ==
        "expected $.status to equal \"PAID\", got \"PAYMENT_PENDING\"");
  CHECK(Matcher::equals(json("PAID"), "$.status").check(json("FAILED")) ==
        "expected $.status to equal \"PAID\", got \"FAILED\"");
}

TEST_CASE("status matchers take a code, a list of codes or operators") {
  auto status = [](const std::string& yaml, int code) {
    return !Matcher::from_yaml(yaml, MatcherDomain::status, "status").check(json(code));
  };
  CHECK(status("201", 201));
  CHECK_FALSE(status("201", 200));
  CHECK(status("[200, 201]", 201));
  CHECK(status("{in: [200, 201]}", 200));
  CHECK(status("{gte: 200, lt: 300}", 204));
  CHECK_FALSE(status("{gte: 200, lt: 300}", 503));
  CHECK(failure("[200, 201]", json(503), MatcherDomain::status, "status") ==
        "expected status to be one of [200, 201], got 503");
  CHECK_THROWS_AS(Matcher::from_yaml("99", MatcherDomain::status), ValidationError);
  CHECK_THROWS_AS(Matcher::from_yaml("{matches: x}", MatcherDomain::status), ValidationError);
}

TEST_CASE("header matchers compare text, and read numbers for orderings") {
  auto header = [](const std::string& yaml, const std::optional<json>& value) {
    return !Matcher::from_yaml(yaml, MatcherDomain::header, "header Retry-After").check(value);
  };
  CHECK(header("1", json("1")));
  CHECK(header("{gte: 1}", json("30")));
  CHECK_FALSE(header("{gt: 30}", json("30")));
  CHECK_FALSE(header("{gt: 0}", json("soon")));
  CHECK(header("{exists: true}", json("")));
  CHECK(header("{exists: false}", std::nullopt));
  CHECK(header("{matches: \"^[0-9]+$\"}", json("12")));
  CHECK_THROWS_AS(Matcher::from_yaml("[1, 2]", MatcherDomain::header), ValidationError);
}

TEST_CASE("latency matchers compare durations in nanoseconds") {
  const Matcher latency = Matcher::from_yaml("{lt: 50ms}", MatcherDomain::duration, "latency");
  CHECK_FALSE(latency.check_duration(49ms).has_value());
  CHECK(latency.check_duration(50ms) == "expected latency to be less than 50ms, got 50ms");
  CHECK(latency.check_duration(73'250us) == "expected latency to be less than 50ms, got 73.2ms");
  CHECK(latency.check_duration(1'234'567'891ns) ==
        "expected latency to be less than 50ms, got 1.235s");
  // Under a millisecond the measured time is shown to three significant digits, like the rest
  // of the report, not to the nanosecond.
  const Matcher tight = Matcher::from_yaml("{lt: 0.1ms}", MatcherDomain::duration, "latency");
  CHECK(tight.check_duration(227'367ns) == "expected latency to be less than 0.1ms, got 0.227ms");
  CHECK(tight.check_duration(100'040ns) == "expected latency to be less than 0.1ms, got 0.100ms");
  const Matcher window = Matcher::from_yaml("{gte: 1s, lte: 1.5s}", MatcherDomain::duration);
  CHECK_FALSE(window.check_duration(1200ms).has_value());
  CHECK(window.check_duration(2s).has_value());
  CHECK(window.describe() == "be at least 1s and be at most 1500ms");
  CHECK_THROWS_AS(Matcher::from_yaml("{lt: 50}", MatcherDomain::duration), ValidationError);
}

TEST_CASE("template operands are expanded against the variables before checking") {
  Variables v;
  v.set("order_id", 17);
  v.set("host", "127.0.0.1");
  v.set("expected", "201");
  const Matcher id = Matcher::from_yaml("${order_id}", MatcherDomain::json, "$.order_id");
  CHECK(id.has_templates());
  CHECK_FALSE(id.check(json(17), v).has_value());
  CHECK(id.check(json("17"), v) == "expected $.order_id to equal 17, got \"17\"");
  const Matcher url = Matcher::from_yaml("{matches: \"^http://${host}:\"}");
  CHECK_FALSE(url.check(json("http://127.0.0.1:80/"), v).has_value());
  const Matcher status = Matcher::from_yaml("${expected}", MatcherDomain::status, "status");
  CHECK_FALSE(status.check(json(201), v).has_value());
  CHECK_THROWS_AS(id.check(json(1), Variables()), InterpolationError);
  v.set("bad", "[");
  // An ordering whose operand is text from a variable blames the operand, not the value.
  const Matcher limit = Matcher::from_yaml("{gt: \"${expected}\"}", MatcherDomain::json, "$.n");
  CHECK(limit.check(json(3450), v) ==
        "expected $.n to be greater than \"201\", got 3450 (the value to compare with is a "
        "string, not a number: a --var, or a capture of a string, is text)");
  const Matcher broken = Matcher::from_yaml("{matches: \"${bad}\"}").bind(v);
  CHECK(broken.check(json("x")).value_or("").find("invalid regex") != std::string::npos);
}

TEST_CASE("from_yaml reports every problem of a matcher") {
  try {
    Matcher::from_yaml("{gt: many, matches: \"(\", type: text, lenght: 2}");
    FAIL("expected a ValidationError");
  } catch (const ValidationError& e) {
    REQUIRE(e.diagnostics().size() == 4);
    CHECK(e.diagnostics()[0].column == 6);
    CHECK(e.diagnostics()[1].message.find("invalid regular expression") == 0);
    CHECK(e.diagnostics()[2].message.find("unknown type 'text'") == 0);
    CHECK(e.diagnostics()[3].message.find("did you mean 'length'?") != std::string::npos);
  }
}

// std::regex matched by recursion, a stack frame per character of the subject, so one long
// string in an answer crashed `shopctl run` (SIGSEGV) or hung it; RE2 takes linear time.
TEST_CASE("matches on a 1,000,000-character value passes quickly, without a crash") {
  const auto started = std::chrono::steady_clock::now();
  CHECK(accepts(R"({matches: "^.*$"})", json(std::string(1'000'000, 'x'))));
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("matches with nested alternatives under a star fails quickly on 100,000 characters") {
  const auto started = std::chrono::steady_clock::now();
  CHECK(failure(R"({matches: "((((a|b)|c)|d)|e)*z"})", json(std::string(100'000, 'a')))
            .find("expected $.x to match /((((a|b)|c)|d)|e)*z/, got \"aaa") == 0);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("matches does not backtrack: (a*)*z on 100,000 'a's fails in well under a second") {
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(accepts(R"({matches: "(a*)*z"})", json(std::string(100'000, 'a'))));
  CHECK(std::chrono::steady_clock::now() - started < 500ms);
}

TEST_CASE("describe tells what a matcher requires") {
  CHECK(Matcher::from_yaml("{gt: 0, lt: 10}").describe() ==
        "be greater than 0 and be less than 10");
  CHECK(Matcher::from_yaml("{length: {gt: 0}}").describe() == "have length greater than 0");
  CHECK(Matcher::from_yaml("{in: [a, b]}").describe() == "be one of [\"a\", \"b\"]");
  CHECK(Matcher().describe() == "be anything");
  CHECK_FALSE(Matcher().check(std::nullopt).has_value());
}

TEST_CASE(
    "operands that are not UTF-8 describe and report without throwing (found by "
    "fuzz_jsonpath_matcher)") {
  // A scenario file can hold any bytes; yaml-cpp keeps them, json::dump() throws on them.
  auto matcher = Matcher::from_yaml("{contains: {product_id: p-001, qu\x9f\x91\x8b\x8dty: 2}}");
  std::string text;
  CHECK_NOTHROW(text = matcher.describe());
  CHECK(text.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD where the bad bytes were
  std::optional<std::string> failure;
  CHECK_NOTHROW(failure = matcher.check(json::array()));
  REQUIRE(failure.has_value());
  CHECK_NOTHROW((void)json(*failure).dump());

  auto plain = Matcher::from_yaml("\"caf\xe9\"");  // Latin-1, not UTF-8
  CHECK_NOTHROW((void)plain.describe());
  CHECK_NOTHROW((void)plain.check(json("cafe")));
}

TEST_CASE("a long expected value is cut between characters, never inside one") {
  std::string accents;
  for (int i = 0; i < 400; ++i) accents += "\xc3\xa9";  // é
  for (int shift = 0; shift < 2; ++shift) {
    auto matcher = Matcher::equals(json(std::string(shift, 'x') + accents), "$.name");
    auto failure = matcher.check(json("other"));
    REQUIRE(failure.has_value());
    CHECK_NOTHROW((void)json(*failure).dump());  // the JSON report writes it
    CHECK_NOTHROW((void)json(matcher.describe()).dump());
  }
}

TEST_CASE("equality compares numbers by value: 18446744073709551615 is not -1, nor 2^63 -2^63") {
  const json max_unsigned = json::parse("18446744073709551615");
  const json two_to_63 = json::parse("9223372036854775808");
  CHECK_FALSE(accepts("-1", max_unsigned));
  CHECK_FALSE(accepts("{eq: -1}", max_unsigned));
  CHECK_FALSE(accepts("18446744073709551615", json(-1)));
  CHECK(accepts("18446744073709551615", max_unsigned));
  CHECK_FALSE(accepts("{eq: -9223372036854775808}", two_to_63));
  CHECK(accepts("{ne: -1}", max_unsigned));
  CHECK_FALSE(accepts("{in: [-1, 0]}", max_unsigned));
  CHECK(accepts("{in: [-1, 18446744073709551615]}", max_unsigned));
  CHECK_FALSE(accepts("{contains: -1}", json::array({max_unsigned})));
  CHECK(accepts("{contains: 18446744073709551615}", json::array({max_unsigned})));
  CHECK_FALSE(accepts("[-1]", json::array({max_unsigned})));
  CHECK_FALSE(accepts("{eq: {n: -1}}", json{{"n", max_unsigned}}));
  CHECK(accepts("{eq: {n: 2}}", json{{"n", 2.0}}));
  // A double is compared exactly too: 2^64 as a double is above every unsigned integer.
  CHECK_FALSE(accepts("18446744073709551615", json(18446744073709551616.0)));
  CHECK_FALSE(accepts("{eq: 1}", json(1.5)));
  CHECK(accepts("{gt: 18446744073709551615}", json(18446744073709551616.0)));
}
