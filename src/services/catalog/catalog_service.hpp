#pragma once
// The catalog: read-only product truth. Its SQLite database is the record; reads are served
// from an immutable in-memory snapshot (with each product's JSON rendered once), swapped
// whole when an operator changes a price or availability.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>

#include "platform/service.hpp"
#include "services/catalog/catalog_model.hpp"
#include "services/catalog/catalog_store.hpp"

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

  // What an operator may change (set_price, set_available), product by product.
  struct Offer {
    std::int64_t price_cents = 0;
    bool available = true;
    bool operator==(const Offer&) const = default;
  };
  using Offers = std::map<std::string, Offer>;
  // The prices and availability served now. Throws ApiError 503 while the catalog is stopped.
  Offers offers() const;
  // Writes back the prices and availability of `baseline` where they differ (products it does
  // not name are left alone) and serves them at once. Returns the ids of the products changed.
  boost::asio::awaitable<std::vector<std::string>> restore_offers(Offers baseline);
  // A run's baseline, kept in catalog.db until the run ends (CatalogStore::keep_run_baseline).
  boost::asio::awaitable<void> keep_run_baseline(const Offers& baseline);
  boost::asio::awaitable<void> drop_run_baseline();
  // The baseline a run kept and had not dropped when the catalog opened its database (a shop
  // restarted during a run); nullopt when none.
  std::optional<Offers> kept_run_baseline() const;

 private:
  struct Snapshot {
    std::shared_ptr<const CatalogData> data;
    std::vector<std::string> product_json;  // parallel to data->products
    std::string categories_json;
  };
  static std::shared_ptr<const Snapshot> make_snapshot(CatalogData data);
  std::shared_ptr<const Snapshot> snapshot() const;
  // Serves `snap` unless the one served now was read later (two operator changes finish in
  // one order and reach here in the other: the later catalog stays).
  void install(std::shared_ptr<const Snapshot> snap);
  void open_storage() override;
  void close_storage() override;
  // The catalog a first start fills the database with (catalog_file, or the demo catalog).
  CatalogData seed_catalog() const;

  CatalogSettings settings_;
  CatalogStore store_;
  mutable std::shared_mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace shopctl::catalog
