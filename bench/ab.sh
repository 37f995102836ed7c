#!/usr/bin/env bash
# ab.sh: two shopctl binaries side by side, in interleaved runs A B B A, A B B A, ... (the ABBA
# order: a host that speeds up or slows down during the sitting favours neither), each run one
# `shopctl load --mix checkout=1`. Per run: paid orders/s, the checkout journey's p50 and p99,
# the shop's CPU per paid order (shopctl load reads its own threads' CPU clocks, so the load
# generator is left out) and, when perf works, the whole process's context switches and
# syscalls per paid order. Then, per binary, the median of each figure, and new / old.
#
# On a shared VM the same binary's rate moves by 10-25 % within minutes (docs/performance.md),
# more than most changes; a claim needs the medians of several rounds, and the counts (context
# switches, syscalls per order) move far less than the times.
#
# Usage:  bench/ab.sh OLD_BINARY NEW_BINARY [rounds=2] [seconds=6]   (a round is 4 runs)
# Env:    LOAD="--users 32"  the load of each run: "--users 1" (one shopper, latency without
#                            queueing), "--rate 400" (open loop), ...
#         SEED=1; AB_PERF=auto|0  (0: no perf stat)
# Needs:  python3; optionally perf (Debian linux-perf, as root) for the counts.
set -euo pipefail
BENCH_NO_SHOPCTL=1
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 2 ]] || bench_die "usage: bench/ab.sh OLD_BINARY NEW_BINARY [rounds=2] [seconds=6]"
old=$1; new=$2; rounds=${3:-2}; secs=${4:-6}
for b in "$old" "$new"; do [[ -x "$b" && -f "$b" ]] || bench_die "not an executable file: $b"; done
[[ "$rounds" =~ ^[0-9]+$ && "$rounds" -ge 1 ]] || bench_die "rounds must be a whole number >= 1, not '$rounds'"
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 ]] || bench_die "seconds must be a whole number >= 1, not '$secs'"
read -r -a load <<<"${LOAD:---users 32}"

events=context-switches,raw_syscalls:sys_enter
use_perf=0
if [[ "${AB_PERF:-auto}" != 0 ]] && command -v perf >/dev/null 2>&1 &&
  perf stat -x, -e "$events" -o /dev/null true >/dev/null 2>&1; then
  use_perf=1
fi

order=()
for ((r = 0; r < rounds; r++)); do order+=(old new new old); done
n=0
for who in "${order[@]}"; do
  n=$((n + 1))
  bin=$old; [[ "$who" == new ]] && bin=$new
  json="$BENCH_TMP/run$n.json"; counts="$BENCH_TMP/run$n.perf"
  cmd=("$bin" load "${load[@]}" --mix checkout=1 --duration "${secs}s" --seed "${SEED:-1}"
    --quiet --json "$json")
  echo "ab: run $n/${#order[@]} ($who): ${cmd[*]}" >&2
  rc=0
  if [[ $use_perf == 1 ]]; then
    timeout --foreground -k 5 $((secs * 3 + 60)) perf stat -x, -e "$events" -o "$counts" -- \
      "${cmd[@]}" >/dev/null 2>&1 || rc=$?
  else
    timeout --foreground -k 5 $((secs * 3 + 60)) "${cmd[@]}" >/dev/null 2>&1 || rc=$?
  fi
  [[ -s "$json" ]] || bench_die "run $n ($who) exited $rc and wrote no JSON report"
  echo "$who $json $counts" >>"$BENCH_TMP/runs"
done

"$PY" - "$BENCH_TMP/runs" "${LOAD:---users 32}" "$secs" "$rounds" <<'EOF'
import json, os, statistics, sys
runs, load, secs, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
figures = ("paid_per_s", "p50_ms", "p99_ms", "shop_cpu_ms_per_order", "cs_per_order",
           "syscalls_per_order")
per = {"old": {f: [] for f in figures}, "new": {f: [] for f in figures}}
for line in open(runs):
    who, js, counts = line.split()
    r = json.load(open(js))
    paid = r["orders"]["paid"]
    row = {"paid_per_s": r["orders"]["paid_per_second"],
           "p50_ms": r["journeys"]["checkout"]["latency_ms"]["p50"],
           "p99_ms": r["journeys"]["checkout"]["latency_ms"]["p99"],
           "shop_cpu_ms_per_order": r.get("cpu", {}).get("shop_ms_per_paid_order")}
    if os.path.exists(counts) and paid:
        for l in open(counts):
            p = l.strip().split(",")
            if len(p) > 2 and p[0].replace(".", "", 1).isdigit():
                key = "cs_per_order" if p[2] == "context-switches" else "syscalls_per_order"
                row[key] = float(p[0]) / paid
    for f in figures:
        if row.get(f) is not None: per[who][f].append(row[f])
    print("ab: %-3s %s" % (who, "  ".join("%s %.3f" % (f, row[f]) for f in figures
                                          if row.get(f) is not None)), file=sys.stderr)
print("== summary: ab (shopctl load %s --mix checkout=1, %s s per run, %s ABBA rounds) ==" %
      (load, secs, rounds))
print("ab_runs_per_binary: %d runs" % len(per["old"]["paid_per_s"]))
units = {"paid_per_s": "orders/s", "p50_ms": "ms", "p99_ms": "ms", "shop_cpu_ms_per_order": "ms",
         "cs_per_order": "", "syscalls_per_order": ""}
for f in figures:
    if not per["old"][f] or not per["new"][f]: continue
    o, n = statistics.median(per["old"][f]), statistics.median(per["new"][f])
    print(("ab_old_%s_median: %.3f %s" % (f, o, units[f])).rstrip())
    print(("ab_new_%s_median: %.3f %s" % (f, n, units[f])).rstrip())
    print("ab_%s_new_over_old: %.3f" % (f, n / o if o else float("nan")))
EOF
