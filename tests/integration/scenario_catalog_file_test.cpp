// A scenario's `config: {catalog: {file: ...}}` with a relative path: read from the scenario's
// folder. It was read from the current folder, so `shopctl run suite/own.yaml` failed with
// exit 3 (the shop could not start) where `cd suite && shopctl run own.yaml` passed, and
// `validate` said the scenario was fine either way (an outside probe).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "platform/security/random.hpp"
#include "scenario/parser.hpp"
#include "scenario/runner.hpp"

namespace {

namespace fs = std::filesystem;
namespace scenario = shopctl::scenario;

constexpr const char* kScenario = R"(version: 1
name: own catalog
config:
  catalog: {file: tea.yaml}
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: /api/catalog/products/t-1}
    expect: {status: 200, json: {$.name: Green}}
)";

constexpr const char* kCatalog = R"(categories:
  - {id: tea, name: "Tea"}
products:
  - {id: t-1, sku: TEA-1, name: "Green", description: "x", category: tea, price_cents: 500,
     currency: EUR, available: true}
)";

void write(const fs::path& file, const char* text) {
  std::ofstream out(file);
  out << text;
}

}  // namespace

TEST_CASE("a scenario's relative catalog.file is read from the scenario's folder") {
  const auto dir = fs::temp_directory_path() /
                   ("shopctl-catalog-file-" + shopctl::platform::security::random_hex(6));
  fs::create_directories(dir / "suite");
  write(dir / "suite" / "own.yaml", kScenario);
  write(dir / "suite" / "tea.yaml", kCatalog);
  scenario::ParseOptions options;
  options.validate_config = scenario::validate_shop_config;
  // The test runs in the build folder, not in dir/suite.
  auto parsed = scenario::parse_scenario_file(dir / "suite" / "own.yaml", options);
  INFO(parsed.format_diagnostics());
  REQUIRE(parsed.ok());
  auto summary = scenario::run_scenarios({*parsed.scenario}, scenario::RunOptions{});
  REQUIRE(summary.results.size() == 1);
  std::string failures;
  for (const auto& f : summary.results[0].failures) failures += f.step + ": " + f.message + "\n";
  INFO(failures);
  CHECK(summary.results[0].status == scenario::ScenarioStatus::passed);

  // Without the file, validate says so at the key's line, naming the path it looked at.
  fs::remove(dir / "suite" / "tea.yaml");
  auto missing = scenario::parse_scenario_file(dir / "suite" / "own.yaml", options);
  CHECK_FALSE(missing.ok());
  const auto said = missing.format_diagnostics();
  CHECK(said.find("own.yaml:4:") != std::string::npos);
  CHECK(said.find((dir / "suite" / "tea.yaml").string() + " is not a file") != std::string::npos);
  fs::remove_all(dir);
}
