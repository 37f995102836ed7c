// DatabaseWorker on a real SQLite file: WAL checkpoints happen on the checkpointer's thread, the
// WAL stays bounded, and closing leaves everything in the database file.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <sqlite3.h>

#include "../support/temp_dir.hpp"
#include "platform/store/database.hpp"

namespace fs = std::filesystem;
using shopctl::platform::Database;
using shopctl::platform::DatabaseWorker;
using shopctl::platform::Synchronous;
namespace asio = boost::asio;

namespace {

using shopctl::test_support::make_temp_dir;
std::uintmax_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}
}  // namespace

TEST_CASE("a database worker checkpoints its WAL in the background and keeps every row") {
  auto dir = make_temp_dir("shopctl-dbtest");
  auto file = dir / "test.db";
  const std::string payload(3000, 'x');  // about one page per row
  {
    DatabaseWorker worker(file);
    worker.run_sync([](Database& db) {
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    });
    // 12 x 1000 rows, one transaction each: about 12,000 WAL pages (~48 MB) without
    // checkpoints; the checkpointer starts at 4000.
    const fs::path wal(file.string() + "-wal");
    for (int batch = 0; batch < 12; ++batch) {
      const auto database_before = size_or_zero(file);
      const auto wal_before = size_or_zero(wal);
      worker.run_sync([&](Database& db) {
        db.transaction([&] {
          for (int i = 0; i < 1000; ++i) {
            auto st = db.prepare("INSERT INTO t (body) VALUES (?)");
            st.bind(1, payload);
            st.run();
          }
        });
      });
      // Let the checkpointer run: once the WAL is past its 4000 pages, until it has copied
      // pages into the database file and stopped (at most 5 s). A fixed 50 ms was too short with
      // three test processes sharing two cores under ThreadSanitizer: the WAL reached 49.8 MB. Done
      // copying: the file grew and stayed the same size for 50 ms.
      // Only a batch that grew the WAL waits: once a checkpoint has let the WAL be written from
      // its start again, the file keeps its size (SQLite does not shrink it under 64 MB) and
      // the database file does not grow until the next checkpoint, so each such batch waited
      // out its 5 s (30 s of every test run; an outside probe).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      while (size_or_zero(wal) > 16'000'000 && size_or_zero(wal) > wal_before &&
             std::chrono::steady_clock::now() < deadline) {
        const auto before = size_or_zero(file);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const auto after = size_or_zero(file);
        if (after > database_before && after == before) break;
      }
    }
    // The checkpointer copied the WAL into the database file along the way: the file holds
    // many rows already, and the WAL was reused from its start instead of growing to ~48 MB.
    CHECK(size_or_zero(file) > 15'000'000);
    CHECK(size_or_zero(fs::path(file.string() + "-wal")) < 36'000'000);
    std::int64_t rows = 0;
    worker.run_sync([&](Database& db) {
      auto st = db.prepare("SELECT COUNT(*) FROM t");
      REQUIRE(st.step());
      rows = st.column_int(0);
    });
    CHECK(rows == 12000);
    worker.close();
    // The last connection to close checkpoints everything and removes the WAL.
    CHECK_FALSE(fs::exists(fs::path(file.string() + "-wal")));
    worker.reopen();
    worker.run_sync([&](Database& db) {
      auto st = db.prepare("SELECT COUNT(*) FROM t");
      REQUIRE(st.step());
      rows = st.column_int(0);
    });
    CHECK(rows == 12000);
  }
  fs::remove_all(dir);
}

// Two uses of the same SQL at once (a loop over rows that, for each row, runs the same query
// again) each get their own statement: the inner use used to take the cached statement from
// under the outer one, resetting it mid-iteration.
TEST_CASE("the same SQL prepared while in use gets a statement of its own") {
  auto dir = make_temp_dir("shopctl-dbtest");
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

namespace {
// A coroutine on an io_context of its own, run on a thread of its own. A job that it hands an
// idle worker runs on that thread and holds the worker: jobs queued meanwhile from elsewhere
// wait behind it and then form one group.
class OnOwnThread {
 public:
  explicit OnOwnThread(std::function<asio::awaitable<void>()> body) {
    asio::co_spawn(io_, std::move(body), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~OnOwnThread() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  asio::io_context io_;
  std::thread thread_;
};

void wait_until_set(const std::atomic<bool>& flag) {
  while (!flag) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// Runs `jobs` through one worker: job 0 first, alone, from a thread of its own, holding the
// worker for 100 ms, so that jobs 1..n-1 (from one io_context) queue up behind it and form one
// group. Each job inserts its number in its own transaction() and then calls
// `after_insert(db, i)`. Returns, per job, whether the caller saw success; `visible[i]` says
// whether, when the caller resumed, a second connection already saw the row (it sees committed
// rows only).
struct GroupRun {
  std::vector<int> ok, visible;
};
template <class After>
GroupRun run_group_of(DatabaseWorker& worker, const fs::path& file, int jobs, After after_insert) {
  worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)"); });
  Database reader(file), first_reader(file);  // one connection per thread
  GroupRun out{std::vector<int>(jobs, 0), std::vector<int>(jobs, 0)};
  std::atomic<bool> first_running{false};
  auto job = [&](int i, Database& check) -> asio::awaitable<void> {
    try {
      co_await worker.run([&](Database& db) {
        if (i == 0) {
          first_running = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        db.transaction([&] {
          db.prepare("INSERT INTO t (n) VALUES (?)").bind_all(i).run();
          after_insert(db, i);
        });
      });
      out.ok[i] = 1;
    } catch (const std::exception&) {
      out.ok[i] = 0;
    }
    auto st = check.prepare("SELECT COUNT(*) FROM t WHERE n = ?");
    st.bind_all(i);
    REQUIRE(st.step());
    out.visible[i] = static_cast<int>(st.column_int(0));
  };
  OnOwnThread first([&]() -> asio::awaitable<void> { co_await job(0, first_reader); });
  wait_until_set(first_running);  // job 0 holds the worker before the others are queued
  asio::io_context io;
  for (int i = 1; i < jobs; ++i)
    asio::co_spawn(
        io, [&, i]() -> asio::awaitable<void> { co_await job(i, reader); }, asio::detached);
  io.run();
  first.join();
  // The pool thread may still be inside its last post to io: wait for it before io goes.
  worker.run_sync([](Database&) {});
  return out;
}
}  // namespace

// Group commit: jobs that queue while the worker is busy are committed together (one WAL sync
// under `full`), a job that throws undoes only its own writes, and nobody hears "done" before
// the commit that holds its row.
TEST_CASE("jobs queued together share one commit; a failing job undoes only its own writes") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    DatabaseWorker worker(dir / "group.db", Synchronous::full);
    constexpr int kJobs = 40;
    auto run = run_group_of(worker, dir / "group.db", kJobs, [](Database&, int i) {
      if (i % 10 == 5) throw std::runtime_error("refused");
    });
    for (int i = 0; i < kJobs; ++i) {
      CAPTURE(i);
      const int expected = i % 10 == 5 ? 0 : 1;
      CHECK(run.ok[i] == expected);
      CHECK(run.visible[i] == expected);  // committed before the caller resumed
    }
    auto stats = worker.stats();
    CHECK(stats.jobs == kJobs);
    // Job 0 alone, then the 39 that queued behind it in one group (35 of them writing).
    CHECK(stats.commits == 2);
    CHECK(stats.largest_group == kJobs - 1);
  }
  fs::remove_all(dir);
}

// If SQLite rolls the group's transaction back (here: a job ends it by hand, as an I/O error
// would), the jobs of the group before that point wrote nothing, and are told so; the jobs
// after it form a new group and commit.
TEST_CASE("a group rolled back under the jobs reports every job in it as failed") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    DatabaseWorker worker(dir / "lost.db", Synchronous::full);
    constexpr int kJobs = 10;
    auto run = run_group_of(worker, dir / "lost.db", kJobs, [](Database& db, int i) {
      if (i == 5 && db.in_group()) db.exec("ROLLBACK");
    });
    for (int i = 0; i < kJobs; ++i) {
      CAPTURE(i);
      const int expected = i >= 1 && i <= 5 ? 0 : 1;
      CHECK(run.ok[i] == expected);
      CHECK(run.visible[i] == expected);
    }
  }
  fs::remove_all(dir);
}

namespace {
// Puts a job on the worker, from a thread of its own, that holds it for 100 ms, and returns
// once that job is running: whatever is queued next waits behind it and forms one group.
std::unique_ptr<OnOwnThread> hold_worker(DatabaseWorker& worker) {
  auto running = std::make_shared<std::atomic<bool>>(false);
  auto holder = std::make_unique<OnOwnThread>([&worker, running]() -> asio::awaitable<void> {
    co_await worker.run([running](Database&) {
      *running = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    });
  });
  wait_until_set(*running);
  return holder;
}
}  // namespace

// The jobs at the head of a group that change nothing saw only durable rows: their callers
// resume before the group's commit. A read after a write in the same group waits for it.
TEST_CASE("reads at the head of a group resume before its commit; reads after a write do not") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    const auto file = dir / "reads.db";
    DatabaseWorker worker(file, Synchronous::full);
    worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)"); });
    Database reader(file);
    auto count_of = [&reader](int n) {
      auto st = reader.prepare("SELECT COUNT(*) FROM t WHERE n = ?");
      st.bind_all(n);
      REQUIRE(st.step());
      return st.column_int(0);
    };
    asio::io_context io;
    std::atomic<bool> head_read_resumed{false};
    bool writer_saw_reader_resumed = false;
    std::int64_t late_read_saw = -1;
    auto holder = hold_worker(worker);
    // Queued behind job 0, in this order: a read, a write, a read.
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([](Database& db) { db.prepare("SELECT COUNT(*) FROM t").step(); });
          head_read_resumed = true;
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([&](Database& db) {
            db.transaction([&] { db.prepare("INSERT INTO t (n) VALUES (7)").run(); });
            // The head read's caller runs on the io thread while this job still holds the
            // worker (and so before the group's commit).
            for (int i = 0; i < 2000 && !head_read_resumed; ++i)
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
            writer_saw_reader_resumed = head_read_resumed;
          });
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([](Database& db) { db.prepare("SELECT COUNT(*) FROM t").step(); });
          late_read_saw = count_of(7);
        },
        asio::detached);
    io.run();
    worker.run_sync([](Database&) {});  // the last post to io has returned
    CHECK(writer_saw_reader_resumed);
    CHECK(late_read_saw == 1);  // resumed only after the commit that holds row 7
  }
  fs::remove_all(dir);
}

// Durability::deferred commits without a WAL sync (PRAGMA synchronous NORMAL for that commit)
// only when every job of the batch allows it; anything else commits as configured (FULL).
TEST_CASE("a deferred job commits without a sync only in a batch of deferred jobs") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    DatabaseWorker worker(dir / "defer.db", Synchronous::full);
    worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)"); });
    auto level = [](Database& db) {
      auto st = db.prepare("PRAGMA synchronous");
      REQUIRE(st.step());
      return st.column_int(0);  // 1 NORMAL, 2 FULL
    };
    asio::io_context io;
    std::int64_t alone_deferred = -1, alone_configured = -1, mixed_deferred = -1;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([&](Database& db) { alone_deferred = level(db); },
                              shopctl::platform::Durability::deferred);
          co_await worker.run([&](Database& db) { alone_configured = level(db); });
        },
        asio::detached);
    io.run();
    io.restart();
    auto holder = hold_worker(worker);
    // One batch: a deferred job and a configured one.
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([&](Database& db) { mixed_deferred = level(db); },
                              shopctl::platform::Durability::deferred);
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run(
              [](Database& db) { db.prepare("INSERT INTO t (n) VALUES (1)").run(); });
        },
        asio::detached);
    io.run();
    worker.run_sync([](Database&) {});  // the last post to io has returned
    CHECK(alone_deferred == 1);
    CHECK(alone_configured == 2);
    CHECK(mixed_deferred == 2);
  }
  fs::remove_all(dir);
}

// A group whose jobs all only read resumes them early, and must still end its transaction:
// left open, every later transaction on the connection failed and nothing more was committed.
TEST_CASE("a group of reads only leaves no transaction open behind it") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    const auto file = dir / "reads-only.db";
    DatabaseWorker worker(file, Synchronous::full);
    worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)"); });
    asio::io_context io;
    int reads_done = 0;
    auto holder = hold_worker(worker);
    for (int i = 0; i < 5; ++i) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            co_await worker.run([](Database& db) { db.prepare("SELECT COUNT(*) FROM t").step(); });
            ++reads_done;
          },
          asio::detached);
    }
    io.run();
    worker.run_sync([](Database&) {});  // the last post to io has returned
    CHECK(reads_done == 5);
    bool open_after = true;
    CHECK_NOTHROW(worker.run_sync([&](Database& db) {
      open_after = db.in_transaction();
      db.transaction([&] { db.prepare("INSERT INTO t (n) VALUES (1)").run(); });
    }));
    CHECK_FALSE(open_after);
    Database reader(file);
    auto st = reader.prepare("SELECT COUNT(*) FROM t");
    REQUIRE(st.step());
    CHECK(st.column_int(0) == 1);
  }
  fs::remove_all(dir);
}

// An idle worker runs a job on the caller's thread instead of handing it to its own thread and
// back (two thread wake-ups per job). A write that must be synced is still committed, and
// visible to other connections, before its caller resumes. Jobs queued behind a busy worker
// run on the worker's thread, as a group.
TEST_CASE("an idle worker runs a job on the caller's thread; a busy one queues it") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    const auto file = dir / "inline.db";
    DatabaseWorker worker(file, Synchronous::full);
    worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY)"); });
    Database reader(file);
    asio::io_context io;
    std::thread::id read_on, write_on, deferred_on, queued_on;
    std::int64_t visible = -1;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([&](Database& db) {
            read_on = std::this_thread::get_id();
            db.prepare("SELECT COUNT(*) FROM t").step();
          });
          co_await worker.run([&](Database& db) {
            write_on = std::this_thread::get_id();
            db.transaction([&] { db.prepare("INSERT INTO t (n) VALUES (1)").run(); });
          });
          auto st = reader.prepare("SELECT COUNT(*) FROM t WHERE n = 1");
          REQUIRE(st.step());
          visible = st.column_int(0);
          co_await worker.run(
              [&](Database& db) {
                deferred_on = std::this_thread::get_id();
                db.prepare("INSERT INTO t (n) VALUES (2)").run();
              },
              shopctl::platform::Durability::deferred);
        },
        asio::detached);
    io.run();
    worker.run_sync([](Database&) {});  // the last post to io has returned
    const auto here = std::this_thread::get_id();
    CHECK(read_on == here);
    CHECK(write_on == here);
    CHECK(visible == 1);
    CHECK(deferred_on == here);

    auto holder = hold_worker(worker);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await worker.run([&](Database&) { queued_on = std::this_thread::get_id(); });
        },
        asio::detached);
    io.restart();
    io.run();
    holder->join();
    worker.run_sync([](Database&) {});
    CHECK(queued_on != std::thread::id());
    CHECK(queued_on != here);
    auto stats = worker.stats();
    CHECK(stats.jobs == 5);
    CHECK(stats.commits == 2);  // the two writes; a job that changed nothing commits nothing
  }
  fs::remove_all(dir);
}

// SQLite keeps no memory statistics: with them on (its default), every allocation inside
// SQLite took one process-wide mutex, which the database workers and the io threads contended
// for (docs/performance.md, "Round four"). With them off, the counter stays at zero.
TEST_CASE("SQLite runs without memory statistics") {
  auto dir = make_temp_dir("shopctl-dbtest");
  {
    Database db(dir / "memstatus.db");
    db.exec("CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)");
    db.transaction([&] {
      for (int i = 0; i < 100; ++i)
        db.prepare("INSERT INTO t (body) VALUES (?)").bind_all(std::string(500, 'x')).run();
    });
    CHECK(sqlite3_memory_used() == 0);
  }
  fs::remove_all(dir);
}

// A database this binary cannot trust is refused when it is opened (a start failure, exit 3),
// instead of answering 5xx on every request that reads it later.
TEST_CASE("a database from a newer shopctl, or with damaged pages, is refused at migration") {
  auto dir = make_temp_dir("shopctl-dbtest");
  const std::vector<std::string_view> migrations = {
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "CREATE INDEX t_v ON t (v)"};
  const auto file = dir / "x.db";
  {
    Database db(file);
    db.migrate(migrations);
    db.transaction([&] {
      for (int i = 0; i < 2000; ++i)
        db.prepare("INSERT INTO t (v) VALUES (?)").bind_all(std::string(200, 'a' + i % 26)).run();
    });
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  CHECK_NOTHROW(Database(file).migrate(migrations));  // a sound one opens, as before

  SUBCASE("newer") {
    Database(file).exec("PRAGMA user_version = 999");
    try {
      Database(file).migrate(migrations);
      FAIL("opened");
    } catch (const shopctl::platform::DatabaseError& e) {
      CHECK(std::string(e.what()).find("schema version 999 is newer") != std::string::npos);
      CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
    }
  }
  // A table, column or index the migrations made, gone: the first request that used it was a
  // 500 (`no such table`). Refused at start, naming what is missing; what else the file holds
  // is left alone.
  SUBCASE("a table or an index dropped") {
    for (const char* drop : {"DROP TABLE t", "DROP INDEX t_v"}) {
      CAPTURE(drop);
      {
        Database db(file);
        db.migrate(migrations);
        db.exec(drop);
        db.exec("CREATE TABLE mine (x)");  // something of the owner's own: not a problem
      }
      try {
        Database(file).migrate(migrations);
        FAIL("opened");
      } catch (const shopctl::platform::DatabaseError& e) {
        const std::string what = e.what();
        CHECK(what.find("the schema lacks what shopctl made in it") != std::string::npos);
        CHECK(what.find(std::string(drop).ends_with("t") ? "table t" : "index t_v") !=
              std::string::npos);
        CHECK(what.find("column t.") == std::string::npos);  // a missing table's columns: no
      }
      Database db(file);
      db.exec("DROP TABLE IF EXISTS mine");
      db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
      db.exec("CREATE INDEX IF NOT EXISTS t_v ON t (v)");
    }
    CHECK_NOTHROW(Database(file).migrate(migrations));
  }
  // Another service's database in this one's place (catalog.db copied over order.db): its
  // version is one of this service's too, or past them; either way it lacks this schema. It
  // failed in the next migration with SQLite's words and a piece of its SQL, or read as a
  // database from a newer shopctl (an outside probe).
  SUBCASE("another service's database") {
    const auto other = dir / "other.db";
    const std::vector<std::string_view> theirs = {"CREATE TABLE products (id TEXT)",
                                                  "CREATE TABLE stock (id TEXT)",
                                                  "CREATE TABLE more (id TEXT)"};
    const std::vector<std::string_view> longer = {migrations[0], migrations[1],
                                                  "ALTER TABLE t ADD COLUMN w TEXT",
                                                  "CREATE INDEX t_w ON t (w)"};
    for (const auto* ours : {&migrations, &longer}) {
      std::filesystem::remove(other);
      std::filesystem::remove(dir / "other.db.used");
      Database(other).migrate(theirs);  // version 3: past `migrations`, within `longer`
      try {
        Database(other).migrate(*ours);
        FAIL("opened");
      } catch (const shopctl::platform::DatabaseError& e) {
        const std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find(other.string() + ": the schema lacks what shopctl made in it (") == 0);
        CHECK(what.find("table t") != std::string::npos);
      }
    }
  }
  SUBCASE("negative") {
    Database(file).exec("PRAGMA user_version = -1");
    CHECK_THROWS_AS(Database(file).migrate(migrations), shopctl::platform::DatabaseError);
  }
  SUBCASE("damaged pages") {
    {  // pages 5-8 of a 4 KiB-page file overwritten, its header left alone
      std::FILE* f = std::fopen(file.c_str(), "r+b");
      REQUIRE(f != nullptr);
      std::fseek(f, 4 * 4096, SEEK_SET);
      const std::string junk(4 * 4096, '\x5a');
      std::fwrite(junk.data(), 1, junk.size(), f);
      std::fclose(f);
    }
    try {
      Database(file).migrate(migrations);
      FAIL("opened");
    } catch (const shopctl::platform::DatabaseError& e) {
      CHECK(std::string(e.what()).find("damaged") != std::string::npos);
    }
  }
  // SQLite takes a file shorter than one page for a new database: a file cut to a few bytes
  // was started afresh. An empty file is still a new database.
  SUBCASE("cut to fewer bytes than a page") {
    for (const std::size_t bytes : {std::size_t{1}, std::size_t{100}, std::size_t{511}}) {
      CAPTURE(bytes);
      fs::resize_file(file, bytes);
      try {
        Database(file).migrate(migrations);
        FAIL("opened");
      } catch (const shopctl::platform::DatabaseError& e) {
        CHECK(std::string(e.what()).find("damaged") != std::string::npos);
        CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
      }
      CHECK(fs::file_size(file) == bytes);  // left as it was, for its owner to look at
    }
    // Emptied to 0 bytes, which SQLite takes for a new database: refused, since a shop has
    // used it (its `.used` file says so); a whole folder of orders was started afresh. Without
    // that mark it is a new database.
    fs::resize_file(file, 0);
    try {
      Database(file).migrate(migrations);
      FAIL("an emptied database was started afresh");
    } catch (const shopctl::platform::DatabaseError& e) {
      CHECK(std::string(e.what()).find("is empty or missing, but a shop has used it") !=
            std::string::npos);
    }
    fs::remove(dir / "x.db.used");
    CHECK_NOTHROW(Database(file).migrate(migrations));
    CHECK(fs::file_size(dir / "x.db.used") > 0);  // marked again
  }
  fs::remove_all(dir);
}

// A second shop on the same data folder (other ports, the same files) started, and each
// process's one-checkout-per-cart claim, kept in its own memory, let one cart become two paid
// orders. A database has one worker at a time, in one process.
TEST_CASE("a database already open in a worker is refused to a second one until it is closed") {
  auto dir = make_temp_dir("shopctl-dbtest");
  const auto file = dir / "order.db";
  {
    DatabaseWorker first(file, Synchronous::full);
    try {
      DatabaseWorker second(file, Synchronous::full);
      FAIL("a second worker opened the same database");
    } catch (const shopctl::platform::DatabaseError& e) {
      CHECK(std::string(e.what()).find("is in use by another shop") != std::string::npos);
    }
    CHECK(shopctl::platform::database_held(file));  // what chaos --data-dir looks at
    first.close();
    CHECK_FALSE(shopctl::platform::database_held(file));
    DatabaseWorker third(file, Synchronous::full);  // the first let go
    third.close();
    first.reopen();  // and takes it back
    CHECK(shopctl::platform::database_held(file));
  }
  CHECK_FALSE(shopctl::platform::database_held(file));
  CHECK_FALSE(shopctl::platform::database_held(dir / "missing.db"));
  DatabaseWorker after(file, Synchronous::full);  // gone with its worker
  fs::remove_all(dir);
}

namespace {

// Inserts `n` into table t through the worker's queue, as a service does; the error the job
// ended with, or "" when it was acknowledged.
std::string insert_through(DatabaseWorker& worker, int n) {
  std::string error;
  asio::io_context io;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await worker.run(
              [n](Database& db) { db.prepare("INSERT INTO t (n) VALUES (?)").bind_all(n).run(); });
        } catch (const std::exception& e) {
          error = e.what();
        }
      },
      asio::detached);
  io.run();
  // The pool thread may still be inside its post to io (ThreadSanitizer saw io's condition
  // variable destroyed under it): wait for the pool before io goes.
  worker.run_sync([](Database&) {});
  return error;
}

}  // namespace

// A database file removed (or replaced) while the worker has it open: its commits went to a
// file nobody opens again, and a checkout and a payment answered 2xx after `rm order.db` were
// lost at the next start (an outside probe). The write that finds the file gone is not
// acknowledged, and nor is any job after it.
TEST_CASE("a worker whose database file was removed acknowledges no write") {
  for (const auto sync : {Synchronous::full, Synchronous::normal}) {
    CAPTURE(static_cast<int>(sync));
    auto dir = make_temp_dir("shopctl-dbtest");
    const auto file = dir / "gone.db";
    {
      DatabaseWorker worker(file, sync);
      worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER)"); });
      CHECK(insert_through(worker, 1).empty());
      fs::remove(file);
      const std::string refused = insert_through(worker, 2);
      CHECK(refused.find("was removed or replaced while the service ran") != std::string::npos);
      CHECK(insert_through(worker, 3).find("was removed or replaced") != std::string::npos);
    }
    fs::remove_all(dir);
  }
}

// The same for its -wal: `rm order.db-wal` under a running shop, and payments answered
// `succeeded` after it were lost with their orders at the next crash (an outside probe). Before
// the first write and after it.
TEST_CASE("a worker whose -wal file was removed acknowledges no write") {
  for (const int round : {0, 1, 2, 3}) {
    const bool written_before = (round & 1) != 0;
    const bool moved = (round & 2) != 0;
    CAPTURE(written_before);
    CAPTURE(moved);
    auto dir = make_temp_dir("shopctl-dbtest");
    const auto file = dir / "wal.db";
    {
      DatabaseWorker worker(file, Synchronous::full);
      worker.run_sync([](Database& db) { db.exec("CREATE TABLE t (n INTEGER)"); });
      if (written_before) CHECK(insert_through(worker, 1).empty());
      REQUIRE(fs::exists(dir / "wal.db-wal"));
      if (moved)
        fs::rename(dir / "wal.db-wal", dir / "aside-wal");  // mv: the file keeps a name
      else
        fs::remove(dir / "wal.db-wal");
      CHECK(insert_through(worker, 2).find("(or its -wal) was removed or replaced") !=
            std::string::npos);
      CHECK(insert_through(worker, 3).find("was removed or replaced") != std::string::npos);
    }
    fs::remove_all(dir);
  }
}
