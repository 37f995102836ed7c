// Unit tests of src/services/catalog/catalog_model: the demo catalog, strict YAML parsing,
// product queries (pagination, category filter, search) and category counts.
#include <doctest/doctest.h>

#include <limits>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../support/domain_error.hpp"
#include "../support/temp_dir.hpp"
#include "platform/domain_error.hpp"
#include "platform/error_mapping.hpp"
#include "services/catalog/catalog_model.hpp"

namespace {

using shopctl::catalog::CatalogData;
using shopctl::catalog::ProductQuery;
using shopctl::platform::DomainError;
using shopctl::platform::http_status;
namespace catalog = shopctl::catalog;

const CatalogData& demo() {
  static const auto data = catalog::load_demo_catalog();
  return *data;
}

using shopctl::test_support::api_error_of;

std::string parse_error_of(const std::string& yaml) {
  try {
    catalog::parse_catalog_yaml(yaml, "test.yaml");
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "(parsed without error)";
}

// A product block of eight lines; its first line is "  - id: ...".
std::string product_yaml(const std::string& id, const std::string& sku,
                         const std::string& category = "books", const std::string& price = "100") {
  return "  - id: " + id + "\n" +              //
         "    sku: " + sku + "\n" +            //
         "    name: Name of " + id + "\n" +    //
         "    description: One sentence.\n" +  //
         "    category: " + category + "\n" +  //
         "    price_cents: " + price + "\n" +  //
         "    currency: EUR\n" +               //
         "    available: true\n";
}

// Lines 1-3; the first product starts on line 4, the second on line 12.
const std::string kHeader =
    "categories:\n"
    "  - {id: books, name: Books}\n"
    "products:\n";

std::vector<std::string> ids_of(const catalog::ProductPage& page) {
  std::vector<std::string> ids;
  for (const catalog::Product* product : page.items) ids.push_back(product->id);
  return ids;
}

ProductQuery search(std::string q, std::optional<std::string> category = std::nullopt) {
  ProductQuery query;
  query.q = std::move(q);
  query.category = std::move(category);
  query.page_size = 100;
  return query;
}

}  // namespace

TEST_CASE("the embedded demo catalog parses with at least 48 products in at least 6 categories") {
  const CatalogData& data = demo();
  CHECK(data.products.size() >= 48);
  CHECK(data.categories.size() >= 6);

  std::set<std::string> ids;
  std::set<std::string> skus;
  std::set<std::string> category_ids;
  for (const auto& category : data.categories) CHECK(category_ids.insert(category.id).second);
  int unavailable = 0;
  for (const auto& product : data.products) {
    CHECK(ids.insert(product.id).second);
    CHECK(skus.insert(product.sku).second);
    CHECK(category_ids.contains(product.category));
    CHECK(product.price_cents > 0);
    CHECK(product.currency == "EUR");
    CHECK_FALSE(product.description.empty());
    if (!product.available) ++unavailable;
  }
  CHECK(unavailable >= 1);
  CHECK(unavailable < 8);
}

TEST_CASE("demo product ids are stable and sorted") {
  const CatalogData& data = demo();
  CHECK(data.products.front().id == "p-001");
  CHECK(data.products[11].id == "p-012");
  CHECK(data.products[11].sku == "KIT-0012");
  CHECK(data.products[11].price_cents == 1299);
  CHECK(std::is_sorted(data.products.begin(), data.products.end(),
                       [](const auto& a, const auto& b) { return a.id < b.id; }));
  const catalog::Product* cold_brew = catalog::find_product(data, "p-008");
  REQUIRE(cold_brew != nullptr);
  CHECK_FALSE(cold_brew->available);
  CHECK(catalog::find_product(data, "p-999") == nullptr);
}

TEST_CASE("a product renders as the contract's Product shape") {
  const catalog::Product* product = catalog::find_product(demo(), "p-001");
  REQUIRE(product != nullptr);
  const nlohmann::json json = catalog::to_json(*product);
  CHECK(json.size() == 8);
  CHECK(json.at("id") == "p-001");
  CHECK(json.at("sku") == "COF-0001");
  CHECK(json.at("category") == "coffee");
  CHECK(json.at("price_cents").is_number_integer());
  CHECK(json.at("price_cents") == 1290);
  CHECK(json.at("currency") == "EUR");
  CHECK(json.at("available") == true);
  CHECK(json.at("name").is_string());
  CHECK(json.at("description").is_string());
}

TEST_CASE("a well-formed small catalog parses and is indexed") {
  const CatalogData data = catalog::parse_catalog_yaml(
      kHeader + product_yaml("b-2", "BOK-2") + product_yaml("b-1", "BOK-1"), "test.yaml");
  REQUIRE(data.products.size() == 2);
  CHECK(data.products[0].id == "b-1");
  CHECK(data.products[1].price_cents == 100);
  CHECK(data.search_text.size() == 2);
  CHECK(catalog::find_product(data, "b-2") == &data.products[1]);
}

TEST_CASE("catalog parse errors name the source, line and column") {
  SUBCASE("an unknown key") {
    const std::string message =
        parse_error_of(kHeader + product_yaml("b-1", "BOK-1") + "    colour: red\n");
    CHECK(message.starts_with("test.yaml:12:5: "));
    CHECK(message.find("unknown key 'colour'") != std::string::npos);
  }
  SUBCASE("an unknown top-level key") {
    const std::string message = parse_error_of(kHeader + "extras: 1\n");
    CHECK(message.starts_with("test.yaml:4:1: "));
  }
  SUBCASE("a missing field") {
    std::string product = product_yaml("b-1", "BOK-1");
    product.erase(product.find("    currency: EUR\n"), 18);
    const std::string message = parse_error_of(kHeader + product);
    CHECK(message.starts_with("test.yaml:4:5: "));
    CHECK(message.find("missing field 'currency'") != std::string::npos);
  }
  SUBCASE("a duplicate product id") {
    const std::string message =
        parse_error_of(kHeader + product_yaml("b-1", "BOK-1") + product_yaml("b-1", "BOK-2"));
    CHECK(message.starts_with("test.yaml:12:9: "));
    CHECK(message.find("duplicate product id 'b-1'") != std::string::npos);
  }
  SUBCASE("a duplicate SKU") {
    const std::string message =
        parse_error_of(kHeader + product_yaml("b-1", "BOK-1") + product_yaml("b-2", "BOK-1"));
    CHECK(message.starts_with("test.yaml:13:10: "));
    CHECK(message.find("duplicate SKU 'BOK-1'") != std::string::npos);
  }
  SUBCASE("an unknown category") {
    const std::string message = parse_error_of(kHeader + product_yaml("b-1", "BOK-1", "music"));
    CHECK(message.starts_with("test.yaml:8:15: "));
    CHECK(message.find("unknown category 'music'") != std::string::npos);
  }
  SUBCASE("a negative price") {
    const std::string message =
        parse_error_of(kHeader + product_yaml("b-1", "BOK-1", "books", "-5"));
    CHECK(message.starts_with("test.yaml:9:18: "));
    CHECK(message.find("'price_cents' must be from 0 to 900000000000") != std::string::npos);
  }
  SUBCASE("a price no cart could add up") {
    const std::string message =
        parse_error_of(kHeader + product_yaml("b-1", "BOK-1", "books", "9223372036854775807"));
    CHECK(message.find("'price_cents' must be from 0 to 900000000000") != std::string::npos);
  }
  SUBCASE("a fractional price") {
    CHECK(parse_error_of(kHeader + product_yaml("b-1", "BOK-1", "books", "12.5"))
              .starts_with("test.yaml:9:18: "));
  }
  SUBCASE("a price in base 10 only") {
    // yaml-cpp read 0750 as octal (488) and 0x10 as 16 (an outside probe); the config reads
    // digits in base 10, and so does the catalog now.
    for (const auto& each : std::vector<std::pair<std::string, std::int64_t>>{
             {"0750", 750}, {"017", 17}, {"0990", 990}, {"100", 100}}) {
      const std::string text = each.first;
      CAPTURE(text);
      const CatalogData data = catalog::parse_catalog_yaml(
          kHeader + product_yaml("b-1", "BOK-1", "books", text), "test.yaml");
      CHECK(data.products[0].price_cents == each.second);
    }
    for (const std::string text : {"0x10", "0o17", "1_000"}) {
      CAPTURE(text);
      CHECK(parse_error_of(kHeader + product_yaml("b-1", "BOK-1", "books", text))
                .find("'price_cents' must be an integer (in base 10)") != std::string::npos);
    }
  }
  SUBCASE("a quoted price") {
    CHECK(parse_error_of(kHeader + product_yaml("b-1", "BOK-1", "books", "\"1299\""))
              .starts_with("test.yaml:9:18: "));
  }
  SUBCASE("a duplicate key inside one product") {
    const std::string message =
        parse_error_of(kHeader + product_yaml("b-1", "BOK-1") + "    sku: BOK-9\n");
    CHECK(message.starts_with("test.yaml:12:5: "));
    CHECK(message.find("duplicate key 'sku'") != std::string::npos);
  }
  SUBCASE("a duplicate category id") {
    const std::string message = parse_error_of(
        "categories:\n  - {id: books, name: Books}\n  - {id: books, name: More}\nproducts: []\n");
    CHECK(message.starts_with("test.yaml:3:10: "));
  }
  SUBCASE("broken YAML syntax") {
    const std::string message = parse_error_of("categories: [\nproducts: {\n");
    CHECK(message.starts_with("test.yaml:"));
    CHECK(message.find("invalid YAML") != std::string::npos);
  }
  SUBCASE("a document that is not a mapping") {
    CHECK(parse_error_of("- just\n- a list\n").starts_with("test.yaml:1:1: "));
  }
  // Listed, and neither openable nor buyable: the router refuses "." and ".." segments (an
  // outside probe).
  SUBCASE("an id no URL can name") {
    for (const std::string id : {"\".\"", "\"..\""}) {
      CAPTURE(id);
      const std::string message = parse_error_of(kHeader + product_yaml(id, "BOK-1"));
      CHECK(message.starts_with("test.yaml:4:9: "));
      CHECK(message.find("a URL path cannot name it") != std::string::npos);
    }
    CHECK(parse_error_of("categories:\n  - {id: '..', name: Dots}\nproducts: []\n")
              .find("a URL path cannot name it") != std::string::npos);
    CHECK_NOTHROW(catalog::parse_catalog_yaml(kHeader + product_yaml("a.b", "BOK-1"), "t.yaml"));
  }
  // A Latin-1 name was read, and the catalog failed at its first answer in the JSON library's
  // words, naming neither file nor product (an outside probe).
  SUBCASE("text that is not UTF-8") {
    std::string product = product_yaml("b-1", "BOK-1");
    product.replace(product.find("Name of"), 7, "Caf\xe9 cr\xe8me");
    const std::string message = parse_error_of(kHeader + product);
    CHECK(message.starts_with("test.yaml:6:11: "));
    CHECK(message.find("product 'b-1': 'name' is not valid UTF-8 (byte 4 of the text") !=
          std::string::npos);
    product = product_yaml("b-1", "BOK-1");
    product.replace(product.find("Name of"), 7, "Caf\xc3\xa9 cr\xc3\xa8me");
    CHECK(catalog::parse_catalog_yaml(kHeader + product, "t.yaml").products[0].name ==
          "Caf\xc3\xa9 cr\xc3\xa8me b-1");
  }
  // A NUL was listed, and went out as \u0000 in every answer; an unknown key's raw bytes went
  // into the message as they were (an outside probe).
  SUBCASE("control and bidirectional characters in text, raw bytes in a key") {
    for (const auto& item :
         std::vector<std::pair<std::string, std::string>>{{"\"A\\0B\"", "U+0000"},
                                                          {"\"A\\eB\"", "U+001B"},
                                                          {"\"A\\x85B\"", "U+0085"},
                                                          {"\"Mug\\u202Eevil\"", "U+202E"},
                                                          {"\"A\\u2066B\"", "U+2066"},
                                                          {"\"A\\u200EB\"", "U+200E"},
                                                          {"\"A\\u061CB\"", "U+061C"},
                                                          {"\"A\\u200BB\"", "U+200B"},
                                                          {"\"A\\u2028B\"", "U+2028"},
                                                          {"\"A\\uFEFFB\"", "U+FEFF"},
                                                          {"\"A\\U000E0041B\"", "U+E0041"}}) {
      const std::string& spelled = item.first;
      const std::string& code = item.second;
      CAPTURE(spelled);
      std::string product = product_yaml("b-1", "BOK-1");
      product.replace(product.find("Name of b-1"), 11, spelled);
      const std::string message = parse_error_of(kHeader + product);
      CHECK(message.starts_with("test.yaml:6:11: "));
      CHECK(message.find("product 'b-1': 'name' holds the invisible or control character " +
                         code) != std::string::npos);
    }
    // Joiners and variation selectors stay: scripts and emoji need them.
    std::string emoji = product_yaml("b-1", "BOK-1");
    emoji.replace(emoji.find("Name of b-1"), 11, "\"Heart \\u2764\\uFE0F, \\u0915\\u094D\\u200D\"");
    CHECK_NOTHROW(catalog::parse_catalog_yaml(kHeader + emoji, "t.yaml"));
    std::string lines = product_yaml("b-1", "BOK-1");
    lines.replace(lines.find("One sentence."), 13, "\"Two\\nlines,\\ta tab.\"");
    CHECK(catalog::parse_catalog_yaml(kHeader + lines, "t.yaml").products[0].description ==
          "Two\nlines,\ta tab.");
    std::string key = product_yaml("b-1", "BOK-1");
    key.replace(key.find("    available"), 4, "    st\x1b[2Jock\xff: 1\n    ");
    const std::string message = parse_error_of(kHeader + key);
    CHECK(message.find("unknown key 'st\\x1b[2Jock\xef\xbf\xbd'") != std::string::npos);
    CHECK(message.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("product pages split the demo catalog and a page past the end is empty") {
  const CatalogData& data = demo();
  const auto total = static_cast<std::int64_t>(data.products.size());
  ProductQuery query;  // page 1, page_size 20

  const auto first = catalog::query_products(data, query);
  CHECK(first.total == total);
  CHECK(first.items.size() == 20);
  CHECK(first.items.front()->id == "p-001");
  CHECK(first.items.back()->id == "p-020");

  query.page = 2;
  const auto second = catalog::query_products(data, query);
  CHECK(second.page == 2);
  CHECK(second.items.size() == 20);
  CHECK(second.items.front()->id == "p-021");

  const int last_page = static_cast<int>((total + 19) / 20);
  query.page = last_page;
  const auto last = catalog::query_products(data, query);
  CHECK(last.items.size() == static_cast<std::size_t>(total - 20 * (last_page - 1)));
  CHECK(last.items.back()->id == data.products.back().id);

  query.page = last_page + 1;
  const auto past = catalog::query_products(data, query);
  CHECK(past.items.empty());
  CHECK(past.total == total);

  query.page = 2'000'000'000;
  CHECK(catalog::query_products(data, query).items.empty());

  query.page = 1;
  query.page_size = 100;
  CHECK(catalog::query_products(data, query).items.size() ==
        std::min<std::size_t>(100, data.products.size()));
  query.page_size = 1;
  CHECK(ids_of(catalog::query_products(data, query)) == std::vector<std::string>{"p-001"});
}

TEST_CASE("a product page renders as {items, page, page_size, total}") {
  ProductQuery query;
  query.page = 3;
  query.page_size = 5;
  const nlohmann::json json = catalog::to_json(catalog::query_products(demo(), query));
  CHECK(json.at("page") == 3);
  CHECK(json.at("page_size") == 5);
  CHECK(json.at("total") == demo().products.size());
  REQUIRE(json.at("items").size() == 5);
  CHECK(json.at("items")[0].at("id") == "p-011");
}

TEST_CASE("product query parameters take defaults and accept the bounds") {
  const ProductQuery defaults =
      catalog::parse_product_query(std::nullopt, std::nullopt, std::nullopt, std::nullopt);
  CHECK(defaults.page == 1);
  CHECK(defaults.page_size == 20);
  CHECK_FALSE(defaults.category.has_value());
  CHECK_FALSE(defaults.q.has_value());

  const ProductQuery empty_filters = catalog::parse_product_query("", "", "3", "100");
  CHECK_FALSE(empty_filters.category.has_value());
  CHECK_FALSE(empty_filters.q.has_value());
  CHECK(empty_filters.page == 3);
  CHECK(empty_filters.page_size == 100);

  CHECK(catalog::parse_product_query("books", "tea", "1", "1").page_size == 1);
  CHECK(catalog::parse_product_query(std::nullopt, std::nullopt, "007", std::nullopt).page == 7);
  CHECK(
      catalog::parse_product_query(std::nullopt, std::string(200, 'a'), std::nullopt, std::nullopt)
          .q->size() == 200);
  // 200 characters of two bytes each are still 200 characters.
  std::string accented;
  for (int i = 0; i < 200; ++i) accented += "\xc3\xa9";
  CHECK(catalog::parse_product_query(std::nullopt, accented, std::nullopt, std::nullopt).q ==
        accented);
}

TEST_CASE("bad product query parameters answer 400 invalid_query naming the parameter") {
  const auto error_for = [](std::optional<std::string_view> q, std::optional<std::string_view> page,
                            std::optional<std::string_view> page_size) {
    return api_error_of([&] { catalog::parse_product_query(std::nullopt, q, page, page_size); });
  };
  for (const char* page : {"abc", "1.5", "-1", "0", "+1", " 1", "1 ", "", "1e3", "0x10",
                           "99999999999", "2147483648"}) {
    CAPTURE(page);
    const auto error = error_for(std::nullopt, page, std::nullopt);
    REQUIRE(error.has_value());
    CHECK(http_status(*error) == 400);
    CHECK(error->code() == "invalid_query");
    CHECK(error->details().at("parameter") == "page");
  }
  for (const char* page_size : {"0", "101", "-5", "ten", "20.0", ""}) {
    CAPTURE(page_size);
    const auto error = error_for(std::nullopt, std::nullopt, page_size);
    REQUIRE(error.has_value());
    CHECK(error->code() == "invalid_query");
    CHECK(error->details().at("parameter") == "page_size");
  }
  const auto long_q = error_for(std::string(201, 'a'), std::nullopt, std::nullopt);
  REQUIRE(long_q.has_value());
  CHECK(long_q->details().at("parameter") == "q");
  const auto long_category = api_error_of([] {
    catalog::parse_product_query(std::string(101, 'c'), std::nullopt, std::nullopt, std::nullopt);
  });
  REQUIRE(long_category.has_value());
  CHECK(long_category->details().at("parameter") == "category");
}

TEST_CASE("the category filter matches the category id exactly") {
  ProductQuery query;
  query.category = "books";
  query.page_size = 100;
  const auto books = catalog::query_products(demo(), query);
  CHECK(books.total == 8);
  CHECK(books.items.size() == 8);
  for (const auto* product : books.items) CHECK(product->category == "books");
  CHECK(books.items.front()->id == "p-017");

  query.category = "Books";
  CHECK(catalog::query_products(demo(), query).total == 0);
  query.category = "no-such-category";
  const auto none = catalog::query_products(demo(), query);
  CHECK(none.total == 0);
  CHECK(none.items.empty());
}

TEST_CASE("search is case-insensitive over name, description and SKU") {
  CHECK(ids_of(catalog::query_products(demo(), search("HEADPHONES"))) ==
        std::vector<std::string>{"p-025", "p-031", "p-032"});
  CHECK(ids_of(catalog::query_products(demo(), search("kit-0012"))) ==
        std::vector<std::string>{"p-012"});
  // Only the description of p-022 mentions circuit breakers.
  CHECK(ids_of(catalog::query_products(demo(), search("Circuit"))) ==
        std::vector<std::string>{"p-022"});
  CHECK(catalog::query_products(demo(), search("zzz-nothing")).total == 0);
}

// "case-insensitive" held for ASCII letters only: "CRÈME" did not find "Crème" (an outside
// probe). Unicode's simple lower-case mappings, from the C library's C.UTF-8 tables.
TEST_CASE("search ignores the case of letters beyond ASCII") {
  std::string product = product_yaml("b-1", "BOK-1");
  product.replace(product.find("Name of b-1"), 11, "\"Crème BRÛLÉE Äpfel Σοφία καφές\"");
  const CatalogData data = catalog::parse_catalog_yaml(kHeader + product, "test.yaml");
  for (const std::string q : {"crème", "CRÈME", "brûlée", "BRÛLÉE", "äpfel", "ÄPFEL", "σοφία",
                              "ΣΟΦΊΑ", "καφές", "ΚΑΦΈΣ", "καφέσ"}) {
    CAPTURE(q);
    CHECK(catalog::query_products(data, search(q)).total == 1);
  }
  CHECK(catalog::query_products(data, search("créme")).total == 0);  // another letter
  // Bytes that are no UTF-8 are compared as they are: no match, no crash.
  CHECK(catalog::query_products(data, search("\xff\xfe")).total == 0);
}

TEST_CASE("search with several words requires every word, in any order") {
  CHECK(ids_of(catalog::query_products(demo(), search("cast iron"))) ==
        std::vector<std::string>{"p-010", "p-015", "p-062"});
  CHECK(ids_of(catalog::query_products(demo(), search("  Skillet   CAST "))) ==
        std::vector<std::string>{"p-010"});
  CHECK(catalog::query_products(demo(), search("cast headphones")).total == 0);
  CHECK(ids_of(catalog::query_products(demo(), search("cast iron", "fitness"))) ==
        std::vector<std::string>{"p-062"});
}

TEST_CASE("search lists unavailable products too") {
  const auto page = catalog::query_products(demo(), search("cold brew"));
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0]->id == "p-008");
  CHECK_FALSE(page.items[0]->available);
}

TEST_CASE("categories list in declaration order with their product counts") {
  const auto categories = catalog::list_categories(demo());
  REQUIRE(categories.size() == demo().categories.size());
  CHECK(categories.front().id == "coffee");
  CHECK(categories.front().name == "Coffee & Tea");
  std::int64_t sum = 0;
  for (const auto& category : categories) {
    CAPTURE(category.id);
    ProductQuery query;
    query.category = category.id;
    CHECK(category.product_count == catalog::query_products(demo(), query).total);
    CHECK(category.product_count > 0);
    sum += category.product_count;
  }
  CHECK(sum == static_cast<std::int64_t>(demo().products.size()));

  const nlohmann::json json = catalog::category_list_json(demo());
  CHECK(json.at("items").size() == categories.size());
  CHECK(json.at("items")[2] ==
        nlohmann::json{{"id", "books"}, {"name", "Books"}, {"product_count", 8}});
}

TEST_CASE("changing a price yields a new snapshot and leaves the old one alone") {
  const CatalogData changed = catalog::with_price(demo(), "p-012", 1499);
  CHECK(catalog::find_product(changed, "p-012")->price_cents == 1499);
  CHECK(catalog::find_product(demo(), "p-012")->price_cents == 1299);
  CHECK(ids_of(catalog::query_products(changed, search("scale"))) ==
        std::vector<std::string>{"p-012"});

  const CatalogData hidden = catalog::with_availability(demo(), "p-001", false);
  CHECK_FALSE(catalog::find_product(hidden, "p-001")->available);

  const auto missing = api_error_of([] { catalog::with_price(demo(), "p-999", 100); });
  REQUIRE(missing.has_value());
  CHECK(http_status(*missing) == 404);
  CHECK(missing->code() == "product_not_found");
  const auto negative = api_error_of([] { catalog::with_price(demo(), "p-001", -1); });
  REQUIRE(negative.has_value());
  CHECK(negative->code() ==
        "invalid_price");  // A price a full cart could not add up in 64 bits is refused.
  const auto huge = api_error_of(
      [] { catalog::with_price(demo(), "p-001", std::numeric_limits<std::int64_t>::max()); });
  REQUIRE(huge.has_value());
  CHECK(huge->code() == "invalid_price");
  CHECK(
      catalog::find_product(catalog::with_price(demo(), "p-001", catalog::kMaxPriceCents), "p-001")
          ->price_cents == catalog::kMaxPriceCents);
}

// serve checked a named catalog file before anything started, and the catalog parsed it again
// when it seeded: a 10,000-product file took 1.3 s more to start. One parse serves both while
// the file stays what it was; a changed file is read again.
TEST_CASE("a catalog file is parsed once while it stays the same file") {
  namespace fs = std::filesystem;
  const auto dir = shopctl::test_support::make_temp_dir("shopctl-catalogfile");
  const auto file = dir / "catalog.yaml";
  const auto write = [&](std::string_view name) {
    std::ofstream(file) << "categories:\n  - {id: c, name: C}\nproducts:\n"
                        << "  - {id: p-1, sku: S-1, name: \"" << name
                        << "\", description: d, category: c, price_cents: 100, currency: EUR, "
                           "available: true}\n";
  };
  write("First");
  const auto first = catalog::read_catalog_file(file);
  CHECK(first->products.at(0).name == "First");
  CHECK(catalog::read_catalog_file(file) == first);  // not parsed again
  CHECK(catalog::read_catalog_file(dir / "." / "catalog.yaml") == first);
  write("Second, longer");  // another size
  const auto second = catalog::read_catalog_file(file);
  CHECK(second != first);
  CHECK(second->products.at(0).name == "Second, longer");
  write("Third, longer!");  // the same size: the modification time tells
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5));
  CHECK(catalog::read_catalog_file(file)->products.at(0).name == "Third, longer!");
  // A broken file is refused every time, not remembered as the last good one.
  std::ofstream(file) << "products: [";
  CHECK_THROWS_AS(catalog::read_catalog_file(file), std::invalid_argument);
  CHECK_THROWS_AS(catalog::read_catalog_file(file), std::invalid_argument);
  // The demo catalog is parsed once a process.
  CHECK(catalog::load_demo_catalog() == catalog::load_demo_catalog());
  fs::remove_all(dir);
}
