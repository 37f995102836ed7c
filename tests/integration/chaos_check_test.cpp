// `shopctl chaos`'s checkers against a real shop's databases: a clean data folder passes, and
// a violation planted with sqlite in order.db is reported, by the library and by the binary.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "../support/test_shop.hpp"
#include "chaos/invariants.hpp"
#include "chaos/store_reader.hpp"
#include "platform/security/random.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using shopctl::test_support::send;

struct Run {
  int exit_code = -1;
  std::string output;
};

Run run_shopctl(const std::string& args) {
  Run r;
  std::string command = std::string(SHOPCTL_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (auto n = fread(buf.data(), 1, buf.size(), pipe)) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A data folder holding one PAID order, one declined order, from a shop that has stopped.
fs::path folder_with_two_orders() {
  auto dir = fs::temp_directory_path() /
             ("shopctl-chaos-test-" + shopctl::platform::security::random_hex(6));
  shopctl::shop::ShopConfig config;
  config.data_dir = dir;
  auto shop = shopctl::test_support::start_shop(config);
  shopctl::http::BlockingClient client;
  auto token = shopctl::test_support::demo_token(client, *shop);
  shopctl::test_support::HeaderList auth = {{"Authorization", "Bearer " + token}};
  auto gw = shop->url("gateway");
  auto products = send(client, "GET", gw + "/api/catalog/products?page_size=5", {}, auth);
  REQUIRE(products.status == 200);
  auto product = products.body["items"][0]["id"].get<std::string>();
  for (const char* card : {"4242424242424242", "4000000000000002"}) {
    REQUIRE(send(client, "POST", gw + "/api/cart/items",
                 json{{"product_id", product}, {"quantity", 1}}, auth)
                .status == 200);
    auto order = send(client, "POST", gw + "/api/orders", {}, auth);
    REQUIRE(order.status == 201);
    auto paid = send(client, "POST", order.body["payment"]["pay_url"].get<std::string>(),
                     json{{"card_number", card}});
    REQUIRE(paid.status == 200);
    // The result reaches the order through payment's outbox: wait for it, so no callback is
    // left in flight when the shop stops.
    auto id = order.body["order_id"].get<std::string>();
    std::string status;
    for (int i = 0; i < 200 && status != "PAID" && status != "FAILED"; ++i) {
      if (i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      status = send(client, "GET", gw + "/api/orders/" + id, {}, auth).body.value("status", "");
    }
    REQUIRE((status == "PAID" || status == "FAILED"));
    // A decline puts the lines back in the cart; the next checkout starts from an empty one.
    send(client, "DELETE", gw + "/api/cart/items/" + product, {}, auth);
  }
  shop->shutdown();
  return dir;
}

void plant(const fs::path& db_file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_file.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE(
    "chaos's checkers pass a real shop's databases and report a PAID order planted in order.db") {
  auto dir = folder_with_two_orders();
  // The stopped shop left no -wal or -shm; reading the folder leaves none either (chaos --check
  // left an empty -wal and a -shm beside each database, an outside probe; red before).
  const auto leftovers = [&dir] {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const auto name = entry.path().filename().string();
      if (name.ends_with("-wal") || name.ends_with("-shm")) found.push_back(name);
    }
    return found;
  };
  REQUIRE(leftovers().empty());
  {
    shopctl::chaos::World world;
    std::vector<std::string> problems;
    shopctl::chaos::load_databases(shopctl::chaos::files_in(dir), world, problems);
    CHECK(problems.empty());
    REQUIRE(world.orders.size() == 2);
    CHECK(world.intents.size() == 2);
    CHECK(shopctl::chaos::check_paid_iff_captured(world).outcome ==
          shopctl::chaos::Outcome::passed);
    CHECK(shopctl::chaos::check_sums_match(world).outcome == shopctl::chaos::Outcome::passed);

    auto clean = run_shopctl("chaos --check " + dir.string());
    INFO(clean.output);
    CHECK(clean.exit_code == 0);
    CHECK(clean.output.find("chaos: 8 passed, 0 failed") != std::string::npos);
    // Quiescence is read from the files, not assumed.
    CHECK(clean.output.find("no healing (--check reads the files as they are); quiescent") !=
          std::string::npos);
    CHECK(leftovers().empty());
  }

  plant(dir / "order.db",
        "INSERT INTO orders (order_id, user_id, status, total_cents, currency, created_at_ms, "
        "updated_at_ms) "
        "VALUES ('ord-planted', 'usr-planted', 'PAID', 4200, 'EUR', 0, 0)");
  shopctl::chaos::World world;
  std::vector<std::string> problems;
  shopctl::chaos::load_databases(shopctl::chaos::files_in(dir), world, problems);
  auto verdict = shopctl::chaos::check_paid_iff_captured(world);
  CHECK(verdict.outcome == shopctl::chaos::Outcome::failed);
  REQUIRE(verdict.evidence.size() == 1);
  CHECK(verdict.evidence[0].find("ord-planted is PAID (42.00 EUR) but payment.db has no payment "
                                 "for it") != std::string::npos);

  auto planted = run_shopctl("chaos --check " + dir.string());
  INFO(planted.output);
  CHECK(planted.exit_code == 4);
  CHECK(planted.output.find("ord-planted") != std::string::npos);
  CHECK(planted.output.find("chaos: 5 passed, 3 failed") !=
        std::string::npos);  // paid-iff-captured, sums-match, payments-agree
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_CASE("chaos --check fails on a folder without the databases, or with none readable") {
  auto dir = fs::temp_directory_path() /
             ("shopctl-chaos-test-" + shopctl::platform::security::random_hex(6));
  fs::create_directories(dir);
  auto empty = run_shopctl("chaos --check " + dir.string());
  INFO(empty.output);
  CHECK(empty.exit_code == 3);
  CHECK(empty.output.find("no order.db, payment.db, provider.db in this folder") !=
        std::string::npos);

  for (const char* name : {"order.db", "payment.db", "provider.db"}) {
    std::FILE* file = std::fopen((dir / name).c_str(), "w");
    REQUIRE(file != nullptr);
    std::fputs("not a database\n", file);
    std::fclose(file);
  }
  auto garbage = run_shopctl("chaos --check " + dir.string());
  INFO(garbage.output);
  CHECK(garbage.exit_code == 3);
  CHECK(garbage.output.find("no invariant could be checked") != std::string::npos);
  // Files it cannot read do not make a quiescent shop (it used to say "quiescent").
  CHECK(garbage.output.find("NOT quiescent") != std::string::npos);
  CHECK(garbage.output.find("unreadable orders PAYMENT_PENDING") != std::string::npos);
  CHECK(garbage.output.find("quiescent (no PAYMENT_PENDING") == std::string::npos);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// What a start looks at (serve's warning): captures with no order, PAID orders with no capture,
// FAILED orders whose ended payment has an intent that can be paid again (a damaged provider
// -wal reopened two; a shopper then paid one of them and money was taken for a FAILED order,
// and the start said nothing: an outside probe), and a database missing beside the others.
TEST_CASE("the start's money check finds a reopened intent of a FAILED order and a missing file") {
  namespace chaos = shopctl::chaos;
  auto dir = folder_with_two_orders();
  CHECK_FALSE(chaos::find_orphan_captures(chaos::files_in(dir)).any());

  plant(dir / "provider.db",
        "UPDATE intents SET status = 'requires_payment' WHERE status = 'failed'");
  auto found = chaos::find_orphan_captures(chaos::files_in(dir));
  CHECK(found.failed_payable == 1);
  CHECK(found.failed_example.starts_with("order ord_"));
  CHECK(found.paid_uncaptured == 0);

  plant(dir / "provider.db", "UPDATE intents SET status = 'canceled' WHERE status = 'succeeded'");
  found = chaos::find_orphan_captures(chaos::files_in(dir));
  CHECK(found.paid_uncaptured == 1);
  CHECK(found.paid_example.starts_with("order ord_"));

  fs::remove(dir / "provider.db");
  found = chaos::find_orphan_captures(chaos::files_in(dir));
  CHECK(found.missing == "provider.db (order.db holds 1 PAID order(s))");
  // payment.db alone: what it holds is said too (nothing was).
  fs::remove(dir / "order.db");
  found = chaos::find_orphan_captures(chaos::files_in(dir));
  CHECK(found.missing == "order.db, provider.db (payment.db holds 2 payment(s))");
  fs::remove_all(dir);
}

// A payment.db older than the others lacks payments whose orders are PAID and captured: said
// as such, not as captures "in no order" (an outside probe restored payment.db from a copy).
TEST_CASE(
    "the start's money check names payment.db when it lacks the payments of captured orders") {
  namespace chaos = shopctl::chaos;
  auto dir = folder_with_two_orders();
  plant(dir / "payment.db", "DELETE FROM payments WHERE status = 'SUCCEEDED'");
  auto found = chaos::find_orphan_captures(chaos::files_in(dir));
  CHECK(found.captures == 0);
  CHECK(found.payments_missing == 1);
  CHECK(found.payments_example.find(" (PAID)") != std::string::npos);
  fs::remove_all(dir);
}

// Three items for the price of one, balanced by a line of negative price, added up to the total
// and passed sums-match (an outside probe): a line the cart could never hold counts as wrong.
TEST_CASE("sums-match reports a line of negative price or a quantity the cart never holds") {
  auto dir = folder_with_two_orders();
  plant(dir / "order.db",
        "UPDATE order_items SET quantity = 3, line_total_cents = 3 * unit_price_cents "
        "WHERE order_id = (SELECT order_id FROM orders WHERE status = 'PAID');"
        "INSERT INTO order_items (order_id, position, product_id, name, quantity, "
        "unit_price_cents, line_total_cents) SELECT order_id, 99, 'p-discount', 'discount', 1, "
        "-2 * unit_price_cents, -2 * unit_price_cents FROM order_items WHERE order_id = "
        "(SELECT order_id FROM orders WHERE status = 'PAID') AND position <> 99 LIMIT 1;");
  {
    shopctl::chaos::World world;
    std::vector<std::string> problems;
    shopctl::chaos::load_databases(shopctl::chaos::files_in(dir), world, problems);
    const auto verdict = shopctl::chaos::check_sums_match(world);
    CHECK(verdict.outcome == shopctl::chaos::Outcome::failed);
    REQUIRE(verdict.evidence.size() == 1);
    CHECK(verdict.evidence[0].find("1 line(s) whose total is not its quantity times its unit "
                                   "price, or whose price is negative") != std::string::npos);
  }
  // A quantity of 100, its total right: the cart holds at most 99.
  plant(dir / "order.db",
        "DELETE FROM order_items WHERE position = 99;"
        "UPDATE order_items SET quantity = 100, line_total_cents = 100 * unit_price_cents, "
        "unit_price_cents = unit_price_cents WHERE order_id = (SELECT order_id FROM orders WHERE "
        "status = 'PAID');"
        "UPDATE orders SET total_cents = (SELECT SUM(line_total_cents) FROM order_items i WHERE "
        "i.order_id = orders.order_id) WHERE status = 'PAID';");
  shopctl::chaos::World world;
  std::vector<std::string> problems;
  shopctl::chaos::load_databases(shopctl::chaos::files_in(dir), world, problems);
  const auto verdict = shopctl::chaos::check_sums_match(world);
  CHECK(verdict.outcome == shopctl::chaos::Outcome::failed);
  bool named = false;
  for (const auto& e : verdict.evidence)
    named = named || e.find("quantity outside 1 to 99") != std::string::npos;
  CHECK(named);
  std::error_code ec;
  fs::remove_all(dir, ec);
}
