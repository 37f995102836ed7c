#!/usr/bin/env bash
# checkout.sh: completed (paid) orders per second, and checkout latency at half that rate,
# with `shopctl load` (which starts its own in-process shop unless given --target).
#
# Measures:
#   (a) closed loop: `shopctl load --users $users --mix checkout=1 --duration ${secs}s`; every
#       virtual user repeats the checkout journey (checkout + pay + poll until PAID) back to
#       back; the figure is orders.paid_per_second, the maximum completed orders/s;
#   (b) open loop: `shopctl load --rate R --mix checkout=1` with R = half of (a)'s paid/s
#       (journeys started per second, independent of how fast they finish); the figures are
#       the checkout journey's p50/p90/p99/max latency at that rate (and the achieved paid/s,
#       which should be close to R, and the dropped starts, which should be 0: otherwise the
#       rate was not sustained).
# Targets (issue 16): (a) >= 1000 orders/s; (b) checkout journey p99 < 10 ms at half rate.
# Each run also reports host_steal: the share of its CPU time the host took from this VM.
#
# Usage:  bench/checkout.sh [seconds=10] [users=32]
# Env:    SHOPCTL=./build/shopctl   USERS=32 (same as the 2nd argument)   SEED=1
#         LOAD_ARGS="--threads 2"  (extra arguments for both shopctl load runs)
# Needs:  ./scripts/build.sh (a binary with the `load` subcommand), python3.
# Exits 2 when `shopctl load` does not exist in the binary. Note: without --target the load
# generator and the shop share one process and the machine's cores (see LOAD_ARGS for
# --threads / --shop-threads).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

secs=${1:-10}; users=${2:-${USERS:-32}}; seed=${SEED:-1}
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 ]] || bench_die "seconds must be a whole number >= 1, not '$secs'"
[[ "$users" =~ ^[0-9]+$ && "$users" -ge 1 ]] || bench_die "users must be a whole number >= 1, not '$users'"

# CLI11 prints the top-level help (and exits 0) for an unknown subcommand with --help, so look
# for load's own options rather than trusting the exit status.
if ! "$SHOPCTL" load --help 2>&1 | grep -q -- '--users'; then
  echo "checkout.sh: $SHOPCTL has no 'load' subcommand yet (shopctl load --help does not show --users);" >&2
  echo "checkout.sh: rebuild with ./scripts/build.sh once shopctl load is in, then rerun." >&2
  exit 2
fi

# run_load NAME ARGS...: one `shopctl load` run, report in $BENCH_TMP/NAME.json.
run_load() {
  local name=$1; shift
  local rc=0 json="$BENCH_TMP/$name.json"
  # shellcheck disable=SC2086
  echo "checkout: shopctl load $* --mix checkout=1 --duration ${secs}s --seed $seed ${LOAD_ARGS:-}" >&2
  local cpu0; cpu0=$(cpu_snapshot)
  # shellcheck disable=SC2086
  timeout --foreground -k 5 $((secs * 3 + 60)) "$SHOPCTL" load "$@" --mix checkout=1 \
    --duration "${secs}s" --seed "$seed" --quiet --json "$json" ${LOAD_ARGS:-} >&2 || rc=$?
  steal_pct "$cpu0" "$(cpu_snapshot)" >"$BENCH_TMP/$name.steal"
  [[ -s "$json" ]] || bench_die "shopctl load ($name) exited $rc and wrote no JSON report"
  [[ $rc -eq 0 ]] || echo "checkout: warning: shopctl load ($name) exited $rc; using its report anyway" >&2
}

# report NAME PREFIX: summary lines of one run (python reads the JSON report).
report() {
  "$PY" - "$BENCH_TMP/$1.json" "$2" "$(cat "$BENCH_TMP/$1.steal")" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); p = sys.argv[2]; steal = sys.argv[3]
def line(name, value, unit=""):
    if isinstance(value, float): value = "%.3f" % value
    print(("%s_%s: %s %s" % (p, name, value, unit)).rstrip())
j = r.get("journeys", {}).get("checkout")
if j is None:
    sys.exit("no journeys.checkout in %s (keys: %s)" % (sys.argv[1], ", ".join(r.get("journeys", {}))))
o = r["orders"]; lat = j["latency_ms"]
line("mode", r.get("mode", "?"))
if r.get("mode") == "open":
    line("rate", float(r.get("rate", 0)), "journeys/s")
    line("user_pool", r.get("users", "?"), "users")
    if "dropped" in r: line("dropped_starts", r["dropped"], "journeys")
else:
    line("users", r.get("users", "?"), "users")
line("duration", float(r["duration_s"]), "s")
line("orders_paid_per_s", float(o["paid_per_second"]), "orders/s")
line("orders_created", o["created"], "orders"); line("orders_paid", o["paid"], "orders")
line("orders_failed", o["failed"], "orders")
if "unsettled" in o: line("orders_unsettled", o["unsettled"], "orders")
line("journeys", j["count"], "journeys"); line("journey_errors", j["errors"], "journeys")
for q in ("p50", "p90", "p99", "max"): line("journey_" + q, float(lat[q]), "ms")
line("requests_per_s", float(r["requests"]["per_second"]), "req/s")
cpu = r.get("cpu", {})
if cpu.get("shop_ms_per_paid_order") is not None:
    line("shop_cores", float(cpu["shop_cores"]), "cores")
    line("shop_cpu_per_order", float(cpu["shop_ms_per_paid_order"]), "ms")
if cpu.get("generator_ms_per_paid_order") is not None:
    line("generator_cores", float(cpu["generator_cores"]), "cores")
    line("generator_cpu_per_order", float(cpu["generator_ms_per_paid_order"]), "ms")
line("request_errors", r["requests"]["errors"], "requests")
line("host_steal", steal, "%")
for code, n in sorted(r.get("errors_by_code", {}).items()):
    print("%s_error_%s: %s requests" % (p, code.replace(" ", "_"), n))
EOF
}

run_load closed --users "$users"
closed=$(report closed checkout_closed)
paid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["orders"]["paid_per_second"])' "$BENCH_TMP/closed.json")
rate=$("$PY" -c 'import sys; print("%.1f" % (float(sys.argv[1]) / 2))' "$paid")
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)' "$rate" ||
  { echo "$closed" >&2; bench_die "the closed loop paid only $paid orders/s: nothing to halve"; }

run_load open --rate "$rate"
open=$(report open checkout_open)

verdicts=$("$PY" - "$BENCH_TMP/closed.json" "$BENCH_TMP/open.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); o = json.load(open(sys.argv[2]))
paid = c["orders"]["paid_per_second"]; p99 = o["journeys"]["checkout"]["latency_ms"]["p99"]
print("checkout_target_orders_per_s: 1000 orders/s")
print("checkout_target_orders_per_s_met: %s" % ("yes" if paid >= 1000 else "no"))
print("checkout_target_p99_half_rate: 10 ms")
print("checkout_target_p99_half_rate_met: %s" % ("yes" if p99 < 10 else "no"))
EOF
)

summary_begin "checkout (shopctl load --mix checkout=1, ${secs}s each)"
echo "$closed"
echo "$open"
echo "$verdicts"
