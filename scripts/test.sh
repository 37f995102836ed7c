#!/usr/bin/env bash
# Builds and runs every test: the doctest binary (unit tests of pure logic, integration tests
# on real sockets), the scenario suite (with a JUnit report) and the CLI's exit-code checks.
# With --sanitize, the same tests run once more under address + undefined-behaviour sanitizers.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
sanitize=false
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=true ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

passed=0; failed=0
step() {  # step NAME COMMAND...
  local name=$1; shift
  echo "== $name" >&2
  if "$@"; then passed=$((passed + 1)); echo "== $name: ok" >&2
  else failed=$((failed + 1)); echo "== $name: FAILED" >&2; fi
}

"$here/scripts/build.sh" --tests || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p reports
step "unit and integration tests" ./build/shopctl_tests --reporters=console --no-intro=true
step "scenario suite" ./build/shopctl run scenarios/ --junit reports/scenarios.junit.xml --json reports/scenarios.json
step "CLI exit codes" bash tests/cli/exit_codes.sh ./build/shopctl
if $sanitize; then
  "$here/scripts/build.sh" --tests --sanitize || { echo "sanitizer build failed"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
  step "tests under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=0 ./build-asan/shopctl_tests --no-intro=true
  step "scenarios under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=0 ./build-asan/shopctl run scenarios/ --jobs 1
fi
echo "steps: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
