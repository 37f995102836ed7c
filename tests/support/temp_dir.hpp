#pragma once
// A fresh folder under the system's temporary directory, for the tests that open files.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace shopctl::test_support {

// A new, empty folder named <prefix>-XXXXXX; the test removes it.
inline std::filesystem::path make_temp_dir(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

}  // namespace shopctl::test_support
