#!/usr/bin/env bash
# startup.sh: how long shopctl takes to come up, and to run one trivial scenario.
#
# Measures, over N runs each (median, min, max):
#   - wall time from launching `shopctl serve --ephemeral --gateway-port P --log-level warn`
#     until its first stdout line ("the shop is up in N ms", printed once every service is
#     ready), taken with bash's $EPOCHREALTIME (no fork) around the launch and the read of that line;
#   - wall time from the launch until the gateway answers HTTP (polled right after the first
#     line with a GET over bash's /dev/tcp, so no process start is counted; any status counts: it is the first answer that matters);
#     (also: how long that first answered request itself took);
#   - the "up in N ms" that serve reports about itself (its own clock starts later than ours:
#     a large gap to the wall time is work done before its timer starts);
#   - how long a graceful stop (SIGINT) takes;
#   - wall time of `shopctl run scenarios/flow/checkout-and-pay.yaml` (a fresh in-process shop,
#     one 7-step scenario, process start to exit).
#
# Usage:  bench/startup.sh [runs=10]
# Env:    SHOPCTL=./build/shopctl   SCENARIO=scenarios/flow/checkout-and-pay.yaml
# Needs:  ./scripts/build.sh (the binary), curl, python3.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

runs=${1:-10}
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 ]] || bench_die "runs must be a whole number >= 1, not '$runs'"
scenario=${SCENARIO:-scenarios/flow/checkout-and-pay.yaml}
[[ -f "$scenario" ]] || bench_die "no scenario file $scenario"

ms_since() { "$PY" -c 'import sys; print("%.1f" % ((int(sys.argv[2]) - int(sys.argv[1])) / 1e6))' "$1" "$2"; }

line_ms=(); http_ms=(); req_ms=(); self_ms=(); stop_ms=()
for ((i = 1; i <= runs; i++)); do
  # shellcheck disable=SC2119
  SERVE_DRAIN_LATER=1 serve_start
  # The gateway should answer at once; poll anyway (tightly, for at most 10 s) in case not.
  # The check uses bash's /dev/tcp, so no process start is counted; date is read via
  # $EPOCHREALTIME.
  for ((j = 0; j < 2000; j++)); do
    tq=${EPOCHREALTIME//[.,]/}000
    http_status_fast "$SERVE_PORT" "/api/catalog/products?page_size=1"
    [[ "$HTTP_CODE" != 000 ]] && break
    sleep 0.005
  done
  t2=${EPOCHREALTIME//[.,]/}000
  code=$HTTP_CODE
  serve_drain
  [[ "$code" != 000 ]] || bench_die "the gateway at $GW never answered"
  (( j > 0 )) && echo "startup: run $i: the gateway refused $j time(s) after the first line" >&2
  self=$(sed -n 's/.*is up in \([0-9.]*\) ms.*/\1/p' <<<"$SERVE_FIRST_LINE")
  line_ms+=("$(ms_since "$SERVE_T0_NS" "$SERVE_T1_NS")")
  http_ms+=("$(ms_since "$SERVE_T0_NS" "$t2")")
  req_ms+=("$(ms_since "$tq" "$t2")")
  self_ms+=("${self:-nan}")
  serve_stop
  stop_ms+=("$SERVE_STOP_MS")
  echo "startup: serve run $i: first line ${line_ms[-1]} ms, gateway answered ($code) ${http_ms[-1]} ms (that request took ${req_ms[-1]} ms), self-reported ${self_ms[-1]} ms, stop ${stop_ms[-1]} ms" >&2
done

run_ms=()
for ((i = 1; i <= runs; i++)); do
  t0=${EPOCHREALTIME//[.,]/}000
  rc=0
  "$SHOPCTL" run "$scenario" --color never >"$BENCH_TMP/run.out" 2>&1 || rc=$?
  t1=${EPOCHREALTIME//[.,]/}000
  [[ $rc -eq 0 ]] || { cat "$BENCH_TMP/run.out" >&2; bench_die "shopctl run $scenario exited $rc"; }
  run_ms+=("$(ms_since "$t0" "$t1")")
  echo "startup: run $i of $scenario: ${run_ms[-1]} ms ($(tail -n2 "$BENCH_TMP/run.out" | head -n1))" >&2
done

read -r lm lmin lmax < <(median_stats "${line_ms[@]}")
read -r hm hmin hmax < <(median_stats "${http_ms[@]}")
read -r qm _ _ < <(median_stats "${req_ms[@]}")
read -r sm smin smax < <(median_stats "${self_ms[@]}")
read -r stm _ _ < <(median_stats "${stop_ms[@]}")
read -r rm rmin rmax < <(median_stats "${run_ms[@]}")

summary_begin "startup ($runs runs each)"
summary_line startup_serve_first_line_median "$lm" ms
summary_line startup_serve_first_line_min "$lmin" ms
summary_line startup_serve_first_line_max "$lmax" ms
summary_line startup_serve_http_median "$hm" ms
summary_line startup_serve_http_min "$hmin" ms
summary_line startup_serve_http_max "$hmax" ms
summary_line startup_serve_first_request_median "$qm" ms
summary_line startup_serve_self_reported_median "$sm" ms
summary_line startup_serve_self_reported_min "$smin" ms
summary_line startup_serve_self_reported_max "$smax" ms
summary_line startup_serve_stop_median "$stm" ms
summary_line startup_run_scenario_median "$rm" ms
summary_line startup_run_scenario_min "$rmin" ms
summary_line startup_run_scenario_max "$rmax" ms
