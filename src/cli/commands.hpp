#pragma once
// The subcommands of shopctl. The exit codes (kExitOk, kExitUsage, kExitInvalid, kExitShop,
// kExitExpectation) are the public ones of <shopctl/version.hpp>; each subcommand's --help
// says which it uses. docs/cli.md is `shopctl reference`: every command's --help.
#include <shopctl/version.hpp>

namespace CLI {
class App;
}

namespace shopctl::cli {

void register_commands(CLI::App& app);
// The exit code chosen by the subcommand that ran.
int exit_code();
void set_exit_code(int code);

}  // namespace shopctl::cli
