#include "services/catalog/catalog_service.hpp"

#include <array>
#include <fstream>
#include <sstream>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "platform/error.hpp"
#include "platform/json_body.hpp"

namespace shopctl::catalog {

namespace asio = boost::asio;
using http::Access;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {

constexpr std::string_view kMigration1 = R"sql(
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
)sql";

Response raw_json(std::string body) {
  Response r;
  r.status = 200;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(body);
  return r;
}

// Request::query_param() for each of `names`, with one parse of the target: the decoded value
// of the first parameter of that name, or nullopt.
template <std::size_t N>
std::array<std::optional<std::string>, N> query_params(const Request& req,
                                                       const std::array<std::string_view, N>& names) {
  std::array<std::optional<std::string>, N> out;
  auto parsed = boost::urls::parse_origin_form(req.target);
  if (!parsed) return out;
  for (auto param : parsed->params()) {
    for (std::size_t i = 0; i < N; ++i) {
      if (!out[i] && param.key == names[i]) out[i] = std::string(param.has_value ? param.value : "");
    }
  }
  return out;
}

std::vector<std::string> split_ids(std::string_view s) {
  std::vector<std::string> ids;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) ids.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return ids;
}

}  // namespace

CatalogService::CatalogService(platform::ServiceContext& ctx, CatalogSettings settings)
    : Service(ctx, "catalog", settings.port), settings_(std::move(settings)) {
  auto readers = Access::only({"gateway", "order"});

  host_.routes().add("GET", "/products", readers, [this](Request& req) -> asio::awaitable<Response> {
    auto snap = snapshot();
    auto [ids_param, category, q, page, page_size] = query_params<5>(
        req, {std::string_view("ids"), "category", "q", "page", "page_size"});
    if (ids_param) {
      // A batch read by id (the order service's checkout): ids not found are left out.
      auto ids = split_ids(*ids_param);
      if (ids.empty() || ids.size() > 100) {
        throw ApiError(400, "invalid_query", "ids takes 1 to 100 comma-separated product ids",
                       {{"parameter", "ids"}});
      }
      std::string body = R"({"items":[)";
      int found = 0;
      for (const auto& id : ids) {
        auto it = snap->data->product_index.find(id);
        if (it == snap->data->product_index.end()) continue;
        if (found++) body += ',';
        body += snap->product_json[it->second];
      }
      body += "],\"page\":1,\"page_size\":" + std::to_string(ids.size()) +
              ",\"total\":" + std::to_string(found) + "}";
      co_return raw_json(std::move(body));
    }
    auto opt = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
      if (!s) return std::nullopt;
      return std::string_view(*s);
    };
    auto query = parse_product_query(opt(category), opt(q), opt(page), opt(page_size));
    auto result = query_products(*snap->data, query);
    const Product* base = snap->data->products.data();
    std::size_t bytes = 96;  // the frame around the items
    for (const Product* item : result.items) {
      bytes += snap->product_json[static_cast<std::size_t>(item - base)].size() + 1;
    }
    std::string body;
    body.reserve(bytes);
    body += R"({"items":[)";
    for (std::size_t i = 0; i < result.items.size(); ++i) {
      if (i) body += ',';
      body += snap->product_json[static_cast<std::size_t>(result.items[i] - base)];
    }
    body += "],\"page\":";
    body += std::to_string(result.page);
    body += ",\"page_size\":";
    body += std::to_string(result.page_size);
    body += ",\"total\":";
    body += std::to_string(result.total);
    body += '}';
    co_return raw_json(std::move(body));
  });

  host_.routes().add("GET", "/products/{id}", readers,
                     [this](Request& req) -> asio::awaitable<Response> {
                       auto snap = snapshot();
                       const auto& id = req.param("id");
                       auto it = snap->data->product_index.find(id);
                       if (it == snap->data->product_index.end()) {
                         throw ApiError(404, "product_not_found",
                                        "no product with id '" + id.substr(0, 100) + "'",
                                        {{"product_id", id.substr(0, 100)}});
                       }
                       co_return raw_json(snap->product_json[it->second]);
                     });

  host_.routes().add("GET", "/categories", Access::only({"gateway"}),
                     [this](Request&) -> asio::awaitable<Response> {
                       co_return raw_json(snapshot()->categories_json);
                     });

  // The catalog operator's plane: change a price or availability (set_price, set_available).
  host_.admin_routes().add(
      "POST", "/_admin/products/{id}", Access::anyone(),
      [this](Request& req) -> asio::awaitable<Response> {
        auto body = platform::json_object_body(req);
        const auto& id = req.param("id");
        std::optional<std::int64_t> price;
        std::optional<bool> available;
        if (body.contains("price_cents")) {
          price = platform::required_integer(body, "price_cents");
          if (*price < 0) throw ApiError(400, "invalid_field", "price_cents must be >= 0", {{"field", "price_cents"}});
        }
        if (body.contains("available")) {
          if (!body["available"].is_boolean())
            throw ApiError(400, "invalid_field", "available must be true or false", {{"field", "available"}});
          available = body["available"].get<bool>();
        }
        if (!price && !available)
          throw ApiError(400, "missing_field", "give price_cents and/or available");
        bool updated = false;
        CatalogData fresh;
        co_await db_->run([&](platform::Database& db) {
          db.transaction([&] {
            if (price) db.prepare("UPDATE products SET price_cents = ?1 WHERE id = ?2").bind_all(*price, id).run();
            if (available)
              db.prepare("UPDATE products SET available = ?1 WHERE id = ?2")
                  .bind_all(static_cast<std::int64_t>(*available), id)
                  .run();
            updated = db.changes() > 0;
          });
          if (updated) fresh = read_all(db);
        });
        if (!updated) throw ApiError(404, "product_not_found", "no product with id '" + id + "'");
        auto snap = make_snapshot(std::move(fresh));
        {
          std::unique_lock lock(snapshot_mu_);
          snapshot_ = snap;
        }
        auto it = snap->data->product_index.find(id);
        co_return raw_json(snap->product_json[it->second]);
      });
}

CatalogService::~CatalogService() { stop(); }

std::filesystem::path CatalogService::database_file() const { return ctx_.data_dir / "catalog.db"; }

std::shared_ptr<const CatalogService::Snapshot> CatalogService::make_snapshot(CatalogData data) {
  index_catalog(data);
  auto snap = std::make_shared<Snapshot>();
  for (const auto& p : data.products) snap->product_json.push_back(to_json(p).dump());
  snap->categories_json = category_list_json(data).dump();
  snap->data = std::make_shared<const CatalogData>(std::move(data));
  return snap;
}

std::shared_ptr<const CatalogService::Snapshot> CatalogService::snapshot() const {
  std::shared_lock lock(snapshot_mu_);
  if (!snapshot_) throw ApiError(503, "not_ready", "the catalog is not loaded");
  return snapshot_;
}

CatalogService::Offers CatalogService::offers() const {
  Offers out;
  for (const auto& p : snapshot()->data->products) out[p.id] = {p.price_cents, p.available};
  return out;
}

asio::awaitable<std::vector<std::string>> CatalogService::restore_offers(Offers baseline) {
  std::vector<std::string> changed;
  for (const auto& [id, offer] : offers()) {
    auto it = baseline.find(id);
    if (it != baseline.end() && !(it->second == offer)) changed.push_back(id);
  }
  if (changed.empty()) co_return changed;
  CatalogData fresh;
  co_await db_->run([&](platform::Database& db) {
    db.transaction([&] {
      for (const auto& id : changed) {
        const auto& offer = baseline.at(id);
        db.prepare("UPDATE products SET price_cents = ?1, available = ?2 WHERE id = ?3")
            .bind_all(offer.price_cents, static_cast<std::int64_t>(offer.available), id)
            .run();
      }
    });
    fresh = read_all(db);
  });
  auto snap = make_snapshot(std::move(fresh));
  {
    std::unique_lock lock(snapshot_mu_);
    snapshot_ = std::move(snap);
  }
  co_return changed;
}

CatalogData CatalogService::read_all(platform::Database& db) {
  CatalogData data;
  auto cats = db.prepare("SELECT id, name FROM categories ORDER BY position");
  while (cats.step()) data.categories.push_back({cats.column_text(0), cats.column_text(1)});
  auto prods = db.prepare(
      "SELECT id, sku, name, description, category, price_cents, currency, available FROM products");
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

void CatalogService::open_storage() {
  if (!db_) {
    db_ = std::make_unique<platform::DatabaseWorker>(database_file(), ctx_.synchronous_for("catalog"));
  } else {
    db_->reopen();
  }
  CatalogData data;
  db_->run_sync([&](platform::Database& db) {
    db.migrate({kMigration1});
    std::int64_t count = 0;
    {
      auto st = db.prepare("SELECT COUNT(*) FROM products");
      if (st.step()) count = st.column_int(0);
    }
    if (count == 0) {
      // First start: seed from the configured catalog file or the embedded demo catalog.
      CatalogData seed;
      if (settings_.catalog_file) {
        std::ifstream in(*settings_.catalog_file);
        if (!in) throw std::runtime_error("cannot read catalog file " + settings_.catalog_file->string());
        std::stringstream text;
        text << in.rdbuf();
        seed = parse_catalog_yaml(text.str(), settings_.catalog_file->string());
      } else {
        seed = *load_demo_catalog();
      }
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
    data = read_all(db);
  });
  auto snap = make_snapshot(std::move(data));
  std::unique_lock lock(snapshot_mu_);
  snapshot_ = std::move(snap);
}

void CatalogService::close_storage() {
  if (db_) db_->close();
}

}  // namespace shopctl::catalog
