// The load engine against a real shop, where the public API's checks cannot reach: what a
// virtual user does with an error it does not handle.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "../support/test_shop.hpp"
#include "load/engine.hpp"
#include "load/plan.hpp"
#include "shop/shop.hpp"

// A user (or the open loop's scheduler) ended by an exception was counted as finished: with a
// card that was not UTF-8, every user stopped at its first pay request, and the 3 s run ended
// after 10 ms with nothing measured and every threshold met (an outside probe of the C++ API).
TEST_CASE("a virtual user stopped by an error the engine does not handle ends the run with it") {
  auto shop = shopctl::test_support::start_shop();
  for (const double rate : {0.0, 50.0}) {
    CAPTURE(rate);
    shopctl::load::LoadOptions o;
    o.gateway_url = shop->url("gateway");
    o.users = 2;
    o.rate = rate;
    o.duration = std::chrono::seconds(3);
    o.mix = shopctl::load::parse_mix("checkout=1");
    o.card = "4242\xff";  // check_card refuses it at the doors; the engine must not hide it
    CHECK_THROWS_WITH_AS(shopctl::load::run_load(o), doctest::Contains("a virtual user met"),
                         shopctl::load::SetupError);
  }
}
