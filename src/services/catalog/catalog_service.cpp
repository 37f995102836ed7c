#include "services/catalog/catalog_service.hpp"

#include <algorithm>
#include <array>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "platform/error.hpp"
#include "platform/input_file.hpp"
#include "platform/json_body.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::catalog {

namespace asio = boost::asio;
using http::Access;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {

Response raw_json(std::string body) {
  Response r;
  r.status = 200;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(body);
  return r;
}

// Request::query_param() for each of `names`, with one parse of the target: the decoded value
// of the parameter of that name, or nullopt. A parameter given twice is 400 invalid_query: the
// first value was taken and the second dropped, while a proxy or a cache in front may take the
// last (HTTP parameter pollution); an outside probe's `q=zzzz&q=coffee` found nothing.
template <std::size_t N>
std::array<std::optional<std::string>, N> query_params(
    const Request& req, const std::array<std::string_view, N>& names) {
  std::array<std::optional<std::string>, N> out;
  auto parsed = boost::urls::parse_origin_form(req.target);
  // Not valid percent-encoding (a "%zz" anywhere): a 400, not every parameter quietly at its
  // default.
  if (!parsed) {
    throw ApiError(400, "invalid_query", "the query string is not valid percent-encoding",
                   {{"parameter", "query"}});
  }
  for (auto param : parsed->params()) {
    for (std::size_t i = 0; i < N; ++i) {
      if (param.key != names[i]) continue;
      if (out[i]) {
        throw ApiError(400, "invalid_query",
                       std::string(names[i]) + " is given more than once; give it once",
                       {{"parameter", std::string(names[i])}});
      }
      out[i] = std::string(param.has_value ? param.value : "");
      // A value that is no UTF-8 text once decoded ("%FF") names nothing: 400, as the same
      // bytes in a path segment or a JSON body are (it searched for them and found nothing).
      if (platform::first_invalid_utf8(*out[i])) {
        throw ApiError(400, "invalid_query",
                       std::string(names[i]) + " is not UTF-8 text once percent-decoded",
                       {{"parameter", std::string(names[i])}});
      }
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
    : Service(ctx, "catalog", settings.port),
      settings_(std::move(settings)),
      store_(ctx.data_dir / "catalog.db", ctx.synchronous_for("catalog")) {
  auto readers = Access::only({"gateway", "order"});

  host_.routes().add(
      "GET", "/products", readers, [this](Request& req) -> asio::awaitable<Response> {
        auto snap = snapshot();
        auto [ids_param, category, q, page, page_size] =
            query_params<5>(req, {std::string_view("ids"), "category", "q", "page", "page_size"});
        if (ids_param) {
          // A batch read by id (the order service's checkout): ids not found are left out.
          auto ids = split_ids(*ids_param);
          if (ids.empty() || ids.size() > 100) {
            throw ApiError(400, "invalid_query", "ids takes 1 to 100 comma-separated product ids",
                           {{"parameter", "ids"}});
          }
          // Each product once, in the order first asked: `ids=p-001,p-001` held it twice (an
          // outside probe), while the page holds "those of the products that exist".
          std::string body = R"({"items":[)";
          int found = 0;
          std::size_t asked = 0;
          for (std::size_t i = 0; i < ids.size(); ++i) {
            if (std::find(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i), ids[i]) !=
                ids.begin() + static_cast<std::ptrdiff_t>(i)) {
              continue;
            }
            ++asked;
            auto it = snap->data->product_index.find(ids[i]);
            if (it == snap->data->product_index.end()) continue;
            if (found++) body += ',';
            body += snap->product_json[it->second];
          }
          body += "],\"page\":1,\"page_size\":" + std::to_string(asked) +
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
        std::string body = http::body_buffer(bytes);
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

  host_.routes().add(
      "GET", "/products/{id}", readers, [this](Request& req) -> asio::awaitable<Response> {
        auto snap = snapshot();
        const auto& id = req.param("id");
        auto it = snap->data->product_index.find(id);
        if (it == snap->data->product_index.end()) {
          throw ApiError(404, "product_not_found", "no product with id '" + id.substr(0, 100) + "'",
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
        platform::refuse_unknown_keys(body, {"price_cents", "available"},
                                      "{\"price_cents\": N, \"available\": true|false}");
        const auto& id = req.param("id");
        std::optional<std::int64_t> price;
        std::optional<bool> available;
        if (body.contains("price_cents")) {
          price = platform::required_integer(body, "price_cents", 0, catalog::kMaxPriceCents);
        }
        if (body.contains("available")) {
          if (!body["available"].is_boolean())
            throw ApiError(400, "invalid_field", "available must be true or false",
                           {{"field", "available"}});
          available = body["available"].get<bool>();
        }
        if (!price && !available)
          throw ApiError(400, "missing_field", "give price_cents and/or available");
        auto snap = make_snapshot(co_await store_.update_product(id, price, available));
        install(snap);
        auto it = snap->data->product_index.find(id);
        co_return raw_json(snap->product_json[it->second]);
      });
}

CatalogService::~CatalogService() {
  stop();
}

std::filesystem::path CatalogService::database_file() const {
  return store_.file();
}

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
  std::vector<ProductOffer> writes;
  writes.reserve(changed.size());
  for (const auto& id : changed) {
    const auto& offer = baseline.at(id);
    writes.push_back({id, offer.price_cents, offer.available});
  }
  install(make_snapshot(co_await store_.write_offers(std::move(writes))));
  co_return changed;
}

asio::awaitable<void> CatalogService::keep_run_baseline(const Offers& baseline) {
  std::vector<ProductOffer> offers;
  offers.reserve(baseline.size());
  for (const auto& [id, offer] : baseline)
    offers.push_back({id, offer.price_cents, offer.available});
  co_await store_.keep_run_baseline(std::move(offers));
}

asio::awaitable<void> CatalogService::drop_run_baseline() {
  co_await store_.drop_run_baseline();
}

std::optional<CatalogService::Offers> CatalogService::kept_run_baseline() const {
  const auto& kept = store_.run_baseline_at_open();
  if (!kept) return std::nullopt;
  Offers offers;
  for (const auto& offer : *kept) offers[offer.product_id] = {offer.price_cents, offer.available};
  return offers;
}

CatalogData CatalogService::seed_catalog() const {
  // First start: the configured catalog file, or the embedded demo catalog.
  if (!settings_.catalog_file) return *load_demo_catalog();
  try {
    return *read_catalog_file(*settings_.catalog_file);
  } catch (const platform::InputFileError& e) {
    throw std::runtime_error("cannot read catalog file " + settings_.catalog_file->string() + ": " +
                             e.what());
  }
}

void CatalogService::open_storage() {
  bool seeded = false;
  auto snap = make_snapshot(store_.open([this, &seeded] {
    seeded = true;
    return seed_catalog();
  }));
  // The catalog file seeds a new catalog.db only: said when it is given and not read (it was
  // ignored without a word, even when missing or broken; an outside probe).
  if (settings_.catalog_file && !seeded) {
    ctx_.log.info("catalog file " + settings_.catalog_file->string() +
                      " not read: catalog.db already holds the catalog (the file seeds a new "
                      "data folder; change prices and availability on the admin plane)",
                  {{"service", "catalog"}});
  }
  // A database written by an earlier release may hold prices above today's limit (it was
  // 10^12 cents): served as they are, said once at start. A checkout whose total passes 2^53
  // cents is refused by order (amount_too_large; an outside probe upgraded such a folder).
  std::vector<std::string> over;
  for (const auto& p : snap->data->products) {
    if (p.price_cents > kMaxPriceCents) over.push_back(p.id);
  }
  if (!over.empty()) {
    ctx_.log.warn(
        std::to_string(over.size()) + " product(s) priced above " + std::to_string(kMaxPriceCents) +
            " cents, the limit since this release: a cart of them that totals 2^53 "
            "cents or more cannot check out; set their prices again (POST "
            "/_admin/products/{id})",
        {{"service", "catalog"},
         {"products", std::vector<std::string>(
                          over.begin(), over.begin() + std::min<std::size_t>(over.size(), 10))}});
  }
  install(std::move(snap));
}

void CatalogService::install(std::shared_ptr<const Snapshot> snap) {
  std::unique_lock lock(snapshot_mu_);
  if (snapshot_ && snapshot_->data->read_number > snap->data->read_number) return;
  snapshot_ = std::move(snap);
}

void CatalogService::close_storage() {
  store_.close();
}

}  // namespace shopctl::catalog
