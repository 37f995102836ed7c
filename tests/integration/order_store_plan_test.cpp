// Query plans of the order store's statements that run per order: each must search an index,
// not read a table that grows with every checkout. Checked on a real database file the store
// created and migrated, with SQLite's own EXPLAIN QUERY PLAN.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "services/order/order_store.hpp"

namespace {

std::string query_plan(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string explain = "EXPLAIN QUERY PLAN " + sql;
  const int rc = sqlite3_prepare_v2(db, explain.c_str(), -1, &st, nullptr);
  std::string plan;
  if (rc == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW)
      plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + "\n";
  } else {
    plan = std::string("prepare failed: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return plan;
}

}  // namespace

TEST_CASE("ending an interrupted or expired order searches its user's keys, not every key") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("shopctl-plan-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    shopctl::order::OrderStore store(dir / "order.db");
    store.open();
    store.close();
  }
  const std::string plan =
      query_plan(dir / "order.db", shopctl::order::detail::kAnswerEndedCheckoutKeySql);
  CAPTURE(plan);
  CHECK(plan.find("SEARCH idempotency_keys USING PRIMARY KEY (user_id=?)") != std::string::npos);
  CHECK(plan.find("SCAN") == std::string::npos);
  std::filesystem::remove_all(dir);
}
