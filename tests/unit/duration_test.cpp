#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "platform/duration.hpp"

using namespace std::chrono_literals;
using shopctl::platform::format_duration;
using shopctl::platform::parse_duration;

TEST_CASE("parse_duration reads whole and decimal numbers in ms, s, m and h") {
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("1m") == 1min);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("0.25h") == 15min);
  CHECK(parse_duration("0.5ms") == 500us);
  CHECK(parse_duration("1.000s") == 1s);
  CHECK(parse_duration("0s") == 0s);
  CHECK(parse_duration("007s") == 7s);
  CHECK(parse_duration("0.000000001s") == 1ns);
  CHECK(parse_duration("2562047h") == 2562047h);
}

TEST_CASE("parse_duration refuses text that is not a plain number and a known unit") {
  for (const char* text : {"",
                           "5",
                           "s",
                           "ms",
                           "-1s",
                           "+1s",
                           " 1s",
                           "1s ",
                           "1 s",
                           "1.s",
                           ".5s",
                           "1e3s",
                           "1sec",
                           "1d",
                           "1us",
                           "1ns",
                           "1.2.3s",
                           "1,5s",
                           "0x10s",
                           "1S",
                           "1hms",
                           "0.0000000001s",
                           "0.0000001ms",
                           "99999999999999h",
                           "9223372036854775808ms"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

TEST_CASE("format_duration uses the largest unit that holds the duration exactly") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(90min) == "90m");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(1500us) == "1.5ms");
  CHECK(format_duration(1ns) == "0.000001ms");
  CHECK(format_duration(-5s) == "-5s");
}

TEST_CASE("format_duration and parse_duration round-trip") {
  for (std::chrono::nanoseconds d :
       {std::chrono::nanoseconds(0ns), std::chrono::nanoseconds(1ns),
        std::chrono::nanoseconds(1234567ns), std::chrono::nanoseconds(60s),
        std::chrono::nanoseconds(3601s), std::chrono::nanoseconds(1500ms),
        std::chrono::nanoseconds(std::chrono::nanoseconds::max())}) {
    CAPTURE(d.count());
    CHECK(parse_duration(format_duration(d)) == d);
  }
}

// A duration written right but too long to represent was "expected a duration like 10s".
TEST_CASE("duration_overflows tells a value too long from one written wrong") {
  using shopctl::platform::duration_overflows;
  CHECK(duration_overflows("2562048h"));
  CHECK(duration_overflows("9000000000000h"));
  CHECK(duration_overflows("99999999999999999999999ms"));
  CHECK(duration_overflows("9223372036855s"));
  CHECK(duration_overflows("2562048.5h"));
  CHECK_FALSE(duration_overflows("2562047h"));  // fits
  CHECK_FALSE(duration_overflows("10s"));
  CHECK_FALSE(duration_overflows("1us"));
  CHECK_FALSE(duration_overflows("-5s"));
  CHECK_FALSE(duration_overflows("1.0000000001s"));  // too fine, not too long
  CHECK_FALSE(duration_overflows("99999999999999999999x"));
  CHECK_FALSE(duration_overflows(""));
}
