// http::parse_request: the server's parser and limits on bytes in memory (the HTTP fuzz
// target's way in). Each outcome maps to what the server does with the connection.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "platform/http/request_parse.hpp"
#include "platform/text_rules.hpp"

namespace {

using shopctl::http::parse_request;
using Outcome = shopctl::http::ParsedRequest::Outcome;

constexpr std::size_t kBody = 1 << 20;
constexpr std::size_t kHeaders = 16 * 1024;

TEST_CASE("a complete request comes out with its method, target, headers and body") {
  const std::string bytes =
      "POST /api/auth/login?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Content-Length: 7\r\n\r\n{\"a\":1}GET / HTTP/1.1\r\n\r\n";
  auto parsed = parse_request(bytes, kBody, kHeaders);
  REQUIRE(parsed.outcome == Outcome::complete);
  CHECK(parsed.request.method == "POST");
  CHECK(parsed.request.target == "/api/auth/login?x=1");
  CHECK(parsed.request.headers.get("content-type") == "application/json");
  CHECK(parsed.request.body == "{\"a\":1}");
  CHECK(parsed.consumed == bytes.find("GET"));  // the pipelined request stays unread
}

TEST_CASE("a chunked body is reassembled") {
  auto parsed = parse_request(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      kBody, kHeaders);
  REQUIRE(parsed.outcome == Outcome::complete);
  CHECK(parsed.request.body == "abcde");
}

TEST_CASE("bytes that stop before the request ends are incomplete, not an error") {
  CHECK(parse_request("", kBody, kHeaders).outcome == Outcome::incomplete);
  CHECK(parse_request("GET / HTTP/1.1\r\nHost:", kBody, kHeaders).outcome == Outcome::incomplete);
  CHECK(
      parse_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", kBody, kHeaders)
          .outcome == Outcome::incomplete);
}

TEST_CASE("a malformed request line or header is malformed, with the parser's reason") {
  auto parsed = parse_request("GET\x01 / HTTP/1.1\r\n\r\n", kBody, kHeaders);
  CHECK(parsed.outcome == Outcome::malformed);
  CHECK_FALSE(parsed.error.empty());
  CHECK(parse_request("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", kBody, kHeaders).outcome ==
        Outcome::malformed);
  CHECK(parse_request("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", kBody, kHeaders).outcome ==
        Outcome::malformed);
}

TEST_CASE(
    "a request target that is not an absolute path is malformed (found by fuzz_http_request)") {
  for (const char* line : {"POST api/auth HTTP/1.1", "GET * HTTP/1.1", "GET http://a/b HTTP/1.1"}) {
    CAPTURE(line);
    auto parsed = parse_request(std::string(line) + "\r\nHost: a\r\n\r\n", kBody, kHeaders);
    CHECK(parsed.outcome == Outcome::malformed);
  }
  CHECK(parse_request("GET /?q=api/auth HTTP/1.1\r\nHost: a\r\n\r\n", kBody, kHeaders).outcome ==
        Outcome::complete);
}

TEST_CASE("the body and header limits give the outcomes the server answers 413 and 431 for") {
  CHECK(parse_request("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", 10, kHeaders)
            .outcome == Outcome::body_too_large);
  const std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n";
  CHECK(parse_request(big, kBody, 100).outcome == Outcome::headers_too_large);
}

// parse_request used Beast's request_parser, not the server's: the fuzz target never reached
// the Host, doubled-field and trailer rules the server applies.
TEST_CASE("parse_request reads with the server's own parser and its rules") {
  CHECK(parse_request("GET / HTTP/1.1\r\n\r\n", kBody, kHeaders).outcome == Outcome::malformed);
  auto doubled = parse_request(
      "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
      kBody, kHeaders);
  CHECK(doubled.outcome == Outcome::malformed);
  CHECK(doubled.error == "more than one Authorization field");
  auto trailer = parse_request(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
      "Authorization: Bearer t\r\nContent-Type: application/json\r\n\r\n",
      kBody, kHeaders);
  REQUIRE(trailer.outcome == Outcome::complete);
  CHECK(trailer.request.body == "{}");
  CHECK_FALSE(trailer.request.headers.get("Authorization"));
  CHECK_FALSE(trailer.request.headers.get("Content-Type"));
  // The head's fields and a trailer section together count against the header limit.
  const std::string half(600, 'a');
  CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-A: " + half +
                          "\r\n\r\n0\r\nX-B: " + half + "\r\n\r\n",
                      kBody, 1024)
            .outcome == Outcome::headers_too_large);
  // A field counts as the bytes it takes: 2,900 fields "a:b" (14,500 bytes) are under 16 KiB
  // (each counted with ": " they were 17,400).
  std::string compact = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 2900; ++i) compact += "a:b\r\n";
  compact += "\r\n";
  REQUIRE(compact.size() < kHeaders);
  CHECK(parse_request(compact, kBody, kHeaders).outcome == Outcome::complete);
}

}  // namespace

TEST_CASE("two traceparent fields are combined into one, which names no trace") {
  // The first was kept (an outside probe): the request joined a trace that a proxy reading the
  // last, or the list, would not have chosen. Combined (RFC 9110 5.3), it is invalid, and the
  // service starts a new trace (W3C Trace Context).
  auto parsed = parse_request(
      "GET / HTTP/1.1\r\nHost: a\r\n"
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
      "Accept: */*\r\n"
      "TraceParent: 00-11111111111111111111111111111111-00f067aa0ba902b7-01\r\n\r\n",
      kBody, kHeaders);
  REQUIRE(parsed.outcome == Outcome::complete);
  CHECK(parsed.request.headers.get("traceparent") ==
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, "
        "00-11111111111111111111111111111111-00f067aa0ba902b7-01");
  CHECK(parsed.request.headers.size() == 3);
  // One alone is kept as sent.
  auto one = parse_request(
      "GET / HTTP/1.1\r\nHost: a\r\n"
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n",
      kBody, kHeaders);
  CHECK(one.request.headers.get("traceparent") ==
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

// One reading of the Connection list for the server's keep-alive and the gateway's hop-by-hop
// fields (each had its own: a token parser and a hand-written split).
TEST_CASE("every Connection field's list counts, in any case and spacing") {
  using shopctl::http::connection_names;
  using shopctl::http::list_names;
  CHECK(list_names("close", "close"));
  CHECK(list_names(" Keep-Alive ,\tCLOSE\t", "close"));
  CHECK(list_names("a,,  ,Idempotency-Key", "idempotency-key"));
  CHECK_FALSE(list_names("closed, enclose", "close"));
  CHECK_FALSE(list_names("", "close"));
  CHECK_FALSE(list_names(" , ", ""));

  const std::string bytes =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nAccept: */*\r\n"
      "connection: Idempotency-Key, close\r\n\r\n";
  auto parsed = parse_request(bytes, kBody, kHeaders);
  REQUIRE(parsed.outcome == Outcome::complete);
  CHECK(connection_names(parsed.request.headers, "keep-alive"));
  CHECK(connection_names(parsed.request.headers, "close"));
  CHECK(connection_names(parsed.request.headers, "IDEMPOTENCY-KEY"));
  CHECK_FALSE(connection_names(parsed.request.headers, "Accept"));
}

// The provider's pay page or its JSON by Accept: "text/html;q=0" got the page and "TEXT/HTML"
// got JSON (a search for the text "text/html", an outside probe).
TEST_CASE("an Accept field gives a media type the quality of its most specific range") {
  using shopctl::http::accept_quality;
  auto quality = [](const std::string& fields, std::string_view type) {
    const std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n";
    auto parsed = parse_request(bytes, kBody, kHeaders);
    REQUIRE(parsed.outcome == Outcome::complete);
    return accept_quality(parsed.request.headers, type);
  };
  CHECK(quality("", "text/html") == std::nullopt);
  CHECK(quality("Accept: text/html\r\n", "text/html") == 1000);
  CHECK(quality("Accept: TEXT/HTML\r\n", "text/html") == 1000);
  CHECK(quality("Accept: application/json, text/html;q=0\r\n", "text/html") == 0);
  CHECK(quality("Accept: application/json, text/html ; Q=0.5\r\n", "text/html") == 500);
  CHECK(quality("Accept: application/json\r\n", "text/html") == 0);
  CHECK(quality("Accept: */*;q=0.8, text/*;q=0.3\r\n", "text/html") == 300);
  CHECK(quality("Accept: */*;q=0.8, text/*;q=0.3\r\n", "application/json") == 800);
  CHECK(quality("Accept: text/html;level=1;q=0.25\r\n", "text/html") == 250);
  // Not qvalues: skipped, as if the element were not there.
  CHECK(quality("Accept: text/html;q=2, */*;q=0.1\r\n", "text/html") == 100);
  CHECK(quality("Accept: text/html;q=0.1234\r\n", "text/html") == 0);
  CHECK(quality("Accept: text/html;q=1.001\r\n", "text/html") == 0);
  // Two fields are one list.
  CHECK(quality("Accept: application/json\r\naccept: text/html;q=0.9\r\n", "text/html") == 900);
  // A browser's navigation.
  const std::string browser =
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
      "*/*;q=0.8\r\n";
  CHECK(quality(browser, "text/html") == 1000);
  CHECK(quality(browser, "application/json") == 800);
}

// The one trim and list walk that the header readers (Connection, Accept, Content-Type's
// charset) share; each had its own copy before.
TEST_CASE("a list is walked element by element, each without optional whitespace") {
  using shopctl::platform::any_list_element;
  using shopctl::platform::trim_ows;
  CHECK(trim_ows(" \t a b \t") == "a b");
  CHECK(trim_ows(" \t ").empty());
  CHECK(trim_ows("\na\r") == "\na\r");  // only spaces and tabs are OWS
  auto elements = [](std::string_view list, char separator) {
    std::vector<std::string> seen;
    any_list_element(list, separator, [&](std::string_view e) {
      seen.emplace_back(e);
      return false;
    });
    return seen;
  };
  CHECK(elements("", ',').empty());
  CHECK(elements(" a ,b,, c\t", ',') == std::vector<std::string>{"a", "b", "", "c"});
  CHECK(elements("a,", ',') == std::vector<std::string>{"a"});
  CHECK(elements("text/html; q=0.5 ;level=1", ';') ==
        std::vector<std::string>{"text/html", "q=0.5", "level=1"});
  int visited = 0;
  CHECK(any_list_element("a,b,c", ',', [&](std::string_view e) {
    ++visited;
    return e == "b";
  }));
  CHECK(visited == 2);
  CHECK_FALSE(any_list_element("a,b", ',', [](std::string_view e) { return e == "c"; }));
}

// One client, one key: the addresses a proxy writes in X-Forwarded-For in several spellings
// (a port, brackets, case, zeros, IPv4-mapped) were several clients (an outside probe).
TEST_CASE("an IP address is read in the form the OS writes a peer's") {
  using shopctl::http::canonical_ip_address;
  CHECK(canonical_ip_address("1.1.1.1") == "1.1.1.1");
  CHECK(canonical_ip_address("1.1.1.1:80") == "1.1.1.1");
  CHECK(canonical_ip_address("::ffff:1.1.1.1") == "1.1.1.1");
  CHECK(canonical_ip_address("2001:DB8:0::0001") == "2001:db8::1");
  CHECK(canonical_ip_address("[2001:db8::1]") == "2001:db8::1");
  CHECK(canonical_ip_address("[2001:db8::1]:443") == "2001:db8::1");
  for (const char* bad : {"", "garbage", "unknown", "16843009", "1.1.1.1%eth0", "[2001:db8::1",
                          "[::1]x", "1.1.1.1:", "[::1]:", "1.1.1"}) {
    CAPTURE(bad);
    CHECK_FALSE(canonical_ip_address(bad).has_value());
  }
  CHECK_FALSE(canonical_ip_address(std::string(100, '1')).has_value());
}
