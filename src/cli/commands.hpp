#pragma once
// The subcommands of shopctl. Exit codes are documented in docs/cli.md.
namespace CLI {
class App;
}

namespace shopctl::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;         // bad command line
inline constexpr int kExitInvalid = 2;       // a file is invalid (nothing ran)
inline constexpr int kExitShop = 3;          // the shop could not start, or a timeout
inline constexpr int kExitExpectation = 4;   // an expectation (or a load threshold) failed

void register_commands(CLI::App& app);
// The exit code chosen by the subcommand that ran.
int exit_code();
void set_exit_code(int code);

}  // namespace shopctl::cli
