#!/usr/bin/env bash
# The HTML reports on the real binary: `shopctl run --html` and `shopctl load --html` each write
# one file with the expected sections, no script and no reference to another site.
set -uo pipefail
shopctl=${1:?usage: reports.sh path/to/shopctl}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
has() { grep -qF -- "$2" "$1"; }                 # has FILE TEXT
lacks() { ! grep -qiE -- "$2" "$1"; }            # lacks FILE REGEX

"$shopctl" run "$here/scenarios/flow" --html "$tmp/r.html" >"$tmp/run.out" 2>&1
check "run scenarios/flow passes (exit $?)" grep -q "scenarios: .* passed, 0 failed" "$tmp/run.out"
check "run --html writes the file" test -s "$tmp/r.html"
for section in '<!DOCTYPE html>' 'id="summary"' 'id="scenarios"' '<h3>Steps</h3>' '<h3>Call graph</h3>' \
               '<svg' 'order</td><td>catalog</td>' 'checkout-and-pay.yaml'; do
  check "run report has $section" has "$tmp/r.html" "$section"
done
check "run report fetches nothing (no http(s):// src/href)" lacks "$tmp/r.html" '(src|href)="https?://'
check "run report has no script" lacks "$tmp/r.html" '<script'

# A failing scenario: its failure with the expectation, the request and the response.
sed 's/expect: {status: 200, json: {$.status: PAID/expect: {status: 299, json: {$.status: PAID/' \
  "$here/scenarios/flow/checkout-and-pay.yaml" >"$tmp/failing.yaml"
"$shopctl" run "$tmp/failing.yaml" --html "$tmp/f.html" >"$tmp/fail.out" 2>&1
code=$?
check "a failing scenario exits 4 (got $code)" test "$code" -eq 4
for section in 'class="failure"' 'Expectation:' 'Request:</p><pre>GET http' 'Response:</p><pre>200 ' ' open>'; do
  check "failure report has $section" has "$tmp/f.html" "$section"
done

"$shopctl" load --duration 2s --users 4 --html "$tmp/l.html" >"$tmp/load.out" 2>&1
code=$?
check "load --duration 2s exits 0 (got $code)" test "$code" -eq 0
check "load --html writes the file" test -s "$tmp/l.html"
for section in '<!DOCTYPE html>' 'id="summary"' 'id="timeline"' 'Latency percentiles per second' \
               'Throughput per second' '<polyline' 'id="errors"' 'id="routes"'; do
  check "load report has $section" has "$tmp/l.html" "$section"
done
check "load report fetches nothing" lacks "$tmp/l.html" '(src|href)="https?://'

echo "reports: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
