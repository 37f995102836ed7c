#!/usr/bin/env bash
# processes.sh: the checkout rate of the shop in one process next to one process per service
# (`serve --processes`), with the same closed-loop `shopctl load --target` from outside in one
# sitting. Both shops run with the same threads; the load generator is a process of its own
# in both runs, so the two figures differ only by how the shop is split.
#
# Usage:  bench/processes.sh [seconds=10] [users=32]
# Env:    SHOPCTL=./build/shopctl
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
secs=${1:-10}; users=${2:-32}
bin=${SHOPCTL:-./build/shopctl}
[[ -x "$bin" ]] || bench_die "no $bin: run ./scripts/build.sh first"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

measure() {  # measure LABEL SERVE-ARGS...: starts the shop, runs the load, prints paid/s
  local label=$1; shift
  "$bin" serve --ephemeral --gateway-port 0 "$@" >"$work/serve.txt" 2>&1 &
  local serve=$!
  local gateway="" token=""
  for _ in $(seq 1 200); do
    gateway=$(awk '/public door/ {print $3}' "$work/serve.txt")
    token=$(awk '/admin token/ {print $3}' "$work/serve.txt")
    [[ -n "$gateway" && -n "$token" ]] && break
    sleep 0.05
  done
  [[ -n "$gateway" ]] || bench_die "$label: the shop did not start: $(cat "$work/serve.txt")"
  "$bin" load --target "$gateway" --admin-token "$token" --users "$users" --mix checkout=1 \
    --duration "${secs}s" --json "$work/$label.json" >/dev/null 2>&1 || true
  kill -TERM "$serve"; wait "$serve" 2>/dev/null || true
  python3 - "$work/$label.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
orders = r.get("orders", {})
lat = r.get("journeys", {}).get("checkout", {}).get("latency_ms", {})
print(f"{sys.argv[2]:<26} paid/s {orders.get('paid_per_second', 0):8.1f}   checkout journey p50 {lat.get('p50', 0):6.1f} ms  p99 {lat.get('p99', 0):6.1f} ms")
PY
}

echo "processes.sh: closed-loop checkout, $users users, ${secs}s each, load generator out of process"
measure "one process" --threads 2
measure "one process per service" --processes --threads 1
