#!/usr/bin/env bash
# floor.sh: the physical floor under the shop on this machine: what loopback TCP and a
# synced disk write cost at the least, without HTTP, JSON, SQLite or any allocation, and
# what that makes of one order.
#
# Compiles bench/echo/echo.cpp (plain POSIX sockets, `clang++ -O2`) into the temp folder, then:
#   (a) one kept-alive loopback TCP connection, one client thread and one server thread:
#       a REQ-byte request, a RESP-byte answer (defaults 600 and 4,738: a browse request and
#       its answer, head and body), back to back for SECONDS: p50/p99 of a round trip,
#       round trips/s, and CPU (user+system, both ends) per round trip;
#   (b) the same on 32 connections at once, the server and the client each one thread with
#       an epoll loop (both cores busy): round trips/s, p50/p99, CPU per round trip;
#   (c) a 4 KiB pwrite appended to a file in ${TMPDIR:-/tmp} (where `serve --ephemeral` keeps
#       its databases) followed by fdatasync (what SQLite calls at a commit with
#       synchronous=FULL; bench/profile.sh shows it) and, for comparison, by fsync:
#       SYNC_SAMPLES times each, p50/p99 and CPU per sync.
# Then the floor of one order: ORDER_HTTP HTTP exchanges (default 14, bench/profile.sh's
# profile_checkout_http_requests_per_order: the client's 4 requests and 10 hops inside the
# shop) and ORDER_SYNCS fdatasyncs (default 13, its profile_checkout_fsyncs_per_order):
#   - one user, everything one after another: ORDER_HTTP x (a)'s p50 + ORDER_SYNCS x (c)'s p50;
#   - the CPU ceiling: cores x 1 s / (ORDER_HTTP x (b)'s CPU per round trip), i.e. orders/s
#     if the cores did nothing but move the bytes, and the same with ORDER_SYNCS x (c)'s CPU
#     per sync added (the system time of the pwrite and the sync in the calling thread).
#
# Usage:  bench/floor.sh [seconds=3]
# Env:    ORDER_HTTP=14  ORDER_SYNCS=13  SYNC_SAMPLES=200  REQ=600  RESP=4738  CONNS=32  CXX=clang++
# Needs:  clang++ (./scripts/setup.sh), python3. No shopctl binary.
set -euo pipefail
BENCH_NO_SHOPCTL=1
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

secs=${1:-3}
order_http=${ORDER_HTTP:-14}; order_syncs=${ORDER_SYNCS:-13}; samples=${SYNC_SAMPLES:-200}
req=${REQ:-600}; resp=${RESP:-4738}; conns=${CONNS:-32}; cxx=${CXX:-clang++}
for v in "$secs" "$samples" "$req" "$resp" "$conns"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -ge 1 ]] || bench_die "seconds, SYNC_SAMPLES, REQ, RESP and CONNS take whole numbers >= 1, not '$v'"
done
for v in "$order_http" "$order_syncs"; do
  [[ "$v" =~ ^[0-9]+([.][0-9]+)?$ ]] || bench_die "ORDER_HTTP and ORDER_SYNCS take numbers >= 0, not '$v'"
done
need_cmd "$cxx"
syncdir=${TMPDIR:-/tmp}
[[ -d "$syncdir" && -w "$syncdir" ]] || bench_die "cannot write to $syncdir (TMPDIR)"
cores=$(nproc)

echo "floor: $cxx -std=c++20 -O2 -pthread bench/echo/echo.cpp" >&2
"$cxx" -std=c++20 -O2 -pthread "$root/bench/echo/echo.cpp" -o "$BENCH_TMP/echo" ||
  bench_die "bench/echo/echo.cpp did not compile with $cxx"

# run NAME ARGS...: one echo run, its `name value` lines into $BENCH_TMP/floor.txt
run() {
  local limit=$1; shift
  echo "floor: echo $*" >&2
  timeout -k 5 "$limit" "$BENCH_TMP/echo" "$@" | tee -a "$BENCH_TMP/floor.txt" | sed 's/^/  /' >&2 ||
    bench_die "echo $* failed"
}
run $((secs + 30)) rtt "$req" "$resp" "$secs"
run $((secs + 30)) conc "$conns" "$req" "$resp" "$secs"
run 120 sync fdatasync "$samples" "$syncdir"
run 120 sync fsync "$samples" "$syncdir"
fs=$(stat -f -c %T "$syncdir" 2>/dev/null || echo "?")

summary_begin "floor (loopback TCP ${req} B / ${resp} B, 4 KiB + sync in $syncdir ($fs), $cores cores)"
"$PY" - "$BENCH_TMP/floor.txt" "$order_http" "$order_syncs" "$cores" "$conns" <<'EOF'
import sys
v = {}
for line in open(sys.argv[1]):
    k, x = line.split()
    v[k] = float(x)
http, syncs, cores, conns = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def line(name, value, unit=""):
    print(("floor_%s: %s %s" % (name, value if isinstance(value, str) else "%.2f" % value, unit)).rstrip())
line("rtt_p50", v["rtt_p50_us"], "us (1 connection)")
line("rtt_p99", v["rtt_p99_us"], "us")
line("rtt_per_s", v["rtt_per_second"], "round trips/s (1 client thread, 1 server thread)")
line("rtt_cpu", v["rtt_cpu_us"], "us CPU per round trip (both ends)")
line("conc_per_s", v["conc_per_second"], "round trips/s (%s connections)" % conns)
line("conc_p50", v["conc_p50_us"], "us")
line("conc_p99", v["conc_p99_us"], "us")
line("conc_cpu", v["conc_cpu_us"], "us CPU per round trip (both ends)")
line("fdatasync_p50", v["fdatasync_p50_us"], "us (4 KiB pwrite + fdatasync)")
line("fdatasync_p99", v["fdatasync_p99_us"], "us")
line("fdatasync_cpu", v["fdatasync_cpu_us"], "us CPU per sync")
line("fsync_p50", v["fsync_p50_us"], "us (4 KiB pwrite + fsync)")
line("fsync_p99", v["fsync_p99_us"], "us")
line("order_http", "%g" % http, "HTTP exchanges per order (ORDER_HTTP)")
line("order_syncs", "%g" % syncs, "fdatasyncs per order (ORDER_SYNCS)")
net = http * v["rtt_p50_us"] / 1000; disk = syncs * v["fdatasync_p50_us"] / 1000
line("order_one_user", net + disk, "ms per order, one user (%.2f ms network + %.2f ms disk)" % (net, disk))
line("order_one_user_per_s", 1000 / (net + disk), "orders/s, one user")
net_cpu, disk_cpu = http * v["conc_cpu_us"], syncs * v["fdatasync_cpu_us"]
line("order_cpu", net_cpu + disk_cpu, "us CPU per order (%.0f us network + %.0f us syncs)" % (net_cpu, disk_cpu))
line("orders_per_s_cpu_ceiling_network", cores * 1e6 / net_cpu, "orders/s on %d cores (round trips only)" % cores)
line("orders_per_s_cpu_ceiling", cores * 1e6 / (net_cpu + disk_cpu), "orders/s on %d cores (round trips and syncs)" % cores)
EOF
