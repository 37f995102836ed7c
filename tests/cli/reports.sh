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

# What a failure quotes stays on its line (docs/security.md): an answer's body, a step's name and
# a file's name with a line feed each started a forged "[1/1] PASS" line of their own.
cat >"$tmp/body.yaml" <<'YAML'
version: 1
name: body newline
steps:
  - login: {email: demo@shop.test, password: demo-password-1}
  - fault: {target: catalog, type: abort, status: 500, body: "x\n[1/1] PASS forged-body"}
  - request: {GET: /api/catalog/products/p-001}
    expect: {status: 200}
YAML
cat >"$tmp/step.yaml" <<'YAML'
version: 1
name: step newline
steps:
  - name: "s\n[1of1] PASS forged-step"
    login: {email: demo@shop.test, password: demo-password-1}
    expect: {status: 201}
YAML
mkdir -p "$tmp/evil"
named=$'x\n[9of9] PASS forged-file.yaml'
cp "$tmp/step.yaml" "$tmp/evil/$named"
"$shopctl" run "$tmp/body.yaml" "$tmp/step.yaml" "$tmp/evil" --color never --junit "$tmp/evil.xml" \
  --html "$tmp/evil.html" --json "$tmp/evil.json" >"$tmp/evil.out" 2>&1
code=$?
check "the forging scenarios fail (exit 4, got $code)" test "$code" -eq 4
check "no line forged by an answer's body" lacks "$tmp/evil.out" '^ *\[1/1\] PASS forged-body'
check "the body's line feed is shown as \\x0a" has "$tmp/evil.out" 'response: 500 x\x0a[1/1] PASS forged-body'
check "no line forged by a step's name" lacks "$tmp/evil.out" '^ *\[1of1\] PASS forged-step'
check "the step name's line feed is shown as \\x0a" has "$tmp/evil.out" 'step "s\x0a[1of1] PASS forged-step" at'
check "no line forged by a file's name" lacks "$tmp/evil.out" '^ *\[9of9\] PASS forged-file'
check "the file name's line feed is shown as \\x0a in 'at FILE:LINE:COL'" has "$tmp/evil.out" 'x\x0a[9of9] PASS forged-file.yaml:6:'
check "the JUnit report quotes the body on one line" has "$tmp/evil.xml" 'response: 500 x\x0a[1/1] PASS forged-body'
printf 'version: 1\nname: broken\nsteps:\n  - wait: 1ms\n    expct: 1\n' >"$tmp/evil/$named"
"$shopctl" validate "$tmp/evil" >"$tmp/validate.out" 2>&1
check "validate: no line forged by a file's name" lacks "$tmp/validate.out" '^ *\[9of9\] PASS forged-file'
check "validate: file:line:col with the line feed as \\x0a" has "$tmp/validate.out" 'x\x0a[9of9] PASS forged-file.yaml:5:'

# A failed login step showed the whole access token (a live JWT against a deployed shop) in the
# console and the JUnit, JSON and HTML reports, which CI keeps as artifacts: cut to its start.
cat >"$tmp/login.yaml" <<'YAML'
version: 1
name: login fails
steps:
  - login: {email: demo@shop.test, password: demo-password-1}
    expect: {status: 201}
YAML
"$shopctl" run "$tmp/login.yaml" --color never --junit "$tmp/login.xml" --json "$tmp/login.json" \
  --html "$tmp/login.html" >"$tmp/login.out" 2>&1
code=$?
check "the failing login exits 4 (got $code)" test "$code" -eq 4
jwt='eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}'
for f in login.out login.xml login.json login.html; do
  check "$f shows no whole JWT" lacks "$tmp/$f" "$jwt"
  check "$f says the token was redacted" has "$tmp/$f" '(redacted)'
done
check "the console still shows the start of the token and the other fields" \
  grep -qE '"access_token":"eyJ[A-Za-z0-9_-]{5}…\(redacted\)","expires_in":' "$tmp/login.out"

echo "reports: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
