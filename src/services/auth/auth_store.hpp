#pragma once
// Auth's database (auth.db): the users table. SQL only; every call runs on the store's own
// database thread. Throws DomainError for what the data refuses, DatabaseError for the rest.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "platform/store/database.hpp"
#include "platform/store/store_database.hpp"

namespace shopctl::auth {

// A user as stored: the email in canonical form, the password as its Argon2id hash.
struct User {
  std::string id;
  std::string email;
  std::string name;
  std::string password_hash;
};

class AuthStore {
 public:
  // `synchronous`: what a commit promises (see platform::Synchronous).
  explicit AuthStore(std::filesystem::path file,
                     platform::Synchronous synchronous = platform::Synchronous::normal);
  ~AuthStore();

  // Opens (or reopens) the database and applies its migrations.
  void open();
  void close();
  const std::filesystem::path& file() const { return db_.file(); }

  // Throws DomainError conflict `email_taken` when an account has `email`.
  boost::asio::awaitable<void> require_email_free(const std::string& email);
  // Adds `user` (created now, shop clock). Throws DomainError conflict `email_taken` when an
  // account has its email (also one added since require_email_free).
  boost::asio::awaitable<void> add_user(User user, std::int64_t created_at_s);
  // The user with `email` (canonical form), or nullopt.
  boost::asio::awaitable<std::optional<User>> find_by_email(const std::string& email);
  // Adds `user` unless an account has its email, waiting for it (start-up): the demo user.
  // `hash` gives its password hash, and is called only when the user is added.
  void seed_user(User user, const std::function<std::string()>& hash, std::int64_t created_at_s);

 private:
  platform::StoreDatabase db_;
};

}  // namespace shopctl::auth
