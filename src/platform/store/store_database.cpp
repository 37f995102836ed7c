#include "platform/store/store_database.hpp"

#include <stdexcept>
#include <utility>

namespace shopctl::platform {

StoreDatabase::StoreDatabase(std::filesystem::path file, Synchronous synchronous)
    : file_(std::move(file)), synchronous_(synchronous) {}

StoreDatabase::~StoreDatabase() = default;

DatabaseWorker& StoreDatabase::open() {
  if (worker_) {
    worker_->reopen();
  } else {
    worker_ = std::make_unique<DatabaseWorker>(file_, synchronous_);
  }
  return *worker_;
}

void StoreDatabase::close() {
  if (worker_) worker_->close();
}

DatabaseWorker& StoreDatabase::worker() {
  if (!worker_) throw std::runtime_error(file_.filename().string() + " is not open");
  return *worker_;
}

}  // namespace shopctl::platform
