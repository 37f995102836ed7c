// Unit tests of platform/http/host_allowlist: which Host values a shop answers outsiders on.
#include <doctest/doctest.h>

#include <string>

#include "platform/http/host_allowlist.hpp"

namespace http = shopctl::http;

TEST_CASE("addresses, localhost and names under .localhost are always allowed") {
  http::HostAllowlist hosts;
  for (const std::string ok :
       {"127.0.0.1", "127.0.0.1:8080", "10.1.2.3:80", "[::1]", "[::1]:8080", "[fe80::1]:1",
        "localhost", "LOCALHOST:8080", "localhost.", "shop.localhost", "a.b.localhost:9"}) {
    CAPTURE(ok);
    CHECK(hosts.allows(ok));
  }
}

TEST_CASE("any other name is refused unless it was allowed") {
  http::HostAllowlist hosts;
  for (const std::string bad :
       {"evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example",
        "evillocalhost", "0x7f.1", "2130706433", "[not-v6]", "[::1", "shop.example"}) {
    CAPTURE(bad);
    CHECK_FALSE(hosts.allows(bad));
  }
  hosts.allow("Shop.Example.");
  CHECK(hosts.allows("shop.example"));
  CHECK(hosts.allows("SHOP.EXAMPLE:443"));
  CHECK(hosts.allows("shop.example.:80"));
  CHECK_FALSE(hosts.allows("www.shop.example"));
  CHECK_FALSE(hosts.allows("evil.example"));
  hosts.allow("gateway:8080");  // as a URL's authority gives it
  CHECK(hosts.allows("gateway"));
  CHECK(hosts.names().size() == 2);
  hosts.allow("127.0.0.1");  // an address needs no entry
  CHECK(hosts.names().size() == 2);
}

TEST_CASE("a Host whose port part is not digits is refused, even with \"*\"") {
  http::HostAllowlist hosts;
  http::HostAllowlist any;
  any.allow("*");
  for (const std::string bad :
       {"127.0.0.1:1@evil.com", "127.0.0.1:80x", "localhost:8080/x", "[::1]x", "[::1]:8o",
        "127.0.0.1:123456", "localhost: 80", "127.0.0.1:-1"}) {
    CAPTURE(bad);
    CHECK_FALSE(hosts.allows(bad));
    CHECK_FALSE(any.allows(bad));
  }
  for (const std::string ok : {"127.0.0.1:", "127.0.0.1:65535", "[::1]:", "localhost:0"}) {
    CAPTURE(ok);
    CHECK(hosts.allows(ok));
  }
}

TEST_CASE("an empty Host names nothing, even with \"*\"") {
  http::HostAllowlist hosts;
  http::HostAllowlist any;
  any.allow("*");
  for (std::string_view empty : {"", ":8080", ":"}) {
    CAPTURE(empty);
    CHECK_FALSE(hosts.allows(empty));
    CHECK_FALSE(any.allows(empty));
  }
}

TEST_CASE("\"*\" allows every name") {
  http::HostAllowlist hosts;
  hosts.allow("*");
  CHECK(hosts.allows_any());
  CHECK(hosts.allows("evil.example:8080"));
}

TEST_CASE("the name part of a Host value drops the port and keeps IPv6 brackets") {
  CHECK(http::host_name_part("example.org:8080") == "example.org");
  CHECK(http::host_name_part("example.org") == "example.org");
  CHECK(http::host_name_part("[::1]:80") == "[::1]");
  CHECK(http::host_name_part("[::1]") == "[::1]");
}
