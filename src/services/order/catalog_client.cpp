#include "services/order/catalog_client.hpp"
#include "platform/json_text.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace shopctl::order {

namespace asio = boost::asio;

std::optional<ProductSnapshot> parse_product(const nlohmann::json& json) {
  if (!json.is_object()) return std::nullopt;
  auto text = [&](const char* field) -> const std::string* {
    auto it = json.find(field);
    return it != json.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  const auto* id = text("id");
  const auto* name = text("name");
  const auto* currency = text("currency");
  auto price = json.find("price_cents");
  auto available = json.find("available");
  if (!id || !name || !currency || price == json.end() || !price->is_number_integer() ||
      available == json.end() || !available->is_boolean()) {
    return std::nullopt;
  }
  const std::int64_t cents = price->get<std::int64_t>();
  if (cents < 0) return std::nullopt;
  ProductSnapshot product;
  product.id = *id;
  product.name = *name;
  product.currency = *currency;
  product.price_cents = cents;
  product.available = available->get<bool>();
  if (const auto* sku = text("sku")) product.sku = *sku;
  return product;
}

CatalogClient::CatalogClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                             platform::Metrics* metrics, std::uint64_t seed)
    : edge_(ctx, "order", "catalog", std::move(settings), metrics, seed) {}

void CatalogClient::unavailable(const std::string& why) {
  throw CatalogUnavailable(why, edge_.retry_after_seconds());
}

asio::awaitable<std::optional<ProductSnapshot>> CatalogClient::product(
    const std::string& product_id, const std::string& trace_id,
    platform::ResilientCaller::Deadline deadline) {
  http::Request request;
  request.method = "GET";
  request.target = "/products/" + http::percent_encode(product_id);
  request.route = "/products/{id}";
  request.headers.set("Accept", "application/json");
  http::Response response;
  try {
    response = co_await edge_.call(std::move(request), true, trace_id, nullptr, nullptr, deadline);
  } catch (const http::TransportError& e) {
    unavailable(e.what());
  }
  if (response.status == 404) co_return std::nullopt;
  if (response.status != 200) unavailable("catalog answered " + std::to_string(response.status));
  auto body = platform::parse_json_or_discarded(response.body);
  auto product = parse_product(body);
  if (!product) unavailable("catalog answered something that is not a Product");
  co_return product;
}

asio::awaitable<std::map<std::string, ProductSnapshot>> CatalogClient::products(
    const std::vector<std::string>& product_ids, const std::string& trace_id,
    platform::ResilientCaller::Deadline deadline) {
  std::map<std::string, ProductSnapshot> found;
  if (product_ids.empty()) co_return found;
  std::string ids;
  for (const auto& id : product_ids) {
    if (!ids.empty()) ids += ',';
    ids += http::percent_encode(id);
  }
  http::Request request;
  request.method = "GET";
  request.target = "/products?ids=" + ids + "&page_size=100";
  request.route = "/products";
  request.headers.set("Accept", "application/json");
  http::Response response;
  try {
    response = co_await edge_.call(std::move(request), true, trace_id, nullptr, nullptr, deadline);
  } catch (const http::TransportError& e) {
    unavailable(e.what());
  }
  if (response.status != 200) unavailable("catalog answered " + std::to_string(response.status));
  auto body = platform::parse_json_or_discarded(response.body);
  if (!body.is_object() || !body.contains("items") || !body["items"].is_array()) {
    unavailable("catalog answered something that is not a product list");
  }
  for (const auto& item : body["items"]) {
    auto product = parse_product(item);
    if (!product) unavailable("catalog listed something that is not a Product");
    found.emplace(product->id, std::move(*product));
  }
  co_return found;
}

}  // namespace shopctl::order
