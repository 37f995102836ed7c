// Which scenarios run alone against a running shop (scenario/isolation.hpp), and which keys of
// a `config:` a running shop takes (shop/config.hpp: runtime_config_refusals).
#include <doctest/doctest.h>

#include <string>

#include "scenario/isolation.hpp"
#include "scenario/parser.hpp"
#include "shop/config.hpp"

using shopctl::scenario::isolation_of;
using shopctl::scenario::parse_scenario_text;
using shopctl::scenario::Scenario;

namespace {

Scenario parse(const std::string& yaml) {
  auto result = parse_scenario_text(yaml, "s.yaml");
  INFO(result.format_diagnostics());
  REQUIRE(result.ok());
  return *result.scenario;
}

Scenario with_steps(const std::string& steps, const std::string& top = "") {
  return parse("version: 1\n" + top + "steps:\n" + steps);
}

std::string refusals(const std::string& yaml) {
  std::string all;
  for (const auto& issue : shopctl::shop::runtime_config_refusals(YAML::Load(yaml))) {
    all += std::to_string(issue.line) + ":" + std::to_string(issue.column) + " " + issue.message +
           "\n";
  }
  return all;
}

}  // namespace

TEST_CASE("a scenario of requests, logins, payments and waits may share a running shop") {
  auto s = with_steps(
      "  - register: {email: a@shop.test, password: correct-horse-battery}\n"
      "  - login: {email: a@shop.test, password: correct-horse-battery}\n"
      "  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}\n"
      "    expect: {status: 200, json: {$.total_cents: 1290}}\n"
      "  - pay: {order: o-1, card: \"4242424242424242\"}\n"
      "  - wait: 10ms\n"
      "  - request: {GET: /products, service: catalog, as: \"svc:order\"}\n");
  auto iso = isolation_of(s);
  CHECK_FALSE(iso.exclusive);
  CHECK(iso.reason.empty());
}

TEST_CASE(
    "each action that changes shared state makes a scenario exclusive, naming the action and its "
    "line") {
  const char* actions[] = {
      "  - fault: {target: catalog, type: abort, status: 503}\n",
      "  - clear_faults: all\n",
      "  - stop: order\n",
      "  - start: order\n",
      "  - restart: payment\n",
      "  - advance_clock: 61s\n",
      "  - set_price: {product: p-001, price_cents: 1350}\n",
      "  - set_available: {product: p-020, available: false}\n",
  };
  for (const char* step : actions) {
    CAPTURE(step);
    auto iso = isolation_of(with_steps(std::string("  - request: {GET: /api/cart}\n") + step));
    CHECK(iso.exclusive);
    CHECK(iso.reason.find("s.yaml:4:") != std::string::npos);
    CHECK(iso.reason.find("changes shared state") != std::string::npos);
  }
  CHECK(isolation_of(with_steps("  - stop: order\n")).reason.find("`stop`") != std::string::npos);
}

TEST_CASE(
    "step faults, admin-plane requests, config, seed and allowed violations make a scenario "
    "exclusive") {
  CHECK(isolation_of(with_steps("  - request: {GET: /api/cart}\n"
                                "    faults: [{target: catalog, type: delay, delay: 10ms}]\n"))
            .exclusive);
  auto admin = isolation_of(
      with_steps("  - request: {method: POST, path: \"/_admin/circuit-breakers/order->catalog\", "
                 "service: order, json: {state: FORCED_OPEN}}\n"));
  CHECK(admin.exclusive);
  CHECK(admin.reason.find("admin plane") != std::string::npos);
  auto config = isolation_of(with_steps("  - request: {GET: /api/cart}\n",
                                        "config: {order: {catalog_client: {timeout: 200ms}}}\n"));
  CHECK(config.exclusive);
  CHECK(config.reason.find("config") != std::string::npos);
  CHECK(isolation_of(with_steps("  - request: {GET: /api/cart}\n", "seed: 42\n")).exclusive);
  CHECK(isolation_of(with_steps("  - request: {GET: /api/cart}\n", "allow_violations: true\n"))
            .exclusive);
}

TEST_CASE(
    "expectations on breakers, calls or violations make a scenario exclusive: they read shop-wide "
    "records") {
  CHECK(isolation_of(with_steps("  - request: {GET: /api/cart}\n"
                                "    expect: {calls: [{edge: gateway->order, count: 1}]}\n"))
            .exclusive);
  CHECK(isolation_of(with_steps("  - request: {GET: /api/cart}\n    expect: {violations: 0}\n"))
            .exclusive);
  CHECK(isolation_of(with_steps("  - wait: 1ms\n    expect: {circuit: {order->catalog: CLOSED}}\n"))
            .exclusive);
  CHECK(isolation_of(
            with_steps("  - wait: 1ms\n    expect: {circuit_transitions: {order->catalog: []}}\n"))
            .exclusive);
}

TEST_CASE("a change of shared state in setup or teardown counts as much as one in the steps") {
  auto s =
      parse("version: 1\nsteps:\n  - request: {GET: /api/cart}\nteardown:\n  - start: catalog\n");
  CHECK(isolation_of(s).exclusive);
}

TEST_CASE("exclusive: in the file overrides the detection both ways") {
  auto forced = isolation_of(with_steps("  - request: {GET: /api/cart}\n", "exclusive: true\n"));
  CHECK(forced.exclusive);
  CHECK(forced.reason == "declared `exclusive: true`");
  auto shared = isolation_of(with_steps("  - advance_clock: 1s\n", "exclusive: false\n"));
  CHECK_FALSE(shared.exclusive);
}

TEST_CASE("exclusive: must be a boolean") {
  auto result = parse_scenario_text(
      "version: 1\nexclusive: sometimes\nsteps:\n  - request: {GET: /api/cart}\n", "s.yaml");
  CHECK_FALSE(result.ok());
}

TEST_CASE(
    "a running shop takes breaker settings, client timeouts and retries, the outbox backoff and "
    "the seed") {
  CHECK(refusals("seed: 7\n"
                 "order:\n"
                 "  catalog_client: {timeout: 200ms, retry: {max_attempts: 1}}\n"
                 "  payment_client: {timeout: 3s}\n"
                 "  circuit_breakers: {order->catalog: {sliding_window_size: 4}}\n"
                 "payment:\n"
                 "  order_client: {timeout: 1s}\n"
                 "  provider_client: {retry: {max_attempts: 1}}\n"
                 "  outbox: {initial_backoff: 10ms, max_backoff: 20ms}\n"
                 "  circuit_breakers: {payment->order: {minimum_number_of_calls: 5}}\n") == "");
  CHECK(refusals("{}") == "");
}

TEST_CASE(
    "a running shop takes the token TTL, the login throttle, the webhook tolerance, "
    "reconciliation, the payment timeout and the provider's webhook retries") {
  CHECK(refusals("auth:\n"
                 "  token_ttl: 1m\n"
                 "  login_throttle: {max_failures: 2, window: 10m}\n"
                 "order:\n"
                 "  payment_timeout: 2m\n"
                 "payment:\n"
                 "  webhook_tolerance: 10s\n"
                 "  reconcile: {after: 100h}\n"
                 "provider:\n"
                 "  webhook_retry: {initial_backoff: 2s, max_backoff: 1m, give_up_after: 30s}\n") ==
        "");
  // Each on its own, as scenarios write them.
  CHECK(refusals("auth: {login_throttle: {window: 5s}}\n") == "");
  CHECK(refusals("payment: {reconcile: {after: 1s}}\n") == "");
  CHECK(refusals("provider: {webhook_retry: {give_up_after: 30s}}\n") == "");
}

TEST_CASE(
    "a running shop refuses the password hashing and the other start-up settings of auth, saying "
    "why") {
  auto text = refusals(
      "auth:\n"
      "  token_ttl: 1m\n"
      "  password_hashing: fast\n"
      "  password_workers: 4\n"
      "  password_queue: 8\n"
      "  demo_user: {enabled: false}\n");
  CHECK(text.find("token_ttl") == std::string::npos);
  CHECK(text.find(
            "3:3 config key 'auth.password_hashing' cannot change on a running shop (--target): "
            "hashes made while it applied would keep their cost after the reset") !=
        std::string::npos);
  CHECK(text.find("4:3 config key 'auth.password_workers'") != std::string::npos);
  CHECK(text.find("5:3 config key 'auth.password_queue'") != std::string::npos);
  CHECK(text.find("6:3 config key 'auth.demo_user'") != std::string::npos);
}

TEST_CASE(
    "a running shop refuses ports, secrets and the other start-up settings, naming each key where "
    "it is written") {
  auto text = refusals(
      "order: {catalog_client: {timeout: 1s}}\n"
      "ports: {gateway: 8080}\n"
      "secrets: {admin_token: abc, jwt_secret: xyz}\n"
      "host: 127.0.0.2\n"
      "data_dir: /tmp/x\n"
      "auth: {password_hashing: fast}\n"
      "catalog: {file: c.yaml}\n"
      "payment: {webhook_tolerance: 10s, outbox: {initial_backoff: 1s}}\n"
      "http: {max_connections: 10}\n"
      "storage: {synchronous: normal}\n");
  CHECK(text.find("2:9 config key 'ports.gateway' cannot change on a running shop") !=
        std::string::npos);
  CHECK(text.find("3:11 config key 'secrets.admin_token'") != std::string::npos);
  CHECK(text.find("3:29 config key 'secrets.jwt_secret'") != std::string::npos);
  CHECK(text.find("'host'") != std::string::npos);
  CHECK(text.find("'data_dir'") != std::string::npos);
  CHECK(text.find("'auth.password_hashing'") != std::string::npos);
  CHECK(text.find("'catalog.file'") != std::string::npos);
  CHECK(text.find("'http.max_connections'") != std::string::npos);
  CHECK(text.find("'storage.synchronous'") != std::string::npos);
  CHECK(text.find("webhook_tolerance") == std::string::npos);
  CHECK(text.find("outbox") == std::string::npos);
  CHECK(text.find("order") == std::string::npos);
}

// A block was exclusive whatever it held ("`concurrently` changes shared state"); it is what
// its steps are (test red before).
TEST_CASE("a concurrently block is as exclusive as the steps it holds") {
  auto reads = with_steps(
      "  - concurrently:\n"
      "      - request: {GET: /api/catalog/products}\n"
      "      - request: {GET: /api/cart}\n");
  CHECK_FALSE(isolation_of(reads).exclusive);
  auto stops = with_steps(
      "  - concurrently:\n"
      "      - request: {GET: /api/catalog/products}\n"
      "      - stop: catalog\n");
  auto iso = isolation_of(stops);
  CHECK(iso.exclusive);
  CHECK(iso.reason.find("`stop`") != std::string::npos);
  CAPTURE(iso.reason);
  CHECK(iso.reason.find("s.yaml:5:") != std::string::npos);
}

// The check read the path before its variables were filled in: `path: "${p}"` with
// `p: /_admin/faults` ran in parallel beside other scenarios and broke them (an outside probe).
TEST_CASE("a request whose variables may put it on the admin plane makes a scenario exclusive") {
  const std::string post = "  - request: {method: POST, path: \"PATH\", json: {}}\n";
  auto with_path = [&](const std::string& path, const std::string& top = "") {
    std::string step = post;
    step.replace(step.find("PATH"), 4, path);
    return with_steps(step, top);
  };
  auto from_var = isolation_of(with_path("${p}", "vars: {p: /_admin/faults}\n"));
  CHECK(from_var.exclusive);
  CHECK(from_var.reason.find("may reach the admin plane (${p})") != std::string::npos);
  // Through another variable, inside a longer path, or from --var.
  CHECK(isolation_of(with_path("/x/${q}", "vars: {p: _admin, q: \"../${p}/faults\"}\n")).exclusive);
  shopctl::scenario::ParseOptions known;
  known.known_vars = {"where"};
  auto parsed = parse_scenario_text(
      "version: 1\nsteps:\n  - request: {method: POST, path: \"/x${where}\", json: {}}\n", "s.yaml",
      known);
  REQUIRE(parsed.ok());
  CHECK(isolation_of(*parsed.scenario, {{"where", "/_admin/clock/advance"}}).exclusive);
  CHECK_FALSE(isolation_of(*parsed.scenario, {{"where", "/api/cart"}}).exclusive);
  // A path that starts with a variable goes where that variable says: not known before it runs.
  CHECK(isolation_of(with_path("${env.SHOP_PATH}")).exclusive);
  // Ids inside an /api/ path, captured or made up, still share the shop.
  CHECK_FALSE(
      isolation_of(with_steps("  - request: {GET: /api/orders}\n"
                              "    capture: {order_id: \"$.items[0].order_id\"}\n" +
                              post.substr(0, post.find("PATH")) + "/api/orders/${order_id}/cancel" +
                              post.substr(post.find("PATH") + 4)))
          .exclusive);
  CHECK_FALSE(
      isolation_of(with_path("/api/cart/items/${p}", "vars: {p: p-001}\n"), {{"x", "/_admin"}})
          .exclusive);
}

// Five wrong passwords for demo@shop.test in one scenario answered 429 to another scenario's
// demo login running beside it against the same shop (the throttle is per email, shop-wide).
TEST_CASE("a login that may fail makes a scenario exclusive; one that must succeed does not") {
  const char* failing[] = {
      "  - login: {email: demo@shop.test, password: wrong-password-1}\n"
      "    expect: {status: 401}\n",
      "  - login: {email: demo@shop.test, password: wrong-password-1}\n"
      "    expect: {status: {in: [401, 429]}}\n",
      "  - request: {method: POST, path: /api/auth/login, json: {email: a@shop.test, password: "
      "x}}\n"
      "    expect: {status: 401}\n",
      // Checked by its body alone, or not at all: it may fail, and did (repro f1).
      "  - login: {email: demo@shop.test, password: wrong-password-1}\n"
      "    repeat: 5\n"
      "    expect: {json: {$.error.code: invalid_credentials}}\n",
      "  - request: {method: POST, path: /api/auth/login/, auth: none, json: {email: "
      "demo@shop.test, password: wrong-password-1}}\n",
      "  - login: {email: demo@shop.test, password: wrong-password-1}\n"
      "    expect: {status: [200, 401]}\n",
  };
  for (const char* steps : failing) {
    CAPTURE(steps);
    auto iso = isolation_of(with_steps(steps));
    CHECK(iso.exclusive);
    INFO(iso.reason);
    CHECK(iso.reason.find("a login that may fail (s.yaml:3:") != std::string::npos);
    CHECK(iso.reason.find("login throttle") != std::string::npos);
  }
  const char* sharing[] = {
      "  - login: {email: demo@shop.test, password: demo-password-1}\n"
      "    expect: {status: 200}\n",
      "  - login: {email: demo@shop.test, password: demo-password-1}\n",
      "  - login: {email: demo@shop.test, password: demo-password-1}\n"
      "    expect: {status: {in: [200, 429]}}\n",
      "  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 0}}\n"
      "    expect: {status: 400}\n",
      // With nothing said of its answer, a login step must answer 2xx or fail its scenario.
      "  - login: {email: demo@shop.test, password: demo-password-1}\n"
      "    expect: {latency: {lt: 5s}}\n",
  };
  for (const char* steps : sharing) {
    CAPTURE(steps);
    CHECK_FALSE(isolation_of(with_steps(steps)).exclusive);
  }
}

// Registrations refused email_taken count toward the client's throttle, and against a running
// shop every scenario is one client: three scenarios expecting 409 answered 429 to the
// registrations beside them (an outside probe).
TEST_CASE(
    "a registration that may be refused makes a scenario exclusive; one that must succeed does "
    "not") {
  const char* refused[] = {
      "  - register: {email: demo@shop.test, password: correct-horse-battery}\n"
      "    expect: {status: 409}\n",
      "  - request: {method: POST, path: /api/auth/register, auth: none, json: {email: "
      "demo@shop.test, password: correct-horse-battery, name: x}}\n",
      "  - concurrently:\n"
      "      - register: {email: a@shop.test, password: correct-horse-battery}\n"
      "      - register: {email: a@shop.test, password: correct-horse-battery}\n"
      "    expect: {responses: [{status: 201, count: 1}]}\n",
  };
  for (const char* steps : refused) {
    CAPTURE(steps);
    auto iso = isolation_of(with_steps(steps));
    CHECK(iso.exclusive);
    INFO(iso.reason);
    CHECK(iso.reason.find("a registration that may be refused") != std::string::npos);
  }
  const char* sharing[] = {
      "  - register: {email: a@shop.test, password: correct-horse-battery}\n",
      "  - register: {email: a@shop.test, password: correct-horse-battery}\n"
      "    expect: {status: 201}\n",
  };
  for (const char* steps : sharing) {
    CAPTURE(steps);
    CHECK_FALSE(isolation_of(with_steps(steps)).exclusive);
  }
}
