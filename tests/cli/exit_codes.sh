#!/usr/bin/env bash
# The CLI's documented exit codes, checked on the real binary:
# 0 all passed, 1 bad command line, 2 an invalid file (nothing ran), 4 an expectation failed,
# and a broken file reported as file:line:col with the offending line and a caret.
set -uo pipefail
shopctl=${1:?usage: exit_codes.sh path/to/shopctl}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
expect_code() {  # expect_code WANT DESCRIPTION COMMAND...
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [[ $got -eq $want ]]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what: exit $got, want $want"; sed 's/^/    /' "$tmp/out" | head -20
  fi
}
expect_output() {  # expect_output PATTERN DESCRIPTION
  if grep -qE -- "$1" "$tmp/out"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $2: output lacks /$1/"; sed 's/^/    /' "$tmp/out" | head -20
  fi
}

expect_code 0 "version" "$shopctl" version
expect_code 1 "unknown subcommand" "$shopctl" frobnicate
expect_code 1 "unknown option" "$shopctl" run --no-such-flag scenarios/
expect_code 0 "help" "$shopctl" run --help
expect_output "Exit codes" "run --help documents the exit codes"

# A valid scenario passes.
cp "$here/scenarios/flow/checkout-and-pay.yaml" "$tmp/good.yaml"
expect_code 0 "a passing scenario" "$shopctl" run "$tmp/good.yaml" --jobs 1

# A deliberately broken copy: exit 2, file:line:col, the line and a caret, and nothing ran.
sed 's/^steps:/steps:\n  - request: {GET: \/api\/cart}\n    expct: {status: 200}/' "$tmp/good.yaml" > "$tmp/broken.yaml"
expect_code 2 "an invalid file" "$shopctl" run "$tmp/broken.yaml" "$tmp/good.yaml"
expect_output "broken.yaml:[0-9]+:[0-9]+: error: unknown key 'expct'" "diagnostic with file:line:col"
expect_output "^ +\^" "a caret under the column"
if grep -q "PASS" "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: a scenario ran although a file was invalid"; else passed=$((passed + 1)); fi
expect_code 2 "validate an invalid file" "$shopctl" validate "$tmp/broken.yaml"
expect_code 2 "a path that does not exist" "$shopctl" validate "$tmp/nope.yaml"

# An expectation that fails: exit 4, with the step's file:line and what came back.
sed 's/\$.status: PAID/$.status: FAILED/' "$tmp/good.yaml" > "$tmp/failing.yaml"
expect_code 4 "a failing expectation" "$shopctl" run "$tmp/failing.yaml" --junit "$tmp/junit.xml"
expect_output "failing.yaml:[0-9]+" "the failure names file:line"
expect_output 'expected \$\.status to equal "FAILED", got "PAID"' "the failure says what came back"
if grep -q '<failure' "$tmp/junit.xml" && grep -q 'tests="1"' "$tmp/junit.xml"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the JUnit report lacks the failure"; fi

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
