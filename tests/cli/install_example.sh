#!/usr/bin/env bash
# The public C++ API as a user gets it: installs shopctl from a build folder (default build/)
# to a temporary prefix (`cmake --install`), checks what was installed (the public headers
# only, the CMake package), then configures examples/embed/ against that prefix with
# find_package(shopctl) (clang++, Ninja), builds it and runs its doctest test, which embeds a
# shop and runs a scenario file of this repository. The last line counts the checks and the
# example's test cases: "example: N passed, M failed".
# Usage: tests/cli/install_example.sh [BUILD_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$here/build}" && pwd) || { echo "example: 0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0; failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >"$tmp/out" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what"; sed 's/^/    /' "$tmp/out" | tail -30
    return 1
  fi
}
finish() { echo "example: $passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit $?; }

# Up to date after scripts/build.sh; builds what install needs otherwise.
check "the installed targets are built" cmake --build "$build" --target shopctl shopctl_api || finish
check "cmake --install to a temporary prefix" cmake --install "$build" --prefix "$prefix" || finish

# The public headers and nothing of src/; the package files; the libraries.
check "include/ holds the public headers only" bash -c '
  cd "$1/include" && test -f shopctl/shop.hpp && test -f shopctl/scenario_runner.hpp &&
  test -f shopctl/admin_client.hpp && test -f shopctl/load.hpp && test -f shopctl/version.hpp &&
  test -z "$(find . -type f ! -path "./shopctl/*.hpp")"' _ "$prefix"
check "the CMake package is installed" bash -c '
  ls "$1"/lib*/cmake/shopctl/shopctlConfig.cmake "$1"/lib*/cmake/shopctl/shopctlConfigVersion.cmake \
     "$1"/lib*/cmake/shopctl/shopctlTargets.cmake "$1"/lib*/libshopctl.a' _ "$prefix"
check "a public header compiles on its own, with no third-party header" bash -c '
  for h in "$1"/include/shopctl/*.hpp; do
    echo "#include <shopctl/$(basename "$h")>" | clang++ -std=c++20 -fsyntax-only -I"$1/include" -x c++ - || exit 1
  done' _ "$prefix"
# With every warning clang has (but those about C++98 and padding): -Wweak-vtables on
# AdminError broke a consumer's -Weverything -Werror build (an outside probe).
check "a public header is quiet under clang's -Weverything -Werror" bash -c '
  for h in "$1"/include/shopctl/*.hpp; do
    echo "#include <shopctl/$(basename "$h")>" | clang++ -std=c++20 -fsyntax-only -I"$1/include" \
      -Weverything -Werror -Wno-c++98-compat -Wno-c++98-compat-pedantic -Wno-padded -x c++ - || exit 1
  done' _ "$prefix"
check "an internal header is out of reach of an installed shopctl's users" bash -c '
  ! echo "#include <shop/shop.hpp>" | clang++ -std=c++20 -fsyntax-only -I"$1/include" -x c++ - 2>/dev/null' _ "$prefix"

check "the example configures with find_package(shopctl)" \
  cmake -S "$here/examples/embed" -B "$tmp/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_PREFIX_PATH="$prefix" || finish
check "the example builds against the installed package" cmake --build "$tmp/example" || finish

# doctest's own count of the example's test cases ("[doctest] test cases: 4 | 4 passed | 0
# failed"), added to the checks above; its output is shown when a case fails (only this
# script's last line is to be counted by scripts/test.sh).
"$tmp/example/embed_test" --no-intro=true >"$tmp/run" 2>&1
rc=$?
[[ $rc -ne 0 ]] && sed 's/^/    /' "$tmp/run" | tail -60
if read -r p f < <(sed -nE 's/^\[doctest\] test cases: *[0-9]+ *\| *([0-9]+) passed *\| *([0-9]+) failed.*/\1 \2/p' "$tmp/run" | tail -n 1) && [[ -n "$p" ]]; then
  passed=$((passed + p)); failed=$((failed + f))
  if [[ $rc -ne 0 && $f -eq 0 ]]; then failed=$((failed + 1)); fi
else
  echo "FAIL: the example's test did not report (exit $rc)"; failed=$((failed + 1))
fi
finish
