#pragma once
// The order service's typed client of the catalog, in the spirit of a Feign client: one C++
// method per remote operation, over the protected edge order->catalog (retry -> circuit
// breaker -> time limit -> HTTP). Reads are retryable. The contract between the two services
// is the JSON on the wire; this file knows nothing of the catalog's code.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "platform/resilient_caller.hpp"
#include "services/order/order_model.hpp"

namespace shopctl::order {

// The catalog could not answer: no answer in time, a refused connection, a 5xx, an answer
// that is not a Product, or the breaker of order->catalog refused the call.
class CatalogUnavailable : public std::runtime_error {
 public:
  CatalogUnavailable(std::string what, int retry_after_seconds)
      : std::runtime_error(std::move(what)), retry_after_seconds_(retry_after_seconds) {}
  // When it makes sense to try again: the later of the rest of the breaker's OPEN wait and the
  // catalog's own Retry-After (ResilientCaller::retry_after_seconds), else 1 s.
  int retry_after_seconds() const { return retry_after_seconds_; }

 private:
  int retry_after_seconds_;
};

class CatalogClient {
 public:
  CatalogClient(platform::ServiceContext& ctx, platform::EdgeSettings settings,
                platform::Metrics* metrics, std::uint64_t seed);

  // GET /products/{id}. Returns the product, or nullopt when the catalog answers 404.
  // Throws CatalogUnavailable.
  // `deadline`: when the answer is due (ResilientCaller::call).
  boost::asio::awaitable<std::optional<ProductSnapshot>> product(
      const std::string& product_id, const std::string& trace_id,
      platform::ResilientCaller::Deadline deadline = std::nullopt);

  // GET /products?ids=a,b,c&page_size=100, one call for at most 100 ids. Returns the products
  // the catalog knows, by id (unknown ids are absent). Throws CatalogUnavailable.
  boost::asio::awaitable<std::map<std::string, ProductSnapshot>> products(
      const std::vector<std::string>& product_ids, const std::string& trace_id,
      platform::ResilientCaller::Deadline deadline = std::nullopt);

  platform::ResilientCaller& edge() { return edge_; }

 private:
  [[noreturn]] void unavailable(const std::string& why);

  platform::ResilientCaller edge_;
};

// Reads a catalog Product from JSON; nullopt when a field is missing or has the wrong type.
std::optional<ProductSnapshot> parse_product(const nlohmann::json& json);

// Percent-encodes `text` for a URL path segment or query value (RFC 3986 unreserved kept).
std::string url_encode(std::string_view text);

}  // namespace shopctl::order
