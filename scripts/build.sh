#!/usr/bin/env bash
# Builds shopctl (and, with --tests, the test binary) into build/ with Ninja and ccache.
# Usage: scripts/build.sh [--tests] [--bench] [--sanitize]
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
    --sanitize) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DSHOPCTL_SANITIZE=ON -DSHOPCTL_BENCHMARKS=OFF) ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done
# Warnings are errors in CI.
[[ "${CI:-}" == "true" ]] && flags+=(-DSHOPCTL_WERROR=ON)
flags+=(-DCMAKE_CXX_COMPILER=clang++)
export CCACHE_DIR="${CCACHE_DIR:-$here/.cache/ccache}"
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" "${targets[@]}"
