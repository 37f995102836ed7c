#pragma once
// The catalog's database (catalog.db): categories and products. SQL only; every call runs on
// the store's own database thread. Reads hand back the whole catalog (it is small), which
// the service serves from an in-memory snapshot. Throws DomainError for what the data
// refuses, DatabaseError for the rest.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "platform/store/database.hpp"
#include "platform/store/store_database.hpp"
#include "services/catalog/catalog_model.hpp"

namespace shopctl::catalog {

// A product's price and availability, as an operator sets them.
struct ProductOffer {
  std::string product_id;
  std::int64_t price_cents = 0;
  bool available = true;
};

class CatalogStore {
 public:
  // `synchronous`: what a commit promises (see platform::Synchronous).
  explicit CatalogStore(std::filesystem::path file,
                        platform::Synchronous synchronous = platform::Synchronous::normal);
  ~CatalogStore();

  // Opens (or reopens) the database and applies its migrations. A database without products
  // (the first start) is filled from `seed()`, in one transaction. Returns the catalog.
  CatalogData open(const std::function<CatalogData()>& seed);
  void close();
  const std::filesystem::path& file() const { return db_.file(); }

  // Sets the price and/or the availability of the product `product_id` (at least one given),
  // in one transaction. Returns the catalog after it. Throws DomainError not_found
  // `product_not_found`.
  boost::asio::awaitable<CatalogData> update_product(std::string product_id,
                                                     std::optional<std::int64_t> price_cents,
                                                     std::optional<bool> available);
  // Writes each offer's price and availability, in one transaction. Returns the catalog after
  // it.
  boost::asio::awaitable<CatalogData> write_offers(std::vector<ProductOffer> offers);

  // The baseline of a run against the shop that has not ended (docs/scenarios.md, "The
  // baseline"), kept in the database so that a restarted shop still restores it: the run's
  // last reset restored the prices the restarted shop started with, the run's own changes
  // (an outside probe left a product at 1 cent). Replaced whole; dropped at the run's end.
  boost::asio::awaitable<void> keep_run_baseline(std::vector<ProductOffer> offers);
  boost::asio::awaitable<void> drop_run_baseline();
  // The one open() found; nullopt when none was kept.
  const std::optional<std::vector<ProductOffer>>& run_baseline_at_open() const {
    return run_baseline_;
  }

 private:
  // read_all() and numbers the result (CatalogData::read_number); only inside a job of db_.
  CatalogData read_numbered(platform::Database& db);

  platform::StoreDatabase db_;
  std::uint64_t reads_ = 0;  // touched only by db_'s jobs, which run one at a time
  std::optional<std::vector<ProductOffer>> run_baseline_;  // written by open() only
};

}  // namespace shopctl::catalog
