#include "services/auth/auth_store.hpp"

#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/domain_error.hpp"

namespace shopctl::auth {

namespace asio = boost::asio;
using platform::Database;
using platform::DomainError;
using platform::ErrorKind;

namespace {

const std::vector<std::string_view> kMigrations = {R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql"};

DomainError email_taken() {
  return DomainError(ErrorKind::conflict, "email_taken", "an account with that email exists",
                     {{"field", "email"}});
}

bool email_exists(Database& db, const std::string& email) {
  auto exists = db.prepare("SELECT 1 FROM users WHERE email = ?1");
  exists.bind(1, email);
  return exists.step();
}

void insert_user(Database& db, const User& user, std::int64_t created_at_s) {
  db.prepare(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, "
        "?5)")
      .bind_all(user.id, user.email, user.name, user.password_hash, created_at_s)
      .run();
}

}  // namespace

AuthStore::AuthStore(std::filesystem::path file, platform::Synchronous synchronous)
    : db_(std::move(file), synchronous) {}

AuthStore::~AuthStore() = default;

void AuthStore::open() {
  db_.open().run_sync([](Database& db) { db.migrate(kMigrations); });
}

void AuthStore::close() {
  db_.close();
}

asio::awaitable<void> AuthStore::require_email_free(const std::string& email) {
  bool taken = false;
  co_await db_.worker().run([&](Database& db) { taken = email_exists(db, email); });
  if (taken) throw email_taken();
}

asio::awaitable<void> AuthStore::add_user(User user, std::int64_t created_at_s) {
  bool taken = false;
  co_await db_.worker().run([&](Database& db) {
    try {
      insert_user(db, user, created_at_s);
    } catch (const platform::DatabaseError& e) {
      if (!e.is_constraint()) throw;
      taken = true;
    }
  });
  if (taken) throw email_taken();
}

asio::awaitable<std::optional<User>> AuthStore::find_by_email(const std::string& email) {
  std::optional<User> user;
  co_await db_.worker().run([&](Database& db) {
    auto st = db.prepare("SELECT id, name, password_hash FROM users WHERE email = ?1");
    st.bind(1, email);
    if (st.step()) user = User{st.column_text(0), email, st.column_text(1), st.column_text(2)};
  });
  co_return user;
}

void AuthStore::seed_user(User user, const std::function<std::string()>& hash,
                          std::int64_t created_at_s) {
  db_.worker().run_sync([&](Database& db) {
    if (email_exists(db, user.email)) return;
    user.password_hash = hash();
    insert_user(db, user, created_at_s);
  });
}

}  // namespace shopctl::auth
