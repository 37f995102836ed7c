#pragma once
// The catalog: read-only product truth. Its SQLite database is the record; reads are served
// from an immutable in-memory snapshot (with each product's JSON rendered once), swapped
// whole when an operator changes a price or availability.
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>

#include "platform/service.hpp"
#include "platform/store/database.hpp"
#include "services/catalog/catalog_model.hpp"

namespace shopctl::catalog {

struct CatalogSettings {
  std::uint16_t port = 0;
  std::optional<std::filesystem::path> catalog_file;  // default: the embedded demo catalog
};

class CatalogService : public platform::Service {
 public:
  CatalogService(platform::ServiceContext& ctx, CatalogSettings settings);
  ~CatalogService() override;
  std::filesystem::path database_file() const override;

 private:
  struct Snapshot {
    std::shared_ptr<const CatalogData> data;
    std::vector<std::string> product_json;  // parallel to data->products
    std::string categories_json;
  };
  static std::shared_ptr<const Snapshot> make_snapshot(CatalogData data);
  std::shared_ptr<const Snapshot> snapshot() const;
  void open_storage() override;
  void close_storage() override;
  CatalogData read_all(platform::Database& db);

  CatalogSettings settings_;
  std::unique_ptr<platform::DatabaseWorker> db_;
  mutable std::shared_mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace shopctl::catalog
