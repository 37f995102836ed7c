// Fuzz target: the config loader (what `shopctl serve --config FILE` reads, and a scenario's
// `config:`). YAML text in: a YAML syntax error, a list of issues with positions, or settings
// that describe_config() can print; never a crash or another exception.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <yaml-cpp/yaml.h>

#include "shop/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shopctl::shop;
  const std::string text(reinterpret_cast<const char*>(data), size);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException&) {
    return 0;  // load_config_file reports it as file:line:col
  }
  ShopConfig config;
  const auto issues = apply_config(root, config);
  for (const auto& issue : issues) {
    if (issue.message.empty() || issue.line < 0 || issue.column < 0) std::abort();
  }
  if (issues.empty()) (void)describe_config(config);
  return 0;
}
