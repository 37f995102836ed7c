#!/usr/bin/env bash
# The browser tests of the web shop, the pay page and the operator console (docs/frontend.md):
# installs Chromium (Debian) and playwright-core (npm, pinned by package-lock.json) when
# missing, then runs shop.test.mjs with node's test runner against `shopctl serve`. Screenshots
# go to reports/web/. Prints "web: N passed, M failed" for scripts/test.sh to add up.
set -uo pipefail
shopctl=${1:?usage: tests/web/run.sh path/to/shopctl}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shopctl=$(cd "$(dirname "$shopctl")" && pwd)/$(basename "$shopctl")

fail_setup() { echo "FAIL: $1"; echo "web: 0 passed, 1 failed"; exit 1; }
"$root/scripts/setup.sh" --web || fail_setup "scripts/setup.sh --web"
"$root/scripts/npm-ci.sh" "$here" --scripts || fail_setup "npm ci in tests/web"

rm -rf "$root/reports/web"
mkdir -p "$root/reports/web"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# node's runner runs the file as one test in a process of its own, and --test-timeout bounds
# that one too: the limit is the whole file's (each story takes seconds; all of them, minutes).
SHOPCTL="$shopctl" SHOPCTL_WEB_REPORTS="$root/reports/web" \
  node --test --test-reporter=spec --test-timeout=600000 "$here/shop.test.mjs" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
passed=$(sed -nE 's/^ℹ pass ([0-9]+).*/\1/p' "$out" | tail -n 1)
failed=$(sed -nE 's/^ℹ fail ([0-9]+).*/\1/p' "$out" | tail -n 1)
if [[ -z "$passed" || -z "$failed" ]]; then passed=${passed:-0}; failed=$((${failed:-0} + 1)); fi
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "screenshots: $root/reports/web/"
echo "web: $passed passed, $failed failed"
[[ $rc -eq 0 && $failed -eq 0 ]]
