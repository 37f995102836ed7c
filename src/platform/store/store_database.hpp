#pragma once
// A service store's database: its file, what a commit promises, and the worker thread that
// owns the connection while the service is up. Every store (auth, catalog, order, payment,
// provider) holds one; the store itself writes only SQL.
#include <filesystem>
#include <memory>

#include "platform/store/database.hpp"

namespace shopctl::platform {

class StoreDatabase {
 public:
  StoreDatabase(std::filesystem::path file, Synchronous synchronous);
  ~StoreDatabase();

  // Opens the database, or opens it again after close() (a service brought back up). Returns
  // its worker, for the store's migrations.
  DatabaseWorker& open();
  // Finishes queued work and closes the database; nothing while it was never opened.
  void close();
  // The worker of the open database. Throws std::runtime_error "<file> is not open" before
  // the first open().
  DatabaseWorker& worker();
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  Synchronous synchronous_;
  std::unique_ptr<DatabaseWorker> worker_;
};

}  // namespace shopctl::platform
