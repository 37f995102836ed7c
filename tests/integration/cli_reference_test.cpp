// docs/cli.md is the output of `shopctl reference` (the commands' own --help): the document
// and the program never drift apart. Regenerate with ./build/shopctl reference > docs/cli.md.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

TEST_CASE("docs/cli.md is exactly what shopctl reference prints") {
  std::string command = std::string(SHOPCTL_BINARY) + " reference";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string generated;
  std::array<char, 4096> buf{};
  while (auto n = fread(buf.data(), 1, buf.size(), pipe)) generated.append(buf.data(), n);
  int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // Every command is in it, with its options.
  for (const char* section : {"## `shopctl`", "### `shopctl run`", "### `shopctl serve`",
                              "### `shopctl load`", "### `shopctl chaos`", "#### `shopctl fault add`"}) {
    CHECK_MESSAGE(generated.find(section) != std::string::npos, section);
  }
  CHECK(generated.find("### `shopctl reference`") == std::string::npos);  // hidden itself

  std::ifstream file(std::string(SHOPCTL_SOURCE_DIR) + "/docs/cli.md");
  REQUIRE_MESSAGE(file.good(), "docs/cli.md is missing: ./build/shopctl reference > docs/cli.md");
  std::stringstream committed;
  committed << file.rdbuf();
  CHECK_MESSAGE(committed.str() == generated,
                "docs/cli.md is out of date: ./build/shopctl reference > docs/cli.md");
}
