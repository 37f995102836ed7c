// The pages served to browsers (docs/frontend.md): the web shop and the console at the gateway,
// the hosted pay page at the provider, with their headers; the console's admin-plane reads;
// and the pay page's return URL, which may only lead back to the shop. The browser stories
// themselves are in tests/web/.
#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "shop/shop.hpp"

namespace {

namespace http = shopctl::http;
using nlohmann::json;
using shopctl::test_support::Answer;
using shopctl::test_support::header;
using shopctl::test_support::HeaderList;

Answer fetch(const std::string& method, const std::string& url, const HeaderList& headers = {},
             const std::optional<json>& body = {}) {
  http::BlockingClient client;
  return shopctl::test_support::send(client, method, url, body, headers);
}

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "the gateway serves the shop and the console with a strict CSP, ETags and contract 404s") {
  auto shop = shopctl::test_support::start_shop();
  const auto gateway = shop->url("gateway");

  auto home = fetch("GET", gateway + "/");
  CHECK(home.status == 200);
  CHECK(header(home, "Content-Type").starts_with("text/html"));
  const auto csp = header(home, "Content-Security-Policy");
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(header(home, "X-Content-Type-Options") == "nosniff");
  CHECK(header(home, "Cache-Control") == "no-cache");
  CHECK(home.raw.find("/assets/shop/app.js") != std::string::npos);
  CHECK(home.raw.find("<script>") == std::string::npos);  // no inline script
  const auto etag = header(home, "ETag");
  REQUIRE(etag.size() > 2);

  auto unchanged = fetch("GET", gateway + "/", {{"If-None-Match", etag}});
  CHECK(unchanged.status == 304);
  CHECK(unchanged.raw.empty());
  // A 304 says nothing of the length: "Content-Length: 0" is not the 200's (RFC 9110, 8.6),
  // to GET and to HEAD alike.
  for (const char* method : {"GET", "HEAD"}) {
    CAPTURE(method);
    shopctl::test_support::RawConnection raw(shopctl::test_support::port_of(gateway));
    REQUIRE(raw.connected());
    REQUIRE(raw.send(std::string(method) + " / HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: " +
                     etag + "\r\nConnection: close\r\n\r\n"));
    CHECK(raw.read_until_closed(std::chrono::seconds(5)));
    CHECK(raw.received.starts_with("HTTP/1.1 304"));
    CHECK(raw.received.find("Content-Length") == std::string::npos);
    CHECK(raw.received.size() == raw.received.find("\r\n\r\n") + 4);
    // A HEAD 304 left nosniff out: Beast wrote it from fields built apart (an outside probe).
    CHECK(raw.received.find("\r\nX-Content-Type-Options: nosniff\r\n") != std::string::npos);
  }
  CHECK(fetch("GET", gateway + "/", {{"If-None-Match", "\"other\""}}).status == 200);
  {
    shopctl::test_support::RawConnection head(shopctl::test_support::port_of(gateway));
    REQUIRE(head.connected());
    REQUIRE(head.send("HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    CHECK(head.read_until_closed(std::chrono::seconds(5)));
    CHECK(head.received.starts_with("HTTP/1.1 200"));
    CHECK(head.received.size() == head.received.find("\r\n\r\n") + 4);  // no body
  }

  auto script = fetch("GET", gateway + "/assets/shop/app.js");
  CHECK(script.status == 200);
  CHECK(header(script, "Content-Type").starts_with("text/javascript"));
  CHECK(fetch("GET", gateway + "/assets/common/base.css").status == 200);
  CHECK(fetch("GET", gateway + "/console").status == 200);

  for (const char* path : {"/assets/shop/nope.js", "/assets/", "/assets/..%2f..%2fetc%2fpasswd",
                           "/assets/pay/index.html", "/assets/shop//app.js%00"}) {
    CAPTURE(path);
    auto missing = fetch("GET", gateway + path);
    CHECK(missing.status == 404);
    CHECK(missing.body["error"]["code"].is_string());
    CHECK(missing.body["trace_id"].is_string());
  }
  CHECK(fetch("POST", gateway + "/").status == 405);
  CHECK(fetch("GET", gateway + "/index.html").status == 404);
  // The API is unchanged: still a token on every route.
  CHECK(fetch("GET", gateway + "/api/cart").status == 401);
}

// The console is the operator's, as the admin plane is: a fault on the gateway (its own form
// offers one) hung the console page and its files, and the operator had no console to clear
// the fault with. The shop's pages stay open to faults (red before: /console answered 503).
TEST_CASE("a fault on the gateway leaves the console and its files alone, not the shop's pages") {
  auto shop = shopctl::test_support::start_shop();
  const auto gateway = shop->url("gateway");
  const HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  REQUIRE(fetch("POST", gateway + "/_admin/faults", admin,
                json{{"target", "gateway"}, {"type", "abort"}, {"status", 503}})
              .status == 201);
  for (const char* path : {"/console", "/assets/console/console.js", "/assets/common/base.css"}) {
    CAPTURE(path);
    CHECK(fetch("GET", gateway + path).status == 200);
  }
  CHECK(fetch("GET", gateway + "/").status == 503);
  CHECK(fetch("GET", gateway + "/assets/shop/app.js").status == 503);
}

TEST_CASE("the console's reads need the admin token and report a stopped service, never a 5xx") {
  auto shop = shopctl::test_support::start_shop();
  const auto gateway = shop->url("gateway");
  const HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};

  CHECK(fetch("GET", gateway + "/_admin/console/breakers").status == 401);
  CHECK(
      fetch("GET", gateway + "/_admin/console/breakers", {{"X-Admin-Token", "adm_wrong"}}).status ==
      401);

  auto architecture = fetch("GET", gateway + "/_admin/console/architecture", admin);
  REQUIRE(architecture.status == 200);
  bool door = false;
  for (const auto& c : architecture.body["components"]) door = door || c["kind"] == "door";
  CHECK(door);
  bool order_catalog = false;
  for (const auto& e : architecture.body["allowed_edges"])
    order_catalog = order_catalog || e["edge"] == "order->catalog";
  CHECK(order_catalog);

  auto breakers = fetch("GET", gateway + "/_admin/console/breakers", admin);
  REQUIRE(breakers.status == 200);
  CHECK(breakers.body["services"]["order"]["reachable"] == true);
  CHECK(breakers.body["services"]["order"]["items"][0]["name"] == "order->catalog");
  CHECK(breakers.body["services"]["payment"]["reachable"] == true);

  auto outbox = fetch("GET", gateway + "/_admin/console/outbox", admin);
  REQUIRE(outbox.status == 200);
  CHECK(outbox.body["reachable"] == true);
  CHECK(outbox.body["depth"] == 0);

  shop->stop_service("payment");
  auto down = fetch("GET", gateway + "/_admin/console/outbox", admin);
  CHECK(down.status == 200);
  CHECK(down.body["reachable"] == false);
  CHECK(fetch("GET", gateway + "/_admin/console/breakers", admin)
            .body["services"]["payment"]["reachable"] == false);
  shop->start_service("payment");
}

// The console's admin-plane clients kept pooled connections 20 s, whatever http.idle_timeout
// said, so a read could meet a connection the peer had just closed for idleness, and the
// console showed a running service as unreachable. They now let one go at half the peer's idle
// timeout, as every ServiceCaller does (http::pooled_idle_limit). The race itself is a few
// microseconds wide; what the test sees is the connection the second read goes out on (red
// before: the same one, kept past half the peer's timeout).
std::set<std::string> established_to(std::uint16_t port) {  // client ends, from /proc/net/tcp
  std::set<std::string> found;
  std::ifstream table("/proc/self/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  char remote[32];
  std::snprintf(remote, sizeof remote, "0100007F:%04X", port);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, peer, state;
    fields >> slot >> local >> peer >> state;
    if (peer == remote && state == "01") found.insert(local);
  }
  return found;
}

TEST_CASE("the console's admin-plane clients let a pooled connection go before the peer would") {
  shopctl::shop::ShopConfig config;
  config.http_idle_timeout = std::chrono::seconds(1);  // the console's limit: 500 ms
  auto shop = shopctl::test_support::start_shop(config);
  const auto gateway = shop->url("gateway");
  const auto payment_port = static_cast<std::uint16_t>(
      std::stoi(shop->url("payment").substr(shop->url("payment").rfind(':') + 1)));
  const HeaderList admin = {{"X-Admin-Token", shop->admin_token()}};
  REQUIRE(fetch("GET", gateway + "/_admin/console/outbox", admin).body["reachable"] == true);
  const auto first = established_to(payment_port);
  REQUIRE(first.size() == 1);
  // Past 500 ms and the pool sweeper's next pass (every 250 ms), within the peer's 1 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  REQUIRE(fetch("GET", gateway + "/_admin/console/outbox", admin).body["reachable"] == true);
  const auto second = established_to(payment_port);
  CHECK(!second.contains(*first.begin()));
  CHECK(!second.empty());
}

TEST_CASE(
    "the provider's pay page answers browsers, and its return URL leads only back to the shop") {
  auto shop = shopctl::test_support::start_shop();
  const auto gateway = shop->url("gateway");
  http::BlockingClient client;
  const auto token = shopctl::test_support::demo_token(client, *shop);
  const HeaderList user = {{"Authorization", "Bearer " + token}};
  REQUIRE(fetch("POST", gateway + "/api/cart/items", user,
                json{{"product_id", "p-001"}, {"quantity", 1}})
              .status == 200);
  auto order = fetch("POST", gateway + "/api/orders", user);
  REQUIRE(order.status == 201);
  const auto pay_url = order.body["payment"]["pay_url"].get<std::string>();

  auto page = fetch("GET", pay_url, {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
  CHECK(page.status == 200);
  CHECK(header(page, "Content-Type").starts_with("text/html"));
  CHECK(header(page, "Content-Security-Policy").find("unsafe-inline") == std::string::npos);
  CHECK(page.raw.find("4242 4242 4242 4242") != std::string::npos);
  const auto provider = pay_url.substr(0, pay_url.find("/pay/"));
  CHECK(fetch("GET", provider + "/pay/static/pay.js").status == 200);
  CHECK(fetch("GET", provider + "/pay/static/nope.js").status == 404);

  CHECK(header(page, "Vary") == "Accept");
  // A client that asks for JSON still gets the intent, unchanged; the browser keeps no copy
  // (Back after paying showed this JSON, stale, for the page).
  auto intent = fetch("GET", pay_url);
  CHECK(intent.status == 200);
  CHECK(header(intent, "Vary") == "Accept");
  CHECK(header(intent, "Cache-Control") == "no-store");
  // The API's answers through the public door are not kept by a browser either (Back from the
  // pay page drew the cart from the disk cache).
  auto cart = fetch("GET", gateway + "/api/cart", user);
  CHECK(cart.status == 200);
  CHECK(header(cart, "Cache-Control") == "no-store");
  CHECK(header(fetch("GET", gateway + "/api/catalog/products", user), "Cache-Control") ==
        "no-store");
  CHECK(intent.body["status"] == "requires_payment");
  CHECK_FALSE(intent.body.contains("return_url"));

  const auto back = gateway + "/#/orders/" + order.body["order_id"].get<std::string>();
  auto with_return = fetch("GET", pay_url + "?return_url=" + percent_encode(back));
  CHECK(with_return.status == 200);
  CHECK(with_return.body["return_url"] == back);
  const auto port = std::to_string(shopctl::test_support::port_of(gateway));
  CHECK(fetch("GET", pay_url + "?return_url=" + percent_encode("http://localhost:" + port + "/"))
            .status == 200);

  const std::vector<std::string> refused_urls = {"http://evil.test/",
                                                 "https://127.0.0.1:" + port + "/",
                                                 "http://127.0.0.1:1/",
                                                 "http://127.0.0.1:" + port + "@evil.test/",
                                                 "javascript:alert(1)",
                                                 "//evil.test/",
                                                 "http://127.0.0.1:" + port + "\\@evil.test/",
                                                 "http://127.0.0.1:" + port + "?x",
                                                 std::string(3000, 'a')};
  for (const auto& evil : refused_urls) {
    CAPTURE(evil);
    auto refused = fetch("GET", pay_url + "?return_url=" + percent_encode(evil));
    CHECK(refused.status == 400);
    CHECK(refused.body["error"]["code"] == "invalid_return_url");
    // A browser gets the page with the same status; its script shows the error's message.
    auto page_refused =
        fetch("GET", pay_url + "?return_url=" + percent_encode(evil), {{"Accept", "text/html"}});
    CHECK(page_refused.status == 400);
    CHECK(header(page_refused, "Content-Type").starts_with("text/html"));
    CHECK(header(page_refused, "ETag").empty());
  }

  // An unknown intent: JSON for a client, the page (whose script says so) for a browser.
  const auto unknown = provider + "/pay/pi_unknown";
  auto missing = fetch("GET", unknown);
  CHECK(missing.status == 404);
  CHECK(missing.body["error"]["code"] == "intent_not_found");
  auto missing_page = fetch("GET", unknown, {{"Accept", "text/html"}});
  CHECK(missing_page.status == 404);
  CHECK(header(missing_page, "Content-Type").starts_with("text/html"));
  CHECK(missing_page.raw.find("4242 4242 4242 4242") != std::string::npos);
  // A link cut short or run on: the page for a browser too (it got JSON), the same 404 for a
  // client; a POST there names no route either.
  for (const std::string path : {"/pay", "/pay/", "/pay/pi_x/more"}) {
    CAPTURE(path);
    auto short_page = fetch("GET", provider + path, {{"Accept", "text/html"}});
    CHECK(short_page.status == 404);
    CHECK(header(short_page, "Content-Type").starts_with("text/html"));
    auto short_json = fetch("GET", provider + path);
    CHECK(short_json.status == 404);
    CHECK(short_json.body["error"]["code"] == "route_not_found");
    CHECK(fetch("POST", provider + path).status / 100 == 4);
  }
}
