#include "cli/commands.hpp"

#include <CLI/CLI.hpp>

namespace shopctl::cli {

namespace {
int g_exit_code = kExitOk;
}

int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }

void register_serve(CLI::App& app);
void register_version(CLI::App& app);
void register_run(CLI::App& app);
void register_graph(CLI::App& app);
void register_fault(CLI::App& app);
void register_load(CLI::App& app);
void register_chaos(CLI::App& app);
void register_reference(CLI::App& app);

void register_commands(CLI::App& app) {
  register_serve(app);
  register_run(app);
  register_graph(app);
  register_fault(app);
  register_load(app);
  register_chaos(app);
  register_version(app);
  register_reference(app);
}

}  // namespace shopctl::cli
