#!/usr/bin/env bash
# browse.sh: requests/s of the catalog browse through shopctl's gateway, against the nginx
# baseline (one nginx proxy hop in front of a static page of similar size), in the same run
# and with the same wrk settings.
#
# Measures: wrk -t1 -c$conns -d${secs}s --latency on
#   GET /api/catalog/products?page_size=20  (Authorization: Bearer <demo user's JWT>)
# against `shopctl serve --ephemeral` (1 s warm-up first), then
#   ../shared/bench/nginx-baseline/run.sh $secs $conns
# Prints shopctl and nginx requests/s, the ratio shopctl/nginx, shopctl's and nginx's p50/p99,
# both response body sizes (so the comparison is visibly fair), and the share of each run's
# CPU time that the host stole from this virtual machine (`*_host_steal`, from /proc/stat).
#
# Usage:  bench/browse.sh [seconds=10] [connections=64]
# Env:    SHOPCTL=./build/shopctl   NGINX_BASELINE=<repo>/../shared/bench/nginx-baseline/run.sh
#         SERVE_ARGS="--threads 2"   (extra arguments for shopctl serve)
# Needs:  ./scripts/build.sh (the binary), ./scripts/setup.sh --bench (wrk, nginx-light, curl),
#         python3.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

secs=${1:-10}; conns=${2:-64}
[[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 ]] || bench_die "seconds must be a whole number >= 1, not '$secs'"
[[ "$conns" =~ ^[0-9]+$ && "$conns" -ge 1 ]] || bench_die "connections must be a whole number >= 1, not '$conns'"
need_cmd wrk nginx
NGINX_BASELINE=${NGINX_BASELINE:-$root/../shared/bench/nginx-baseline/run.sh}
[[ -x "$NGINX_BASELINE" || -f "$NGINX_BASELINE" ]] || bench_die "no nginx baseline at $NGINX_BASELINE (set NGINX_BASELINE=path/to/run.sh)"
nginx_page="$(dirname "$NGINX_BASELINE")/products.json"

# --- shopctl ---------------------------------------------------------------------------
# shellcheck disable=SC2086
serve_start ${SERVE_ARGS:-}
echo "browse: $SERVE_FIRST_LINE (gateway $GW)" >&2
token=$(login_token)
url="$GW/api/catalog/products?page_size=20"
read -r shop_code shop_body shop_hdr < <(curl -s --max-time 5 -o /dev/null \
  -w '%{http_code} %{size_download} %{size_header}\n' -H "Authorization: Bearer $token" "$url")
[[ "$shop_code" == 200 ]] || bench_die "GET $url answered $shop_code, not 200"

echo "browse: warm-up 1 s" >&2
wrk -t1 -c"$conns" -d1s -H "Authorization: Bearer $token" "$url" >/dev/null
echo "browse: shopctl, wrk -t1 -c$conns -d${secs}s" >&2
cpu0=$(cpu_snapshot)
wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url" | tee "$BENCH_TMP/shop.wrk" >&2
shop_steal=$(steal_pct "$cpu0" "$(cpu_snapshot)")
serve_stop

# --- nginx baseline (same settings, same run) -------------------------------------------
echo "browse: nginx baseline, $NGINX_BASELINE $secs $conns" >&2
cpu0=$(cpu_snapshot)
bash "$NGINX_BASELINE" "$secs" "$conns" >"$BENCH_TMP/nginx.out" 2>"$BENCH_TMP/nginx.wrk" ||
  { cat "$BENCH_TMP/nginx.wrk" >&2; bench_die "the nginx baseline failed"; }
nginx_steal=$(steal_pct "$cpu0" "$(cpu_snapshot)")
cat "$BENCH_TMP/nginx.wrk" >&2

shop_rps=$(wrk_field "$BENCH_TMP/shop.wrk" rps)
nginx_rps=$(tail -n1 "$BENCH_TMP/nginx.out")
ratio=$(python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$shop_rps" "$nginx_rps")
nginx_body=$(stat -c %s "$nginx_page" 2>/dev/null || echo "?")

summary_begin "browse (wrk -t1 -c$conns -d${secs}s)"
summary_line browse_shopctl_rps "$shop_rps" req/s
summary_line browse_nginx_rps "$nginx_rps" req/s
summary_line browse_ratio_shopctl_nginx "$ratio"
summary_line browse_shopctl_p50 "$(wrk_field "$BENCH_TMP/shop.wrk" p50)" ms
summary_line browse_shopctl_p99 "$(wrk_field "$BENCH_TMP/shop.wrk" p99)" ms
summary_line browse_nginx_p50 "$(wrk_field "$BENCH_TMP/nginx.wrk" p50)" ms
summary_line browse_nginx_p99 "$(wrk_field "$BENCH_TMP/nginx.wrk" p99)" ms
summary_line browse_shopctl_errors "$(wrk_field "$BENCH_TMP/shop.wrk" errors)" responses
summary_line browse_nginx_errors "$(wrk_field "$BENCH_TMP/nginx.wrk" errors)" responses
summary_line browse_shopctl_host_steal "$shop_steal" %
summary_line browse_nginx_host_steal "$nginx_steal" %
summary_line browse_target_ratio 1.0
summary_line browse_target_ratio_met "$(python3 -c 'import sys; print("yes" if float(sys.argv[1]) >= 1.0 else "no")' "$ratio")"
summary_line browse_shopctl_body "$shop_body" bytes
summary_line browse_shopctl_headers "$shop_hdr" bytes
summary_line browse_nginx_body "$nginx_body" bytes
