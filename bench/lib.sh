# shellcheck shell=bash disable=SC2034
# Shared helpers for the bench/ scripts (sourced, not run).
#
# Provides: $root (repo root), $SHOPCTL (absolute path, checked unless BENCH_NO_SHOPCTL=1 is
# set before sourcing: a script that does not run the shop), $BENCH_TMP (temp dir,
# removed at exit), need_cmd, free_port, serve_start/serve_stop (one `shopctl serve
# --ephemeral` at a time: $SERVE_PID, $SERVE_PORT, $GW, $SERVE_FIRST_LINE, $SERVE_LOG),
# login_token, wrk_field, median_stats, summary_begin/summary_line, cpu_snapshot/steal_pct.
# The EXIT trap stops serve (SIGINT, then SIGKILL after 5 s), any background helper
# listed in $BENCH_BG_PIDS, and removes $BENCH_TMP.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

bench_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 ||
      bench_die "needs '$c' (run ./scripts/setup.sh --bench: it installs nginx-light, wrk, curl, heaptrack, strace)"
  done
}

SHOPCTL=${SHOPCTL:-./build/shopctl}
[[ "$SHOPCTL" == /* ]] || SHOPCTL="$root/$SHOPCTL"
[[ -n "${BENCH_NO_SHOPCTL:-}" || -x "$SHOPCTL" ]] ||
  bench_die "no shopctl binary at $SHOPCTL: run ./scripts/build.sh first (or set SHOPCTL=path)"
need_cmd python3 curl
# Resolve python3 once: a pyenv shim costs ~0.5 s per call on a busy machine.
PY=$(python3 -c 'import sys; print(sys.executable)')

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/shopctl-bench.XXXXXX")
SERVE_PID=""
BENCH_BG_PIDS=""

# Waits at most $2 seconds (default 5) for pid $1 to exit, then SIGKILLs it.
bench_reap() {
  local pid=$1 limit=${2:-5} i
  for ((i = 0; i < limit * 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && { echo "bench: pid $pid did not stop in ${limit}s, killing it" >&2; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local p
  for p in $BENCH_BG_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $BENCH_BG_PIDS; do bench_reap "$p" 3; done
  [[ -n "$SERVE_PID" ]] && serve_stop
  [[ -n "${serve_fd:-}" ]] && { exec {serve_fd}<&-; } 2>/dev/null
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A random port in 20000-39999 that nobody listens on right now (checked by binding it).
free_port() {
  local p i
  for ((i = 0; i < 50; i++)); do
    p=$((20000 + RANDOM % 20000))
    "$PY" -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null && { echo "$p"; return 0; }
  done
  bench_die "found no free port"
}

# serve_start [extra serve args...]: starts `shopctl serve --ephemeral` on a free port and
# returns when its first stdout line ("... the shop is up in N ms") has appeared, i.e. when
# every service is ready. Sets SERVE_PID (the shopctl process itself), SERVE_PORT, GW,
# SERVE_FIRST_LINE, SERVE_T0_NS/SERVE_T1_NS (wall clock before launch / after the first line),
# SERVE_LOG (the rest of stdout+stderr). Retries twice with another port if serve exits early.
serve_start() {
  local attempt fifo
  for attempt in 1 2 3; do
    SERVE_PORT=$(free_port)
    GW="http://127.0.0.1:$SERVE_PORT"
    fifo="$BENCH_TMP/serve.fifo"; rm -f "$fifo"; mkfifo "$fifo"
    SERVE_LOG="$BENCH_TMP/serve.$SERVE_PORT.log"
    SERVE_T0_NS=${EPOCHREALTIME//[.,]/}000
    "$SHOPCTL" serve --ephemeral --gateway-port "$SERVE_PORT" --log-level warn "$@" >"$fifo" 2>"$SERVE_LOG.err" &
    SERVE_PID=$!
    exec {serve_fd}<"$fifo"
    SERVE_FIRST_LINE=""
    if IFS= read -r -t 30 -u "$serve_fd" SERVE_FIRST_LINE; then
      SERVE_T1_NS=${EPOCHREALTIME//[.,]/}000
      [[ -n "${SERVE_DRAIN_LATER:-}" ]] || serve_drain
      [[ "$SERVE_FIRST_LINE" == *"is up in"* ]] && return 0
      echo "bench: unexpected first line from serve: $SERVE_FIRST_LINE" >&2
    fi
    { exec {serve_fd}<&-; } 2>/dev/null; serve_fd=""
    echo "bench: serve did not come up on port $SERVE_PORT (attempt $attempt):" >&2
    sed 's/^/  /' "$SERVE_LOG.err" >&2 2>/dev/null || true
    serve_stop
  done
  bench_die "shopctl serve would not start"
}

# Drains the rest of serve's stdout into $SERVE_LOG so serve never blocks on (or dies of) a
# full or closed pipe. serve_start calls it, unless SERVE_DRAIN_LATER is set (then call it
# yourself soon: it forks, which startup.sh keeps out of its timing).
serve_drain() {
  [[ -n "${serve_fd:-}" ]] || return 0
  cat <&"$serve_fd" >"$SERVE_LOG" &
  BENCH_BG_DRAIN=$!
  exec {serve_fd}<&-
  serve_fd=""
}

# Stops serve with SIGINT (graceful), waits up to 10 s, then SIGKILL. Sets SERVE_STOP_MS.
serve_stop() {
  [[ -n "$SERVE_PID" ]] || return 0
  serve_drain
  local t0
  t0=${EPOCHREALTIME//[.,]/}000
  kill -INT "$SERVE_PID" 2>/dev/null || true
  bench_reap "$SERVE_PID" 10
  SERVE_STOP_MS=$(( (${EPOCHREALTIME//[.,]/}000 - t0) / 1000000 ))
  [[ -n "${BENCH_BG_DRAIN:-}" ]] && { wait "$BENCH_BG_DRAIN" 2>/dev/null || true; BENCH_BG_DRAIN=""; }
  SERVE_PID=""
}

# Prints an access token for the demo user of the shop at $GW.
login_token() {
  curl -sf --max-time 5 -X POST "$GW/api/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"demo@shop.test","password":"demo-password-1"}' |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' ||
    bench_die "login at $GW failed"
}

# wrk_field FILE rps|p50|p90|p99|errors : one figure from `wrk --latency` output
# (latencies converted to ms; errors = socket errors + non-2xx/3xx responses).
wrk_field() {
  "$PY" - "$1" "$2" <<'EOF'
import re, sys
text = open(sys.argv[1]).read(); what = sys.argv[2]
def ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    n, u = float(m.group(1)), m.group(2)
    return n * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[u]
if what == "rps":
    print(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
elif what in ("p50", "p75", "p90", "p99"):
    m = re.search(r"^\s+%s%%\s+(\S+)" % what[1:], text, re.M)
    print("%.3f" % ms(m.group(1)))
elif what == "errors":
    n = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m: n += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m: n += int(m.group(1))
    print(n)
EOF
}

# median_stats v1 v2 ... : prints "median min max" (3 decimals).
median_stats() {
  "$PY" -c 'import statistics,sys
v=[float(x) for x in sys.argv[1:]]
print("%.3f %.3f %.3f" % (statistics.median(v), min(v), max(v)))' "$@"
}

# http_status_fast PORT PATH: sets HTTP_CODE to the status of one GET on 127.0.0.1:PORT, via
# bash's /dev/tcp (no process started: call it directly, not in $(...)); "000" if nothing answers.
http_status_fast() {
  local fd line code=000
  if { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
    { printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&"$fd"; } 2>/dev/null || true
    if IFS= read -r -t 2 -u "$fd" line 2>/dev/null; then
      [[ "$line" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] && code=${BASH_REMATCH[1]}
    fi
    exec {fd}>&-
  fi
  HTTP_CODE=$code
}

# The summary block: always the last thing a script prints on stdout.
# The machine's CPU time so far, from /proc/stat's "cpu" line: "<steal> <total>" in ticks.
# On a virtual machine, steal is the time the host ran something else while this guest had
# work: the share of the run the host took away, which no change to shopctl can win back.
cpu_snapshot() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat; }
# steal_pct "<before>" "<after>": the percentage of all CPU time between two snapshots that
# the host stole (0.0 where the kernel reports none).
steal_pct() {
  "$PY" -c 'import sys
s0, t0 = map(int, sys.argv[1].split()); s1, t1 = map(int, sys.argv[2].split())
print("%.1f" % (100.0 * (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0))' "$1" "$2"
}

summary_begin() { echo; echo "== summary: $1 =="; }
summary_line() { printf '%s: %s %s\n' "$1" "$2" "${3:-}" | sed 's/ *$//'; }
