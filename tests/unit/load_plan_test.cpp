#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "load/plan.hpp"
#include "load/report.hpp"
#include "observe_tools/html_report.hpp"

using namespace std::chrono_literals;
using namespace shopctl::load;

TEST_CASE("a journey mix is read with its weights and picks in proportion") {
  auto mix = parse_mix("browse=60, product=20,cart=10,checkout=10");
  REQUIRE(mix.weights.size() == 4);
  CHECK(mix.pick(0.0) == Journey::browse);
  CHECK(mix.pick(0.599) == Journey::browse);
  CHECK(mix.pick(0.6) == Journey::product);
  CHECK(mix.pick(0.85) == Journey::cart);
  CHECK(mix.pick(0.95) == Journey::checkout);
  CHECK(mix.pick(0.999999) == Journey::checkout);
  CHECK(mix.describe() == "browse=60,product=20,cart=10,checkout=10");

  auto only = parse_mix("checkout");  // a bare name weighs 1
  REQUIRE(only.weights.size() == 1);
  CHECK(only.pick(0.5) == Journey::checkout);
  CHECK(parse_mix("browse=1,cart=0").weights.size() == 1);  // weight 0: never picked
}

TEST_CASE("a bad journey mix is refused with the reason") {
  auto message = [](const char* text) {
    try {
      parse_mix(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message("shopping=1").find("unknown journey 'shopping'") != std::string::npos);
  CHECK(message("browse=-1").find("must be a number from 0 to 1000000") != std::string::npos);
  CHECK(message("browse=x").find("must be a number from 0 to 1000000") != std::string::npos);
  CHECK(message("browse=1e308,checkout=1e308").find("must be a number from 0 to 1000000") !=
        std::string::npos);  // the sum was infinite: every journey a checkout
  CHECK(message("browse=1,browse=2").find("given twice") != std::string::npos);
  CHECK(message("browse=0").find("above 0") != std::string::npos);
  CHECK(message("browse=1,,cart=1").find("empty item") != std::string::npos);
  // At either end too (a trailing one was taken, a leading one refused).
  CHECK(message(",checkout=1").find("empty item") != std::string::npos);
  CHECK(message("checkout=1,").find("empty item") != std::string::npos);
  CHECK(message("checkout=1, ").find("empty item") != std::string::npos);
  CHECK(message("checkout=1") == "accepted");
  CHECK(message("") != "accepted");
  CHECK(message(" ") != "accepted");
}

TEST_CASE("latency quantiles use the nearest rank") {
  LatencyStats s;
  CHECK(s.quantile_ms(0.99) == 0);
  for (int i = 1; i <= 100; ++i) s.add(std::chrono::milliseconds(i));
  CHECK(s.count() == 100);
  CHECK(s.quantile_ms(0.50) == doctest::Approx(50));
  CHECK(s.quantile_ms(0.90) == doctest::Approx(90));
  CHECK(s.quantile_ms(0.99) == doctest::Approx(99));
  CHECK(s.quantile_ms(1.0) == doctest::Approx(100));
  CHECK(s.max_ms() == doctest::Approx(100));
  CHECK(s.mean_ms() == doctest::Approx(50.5));
  LatencyStats t;
  t.add(500us);
  s.merge(t);
  CHECK(s.quantile_ms(0.0) == doctest::Approx(0.5));
  CHECK(s.count() == 101);
}

TEST_CASE("thresholds are read and checked against the figures") {
  Figures f;
  f.seconds = 10;
  f.requests = 10'000;
  f.request_errors = 5;
  f.p50_ms = 2;
  f.p99_ms = 40;
  f.max_ms = 900;
  f.orders_paid = 4'000;
  f.per_journey["checkout"] = {1000, 0, 8, 12, 25, 60};

  auto p99 = parse_threshold("p99<50ms");
  CHECK(p99.metric == "p99");
  CHECK(p99.value == doctest::Approx(50));
  CHECK(p99.check(f).passed);
  CHECK_FALSE(parse_threshold("p99<40ms").check(f).passed);
  CHECK(parse_threshold("p99<=40ms").check(f).passed);
  CHECK(parse_threshold("max<1s").check(f).passed);
  CHECK(parse_threshold("p50<2500us").check(f).passed);

  auto checkout = parse_threshold("checkout.p99<20ms");
  CHECK(checkout.journey == "checkout");
  CHECK(checkout.check(f).actual == doctest::Approx(25));
  CHECK_FALSE(checkout.check(f).passed);
  // A journey that never ran has shown nothing: its latency threshold is not met.
  CHECK_FALSE(parse_threshold("cart.p99<1s").check(f).passed);
  CHECK(parse_threshold("cart.p99<1s").check(f).no_samples);
  CHECK_FALSE(parse_threshold("checkout.p99<1s").check(f).no_samples);
  // Its error threshold neither: `cart.errors<1%` passed at 0 % when cart never ran.
  for (const char* t : {"cart.errors<1%", "cart.errors<1", "cart.errors<=0"}) {
    CAPTURE(t);
    CHECK_FALSE(parse_threshold(t).check(f).passed);
    CHECK(parse_threshold(t).check(f).no_samples);
  }
  CHECK_FALSE(parse_threshold("checkout.errors<100%").check(f).no_samples);

  auto errors = parse_threshold("errors<0.1%");
  CHECK(errors.percent);
  CHECK(errors.check(f).actual == doctest::Approx(0.05));
  CHECK(errors.check(f).passed);
  CHECK_FALSE(parse_threshold("errors<0.01%").check(f).passed);
  CHECK_FALSE(parse_threshold("errors<5").check(f).passed);
  CHECK(parse_threshold("errors<=5").check(f).passed);

  CHECK(parse_threshold("rps>999").check(f).passed);
  CHECK(parse_threshold("rps>=1000").check(f).passed);
  CHECK_FALSE(parse_threshold("rps>1000").check(f).passed);
  CHECK(parse_threshold("orders_per_second>=400").check(f).actual == doctest::Approx(400));
}

// An open loop's dropped starts add no latency and no error: a run that dropped 93 % of its
// starts met p99 and errors<1% (an outside probe). `dropped` gates on them.
TEST_CASE("a dropped threshold counts the open loop's starts no user took") {
  Figures f;
  f.seconds = 1;
  f.journeys = 137;
  f.dropped = 1'863;
  auto share = parse_threshold("dropped<1%");
  CHECK(share.percent);
  CHECK(share.unit() == "%");
  CHECK(share.check(f).actual == doctest::Approx(93.15));
  CHECK_FALSE(share.check(f).passed);
  CHECK_FALSE(parse_threshold("dropped<=0").check(f).passed);
  CHECK(parse_threshold("dropped<=1863").check(f).passed);
  f.dropped = 0;
  CHECK(share.check(f).passed);
  CHECK(parse_threshold("dropped<=0").check(f).passed);
  CHECK_THROWS_WITH_AS(parse_threshold("checkout.dropped<1%"), doctest::Contains("not per journey"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_threshold("dropped<0"), doctest::Contains("no run can meet it"),
                       std::invalid_argument);
  // A closed loop drops no start: the threshold would pass whatever the run did.
  CHECK_THROWS_WITH_AS(check_thresholds_fit({share}, false),
                       doctest::Contains("a closed loop drops no start"), std::invalid_argument);
  CHECK_NOTHROW(check_thresholds_fit({share}, true));
  CHECK_NOTHROW(check_thresholds_fit({parse_threshold("p99<1s")}, false));
}

TEST_CASE("an open loop's report says when many starts were dropped") {
  LoadResult r;
  r.seconds = 1;
  r.mode = "open";
  r.rate = 2000;
  r.journeys["checkout"].count = 137;
  r.dropped = 1'863;
  CHECK(text_report(r, {}).find("note: 1,863 of the 2,000 scheduled starts (93.2%) were "
                                "dropped") != std::string::npos);
  r.dropped = 10;
  CHECK(text_report(r, {}).find("were dropped") == std::string::npos);
}

TEST_CASE("a bad threshold is refused with the reason") {
  auto message = [](const char* text) {
    try {
      parse_threshold(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message("p99 50ms").find("no comparison") != std::string::npos);
  CHECK(message("p99<50").find("needs a duration") != std::string::npos);
  CHECK(message("p98<50ms").find("unknown figure 'p98'") != std::string::npos);
  CHECK(message("errors<101%").find("between 0% and 100%") != std::string::npos);
  CHECK(message("shopping.p99<5ms").find("unknown journey") != std::string::npos);
  CHECK(message("checkout.rps>5").find("not per journey") != std::string::npos);
  // One no run can meet: 'errors<0%' failed every run with "actual 0.000%".
  CHECK(message("errors<0%").find("no run can meet it") != std::string::npos);
  CHECK(message("errors<0%").find("write 'errors<=0%'") != std::string::npos);
  CHECK(message("checkout.p99<0ms").find("no figure is below 0") != std::string::npos);
  CHECK(message("errors>100%").find("above 100%") != std::string::npos);
  CHECK(message("errors<=0%") == "accepted");
  CHECK(message("errors>=100%") == "accepted");
  CHECK(message("rps>0") == "accepted");
  // One every run meets passed whatever the run did: refused as well.
  for (const char* always : {"orders_per_second>=0", "errors<=100%", "p99>=0ms", "rps>=0",
                             "errors>=0", "checkout.errors<=100%"}) {
    CAPTURE(always);
    CHECK(message(always).find("every run meets it") != std::string::npos);
  }
  CHECK(message("errors<100%") == "accepted");
  CHECK(message("p99>=1ms") == "accepted");
  // Numbers are plain decimals everywhere: 'rps>1e3' was taken where 'p99<5e1ms' was refused.
  CHECK(message("rps>1e3").find("plain number") != std::string::npos);
  CHECK(message("p99<5e1ms").find("needs a duration") != std::string::npos);
  CHECK(message("p99<5e1us").find("needs a duration") != std::string::npos);
  CHECK(message("errors<1e-1%").find("between 0% and 100%") != std::string::npos);
  CHECK(message("rps>1000") == "accepted");
  CHECK(message("rps>2.5") == "accepted");
  CHECK(message("p99<800us") == "accepted");
}

// The load report splits CPU time between the load generator and, when it runs in the same
// process, the shop (the difference), per second and per paid order.
TEST_CASE("the load report gives the shop's and the generator's CPU per paid order") {
  LoadResult r;
  r.seconds = 2;
  r.orders_paid = 100;
  r.cpu_process_seconds = 2.0;
  r.cpu_generator_seconds = 0.5;
  r.shop_in_process = true;
  auto cpu = json_report(r, {})["cpu"];
  CHECK(cpu["shop_s"].get<double>() == doctest::Approx(1.5));
  CHECK(cpu["shop_cores"].get<double>() == doctest::Approx(0.75));
  CHECK(cpu["shop_ms_per_paid_order"].get<double>() == doctest::Approx(15.0));
  CHECK(cpu["generator_ms_per_paid_order"].get<double>() == doctest::Approx(5.0));
  CHECK(text_report(r, {}).find("per paid order: shop 15.00 ms, load generator 5.00 ms") !=
        std::string::npos);
  // Against a shop elsewhere (--target) only the generator is known.
  r.shop_in_process = false;
  cpu = json_report(r, {})["cpu"];
  CHECK_FALSE(cpu.contains("shop_s"));
  CHECK(cpu["generator_cores"].get<double>() == doctest::Approx(0.25));
}

// A latency threshold over nothing shows no actual (it showed "actual 0.000ms" and FAIL), and
// transitions that could not be read are not "none".
TEST_CASE("the load report says when a threshold had no samples or breakers could not be read") {
  LoadResult r;
  r.seconds = 1;
  Verdict v{parse_threshold("cart.p99<1ms"), {}};
  Figures f;
  f.seconds = 1;
  v.outcome = v.threshold.check(f);
  const std::string text = text_report(r, {v});
  CHECK(text.find("FAIL cart.p99<1ms") != std::string::npos);
  CHECK(text.find("no samples: nothing of it ran") != std::string::npos);
  CHECK(text.find("actual 0.000") == std::string::npos);
  auto j = json_report(r, {v});
  CHECK(j["thresholds"][0]["value"].is_null());
  CHECK(j["thresholds"][0]["no_samples"] == true);
  // The HTML page of the same report shows it too (a null value must not throw).
  CHECK(shopctl::observe_tools::load_html_report(j).find("no samples") != std::string::npos);
  CHECK(text.find("breaker transitions: none") != std::string::npos);
  r.breaker_transitions_problem = "GET /_admin/calls answered 401 admin_token_required";
  CHECK(text_report(r, {}).find("breaker transitions: could not be read (GET /_admin/calls "
                                "answered 401") != std::string::npos);
  CHECK(json_report(r, {})["breaker_transitions_problem"] ==
        "GET /_admin/calls answered 401 admin_token_required");
}

// A second in which no request finished has no latency: the progress line, the JSON and the
// chart said 0 ms, the best latency, for the second a stalled shop answered nothing (an
// outside probe). The page also shows an open loop's dropped starts, as the console does.
TEST_CASE(
    "an interval with no finished request has no latency, and the page shows dropped starts") {
  Progress p;
  p.elapsed_s = 1;
  p.has_latency = false;
  CHECK(progress_line(p).find("p99       - ms") != std::string::npos);
  p.has_latency = true;
  p.p99_ms = 12.5;
  CHECK(progress_line(p).find("p99   12.50 ms") != std::string::npos);

  LoadResult r;
  r.seconds = 2;
  r.mode = "open";
  r.rate = 0.5;
  r.dropped = 6;
  r.timeline.push_back({1.0, 0, 0, 0, 0, 0, false});
  r.timeline.push_back({2.0, 10, 0, 1.5, 2.5, 3.5, true});
  auto j = json_report(r, {});
  CHECK(j["timeline"][0]["latency_ms"]["p99"].is_null());
  CHECK(j["timeline"][1]["latency_ms"]["p99"] == 3.5);
  CHECK(text_report(r, {}).find("0.5 journeys/s offered") != std::string::npos);
  const std::string page = shopctl::observe_tools::load_html_report(j);
  CHECK(page.find("dropped starts") != std::string::npos);
  CHECK(page.find("open 0.5/s") != std::string::npos);
}

// A shop that stopped answering mid-run left a report whose latency and rate described failed
// connects (p99 4.36 ms at 12,634 req/s), and nothing said so (an outside probe).
TEST_CASE("the load report says when many requests got no answer") {
  LoadResult r;
  r.seconds = 5;
  r.requests.count = 1000;
  r.requests.errors = 900;
  r.errors_by_code["transport connection_refused"] = 880;
  r.errors_by_code["503 service_unavailable"] = 20;
  CHECK(text_report(r, {}).find("note: 880 of the 1,000 requests (88.0%) got no answer") !=
        std::string::npos);
  r.errors_by_code["transport connection_refused"] = 5;
  CHECK(text_report(r, {}).find("got no answer") == std::string::npos);
}

// A shop's bound on a user's unpaid orders refused checkouts, and the report only counted them
// among the errors (an outside probe): it says what bounds them and what to change.
TEST_CASE("the load report names the bound on unpaid orders when checkouts met it") {
  LoadResult r;
  r.seconds = 5;
  r.requests.count = 1000;
  r.requests.errors = 40;
  r.errors_by_code["409 too_many_unpaid_orders"] = 40;
  CHECK(text_report(r, {}).find("note: 40 checkouts were refused 409 too_many_unpaid_orders: "
                                "the shop bounds each user's unpaid orders "
                                "(order.max_unpaid_orders") != std::string::npos);
  r.errors_by_code.clear();
  CHECK(text_report(r, {}).find("too_many_unpaid_orders") == std::string::npos);
}

// A scheduler that woke late (its thread sharing two cores with the shop) started journeys up
// to 0.75 s after their schedule, and nothing said so: the lag was blamed on the shop.
TEST_CASE("an open loop's report names how late the generator started journeys") {
  LoadResult r;
  r.seconds = 3;
  r.mode = "open";
  r.rate = 20000;
  r.start_lag_max_ms = 746.6;
  CHECK(text_report(r, {}).find("started journeys up to 747 ms after their schedule") !=
        std::string::npos);
  CHECK(json_report(r, {})["start_lag_max_ms"] == doctest::Approx(746.6));
  r.start_lag_max_ms = 3;
  CHECK(text_report(r, {}).find("after their schedule") == std::string::npos);
  r.mode = "closed";
  CHECK_FALSE(json_report(r, {}).contains("start_lag_max_ms"));
}
