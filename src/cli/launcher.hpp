#pragma once
// `shopctl serve --processes`: the whole shop as one process per service on this machine
// (docs/deploy.md). A launcher for local use and tests: it gives every child the same
// secrets, each service a port and each process an admin plane, starts them in the
// registry's order, restarts a child that died, and stops them all on SIGINT/SIGTERM.
#include <filesystem>
#include <string>
#include <vector>

#include "shop/config.hpp"

namespace shopctl::cli {

struct LauncherOptions {
  std::vector<std::string> config_files;  // passed on to every child, before the launcher's own
  std::filesystem::path data_dir;         // each child gets data_dir/<service>
  bool ephemeral = false;                 // a temporary data_dir, removed at exit
  std::string log_level = "info";
  std::string log_format = "text";
  unsigned threads = 1;  // per child
};

// Runs until SIGINT/SIGTERM; returns the exit code (kExitOk, kExitShop).
int run_processes(shop::ShopConfig config, const LauncherOptions& options);

}  // namespace shopctl::cli
