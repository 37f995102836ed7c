#include "services/catalog/catalog_store.hpp"

#include <stdexcept>
#include <string_view>
#include <utility>

#include "platform/domain_error.hpp"

namespace shopctl::catalog {

namespace asio = boost::asio;
using platform::Database;
using platform::DomainError;
using platform::ErrorKind;

namespace {

const std::vector<std::string_view> kMigrations = {R"sql(
CREATE TABLE categories (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  position INTEGER NOT NULL
);
CREATE TABLE products (
  id TEXT PRIMARY KEY,
  sku TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  category TEXT NOT NULL REFERENCES categories(id),
  price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
  currency TEXT NOT NULL,
  available INTEGER NOT NULL
);
)sql"};

// The baseline of a run against this shop (shopctl run --target) that has not ended, kept across
// a restart of the shop. Made where it is missing, outside the migrations: a migration would
// raise the schema's version, and the release before this one would refuse the folder ("schema
// version 2 is newer than this shopctl knows"), which docs/configuration.md says moves between
// the two both ways (an outside probe); that release never reads this table.
constexpr std::string_view kRunBaselineTable = R"sql(
CREATE TABLE IF NOT EXISTS run_baseline (
  product_id TEXT PRIMARY KEY,
  price_cents INTEGER NOT NULL,
  available INTEGER NOT NULL
);
)sql";

CatalogData read_all(Database& db) {
  CatalogData data;
  auto cats = db.prepare("SELECT id, name FROM categories ORDER BY position");
  while (cats.step()) data.categories.push_back({cats.column_text(0), cats.column_text(1)});
  auto prods = db.prepare(
      "SELECT id, sku, name, description, category, price_cents, currency, available FROM "
      "products");
  while (prods.step()) {
    Product p;
    p.id = prods.column_text(0);
    p.sku = prods.column_text(1);
    p.name = prods.column_text(2);
    p.description = prods.column_text(3);
    p.category = prods.column_text(4);
    p.price_cents = prods.column_int(5);
    p.currency = prods.column_text(6);
    p.available = prods.column_int(7) != 0;
    data.products.push_back(std::move(p));
  }
  return data;
}

// Whether the database was seeded: a category counts as much as a product (a catalog file of
// categories and `products: []` seeded them, and the next start seeded them again and failed
// on their primary key, an outside probe).
bool holds_catalog(Database& db) {
  auto st =
      db.prepare("SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM categories)");
  return st.step() && st.column_int(0) > 0;
}

void insert_catalog(Database& db, const CatalogData& seed) {
  db.transaction([&] {
    std::int64_t position = 0;
    for (const auto& c : seed.categories) {
      db.prepare("INSERT INTO categories (id, name, position) VALUES (?1, ?2, ?3)")
          .bind_all(c.id, c.name, position++)
          .run();
    }
    for (const auto& p : seed.products) {
      db.prepare(
            "INSERT INTO products (id, sku, name, description, category, price_cents, "
            "currency, available) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
          .bind_all(p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.currency,
                    static_cast<std::int64_t>(p.available))
          .run();
    }
  });
}

}  // namespace

CatalogStore::CatalogStore(std::filesystem::path file, platform::Synchronous synchronous)
    : db_(std::move(file), synchronous) {}

CatalogStore::~CatalogStore() = default;

CatalogData CatalogStore::open(const std::function<CatalogData()>& seed) {
  CatalogData data;
  db_.open().run_sync([&](Database& db) {
    db.migrate(kMigrations);
    db.exec(kRunBaselineTable);
    if (!holds_catalog(db)) insert_catalog(db, seed());
    data = read_numbered(db);
    run_baseline_.reset();
    auto kept = db.prepare("SELECT product_id, price_cents, available FROM run_baseline");
    while (kept.step()) {
      if (!run_baseline_) run_baseline_.emplace();
      run_baseline_->push_back({kept.column_text(0), kept.column_int(1), kept.column_int(2) != 0});
    }
  });
  return data;
}

asio::awaitable<void> CatalogStore::keep_run_baseline(std::vector<ProductOffer> offers) {
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      db.prepare("DELETE FROM run_baseline").run();
      for (const auto& offer : offers) {
        db.prepare(
              "INSERT INTO run_baseline (product_id, price_cents, available) VALUES (?1, ?2, ?3)")
            .bind_all(offer.product_id, offer.price_cents,
                      static_cast<std::int64_t>(offer.available))
            .run();
      }
    });
  });
}

asio::awaitable<void> CatalogStore::drop_run_baseline() {
  co_await db_.worker().run([](Database& db) { db.prepare("DELETE FROM run_baseline").run(); });
}

CatalogData CatalogStore::read_numbered(Database& db) {
  CatalogData data = read_all(db);
  data.read_number = ++reads_;
  return data;
}

void CatalogStore::close() {
  db_.close();
}

asio::awaitable<CatalogData> CatalogStore::update_product(std::string product_id,
                                                          std::optional<std::int64_t> price_cents,
                                                          std::optional<bool> available) {
  bool updated = false;
  CatalogData fresh;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      if (price_cents) {
        db.prepare("UPDATE products SET price_cents = ?1 WHERE id = ?2")
            .bind_all(*price_cents, product_id)
            .run();
      }
      if (available) {
        db.prepare("UPDATE products SET available = ?1 WHERE id = ?2")
            .bind_all(static_cast<std::int64_t>(*available), product_id)
            .run();
      }
      updated = db.changes() > 0;
    });
    if (updated) fresh = read_numbered(db);
  });
  if (!updated) {
    throw DomainError(ErrorKind::not_found, "product_not_found",
                      "no product with id '" + product_id + "'");
  }
  co_return fresh;
}

asio::awaitable<CatalogData> CatalogStore::write_offers(std::vector<ProductOffer> offers) {
  CatalogData fresh;
  co_await db_.worker().run([&](Database& db) {
    db.transaction([&] {
      for (const auto& offer : offers) {
        db.prepare("UPDATE products SET price_cents = ?1, available = ?2 WHERE id = ?3")
            .bind_all(offer.price_cents, static_cast<std::int64_t>(offer.available),
                      offer.product_id)
            .run();
      }
    });
    fresh = read_numbered(db);
  });
  co_return fresh;
}

}  // namespace shopctl::catalog
