#pragma once
// The catalog's pure model: products and categories parsed from YAML, and the read queries
// the catalog service answers (product pages, search, category counts). No HTTP, no SQLite.
//
// The service keeps one immutable snapshot (`std::shared_ptr<const CatalogData>`) and swaps in
// a new one when an operator changes a price; readers answer from memory without locks. Every
// derived lookup (id index, lowercase search text, category counts) is computed once by
// index_catalog(), so a query does no allocation beyond its result.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::catalog {

// The demo catalog's YAML text, embedded at build time from demo_catalog.yaml.
extern const std::string_view kDemoCatalogYaml;

struct Category {
  std::string id;
  std::string name;
};

struct Product {
  std::string id;
  std::string sku;
  std::string name;
  std::string description;
  std::string category;  // a Category::id
  std::int64_t price_cents = 0;
  std::string currency;
  bool available = true;
};

// Hash that lets an unordered_map<std::string, ...> be searched with a string_view.
struct TransparentStringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};

struct CatalogData {
  std::vector<Category> categories;  // in declaration order
  std::vector<Product> products;     // sorted by id once indexed

  // Derived by index_catalog(); call it again after adding, removing or renaming products.
  // Changing a price or availability in place keeps the index valid.
  std::vector<std::string> search_text;  // parallel to products: lowercase name, description, SKU
  std::unordered_map<std::string, std::size_t, TransparentStringHash, std::equal_to<>>
      product_index;                          // product id -> position in products
  std::vector<std::int64_t> category_counts;  // parallel to categories

  // CatalogStore numbers its reads of the database in the order they ran: a larger number saw
  // every write a smaller one saw, and maybe more (0: not read from a store).
  std::uint64_t read_number = 0;
};

// Sorts the products by id and (re)builds the derived lookups of `data`.
void index_catalog(CatalogData& data);

// Parses and validates a catalog. Strict: an unknown key, a missing or mistyped field, a
// duplicate id or SKU, a product in an undeclared category, a negative price, a currency that
// is not three capital letters or differs between products throws std::invalid_argument
// whose message reads "<source_name>:<line>:<column>: <what is wrong>". The result is indexed.
CatalogData parse_catalog_yaml(std::string_view yaml, std::string_view source_name);

// The embedded demo catalog, parsed once per process. Throws std::invalid_argument only if the
// build embedded a broken file (a unit test guards against that).
std::shared_ptr<const CatalogData> load_demo_catalog();

// The catalog file at `path`, read (platform::read_input_file: InputFileError when it cannot
// be) and parsed (parse_catalog_yaml: std::invalid_argument when it is no catalog). A regular
// file is parsed once while it stays the same file with the same size and modification time:
// serve checks the file before anything starts and the catalog seeds from it, validate and a
// run's scenarios name one file many times, and YAML parsing takes about 130 us a product
// (1.3 s for 10,000). At most four files are kept; a pipe or device is read every time.
std::shared_ptr<const CatalogData> read_catalog_file(const std::filesystem::path& path);

// Returns the product with this id, or nullptr.
const Product* find_product(const CatalogData& data, std::string_view product_id);

// Returns a copy of `data` in which one product has a new price (the operator's set_price).
// Throws DomainError not_found `product_not_found` or invalid `invalid_price` (negative).
CatalogData with_price(const CatalogData& data, std::string_view product_id,
                       std::int64_t price_cents);

// Returns a copy of `data` in which one product is (un)available.
// Throws DomainError not_found `product_not_found`.
CatalogData with_availability(const CatalogData& data, std::string_view product_id, bool available);

// The contract's Product: {id, sku, name, description, category, price_cents, currency,
// available}.
nlohmann::json to_json(const Product& product);

// Limits of the product list query.
inline constexpr int kMaxPageSize = 100;
// The highest price a product may have (9 billion in the currency's major unit): a full cart
// (100 lines of 99) at this price totals at most 8.91e15 cents, under 2^53: every amount the
// shop answers is an integer a JSON reader holds exactly (I-JSON, RFC 7493 2.2; JavaScript's
// numbers). At 10 billion a full cart totalled 9.9e15, which JavaScript reads rounded (an
// outside probe), and the web shop refused the answer. Above it a total overflowed 64 bits.
inline constexpr std::int64_t kMaxPriceCents = 900'000'000'000;
static_assert(kMaxPriceCents * 99 * 100 < (std::int64_t{1} << 53));
inline constexpr int kDefaultPageSize = 20;
inline constexpr std::size_t kMaxSearchLength = 200;    // characters (UTF-8 code points)
inline constexpr std::size_t kMaxCategoryLength = 100;  // characters

struct ProductQuery {
  std::optional<std::string> category;  // exact category id
  std::optional<std::string> q;         // search words, all must match
  int page = 1;
  int page_size = kDefaultPageSize;
};

// Validates the raw query-string values of GET /api/catalog/products; an absent value takes
// its default, and an empty `category` or `q` means "no filter". `page` must be a decimal
// integer >= 1 and `page_size` a decimal integer in 1..100 (no sign, no spaces, no fraction);
// `q` is at most 200 characters, `category` at most 100. Anything else throws DomainError invalid
// `invalid_query` with details {parameter}.
ProductQuery parse_product_query(std::optional<std::string_view> category,
                                 std::optional<std::string_view> q,
                                 std::optional<std::string_view> page,
                                 std::optional<std::string_view> page_size);

// One page of products. `items` point into the CatalogData that was queried; keep that
// snapshot alive while using them.
struct ProductPage {
  std::vector<const Product*> items;
  int page = 1;
  int page_size = kDefaultPageSize;
  std::int64_t total = 0;  // matching products over all pages
};

// Answers a product list query. The category filter is an exact match on the category id (an
// unknown category matches nothing). Search is case-insensitive (ASCII letters) substring
// matching over name, description and SKU; with several whitespace-separated words, every
// word must match. Results are ordered by product id; unavailable products are listed too
// (with `available: false`). A page past the end is empty, not an error.
ProductPage query_products(const CatalogData& data, const ProductQuery& query);

// {items: [Product], page, page_size, total}
nlohmann::json to_json(const ProductPage& page);

struct CategorySummary {
  std::string id;
  std::string name;
  std::int64_t product_count = 0;  // all products in the category, available or not
};

// Returns every category in declaration order with its product count.
std::vector<CategorySummary> list_categories(const CatalogData& data);

// {id, name, product_count}
nlohmann::json to_json(const CategorySummary& category);

// The body of GET /api/catalog/categories: {items: [{id, name, product_count}]}.
nlohmann::json category_list_json(const CatalogData& data);

}  // namespace shopctl::catalog
