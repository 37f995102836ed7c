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

# Every step prints its own count; the last line adds them up (test cases, scenarios and CLI
# checks), so CI reads one "N passed, M failed" line that counts real tests.
passed=0; failed=0; steps_failed=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
step() {  # step NAME COMMAND...
  local name=$1; shift
  echo "== $name" >&2
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]} p f counted=false
  # doctest: "[doctest] test cases: 237 | 237 passed | 0 failed | 0 skipped"
  if read -r p f < <(sed -nE 's/^\[doctest\] test cases: *[0-9]+ *\| *([0-9]+) passed *\| *([0-9]+) failed.*/\1 \2/p' "$log" | tail -n 1) && [[ -n "$p" ]]; then
    counted=true
  # ours: "scenarios: 46 passed, 0 failed", "cli: 16 passed, 0 failed", "restart: 9 passed, 0 failed"
  elif read -r p f < <(sed -nE 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$log" | tail -n 1) && [[ -n "$p" ]]; then
    counted=true
  fi
  if $counted; then passed=$((passed + p)); failed=$((failed + f)); fi
  if [[ $rc -eq 0 ]]; then echo "== $name: ok" >&2
  else
    steps_failed=$((steps_failed + 1))
    # A step that failed without counting a failure (a crash, a build error) counts as one.
    if ! $counted || [[ ${f:-0} -eq 0 ]]; then failed=$((failed + 1)); fi
    echo "== $name: FAILED (exit $rc)" >&2
  fi
}

"$here/scripts/build.sh" --tests || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p reports
step "unit and integration tests" ./build/shopctl_tests --reporters=console --no-intro=true
step "scenario suite" ./build/shopctl run scenarios/ --junit reports/scenarios.junit.xml --json reports/scenarios.json
step "CLI exit codes" bash tests/cli/exit_codes.sh ./build/shopctl
step "identity across a SIGKILL" bash tests/cli/restart_identity.sh ./build/shopctl
if $sanitize; then
  "$here/scripts/build.sh" --tests --sanitize || { echo "sanitizer build failed"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
  step "tests under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=0 ./build-asan/shopctl_tests --no-intro=true
  step "scenarios under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=0 ./build-asan/shopctl run scenarios/ --jobs 1
fi
echo "test.sh: $steps_failed step(s) failed; test cases, scenarios and CLI checks added up below."
# The closing line, alone and bare, in the plain form CI reads: "N passed, M failed".
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $steps_failed -eq 0 ]]
