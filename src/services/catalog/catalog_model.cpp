#include "services/catalog/catalog_model.hpp"

#include <locale.h>
#include <sys/stat.h>
#include <wctype.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "platform/domain_error.hpp"
#include "platform/input_file.hpp"
#include "platform/text_rules.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"

namespace shopctl::catalog {
namespace {

using platform::DomainError;
using platform::ErrorKind;

constexpr std::size_t kMaxIdLength = 64;
constexpr std::size_t kMaxNameLength = 200;
constexpr std::size_t kMaxDescriptionLength = 2000;

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower_ascii(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), ascii_lower);
  return lower;
}

// glibc's C.UTF-8 locale (built in since 2.35), for its Unicode lower-case table; null when the
// C library has none, and then only ASCII letters are lowered.
locale_t utf8_ctype() {
  static const locale_t locale = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  return locale;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// `text` with every letter in lower case, by Unicode's simple mappings (É -> é, Ä -> ä, Σ -> σ,
// Ж -> ж): the search's "case-insensitive" held for ASCII letters only, so "CRÈME" did not
// find "Crème" (an outside probe). A byte that is not well-formed UTF-8 is kept as it is. Not
// full case folding: "STRASSE" does not find "Straße" (docs/api.md says so).
std::string to_lower(std::string_view text) {
  const locale_t locale = utf8_ctype();
  std::string lower;
  lower.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80 || !locale) {
      lower += ascii_lower(text[i]);
      ++i;
      continue;
    }
    const std::size_t length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    const auto bad = platform::first_invalid_utf8(text.substr(i, length));
    if (length == 1 || i + length > text.size() || bad) {
      lower += text[i];
      ++i;
      continue;
    }
    char32_t c = length == 2 ? (b & 0x1F) : length == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < length; ++k)
      c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    auto mapped = static_cast<char32_t>(::towlower_l(static_cast<wint_t>(c), locale));
    // Greek's final sigma is a sigma: Σ lowers to σ, and "ΚΑΦΈΣ" did not find "καφές" (an
    // outside probe); Unicode's case folding maps ς to σ too.
    if (mapped == 0x03C2) mapped = 0x03C3;
    append_utf8(lower, mapped);
    i += length;
  }
  return lower;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Splits on ASCII whitespace and lowercases each word (to_lower).
std::vector<std::string> search_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) words.push_back(to_lower(text.substr(start, i - start)));
  }
  return words;
}

std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

std::string build_search_text(const Product& product) {
  // Newlines keep a search word from matching across two fields.
  return to_lower(product.name + '\n' + product.description + '\n' + product.sku);
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Reads one catalog document and reports every problem with its position in the source.
class CatalogParser {
 public:
  explicit CatalogParser(std::string_view source_name) : source_(source_name) {}

  CatalogData parse(std::string_view yaml) {
    YAML::Node root;
    try {
      root = platform::load_yaml_document(yaml);
    } catch (const YAML::Exception& error) {
      fail(error.mark, "invalid YAML: " + error.msg);
    }
    if (!root.IsMap()) {
      fail(root.IsDefined() && !root.IsNull() ? root.Mark() : YAML::Mark(),
           "a catalog must be a mapping with 'categories' and 'products'");
    }
    check_keys(root, {"categories", "products"}, "catalog");
    CatalogData data;
    parse_categories(require(root, "categories", "catalog"), data);
    parse_products(require(root, "products", "catalog"), data);
    index_catalog(data);
    return data;
  }

 private:
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
    // yaml-cpp counts from 0; editors count from 1.
    const int line = mark.is_null() ? 1 : mark.line + 1;
    const int column = mark.is_null() ? 1 : mark.column + 1;
    throw std::invalid_argument(std::string(source_) + ':' + std::to_string(line) + ':' +
                                std::to_string(column) + ": " + message);
  }

  // Refuses unknown and repeated keys.
  void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                  const std::string& what) const {
    std::set<std::string, std::less<>> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key.Mark(), what + ": keys must be plain names");
      const std::string name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string expected;
        for (std::string_view candidate : allowed) {
          if (!expected.empty()) expected += ", ";
          expected += candidate;
        }
        // Quoted as a terminal shows it: a raw invalid byte or escape sequence of the file
        // went into the message as it was (an outside probe).
        fail(key.Mark(), what + ": unknown key '" + platform::terminal_text(name, true) +
                             "' (expected " + expected + ")");
      }
      if (!seen.insert(name).second)
        fail(key.Mark(), what + ": duplicate key '" + platform::terminal_text(name, true) + "'");
    }
  }

  YAML::Node require(const YAML::Node& map, const char* key, const std::string& what) const {
    YAML::Node value = map[key];
    if (!value.IsDefined()) fail(map.Mark(), what + ": missing field '" + key + "'");
    return value;
  }

  std::string string_field(const YAML::Node& map, const char* key, const std::string& what,
                           std::size_t max_length, bool allow_empty = false) const {
    const YAML::Node value = require(map, key, what);
    if (!value.IsScalar()) fail(value.Mark(), what + ": '" + key + "' must be a string");
    std::string text = value.Scalar();
    // Refused here, where the file and line are known: a Latin-1 name was read, and the
    // catalog failed at its first answer with the JSON library's words, naming neither (and
    // validate passed the file; an outside probe).
    if (const auto bad = platform::first_invalid_utf8(text)) {
      fail(value.Mark(), what + ": '" + key + "' is not valid UTF-8 (byte " +
                             std::to_string(*bad + 1) + " of the text; save the file as UTF-8)");
    }
    // A control character (NUL, an escape, a C1 control), a bidirectional control or mark
    // (U+202E turns "Mug\u202Eevil" into what reads as "Muglive") or an invisible character
    // (a zero-width space, a word joiner, a byte order mark, a tag character: two names that
    // read the same differ) in text that shoppers and operators read: a NUL was listed, and
    // went out as \u0000 in every answer (an outside probe). A tab and a line break stay (a
    // description may have lines), and so do the joiners (U+200C, U+200D) and variation
    // selectors that scripts and emoji need.
    if (const auto cp = platform::find_code_point(text, [](std::uint32_t c) {
          return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7F && c <= 0x9F) || c == 0x61C ||
                 c == 0x200B || c == 0x200E || c == 0x200F || (c >= 0x2028 && c <= 0x202E) ||
                 (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF ||
                 (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE007F);
        })) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(*cp));
      fail(value.Mark(), what + ": '" + key + "' holds the invisible or control character " + code +
                             " (shoppers would not see it, or would read the text reordered)");
    }
    if (text.empty() && !allow_empty) {
      fail(value.Mark(), what + ": '" + key + "' must not be empty");
    }
    if (utf8_length(text) > max_length) {
      fail(value.Mark(),
           what + ": '" + key + "' is longer than " + std::to_string(max_length) + " characters");
    }
    return text;
  }

  std::string id_field(const YAML::Node& map, const char* key, const std::string& what) const {
    std::string id = string_field(map, key, what, kMaxIdLength);
    if (!std::all_of(id.begin(), id.end(), is_id_char)) {
      fail(map[key].Mark(),
           what + ": '" + key + "' may hold only letters, digits, '-', '_' and '.'");
    }
    // A path segment of "." or ".." is no segment a URL can hold (RFC 3986 5.2.4; the router
    // refuses them): such a product was listed and could be neither opened nor bought.
    if (id == "." || id == "..") {
      fail(map[key].Mark(),
           what + ": '" + key + "' may not be '" + id + "' (a URL path cannot name it)");
    }
    return id;
  }

  std::int64_t integer_field(const YAML::Node& map, const char* key,
                             const std::string& what) const {
    const YAML::Node value = require(map, key, what);
    // A quoted scalar ("1299") is a string in YAML, so it is refused like any other string.
    // Digits are read in base 10 as the config and the scenarios read them: yaml-cpp's own
    // conversion read `0750` as octal (488 cents) and `0x10` as 16, without a word (an outside
    // probe); a hexadecimal or octal spelling is now no integer at all.
    const nlohmann::json number =
        value.IsScalar() && value.Tag() != "!" ? platform::yaml_to_json(value) : nlohmann::json();
    if (!number.is_number_integer()) {
      fail(value.Mark(), what + ": '" + key + "' must be an integer (in base 10)");
    }
    return number.get<std::int64_t>();
  }

  bool bool_field(const YAML::Node& map, const char* key, const std::string& what) const {
    const YAML::Node value = require(map, key, what);
    if (value.IsScalar() && value.Tag() != "!") {
      const std::string text = to_lower_ascii(value.Scalar());
      if (text == "true") return true;
      if (text == "false") return false;
    }
    fail(value.Mark(), what + ": '" + key + "' must be true or false");
  }

  void parse_categories(const YAML::Node& list, CatalogData& data) const {
    if (!list.IsSequence()) fail(list.Mark(), "catalog: 'categories' must be a list");
    std::set<std::string, std::less<>> ids;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      std::string what = "categories[" + std::to_string(i) + "]";
      if (!item.IsMap()) fail(item.Mark(), what + ": must be a mapping with id and name");
      check_keys(item, {"id", "name"}, what);
      Category category;
      category.id = id_field(item, "id", what);
      what = "category '" + category.id + "'";
      category.name = string_field(item, "name", what, kMaxNameLength);
      if (!ids.insert(category.id).second) {
        fail(item["id"].Mark(), "duplicate category id '" + category.id + "'");
      }
      data.categories.push_back(std::move(category));
    }
  }

  void parse_products(const YAML::Node& list, CatalogData& data) const {
    if (!list.IsSequence()) fail(list.Mark(), "catalog: 'products' must be a list");
    std::set<std::string, std::less<>> category_ids;
    for (const Category& category : data.categories) category_ids.insert(category.id);
    std::set<std::string, std::less<>> ids;
    std::set<std::string, std::less<>> skus;
    std::optional<std::string> catalog_currency;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      std::string what = "products[" + std::to_string(i) + "]";
      if (!item.IsMap()) fail(item.Mark(), what + ": must be a mapping");
      check_keys(
          item,
          {"id", "sku", "name", "description", "category", "price_cents", "currency", "available"},
          what);
      Product product;
      product.id = id_field(item, "id", what);
      what = "product '" + product.id + "'";
      if (!ids.insert(product.id).second) {
        fail(item["id"].Mark(), "duplicate product id '" + product.id + "'");
      }
      product.sku = string_field(item, "sku", what, kMaxIdLength);
      if (std::any_of(product.sku.begin(), product.sku.end(), is_space)) {
        fail(item["sku"].Mark(), what + ": 'sku' must not contain spaces");
      }
      if (!skus.insert(product.sku).second) {
        fail(item["sku"].Mark(), what + ": duplicate SKU '" + product.sku + "'");
      }
      product.name = string_field(item, "name", what, kMaxNameLength);
      product.description =
          string_field(item, "description", what, kMaxDescriptionLength, /*allow_empty=*/true);
      product.category = string_field(item, "category", what, kMaxIdLength);
      if (!category_ids.contains(product.category)) {
        fail(item["category"].Mark(),
             what + ": unknown category '" + product.category + "' (not in 'categories')");
      }
      product.price_cents = integer_field(item, "price_cents", what);
      if (product.price_cents < 0 || product.price_cents > kMaxPriceCents) {
        fail(item["price_cents"].Mark(),
             what + ": 'price_cents' must be from 0 to " + std::to_string(kMaxPriceCents));
      }
      product.currency = string_field(item, "currency", what, 3);
      const bool iso_code = product.currency.size() == 3 &&
                            std::all_of(product.currency.begin(), product.currency.end(),
                                        [](char c) { return c >= 'A' && c <= 'Z'; });
      if (!iso_code) {
        fail(item["currency"].Mark(), what + ": 'currency' must be an ISO 4217 code such as EUR");
      }
      // A cart holds one currency, so a catalog does too.
      if (!catalog_currency) catalog_currency = product.currency;
      if (product.currency != *catalog_currency) {
        fail(item["currency"].Mark(), what + ": currency " + product.currency +
                                          " differs from the catalog's " + *catalog_currency);
      }
      product.available = bool_field(item, "available", what);
      data.products.push_back(std::move(product));
    }
  }

  std::string_view source_;
};

void require_valid_query(const ProductQuery& query) {
  if (query.page < 1 || query.page_size < 1 || query.page_size > kMaxPageSize) {
    throw std::invalid_argument("query_products: page or page_size out of range");
  }
}

[[noreturn]] void invalid_query(std::string_view parameter, std::string message) {
  throw DomainError(ErrorKind::invalid, "invalid_query", std::move(message),
                    {{"parameter", std::string(parameter)}});
}

int parse_bounded_integer(std::string_view raw, std::string_view parameter, std::int64_t min,
                          std::int64_t max, std::string_view rule) {
  const bool digits_only = !raw.empty() && std::all_of(raw.begin(), raw.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
  std::int64_t value = 0;
  if (digits_only) {
    const auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
    if (error == std::errc() && end == raw.data() + raw.size() && value >= min && value <= max) {
      return static_cast<int>(value);
    }
  }
  invalid_query(parameter, std::string(parameter) + " must be " + std::string(rule));
}

}  // namespace

void index_catalog(CatalogData& data) {
  std::stable_sort(data.products.begin(), data.products.end(),
                   [](const Product& a, const Product& b) { return a.id < b.id; });
  data.search_text.clear();
  data.search_text.reserve(data.products.size());
  data.product_index.clear();
  data.product_index.reserve(data.products.size());
  data.category_counts.assign(data.categories.size(), 0);
  for (std::size_t i = 0; i < data.products.size(); ++i) {
    const Product& product = data.products[i];
    data.search_text.push_back(build_search_text(product));
    data.product_index.emplace(product.id, i);
    for (std::size_t c = 0; c < data.categories.size(); ++c) {
      if (data.categories[c].id == product.category) ++data.category_counts[c];
    }
  }
}

CatalogData parse_catalog_yaml(std::string_view yaml, std::string_view source_name) {
  return CatalogParser(source_name).parse(yaml);
}

std::shared_ptr<const CatalogData> load_demo_catalog() {
  // Every shop of a run starts from it: parsed once, not once a scenario.
  static const auto demo = std::make_shared<const CatalogData>(
      parse_catalog_yaml(kDemoCatalogYaml, "demo_catalog.yaml"));
  return demo;
}

namespace {

// What tells one version of a regular file from another without reading it.
struct FileIdentity {
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t modified_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

std::optional<FileIdentity> identity_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileIdentity{
      path.lexically_normal().string(), st.st_dev, st.st_ino, st.st_size,
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace

std::shared_ptr<const CatalogData> read_catalog_file(const std::filesystem::path& path) {
  static std::mutex mu;
  static std::deque<std::pair<FileIdentity, std::shared_ptr<const CatalogData>>> kept;
  constexpr std::size_t kKept = 4;
  const auto before = identity_of(path);
  if (before) {
    std::lock_guard lock(mu);
    for (const auto& [identity, data] : kept)
      if (identity == *before) return data;
  }
  auto data = std::make_shared<const CatalogData>(
      parse_catalog_yaml(platform::read_input_file(path), path.string()));
  // Kept only when the file did not change while it was read.
  if (before && identity_of(path) == before) {
    std::lock_guard lock(mu);
    std::erase_if(kept, [&](const auto& entry) { return entry.first.path == before->path; });
    kept.emplace_front(*before, data);
    if (kept.size() > kKept) kept.pop_back();
  }
  return data;
}

const Product* find_product(const CatalogData& data, std::string_view product_id) {
  if (data.product_index.size() == data.products.size()) {
    const auto found = data.product_index.find(product_id);
    return found == data.product_index.end() ? nullptr : &data.products[found->second];
  }
  // Not indexed (built by hand): fall back to a scan.
  const auto found = std::find_if(data.products.begin(), data.products.end(),
                                  [&](const Product& p) { return p.id == product_id; });
  return found == data.products.end() ? nullptr : &*found;
}

namespace {

Product& product_to_change(CatalogData& copy, std::string_view product_id) {
  // The copy is linear anyway, so a scan costs nothing extra.
  for (Product& product : copy.products) {
    if (product.id == product_id) return product;
  }
  throw DomainError(ErrorKind::not_found, "product_not_found",
                    "no product with id '" + std::string(product_id) + "'",
                    {{"product_id", std::string(product_id)}});
}

}  // namespace

CatalogData with_price(const CatalogData& data, std::string_view product_id,
                       std::int64_t price_cents) {
  if (price_cents < 0 || price_cents > kMaxPriceCents) {
    throw DomainError(ErrorKind::invalid, "invalid_price",
                      "price_cents must be from 0 to " + std::to_string(kMaxPriceCents),
                      {{"price_cents", price_cents}});
  }
  CatalogData copy = data;
  product_to_change(copy, product_id).price_cents = price_cents;
  return copy;
}

CatalogData with_availability(const CatalogData& data, std::string_view product_id,
                              bool available) {
  CatalogData copy = data;
  product_to_change(copy, product_id).available = available;
  return copy;
}

nlohmann::json to_json(const Product& product) {
  return {{"id", product.id},
          {"sku", product.sku},
          {"name", product.name},
          {"description", product.description},
          {"category", product.category},
          {"price_cents", product.price_cents},
          {"currency", product.currency},
          {"available", product.available}};
}

ProductQuery parse_product_query(std::optional<std::string_view> category,
                                 std::optional<std::string_view> q,
                                 std::optional<std::string_view> page,
                                 std::optional<std::string_view> page_size) {
  ProductQuery query;
  if (category && !category->empty()) {
    if (utf8_length(*category) > kMaxCategoryLength) {
      invalid_query("category", "category must be at most " + std::to_string(kMaxCategoryLength) +
                                    " characters");
    }
    query.category = std::string(*category);
  }
  if (q && !q->empty()) {
    if (utf8_length(*q) > kMaxSearchLength) {
      invalid_query("q", "q must be at most " + std::to_string(kMaxSearchLength) + " characters");
    }
    query.q = std::string(*q);
  }
  if (page) {
    static const std::string rule =
        "an integer from 1 to " + std::to_string(std::numeric_limits<int>::max());
    query.page = parse_bounded_integer(*page, "page", 1, std::numeric_limits<int>::max(), rule);
  }
  if (page_size) {
    static const std::string rule = "an integer from 1 to " + std::to_string(kMaxPageSize);
    query.page_size = parse_bounded_integer(*page_size, "page_size", 1, kMaxPageSize, rule);
  }
  return query;
}

ProductPage query_products(const CatalogData& data, const ProductQuery& query) {
  require_valid_query(query);
  const std::vector<std::string> words =
      query.q ? search_words(*query.q) : std::vector<std::string>{};
  const bool indexed = data.search_text.size() == data.products.size();

  ProductPage page;
  page.page = query.page;
  page.page_size = query.page_size;
  page.items.reserve(std::min(data.products.size(), static_cast<std::size_t>(query.page_size)));
  const std::int64_t skip = (static_cast<std::int64_t>(query.page) - 1) * query.page_size;
  std::string unindexed_text;
  for (std::size_t i = 0; i < data.products.size(); ++i) {
    const Product& product = data.products[i];
    if (query.category && product.category != *query.category) continue;
    if (!words.empty()) {
      if (!indexed) unindexed_text = build_search_text(product);
      const std::string& text = indexed ? data.search_text[i] : unindexed_text;
      const bool all_match = std::all_of(words.begin(), words.end(), [&](const std::string& word) {
        return text.find(word) != std::string::npos;
      });
      if (!all_match) continue;
    }
    if (page.total >= skip && page.items.size() < static_cast<std::size_t>(query.page_size)) {
      page.items.push_back(&product);
    }
    ++page.total;
  }
  return page;
}

nlohmann::json to_json(const ProductPage& page) {
  nlohmann::json items = nlohmann::json::array();
  for (const Product* product : page.items) items.push_back(to_json(*product));
  return {{"items", std::move(items)},
          {"page", page.page},
          {"page_size", page.page_size},
          {"total", page.total}};
}

std::vector<CategorySummary> list_categories(const CatalogData& data) {
  const bool indexed = data.category_counts.size() == data.categories.size();
  std::vector<CategorySummary> summaries;
  summaries.reserve(data.categories.size());
  for (std::size_t c = 0; c < data.categories.size(); ++c) {
    const Category& category = data.categories[c];
    std::int64_t count = 0;
    if (indexed) {
      count = data.category_counts[c];
    } else {
      count = std::count_if(data.products.begin(), data.products.end(),
                            [&](const Product& p) { return p.category == category.id; });
    }
    summaries.push_back({category.id, category.name, count});
  }
  return summaries;
}

nlohmann::json to_json(const CategorySummary& category) {
  return {{"id", category.id}, {"name", category.name}, {"product_count", category.product_count}};
}

nlohmann::json category_list_json(const CatalogData& data) {
  nlohmann::json items = nlohmann::json::array();
  for (const CategorySummary& category : list_categories(data)) items.push_back(to_json(category));
  return {{"items", std::move(items)}};
}

}  // namespace shopctl::catalog
