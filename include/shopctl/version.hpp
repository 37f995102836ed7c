#pragma once
// The version of shopctl (this library and the `shopctl` binary) and the exit codes of its
// commands (`shopctl run`, `validate`, `serve`, `load`, `chaos`, `fault`, `graph`), as
// constants. Part of the public API (docs/architecture.md, "The public C++ API").
#include <string_view>

namespace shopctl {

// "MAJOR.MINOR.PATCH" of these headers. CMakeLists.txt takes the project's version from
// this line, so it is the one place the version is written.
inline constexpr std::string_view kVersion = "0.1.0";

// The version the library was built as; differs from kVersion only when headers and library
// come from different installs.
std::string_view library_version();

// Exit codes of every shopctl command. ScenarioRunner and Load reports choose among them the
// way `shopctl run` and `shopctl load` do (RunReport::exit_code, LoadReport::exit_code).
inline constexpr int kExitOk = 0;           // done; everything passed
inline constexpr int kExitUsage = 1;        // bad command line
inline constexpr int kExitInvalid = 2;      // a file is invalid (nothing ran)
inline constexpr int kExitShop = 3;         // the shop could not start or be reached, or a timeout
inline constexpr int kExitExpectation = 4;  // an expectation, threshold or invariant failed

}  // namespace shopctl
