#!/usr/bin/env bash
# suite.sh: wall time of the whole scenario suite, in parallel and serially.
#
# Measures: wall time (process start to exit) of `shopctl run scenarios/` with its default
# --jobs (the number of cores) and with --jobs 1, median/min/max over N runs each; the
# scenario and step counts and the pass/fail line are taken from the run's last lines
# ("46 scenarios, 484 steps in 10.87 s" / "scenarios: 46 passed, 0 failed"), together with
# the time the runner reports itself. Each scenario starts a fresh in-process shop, so this is
# dominated by shop start-ups and by the scenarios' own waits (timeouts, breaker windows).
#
# Usage:  bench/suite.sh [runs=1]
# Env:    SHOPCTL=./build/shopctl   SUITE=scenarios/ (the folder or files to run)
# Needs:  ./scripts/build.sh (the binary), python3.
# Exits 1 (after the summary) when a scenario failed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

runs=${1:-1}
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || bench_die "runs must be a whole number >= 1, not '$runs'"
suite=${SUITE:-scenarios/}
[[ -e "$suite" ]] || bench_die "no $suite"

any_failed=0
# run_suite LABEL [run args...]: runs the suite $runs times; sets <LABEL>_* figures.
run_suite() {
  local label=$1; shift
  local i t0 t1 rc out="$BENCH_TMP/$label.out" walls=() selfs=() counts passline
  for ((i = 1; i <= runs; i++)); do
    t0=${EPOCHREALTIME//[.,]/}
    rc=0
    timeout --foreground 900 "$SHOPCTL" run "$suite" --color never "$@" >"$out" 2>&1 || rc=$?
    t1=${EPOCHREALTIME//[.,]/}
    walls+=("$(( (t1 - t0) / 1000 ))")
    # "46 scenarios, 484 steps in 10.87 s" (or "... in 487 ms")
    counts=$(grep -E '^[0-9]+ scenarios?, [0-9]+ steps? in ' "$out" | tail -n1 || true)
    passline=$(grep -E '^scenarios: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n1 || true)
    [[ -n "$counts" ]] || { tail -n 20 "$out" >&2; bench_die "no summary line from shopctl run $suite $* (exit $rc)"; }
    selfs+=("$("$PY" -c 'import re,sys
m = re.search(r"in ([\d.]+) (ms|s)$", sys.argv[1])
print(float(m.group(1)) * (1 if m.group(2) == "ms" else 1000))' "$counts")")
    echo "suite: $label run $i: ${walls[-1]} ms wall; $counts; $passline (exit $rc)" >&2
    if [[ $rc -ne 0 ]]; then
      any_failed=1
      grep -E '^\[[0-9]+/[0-9]+\] (FAIL|ERROR)' "$out" | sed 's/^/  /' >&2 || true
    fi
  done
  local m mn mx sm
  read -r m mn mx < <(median_stats "${walls[@]}")
  read -r sm _ _ < <(median_stats "${selfs[@]}")
  printf -v "${label}_wall" '%s' "$m"; printf -v "${label}_min" '%s' "$mn"; printf -v "${label}_max" '%s' "$mx"
  printf -v "${label}_self" '%s' "$sm"
  printf -v "${label}_scenarios" '%s' "$(sed -E 's/^([0-9]+) scenarios.*/\1/' <<<"$counts")"
  printf -v "${label}_steps" '%s' "$(sed -E 's/^[0-9]+ scenarios?, ([0-9]+) steps?.*/\1/' <<<"$counts")"
  printf -v "${label}_passed" '%s' "$(sed -E 's/^scenarios: ([0-9]+) passed.*/\1/' <<<"$passline")"
  printf -v "${label}_failed" '%s' "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$passline")"
}

cores=$(nproc)
run_suite par
run_suite serial --jobs 1

# The figures were set by run_suite through printf -v.
# shellcheck disable=SC2154
{
summary_begin "suite ($suite, $runs run(s) each, median)"
summary_line suite_scenarios "$par_scenarios" scenarios
summary_line suite_steps "$par_steps" steps
summary_line suite_passed "$par_passed" scenarios
summary_line suite_failed "$par_failed" scenarios
summary_line suite_jobs_default "$cores" jobs
summary_line suite_wall_jobs_default "$par_wall" ms
summary_line suite_wall_jobs_default_min "$par_min" ms
summary_line suite_wall_jobs_default_max "$par_max" ms
summary_line suite_self_reported_jobs_default "$par_self" ms
summary_line suite_wall_jobs_1 "$serial_wall" ms
summary_line suite_wall_jobs_1_min "$serial_min" ms
summary_line suite_wall_jobs_1_max "$serial_max" ms
summary_line suite_self_reported_jobs_1 "$serial_self" ms
summary_line suite_passed_jobs_1 "$serial_passed" scenarios
summary_line suite_failed_jobs_1 "$serial_failed" scenarios
summary_line suite_speedup_jobs_default "$("$PY" -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$serial_wall" "$par_wall")" x
}
exit "$any_failed"
