#!/usr/bin/env bash
# memory.sh: resident memory of `shopctl serve` (all six services in one process), idle and
# under the browse load.
#
# Measures, from /proc/PID/status of the serve process:
#   - idle: VmRSS and VmHWM (peak RSS) 1 s after the shop is up, before any request;
#   - after one login (the demo user's password check): VmRSS and VmHWM;
#   - under load: wrk -t1 -c$conns -d${secs}s on GET /api/catalog/products?page_size=20 with a
#     valid JWT (the browse.sh load); VmRSS sampled every 100 ms during the load, the largest
#     sample reported, plus VmHWM and VmRSS at the end and the thread count.
# Targets: idle < 30 MB, under load < 100 MB (MB = 1024 * 1024 bytes here, as /proc's kB are KiB).
#
# Usage:  bench/memory.sh [seconds=10] [connections=64]
# Env:    SHOPCTL=./build/shopctl   SERVE_ARGS="--threads 2"  (extra arguments for shopctl serve)
# Needs:  ./scripts/build.sh (the binary), ./scripts/setup.sh --bench (wrk, curl), python3, Linux /proc.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

secs=${1:-10}; conns=${2:-64}
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 ]] || bench_die "seconds must be a whole number >= 1, not '$secs'"
[[ "$conns" =~ ^[0-9]+$ && "$conns" -ge 1 ]] || bench_die "connections must be a whole number >= 1, not '$conns'"
need_cmd wrk

# status_kb FIELD: the value (kB) of one field of /proc/$SERVE_PID/status, read without a fork.
status_kb() {
  local k v rest
  while read -r k v rest; do
    [[ "$k" == "$1:" ]] && { echo "$v"; return 0; }
  done <"/proc/$SERVE_PID/status"
  bench_die "no $1 in /proc/$SERVE_PID/status (did serve exit?)"
}
mb() { "$PY" -c 'import sys; print("%.1f" % (int(sys.argv[1]) / 1024))' "$1"; }

# shellcheck disable=SC2086
serve_start ${SERVE_ARGS:-}
echo "memory: $SERVE_FIRST_LINE (pid $SERVE_PID, gateway $GW)" >&2
[[ "$(readlink "/proc/$SERVE_PID/exe")" == "$(readlink -f "$SHOPCTL")" ]] ||
  bench_die "pid $SERVE_PID is not shopctl ($(readlink "/proc/$SERVE_PID/exe"))"
sleep 1
idle_rss=$(status_kb VmRSS); idle_hwm=$(status_kb VmHWM); idle_threads=$(status_kb Threads)
echo "memory: idle: VmRSS $idle_rss kB, VmHWM $idle_hwm kB, $idle_threads threads" >&2

token=$(login_token)
login_rss=$(status_kb VmRSS); login_hwm=$(status_kb VmHWM)
echo "memory: after one login: VmRSS $login_rss kB, VmHWM $login_hwm kB" >&2

url="$GW/api/catalog/products?page_size=20"
wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $token" "$url" >"$BENCH_TMP/wrk.txt" 2>&1 &
wrk_pid=$!
BENCH_BG_PIDS="$wrk_pid"
max_rss=0; samples=0
deadline=$(( ${EPOCHREALTIME//[.,]/} + (secs + 15) * 1000000 ))
while kill -0 "$wrk_pid" 2>/dev/null && (( ${EPOCHREALTIME//[.,]/} < deadline )); do
  r=$(status_kb VmRSS)
  (( r > max_rss )) && max_rss=$r
  samples=$((samples + 1))
  sleep 0.1
done
kill -0 "$wrk_pid" 2>/dev/null && bench_die "wrk did not finish within ${secs}+15 s"
wait "$wrk_pid" || bench_die "wrk failed: $(cat "$BENCH_TMP/wrk.txt")"
# shellcheck disable=SC2034
BENCH_BG_PIDS=""
cat "$BENCH_TMP/wrk.txt" >&2
load_hwm=$(status_kb VmHWM); end_rss=$(status_kb VmRSS); load_threads=$(status_kb Threads)
echo "memory: under load: max VmRSS $max_rss kB over $samples samples, then VmHWM $load_hwm kB, VmRSS $end_rss kB" >&2
serve_stop

verdict() { "$PY" -c 'import sys; print("yes" if int(sys.argv[1]) / 1024 < float(sys.argv[2]) else "no")' "$1" "$2"; }

summary_begin "memory (serve idle, then wrk -t1 -c$conns -d${secs}s browse)"
summary_line memory_idle_rss "$(mb "$idle_rss")" MB
summary_line memory_idle_hwm "$(mb "$idle_hwm")" MB
summary_line memory_idle_threads "$idle_threads" threads
summary_line memory_after_login_rss "$(mb "$login_rss")" MB
summary_line memory_after_login_hwm "$(mb "$login_hwm")" MB
summary_line memory_load_rss_max "$(mb "$max_rss")" MB
summary_line memory_load_rss_samples "$samples" samples
summary_line memory_load_hwm "$(mb "$load_hwm")" MB
summary_line memory_load_end_rss "$(mb "$end_rss")" MB
summary_line memory_load_threads "$load_threads" threads
summary_line memory_load_rps "$(wrk_field "$BENCH_TMP/wrk.txt" rps)" req/s
summary_line memory_target_idle 30 MB
summary_line memory_target_idle_met "$(verdict "$idle_hwm" 30)"
summary_line memory_target_load 100 MB
summary_line memory_target_load_met "$(verdict "$load_hwm" 100)"
