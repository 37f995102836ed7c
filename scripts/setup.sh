#!/usr/bin/env bash
# Installs the Debian 12 packages shopctl builds with, when any is missing. Idempotent and
# quick when everything is there (no apt call at all).
set -euo pipefail

# curl, jq, python3, iproute2: what the command-line and network-namespace tests drive the shop
# with (scripts/test.sh); a minimal Debian 12 has none of the first three.
# libclang-rt-14-dev: the sanitizer and libFuzzer runtimes (clang only recommends it, and the
# install below skips recommendations); llvm-14: llvm-symbolizer, for readable sanitizer traces;
# lld: links the instrumented builds (docs/testing.md).
packages=(
  clang g++ cmake ninja-build ccache pkg-config clang-format-14 clang-tidy-14 lld
  libclang-rt-14-dev llvm-14
  libboost1.81-dev libboost-url1.81-dev
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev
  doctest-dev libssl-dev libsodium-dev libre2-dev libbenchmark-dev prometheus-cpp-dev
  curl jq python3 iproute2
)
# Benchmark tools are only needed by bench/: `scripts/setup.sh --bench` adds them (heaptrack and
# strace: bench/profile.sh).
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx-light curl valgrind heaptrack strace)
fi
# The browser tests of the web shop and console (tests/web/): Debian's Chromium, driven by
# npm's playwright-core; Node and npm from Debian when the machine has none.
if [[ "${1:-}" == "--web" ]]; then
  packages+=(chromium fonts-dejavu-core)
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

# The completion test (tests/cli/completion.sh) loads the zsh script in a real zsh.
if [[ "${1:-}" == "--shells" ]]; then
  packages+=(zsh)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
