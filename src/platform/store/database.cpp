#include "platform/store/database.hpp"

#include "platform/temp_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>

#include <sqlite3.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/store/wal_batch_vfs.hpp"
#include "platform/thread_name.hpp"

namespace shopctl::platform {

namespace asio = boost::asio;

namespace {
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  throw DatabaseError(rc,
                      std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}
}  // namespace

bool DatabaseError::is_constraint() const {
  return (code_ & 0xff) == SQLITE_CONSTRAINT;
}

bool DatabaseError::is_unavailable() const {
  switch (code_ & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return true;
    case SQLITE_MISUSE:  // a job for a database that was closed: the service is stopping
    case SQLITE_ABORT:   // rolled back with its group after such an error
      return true;
    default:
      return false;
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), lent_(other.lent_) {
  other.stmt_ = nullptr;
  other.lent_ = nullptr;
}

Statement::~Statement() {
  if (!stmt_) return;
  if (!lent_) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *lent_ = false;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, "step");
}

void Statement::run() {
  while (step()) {
  }
}

std::int64_t Statement::column_int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}
double Statement::column_double(int col) const {
  return sqlite3_column_double(stmt_, col);
}
bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
std::string Statement::column_text(int col) const {
  auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!text) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

namespace {
// Page-cache and WAL settings. `synchronous` is set apart (Synchronous: NORMAL survives a crash
// of the process, FULL a power loss as well; docs/money.md says which database has which). A
// Database used alone checkpoints every 4000 WAL pages; under a DatabaseWorker a Checkpointer
// thread does it instead (see below), and journal_size_limit truncates the WAL back after a
// checkpoint.
constexpr const char* kPragmas[] = {
    "PRAGMA journal_mode=WAL",        "PRAGMA foreign_keys=ON",
    "PRAGMA wal_autocheckpoint=4000", "PRAGMA journal_size_limit=67108864",
    "PRAGMA cache_size=-8192",        "PRAGMA temp_store=MEMORY",
    "PRAGMA mmap_size=268435456",
};

// Once per process, before SQLite initializes: no memory statistics. With them on (SQLite's
// default), every allocation inside SQLite takes one process-wide mutex, which the database
// workers and the io threads running jobs inline (DatabaseWorker) would all contend for; the
// shop never reads those statistics. Too late (SQLite already initialized by someone else) is
// harmless: the statistics then stay on.
void configure_sqlite_once() {
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}
// At start-up too, before anything in the process can have opened a database.
[[maybe_unused]] const bool sqlite_configured_at_start = (configure_sqlite_once(), true);

sqlite3_stmt* prepare_persistent(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "prepare");
  return stmt;
}
}  // namespace

const char* to_string(Synchronous s) {
  return s == Synchronous::full ? "full" : "normal";
}

bool database_held(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // The same lock as DatabaseWorker::Impl::lock_file's.
  const bool taken = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the lock if this took it
  return taken;
}

Database::Database(const std::filesystem::path& file, Synchronous synchronous)
    : path_(file), synchronous_(synchronous) {
  configure_sqlite_once();
  if (file.has_parent_path()) make_folders(file.parent_path());
  // SQLite writes whole pages, 512 bytes at the least, and takes a file shorter than one page
  // for a new, empty database: a file cut to a few bytes would be started afresh, its loss
  // unnoticed. An empty file is a new database (in WAL mode the first pages may still be in
  // the -wal file).
  std::error_code size_error;
  if (const auto size = std::filesystem::file_size(file, size_error);
      !size_error && size > 0 && size < 512) {
    throw DatabaseError(SQLITE_NOTADB, path_.string() + ": the database is damaged (" +
                                           std::to_string(size) + (size == 1 ? " byte" : " bytes") +
                                           ", shorter than one SQLite page); restore it from a "
                                           "backup, or remove it and " +
                                           path_.filename().string() + ".used to start it afresh");
  }
  // The one connection that writes this file (DatabaseWorker holds it alone, under its flock)
  // writes each commit's WAL frames in one write (wal_batch_vfs.hpp).
  int rc = sqlite3_open_v2(file.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           wal_batch_vfs());
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw DatabaseError(rc, "cannot open " + file.string() + ": " + msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    for (const char* pragma : kPragmas) exec(pragma);
    exec(synchronous == Synchronous::full ? "PRAGMA synchronous=FULL"
                                          : "PRAGMA synchronous=NORMAL");
    begin_ = prepare_persistent(db_, "BEGIN IMMEDIATE");
    commit_ = prepare_persistent(db_, "COMMIT");
    rollback_ = prepare_persistent(db_, "ROLLBACK");
    savepoint_ = prepare_persistent(db_, "SAVEPOINT job");
    release_ = prepare_persistent(db_, "RELEASE job");
    rollback_to_ = prepare_persistent(db_, "ROLLBACK TO job");
  } catch (const DatabaseError& e) {
    for (auto* st : {begin_, commit_, rollback_, savepoint_, release_, rollback_to_})
      sqlite3_finalize(st);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    // Named, so that a corrupt or foreign file is found ("file is not a database"); a damaged
    // or foreign file says what to do, as a short one does (an outside probe got SQLite's
    // words alone).
    const bool damaged = e.code() == SQLITE_CORRUPT || e.code() == SQLITE_NOTADB;
    throw DatabaseError(e.code(),
                        "cannot open " + file.string() + ": " + e.what() +
                            (damaged ? "; restore it from a backup, or remove it and " +
                                           path_.filename().string() + ".used to start it afresh"
                                     : std::string()));
  } catch (...) {
    for (auto* st : {begin_, commit_, rollback_, savepoint_, release_, rollback_to_})
      sqlite3_finalize(st);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() {
  for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.stmt);
  for (auto* st : {begin_, commit_, rollback_, savepoint_, release_, rollback_to_})
    sqlite3_finalize(st);
  sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw DatabaseError(rc, "exec failed: " + msg + " in: " + text.substr(0, 80));
  }
}

void Database::step_control(sqlite3_stmt* stmt, std::string_view what) {
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(stmt);
    throw DatabaseError(rc, "exec failed: " + msg + " in: " + std::string(what));
  }
  sqlite3_reset(stmt);
}

void Database::begin_immediate() {
  step_control(begin_, "BEGIN IMMEDIATE");
}
void Database::commit() {
  step_control(commit_, "COMMIT");
  ++commits_;
}
void Database::rollback_quietly() {
  sqlite3_step(rollback_);
  sqlite3_reset(rollback_);
}

void Database::begin_transaction() {
  if (in_group_)
    step_control(savepoint_, "SAVEPOINT job");
  else
    begin_immediate();
}
void Database::end_transaction() {
  if (in_group_)
    step_control(release_, "RELEASE job");
  else
    commit();
}
void Database::abort_transaction() {
  if (!in_group_) {
    rollback_quietly();
    return;
  }
  // Undo this job's writes and drop its savepoint; the group goes on. Both fail quietly when
  // SQLite has already rolled the whole group back (the worker sees that and says so).
  for (auto* st : {rollback_to_, release_}) {
    sqlite3_step(st);
    sqlite3_reset(st);
  }
}

void Database::begin_group() {
  begin_immediate();
  in_group_ = true;
}
void Database::commit_group() {
  in_group_ = false;
  commit();
}
void Database::rollback_group() {
  in_group_ = false;
  rollback_quietly();
}
void Database::defer_sync(bool deferred) {
  if (deferred == sync_deferred_ || synchronous_ == Synchronous::normal) return;
  exec(deferred ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
  sync_deferred_ = deferred;
}
std::int64_t Database::total_changes() const {
  return sqlite3_total_changes64(db_);
}
bool Database::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Statement Database::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    it = statements_.emplace(std::string(sql), Cached{prepare_persistent(db_, sql), false}).first;
  }
  Cached& cached = it->second;
  if (cached.lent) {
    // In use further up the stack: a statement of its own, finalized after this use.
    sqlite3_stmt* own = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &own, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, "prepare");
    return Statement(db_, own, nullptr);
  }
  // Reset (and its bindings cleared) when the previous user let go.
  cached.lent = true;
  return Statement(db_, cached.stmt, &cached.lent);
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(db_);
}
std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

namespace {

// The tables, indexes, triggers and views of `db` (SQLite's own left out), each with its
// columns when it has any: "table orders", "column orders.status", "index orders_by_user".
std::set<std::string> schema_of(sqlite3* db) {
  std::set<std::string> out;
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' "
                         "ESCAPE '\\'",
                         -1, &st, nullptr) != SQLITE_OK)
    return out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const std::string type = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    out.insert(type + " " + name);
    if (type == "table") tables.push_back(name);
  }
  sqlite3_finalize(st);
  for (const auto& table : tables) {
    const std::string sql = "SELECT name FROM pragma_table_info(?)";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) continue;
    sqlite3_bind_text(st, 1, table.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW)
      out.insert("column " + table + "." +
                 reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
  }
  return out;
}

}  // namespace

// A database whose schema lacks what the migrations make (a table dropped by hand, a column
// gone) passed quick_check and user_version, and the first request that used the missing
// part was a 500 (`no such table: order_history`, an outside probe). The migrations run on an
// empty database in memory give the schema to expect; anything of it missing is refused at
// start, naming it. What the file holds besides is left alone.
void Database::refuse_missing_schema(const std::vector<std::string_view>& migrations) {
  sqlite3* reference = nullptr;
  if (sqlite3_open(":memory:", &reference) != SQLITE_OK) {
    sqlite3_close(reference);
    return;  // no memory for the check: the requests will tell
  }
  bool built = true;
  for (const auto& migration : migrations) {
    const std::string sql(migration);
    if (sqlite3_exec(reference, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      built = false;
      break;
    }
  }
  const auto expected = built ? schema_of(reference) : std::set<std::string>{};
  sqlite3_close(reference);
  const auto actual = schema_of(db_);
  std::vector<std::string> missing;
  for (const auto& item : expected) {
    if (actual.count(item)) continue;
    // A missing table's columns go without saying.
    if (item.starts_with("column ")) {
      const auto table = item.substr(7, item.find('.') - 7);
      if (!actual.count("table " + table)) continue;
    }
    missing.push_back(item);
  }
  if (missing.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < missing.size() && i < 5; ++i)
    list += (list.empty() ? "" : ", ") + missing[i];
  if (missing.size() > 5) list += " and " + std::to_string(missing.size() - 5) + " more";
  throw DatabaseError(SQLITE_CORRUPT, path_.string() +
                                          ": the schema lacks what shopctl made in it (" + list +
                                          "); restore it from a backup, or remove it and " +
                                          path_.filename().string() + ".used to start it afresh");
}

void Database::migrate(const std::vector<std::string_view>& migrations) {
  std::int64_t version = 0;
  {
    auto st = prepare("PRAGMA user_version");
    if (st.step()) version = st.column_int(0);
  }
  // A schema this binary does not know is refused, not opened: a newer shopctl's database may
  // hold what these migrations never made, and a negative version would skip every one.
  if (version > static_cast<std::int64_t>(migrations.size()))
    refuse_missing_schema(migrations);  // another service's database, rather than a newer one
  if (version < 0 || version > static_cast<std::int64_t>(migrations.size())) {
    throw DatabaseError(SQLITE_MISMATCH, path_.string() + ": schema version " +
                                             std::to_string(version) +
                                             (version < 0 ? " is not one shopctl writes"
                                                          : " is newer than this shopctl knows (" +
                                                                std::to_string(migrations.size()) +
                                                                "): written by a newer shopctl?"));
  }
  // A database with data is checked before it is used: a damaged page would otherwise surface
  // later as a 5xx on every request that reads it. quick_check reads every page once (about
  // 1 ms per MB); a new database (version 0) has nothing to check.
  if (version > 0) {
    std::string verdict;
    try {
      auto st = prepare("PRAGMA quick_check(1)");
      verdict = st.step() ? st.column_text(0) : std::string("no answer");
    } catch (const DatabaseError& e) {
      verdict = e.what();
    }
    if (verdict != "ok") {
      throw DatabaseError(SQLITE_CORRUPT,
                          path_.string() + ": the database is damaged (" + verdict.substr(0, 200) +
                              "); restore it from a backup, or remove it and " +
                              path_.filename().string() + ".used to start it afresh");
    }
  }
  // A database that a shop has used is marked by `<file>.used` beside it: found new again
  // (removed, or emptied to 0 bytes, which SQLite takes for a new database), it is refused
  // rather than started afresh with every order or payment gone.
  auto marker = path_;
  marker += ".used";
  std::error_code marker_error;
  const auto marker_status = std::filesystem::symlink_status(marker, marker_error);
  const bool marker_exists = !marker_error && std::filesystem::exists(marker_status);
  // Any marker says so, an empty one too (the file's existence is the mark); one that is not a
  // regular file is refused: a FIFO there held the start in open() for good, deaf to SIGTERM,
  // and a folder or an empty file let an emptied database start afresh (an outside probe).
  if (marker_exists && !std::filesystem::is_regular_file(marker_status)) {
    throw DatabaseError(SQLITE_CANTOPEN,
                        marker.string() +
                            " is not a regular file (a folder, a pipe, a socket, a device or a "
                            "link): it marks that a shop has used " +
                            path_.filename().string() +
                            "; put the file back, or remove it if the database is new");
  }
  if (version == 0 && marker_exists) {
    // Schema version 0 with tables in it is not a new database: its version was changed.
    std::int64_t tables = 0;
    {
      auto st = prepare("SELECT count(*) FROM sqlite_master");
      if (st.step()) tables = st.column_int(0);
    }
    throw DatabaseError(
        SQLITE_CORRUPT,
        tables > 0
            ? path_.string() + " says schema version 0 but holds " + std::to_string(tables) +
                  " tables and indexes: its version was changed; restore it from a backup"
            : path_.string() + " is empty or missing, but a shop has used it (" + marker.string() +
                  " says so): it was removed or emptied; restore it from a backup, "
                  "or remove " +
                  marker.filename().string() + " to start it afresh");
  }
  // What the file says it holds is there before more is built on it: another service's
  // database in its place (catalog.db copied over order.db) failed in the next migration with
  // SQLite's words and a piece of its SQL, naming neither the file nor a fix (an outside probe).
  if (version > 0 && static_cast<std::size_t>(version) < migrations.size())
    refuse_missing_schema({migrations.begin(), migrations.begin() + version});
  for (std::size_t i = static_cast<std::size_t>(version); i < migrations.size(); ++i) {
    try {
      transaction([&] {
        exec(migrations[i]);
        exec("PRAGMA user_version = " + std::to_string(i + 1));
      });
    } catch (const DatabaseError& e) {
      // A file whose version says less than it holds (its user_version edited) failed here in
      // SQLite's words and a piece of SQL, naming neither the file nor a fix (an outside probe).
      if (version == 0) throw;
      std::string cause = e.what();  // SQLite's words, without the piece of SQL after them
      cause = cause.substr(0, std::min({cause.find(" in: "), cause.find('\n'), std::size_t{160}}));
      throw DatabaseError(e.code(), path_.string() + ": cannot bring its schema from version " +
                                        std::to_string(i) + " to " + std::to_string(i + 1) + " (" +
                                        cause +
                                        "): it holds more than its version says; restore it "
                                        "from a backup");
    }
  }
  if (version > 0) refuse_missing_schema(migrations);
  if (!migrations.empty() && !marker_exists) {
    std::ofstream(marker, std::ios::app) << "shopctl: " << path_.filename().string()
                                         << " is a shop's database; do not remove this file "
                                            "without it\n";
  }
}

void Database::checkpoint_elsewhere(std::function<void(int)> on_commit) {
  on_commit_ = std::make_unique<std::function<void(int)>>(std::move(on_commit));
  // Replaces SQLite's own auto-checkpoint hook (wal_autocheckpoint), so commits never checkpoint.
  sqlite3_wal_hook(
      db_,
      [](void* arg, sqlite3*, const char*, int pages) -> int {
        (*static_cast<std::function<void(int)>*>(arg))(pages);
        return SQLITE_OK;
      },
      on_commit_.get());
}

// Checkpoints one database's WAL on a thread of its own, through a second connection, so the
// worker that commits never waits for a checkpoint's writes and fsyncs (which took 10-60 ms
// under the checkout load and made every request of that service wait). PASSIVE checkpoints
// never block the writer; the WAL is reused from the start once a checkpoint has caught up.
class Checkpointer {
 public:
  // Nothing is opened until the WAL first reaches kPages: a short-lived shop (a scenario's)
  // never pays for the second connection and thread.
  explicit Checkpointer(std::filesystem::path file) : file_(std::move(file)) {}
  ~Checkpointer() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);  // first: the worker's connection, closed last, checkpoints fully
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Called after each commit with the WAL's size in pages (always on the worker's thread).
  void committed(int pages) {
    if (pages < kPages) return;
    if (!thread_.joinable() && !start()) return;
    {
      std::lock_guard lock(mu_);
      due_ = true;
    }
    cv_.notify_one();
  }

 private:
  // Opens the second connection and starts the thread; false (SQLite checkpoints nothing
  // until the next try) when the connection cannot be opened.
  bool start() {
    int rc =
        sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
      return false;
    }
    sqlite3_busy_timeout(db_, 1000);
    // This connection never commits; a checkpoint syncs the WAL before it and the database
    // file after it under NORMAL and FULL alike, so FULL would buy nothing here.
    sqlite3_exec(db_, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    thread_ = std::thread([this] {
      name_this_thread("ckpt-" + file_.stem().string());
      loop();
    });
    return true;
  }

  // 4000 pages (16 MiB of WAL at 4 KiB pages), the size a Database used alone checkpoints at,
  // not SQLite's default of 1000: under steady writes a PASSIVE checkpoint rarely catches up
  // with the writer, so once past the threshold it runs after nearly every commit (copying a
  // few pages, syncing the database file, and making the writer sync a new WAL header each
  // time the WAL restarts). At 1000 pages that churn cost about 8 % of the shop's CPU per
  // paid order (docs/performance.md, "Round three"); 4000 makes it four times rarer and lets
  // each checkpoint copy a hot page once for more of its versions.
  static constexpr int kPages = 4000;

  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
      lock.unlock();
      int log = 0, done = 0;
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      lock.lock();
    }
  }

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

namespace {
// What a job's caller is told when the worker's database is closed.
std::exception_ptr closed_error() {
  return std::make_exception_ptr(DatabaseError(SQLITE_MISUSE, "database is closed"));
}
// What the jobs of a group are told when SQLite rolled the group back under them.
std::exception_ptr lost_with_group() {
  return std::make_exception_ptr(DatabaseError(
      SQLITE_ABORT, "the transaction was rolled back with its group: nothing was written"));
}
// Commits from now on sync as configured, or not at all (`deferred`).
void defer_sync_if_possible(Database& d, bool deferred) {
  try {
    d.defer_sync(deferred);
  } catch (const DatabaseError&) {
    // Still at the stronger level if switching failed, which is always allowed.
  }
}
}  // namespace

struct DatabaseWorker::Impl {
  Impl(std::filesystem::path file, Synchronous sync)
      : pool(1), path(std::move(file)), synchronous(sync) {
    open();
  }
  ~Impl() { unlock_file(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Takes an exclusive flock on the database file itself: one worker in one process has a
  // database at a time. A second shop on the same data folder (other ports, the same files)
  // started, and each process's one-checkout-per-cart claim, which lives in its own memory,
  // let one cart become two paid orders. (A lock on a file of its own beside it could be
  // removed, and the next shop would lock a new one.) The lock goes with the process, however
  // it ends. SQLite's own locks are POSIX record locks, which flock does not touch; but
  // closing any descriptor of the file drops the process's POSIX locks on it, so this one is
  // taken before SQLite opens the file and closed only after every connection to it has
  // closed (close_on_pool, the open's failure path).
  void lock_file() {
    if (lock_fd >= 0) return;
    if (path.has_parent_path()) make_folders(path.parent_path());
    // A FIFO, a device or a socket at the database's place (or its -wal's, -shm's): opening or
    // reading it waits for a writer that never comes, and the start hung for good, deaf to
    // SIGTERM (an outside probe's FIFO order.db). Refused, naming it, as a folder is.
    for (const auto& file : {path.string(), path.string() + "-wal", path.string() + "-shm"}) {
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        throw DatabaseError(SQLITE_CANTOPEN,
                            "cannot open " + file + ": " +
                                (S_ISDIR(st.st_mode) ? std::string(std::strerror(EISDIR))
                                                     : std::string("not a regular file (a pipe, "
                                                                   "socket or device)")));
      }
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw DatabaseError(SQLITE_CANTOPEN,
                          "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) {
        throw DatabaseError(SQLITE_BUSY, path.string() +
                                             " is in use by another shop (a second shopctl on "
                                             "the same data folder?): stop that one first");
      }
      throw DatabaseError(SQLITE_CANTOPEN,
                          "cannot lock " + path.string() + ": " + std::strerror(error));
    }
    lock_fd = fd;
  }
  void unlock_file() {
    if (wal_fd >= 0) ::close(wal_fd);
    wal_fd = -1;
    if (lock_fd < 0) return;
    ::close(lock_fd);  // releases the flock
    lock_fd = -1;
  }

  // Whether the database file was removed (or replaced by another) while it is open: its last
  // name is gone. Its commits then go to a file nobody will open again: a checkout and a
  // payment answered 2xx after `rm order.db` were lost at the next start (an outside probe).
  // Checked after each commit that wrote something (one fstat), and sticky: every later job
  // is refused, so the service answers 503 storage_unavailable instead of acknowledging.
  // The WAL too: after a commit it exists (journal_mode=WAL; SQLite removes it only when the
  // last connection closes), and a commit written to a removed -wal is lost at the next crash
  // (`rm order.db-wal` under a running shop: payments answered `succeeded` were gone after a
  // SIGKILL, their orders with them; an outside probe). Its descriptor is opened at the first
  // check: a WAL missing then was removed, one whose last name goes later is seen by fstat.
  // Moved aside (`mv order.db-wal elsewhere`) is removed too: the name no longer leads to the
  // open file (an outside probe moved the WAL, and the writes after it were acknowledged and
  // lost). So the name is looked up and compared with the descriptor, not only its link count.
  bool file_removed() {
    if (removed.load(std::memory_order_relaxed)) return true;
    if (lock_fd < 0) return false;
    const std::string wal = path.string() + "-wal";
    bool gone = !names_open_file(path.c_str(), lock_fd);
    if (!gone && wal_fd < 0) {
      wal_fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
      gone = wal_fd < 0 && errno == ENOENT;
    }
    if (!gone && wal_fd >= 0) gone = !names_open_file(wal.c_str(), wal_fd);
    if (!gone) return false;
    removed.store(true, std::memory_order_relaxed);
    return true;
  }
  // Whether `name` is still a name of the file open as `fd` (a failed look-up other than a
  // missing name says yes: only a file known gone refuses writes).
  static bool names_open_file(const char* name, int fd) {
    struct stat open_file {
    }, named{};
    if (::fstat(fd, &open_file) != 0) return true;
    if (open_file.st_nlink == 0) return false;
    if (::stat(name, &named) != 0) return errno != ENOENT;
    return named.st_dev == open_file.st_dev && named.st_ino == open_file.st_ino;
  }
  std::exception_ptr removed_error() const {
    // Short: the 503's message quotes at most 200 characters of it.
    return std::make_exception_ptr(DatabaseError(
        SQLITE_IOERR, path.filename().string() +
                          " (or its -wal) was removed or replaced while the service ran: no write "
                          "is acknowledged until the service restarts on a restored file"));
  }

  // Opens the database (and its checkpointer) on the pool's thread.
  void open() {
    std::promise<void> opened;
    asio::post(pool, [&] {
      name_this_thread("db-" + path.stem().string());
      std::lock_guard own(db_mu);
      try {
        if (!db) {
          lock_file();
          removed.store(false, std::memory_order_relaxed);  // a new descriptor of the file
          db = std::make_unique<Database>(path, synchronous);
          checkpointer = std::make_unique<Checkpointer>(path);
          db->checkpoint_elsewhere([c = checkpointer.get()](int pages) { c->committed(pages); });
        }
        opened.set_value();
      } catch (...) {
        db.reset();
        checkpointer.reset();
        unlock_file();
        opened.set_exception(std::current_exception());
      }
    });
    opened.get_future().get();
  }
  // On the pool's thread: the checkpointer's connection closes first, so the worker's, the
  // last one, checkpoints everything and removes the WAL.
  void close_on_pool() {
    checkpointer.reset();
    db.reset();
    unlock_file();
  }
  // A job of run(): the caller's fn and error slot (the caller is suspended, so both live
  // until `resume` has been called), and what resumes the caller.
  struct Job {
    std::function<void(Database&)>* fn;
    std::exception_ptr* error;
    std::function<void()> resume;
    Durability durability = Durability::configured;
    bool resumed = false;
  };

  // Queues a job; the first job queued while no drain is pending posts one.
  void enqueue(Job job) {
    bool post = false;
    {
      std::lock_guard lock(queue_mu);
      queue.push_back(std::move(job));
      post = !drain_posted;
      drain_posted = true;
    }
    if (post) asio::post(pool, [this] { drain(); });
  }

  // On the pool's thread: runs what is queued now as one batch, then posts itself again if
  // more came meanwhile (rather than looping, so close() and run_sync() are not starved).
  void drain() {
    {
      std::lock_guard lock(queue_mu);
      batch.swap(queue);
    }
    {
      std::lock_guard own(db_mu);
      run_batch();
    }
    batch.clear();
    bool again = false;
    {
      std::lock_guard lock(queue_mu);
      again = !queue.empty();
      drain_posted = again;
    }
    if (again) asio::post(pool, [this] { drain(); });
  }

  // Running a job on the caller's thread (run() when the worker is idle). While the worker
  // has nothing queued, handing a job to its thread and back costs two thread wake-ups, which
  // on a VM cost more than most jobs. claim_idle() makes the caller the worker for one job:
  // true only when no drain is pending and nothing is queued, and then jobs queued meanwhile
  // wait (in order) until release() hands them to the pool's thread.
  bool claim_idle() {
    std::lock_guard lock(queue_mu);
    if (drain_posted || !queue.empty()) return false;
    drain_posted = true;
    return true;
  }
  void release() {
    bool again = false;
    {
      std::lock_guard lock(queue_mu);
      again = !queue.empty();
      drain_posted = again;
    }
    if (again) asio::post(pool, [this] { drain(); });
  }

  // After claim_idle(): runs fn at once, in a group of its own. Commits it here unless the
  // commit must sync (a configured-durability job that changed something, on a `full`
  // database); then returns true with the group still open, and the caller hands the commit
  // to the pool's thread (commit_handed), so no thread that serves requests waits for a disk
  // sync. A job that only read commits here without a sync: it saw only synced commits,
  // because no other job runs until a handed-over commit has synced.
  bool run_claimed(std::function<void(Database&)>& fn, std::exception_ptr& error,
                   Durability durability) {
    std::lock_guard own(db_mu);
    jobs.fetch_add(1, std::memory_order_relaxed);
    if (largest_group.load(std::memory_order_relaxed) == 0)
      largest_group.store(1, std::memory_order_relaxed);
    if (!db) {
      error = closed_error();
      return false;
    }
    if (removed.load(std::memory_order_relaxed)) {
      error = removed_error();
      return false;
    }
    Database& d = *db;
    const auto before = d.commits();
    Job job{&fn, &error, {}, durability};
    defer_sync_if_possible(d, durability == Durability::deferred);
    try {
      d.begin_group();
    } catch (const DatabaseError&) {
      run_job(d, job);  // as a lone job, committed (and synced) here
      commits.fetch_add(d.commits() - before, std::memory_order_relaxed);
      return false;
    }
    const std::int64_t unchanged = d.total_changes();
    run_job(d, job);
    if (!d.in_transaction()) {
      // SQLite rolled the group back (an I/O error, a full disk): nothing was written.
      if (!error) error = lost_with_group();
      d.rollback_group();
      return false;
    }
    const bool changed = d.total_changes() != unchanged;
    if (changed && durability == Durability::configured && d.synchronous() == Synchronous::full)
      return true;
    commit_claimed(d, error);
    if (changed) {
      commits.fetch_add(1, std::memory_order_relaxed);  // a read commits nothing
      if (!error && file_removed()) error = removed_error();
    }
    return false;
  }
  // Runs task on the pool's thread, holding db_mu, outside any job: not while a job that ran
  // inline waits for its commit (its transaction is open, and the commit is queued on the pool,
  // behind this task, or about to be), so the task goes to the back of the pool's queue until
  // that commit is done.
  void on_pool_outside_jobs(std::function<void()> task) {
    asio::post(pool, [this, task = std::move(task)]() mutable {
      std::unique_lock own(db_mu);
      if (db && db->in_group()) {
        own.unlock();
        on_pool_outside_jobs(std::move(task));
        return;
      }
      task();
    });
  }

  // On the pool's thread: commits (and syncs) the group that run_claimed left open.
  void commit_handed(std::exception_ptr& error) {
    std::lock_guard own(db_mu);
    if (!db) {
      error = closed_error();
      return;
    }
    commit_claimed(*db, error);
    commits.fetch_add(1, std::memory_order_relaxed);
    if (!error && file_removed()) error = removed_error();
  }
  static void commit_claimed(Database& d, std::exception_ptr& error) {
    try {
      d.commit_group();
    } catch (const DatabaseError&) {
      d.rollback_group();
      if (!error) error = std::current_exception();
    }
  }

  static void run_job(Database& d, Job& job) {
    try {
      (*job.fn)(d);
    } catch (...) {
      *job.error = std::current_exception();
    }
  }

  void run_batch() {
    jobs.fetch_add(batch.size(), std::memory_order_relaxed);
    if (!db) {
      auto shut = closed_error();
      for (auto& job : batch) *job.error = shut;
    } else if (removed.load(std::memory_order_relaxed)) {
      auto gone = removed_error();
      for (auto& job : batch) *job.error = gone;
    } else {
      const auto before = db->commits();
      // The batch commits without a WAL sync only when every job in it allows that.
      const bool deferred = std::all_of(batch.begin(), batch.end(), [](const Job& job) {
        return job.durability == Durability::deferred;
      });
      defer_sync_if_possible(*db, deferred);
      if (batch.size() == 1)
        run_job(*db, batch.front());
      else
        run_group(*db);
      commits.fetch_add(db->commits() - before, std::memory_order_relaxed);
      // What the batch wrote went to a removed file: none of it is acknowledged.
      if (db->commits() != before && file_removed()) {
        auto gone = removed_error();
        for (auto& job : batch)
          if (!job.resumed && !*job.error) *job.error = gone;
      }
      if (batch.size() > largest_group.load(std::memory_order_relaxed))
        largest_group.store(batch.size(), std::memory_order_relaxed);
    }
    for (auto& job : batch)
      if (!job.resumed) job.resume();
  }

  // The batch in one transaction, committed once. Nobody is resumed before run_batch returns.
  void run_group(Database& d) {
    auto open_group = [&d] {
      try {
        d.begin_group();
        return true;
      } catch (const DatabaseError&) {
        return false;
      }
    };
    const std::size_t n = batch.size();
    std::size_t first = 0;  // the first job of the open group
    if (!open_group()) {
      for (auto& job : batch) run_job(d, job);
      return;
    }
    const std::int64_t unchanged = d.total_changes();
    bool reading = true;  // no job of this group has changed anything yet
    for (std::size_t i = 0; i < n; ++i) {
      run_job(d, batch[i]);
      if (reading && d.total_changes() == unchanged && d.in_transaction()) {
        // It saw only what earlier commits made durable: no need to wait for this one.
        batch[i].resumed = true;
        batch[i].resume();
        ++first;
        continue;
      }
      reading = false;
      if (d.in_transaction()) continue;
      // SQLite rolled the group back (an I/O error, a full disk): the jobs since it began wrote
      // nothing, whatever their fn returned.
      auto lost = lost_with_group();
      for (std::size_t k = first; k <= i; ++k)
        if (!*batch[k].error) *batch[k].error = lost;
      d.rollback_group();
      first = i + 1;
      if (first < n && !open_group()) {
        for (std::size_t k = first; k < n; ++k) run_job(d, batch[k]);
        return;
      }
    }
    // Closed already when SQLite rolled it back at the last job; still open (to be committed,
    // with nothing to sync) when every job only read.
    if (!d.in_group()) return;
    try {
      d.commit_group();
    } catch (const DatabaseError&) {
      auto failed = std::current_exception();
      d.rollback_group();
      for (std::size_t k = first; k < n; ++k)
        if (!*batch[k].error) *batch[k].error = failed;
    }
  }

  asio::thread_pool pool;
  std::filesystem::path path;
  Synchronous synchronous;
  std::unique_ptr<Checkpointer> checkpointer;
  // The database and its checkpointer are touched only by whoever holds db_mu: the pool's
  // thread, or a caller running a job inline (run_claimed).
  std::mutex db_mu;
  std::unique_ptr<Database> db;
  int lock_fd = -1;                  // the database file's flock, held while db is open
  int wal_fd = -1;                   // the -wal file, opened by the first file_removed()
  std::atomic<bool> removed{false};  // file_removed() saw its last name gone
  bool closed = false;
  std::mutex queue_mu;
  std::vector<Job> queue;     // guarded by queue_mu
  bool drain_posted = false;  // guarded by queue_mu
  std::vector<Job> batch;     // touched only on the pool's thread
  std::atomic<std::uint64_t> jobs{0}, commits{0}, largest_group{0};
};

DatabaseWorker::DatabaseWorker(std::filesystem::path file, Synchronous synchronous)
    : path_(file), impl_(std::make_shared<Impl>(std::move(file), synchronous)) {}

DatabaseWorker::~DatabaseWorker() {
  close();
  impl_->pool.join();
}

asio::awaitable<void> DatabaseWorker::run(std::function<void(Database&)> fn,
                                          Durability durability) {
  auto keep_alive = impl_;
  Impl* impl = keep_alive.get();
  std::exception_ptr error;
  if (impl->claim_idle()) {
    if (impl->run_claimed(fn, error, durability)) {
      // The commit must sync: the pool's thread does it, then resumes this coroutine.
      co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
          [impl, &error](auto handler) {
            asio::post(impl->pool, [impl, &error, handler = std::move(handler)]() mutable {
              impl->commit_handed(error);
              // Released first, so that the caller's next job finds the worker idle again.
              impl->release();
              auto ex = asio::get_associated_executor(handler);
              asio::dispatch(ex, std::move(handler));
            });
          },
          asio::use_awaitable);
    } else {
      impl->release();
    }
    if (error) std::rethrow_exception(error);
    co_return;
  }
  // GCC 12 destroys a lambda's by-value captures twice when the lambda is a temporary inside a
  // co_await expression; the initiation therefore captures only a raw pointer and references
  // (`keep_alive` owns the worker for the duration). See docs/architecture.md, "GCC 12".
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [impl, &fn, &error, durability](auto handler) {
        // The handler is move-only; the job's std::function needs a copyable target.
        auto held = std::make_shared<decltype(handler)>(std::move(handler));
        impl->enqueue(Impl::Job{&fn, &error,
                                [held] {
                                  auto ex = asio::get_associated_executor(*held);
                                  asio::dispatch(ex, std::move(*held));
                                },
                                durability});
      },
      asio::use_awaitable);
  if (error) std::rethrow_exception(error);
}

DatabaseWorker::Stats DatabaseWorker::stats() const {
  return {impl_->jobs.load(std::memory_order_relaxed),
          impl_->commits.load(std::memory_order_relaxed),
          impl_->largest_group.load(std::memory_order_relaxed)};
}

void DatabaseWorker::run_sync(const std::function<void(Database&)>& fn) {
  std::promise<void> done;
  impl_->on_pool_outside_jobs([&] {
    try {
      if (!impl_->db) throw DatabaseError(SQLITE_MISUSE, "database is closed");
      fn(*impl_->db);
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  done.get_future().get();
}

void DatabaseWorker::close() {
  std::promise<void> done;
  impl_->on_pool_outside_jobs([&] {
    impl_->close_on_pool();
    done.set_value();
  });
  done.get_future().get();
}

}  // namespace shopctl::platform

namespace shopctl::platform {
void DatabaseWorker::reopen() {
  impl_->open();
}
}  // namespace shopctl::platform
