// docs/cli.md is the output of `shopctl reference` (the commands' own --help): the document
// and the program never drift apart. Regenerate with ./build/shopctl reference > docs/cli.md.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace {
// The output of `shopctl ARGS`, which must exit 0.
std::string shopctl_output(const std::string& args) {
  std::string command = std::string(SHOPCTL_BINARY) + " " + args;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (auto n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}
}  // namespace

TEST_CASE("docs/cli.md is exactly what shopctl reference prints") {
  const std::string generated = shopctl_output("reference");
  // Every command is in it, with its options.
  for (const char* section :
       {"## `shopctl`", "### `shopctl run`", "### `shopctl serve`", "### `shopctl load`",
        "### `shopctl chaos`", "#### `shopctl fault add`"}) {
    CHECK_MESSAGE(generated.find(section) != std::string::npos, section);
  }
  // Listed too: README sends users to it (it was hidden, and --help did not name it).
  CHECK(generated.find("### `shopctl reference`") != std::string::npos);

  std::ifstream file(std::string(SHOPCTL_SOURCE_DIR) + "/docs/cli.md");
  REQUIRE_MESSAGE(file.good(), "docs/cli.md is missing: ./build/shopctl reference > docs/cli.md");
  std::stringstream committed;
  committed << file.rdbuf();
  CHECK_MESSAGE(committed.str() == generated,
                "docs/cli.md is out of date: ./build/shopctl reference > docs/cli.md");
}

TEST_CASE(
    "docs/shopctl.1 is exactly what shopctl reference --man prints, a man page of every command") {
  const std::string generated = shopctl_output("reference --man");
  CHECK(generated.find(".TH SHOPCTL 1") != std::string::npos);
  for (const char* section :
       {".SS \"shopctl run\"", ".SS \"shopctl serve\"", ".SS \"shopctl fault add\"",
        ".SS \"shopctl completion\"", ".SH EXIT STATUS"}) {
    CHECK_MESSAGE(generated.find(section) != std::string::npos, section);
  }
  // No help line may start a roff request by accident.
  std::istringstream lines(generated);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || (line[0] != '.' && line[0] != '\'')) continue;
    bool request = line.rfind(".TH", 0) == 0 || line.rfind(".SH", 0) == 0 ||
                   line.rfind(".SS", 0) == 0 || line == ".nf" || line == ".fi" ||
                   line.rfind(".B ", 0) == 0 || line.rfind(".I ", 0) == 0 ||
                   line.rfind(".\\\"", 0) == 0;
    CHECK_MESSAGE(request, line);
  }
  std::ifstream file(std::string(SHOPCTL_SOURCE_DIR) + "/docs/shopctl.1");
  REQUIRE_MESSAGE(file.good(),
                  "docs/shopctl.1 is missing: ./build/shopctl reference --man > docs/shopctl.1");
  std::stringstream committed;
  committed << file.rdbuf();
  CHECK_MESSAGE(committed.str() == generated,
                "docs/shopctl.1 is out of date: ./build/shopctl reference --man > docs/shopctl.1");
}
