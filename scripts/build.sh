#!/usr/bin/env bash
# Builds shopctl (and, with --tests, the test binary) into build/ with Ninja and ccache.
# Usage: scripts/build.sh [--tests] [--bench] [--sanitize] [--fuzz] [--tsan]
#   --sanitize  ASan+UBSan into build-asan/ (with libFuzzer coverage, so that it serves --fuzz)
#   --fuzz      the libFuzzer targets (tests/fuzz/*.cpp) into build-asan/
#   --tsan      ThreadSanitizer into build-tsan/: the binary and shopctl_threaded_tests only
# The instrumented builds compile at -O0; SHOPCTL_SANITIZER_OPT=-O1 builds them optimized.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
"$here/scripts/setup.sh"

targets=(shopctl)
dir=build
flags=(-DCMAKE_BUILD_TYPE=Release -DSHOPCTL_BENCHMARKS=OFF)
for arg in "$@"; do
  case "$arg" in
    --tests) targets+=(shopctl_tests) ;;
    --bench) flags=(-DCMAKE_BUILD_TYPE=Release -DSHOPCTL_BENCHMARKS=ON); targets+=(shopctl_bench) ;;
    --sanitize|--fuzz)
      dir=build-asan
      # Line tables are all a sanitizer report needs (file:line in every frame); they compile
      # faster than full -g. Add -g by hand to step through a finding in a debugger. -O0: the
      # instrumented builds compile in about half the time of -O1 (the coroutine-heavy HTTP
      # files dominate), which is what keeps CI, with both instrumented builds, under 30 min
      # (docs/testing.md); the tests run slower, not differently.
      flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${SHOPCTL_SANITIZER_OPT:--O0} -gline-tables-only" -DSHOPCTL_SANITIZE=ON -DSHOPCTL_FUZZ=ON -DSHOPCTL_BENCHMARKS=OFF)
      if [[ "$arg" == --fuzz ]]; then targets+=(fuzz_targets); fi ;;
    --tsan)
      dir=build-tsan
      # Line tables only, as for build-asan/.
      flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${SHOPCTL_SANITIZER_OPT:--O0} -gline-tables-only" -DSHOPCTL_TSAN=ON -DSHOPCTL_BENCHMARKS=OFF)
      targets+=(shopctl_threaded_tests) ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done
# Warnings are errors, in CI and on a developer's machine alike, so that the test command gives
# the same answer in both (a build once passed here and failed in CI, which alone set CI=true).
# The toolchain is Debian 12's clang 14; SHOPCTL_WERROR=OFF builds with another one that warns
# about more.
flags+=("-DSHOPCTL_WERROR=${SHOPCTL_WERROR:-ON}")
flags+=(-DCMAKE_CXX_COMPILER=clang++)
export CCACHE_DIR="${CCACHE_DIR:-$here/.cache/ccache}"
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" "${targets[@]}"
