#!/usr/bin/env bash
# run-all.sh: every end-to-end benchmark in order, then one combined summary.
#
# Runs browse.sh, checkout.sh, startup.sh, suite.sh and memory.sh (with their defaults: about
# two and a half minutes on the 2-core machine), shows their output as they go, and prints last
# the lines of each one's final summary block, together with each script's status
# (bench_<script>_status: ok, or failed with its exit code). A failed script does not stop the
# others; the exit status is 1 when any failed.
#
# Usage:  bench/run-all.sh
# Env:    SHOPCTL=./build/shopctl, NGINX_BASELINE, USERS, SERVE_ARGS, LOAD_ARGS (passed on);
#         BENCH_SECONDS=N  (duration for browse, checkout and memory instead of their defaults)
#         BENCH_RUNS=N     (runs for startup and suite instead of their defaults)
# Needs:  everything the five scripts need: ./scripts/build.sh, ./scripts/setup.sh --bench
#         (nginx-light, wrk, curl), python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shopctl-bench-all.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

secs=${BENCH_SECONDS:-}; runs=${BENCH_RUNS:-}
scripts=(browse checkout startup suite memory)
declare -A args=([browse]="$secs" [checkout]="$secs" [startup]="$runs" [suite]="$runs" [memory]="$secs")
declare -A status
failed=0
start=${EPOCHREALTIME//[.,]/}

for s in "${scripts[@]}"; do
  echo "==> bench/$s.sh ${args[$s]}" >&2
  # stdout goes to the terminal (via stderr) and to a file, from which the summary is taken.
  set +e
  # shellcheck disable=SC2086
  "$here/$s.sh" ${args[$s]} | tee "$tmp/$s.out" >&2
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc -eq 0 ]]; then status[$s]=ok; else status[$s]="failed (exit $rc)"; failed=1; fi
done

elapsed=$(( (${EPOCHREALTIME//[.,]/} - start) / 1000000 ))
echo
echo "== summary: all (bench/run-all.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${elapsed} s) =="
for s in "${scripts[@]}"; do
  echo "bench_${s}_status: ${status[$s]}"
  # The lines after the script's last "== summary" header.
  awk '/^== summary/ { n = NR } { line[NR] = $0 } END { if (n) for (i = n + 1; i <= NR; i++) if (line[i] != "") print line[i] }' "$tmp/$s.out"
done
exit "$failed"
