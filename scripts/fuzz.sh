#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*.cpp, in build-asan/ with ASan+UBSan), replays
# every regression input (tests/fuzz/regressions/<target>/), then fuzzes each target for
# SECONDS (default 10) from its seed corpus (tests/fuzz/corpus/<target>/).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (docs/testing.md, Fuzzing)
# Prints one line per target and closes with "fuzz: N passed, M failed" (each target's run and
# each regression input counts once). A crash leaves its input in reports/fuzz/ and the
# command that reproduces it in the output. New inputs go to build-asan/fuzz-corpus/<target>/.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
seconds=10
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

"$here/scripts/build.sh" --fuzz >&2 || { echo "fuzz: build failed"; echo "fuzz: 0 passed, 1 failed"; exit 1; }

mkdir -p reports/fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0; failed=0
# Flags every run shares: a hang of 10 s is a finding; memory is bounded.
common=(-timeout=10 -rss_limit_mb=2560 -print_final_stats=1)
for t in "${targets[@]}"; do
  bin=build-asan/fuzz_$t
  [[ -x $bin ]] || { echo "fuzz $t: no such target ($bin)"; failed=$((failed + 1)); continue; }
  extra=()
  # The HTTP target runs a whole shop on background threads: what they hold between inputs
  # is not a leak of the input, so per-input leak checks are off there (ASan still runs).
  [[ $t == http_request ]] && extra+=(-detect_leaks=0)

  # 1. Every regression input, each a crash found once, must pass now.
  shopt -s nullglob
  regressions=(tests/fuzz/regressions/"$t"/*)
  shopt -u nullglob
  if [[ ${#regressions[@]} -gt 0 ]]; then
    if "$bin" "${common[@]}" "${extra[@]}" "${regressions[@]}" >"reports/fuzz/$t.regressions.log" 2>&1; then
      passed=$((passed + ${#regressions[@]}))
      echo "fuzz $t: ${#regressions[@]} regression input(s) pass"
    else
      failed=$((failed + 1))
      echo "fuzz $t: a regression input fails again; see reports/fuzz/$t.regressions.log"
      grep -E "^(==[0-9]+==ERROR|SUMMARY|Running:|.*runtime error)" "reports/fuzz/$t.regressions.log" | head -n 5
    fi
  fi

  # 2. Fuzz from the seeds (and what earlier local runs found) for the fixed time.
  work=build-asan/fuzz-corpus/$t
  mkdir -p "$work"
  "$bin" "${common[@]}" "${extra[@]}" -max_total_time="$seconds" \
    -artifact_prefix="reports/fuzz/$t-" "$work" "tests/fuzz/corpus/$t" >"reports/fuzz/$t.log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "reports/fuzz/$t.log" | tail -n 1)
  if [[ $rc -eq 0 ]]; then
    passed=$((passed + 1))
    echo "fuzz $t: ${runs:-?} executions in ${seconds} s, no crash"
  else
    failed=$((failed + 1))
    artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "reports/fuzz/$t.log" | tail -n 1)
    echo "fuzz $t: FAILED after ${runs:-?} executions (exit $rc); log reports/fuzz/$t.log"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z_]+:|.*runtime error)" "reports/fuzz/$t.log" | head -n 5
    if [[ -n $artifact ]]; then
      echo "  reproduce: $bin $artifact"
      echo "  keep it:   mkdir -p tests/fuzz/regressions/$t && cp $artifact tests/fuzz/regressions/$t/"
    fi
  fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
