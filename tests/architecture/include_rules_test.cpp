// The folder tree is the architecture (docs/architecture.md): this test reads every source
// file under src/ and include/ and fails, naming file:line, when an #include crosses a line
// the architecture draws:
//   - a service includes another service's headers (services know the platform only),
//   - within a service, a file reaches past its part of the one shape: `_model` files are pure
//     rules (no HTTP, no SQL, no store, client or routes), `_store` files are SQL that throws
//     domain errors (no HTTP, no ApiError, no client or routes), `_client` files speak to
//     other services (no store, no routes),
//   - the platform includes anything above it (services, shop, scenario, load, cli, tools),
//   - a service includes the shop, the scenario runner or anything else above it,
//   - layers in general point down: cli > scenario, load, observe_tools > shop > services >
//     platform,
//   - Boost.Beast is included outside the HTTP layer's .cpp files and beast_util.hpp,
//   - a public header (include/shopctl/) includes anything but the standard library and its
//     siblings, so that no internal or third-party type reaches the public API; and the code
//     that uses only the public API (tests/api/, examples/) includes no internal header.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Include {
  std::string header;  // as resolved against src/ (or as written, for outside headers)
  int line = 0;
};

const fs::path& source_root() {
  static const fs::path root = fs::path(SHOPCTL_SOURCE_DIR);
  return root;
}

// The #include lines of `file`, outside comments. A quoted include that names a file next
// to the includer ("../catalog/x.hpp", "x.hpp") is resolved and written relative to src/.
std::vector<Include> includes_of(const fs::path& file) {
  std::vector<Include> out;
  std::ifstream in(file);
  std::string line;
  int n = 0;
  bool in_block_comment = false;
  while (std::getline(in, line)) {
    ++n;
    // Drop block comments (possibly spanning lines) and line comments.
    std::string code;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (in_block_comment) {
        if (line.compare(i, 2, "*/") == 0) {
          in_block_comment = false;
          ++i;
        }
        continue;
      }
      if (line.compare(i, 2, "/*") == 0) {
        in_block_comment = true;
        ++i;
        continue;
      }
      if (line.compare(i, 2, "//") == 0) break;
      code.push_back(line[i]);
    }
    std::size_t i = code.find_first_not_of(" \t");
    if (i == std::string::npos || code[i] != '#') continue;
    i = code.find_first_not_of(" \t", i + 1);
    if (i == std::string::npos || code.compare(i, 7, "include") != 0) continue;
    i = code.find_first_of("<\"", i + 7);
    if (i == std::string::npos) continue;
    char close = code[i] == '<' ? '>' : '"';
    auto end = code.find(close, i + 1);
    if (end == std::string::npos) continue;
    std::string header = code.substr(i + 1, end - i - 1);
    if (close == '"') {
      auto beside = (file.parent_path() / header).lexically_normal();
      std::error_code ec;
      if (fs::exists(beside, ec)) {
        auto relative = beside.lexically_relative(source_root() / "src");
        if (!relative.empty() && relative.native().rfind("..", 0) != 0)
          header = relative.generic_string();
      }
    }
    out.push_back({header, n});
  }
  return out;
}

// The layer a path relative to src/ belongs to, with its rank (higher may include lower).
struct Layer {
  std::string name;
  int rank;
};
std::optional<Layer> layer_of(const std::string& path) {
  static const std::vector<Layer> layers = {{"platform", 0}, {"services", 1}, {"shop", 2},
                                            {"scenario", 3}, {"load", 3},     {"observe_tools", 3},
                                            {"chaos", 4},    {"cli", 5},      {"api", 5}};
  for (const auto& l : layers) {
    if (path.rfind(l.name + "/", 0) == 0) return l;
  }
  return std::nullopt;
}

std::string service_of(const std::string& path) {
  // "services/order/order_service.cpp" -> "order"
  if (path.rfind("services/", 0) != 0) return "";
  auto slash = path.find('/', 9);
  return slash == std::string::npos ? "" : path.substr(9, slash - 9);
}

// A service file's part of the one shape, from its name: "model", "store", "client",
// "service", or "" for another file ("services/order/order_store.cpp" -> "store").
std::string part_of(const std::string& path) {
  if (path.rfind("services/", 0) != 0) return "";
  auto name = fs::path(path).stem().string();
  for (const char* part : {"model", "store", "client", "service"}) {
    if (name.ends_with(std::string("_") + part)) return part;
  }
  return "";
}

// Why the part `part` of a service may not include `header` (a path relative to src/), or
// empty when it may.
std::string shape_rule(const std::string& part, const std::string& header) {
  const auto to = part_of(header);
  const bool http = header.rfind("platform/http/", 0) == 0 || header == "platform/service.hpp" ||
                    header == "platform/resilient_caller.hpp";
  const bool sql = header.rfind("platform/store/", 0) == 0;
  if (part == "model") {
    if (http || sql || header == "platform/error.hpp" || to == "store" || to == "client" ||
        to == "service")
      return "a _model is pure rules: no HTTP, SQL, store, client or routes";
  }
  if (part == "store") {
    if (http || header == "platform/error.hpp" || to == "client" || to == "service")
      return "a _store is SQL throwing domain errors: no HTTP, ApiError, client or routes";
  }
  if (part == "client") {
    if (sql || to == "store" || to == "service")
      return "a _client speaks to other services: no store, SQL or routes";
  }
  return "";
}

// Whether `header` may be included by the public API and its users: a standard library
// header (<string>, <chrono>: no '/', no '.') or a public one ("shopctl/shop.hpp").
bool public_include(const std::string& header) {
  if (header.rfind("shopctl/", 0) == 0) return header.find("..") == std::string::npos;
  return header.find('/') == std::string::npos && header.find('.') == std::string::npos;
}

// Whether code that uses only the public API (tests/api/, examples/) may not include
// `header`: shopctl's internal headers (src/) and the libraries behind them. The system's
// headers (sockets for a small HTTP client) and doctest are theirs to use.
bool internal_or_third_party(const std::string& header) {
  if (layer_of(header) || header.rfind("api/", 0) == 0 ||
      header.find("support/") != std::string::npos)
    return true;
  for (const char* library : {"boost/", "nlohmann/", "yaml-cpp/", "CLI/", "sqlite3", "sodium",
                              "prometheus/", "openssl/"}) {
    if (header.rfind(library, 0) == 0) return true;
  }
  return false;
}

// The rules an include breaks, as sentences. `file` and `header` are relative to src/
// (headers of other libraries as written).
std::vector<std::string> broken_rules(const std::string& file, const std::string& header) {
  std::vector<std::string> broken;
  auto from = layer_of(file);
  auto to = layer_of(header);

  if (header.rfind("boost/beast", 0) == 0) {
    bool http_cpp = file.rfind("platform/http/", 0) == 0 && file.ends_with(".cpp") &&
                    file.find('/', 14) == std::string::npos;
    if (!http_cpp && file != "platform/http/beast_util.hpp") {
      broken.push_back("Boost.Beast outside the HTTP layer (platform/http/*.cpp, beast_util.hpp)");
    }
  }
  if (file.rfind("include:", 0) == 0 && !public_include(header)) {
    broken.push_back("a public header includes " + header +
                     " (the public API shows the standard library and shopctl/ only)");
  }
  if (!from || !to) return broken;

  auto own = service_of(file), other = service_of(header);
  if (!own.empty() && !other.empty() && own != other) {
    broken.push_back("service '" + own + "' includes service '" + other +
                     "' (services talk over HTTP, never through each other's headers)");
  }
  if (auto rule = shape_rule(part_of(file), header); !rule.empty()) {
    broken.push_back("includes " + header + " (" + rule + ")");
  }
  if (from->name == "platform" && to->name != "platform") {
    broken.push_back("the platform includes " + to->name +
                     "/ (the platform knows no layer above it)");
  }
  if (from->name == "services" && to->rank > from->rank) {
    broken.push_back("a service includes " + to->name + "/ (services know the platform only)");
  }
  if (from->name != "platform" && from->name != "services" && to->rank > from->rank) {
    broken.push_back(from->name + "/ includes " + to->name + "/ (layers point down only)");
  }
  if (from->rank == to->rank && from->name != to->name) {
    broken.push_back(from->name + "/ includes its sibling " + to->name +
                     "/ (each drives the shop on its own)");
  }
  return broken;
}

struct Scan {
  std::size_t files = 0;
  std::size_t includes = 0;
  std::map<std::string, std::size_t> includes_by_layer;
  std::vector<std::string> violations;  // "src/...:line: includes X: rule"
};

Scan scan_tree() {
  Scan scan;
  for (const char* top : {"src", "include"}) {
    auto dir = source_root() / top;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      auto ext = entry.path().extension().string();
      if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".cc" && ext != ".ipp") continue;
      ++scan.files;
      auto relative = entry.path().lexically_relative(source_root() / "src").generic_string();
      if (std::string(top) == "include") relative = "include:" + relative;  // not a layer
      for (const auto& inc : includes_of(entry.path())) {
        ++scan.includes;
        if (auto l = layer_of(inc.header)) ++scan.includes_by_layer[l->name];
        for (const auto& rule : broken_rules(relative, inc.header)) {
          scan.violations.push_back(
              entry.path().lexically_relative(source_root()).generic_string() + ":" +
              std::to_string(inc.line) + ": includes " + inc.header + ": " + rule);
        }
      }
    }
  }
  return scan;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

TEST_CASE("the include rules recognise each kind of crossing") {
  auto breaks = [](const std::string& file, const std::string& header) {
    return !broken_rules(file, header).empty();
  };
  // Allowed.
  CHECK_FALSE(breaks("services/order/order_service.cpp", "services/order/catalog_client.hpp"));
  CHECK_FALSE(breaks("services/order/order_service.cpp", "platform/service.hpp"));
  CHECK_FALSE(breaks("shop/shop.cpp", "services/catalog/catalog_service.hpp"));
  CHECK_FALSE(breaks("scenario/runner.cpp", "shop/shop.hpp"));
  CHECK_FALSE(breaks("cli/run.cpp", "scenario/runner.hpp"));
  CHECK_FALSE(breaks("platform/http/client.cpp", "boost/beast/http.hpp"));
  CHECK_FALSE(breaks("platform/http/beast_util.hpp", "boost/beast/core.hpp"));
  CHECK_FALSE(breaks("platform/service.cpp", "boost/asio/io_context.hpp"));
  // Refused.
  CHECK(breaks("services/order/catalog_client.cpp", "services/catalog/catalog_model.hpp"));
  CHECK(breaks("services/payment/payment_service.hpp", "services/order/order_model.hpp"));
  CHECK(breaks("platform/service.cpp", "services/gateway/gateway_service.hpp"));
  CHECK(breaks("platform/observe/call_log.cpp", "shop/shop.hpp"));
  CHECK(breaks("platform/fault/fault_table.cpp", "scenario/model.hpp"));
  CHECK(breaks("platform/json_body.cpp", "cli/commands.hpp"));
  CHECK(breaks("services/gateway/gateway_service.cpp", "shop/shop.hpp"));
  CHECK(breaks("services/order/order_service.cpp", "scenario/runner.hpp"));
  CHECK(breaks("shop/shop.cpp", "scenario/runner.hpp"));
  CHECK(breaks("scenario/runner.cpp", "cli/commands.hpp"));
  CHECK(breaks("scenario/runner.cpp", "observe_tools/call_graph.hpp"));
  CHECK(breaks("services/order/order_service.cpp", "boost/beast/http.hpp"));
  CHECK(breaks("platform/service.cpp", "boost/beast/core.hpp"));
  CHECK(breaks("platform/http/client.hpp", "boost/beast/http.hpp"));
  CHECK(breaks("platform/http/detail/x.cpp", "boost/beast/http.hpp"));
  CHECK(breaks("include:shopctl/api.hpp", "boost/beast/http.hpp"));
  CHECK(breaks("include:shopctl/shop.hpp", "shop/shop.hpp"));
  CHECK(breaks("include:shopctl/shop.hpp", "nlohmann/json.hpp"));
  CHECK(breaks("include:shopctl/shop.hpp", "sys/socket.h"));
  CHECK_FALSE(breaks("include:shopctl/shop.hpp", "shopctl/admin_client.hpp"));
  CHECK_FALSE(breaks("include:shopctl/shop.hpp", "chrono"));
  CHECK_FALSE(breaks("api/shop.cpp", "shop/shop.hpp"));
  CHECK(breaks("api/shop.cpp", "cli/commands.hpp"));
  CHECK(breaks("cli/run.cpp", "api/convert.hpp"));
}

TEST_CASE("a service's files keep to the one shape and to their own service") {
  auto breaks = [](const std::string& file, const std::string& header) {
    return !broken_rules(file, header).empty();
  };
  // A service reaches another only over HTTP, through its own typed client.
  CHECK(breaks("services/payment/payment_service.cpp", "services/order/order_client.hpp"));
  CHECK(breaks("services/payment/payment_service.hpp", "services/order/order_model.hpp"));
  CHECK(breaks("services/payment/provider_client.cpp", "services/provider/provider_model.hpp"));
  CHECK(breaks("services/provider/provider_service.cpp", "services/gateway/gateway_service.hpp"));
  CHECK_FALSE(
      breaks("services/payment/payment_service.cpp", "services/payment/provider_client.hpp"));
  CHECK_FALSE(breaks("services/payment/payment_service.cpp", "services/payment/order_client.hpp"));
  // _model: pure rules.
  CHECK(breaks("services/auth/auth_model.cpp", "platform/store/database.hpp"));
  CHECK(breaks("services/order/order_model.cpp", "services/order/order_store.hpp"));
  CHECK(breaks("services/order/order_model.hpp", "services/order/catalog_client.hpp"));
  CHECK(breaks("services/payment/payment_model.cpp", "platform/http/message.hpp"));
  CHECK(breaks("services/catalog/catalog_model.cpp", "platform/error.hpp"));
  CHECK_FALSE(breaks("services/auth/auth_model.cpp", "platform/domain_error.hpp"));
  CHECK_FALSE(breaks("services/auth/auth_model.hpp", "platform/security/jwt.hpp"));
  // _store: SQL throwing domain errors.
  CHECK(breaks("services/auth/auth_store.cpp", "platform/error.hpp"));
  CHECK(breaks("services/order/order_store.cpp", "services/order/catalog_client.hpp"));
  CHECK(breaks("services/catalog/catalog_store.cpp", "platform/service.hpp"));
  CHECK(breaks("services/payment/payment_store.hpp", "services/payment/payment_service.hpp"));
  CHECK_FALSE(breaks("services/catalog/catalog_store.hpp", "services/catalog/catalog_model.hpp"));
  CHECK_FALSE(breaks("services/auth/auth_store.hpp", "platform/store/store_database.hpp"));
  // _client: the service's outbound edges.
  CHECK(breaks("services/payment/order_client.cpp", "services/payment/payment_store.hpp"));
  CHECK(breaks("services/order/catalog_client.cpp", "platform/store/database.hpp"));
  CHECK_FALSE(breaks("services/order/catalog_client.hpp", "services/order/order_model.hpp"));
  CHECK_FALSE(breaks("services/payment/provider_client.hpp", "platform/resilient_caller.hpp"));
}

TEST_CASE("the public API's tests and examples include only public headers") {
  std::vector<std::string> violations;
  std::size_t files = 0;
  for (const char* top : {"tests/api", "examples"}) {
    auto dir = source_root() / top;
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".cpp") continue;
      ++files;
      for (const auto& inc : includes_of(entry.path())) {
        if (!internal_or_third_party(inc.header)) continue;
        violations.push_back(entry.path().lexically_relative(source_root()).generic_string() + ":" +
                             std::to_string(inc.line) + ": includes " + inc.header);
      }
    }
  }
  CHECK(files >= 2);
  CHECK_MESSAGE(violations.empty(), violations.size() << " include(s) reach past the public API:\n"
                                                      << joined(violations));
}

TEST_CASE("no source file includes across the architecture's lines") {
  Scan scan = scan_tree();
  // The scan must have seen the real tree, or passing would prove nothing.
  REQUIRE_MESSAGE(scan.files > 50,
                  "found only " << scan.files << " source files under " << SHOPCTL_SOURCE_DIR);
  CHECK(scan.includes_by_layer["platform"] > 20);
  CHECK(scan.includes_by_layer["services"] > 10);
  CHECK_MESSAGE(scan.violations.empty(), scan.violations.size()
                                             << " include(s) cross the architecture's lines:\n"
                                             << joined(scan.violations));
}
