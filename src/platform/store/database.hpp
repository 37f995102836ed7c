#pragma once
// A small RAII layer over SQLite: one connection per database file, WAL mode, prepared
// statements with typed binds, and transactions. Each service owns its Database and runs it
// on its own worker thread (DatabaseWorker), so a slow fsync never stalls another service.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace shopctl::platform {

class DatabaseError : public std::runtime_error {
 public:
  DatabaseError(int code, std::string what) : std::runtime_error(std::move(what)), code_(code) {}
  int code() const { return code_; }
  bool is_constraint() const;
  // A condition of the machine, not of the request or the data, that may pass: the disk or
  // the database is full, an I/O error, a lock held too long, no memory, the file cannot be
  // opened or written, the database closed under a stopping service. Answered 503.
  bool is_unavailable() const;

 private:
  int code_;
};

// One use of a prepared statement. A statement from Database's cache is lent: `lent` points
// at the cache entry's in-use flag, which the destructor clears after resetting the
// statement. A statement prepared only for this use (its SQL was already lent out) has no
// flag and is finalized by the destructor.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* lent) : db_(db), stmt_(stmt), lent_(lent) {}
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  // Binds all arguments from index 1.
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    int i = 1;
    (bind(i++, args), ...);
    return *this;
  }

  // Advances; returns true while a row is available.
  bool step();
  // Runs to completion (for statements without rows).
  void run();
  std::int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string column_text(int col) const;
  bool column_is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* lent_;
};

// What a commit's acknowledgement promises (SQLite's `synchronous` in WAL mode). `normal`: the
// commit survives a crash of the process, but a power loss or an OS crash may roll back the
// last commits (the WAL is synced only at checkpoints). `full`: the WAL is synced at every
// commit, so an acknowledged commit survives a power loss too. See docs/money.md.
enum class Synchronous { normal, full };
const char* to_string(Synchronous s);

// True when `file` is a database a running shop holds: the exclusive flock a DatabaseWorker
// takes on it (one worker in one process per database) is taken. False when the file is
// missing or free. Tries the lock and lets it go at once; the caller must hold no SQLite
// connection to the file (closing this descriptor would drop the process's POSIX locks).
bool database_held(const std::filesystem::path& file);

class Database {
 public:
  // Opens (creating) the file in WAL mode with the given `synchronous` and foreign keys on.
  explicit Database(const std::filesystem::path& file,
                    Synchronous synchronous = Synchronous::normal);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  // A statement for `sql`; statements are cached per SQL text and reset on reuse. While one is
  // in use, the same SQL gets a statement of its own (two uses never share one: binding the
  // second would reset the first in the middle of its rows).
  Statement prepare(std::string_view sql);
  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;

  // Runs `fn` in one transaction (BEGIN IMMEDIATE ... COMMIT); rolls back if it throws.
  // Inside a group (begin_group(): a DatabaseWorker committing several jobs at once) it is a
  // savepoint instead: a throwing fn still undoes exactly its own writes, and what it wrote is
  // committed, durably, with the group before anyone is told it succeeded.
  template <class F>
  auto transaction(F&& fn) -> decltype(fn()) {
    begin_transaction();
    try {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        end_transaction();
      } else {
        auto result = fn();
        end_transaction();
        return result;
      }
    } catch (...) {
      abort_transaction();
      throw;
    }
  }

  // Group commit (used by DatabaseWorker): begin_group() opens one transaction around several
  // jobs, commit_group() commits it (one WAL sync under `full` for all of them),
  // rollback_group() abandons it. in_transaction() is false once SQLite itself rolled the
  // group back (an I/O error, a full disk): the jobs before that point are lost, not committed.
  void begin_group();
  void commit_group();
  void rollback_group();
  bool in_group() const { return in_group_; }
  // Commits from now on sync as `synchronous()` says (false), or as NORMAL (true: no WAL sync).
  // Set between transactions only.
  void defer_sync(bool deferred);
  // Rows changed by this connection so far (sqlite3_total_changes64).
  std::int64_t total_changes() const;
  bool in_transaction() const;
  // Commits so far (transactions outside a group, and groups), for tests and metrics.
  std::uint64_t commits() const { return commits_; }

  // Hands WAL checkpoints to someone else: this connection no longer checkpoints when it
  // commits; instead `on_commit(pages)` is called after each commit with the WAL's size in
  // pages (on this connection's thread; it must not use this connection).
  void checkpoint_elsewhere(std::function<void(int pages)> on_commit);

  // Applies numbered migrations once each (schema_version in PRAGMA user_version). A
  // database that had a version is refused (DatabaseError, SQLITE_CORRUPT) when a table,
  // column, index or trigger the migrations make is missing from it.
  void migrate(const std::vector<std::string_view>& migrations);
  const std::filesystem::path& path() const { return path_; }
  Synchronous synchronous() const { return synchronous_; }

 private:
  void refuse_missing_schema(const std::vector<std::string_view>& migrations);
  // BEGIN IMMEDIATE / COMMIT / ROLLBACK (or SAVEPOINT / RELEASE / ROLLBACK TO inside a group)
  // as statements prepared once (no SQL parsing per transaction).
  void begin_transaction();
  void end_transaction();
  void abort_transaction();
  void begin_immediate();
  void commit();
  void rollback_quietly();
  void step_control(sqlite3_stmt* stmt, std::string_view what);

  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept {
      return std::hash<std::string_view>{}(sql);
    }
  };

  std::filesystem::path path_;
  Synchronous synchronous_;
  sqlite3* db_ = nullptr;
  // Prepared statements of this connection, by SQL text; finalized with the connection.
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool lent = false;
  };
  std::unordered_map<std::string, Cached, SqlHash, std::equal_to<>> statements_;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* savepoint_ = nullptr;
  sqlite3_stmt* release_ = nullptr;
  sqlite3_stmt* rollback_to_ = nullptr;
  bool in_group_ = false;
  bool sync_deferred_ = false;
  std::uint64_t commits_ = 0;
  std::unique_ptr<std::function<void(int)>> on_commit_;
};

// One thread that owns a Database; coroutines hand it work with `co_await worker.run(fn)` and
// resume on their own executor afterwards. `fn` may capture the caller's locals by reference:
// the caller is suspended until fn has returned.
//
// An idle worker (nothing running, nothing queued) runs fn at once on the caller's thread
// instead, saving the two thread wake-ups of the hand-off; jobs queued meanwhile wait behind
// it in order. If that job's commit must be synced (it changed something, with configured
// durability, on a `full` database), its transaction stays open and the worker's thread
// commits and syncs it before the caller resumes, so a thread that serves requests never waits
// for the disk. Either way fn never runs concurrently with another job of the same worker.
//
// Group commit: the jobs that queue up while the worker is busy run together in one
// transaction (each job's own transaction() a savepoint in it) and are committed at once, so
// under `full` one WAL sync covers all of them. No caller resumes before the commit that holds
// its writes has returned: an acknowledgement still means durable. A job that throws undoes
// only its own transaction; if SQLite rolls the whole group back (an I/O error), every job of
// the group that had not failed already gets that error. A lone job commits as before.
//
// Reads resume early: the jobs at the head of a group that changed nothing saw only what was
// committed before the group began, so their callers resume at once instead of waiting for the
// group's commit.
//
// A job may ask for a deferred sync (Durability::deferred): its writes are committed and
// visible, but its caller may resume before they are synced; they become durable with the
// database's next synced commit (the WAL is synced in order, so that covers them). Only for
// writes whose loss at a power cut is harmless even after someone saw them (a claim that a
// later synced write follows, delivery bookkeeping that a redelivery repeats). docs/money.md
// lists the callers.
enum class Durability { configured, deferred };

class DatabaseWorker {
 public:
  explicit DatabaseWorker(std::filesystem::path file,
                          Synchronous synchronous = Synchronous::normal);
  ~DatabaseWorker();
  DatabaseWorker(const DatabaseWorker&) = delete;
  DatabaseWorker& operator=(const DatabaseWorker&) = delete;

  // Runs fn(database) on the worker thread; rethrows what fn throws.
  boost::asio::awaitable<void> run(std::function<void(Database&)> fn,
                                   Durability durability = Durability::configured);
  // Runs fn on the worker thread and waits for it (start-up, shutdown, tests).
  void run_sync(const std::function<void(Database&)>& fn);
  // Finishes queued work and closes the database; later calls throw DatabaseError.
  void close();
  // Opens the database again after close() (a service brought back up).
  void reopen();
  const std::filesystem::path& path() const { return path_; }

  // Jobs run through run() and the commits that made them durable (groups and lone jobs).
  struct Stats {
    std::uint64_t jobs = 0;
    std::uint64_t commits = 0;
    std::uint64_t largest_group = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::filesystem::path path_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace shopctl::platform
