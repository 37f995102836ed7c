// DatabaseWorker on a real SQLite file: WAL checkpoints happen on the checkpointer's thread, the
// WAL stays bounded, and closing leaves everything in the database file.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

#include "platform/store/database.hpp"

namespace fs = std::filesystem;
using shopctl::platform::Database;
using shopctl::platform::DatabaseWorker;

namespace {
fs::path temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "shopctl-dbtest-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}
std::uintmax_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}
}  // namespace

TEST_CASE("a database worker checkpoints its WAL in the background and keeps every row") {
  auto dir = temp_dir();
  auto file = dir / "test.db";
  const std::string payload(3000, 'x');  // about one page per row
  {
    DatabaseWorker worker(file);
    worker.run_sync([](Database& db) {
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    });
    // 6 x 1000 rows, one transaction each: about 6000 WAL pages without checkpoints.
    for (int batch = 0; batch < 6; ++batch) {
      worker.run_sync([&](Database& db) {
        db.transaction([&] {
          for (int i = 0; i < 1000; ++i) {
            auto st = db.prepare("INSERT INTO t (body) VALUES (?)");
            st.bind(1, payload);
            st.run();
          }
        });
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the checkpointer run
    }
    // The checkpointer copied the WAL into the database file along the way: the file holds
    // most rows already, and the WAL was reused from its start instead of growing to ~24 MB.
    CHECK(size_or_zero(file) > 10'000'000);
    CHECK(size_or_zero(fs::path(file.string() + "-wal")) < 20'000'000);
    std::int64_t rows = 0;
    worker.run_sync([&](Database& db) {
      auto st = db.prepare("SELECT COUNT(*) FROM t");
      REQUIRE(st.step());
      rows = st.column_int(0);
    });
    CHECK(rows == 6000);
    worker.close();
    // The last connection to close checkpoints everything and removes the WAL.
    CHECK_FALSE(fs::exists(fs::path(file.string() + "-wal")));
    worker.reopen();
    worker.run_sync([&](Database& db) {
      auto st = db.prepare("SELECT COUNT(*) FROM t");
      REQUIRE(st.step());
      rows = st.column_int(0);
    });
    CHECK(rows == 6000);
  }
  fs::remove_all(dir);
}

// Two uses of the same SQL at once (a loop over rows that, for each row, runs the same query
// again) each get their own statement: the inner use used to take the cached statement from
// under the outer one, resetting it mid-iteration.
TEST_CASE("the same SQL prepared while in use gets a statement of its own") {
  auto dir = temp_dir();
  {
    Database db(dir / "alias.db");
    db.exec("CREATE TABLE t (n INTEGER)");
    for (int i = 1; i <= 3; ++i) db.prepare("INSERT INTO t (n) VALUES (?)").bind_all(i).run();
    const char* sql = "SELECT n FROM t WHERE n >= ? ORDER BY n";
    std::vector<std::int64_t> outer, inner_counts;
    auto rows = db.prepare(sql);
    rows.bind_all(1);
    while (rows.step()) {
      outer.push_back(rows.column_int(0));
      auto again = db.prepare(sql);
      again.bind_all(rows.column_int(0));
      std::int64_t n = 0;
      while (again.step()) ++n;
      inner_counts.push_back(n);
    }
    CHECK(outer == std::vector<std::int64_t>{1, 2, 3});
    CHECK(inner_counts == std::vector<std::int64_t>{3, 2, 1});
    // The cached statement is lent again after both uses ended.
    auto last = db.prepare(sql);
    last.bind_all(3);
    REQUIRE(last.step());
    CHECK(last.column_int(0) == 3);
    CHECK_FALSE(last.step());
  }
  fs::remove_all(dir);
}
