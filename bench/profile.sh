#!/usr/bin/env bash
# profile.sh: heap allocations and system calls of the shop per browse request and per paid
# order, counted by heaptrack and strace (counts, not times: they barely move with the
# machine's load).
#
# Method: `shopctl serve --ephemeral` runs under the tool (heaptrack, or `strace -f -c`), the
# load comes from a separate process, serve is stopped with SIGINT, and the tool's total is
# read. Each measurement is made twice, with a short and a long load, and the figure is the
# difference of the two totals divided by the difference of the work done, which removes
# start-up, sign-in and shutdown:
#   browse:   wrk -t1 -c4 on GET /api/catalog/products?page_size=20 with the demo user's JWT,
#             ended by a Lua hook after N answers; the work is the gateway's own count of
#             client requests (GET /_admin/edges, edge client->gateway), which also counts
#             the few still in flight when wrk ends;
#   checkout: shopctl load --target <gateway> --mix checkout=1 --users 8 (a process of its
#             own, so its work is not counted); the work is orders.paid of its JSON report.
#             HTTP requests per order: what the six services answered (the sum of
#             shopctl_http_requests_total of every service's /metrics, /_admin left out), so
#             each exchange counts once, the client's four included.
# Prints per request / per order: allocations (heaptrack's "calls to allocation functions"),
# system calls and the five most frequent, fsync+fdatasync (syncs that reach the disk), for
# checkout the HTTP requests; on stderr the top allocation sites (heaptrack_print --diff).
# The tools slow the shop down (heaptrack ~2x, strace ~10x): only counts mean anything here.
# Time-driven work (background loops, lock waits) is spread over fewer orders when the shop is
# slowed down, which inflates futex/epoll_wait and the background commits per order under
# strace; SYSCALLS=perf counts with `perf stat` tracepoints instead, at almost full speed.
#
# Usage:  bench/profile.sh [browse|checkout|all]     (default all, ~1.5-2 min)
# Env:    SHOPCTL=./build/shopctl   SERVE_ARGS="--threads 2" (extra serve arguments)
#         BROWSE_REQUESTS="1000 5000"   the short and the long browse load (requests)
#         CHECKOUT_SECONDS="2 6"        the short and the long checkout load under heaptrack/perf
#         STRACE_CHECKOUT_SECONDS="2 10"   the same under strace
#         CHECKOUT_USERS=8   SYSCALLS=strace|perf (default strace)
#         PROFILE_KEEP=dir   keep the tools' files there (heaptrack --analyze FILE, the tables)
# Needs:  ./scripts/build.sh (the binary), ./scripts/setup.sh --bench (wrk, heaptrack, strace,
#         curl), python3; `perf` for SYSCALLS=perf. Exits 2 when one is missing.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

what=${1:-all}
case "$what" in browse|checkout|all) ;; *) bench_die "usage: bench/profile.sh [browse|checkout|all], not '$what'" ;; esac
sys_tool=${SYSCALLS:-strace}
case "$sys_tool" in strace|perf) ;; *) bench_die "SYSCALLS is strace or perf, not '$sys_tool'" ;; esac
for c in wrk heaptrack heaptrack_print "$sys_tool"; do
  command -v "$c" >/dev/null 2>&1 ||
    bench_die "needs '$c' (./scripts/setup.sh --bench installs wrk, heaptrack, strace; Debian: apt-get install $c)"
done
read -r b1 b2 <<<"${BROWSE_REQUESTS:-1000 5000}"
read -r k1 k2 <<<"${CHECKOUT_SECONDS:-2 6}"
if [[ "$sys_tool" == strace ]]; then read -r s1 s2 <<<"${STRACE_CHECKOUT_SECONDS:-2 10}"; else s1=$k1; s2=$k2; fi
users=${CHECKOUT_USERS:-8}
for v in "$b1" "$b2" "$k1" "$k2" "$s1" "$s2" "$users"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -ge 1 ]] || bench_die "BROWSE_REQUESTS, *CHECKOUT_SECONDS and CHECKOUT_USERS take whole numbers >= 1, not '$v'"
done
((b2 > b1 && k2 > k1 && s2 > s1)) || bench_die "the second of BROWSE_REQUESTS / *CHECKOUT_SECONDS must be the longer load"
if [[ "$what" != browse ]] && ! "$SHOPCTL" load --help 2>&1 | grep -q -- '--target'; then
  bench_die "$SHOPCTL has no 'shopctl load --target': rebuild with ./scripts/build.sh"
fi
if [[ "$sys_tool" == perf ]]; then
  perf stat -e raw_syscalls:sys_enter -o /dev/null -- true 2>/dev/null ||
    bench_die "perf cannot count syscall tracepoints here (root, or kernel.perf_event_paranoid <= 1)"
fi

SHOP_PID=""; TOOL_PID=""; ADMIN=""

# tool_start heaptrack|strace|perf RUN: starts serve under the tool, waits until its stdout shows the
# gateway and the admin token. Sets TOOL_PID, SHOP_PID (shopctl itself), GW, ADMIN.
tool_start() {
  local tool=$1 out="$BENCH_TMP/$2" i
  local -a wrap
  case "$tool" in
    heaptrack) wrap=(heaptrack -o "$out.heaptrack") ;;
    strace) wrap=(strace -f -c -o "$out.syscalls") ;;
    perf) wrap=(perf stat -x ',' -e 'syscalls:sys_enter_*' -o "$out.syscalls" --) ;;
  esac
  # shellcheck disable=SC2086
  "${wrap[@]}" "$SHOPCTL" serve --ephemeral --gateway-port 0 --log-level warn ${SERVE_ARGS:-} \
    >"$out.serve" 2>&1 </dev/null &
  TOOL_PID=$!; SHOP_PID=""; GW=""; ADMIN=""
  BENCH_BG_PIDS="$TOOL_PID"
  for ((i = 0; i < 600; i++)); do  # 60 s: start-up under heaptrack is slow on a busy machine
    # The child's name is the binary's (SHOPCTL may name a copy), cut to the kernel's 15 bytes.
    [[ -z "$SHOP_PID" ]] && SHOP_PID=$(pgrep -P "$TOOL_PID" -x "$(basename "$SHOPCTL" | cut -c1-15)" || true)
    GW=$(awk '/public door/ {print $3}' "$out.serve")
    ADMIN=$(awk '/admin token/ {print $3}' "$out.serve")
    [[ -n "$GW" && -n "$ADMIN" && -n "$SHOP_PID" ]] && break
    kill -0 "$TOOL_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$GW" && -n "$ADMIN" && -n "$SHOP_PID" ]] ||
    { sed 's/^/  /' "$out.serve" >&2; bench_die "shopctl serve under $tool did not come up in 60 s"; }
  # The shop first, so that an abort never leaves it running without its tool.
  BENCH_BG_PIDS="$SHOP_PID $TOOL_PID"
}

# tool_stop: SIGINT to shopctl (a graceful stop), then waits for the tool to write its report.
tool_stop() {
  kill -INT "$SHOP_PID" 2>/dev/null || true
  bench_reap "$SHOP_PID" 20
  bench_reap "$TOOL_PID" 90
  BENCH_BG_PIDS=""; SHOP_PID=""; TOOL_PID=""
}

# client_requests: the requests from outside the shop so far (its call record of the edge
# client->gateway, GET /_admin/edges; admin requests are not recorded).
client_requests() {
  curl -sf --max-time 10 -H "X-Admin-Token: $ADMIN" "$GW/_admin/edges" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["edges"].get("client->gateway", {}).get("calls", 0))' ||
    bench_die "GET $GW/_admin/edges failed"
}

# served_requests RUN: the requests the six services have answered so far, /_admin excluded
# (shopctl_http_requests_total of each service's /metrics; the service URLs are serve's table).
served_requests() {
  local url n total=0 urls
  urls=$(awk '$1 ~ /^(gateway|auth|catalog|order|payment|provider)$/ && $2 ~ /^http/ {print $2}' "$BENCH_TMP/$1.serve")
  [[ $(wc -l <<<"$urls") -eq 6 ]] || bench_die "found no six service URLs in serve's output ($BENCH_TMP/$1.serve)"
  while read -r url; do
    n=$(curl -sf --max-time 10 "$url/metrics" |
      awk '/^shopctl_http_requests_total\{/ && !/route="\/_admin/ {s += $NF} END {printf "%d", s}') ||
      bench_die "GET $url/metrics failed"
    total=$((total + n))
  done <<<"$urls"
  echo "$total"
}

# wrk ends after $STOP_AFTER answers: it has no request count of its own, and thread:stop()
# still waits out -d. Its report is lost; the count comes from the shop.
cat >"$BENCH_TMP/stop.lua" <<'EOF'
local limit, n = tonumber(os.getenv("STOP_AFTER")), 0
function response(status)
  n = n + 1
  if status ~= 200 then io.stderr:write("wrk: status " .. status .. "\n"); os.exit(1) end
  if n >= limit then io.stdout:write(n .. " answers of 200\n"); os.exit(0) end
end
EOF

# browse_run TOOL REQUESTS: one browse measurement; writes $BENCH_TMP/browse.TOOL.REQUESTS.work
browse_run() {
  local tool=$1 n=$2 run="browse.$1.$2" url token code
  tool_start "$tool" "$run"
  token=$(login_token)
  url="$GW/api/catalog/products?page_size=20"
  code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
  [[ "$code" == 200 ]] || bench_die "GET $url answered $code, not 200"
  echo "profile: browse under $tool, wrk -t1 -c4, $n requests" >&2
  STOP_AFTER=$n timeout -k 5 100 wrk -t1 -c4 -d90s --timeout 10s -s "$BENCH_TMP/stop.lua" \
    -H "Authorization: Bearer $token" "$url" >"$BENCH_TMP/$run.wrk" ||
    bench_die "wrk failed under $tool: $(cat "$BENCH_TMP/$run.wrk")"
  grep answers "$BENCH_TMP/$run.wrk" | sed 's/^/  wrk: /' >&2
  client_requests >"$BENCH_TMP/$run.work"
  tool_stop
}

# checkout_run TOOL SECONDS: one checkout measurement; writes .work (paid orders) and .http
checkout_run() {
  local tool=$1 secs=$2 run="checkout.$1.$2" rc=0
  tool_start "$tool" "$run"
  echo "profile: checkout under $tool, shopctl load --target $GW --mix checkout=1 --users $users --duration ${secs}s" >&2
  timeout -k 5 $((secs * 3 + 90)) "$SHOPCTL" load --target "$GW" --admin-token "$ADMIN" \
    --mix checkout=1 --users "$users" --duration "${secs}s" --quiet --json "$BENCH_TMP/$run.json" \
    >"$BENCH_TMP/$run.load" 2>&1 || rc=$?
  [[ -s "$BENCH_TMP/$run.json" ]] ||
    { sed 's/^/  /' "$BENCH_TMP/$run.load" >&2; bench_die "shopctl load under $tool exited $rc and wrote no report"; }
  "$PY" - "$BENCH_TMP/$run.json" "$BENCH_TMP/$run.work" <<'EOF' >&2
import json, sys
r = json.load(open(sys.argv[1])); o = r["orders"]
open(sys.argv[2], "w").write("%d\n" % o["paid"])
print("  load: %d orders paid, %d failed, %d unsettled, %d requests, %d errors"
      % (o["paid"], o["failed"], o.get("unsettled", 0), r["requests"]["total"], r["requests"]["errors"]))
EOF
  served_requests "$run" >"$BENCH_TMP/$run.http"
  tool_stop
}

# heaptrack_total RUN: heaptrack's "calls to allocation functions" of one run.
heaptrack_total() {
  local f
  f=$(compgen -G "$BENCH_TMP/$1.heaptrack.*" | head -n1) || bench_die "heaptrack wrote no file for $1"
  heaptrack_print -f "$f" -p 0 -a 0 -T 0 -l 0 >"$BENCH_TMP/$1.hprint" 2>&1 || true
  sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' "$BENCH_TMP/$1.hprint" | grep . ||
    bench_die "no 'calls to allocation functions' in heaptrack_print's output for $1 (see $BENCH_TMP/$1.hprint)"
}

# alloc_sites RUN1 RUN2 UNIT N: stderr: the functions with the most allocation calls in RUN2
# minus RUN1 (heaptrack_print --diff), per UNIT (N units apart).
alloc_sites() {
  local f1 f2
  f1=$(compgen -G "$BENCH_TMP/$1.heaptrack.*" | head -n1); f2=$(compgen -G "$BENCH_TMP/$2.heaptrack.*" | head -n1)
  heaptrack_print -f "$f2" -d "$f1" -a 1 -p 0 -T 0 -l 0 -n 8 -s 0 2>/dev/null |
    "$PY" -c 'import re, sys
lines = sys.stdin.read().splitlines(); unit, n = sys.argv[1], float(sys.argv[2])
print("profile: the most allocation calls per %s (heaptrack_print --diff):" % unit, file=sys.stderr)
for i, l in enumerate(lines):
    m = re.match(r"(\d+) calls to allocation functions", l)
    if m and i + 1 < len(lines):
        where = lines[i + 1]
        if where.startswith("0x") and i + 2 < len(lines): where += " " + lines[i + 2].strip()
        print("  %7.2f  %s" % (int(m.group(1)) / n, where[:150]), file=sys.stderr)' "$3" "$4" || true
}

# figures KIND UNIT HEAPRUN1 HEAPRUN2 SYSRUN1 SYSRUN2: the summary lines of one kind of load.
figures() {
  local kind=$1 unit=$2 h1=$3 h2=$4 y1=$5 y2=$6 a1 a2
  a1=$(heaptrack_total "$h1"); a2=$(heaptrack_total "$h2")
  alloc_sites "$h1" "$h2" "$unit" "$(($(cat "$BENCH_TMP/$h2.work") - $(cat "$BENCH_TMP/$h1.work")))"
  "$PY" - "$BENCH_TMP" "$kind" "$unit" "$sys_tool" "$h1" "$h2" "$y1" "$y2" "$a1" "$a2" <<'EOF'
import os, re, sys
tmp, kind, unit, tool, h1, h2, y1, y2 = sys.argv[1:9]
a1, a2 = int(sys.argv[9]), int(sys.argv[10])
def die(msg): sys.exit("profile.sh: " + msg)
def num(run, ext): return int(open(os.path.join(tmp, run + ext)).read())
def syscalls(run):
    calls, path = {}, os.path.join(tmp, run + ".syscalls")
    for line in open(path):
        if tool == "perf":  # count,,syscalls:sys_enter_NAME,...
            f = line.strip().split(",")
            if len(f) > 2 and f[2].startswith("syscalls:sys_enter_") and f[0].isdigit():
                calls[f[2][len("syscalls:sys_enter_"):]] = int(f[0])
        else:  # % time  seconds  usecs/call  calls  [errors]  syscall
            f = line.split()
            if len(f) >= 5 and re.fullmatch(r"[\d.]+", f[0]) and f[-1] != "total":
                calls[f[-1]] = int(f[3])
    if not calls: die("no syscall counts in " + path)
    return calls
w1, w2, x1, x2 = num(h1, ".work"), num(h2, ".work"), num(y1, ".work"), num(y2, ".work")
if w2 <= w1: die("%s: the long heaptrack run did no more work (%d) than the short one (%d)" % (kind, w2, w1))
if x2 <= x1: die("%s: the long %s run did no more work (%d) than the short one (%d)" % (kind, tool, x2, x1))
c1, c2 = syscalls(y1), syscalls(y2)
per = {k: (c2.get(k, 0) - c1.get(k, 0)) / (x2 - x1) for k in set(c1) | set(c2)}
def line(name, value, u=""):
    v = ("%.2f" % value) if isinstance(value, float) else value
    print(("profile_%s_%s: %s %s" % (kind, name, v, u)).rstrip())
units = unit + "s"
line("heaptrack_" + units, "%d %d" % (w1, w2), units + " (short, long run)")
line("allocs_per_" + unit, (a2 - a1) / (w2 - w1), "allocations")
line(tool + "_" + units, "%d %d" % (x1, x2), units + " (short, long run)")
line("syscalls_per_" + unit, sum(per.values()), "syscalls (" + tool + ")")
for i, (k, v) in enumerate(sorted(per.items(), key=lambda kv: -kv[1])[:5], 1):
    line("syscall_top%d" % i, "%s %.2f" % (k, v), "per " + unit)
line("fsyncs_per_" + unit, per.get("fsync", 0.0) + per.get("fdatasync", 0.0), "fsync+fdatasync")
for k in ("fsync", "fdatasync", "pwrite64", "fcntl", "futex", "epoll_wait", "recvmsg", "sendmsg", "recvfrom", "accept", "accept4", "connect"):
    if abs(per.get(k, 0)) >= 0.005: line("syscall_" + k, per[k], "per " + unit)
if kind == "checkout":
    r = [(num(h2, ".http") - num(h1, ".http")) / (w2 - w1), (num(y2, ".http") - num(y1, ".http")) / (x2 - x1)]
    line("http_requests_per_order", (r[0] + r[1]) / 2, "HTTP requests answered by the shop (the client's 4 included)")
EOF
}

out=""
if [[ "$what" == browse || "$what" == all ]]; then
  for tool in heaptrack "$sys_tool"; do
    browse_run "$tool" "$b1"; browse_run "$tool" "$b2"
  done
  out+=$(figures browse request "browse.heaptrack.$b1" "browse.heaptrack.$b2" "browse.$sys_tool.$b1" "browse.$sys_tool.$b2")$'\n'
fi
if [[ "$what" == checkout || "$what" == all ]]; then
  checkout_run heaptrack "$k1"; checkout_run heaptrack "$k2"
  checkout_run "$sys_tool" "$s1"; checkout_run "$sys_tool" "$s2"
  out+=$(figures checkout order "checkout.heaptrack.$k1" "checkout.heaptrack.$k2" "checkout.$sys_tool.$s1" "checkout.$sys_tool.$s2")$'\n'
fi

if [[ -n "${PROFILE_KEEP:-}" ]]; then
  mkdir -p "$PROFILE_KEEP"
  for f in "$BENCH_TMP"/browse.* "$BENCH_TMP"/checkout.*; do [[ -e "$f" ]] && cp "$f" "$PROFILE_KEEP"/; done
  echo "profile: the tools' files are in $PROFILE_KEEP" >&2
fi
summary_begin "profile $what (heaptrack, $sys_tool; per browse request, per paid order)"
printf '%s' "$out"
