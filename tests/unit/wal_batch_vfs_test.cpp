// The WAL-batching VFS (platform/store/wal_batch_vfs.hpp) on real SQLite files: a commit's
// frames reach the file in one write, another connection (SQLite's own VFS) reads every commit
// at once, and a transaction larger than the page cache (its frames written before its commit)
// leaves a whole database whether it commits or rolls back.
#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <stdlib.h>

#include <sqlite3.h>

#include "../support/temp_dir.hpp"
#include "platform/store/database.hpp"
#include "platform/store/wal_batch_vfs.hpp"

namespace fs = std::filesystem;
using shopctl::platform::Database;
using shopctl::platform::Synchronous;
using shopctl::platform::wal_batch_counts;

namespace {

using shopctl::test_support::make_temp_dir;

// A connection of SQLite's own VFS, as another process (or `sqlite3 -readonly`) has.
struct Reader {
  sqlite3* db = nullptr;
  explicit Reader(const fs::path& file) {
    REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~Reader() { sqlite3_close(db); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  std::string text(const char* sql) const {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }
};

void insert_rows(Database& db, int from, int count, std::size_t bytes) {
  for (int i = from; i < from + count; ++i) {
    auto st = db.prepare("INSERT INTO t (id, body) VALUES (?, ?)");
    st.bind(1, i);
    st.bind(2, std::string(bytes, static_cast<char>('a' + i % 26)));
    st.step();
  }
}
}  // namespace

TEST_CASE("a commit's WAL frames reach the file in one write, and other connections see it") {
  const auto dir = make_temp_dir("shopctl-waltest");
  const auto file = dir / "batch.db";
  {
    Database db(file, Synchronous::full);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    Reader reader(file);
    int rows = 0;
    for (int round = 0; round < 6; ++round) {
      // Half the commits sync the WAL (FULL), half do not (the deferred ones): a commit that is
      // not synced must be in the file all the same before another connection can see it.
      db.defer_sync(round % 2 == 1);
      const auto before = wal_batch_counts();
      db.transaction([&] { insert_rows(db, rows, 8, 3000); });  // about 8 pages and the b-tree's
      rows += 8;
      const auto after = wal_batch_counts();
      INFO("round " << round);
      CHECK(after.frames_writes - before.frames_writes >= 16);  // two per frame, as SQLite writes
      CHECK(after.file_writes - before.file_writes == 1);
      CHECK(reader.text("SELECT count(*) FROM t") == std::to_string(rows));
      CHECK(reader.text("SELECT body FROM t ORDER BY id DESC LIMIT 1") ==
            std::string(3000, static_cast<char>('a' + (rows - 1) % 26)));
    }
  }
  Reader reopened(file);
  CHECK(reopened.text("PRAGMA integrity_check") == "ok");
  CHECK(reopened.text("SELECT count(*) FROM t") == "48");
  fs::remove_all(dir);
}

TEST_CASE("a transaction larger than the page cache keeps the database whole") {
  const auto dir = make_temp_dir("shopctl-waltest");
  const auto file = dir / "spill.db";
  // Expected content: rows [0, 300) then [1000, 1400), and 5000; the 300 rows of the rolled-back
  // transaction (ids 500-799) were written to the WAL before it ended, and never count.
  {
    Database db(file, Synchronous::full);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    db.exec("PRAGMA cache_size=16");  // 16 pages: the transactions below spill to the WAL
    db.transaction([&] { insert_rows(db, 0, 300, 2000); });
    CHECK_THROWS_AS(db.transaction([&] {
      insert_rows(db, 500, 300, 2000);
      throw std::runtime_error("rolled back after spilling");
    }),
                    std::runtime_error);
    Reader reader(file);
    CHECK(reader.text("SELECT count(*) FROM t") == "300");
    db.transaction([&] { insert_rows(db, 1000, 400, 2000); });
    CHECK(reader.text("SELECT count(*) FROM t") == "700");
    db.defer_sync(true);
    db.transaction([&] { insert_rows(db, 5000, 1, 10); });
    CHECK(reader.text("SELECT count(*) FROM t WHERE id BETWEEN 500 AND 799") == "0");
    CHECK(reader.text("SELECT count(*) FROM t") == "701");
  }
  Reader reopened(file);
  CHECK(reopened.text("PRAGMA integrity_check") == "ok");
  CHECK(reopened.text("SELECT count(*) FROM t") == "701");
  CHECK(reopened.text("SELECT sum(length(body)) FROM t") == std::to_string(700 * 2000 + 10));
  fs::remove_all(dir);
}
