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
# serve_in_background OUT: `shopctl serve --ephemeral --gateway-port 0 --log-level warn` in the
# background, its output in OUT; once its banner is out (at most 5 s), sets served_pid,
# served_gateway and served_token.
serve_in_background() {
  "$shopctl" serve --ephemeral --gateway-port 0 --log-level warn >"$1" 2>&1 &
  served_pid=$!
  for _ in $(seq 1 100); do grep -q "admin token" "$1" && break; sleep 0.05; done
  served_gateway=$(awk '/public door/ {print $3}' "$1")
  served_token=$(awk '/admin token/ {print $3}' "$1")
}

expect_code 0 "version" "$shopctl" version
# --version printed "0.1.0", version "shopctl 0.1.0" (a newcomer): both the second.
expect_code 0 "--version" "$shopctl" --version
expect_output "^shopctl [0-9]+\.[0-9]+\.[0-9]+$" "--version says what version says"
expect_code 1 "unknown subcommand" "$shopctl" frobnicate
expect_output "no command 'frobnicate' \(commands: serve, run" "an unknown command is named, with the commands"
# An unknown option before the command said "A subcommand is required" (an outside probe).
expect_code 1 "an unknown option before the command" "$shopctl" --verison
expect_output "^shopctl: unknown option '--verison' \(options here: --help, --version" "the unknown option is named, with the options there"
expect_code 1 "an unknown option before a subcommand" "$shopctl" fault --nope list
expect_output "^shopctl fault: unknown option '--nope'" "the unknown option is named at its level"
# Below the top level it said only "A subcommand is required".
expect_code 1 "unknown fault subcommand" "$shopctl" fault remove fault-1
expect_output "^shopctl fault: no command 'remove' \(commands: add, list, clear\)" "an unknown subcommand is named, with its siblings"
expect_code 1 "unknown option" "$shopctl" run --no-such-flag scenarios/
expect_code 0 "help" "$shopctl" run --help
expect_output "Exit codes" "run --help documents the exit codes"

# A valid scenario passes.
cp "$here/scenarios/flow/checkout-and-pay.yaml" "$tmp/good.yaml"
expect_code 0 "a passing scenario" "$shopctl" run "$tmp/good.yaml" --jobs 1
expect_output "^1 scenario, [0-9]+ steps in " "one scenario is counted in the singular"

# A folder with a link back up its own tree: each real folder is read once (the listing ended
# with "Too many levels of symbolic links" and no file was checked).
mkdir -p "$tmp/looped/inner" && cp "$tmp/good.yaml" "$tmp/looped/" && ln -s .. "$tmp/looped/inner/up"
expect_code 0 "validate: a folder with a link loop" "$shopctl" validate "$tmp/looped"
expect_output "^1 scenario file\(s\) valid" "the loop's file is checked once"

# A hard link to a scenario is read once, as a symbolic link is (it ran twice).
mkdir -p "$tmp/linked" && cp "$tmp/good.yaml" "$tmp/linked/a.yaml" && ln "$tmp/linked/a.yaml" "$tmp/linked/b.yaml" && ln -s a.yaml "$tmp/linked/c.yaml"
expect_code 0 "validate: a folder with a hard link and a symbolic link to one file" "$shopctl" validate "$tmp/linked"
expect_output "^1 scenario file\(s\) valid" "the linked file is checked once"

# A *.yaml in a folder that is not a file to read (a dangling link, a link loop, a pipe) was
# skipped without a word: the folder passed with a scenario missing. Named directly, a link loop
# was "no such file or directory".
mkdir -p "$tmp/odd" && cp "$tmp/good.yaml" "$tmp/odd/" && ln -s /nonexistent/gone.yaml "$tmp/odd/dangling.yaml"
ln -s l2.yaml "$tmp/odd/l1.yaml" && ln -s l1.yaml "$tmp/odd/l2.yaml" && mkfifo "$tmp/odd/pipe.yaml"
expect_code 2 "validate: a folder with a dangling link, a link loop and a pipe" "$shopctl" validate "$tmp/odd"
expect_output "dangling.yaml: error: a symbolic link to /nonexistent/gone.yaml, which does not exist" "the dangling link is named"
expect_output "l1.yaml: error: a symbolic link loop" "the link loop is named"
expect_output "pipe.yaml: error: is not a regular file" "the pipe is named"
# An editor's hidden lock file (Emacs: `.#a.yaml`, a link to nowhere) is passed over.
mkdir -p "$tmp/editing" && cp "$tmp/good.yaml" "$tmp/editing/a.yaml" && ln -s 'user@host.1234:1700000000' "$tmp/editing/.#a.yaml"
expect_code 0 "validate: a folder with an editor's lock link" "$shopctl" validate "$tmp/editing"
expect_code 2 "validate: a link loop named directly" "$shopctl" validate "$tmp/odd/l1.yaml"
expect_output "l1.yaml: error: a symbolic link loop" "a link loop named directly is a loop"

# A deliberately broken copy: exit 2, file:line:col, the line and a caret, and nothing ran.
sed 's/^steps:/steps:\n  - request: {GET: \/api\/cart}\n    expct: {status: 200}/' "$tmp/good.yaml" > "$tmp/broken.yaml"
expect_code 2 "an invalid file" "$shopctl" run "$tmp/broken.yaml" "$tmp/good.yaml"
expect_output "broken.yaml:[0-9]+:[0-9]+: error: unknown key 'expct'" "diagnostic with file:line:col"
expect_output "^ +\^" "a caret under the column"
if grep -q "PASS" "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: a scenario ran although a file was invalid"; else passed=$((passed + 1)); fi
expect_code 2 "validate an invalid file" "$shopctl" validate "$tmp/broken.yaml"
expect_code 2 "a path that does not exist" "$shopctl" validate "$tmp/nope.yaml"
# It said "1 problem(s) in 0 file(s)".
expect_output "shopctl validate: 1 problem\\(s\\)$" "validate counts no file for a path that names none"
# A file that is not UTF-8 is an invalid file (2), for validate and run alike; run --json on
# it ended with an uncaught exception (134) and no report.
printf 'version: 1\nname: caf\xe9\nsteps:\n  - wait: 1ms\n' >"$tmp/latin1.yaml"
expect_code 2 "validate: a file that is not UTF-8" "$shopctl" validate "$tmp/latin1.yaml"
expect_output "latin1.yaml:2:10: .*not UTF-8: the byte 0xE9" "validate names the byte and where"
expect_code 2 "run --json: a file that is not UTF-8" "$shopctl" run "$tmp/latin1.yaml" --json "$tmp/latin1.json"

# An option given an empty value is a usage error (1): it was taken as no option at all, so
# `chaos --check ""` (an unset variable in a script) started a 30 s chaos run.
expect_code 1 "chaos --check ''" timeout 20 "$shopctl" chaos --check ''
expect_output "--check: an empty value" "the empty option is named"
expect_code 1 "run --target ''" timeout 20 "$shopctl" run "$tmp/good.yaml" --target ''
expect_code 1 "run --junit ''" timeout 20 "$shopctl" run "$tmp/good.yaml" --junit ''
expect_code 1 "fault clear ''" timeout 20 "$shopctl" fault clear '' --target http://127.0.0.1:1

# --target at a web server that is not a shopctl gateway: said once, before anything runs
# (exit 3); each scenario used to fail on its own with "wrong --admin-token?".
python3 -c 'import http.server, sys
s = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()' "$tmp/web.port" >/dev/null 2>&1 &
web=$!
for _ in $(seq 1 100); do [[ -s "$tmp/web.port" ]] && break; sleep 0.05; done
expect_code 3 "run --target at a plain web server" timeout 20 "$shopctl" run "$tmp/good.yaml" \
  --target "http://127.0.0.1:$(cat "$tmp/web.port")" --admin-token x
expect_output "is not a shopctl shop's gateway: GET /_admin/services answered 404" "run says what it found at --target"
kill "$web" 2>/dev/null; wait "$web" 2>/dev/null

# A step's path is sent as written: `[`, `]` and `#` after the host are encoded (the run
# failed with "expected an http:// URL" on `?q=[1]`, and `#` cut the query).
cat >"$tmp/brackets.yaml" <<'YAML'
version: 1
name: brackets and hashes in a query
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: "/api/catalog/products?q=[1]"}
    expect: {status: 200, json: {$.total: 0}}
  - request: {GET: "/api/catalog/products?q=tea#x"}
    expect: {status: 200, json: {$.total: 0}}
  - request: {GET: "/api/catalog/products?q=tea"}
    expect: {status: 200, json: {$.total: {gt: 0}}}
YAML
expect_code 0 "a query with [ ] and # is sent as written" timeout 30 "$shopctl" run "$tmp/brackets.yaml"

# An expectation that fails: exit 4, with the step's file:line and what came back.
sed 's/\$.status: PAID/$.status: FAILED/' "$tmp/good.yaml" > "$tmp/failing.yaml"
expect_code 4 "a failing expectation" "$shopctl" run "$tmp/failing.yaml" --junit "$tmp/junit.xml"
expect_output "failing.yaml:[0-9]+" "the failure names file:line"
expect_output 'expected \$\.status to equal "FAILED", got "PAID"' "the failure says what came back"
if grep -q '<failure' "$tmp/junit.xml" && grep -q 'tests="1"' "$tmp/junit.xml"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the JUnit report lacks the failure"; fi

# A report that cannot be written is 1 before anything runs: a CI gate must not pass without it.
expect_code 1 "run --junit under a file" "$shopctl" run "$tmp/good.yaml" --junit "$tmp/good.yaml/j.xml"
expect_output "cannot write .*good.yaml/j.xml \(Not a directory\): nothing ran" "run says which report it cannot write, and why"
if grep -q "PASS" "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: a scenario ran although its report cannot be written"; else passed=$((passed + 1)); fi
# The folders made for the reports before it are taken back: a refused run leaves nothing.
expect_code 1 "run --junit in new folders, --json under a file" "$shopctl" run "$tmp/good.yaml" --junit "$tmp/made/a/j.xml" --json "$tmp/good.yaml/j.json"
if [[ -e "$tmp/made" ]]; then failed=$((failed + 1)); echo "FAIL: a refused run left $tmp/made behind"; else passed=$((passed + 1)); fi
expect_code 1 "run --json onto a folder" "$shopctl" run "$tmp/good.yaml" --json "$tmp"
expect_output "cannot write .* \(it is a folder\)" "run says the report is a folder"
# A report in a folder that does not exist yet (`--junit reports/junit.xml` in a fresh clone, as
# the help's examples write): the folder is made (it was exit 1, "cannot write", no reason).
expect_code 0 "run --junit into a missing folder makes it" "$shopctl" run "$tmp/good.yaml" --junit "$tmp/made/deep/j.xml"
if [[ -s "$tmp/made/deep/j.xml" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: the report's missing folder was not made"; fi
expect_code 1 "run --html under /proc" "$shopctl" run "$tmp/good.yaml" --html /proc/shopctl-report.html

# shopctl load: bad flags are 1, an unreachable shop 3, a breached threshold 4; a fault during
# load shows in the errors by code and in the breaker transitions.
expect_code 1 "load: unknown journey" "$shopctl" load --mix shopping=1 --duration 1s
expect_output "unknown journey 'shopping'" "load names the bad journey"
expect_code 1 "load: bad threshold" "$shopctl" load --threshold 'p98<5ms' --duration 1s
printf '{"thresholds": [{"passed": true}]}\n' > "$tmp/stale-load.json"
expect_code 3 "load: unreachable target" "$shopctl" load --target http://127.0.0.1:1 --duration 1s --quiet --json "$tmp/stale-load.json"
expect_output "cannot reach the gateway" "load says the shop is unreachable"
expect_output "load: note: removed the report an earlier run left at .*stale-load.json" "load removes the earlier run's report"
if [[ ! -e "$tmp/stale-load.json" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a load run that ran nothing left the earlier run's report in place"
fi
# serve: a bad value of its own flags is a bad command line (1), naming the flag; they were 2,
# and a bad --bind was 3 with "Invalid argument [system:22]".
expect_code 1 "serve: --only bogus" "$shopctl" serve --ephemeral --gateway-port 0 --only bogus
expect_output "--only: no service 'bogus'" "serve names the bad --only"
# A shop that cannot start removes the temporary folder it made (the constructor threw, so no
# destructor ran: an empty shopctl-XXXXXX stayed in $TMPDIR on every call).
mkdir -p "$tmp/tmpdir"
expect_code 3 "serve --ephemeral --only catalog without the shop's secrets" env TMPDIR="$tmp/tmpdir" "$shopctl" serve --ephemeral --gateway-port 0 --only catalog
if [[ -z "$(ls -A "$tmp/tmpdir")" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: serve that could not start left $(ls "$tmp/tmpdir") in TMPDIR"
fi
# A shopctl killed with SIGKILL cannot remove its temporary folder (the databases, and with
# --processes the shop's secrets): the next shopctl that makes one removes it. Not a running
# shop's, and not a folder shopctl did not make (they stayed in $TMPDIR for good, two or three
# from every CI run).
mkdir -p "$tmp/swept"
up_in() {  # up_in LOG: waits up to 10 s for serve's banner
  for _ in $(seq 100); do grep -q "the shop is up" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
TMPDIR="$tmp/swept" "$shopctl" serve --ephemeral --gateway-port 0 >"$tmp/killed.log" 2>&1 &
killed=$!
up_in "$tmp/killed.log"
killed_dir=$(ls -d "$tmp/swept"/shopctl-*)
TMPDIR="$tmp/swept" "$shopctl" serve --ephemeral --gateway-port 0 >"$tmp/live.log" 2>&1 &
live=$!
up_in "$tmp/live.log"
live_dir=$(ls -d "$tmp/swept"/shopctl-* | grep -vxF "$killed_dir")
kill -9 "$killed"; wait "$killed" 2>/dev/null
mkdir "$tmp/swept/shopctl-backup" "$tmp/swept/shopctl-Ab12Cd"
echo mine >"$tmp/swept/shopctl-Ab12Cd/notes"
expect_code 0 "run after a SIGKILLed serve --ephemeral" env TMPDIR="$tmp/swept" "$shopctl" run "$tmp/good.yaml" --jobs 1
if [[ -n $killed_dir && ! -e $killed_dir && -n $live_dir && -f $live_dir/order.db &&
  -f $tmp/swept/shopctl-Ab12Cd/notes && -d $tmp/swept/shopctl-backup ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the next shopctl did not remove only the killed shop's folder: killed '$killed_dir', live '$live_dir', left: $(ls "$tmp/swept" | tr '\n' ' ')"
fi
kill -INT "$live"; wait "$live" 2>/dev/null
if [[ -z "$(ls "$tmp/swept" | grep -vxE 'shopctl-(backup|Ab12Cd)')" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: folders left in TMPDIR: $(ls "$tmp/swept" | tr '\n' ' ')"
fi
# A FIFO in a database's place: the start waited for a writer for good, deaf to SIGTERM (an
# outside probe). Exit 3, naming it, as a folder there is.
mkdir -p "$tmp/fifo-data"
mkfifo "$tmp/fifo-data/order.db"
expect_code 3 "serve with a FIFO as order.db" timeout -s KILL 20 "$shopctl" serve --data-dir "$tmp/fifo-data" --gateway-port 0
expect_output "order.db: not a regular file" "serve names the FIFO"
rm -f "$tmp/fifo-data/order.db"; mkfifo "$tmp/fifo-data/payment.db-wal"
expect_code 3 "serve with a FIFO as payment.db-wal" timeout -s KILL 20 "$shopctl" serve --data-dir "$tmp/fifo-data" --gateway-port 0
expect_output "payment.db-wal: not a regular file" "serve names the FIFO -wal"
# A relative --data-dir: /_admin/services gave "rel-data/order.db", which `chaos --target` run
# from another folder took for a file "not on this machine", and checked no money (an outside
# probe). Each database is named by its absolute path.
mkdir -p "$tmp/rel"
rel_bin=$(realpath "$shopctl")
(cd "$tmp/rel" && exec "$rel_bin" serve --data-dir rel-data --gateway-port 0 --log-level warn) >"$tmp/rel/out" 2>&1 &
rel_pid=$!
for _ in $(seq 1 100); do grep -q "admin token" "$tmp/rel/out" && break; sleep 0.05; done
rel_gateway=$(awk '/public door/ {print $3}' "$tmp/rel/out")
rel_token=$(awk '/admin token/ {print $3}' "$tmp/rel/out")
rel_db=$(curl -s -H "X-Admin-Token: $rel_token" "$rel_gateway/_admin/services" | jq -r '.items[] | select(.name == "order") | .database')
kill "$rel_pid"; wait "$rel_pid" 2>/dev/null
if [[ "$rel_db" == "$tmp/rel/rel-data/order.db" || "$rel_db" == "$(cd "$tmp/rel" && pwd -P)/rel-data/order.db" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a relative --data-dir's order.db is listed as '$rel_db', not by its absolute path"
fi
# A run killed with SIGKILL never resets the shop: its faults and stopped services stayed until
# someone reset it by hand, and real checkouts got 503 (an outside probe). When its lease runs
# out unreleased, the shop resets itself and says so.
serve_in_background "$tmp/lease.out"
lease_pid=$served_pid lease_gw=$served_gateway lease_token=$served_token
lease_admin() { curl -s -H "X-Admin-Token: $lease_token" -H 'Content-Type: application/json' "$@"; }
lease_admin -X POST -d '{"holder":"killed-run","ttl_ms":1000,"about":"a run killed with SIGKILL"}' "$lease_gw/_admin/lease" >/dev/null
lease_admin -X POST -d '{"id":"left","target":"catalog","type":"hang"}' "$lease_gw/_admin/faults" >/dev/null
lease_admin -X POST "$lease_gw/_admin/services/payment/stop" >/dev/null
before=$(lease_admin "$lease_gw/_admin/faults" | jq '.items | length')
sleep 2.5
after=$(lease_admin "$lease_gw/_admin/faults" | jq '.items | length')
payment_running=$(lease_admin "$lease_gw/_admin/services" | jq -r '.items[] | select(.name == "payment") | .running')
kill "$lease_pid"; wait "$lease_pid" 2>/dev/null
if [[ "$before" == 1 && "$after" == 0 && "$payment_running" == true ]] && grep -q "lease on the shop ran out" "$tmp/lease.out"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a run lease that ran out unreleased: faults $before then $after, payment running: $payment_running"; tail -n 3 "$tmp/lease.out"
fi
# fault list showed a right-to-left override in an abort's body as it is: the rest of the row,
# its counts included, was drawn reversed. It is written as an escape.
serve_in_background "$tmp/rlo.out"
rlo_pid=$served_pid rlo_gw=$served_gateway rlo_token=$served_token
curl -s -o /dev/null -H "X-Admin-Token: $rlo_token" -H 'Content-Type: application/json' \
  -d '{"id":"rlo","target":"catalog","type":"abort","status":503,"body":"x\u202eyz"}' "$rlo_gw/_admin/faults"
"$shopctl" fault list --target "$rlo_gw" --admin-token "$rlo_token" >"$tmp/rlo.list" 2>&1
kill "$rlo_pid"; wait "$rlo_pid" 2>/dev/null
if grep -qF 'x\u202eyz' "$tmp/rlo.list" && ! grep -q $'\xe2\x80\xae' "$tmp/rlo.list"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: fault list prints a right-to-left override raw"; cat -A "$tmp/rlo.list" | head -5
fi
# While order -> payment's breaker is open, the expiry pass asked payment to cancel the same
# order 4 times a second, each refused at once and logged ("call refused by circuit breaker"):
# 2,635 warnings in a 21-minute soak (an outside probe). It waits for the breaker instead.
serve_in_background "$tmp/cancel.out"
cancel_pid=$served_pid cancel_gw=$served_gateway cancel_admin=$served_token
cancel_jwt=$(curl -s -X POST "$cancel_gw/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
curl -s -o /dev/null -X POST "$cancel_gw/api/cart/items" -H "Authorization: Bearer $cancel_jwt" \
  -H 'Content-Type: application/json' -d '{"product_id":"p-001","quantity":1}'
cancel_order=$(curl -s -X POST "$cancel_gw/api/orders" -H "Authorization: Bearer $cancel_jwt" | jq -r .status)
curl -s -o /dev/null -X POST -H "X-Admin-Token: $cancel_admin" "$cancel_gw/_admin/services/payment/stop"
curl -s -o /dev/null -X POST -H "X-Admin-Token: $cancel_admin" -H 'Content-Type: application/json' \
  -d '{"by":"31m"}' "$cancel_gw/_admin/clock/advance"
sleep 4  # the passes' cancels fail, and the breaker opens
refused_before=$(grep -c "call refused by circuit breaker" "$tmp/cancel.out")
sleep 3
refused_after=$(grep -c "call refused by circuit breaker" "$tmp/cancel.out")
opened=$(grep -c "circuit breaker transition.*order->payment.*CLOSED.*OPEN\|order->payment.*from=CLOSED.*to=OPEN" "$tmp/cancel.out")
kill "$cancel_pid"; wait "$cancel_pid" 2>/dev/null
if [[ "$cancel_order" == PAYMENT_PENDING && "$opened" -ge 1 && $((refused_after - refused_before)) -le 1 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the expiry pass while order->payment is open: order $cancel_order, breaker opened $opened time(s), $((refused_after - refused_before)) refused cancels logged in 3 s"
fi
# POST /_admin/config applied over the shop's own settings, so each POST undid the ones before
# it; and any POST emptied every breaker's window (a `seed` too). It applies over the running
# settings now, a breaker starts over only when its own settings change, and a reset puts the
# shop's own back.
serve_in_background "$tmp/rtc.out"
rtc_pid=$served_pid rtc_gw=$served_gateway rtc_token=$served_token
rtc_order=$(awk '$1 == "order" {print $2; exit}' "$tmp/rtc.out")
rtc_post() { curl -s -o /dev/null -w '%{http_code} ' -X POST -H "X-Admin-Token: $rtc_token" -H 'Content-Type: application/json' -d "$2" "$rtc_gw$1"; }
rtc_breaker() { curl -s -H "X-Admin-Token: $rtc_token" "$rtc_order/_admin/circuit-breakers" | jq -r ".items[] | select(.name == \"order->catalog\") | $1"; }
rtc_jwt=$(curl -s -X POST "$rtc_gw/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
rtc_codes=$(rtc_post /_admin/config '{"order":{"circuit_breakers":{"order->catalog":{"wait_duration_in_open_state":"5s"}}}}')
curl -s -o /dev/null -X POST "$rtc_gw/api/cart/items" -H "Authorization: Bearer $rtc_jwt" \
  -H 'Content-Type: application/json' -d '{"product_id":"p-001","quantity":1}'
rtc_codes+=$(rtc_post /_admin/config '{"auth":{"token_ttl":"9s"}}')
rtc_codes+=$(rtc_post /_admin/config '{"seed":5}')
rtc_wait=$(rtc_breaker .config.wait_duration_in_open_state)
rtc_calls=$(rtc_breaker .number_of_buffered_calls)
rtc_codes+=$(rtc_post /_admin/reset '{}')
rtc_reset_wait=$(rtc_breaker .config.wait_duration_in_open_state)
kill "$rtc_pid"; wait "$rtc_pid" 2>/dev/null
if [[ "$rtc_codes" == "200 200 200 200 " && "$rtc_wait" == 5s && "$rtc_calls" == 1 && "$rtc_reset_wait" == 30s ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: run-time config: answers $rtc_codes; the breaker's wait after two more POSTs $rtc_wait (want 5s), its window $rtc_calls call(s) (want 1), after the reset $rtc_reset_wait (want 30s)"
fi
# A named pipe as --config that nobody writes to: serve waited in open() for good, deaf to
# Ctrl-C and SIGTERM (its stop signals are blocked while it starts; an outside probe). Read
# with a bound: no byte for 10 s is an error, exit 2. One with a writer is read as a file.
mkfifo "$tmp/config-pipe"
expect_code 2 "serve with a --config pipe nobody writes to" timeout -s KILL 20 "$shopctl" serve --config "$tmp/config-pipe" --ephemeral --gateway-port 0
expect_output "config-pipe: cannot read the config file: a named pipe that nothing wrote to within 10 s" "serve names the silent pipe"
( sleep 1; printf 'gateway: {upstream_timeout: 7s}\n' >"$tmp/config-pipe" ) &
expect_code 0 "serve --print-config with a --config pipe written to a second later" timeout -s KILL 20 "$shopctl" serve --config "$tmp/config-pipe" --ephemeral --print-config
expect_output '"upstream_timeout": "7s"' "the pipe's settings are read"
wait
# A named pipe as a report that nothing reads: the run printed its summary and then waited in
# open() for good (an outside probe). A reader is waited for 10 s, as an input pipe's writer is;
# then the report is said unwritten, exit 1. One with a reader gets the report.
mkfifo "$tmp/unread-pipe"
expect_code 1 "run --junit to a pipe nobody reads" timeout -s KILL 30 "$shopctl" run "$tmp/good.yaml" --junit "$tmp/unread-pipe"
expect_output "cannot write .*unread-pipe \\(nothing read the named pipe within 10 s\\)" "run names the unread pipe"
expect_code 1 "graph -o a pipe nobody reads" timeout -s KILL 30 "$shopctl" graph -o "$tmp/unread-pipe"
expect_output "nothing read the named pipe within 10 s" "graph names the unread pipe"
( sleep 1; cat "$tmp/unread-pipe" >"$tmp/report-from-pipe.xml" ) &
expect_code 0 "run --junit to a pipe read a second later" timeout -s KILL 30 "$shopctl" run "$tmp/good.yaml" --junit "$tmp/unread-pipe"
wait
if grep -q '<testsuites name="shopctl" tests="1" failures="0"' "$tmp/report-from-pipe.xml"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the JUnit report read from the pipe: $(head -c 200 "$tmp/report-from-pipe.xml")"
fi
expect_code 1 "serve: --peer without =" "$shopctl" serve --ephemeral --gateway-port 0 --peer foo
expect_code 1 "serve: --peer with a bad URL" "$shopctl" serve --ephemeral --gateway-port 0 --peer catalog=notaurl
expect_output "--peer catalog=notaurl" "serve names the bad --peer"
# What is wrong is said (an outside probe: an unknown service read as a missing '=', a port of
# 99999 as "expected a base URL"), and a path or a user:password is refused, not dropped.
expect_code 1 "serve: --peer of no service" "$shopctl" serve --ephemeral --gateway-port 0 --peer billing=http://127.0.0.1:1
expect_output "no service 'billing'" "serve names the unknown --peer service"
expect_code 1 "serve: --peer port out of range" "$shopctl" serve --ephemeral --gateway-port 0 --peer order=http://127.0.0.1:99999
expect_output "the port must be 1 to 65535" "serve says the --peer port is out of range"
expect_code 1 "serve: --peer with a path" "$shopctl" serve --ephemeral --gateway-port 0 --peer order=http://127.0.0.1:17003/api
expect_output "has no path" "serve refuses a --peer path it would drop"
expect_code 1 "serve: --peer with a password" "$shopctl" serve --ephemeral --gateway-port 0 --peer order=http://u:pw@127.0.0.1:17003
expect_output "no user or password" "serve refuses a --peer user:password"
expect_code 1 "serve: --bind not an address" "$shopctl" serve --ephemeral --gateway-port 0 --bind 999.1.1.1
expect_output "--bind takes an IP address" "serve names the bad --bind"
# Given values mean what they say: --users 0 ran 16 users, --rate nan a closed loop, and --rate 0
# was refused with a 300-digit range.
# Progress: one line per second, and one last line when the journeys in flight at the
# deadline have finished, with its own elapsed time (to the hundredth), never a second line
# for the same second with a sliver of draining in it.
expect_code 0 "load: progress lines" "$shopctl" load --users 2 --duration 2s
grep -E '^ +[0-9.]+s +[0-9]+ req/s' "$tmp/out" | awk '{print $1}' | tr -d s >"$tmp/ticks"
if [[ $(wc -l <"$tmp/ticks") -eq 2 ]] && sort -n -c "$tmp/ticks" 2>/dev/null && [[ -z $(uniq -d "$tmp/ticks") ]] &&
  grep -qE '^2\.[0-9]{2}$' <(tail -n1 "$tmp/ticks"); then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: load's progress lines: $(tr '\n' ' ' <"$tmp/ticks")"; sed 's/^/    /' "$tmp/out" | head -8; fi
# A drain of a second or more: a line (and a timeline sample) for the second before the
# deadline, then one a second; the drain's first sample covered two seconds, and the second
# before the deadline had none (an outside probe: samples at 1.0, 3.0 and 3.04 s).
expect_code 0 "load: a long drain" "$shopctl" load --users 4 --duration 2s --timeout 3s --mix browse=1 --json "$tmp/drain.json" \
  --fault '{"target":"gateway","type":"hang","match":{"method":"GET","path":"/api/catalog/products"},"select":{"every":50}}'
if jq -e '[.timeline[].at_s] | (map(select(. >= 1.9 and . < 2.5)) | length) == 1 and
    (map(select(. >= 2.9 and . < 3.5)) | length) >= 1 and (.[0] < 1.5)' "$tmp/drain.json" >/dev/null; then
  passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: load's samples through a long drain: $(jq -c '[.timeline[].at_s]' "$tmp/drain.json")"
fi
expect_code 1 "load: --users 0" "$shopctl" load --users 0 --duration 1s --quiet
expect_output "not in range 1 to 100000" "load names the users range"
# A duration too long to represent was "expected a duration like 500ms, 10s or 1m".
expect_code 1 "load: --duration 9000000000000h" "$shopctl" load --duration 9000000000000h --quiet
expect_output "--duration: at most 24h, got '9000000000000h'" "load says a too-long duration is too long"
# chaos under an open-file limit too low for its shoppers: said at the start and at the end,
# naming the limit (it ran its whole duration, then "eventfd_select_interrupter: Too many open
# files", exit 3; an outside probe).
# Whether the run then runs out depends on the machine's pace (beside CI's other lanes it once
# did not): exit 3, or 0; the note at the start is said either way.
bash -c "ulimit -n 256 && exec timeout 120 '$shopctl' chaos --duration 2s --seed 3 --quiet" >"$tmp/out" 2>&1
chaos_files_rc=$?
if [[ $chaos_files_rc -eq 3 || $chaos_files_rc -eq 0 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: chaos under ulimit -n 256: exit $chaos_files_rc, want 3 or 0"; sed 's/^/    /' "$tmp/out" | head -10
fi
expect_output "note: 12 shoppers need about [0-9]+ open files, more than the limit \(ulimit -n is 256\)" "chaos says the limit is too low at the start"
expect_code 1 "chaos: --duration 2562048h" "$shopctl" chaos --duration 2562048h --quiet
expect_output "--duration: at most 24h, got '2562048h'" "chaos says a too-long duration is too long"
expect_code 1 "load: --timeout 1us" "$shopctl" load --timeout 1us --duration 1s --quiet
expect_output "units ms, s, m and h" "load names the units it reads"
# Every order created lands in one bucket: with every second pay refused, those orders are
# "not settled" (they were in none: created 512, PAID 256, FAILED 0, not settled 0).
"$shopctl" load --users 2 --mix checkout=1 --duration 1s --quiet --json "$tmp/buckets.json" \
  --fault '{"target":"provider","type":"abort","status":503,"match":{"path":"/pay/*"},"select":{"every":2}}' >/dev/null 2>&1
if python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["orders"]; sys.exit(0 if o["created"] > 0 and o["unsettled"] > 0 and o["created"] == o["paid"] + o["failed"] + o["unsettled"] else 1)' "$tmp/buckets.json"; then
  passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: load's order buckets do not add up: $(cat "$tmp/buckets.json" 2>/dev/null | head -c 300)"; fi
for rate in nan 0 -1 inf 1e-308 0.0001; do
  expect_code 1 "load: --rate $rate" "$shopctl" load --rate "$rate" --duration 1s --quiet
  expect_output "must be a number of journeys per second from 0.001 to 1000000, not '$rate'" "load names the rate's range ($rate)"
done
# A rate slower than the run still measures the whole --duration (it was 0.01 s: 190 journeys/s).
expect_code 0 "load: --rate below one journey per run" timeout 20 "$shopctl" load --rate 0.5 --duration 1s --mix browse=1 --quiet
# Read as 1.00 to 1.09 s: the last journey's answer may come a few milliseconds after the end
# on a busy machine (1.01 s when CI's steps ran side by side).
expect_output "1\.0[0-9] s measured" "load measures the whole duration"
expect_code 0 "load: a short run" "$shopctl" load --users 2 --duration 1s --quiet --threshold 'errors<1%' --json "$tmp/load.json"
if grep -q '"total"' "$tmp/load.json" && ! grep -q '"total": 0,' "$tmp/load.json"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: load --json has no requests"; fi
expect_code 4 "load: a breached threshold" "$shopctl" load --users 2 --duration 1s --quiet --threshold 'p50<1us'
expect_output "FAIL +p50<1us" "load names the breached threshold"
expect_code 4 "load: payment down during load" "$shopctl" load --users 2 --duration 1s --quiet --mix checkout=1 \
  --fault '{"target":"payment","type":"abort","status":503}' --threshold 'errors<1%'
expect_output "503 payment_unavailable" "load counts errors by code"
expect_output "order->payment +CLOSED->OPEN" "load reports the breaker that opened"

# --var / --vars-file: a variable from the command line is known to the parser and defined
# before the scenario's own vars; --fail-fast starts nothing after the first failure.
mkdir -p "$tmp/vars" "$tmp/ff"
cat > "$tmp/vars/who.yaml" <<'YAML'
version: 1
name: a shopper named on the command line registers
vars:
  email: "${who}-${run_id}@shop.test"
steps:
  - register: {email: "${email}", password: "${password}", name: "${who}"}
    expect: {status: 201, json: {$.name: ada}}   # --var who=ada, over the file's "nobody"
YAML
printf 'password: correct-horse-battery\nwho: nobody\n' > "$tmp/vars/vars.yaml"
expect_code 2 "validate: a variable nobody defines" "$shopctl" validate "$tmp/vars/who.yaml"
expect_output "undefined variable \\$\\{who\\}" "validate names the undefined variable"
expect_code 0 "validate: --var and --vars-file define them" "$shopctl" validate "$tmp/vars/who.yaml" --var who=ada --vars-file "$tmp/vars/vars.yaml"
expect_code 0 "run: --var overrides --vars-file, and reaches the request" "$shopctl" run "$tmp/vars/who.yaml" --var who=ada --vars-file "$tmp/vars/vars.yaml"
expect_code 4 "run: the file's value when no --var overrides it" "$shopctl" run "$tmp/vars/who.yaml" --vars-file "$tmp/vars/vars.yaml"
# A --vars-file value keeps its YAML type, as under `vars:`: `qty: 2` was sent as "2", and the
# shop refused the quantity (400). A --var is text.
cat > "$tmp/vars/qty.yaml" <<'YAML'
version: 1
name: a quantity from the command line
steps:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: "${qty}"}}
    expect: {status: 200, json: {"$.items[0].quantity": 2}}
YAML
printf 'qty: 2\n' > "$tmp/vars/qty-vars.yaml"
expect_code 0 "run: a number in --vars-file is a number" "$shopctl" run "$tmp/vars/qty.yaml" --vars-file "$tmp/vars/qty-vars.yaml"
expect_code 4 "run: a --var is text" "$shopctl" run "$tmp/vars/qty.yaml" --var qty=2
# Typed as `vars:` is, spellings and all: `0x2` and `+2` were text in the file and numbers
# under `vars:`, and `.nan` was taken as the text ".nan" (an outside probe).
for spelling in 0x2 0o2 +2; do
  printf 'qty: %s\n' "$spelling" > "$tmp/vars/qty-spelled.yaml"
  expect_code 0 "run: qty: $spelling in --vars-file is the number 2, as under vars:" "$shopctl" run "$tmp/vars/qty.yaml" --vars-file "$tmp/vars/qty-spelled.yaml"
done
printf 'qty: 2\nexpected: .nan\n' > "$tmp/vars/nan-vars.yaml"
expect_code 2 "run: .nan in --vars-file is refused, as under vars:" "$shopctl" run "$tmp/vars/qty.yaml" --vars-file "$tmp/vars/nan-vars.yaml"
expect_output "nan-vars.yaml:2: expected: '.nan' has no JSON form" "the refusal names the file, the line and why"
# A map or a list in --vars-file is taken as under `vars:` (it was refused: "must be a text, a
# number or a boolean").
cat > "$tmp/vars/item.yaml" <<'YAML'
version: 1
name: a cart item from the command line
steps:
  - login: {email: demo@shop.test, password: demo-password-1}
  - request: {method: POST, path: /api/cart/items, json: "${item}"}
    expect: {status: 200, json: {"$.items[0].quantity": 3}}
  - request: {GET: "/api/catalog/products?ids=${ids}"}
YAML
printf 'item: {product_id: p-001, quantity: 3}\nids: [p-001, p-002]\n' > "$tmp/vars/item-vars.yaml"
expect_code 0 "run: a map and a list in --vars-file, as under vars:" "$shopctl" run "$tmp/vars/item.yaml" --vars-file "$tmp/vars/item-vars.yaml"
expect_code 1 "run: --var without =" "$shopctl" run "$tmp/vars/who.yaml" --var who
expect_code 1 "run: --var of a built-in" "$shopctl" run "$tmp/vars/who.yaml" --var run_id=1
expect_output "built in" "run says a built-in cannot be set"
for n in 1 2 3; do
  printf 'version: 1\nname: fails %s\nsteps:\n  - request: {method: GET, path: /api/catalog/categories}\n    expect: {status: 418}\n' "$n" > "$tmp/ff/f$n.yaml"
done
expect_code 4 "run --fail-fast: the first failure stops the run" "$shopctl" run "$tmp/ff" --jobs 1 --fail-fast
expect_output "1 failed, 2 skipped" "--fail-fast reports the rest skipped"

cat > "$tmp/vars/fault.yaml" <<'YAML'
version: 1
name: the payment route named on the command line answers 503
steps:
  - fault: {id: down, target: payment, match: {path: "${route}"}, type: abort, status: 503}
YAML
expect_code 2 "load: a --faults scenario with an undefined variable" "$shopctl" load --users 1 --duration 1s --quiet --faults "$tmp/vars/fault.yaml"
expect_code 4 "load: --var fills the --faults scenario" "$shopctl" load --users 2 --duration 1s --quiet --mix checkout=1 \
  --faults "$tmp/vars/fault.yaml" --var route=/internal/payments --threshold 'errors<1%'
expect_output "503 payment_unavailable" "load's fault hit the route the --var named"
# --faults that switches nothing on is refused, as a scenario without a fault step is (it ran).
printf '[]\n' >"$tmp/no-faults.yaml"
expect_code 2 "load: --faults with an empty list" "$shopctl" load --users 1 --duration 1s --quiet --faults "$tmp/no-faults.yaml"
expect_output "holds no fault" "load says the list is empty"
printf 'faults: []\n' >"$tmp/no-faults.yaml"
expect_code 2 "load: --faults with an empty faults map" "$shopctl" load --users 1 --duration 1s --quiet --faults "$tmp/no-faults.yaml"
# More users than the open-file limit can hold: most journeys failed on connection errors and
# nothing said why. It says so before the run.
expect_code 0 "load: 200 users under ulimit -n 1024" bash -c "ulimit -n 1024 && exec '$shopctl' load --users 200 --duration 1s --quiet --mix browse=1"
expect_output "note: 200 users need about [0-9]+ open files, more than the limit \(1024\)" "load says the file limit is too low"
# An invalid --vars-file is an invalid file (2) for load as for run and validate; it was 1.
printf 'a: {x: 1, x: 2}\n' >"$tmp/vars/list.yaml"
expect_code 2 "load: an invalid --vars-file" "$shopctl" load --users 1 --duration 1s --quiet --faults "$tmp/vars/fault.yaml" --vars-file "$tmp/vars/list.yaml"
expect_code 2 "validate: the same --vars-file" "$shopctl" validate "$tmp/vars/fault.yaml" --vars-file "$tmp/vars/list.yaml"
# A name given twice in a --vars-file is refused as in a scenario file (the last one won).
printf 'who: ada\nwho: bob\n' >"$tmp/vars/twice.yaml"
expect_code 2 "validate: a --vars-file that names a variable twice" "$shopctl" validate "$tmp/vars/who.yaml" --vars-file "$tmp/vars/twice.yaml"
expect_output "twice.yaml:2: who is given twice" "the second one is named"
# A --vars-file that is not YAML says where, as a scenario file does: the opener of an
# unclosed list with its line and a caret (it said "line 3: end of sequence flow not found").
printf 'a: 1\nb: [1, 2\nc: 3\n' >"$tmp/vars/unclosed.yaml"
expect_code 2 "run: a --vars-file with an unclosed [" "$shopctl" run "$tmp/good.yaml" --vars-file "$tmp/vars/unclosed.yaml"
expect_output "unclosed.yaml:2:4: error: invalid YAML: this '\[' is never closed" "the opener is named with its column"
expect_output "^   \^$" "with a caret under it"

# serve --record into a place that cannot be written fails at start (the session was lost).
expect_code 1 "serve --record into a missing folder" timeout 20 "$shopctl" serve --record "$tmp/nope/x.yaml" --ephemeral --gateway-port 0
expect_output "--record .*nope/x.yaml: cannot write there" "serve says the --record file cannot be written"
expect_code 1 "serve --record onto a folder" timeout 20 "$shopctl" serve --record "$tmp" --ephemeral --gateway-port 0

# Thread counts have a range: 100,000 threads aborted the shop (exit 134).
expect_code 1 "serve: --threads 100000" timeout 60 "$shopctl" serve --threads 100000 --ephemeral --gateway-port 0
expect_output "--threads: Value 100000 not in range 0 to 256" "serve says the range of --threads"
expect_code 1 "load: --shop-threads 100000" timeout 60 "$shopctl" load --shop-threads 100000 --duration 1s --quiet
expect_output "--shop-threads: Value 100000 not in range 0 to 256" "load says the range of --shop-threads"

# shopctl chaos: bad flags are 1, an unreachable shop 3; a clean data folder passes its
# database invariants (0) and --help gives the exit codes (the runs themselves are test.sh's
# "chaos run with crashes" step).
expect_code 1 "chaos: --crash with --target" "$shopctl" chaos --crash --target http://127.0.0.1:1 --admin-token x
expect_output "cannot go with --target" "chaos says why"
expect_code 1 "chaos: a share above 1" "$shopctl" chaos --decline 1.5
# An invalid --config is an invalid file (2), named, before any shop starts (it was 3, and with
# --crash yaml-cpp's bare message).
printf 'http:\n  max_connections: "lots"\n' > "$tmp/bad-chaos.yaml"
expect_code 2 "chaos: an invalid --config" "$shopctl" chaos --config "$tmp/bad-chaos.yaml" --duration 2s
expect_output "bad-chaos.yaml:2:20: error: http.max_connections" "chaos names the file, line and key"
expect_code 2 "chaos --crash: an invalid --config" "$shopctl" chaos --crash --config "$tmp/bad-chaos.yaml" --duration 2s
expect_code 1 "chaos: a bad duration" "$shopctl" chaos --duration soon
expect_code 1 "chaos: --target without a token" "$shopctl" chaos --target http://127.0.0.1:1
expect_code 3 "chaos: unreachable target" "$shopctl" chaos --target http://127.0.0.1:1 --admin-token x --heal-clock --quiet
expect_output "could not be driven" "chaos says the shop could not be driven"
expect_code 2 "graph: --target names no URL nor a deployment file" "$shopctl" graph --target "$tmp/missing.yaml" --admin-token x
expect_output "neither an http:// URL nor a deployment file" "graph says what --target takes"
# A file that is there is an invalid deployment file, not "neither" (a newcomer).
printf 'services:\n  billing: {url: http://127.0.0.1:1}\n' >"$tmp/bad-deploy.yaml"
expect_code 2 "graph: --target names an invalid deployment file" "$shopctl" graph --target "$tmp/bad-deploy.yaml" --admin-token x
expect_output "--target names an invalid deployment file: " "graph says the deployment file is invalid"
# host:port without its scheme was exit 2 "deployment file: no such file" (an outside probe).
expect_code 1 "run: --target host:port without http://" "$shopctl" run "$here/scenarios/flow/checkout.yaml" --target 127.0.0.1:8080
expect_output "a URL needs its scheme: --target http://127.0.0.1:8080" "run says the scheme is missing"
# A query was refused as "without a path" (an outside probe).
expect_code 1 "run: --target with a query" "$shopctl" run "$here/scenarios/flow/checkout.yaml" --target 'http://127.0.0.1:8080?x=1'
expect_output "without a path, query or fragment" "run names the query among what a base URL lacks"
printf 'admin_token: adm_x\nservices:\n  catalog: {url: http://127.0.0.1:1}\n' > "$tmp/nogateway.yaml"
expect_code 2 "fault: a deployment file without the gateway" "$shopctl" fault list --target "$tmp/nogateway.yaml"
expect_output "services.gateway is missing" "fault says what the file lacks"
# A service the shop does not have, a key it does not read and a port past 65535 were
# accepted, then failed as "cannot reach" the gateway (exit 3), or not at all.
printf 'admin_token: adm_x\nservices:\n  gateway: {url: http://127.0.0.1:1}\n  billing: {url: http://127.0.0.1:2}\n' > "$tmp/unknown-service.yaml"
expect_code 2 "fault: a deployment file naming an unknown service" "$shopctl" fault list --target "$tmp/unknown-service.yaml"
expect_output "unknown service 'billing'" "fault names the unknown service"
printf 'admin_token: adm_x\nservices:\n  gateway: {url: http://127.0.0.1:1, foo: 1}\n' > "$tmp/unknown-key.yaml"
expect_code 2 "fault: a deployment file with an unknown key" "$shopctl" fault list --target "$tmp/unknown-key.yaml"
expect_output "services.gateway: unknown key 'foo'" "fault names the unknown key"
printf 'admin_token: adm_x\nservices:\n  gateway: {url: http://127.0.0.1:99999}\n' > "$tmp/bad-port.yaml"
expect_code 2 "fault: a deployment file with port 99999" "$shopctl" fault list --target "$tmp/bad-port.yaml"
expect_output "is not a URL like" "fault says the URL is not one"
expect_code 1 "run: --target with port 99999" "$shopctl" run --target http://127.0.0.1:99999 --admin-token x scenarios/flow
expect_output "the port must be a number from 1 to 65535" "run says the port is out of range"
expect_code 1 "load: --target with port 0" "$shopctl" load --target http://127.0.0.1:0 --admin-token x --duration 1s --quiet
printf 'admin_token: adm_x\nservices:\n  gateway: {url: http://127.0.0.1:1}\n  gateway: {url: http://127.0.0.1:2}\n' > "$tmp/dup-service.yaml"
expect_code 2 "fault: a deployment file naming a service twice" "$shopctl" fault list --target "$tmp/dup-service.yaml"
expect_output "duplicate key 'gateway'" "fault names the key given twice"
expect_code 0 "chaos: help" "$shopctl" chaos --help
expect_output "Exit codes: 0 every invariant holds" "chaos --help documents the exit codes"
expect_code 0 "chaos: the schedule of a seed" "$shopctl" chaos --seed 7 --crash --print-schedule
expect_output "SIGKILL the shop" "chaos --crash plans kills"

# Input files are read up to 16 MiB: /dev/zero is an error, not unbounded memory.
expect_code 2 "validate: /dev/zero" timeout 20 "$shopctl" validate /dev/zero
expect_output "/dev/zero: error: larger than 16 MiB" "validate says the file is too large"
expect_code 2 "run: --vars-file /dev/zero (an invalid file)" timeout 20 "$shopctl" run --vars-file /dev/zero "$tmp/good.yaml"
expect_output "vars-file /dev/zero: larger than 16 MiB" "run names the vars file"
expect_code 2 "serve: --config /dev/zero" timeout 20 "$shopctl" serve --ephemeral --config /dev/zero
expect_output "/dev/zero: cannot read the config file: larger than 16 MiB" "serve names the config file"
expect_code 2 "load: --faults /dev/zero" timeout 20 "$shopctl" load --faults /dev/zero --duration 1s
expect_output "/dev/zero: error: larger than 16 MiB" "load names the faults file"
# YAML that yaml-cpp's parser cannot move past (a `,` line after a comment) is an error at that
# line, not an endless parse; a second document in a settings file is refused, not dropped.
printf -- '- wait: 1s #note\n,steps: []\n' > "$tmp/stuck.yaml"
expect_code 2 "validate: a line the YAML parser cannot move past" timeout 20 "$shopctl" validate "$tmp/stuck.yaml"
expect_output "stuck.yaml:2:1: error: invalid YAML: unexpected ','" "validate points at the line"
printf -- 'order: {payment_timeout: 90s}\n---\norder: {payment_timeout: 5s}\n' > "$tmp/two-docs.yaml"
# An invalid --config of load and serve is reported as validate reports a scenario: every
# problem in the order of the file, each with its line and a caret (load printed no caret, and
# 3:3 before 2:29).
printf 'order:\n  catalog_client: {timeout: 5}\n  bogus: 1\n' > "$tmp/unordered.yaml"
for command in load serve; do
  expect_code 2 "$command: an invalid --config" timeout 20 "$shopctl" $command --config "$tmp/unordered.yaml"
  if [[ "$(grep -oE 'unordered.yaml:[0-9]+:[0-9]+' "$tmp/out" | tr '\n' ' ')" == "unordered.yaml:2:29 unordered.yaml:3:3 " ]] &&
     grep -qxF "$(printf '%28s^' '')" "$tmp/out" && grep -qxF '  bogus: 1' "$tmp/out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL: $command --config: problems not in file order with a caret"; sed 's/^/    /' "$tmp/out"
  fi
done
expect_code 2 "serve: --config with two documents" timeout 20 "$shopctl" serve --ephemeral --config "$tmp/two-docs.yaml"
expect_output "two-docs.yaml:2:1: error: holds 2 YAML documents" "serve says the config holds two documents"
# Under umask 777, as a user other than root (whom permissions do not stop), a scenario's shop
# made its folder and databases with no permission for anyone: "Permission denied", exit 3,
# and the folder (mode 000) stayed. The owner's bits are kept whatever the umask.
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null; then
  mkdir -p "$tmp/nobody" && chmod 777 "$tmp/nobody" && chmod 755 "$tmp"
  cp "$shopctl" "$tmp/nobody/shopctl" && cp "$here/scenarios/flow/cart.yaml" "$tmp/nobody/cart.yaml"
  chmod 755 "$tmp/nobody/shopctl"; chmod 644 "$tmp/nobody/cart.yaml"
  expect_code 0 "run under umask 777 as a user other than root" \
    bash -c "cd '$tmp/nobody' && umask 777 && setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR='$tmp/nobody' ./shopctl run cart.yaml"
  leftovers=$(find "$tmp/nobody" -mindepth 1 -maxdepth 1 -name 'shopctl-*' | wc -l)
  if [[ $leftovers -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: umask 777 left $leftovers folder(s)"; fi
  # A process limit that refuses a worker pool's second thread: Boost's thread_pool joined the
  # thread it had started without stopping it, and the run hung for good at 0 % CPU (an
  # outside probe's `ulimit -u 12`). Every scenario is ERROR, exit 3, at once.
  cp -r "$here/scenarios" "$tmp/nobody/suite" && chmod -R a+rX "$tmp/nobody/suite"
  expect_code 3 "run with a process limit that refuses the shop's threads" timeout -s KILL 90 \
    bash -c "cd '$tmp/nobody' && setpriv --reuid=65534 --regid=65534 --clear-groups bash -c 'ulimit -u 12; TMPDIR=$tmp/nobody ./shopctl run suite --jobs 4'"
  expect_output "scenarios: 0 passed, [0-9]+ failed" "every scenario is ERROR under the process limit"
fi
# An invalid catalog file is an invalid file (exit 2), said before anything starts; it was a
# shop that could not start (exit 3), and a Latin-1 name failed at the catalog's first answer.
printf 'categories: [{id: c, name: C}]\nproducts:\n  - {id: "..", sku: S1, name: Dots, description: "", category: c, price_cents: 100, currency: EUR, available: true}\n' > "$tmp/dots-catalog.yaml"
printf 'catalog:\n  file: dots-catalog.yaml\n' > "$tmp/dots-catalog-config.yaml"
expect_code 2 "serve: a catalog file with a product id '..'" timeout 20 "$shopctl" serve --ephemeral --gateway-port 0 --config "$tmp/dots-catalog-config.yaml"
expect_output "dots-catalog.yaml:3:10: products\\[0\\]: 'id' may not be '\\.\\.'" "serve names the catalog file, line and column"
printf 'categories: [{id: c, name: C}]\nproducts:\n  - {id: a, sku: S1, name: "Caf\xe9", description: "", category: c, price_cents: 100, currency: EUR, available: true}\n' > "$tmp/latin1-catalog.yaml"
printf 'catalog:\n  file: latin1-catalog.yaml\n' > "$tmp/latin1-catalog-config.yaml"
expect_code 2 "serve --processes: a catalog file that is not UTF-8" timeout 20 "$shopctl" serve --processes --ephemeral --gateway-port 0 --config "$tmp/latin1-catalog-config.yaml"
expect_output "latin1-catalog.yaml:3:28: product 'a': 'name' is not valid UTF-8" "serve names the catalog file's bad text"
printf 'catalog:\n  file: /dev/zero\n' > "$tmp/zero-catalog-config.yaml"
expect_code 2 "serve: a catalog file of /dev/zero" timeout 20 "$shopctl" serve --ephemeral --gateway-port 0 --config "$tmp/zero-catalog-config.yaml"
printf 'version: 1\nname: latin-1 catalog\nconfig:\n  catalog: {file: latin1-catalog.yaml}\nsteps:\n  - request: {GET: /api/catalog/categories, auth: none}\n    expect: {status: 401}\n' > "$tmp/latin1-catalog-scenario.yaml"
expect_code 2 "validate: a scenario whose catalog file is not UTF-8" "$shopctl" validate "$tmp/latin1-catalog-scenario.yaml"
# --jobs 64 on a machine of a few cores: the in-process shops shared the CPU so thinly that
# latency expectations failed (an outside probe). At most twice the cores run at once.
expect_code 0 "run --jobs 64 of the flow scenarios" "$shopctl" run "$here/scenarios/flow" --jobs 64
expect_output "running $((2 * $(nproc))) scenario\\(s\\) at once, not 64: twice the $(nproc) core" "run says how many run at once, and why"
# payment.order_client retries were taken, printed as in force, and never made: the outbox
# retries callbacks. More than one attempt is refused where it is written.
printf 'payment:\n  order_client: {timeout: 1s, retry: {max_attempts: 3}}\n' > "$tmp/order-client-retry.yaml"
expect_code 2 "serve: payment.order_client with 3 attempts" timeout 20 "$shopctl" serve --ephemeral --gateway-port 0 --config "$tmp/order-client-retry.yaml"
expect_output "order-client-retry.yaml:2:53: error: payment.order_client.retry.max_attempts must be 1" "serve says a callback is one attempt"
printf 'ports: {auth: 47211, catalog: 47211}\n' > "$tmp/two-on-one-port.yaml"
expect_code 2 "serve: two services on one port" timeout 20 "$shopctl" serve --ephemeral --config "$tmp/two-on-one-port.yaml"
expect_output "auth and catalog both ask for port 47211" "serve names both services (it said 'taken by another process')"
# The gateway's port from the flag, or the admin plane's, on a service's port of the file: it
# said "taken by another process", or printed a raw bind error (an outside probe).
printf 'ports: {auth: 47212}\n' > "$tmp/auth-port.yaml"
expect_code 1 "serve: --gateway-port on ports.auth" timeout 20 "$shopctl" serve --ephemeral --gateway-port 47212 --config "$tmp/auth-port.yaml"
expect_output "auth and gateway both ask for port 47212" "serve names the flag's port clash"
expect_code 1 "serve: --admin-port on ports.auth" timeout 20 "$shopctl" serve --ephemeral --gateway-port 0 --admin-port 47212 --config "$tmp/auth-port.yaml"
expect_output "admin_port and auth both ask for port 47212" "serve names the admin plane's port clash"
printf 'ports: {auth: 47213}\nadmin_port: 47213\n' > "$tmp/admin-on-auth.yaml"
expect_code 2 "serve: admin_port on ports.auth in one file" timeout 20 "$shopctl" serve --ephemeral --gateway-port 0 --config "$tmp/admin-on-auth.yaml"
expect_output "admin-on-auth.yaml:2:13: error: admin_port 47213 is also ports.auth" "the file's clash is at its line"
# With --log-format json, why serve ends before the shop is up is a JSON log line too: a
# crash loop's reason reached a log shipper as plain text (an outside probe).
json_lines_only() {  # json_lines_only DESCRIPTION: every line of the last output is a JSON object
  if [[ -s "$tmp/out" ]] && python3 -c '
import json, sys
for line in open(sys.argv[1]):
    assert isinstance(json.loads(line), dict), line
' "$tmp/out" 2>/dev/null; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1: not JSON lines only"; sed 's/^/    /' "$tmp/out" | head -10
  fi
}
expect_code 2 "serve --log-format json: two services on one port" timeout 20 "$shopctl" serve --ephemeral --log-format json --config "$tmp/two-on-one-port.yaml"
json_lines_only "serve --log-format json: an invalid --config"
expect_output '"msg":"1 problem\(s\) in --config' "serve --log-format json names the config's problems"
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' > "$tmp/held-port" &
holder=$!
for _ in $(seq 1 50); do [[ -s "$tmp/held-port" ]] && break; sleep 0.1; done
expect_code 3 "serve --log-format json: a port taken" timeout 20 "$shopctl" serve --ephemeral --log-format json --gateway-port "$(cat "$tmp/held-port")"
json_lines_only "serve --log-format json: the shop could not start"
expect_output '"msg":"the shop could not start"' "serve --log-format json says the shop could not start"
expect_code 3 "serve --processes --log-format json: a port taken" timeout 30 "$shopctl" serve --processes --ephemeral --log-format json --gateway-port "$(cat "$tmp/held-port")"
json_lines_only "serve --processes --log-format json: the shop could not start"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
# Its warnings too (they were plain text before its JSON lines), from the start to the stop.
mkdir -p "$tmp/open-folder"; chmod 755 "$tmp/open-folder"
"$shopctl" serve --data-dir "$tmp/open-folder" --gateway-port 0 --log-format json >"$tmp/open-folder.out" 2>"$tmp/out" &
open_pid=$!
for _ in $(seq 1 100); do grep -q "^Ctrl-C" "$tmp/open-folder.out" && break; sleep 0.05; done
# A request the HTTP layer could not read is logged as any request is: method other (as
# /metrics counts it), caller and duration too (they were missing; an outside probe).
open_port=$(grep -o 'public door *http://127.0.0.1:[0-9]*' "$tmp/open-folder.out" | grep -o '[0-9]*$')
timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"; printf "GET /x y HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" >&3; cat <&3 >/dev/null' "$open_port"
sleep 0.2
kill -TERM "$open_pid"; sleep 0.3; kill -TERM "$open_pid" 2>/dev/null  # a second one too
wait "$open_pid" 2>/dev/null
json_lines_only "serve --log-format json: a warning at the start, and a second SIGTERM"
expect_output '"level":"warn","msg":"other users may read .*open-folder' "serve --log-format json warns as a JSON line"
expect_output '"msg":"request","caller":"client","code":"bad_request","duration_ms":0(\.0)?,"method":"other","route":"\(unread request\)"' "an unread request's log line names its method, caller and duration"
# Messages quote what they were given; a control character in it is shown as an escape on
# stderr, never sent (`load --duration $'\e[2J'` cleared the screen).
no_raw_controls() {  # no_raw_controls DESCRIPTION: no ESC or BEL byte in the last output
  if ! grep -q $'[\x1b\x07]' "$tmp/out"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $1: a raw control character in the output"; cat -v "$tmp/out" | head -5
  fi
}
expect_code 1 "load --duration with an escape sequence" "$shopctl" load --duration $'\e[31mX'
expect_output '\\x1b\[31mX' "load shows the ESC as \\x1b"
no_raw_controls "load --duration"
expect_code 1 "fault add --target-service with an escape sequence" timeout 20 "$shopctl" fault add --target http://127.0.0.1:1 --admin-token x --target-service $'cat\e]0;t\a' --type reset
no_raw_controls "fault add --target-service"
printf 'version: 1\nname: "esc \\e[31m red"\nsteps:\n  - name: "step \\e[2J clear"\n    request: {method: GET, path: /api/catalog/categories}\n    expect: {status: 401}\n' > "$tmp/escape-step.yaml"
expect_code 0 "run --verbose: a step named with an escape sequence" timeout 60 "$shopctl" run --verbose "$tmp/escape-step.yaml"
expect_output 'step \\x1b\[2J clear' "run --verbose shows the step's ESC as \\x1b"
no_raw_controls "run --verbose"
# A header or auth value that gets a line break from a variable was dropped by the client: the
# request went out without it and the step passed. It fails the step now; a literal one in
# `auth:` is refused by the validator, as one in `headers:` was.
printf 'version: 1\nname: crlf header\nsteps:\n  - request:\n      GET: /api/catalog/categories\n      headers: {X-Test: "${env.SHOPCTL_TEST_HV}"}\n      auth: none\n    expect: {status: 401}\n' > "$tmp/crlf-header.yaml"
expect_code 4 "run: a header value with a line break from an environment variable" env SHOPCTL_TEST_HV=$'a\r\nX-Injected: 1' timeout 60 "$shopctl" run "$tmp/crlf-header.yaml"
expect_output "the value of header 'X-Test' holds a line break or NUL once its variables are filled in" "run says which header"
# The scenario's timeout counts from when its shop answers: the shop's start (40-250 ms) was
# charged to it, and a wait just under the timeout, which validate accepts, timed out on every
# run (exit 3; an outside probe).
printf 'version: 1\nname: wait just under the timeout\ntimeout: 2s\nsteps:\n  - wait: 1975ms\n' > "$tmp/wait-under-timeout.yaml"
# Up to five tries, ahead of the other steps' processes (nice -10; CI runs as root, and
# elsewhere nice says so and runs it as it is): the 25 ms left are the runner's own per-step
# work, which a busy machine can stretch (3 tries failed once with CI's steps side by side);
# the shop's start, charged before, took 40 ms or more on every run.
rc=1
for try in 1 2 3 4 5; do
  nice -n -10 timeout 60 "$shopctl" run --jobs 1 "$tmp/wait-under-timeout.yaml" >"$tmp/out" 2>&1 && { rc=0; break; }
done
if [[ $rc -eq 0 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: run: a wait 25 ms under the scenario's timeout timed out in 5 tries"; sed 's/^/    /' "$tmp/out" | head -10; fi
# An unset ${env.X} was a failed step (exit 4, "a real failure") after a shop had started; it
# is the job's environment that is wrong, known before anything runs: exit 2 at its place, from
# run and validate alike (an outside probe). Set, the file runs.
printf 'version: 1\nname: unset env var\nvars:\n  a: x\n  key: "${env.SHOPCTL_TEST_UNSET_24}"\nsteps:\n  - request: {GET: /api/catalog/categories, auth: none}\n    expect: {status: 401}\n' > "$tmp/unset-env-var.yaml"
expect_code 2 "run: a var reading an unset environment variable" env -u SHOPCTL_TEST_UNSET_24 timeout 60 "$shopctl" run "$tmp/unset-env-var.yaml"
expect_output "unset-env-var.yaml:5:9: error: environment variable SHOPCTL_TEST_UNSET_24 is not set" "run says which variable, at its place"
expect_code 2 "validate: a var reading an unset environment variable" env -u SHOPCTL_TEST_UNSET_24 "$shopctl" validate "$tmp/unset-env-var.yaml"
expect_output "environment variable SHOPCTL_TEST_UNSET_24 is not set" "validate says the same"
expect_code 0 "run: the same file with the variable set" env SHOPCTL_TEST_UNSET_24=x timeout 60 "$shopctl" run "$tmp/unset-env-var.yaml"
printf 'version: 1\nname: crlf auth\nsteps:\n  - request:\n      GET: /api/catalog/categories\n      auth: "a\\r\\nX-B: 1"\n    expect: {status: 401}\n' > "$tmp/crlf-auth.yaml"
expect_code 2 "validate: a literal auth value with a line break" "$shopctl" validate "$tmp/crlf-auth.yaml"
expect_output "'auth' holds a line break or NUL" "validate names auth"
# A shop expectation under `repeat` is judged once over every repeat; its failure said
# "repeat 3 of 3", as if the last repeat alone had failed it.
printf 'version: 1\nname: repeat label\nsteps:\n  - request: {GET: /api/catalog/categories}\n    repeat: 3\n    expect:\n      status: 401\n      calls: [{edge: gateway->catalog, count: 5}]\n' > "$tmp/repeat-label.yaml"
expect_code 4 "run: a calls expectation under repeat fails" timeout 60 "$shopctl" run "$tmp/repeat-label.yaml"
expect_output "over all 3 repeats: expected exactly 5 call" "the failure is labelled as judged over every repeat"
printf 'ports: {"g\\e[2J": 1}\n' > "$tmp/escape-key.yaml"
expect_code 2 "serve --config with an escape sequence in a key" timeout 20 "$shopctl" serve --ephemeral --config "$tmp/escape-key.yaml"
no_raw_controls "serve --config"
# A select count: first 0 applied to nothing, and 20 digits were read as INT64_MAX.
expect_code 1 "fault add --first 0" timeout 20 "$shopctl" fault add --target http://127.0.0.1:1 --admin-token x --service catalog --type reset --first 0
expect_output "--first: must be a whole number from 1" "the count's range is said"
expect_code 1 "fault add --first 99999999999999999999" timeout 20 "$shopctl" fault add --target http://127.0.0.1:1 --admin-token x --service catalog --type reset --first 99999999999999999999
expect_code 1 "fault add --status ' 502' (std::stoll took spaces and a sign)" timeout 20 "$shopctl" fault add --target http://127.0.0.1:1 --admin-token x --service catalog --type abort --status " 502"
expect_output "--status: status must be a whole number" "the status is said to be a number"
expect_code 1 "fault add --every -1" timeout 20 "$shopctl" fault add --target http://127.0.0.1:1 --admin-token x --service catalog --type reset --every -1
printf -- 'who: ada\n---\nwho: bob\n' > "$tmp/two-vars.yaml"
expect_code 2 "run: --vars-file with two documents (an invalid file)" timeout 20 "$shopctl" run --vars-file "$tmp/two-vars.yaml" "$tmp/good.yaml"
expect_output "two-vars.yaml:2:1: error: invalid YAML: holds 2 YAML documents" "run names the vars file's second document"
# Values that were silently changed.
expect_code 1 "serve: --ephemeral with --data-dir" timeout 20 "$shopctl" serve --ephemeral --data-dir "$tmp/data"
expect_output "excludes" "serve says the two do not go together"
expect_code 1 "chaos: --seed -1" "$shopctl" chaos --seed -1 --print-schedule
expect_output "takes a whole number from 0 to 18446744073709551615" "chaos says what --seed takes"
expect_code 1 "chaos: --seed 2^64" "$shopctl" chaos --seed 18446744073709551616 --print-schedule
expect_code 0 "chaos: --seed 2^64-1" "$shopctl" chaos --seed 18446744073709551615 --print-schedule
expect_code 1 "load: --seed -1" timeout 20 "$shopctl" load --seed -1 --duration 1s
expect_code 1 "chaos: --duration 0.5ms" timeout 20 "$shopctl" chaos --duration 0.5ms
expect_output "at least 1ms" "chaos says durations are whole milliseconds"
expect_code 1 "load: --duration 2562047h" timeout 20 "$shopctl" load --duration 2562047h
expect_output "at most 24h" "load says the longest run"
# --think and --timeout took 2000000h: pauses and limits past a day, as --duration refuses.
for flag in --think --timeout --fault-for; do
  expect_code 1 "load: $flag 25h" timeout 20 "$shopctl" load "$flag" 25h --duration 1s --quiet
  expect_output "$flag: at most 24h, got '25h'" "load says $flag is a day at most"
done
# A card that is not UTF-8 ended the run after 10 ms with nothing done, and it passed.
expect_code 1 "load: --card not UTF-8" timeout 20 "$shopctl" load --card $'4242\xff' --duration 1s --quiet
expect_output "^shopctl load: --card: printable ASCII only" "load says what a card is"
for flag in --timeout --settle; do
  expect_code 1 "chaos: $flag 25h" timeout 20 "$shopctl" chaos "$flag" 25h --duration 1s --quiet
  expect_output "$flag: at most 24h, got '25h'" "chaos says $flag is a day at most"
done

expect_code 1 "load: --fault that is not JSON" timeout 20 "$shopctl" load --fault '{bad' --duration 1s
expect_output "^shopctl load: --fault is not valid JSON" "load names its own option"
# Tag filters that leave nothing to run are a mistake, not a pass (a CI gate with a typo'd tag
# passed with zero scenarios run), and a tag is one word.
expect_code 1 "run: --tags that match no scenario" "$shopctl" run "$here/scenarios/flow" --tags chekout
expect_output "leave none of the [0-9]+ scenario\(s\) to run: nothing ran \(exit 1\); the tags in these files: .*checkout" \
  "run names the tags in use"
# The header says how many the tags select: it said 9 scenarios where 2 ran.
expect_code 0 "run: --tags selecting two of the flow folder" "$shopctl" run "$here/scenarios/flow" --tags catalog
expect_output "^shopctl run: 9 scenario\(s\) from 9 file\(s\); the tags select 2, 7 skipped, a fresh in-process shop each" \
  "run's header counts what the tags select"
# The closing count said "9 scenarios" where 2 ran (a newcomer).
expect_output "^9 scenarios \(7 skipped\), [0-9]+ steps in " "run's closing count names the skipped"
expect_code 1 "run: --skip-tags that skip every scenario" "$shopctl" run "$here/scenarios/flow" --skip-tags flow
expect_code 1 "run: a --tags value with a space" "$shopctl" run "$here/scenarios/flow" --tags 'a b'
expect_output "is not a tag" "run says what a tag is"
# An unreachable --target is said once, before anything runs.
expect_code 3 "run: unreachable --target" "$shopctl" run "$here/scenarios/flow" --target http://127.0.0.1:1 --admin-token x
expect_output "^shopctl run: cannot reach http://127.0.0.1:1 .*nothing ran \(exit 3\)" "run says the target is unreachable"
if [[ $(grep -c . "$tmp/out") -ne 1 ]]; then failed=$((failed + 1)); echo "FAIL: run: one line for an unreachable target, got $(grep -c . "$tmp/out")"; else passed=$((passed + 1)); fi
# A scenario's shop takes free ports and a temporary folder: those keys are errors, not ignored.
printf 'version: 1\nname: ports\nconfig:\n  ports: {gateway: 18081}\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/ports.yaml"
expect_code 2 "run: a scenario whose config sets ports" "$shopctl" run "$tmp/ports.yaml"
expect_output "ports.yaml:4:3: error: config key 'ports' does not apply to a scenario" "run names the key and its line"
# A negative --jobs is said as --users says it (CLI11's own "Could not convert: --jobs = -1").
expect_code 1 "run: --jobs -1" "$shopctl" run "$here/scenarios/flow" --jobs -1
expect_output "^--jobs: Value -1 not in range 0 to 100000" "run names --jobs and its range"
# A scenario's shop is on loopback: host 0.0.0.0 put it on every interface of the machine.
printf 'version: 1\nname: host\nconfig:\n  host: 0.0.0.0\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/host.yaml"
expect_code 2 "run: a scenario whose config sets host 0.0.0.0" "$shopctl" run "$tmp/host.yaml"
expect_output "host.yaml:4:9: error: host 0.0.0.0 is not a loopback address" "run names the host and its line"
expect_code 2 "validate: a scenario whose config sets host 0.0.0.0" "$shopctl" validate "$tmp/host.yaml"
# Beside another problem of the config too (it went unsaid until the other was fixed), and a
# missing catalog file likewise; a host refused on its own is said once.
printf 'version: 1\nname: host\nconfig:\n  host: 0.0.0.0\n  auth: {token_ttl: 5}\n  catalog: {file: nope.json}\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/host-and-more.yaml"
expect_code 2 "validate: host 0.0.0.0 beside other config problems" "$shopctl" validate "$tmp/host-and-more.yaml"
expect_output "host-and-more.yaml:4:9: error: host 0.0.0.0 is not a loopback address" "validate names the host beside the other problems"
expect_output "host-and-more.yaml:6:19: error: catalog.file .* is not a file" "validate names the missing catalog file beside the other problems"
expect_output "3 problem\(s\)" "validate counts the three problems"
# A catalog file that is there but no catalog: validate passed it, and run failed exit 3.
printf 'x: [\n' > "$tmp/no-catalog.yaml"
printf 'version: 1\nname: catalog\nconfig:\n  catalog: {file: no-catalog.yaml}\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/bad-catalog-file.yaml"
expect_code 2 "validate: a catalog.file that is no catalog" "$shopctl" validate "$tmp/bad-catalog-file.yaml"
expect_output "bad-catalog-file.yaml:4:19: error: catalog.file is no catalog: .*no-catalog.yaml:2:1: invalid YAML" "validate says why the catalog file is no catalog"
cp "$here/src/services/catalog/demo_catalog.yaml" "$tmp/no-catalog.yaml"
expect_code 0 "validate: a catalog.file that is a catalog" "$shopctl" validate "$tmp/bad-catalog-file.yaml"
printf 'version: 1\nname: host\nconfig:\n  host: banana\n  auth: {token_ttl: 5}\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/host-banana.yaml"
expect_code 2 "validate: host banana beside another problem" "$shopctl" validate "$tmp/host-banana.yaml"
if [[ $(grep -c 'host-banana.yaml:4:' "$tmp/out") -eq 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: validate: a refused host is said once"; sed 's/^/    /' "$tmp/out"; fi
printf 'version: 1\nname: host\nconfig:\n  host: "::1"\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/host6.yaml"
expect_code 0 "run: a scenario whose config sets host ::1 (loopback)" "$shopctl" run "$tmp/host6.yaml"
printf 'version: 1\nname: host\nconfig:\n  host: 127.0.0.2\nsteps:\n  - request: {GET: /health/live}\n    expect: {status: 200}\n' > "$tmp/host2.yaml"
expect_code 0 "run: a scenario whose config sets host 127.0.0.2 (loopback)" "$shopctl" run "$tmp/host2.yaml"
# A JSON list in --fault is a list of faults: CLI11 had split it at its commas ("not valid JSON").
expect_code 0 "load: --fault with a JSON list of two faults" timeout 30 "$shopctl" load --duration 1s --users 2 \
  --fault '[{"target":"catalog","type":"delay","delay_ms":1},{"target":"payment","type":"delay","delay_ms":1}]'
expect_output 'fault added at .*"target":"payment"' "both faults of the list were added"
expect_code 1 "load: --fault with a list that holds no fault" timeout 20 "$shopctl" load --fault '[1]' --duration 1s
expect_output "takes one fault, a JSON object" "load says what --fault takes"
expect_code 1 "load: --fault with an empty list" timeout 20 "$shopctl" load --fault '[]' --duration 1s
expect_output "empty list" "load names the empty list"

# Outputs that would destroy something: an input, another report, a device (exit 1, nothing ran).
cp "$tmp/good.yaml" "$tmp/keep.yaml"
expect_code 1 "run: --junit is the scenario file" timeout 20 "$shopctl" run "$tmp/keep.yaml" --junit "$tmp/keep.yaml"
expect_output "--junit .*keep.yaml is the scenario file" "run says the report would overwrite the scenario"
if cmp -s "$tmp/good.yaml" "$tmp/keep.yaml"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: run overwrote its scenario file"; fi
expect_code 1 "run: --junit and --json on one file" timeout 20 "$shopctl" run "$tmp/good.yaml" --junit "$tmp/r.out" --json "$tmp/./r.out"
expect_output "--json and --junit both name" "run says one report would overwrite the other"
printf 'seed: 7\n' > "$tmp/chaos.yaml"
expect_code 1 "chaos: --json is the --config file" timeout 20 "$shopctl" chaos --config "$tmp/chaos.yaml" --json "$tmp/chaos.yaml" --duration 1s
if grep -q '^seed: 7$' "$tmp/chaos.yaml"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: chaos overwrote its --config"; fi
expect_code 1 "load: --html is the --config file" timeout 20 "$shopctl" load --config "$tmp/chaos.yaml" --html "$tmp/chaos.yaml" --duration 1s
expect_code 1 "load: --json under a file, before the run" timeout 20 "$shopctl" load --json "$tmp/good.yaml/l.json" --duration 5s
expect_output "cannot write .*good.yaml/l.json \(Not a directory\): nothing ran" "load says so before the run"
expect_code 0 "graph -o into a missing folder makes it" timeout 20 "$shopctl" graph -o "$tmp/made/g.mmd"
if [[ -s "$tmp/made/g.mmd" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: graph -o did not make the missing folder"; fi
echo '{}' > "$tmp/graph.json"
expect_code 1 "graph: -o is the --from file" timeout 20 "$shopctl" graph --from "$tmp/graph.json" -o "$tmp/graph.json"
expect_code 1 "graph: -o /dev/full" timeout 20 "$shopctl" graph -o /dev/full
expect_output "cannot write /dev/full" "graph says the write failed"
# run's reports say why too (it said "cannot write /dev/full" and nothing more; an outside probe).
expect_code 1 "run: --junit /dev/full" "$shopctl" run "$here/scenarios/flow/browse-catalog.yaml" --junit /dev/full
expect_output "cannot write /dev/full \(No space left on device\)" "run says why the report was not written"
# An /_admin/calls answer whose ring dropped records: drawn, with a note that it is partial.
printf '{"next_seq": 9, "dropped": true, "ring_capacity": 2, "records": [{"seq": 7, "caller": "order", "callee": "catalog", "edge": "order->catalog", "outcome": "ok", "status": 200, "at_ms": 1, "duration_ms": 1}, {"seq": 8, "caller": "order", "callee": "catalog", "edge": "order->catalog", "outcome": "ok", "status": 200, "at_ms": 2, "duration_ms": 1}]}' > "$tmp/dropped.json"
expect_code 0 "graph --from a calls answer that dropped records" timeout 20 "$shopctl" graph --from "$tmp/dropped.json"
expect_output "note: .*dropped.json says \"dropped\": true" "graph says the counts are partial"
mkfifo "$tmp/pipe"
expect_code 1 "serve: --record onto a pipe" timeout 20 "$shopctl" serve --ephemeral --gateway-port 0 --record "$tmp/pipe"
expect_output "not a regular file" "serve refuses to replace a pipe"
if [[ -p "$tmp/pipe" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: serve --record replaced a pipe"; fi
# A report onto a pipe with a reader: written there. The check before the run opened and closed
# it, which gave the reader end-of-file, and the report's own open waited for ever (an outside
# probe: a passed run that hung).
mkfifo "$tmp/report-pipe"
(timeout 60 cat "$tmp/report-pipe" > "$tmp/report-got") &
reader=$!
expect_code 0 "run: --json onto a pipe a reader waits on" timeout -s KILL 60 "$shopctl" run "$tmp/good.yaml" --jobs 1 --json "$tmp/report-pipe"
wait "$reader"
if grep -q '"scenarios"' "$tmp/report-got"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: the pipe's reader got no report"; fi
expect_code 1 "serve: --record onto the --config file" timeout 20 "$shopctl" serve --ephemeral --config "$tmp/chaos.yaml" --record "$tmp/chaos.yaml"
# On a terminal (script(1) gives one), --color auto colours PASS, but not with NO_COLOR set or
# TERM=dumb: a CI runner's pseudo-terminal got escapes with NO_COLOR=1 (an outside probe).
env -u NO_COLOR TERM=xterm script -qec "'$shopctl' run '$tmp/good.yaml' --jobs 1" /dev/null >"$tmp/colored.out" 2>&1
if grep -q $'\x1b\[' "$tmp/colored.out"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: no colour on a terminal"; fi
for plain in "NO_COLOR=1 TERM=xterm" "TERM=dumb"; do
  env -u NO_COLOR $plain script -qec "'$shopctl' run '$tmp/good.yaml' --jobs 1" /dev/null >"$tmp/plain.out" 2>&1
  if grep -q $'\x1b\[' "$tmp/plain.out" || ! grep -q "PASS" "$tmp/plain.out"; then
    failed=$((failed + 1)); echo "FAIL: colour escapes with $plain"; sed 's/^/    /' "$tmp/plain.out" | head -5
  else passed=$((passed + 1)); fi
done
# A --config value with a YAML tag: refused at it (it was read without a word; an outside probe).
printf 'http: {max_connections: !!int 5}\n' > "$tmp/tagged.yaml"
expect_code 2 "serve: a --config value with a YAML tag" timeout 20 "$shopctl" serve --config "$tmp/tagged.yaml" --print-config
expect_output "tagged.yaml:1:25: error: YAML tags \(!!int\) are not read" "the tag is named at its place"
# A missing TMPDIR is named; an empty one means /tmp, as for mktemp(1).
# A scenario past its timeout: exit 3, and -v prints the step the deadline cut (it printed
# every step but that one).
printf 'version: 1\nname: cut short\ntimeout: 1s\nsetup:\n  - login: {email: demo@shop.test, password: demo-password-1}\nsteps:\n  - fault: {target: catalog, type: hang}\n  - request: {GET: /api/catalog/products}\n' > "$tmp/cut.yaml"
expect_code 3 "run: a scenario past its timeout" timeout 30 "$shopctl" run "$tmp/cut.yaml" -v
expect_output "FAIL steps: GET /api/catalog/products \([0-9.]+ ms, cut by the scenario's timeout\)" "-v prints the step the timeout cut"
# The longest timeout validate takes: the deadline went past the clock's end and wrapped, and
# the scenario timed out on its first step (an outside probe).
printf 'version: 1\nname: the longest timeout\ntimeout: 9223372036s\nsetup:\n  - login: {email: demo@shop.test, password: demo-password-1}\nsteps:\n  - wait: 1ms\n' > "$tmp/longest.yaml"
expect_code 0 "validate: the longest timeout" timeout 30 "$shopctl" validate "$tmp/longest.yaml"
expect_code 0 "run: the longest timeout" timeout 30 "$shopctl" run "$tmp/longest.yaml"
TMPDIR="$tmp/no-such-dir" expect_code 3 "run: TMPDIR that does not exist" timeout 20 "$shopctl" run "$tmp/good.yaml"
expect_output "TMPDIR=.*no-such-dir does not exist" "run names TMPDIR"
TMPDIR= expect_code 0 "run: an empty TMPDIR" timeout 60 "$shopctl" run "$tmp/good.yaml" --jobs 1
# More shops at once than the open-file limit allows: the run ended with std::terminate
# (exit 134, an epoll's EMFILE on an io thread), no report, and a temporary folder per shop
# left behind. It runs as many at once as the limit allows, and says so.
mkdir -p "$tmp/many" "$tmp/many-tmp"
for i in $(seq -w 1 100); do printf 'version: 1\nname: s%s\nsteps:\n  - wait: 1ms\n' "$i" >"$tmp/many/s$i.yaml"; done
expect_code 0 "run: 100 scenarios, --jobs 64 under ulimit -n 1024" bash -c "ulimit -n 1024 && TMPDIR='$tmp/many-tmp' exec '$shopctl' run '$tmp/many' --jobs 64 --junit '$tmp/many.xml'"
expect_output "note: running [0-9]+ scenario\(s\) at once, not 64: the open-file limit" "the lower parallelism is said"
if [[ -s "$tmp/many.xml" && -z "$(ls -A "$tmp/many-tmp")" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the run under a low file limit wrote no JUnit or left $(ls "$tmp/many-tmp" | wc -l) temporary folders"
fi

# SIGINT and SIGTERM: the in-process shops' temporary folders are removed, exit 128 + signal.
interrupted() {  # interrupted SIGNAL WANT DESCRIPTION COMMAND...
  local signal=$1 want=$2 what=$3; shift 3
  local dir="$tmp/interrupt-$signal"; mkdir -p "$dir"
  # A script's background job starts with SIGINT ignored; env gives it the default back.
  TMPDIR=$dir env --default-signal=INT "$@" >"$tmp/out" 2>&1 &
  local pid=$! waited=0
  # Until the shop's folder exists (the run has started), at most 20 s.
  until compgen -G "$dir/shopctl-*" >/dev/null || [[ $waited -ge 200 ]]; do sleep 0.1; waited=$((waited + 1)); done
  sleep 0.3
  kill -s "$signal" "$pid"
  wait "$pid"
  local got=$?
  if [[ $got -eq $want ]] && ! compgen -G "$dir/shopctl-*" >/dev/null; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what: exit $got (want $want), left: $(ls "$dir" | tr '\n' ' ')"; sed 's/^/    /' "$tmp/out" | head -10
  fi
}
printf 'version: 1\nname: waits\ntimeout: 2h\nsteps:\n  - wait: 1h\n' > "$tmp/wait.yaml"
# A run that writes no report removes what an earlier run left at its report paths: a CI step
# publishing the report with `if: always()` showed the earlier run's green tests for a run that
# was interrupted, or never started (an outside probe).
printf '<testsuites tests="1" failures="0"/>\n' > "$tmp/wait.xml"
interrupted INT 130 "run: SIGINT during a scenario" "$shopctl" run "$tmp/wait.yaml" --junit "$tmp/wait.xml"
expect_output "interrupted \(SIGINT\): temporary folders removed" "run says it was interrupted, naming the signal as the docs do"
expect_output "removed the report an earlier run left at .*wait.xml" "run says it removed the earlier report"
if [[ ! -e "$tmp/wait.xml" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: an interrupted run left the earlier run's report in place"
fi
printf '{"summary": {"failed": 0}}\n' > "$tmp/stale.json"
printf '<testsuites tests="1" failures="0"/>\n' > "$tmp/stale.xml"
printf 'version: 1\nsteps: [{wat: 1}]\n' > "$tmp/invalid.yaml"
expect_code 2 "run: an invalid scenario with reports named" "$shopctl" run "$tmp/invalid.yaml" --junit "$tmp/stale.xml" --json "$tmp/stale.json"
expect_output "removed the reports an earlier run left at .*stale.xml, .*stale.json" "run says it removed both"
if [[ ! -e "$tmp/stale.xml" && ! -e "$tmp/stale.json" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a run that ran nothing left the earlier run's reports in place"
fi
# A command line CLI11 refuses (an unknown option, a value out of range, no scenario path) ran
# nothing too: the earlier run's green reports stayed beside exit 1, for run, load and chaos. A
# file another argument names is kept (it may be an input).
for cmdline in "run --no-such-flag $tmp/good.yaml --junit=$tmp/stale.xml --json $tmp/stale.json" \
    "load --users 0 --json $tmp/stale.json --html $tmp/stale.xml" "chaos --users 0 --json $tmp/stale.json" \
    "run --junit $tmp/stale.xml --json $tmp/stale.json"; do
  printf '{"summary": {"failed": 0}}\n' > "$tmp/stale.json"
  printf '<testsuites tests="1" failures="0"/>\n' > "$tmp/stale.xml"
  # shellcheck disable=SC2086
  expect_code 1 "a refused command line: $cmdline" "$shopctl" $cmdline
  expect_output "note: removed the reports? an earlier run left at .*stale" "the refused command line says it removed the reports"
  if [[ ! -e "$tmp/stale.json" ]] && { [[ $cmdline == chaos* ]] || [[ ! -e "$tmp/stale.xml" ]]; }; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: a refused command line ($cmdline) left the earlier run's reports in place"
  fi
done
printf '<testsuites tests="1" failures="0"/>\n' > "$tmp/stale.xml"
expect_code 1 "a refused command line whose report is also an argument" "$shopctl" run "$tmp/stale.xml" --junit "$tmp/stale.xml" --no-such-flag
if [[ -e "$tmp/stale.xml" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a refused command line removed a file another argument names"
fi
# A request path from a variable that does not start with '/': it failed as "expected an
# http:// URL ..., got 'http://127.0.0.1:PORTnopath'", a URL the author never wrote.
printf 'version: 1\nname: a path from a variable\nvars: {p: nopath}\nsteps:\n  - request: {GET: "${p}"}\n    expect: {status: 200}\n' >"$tmp/var-path.yaml"
expect_code 4 "run: a request path from a variable without '/'" "$shopctl" run "$tmp/var-path.yaml"
expect_output "a request path starts with '/' \(or is a full http:// URL\), not 'nopath' \(from \\\$\{p\}\)" "the step says what the path must be, and where it came from"
# An empty product id passed validate; the run then failed with "no admin route for POST
# /_admin/products/ here".
printf 'version: 1\nname: x\nsteps:\n  - set_price: {product: "", price_cents: 1}\n' >"$tmp/empty-product.yaml"
expect_code 2 "validate: an empty product id" "$shopctl" validate "$tmp/empty-product.yaml"
expect_output "empty-product.yaml:4:26: error: 'product' is a product id, not an empty string" "validate names the empty product id"
# A byte order mark in the middle of a file (`cat a.yaml b.yaml`) before a key: the error read
# "unknown key 'name' in the scenario; did you mean 'name'?". The invisible character is shown.
printf 'version: 1\n\xef\xbb\xbfname: x\nsteps:\n  - wait: 1ms\n' >"$tmp/mid-bom.yaml"
expect_code 2 "validate: a byte order mark before a key" "$shopctl" validate "$tmp/mid-bom.yaml"
expect_output "unknown key '\\\\ufeffname' in the scenario; did you mean 'name'\\?" "the key's invisible character is shown"
# A failed expectation whose answer quotes an error's words, or one under a low open-file limit
# that the shop answered, is a failure (exit 4), not "this process ran out of open files" (exit
# 3, which CI may retry away): a shopper named "Too many open files" was (an outside probe).
cat >"$tmp/named-emfile.yaml" <<'YAML'
version: 1
name: a shopper whose name is an error message
steps:
  - register: {email: "emfile-${run_id}@shop.test", password: correct-horse-battery, name: "Too many open files"}
    expect: {status: 200}
YAML
expect_code 4 "run: a 201 that quotes 'Too many open files' where 200 was expected" "$shopctl" run "$tmp/named-emfile.yaml"
printf 'version: 1\nname: an anonymous cart read\nsteps:\n  - request: {method: GET, path: /api/cart}\n    expect: {status: 200}\n' >"$tmp/anon-cart.yaml"
expect_code 4 "run: a 401 where 200 was expected, under ulimit -n 150" bash -c "ulimit -n 150 && exec '$shopctl' run '$tmp/anon-cart.yaml'"
# Through a symbolic link, the file it leads to: a run writes there, and the earlier green
# report behind the link stayed (an outside probe).
mkdir -p "$tmp/art"
printf '<testsuites tests="1" failures="0"/>\n' > "$tmp/art/junit.xml"
ln -sfn "$tmp/art/junit.xml" "$tmp/link.xml"
expect_code 2 "run: an invalid scenario with --junit a link" "$shopctl" run "$tmp/invalid.yaml" --junit "$tmp/link.xml"
if [[ ! -e "$tmp/art/junit.xml" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a run that ran nothing left the earlier report behind --junit's link"
fi
# An interrupt while the reports are written leaves this run's complete set or none, never this
# run's JUnit beside the earlier run's green JSON and HTML (an outside probe's SIGTERM). A FIFO
# as --json holds the run there (it waits up to 10 s for a reader), the JUnit's temporary file
# already made, until the SIGTERM.
printf '<testsuites tests="1" failures="0"/>\n' > "$tmp/mix.xml"
printf '<html>green</html>\n' > "$tmp/mix.html"
rm -f "$tmp/mix.json"; mkfifo "$tmp/mix.json"
"$shopctl" run "$tmp/good.yaml" --jobs 1 --junit "$tmp/mix.xml" --json "$tmp/mix.json" --html "$tmp/mix.html" >"$tmp/out" 2>&1 &
mix_pid=$!
for _ in $(seq 1 200); do
  compgen -G "$tmp/.mix.xml.*" >/dev/null && break
  sleep 0.05
done
sleep 0.5  # from the JUnit's temporary file to the wait on the FIFO
kill -TERM "$mix_pid"; wait "$mix_pid"; mix_rc=$?
rm -f "$tmp/mix.json"
if [[ $mix_rc -eq 143 && ! -e "$tmp/mix.xml" && ! -e "$tmp/mix.html" ]] && ! compgen -G "$tmp/.mix.*" >/dev/null; then
  passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a run interrupted while writing its reports (exit $mix_rc) left: $(ls -A "$tmp" | grep mix | tr '\n' ' ')"
fi
# A stop signal while serve waits for a port that a connection in TIME-WAIT holds (up to a
# minute) stops it then: it was taken only once the shop was up, so SIGTERM twice went unheard
# for 59 s, then the banner came and the shop stopped (an outside probe). With --log-format
# json the wait's warning names the command, as every warning on serve's way up.
tw_port=$(python3 -c '
import socket, sys
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen()
client = socket.socket(); client.bind(("127.0.0.1", 0)); port = client.getsockname()[1]
client.connect(listener.getsockname()); peer, _ = listener.accept()
client.close()  # the active close: the client side, on `port`, stays in TIME-WAIT
peer.close(); listener.close()
print(port)')
"$shopctl" serve --ephemeral --gateway-port "$tw_port" --log-format json >"$tmp/tw.out" 2>"$tmp/tw.err" &
tw_pid=$!
for _ in $(seq 1 100); do grep -q "TIME-WAIT" "$tmp/tw.err" && break; sleep 0.05; done
kill -TERM "$tw_pid"
tw_ended=1
for _ in $(seq 1 100); do kill -0 "$tw_pid" 2>/dev/null || { tw_ended=0; break; }; sleep 0.05; done
kill -KILL "$tw_pid" 2>/dev/null; wait "$tw_pid"; tw_rc=$?
if [[ $tw_ended -eq 0 && $tw_rc -eq 0 ]] && grep -q "SIGTERM received while starting" "$tmp/tw.out" &&
  ! grep -q "admin token" "$tmp/tw.out" && grep "TIME-WAIT" "$tmp/tw.err" | grep -q '"command":"shopctl serve"'; then
  passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: serve waiting for a port in TIME-WAIT and sent SIGTERM (ended in 5 s: $((1 - tw_ended)), exit $tw_rc)"
  sed 's/^/    /' "$tmp/tw.out" "$tmp/tw.err" | head -8
fi
# `load` dates a breaker transition by this machine's time, not the shop's clock: after a clock
# advance of 10 minutes during a 4 s run, a transition 1.7 s in was at_s 601.6 (an outside
# probe), and the HTML drew it at the chart's right edge.
serve_in_background "$tmp/ldadv.out"
"$shopctl" load --target "$served_gateway" --admin-token "$served_token" --users 4 --duration 4s \
  --mix checkout=1 --json "$tmp/ldadv.json" --quiet >/dev/null 2>&1 &
ldadv_pid=$!
sleep 1.2
curl -s -o /dev/null -X POST "$served_gateway/_admin/clock/advance" -H "X-Admin-Token: $served_token" \
  -H 'Content-Type: application/json' -d '{"by":"10m"}'
sleep 0.5
curl -s -o /dev/null -X POST "$served_gateway/_admin/services/catalog/stop" -H "X-Admin-Token: $served_token"
sleep 1.5
curl -s -o /dev/null -X POST "$served_gateway/_admin/services/catalog/start" -H "X-Admin-Token: $served_token"
wait "$ldadv_pid"
kill -TERM "$served_pid" 2>/dev/null; wait "$served_pid" 2>/dev/null
ldadv=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
ts = r.get("breaker_transitions", [])
late = [t["at_s"] for t in ts if t["at_s"] > r["duration_s"] + 1]
print("ok" if ts and not late else "transitions %d, past the run: %s" % (len(ts), late))' "$tmp/ldadv.json" 2>&1)
if [[ "$ldadv" == ok ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: load's breaker transitions after a clock advance: $ldadv"
fi
# A teardown cut by its 5 s grace after the scenario's timeout says so, naming the teardown
# steps that never ran: the cut step was failed with no reason, and the steps after it (a
# clear_faults among them) were in no report (an outside probe).
cat >"$tmp/tdh.yaml" <<'YAML'
version: 1
name: teardown hangs
timeout: 2s
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - fault: {target: catalog, type: hang}
  - request: {GET: /api/catalog/products/p-001}
    expect: {status: 504}
teardown:
  - request: {GET: /api/catalog/products/p-002}
    expect: {status: 200}
  - clear_faults: all
  - request: {GET: /api/catalog/products/p-002}
YAML
expect_code 3 "run: a teardown cut by its grace" "$shopctl" run "$tmp/tdh.yaml" --json "$tmp/tdh.json"
expect_output "teardown's 5 s grace after the scenario's timeout ran out during this step; not run: clear all faults \\(line 13\\)" "the console names the teardown steps the grace left unrun"
if grep -q "not run: clear all faults" "$tmp/tdh.json"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: the JSON report does not name the teardown steps the grace left unrun"
fi
# SIGQUIT (Ctrl-\) stops a command that takes no signals itself as SIGTERM does, exit 131, with
# no core dump: `fault list` against a shop that never answers left a 2.5 MB core file (an
# outside probe). The exit is the process's own (131), not a death by the signal.
quit_bin=$(realpath "$shopctl")  # before the cd: $shopctl may be relative (./build/shopctl in CI)
quit_status=$(cd "$tmp" && python3 -c '
import resource, signal, socket, subprocess, sys, threading, time
resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(16)
held = []
def hold():  # accepts, reads, and never answers: a hung shop
    while True:
        conn, _ = silent.accept(); held.append(conn)
threading.Thread(target=hold, daemon=True).start()
url = "http://127.0.0.1:%d" % silent.getsockname()[1]
# SIGQUIT as a terminal gives it: a background job of a non-interactive shell (the CI lanes)
# starts with SIGINT and SIGQUIT ignored, which shopctl keeps ignored, as documented.
p = subprocess.Popen([sys.argv[1], "fault", "list", "--target", url, "--admin-token", "adm_x"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                     preexec_fn=lambda: signal.signal(signal.SIGQUIT, signal.SIG_DFL))
time.sleep(0.5)
p.send_signal(signal.SIGQUIT)
code = p.wait()
print(code if code == 131 else "%s (%s)" % (code, p.stderr.read().strip()))' "$quit_bin" 2>&1)
if [[ "$quit_status" == 131 ]] && ! compgen -G "$tmp/core*" >/dev/null; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: SIGQUIT to fault list: status $quit_status (want 131), core: $(ls "$tmp" | grep core)"
fi
rm -f "$tmp"/core*
# A second signal to an --ephemeral serve during its drain stops it at once, and its temporary
# folder goes with it (it stayed, databases and all, for the next shopctl to sweep).
mkdir -p "$tmp/eph2tmp"
TMPDIR="$tmp/eph2tmp" "$shopctl" serve --ephemeral --gateway-port 0 --log-level warn >"$tmp/eph2.out" 2>&1 &
eph2_pid=$!
for _ in $(seq 1 100); do grep -q "admin token" "$tmp/eph2.out" && break; sleep 0.05; done
eph2_gateway=$(awk '/public door/ {print $3}' "$tmp/eph2.out")
eph2_token=$(awk '/admin token/ {print $3}' "$tmp/eph2.out")
curl -s -o /dev/null -X POST "$eph2_gateway/_admin/faults" -H "X-Admin-Token: $eph2_token" -H 'Content-Type: application/json' \
  -d '{"id":"hold","target":"gateway","type":"hang","match":{"path":"/api/catalog/**"}}'
curl -s -o /dev/null --max-time 20 "$eph2_gateway/api/catalog/products" &
eph2_curl=$!
sleep 0.3
kill -TERM "$eph2_pid"; sleep 0.5; kill -TERM "$eph2_pid"
wait "$eph2_pid"; eph2_rc=$?
kill "$eph2_curl" 2>/dev/null; wait "$eph2_curl" 2>/dev/null
if [[ $eph2_rc -eq 143 ]] && ! compgen -G "$tmp/eph2tmp/shopctl*" >/dev/null; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a second SIGTERM to serve --ephemeral: exit $eph2_rc, left: $(ls "$tmp/eph2tmp")"
fi
# The same with regular files, and the signal as the first report file appears: the writes
# went on after the interrupt had removed what was made, and the next report's hidden file,
# made after that, stayed half written beside the reports (an outside probe: 8 in 8). Reports
# large enough that the writes take a while; three tries.
mkdir -p "$tmp/bigsuite"
for i in 1 2 3 4; do
  printf 'version: 1\nname: big %s\nsetup:\n  - login: {email: demo@shop.test, password: demo-password-1}\nsteps:\n  - request: {GET: /api/cart}\n    repeat: 1500\n' "$i" >"$tmp/bigsuite/b$i.yaml"
done
# A signal a little later, once the reports are in place, keeps them (this run's, complete), and
# the run's last line says so: it said "no report was written" beside them (an outside probe).
left_behind=""; said_wrong=""
for delay in 0 0 0 0.1 0.2 0.3; do
  rm -rf "$tmp/bigr"; mkdir "$tmp/bigr"
  "$shopctl" run "$tmp/bigsuite" --junit "$tmp/bigr/j.xml" --json "$tmp/bigr/r.json" --html "$tmp/bigr/h.html" >/dev/null 2>"$tmp/bigr.err" &
  big_pid=$!
  for _ in $(seq 1 4000); do
    [[ -n "$(ls -A "$tmp/bigr")" ]] && break
    kill -0 "$big_pid" 2>/dev/null || break
    sleep 0.005
  done
  sleep "$delay"
  kill -TERM "$big_pid" 2>/dev/null; wait "$big_pid"; big_rc=$?
  left_behind+=$(ls -A "$tmp/bigr" | grep '^\.' | tr '\n' ' ')
  if [[ $big_rc -eq 143 && -e "$tmp/bigr/j.xml" ]] && ! grep -q "its reports were all written before it, and are kept" "$tmp/bigr.err"; then
    said_wrong+="(after $delay s: $(tail -n 1 "$tmp/bigr.err")) "
  fi
done
if [[ -z "$left_behind" && -z "$said_wrong" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a run interrupted as its reports were written left hidden files: $left_behind; or said none were written beside them: $said_wrong"
fi
# A report that is the file standard output or error goes to: the console's lines and the XML
# overwrote each other, exit 0.
expect_code 1 "run: --junit /dev/stdout" "$shopctl" run "$tmp/good.yaml" --junit /dev/stdout
expect_output "that is where standard output goes" "run says --junit is standard output"
"$shopctl" run "$tmp/good.yaml" --junit "$tmp/console.txt" >"$tmp/console.txt" 2>&1
console_rc=$?
if [[ $console_rc -eq 1 ]] && grep -q "that is where standard output goes" "$tmp/console.txt"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: --junit naming the file standard output goes to: exit $console_rc"; head -5 "$tmp/console.txt"
fi
expect_code 0 "run: --junit /dev/null with standard output there too" sh -c '"$0" run "$1" --junit /dev/null >/dev/null' "$shopctl" "$tmp/good.yaml"
# Never a file it reads: a report path that is the scenario itself is refused and kept.
cp "$tmp/invalid.yaml" "$tmp/kept.yaml"
expect_code 2 "run: --junit naming the invalid scenario" "$shopctl" run "$tmp/kept.yaml" --junit "$tmp/kept.yaml"
if cmp -s "$tmp/invalid.yaml" "$tmp/kept.yaml"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a run removed the scenario its report path named"
fi
interrupted TERM 143 "load: SIGTERM during the run" "$shopctl" load --users 1 --duration 60s --quiet
# An open loop whose rate x duration is a whole number drops nothing: the k-th start was
# reckoned by adding 1/rate cut to whole nanoseconds, one more start fell a nanosecond before
# the deadline, and was counted dropped: `dropped<=0` failed a run that dropped nothing (exit 4;
# an outside probe). A rate whose last start leaves room before the deadline: at 300/s the last
# start is 3 ms before it, and at 30/s 33 ms, and a CI machine busy with two other lanes missed
# each once (a real drop "past the deadline", not this defect). At 3/s it is 333 ms; 3/s showed
# the defect as well.
for rate in 3; do
  expect_code 0 "load: --rate $rate for 1s drops nothing" "$shopctl" load --rate "$rate" --users 16 --duration 1s --quiet --mix browse=1 --threshold 'dropped<=0'
  expect_output "requests: $rate in" "load --rate $rate made $rate starts"
done
# A journey stops at its first unexpected answer: a cart journey whose read failed still sent
# its counted DELETE (three request errors for two failed journeys; an outside probe).
expect_code 0 "load: a cart journey whose read fails" "$shopctl" load --users 1 --duration 1s --quiet --mix cart=1 \
  --fault '{"target":"gateway","type":"abort","status":500,"match":{"path":"/api/cart"},"select":{"first":3}}' \
  --fault '{"target":"gateway","type":"abort","status":500,"match":{"method":"DELETE","path":"/api/cart/items/*"},"select":{"first":1}}' \
  --json "$tmp/cart-stop.json"
if jq -e '.requests.errors == .journeys.cart.errors and .journeys.cart.errors == 2' "$tmp/cart-stop.json" >/dev/null; then
  passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: load's cart journey went on past a failed read: $(jq -c '[.requests.errors, .journeys.cart.errors]' "$tmp/cart-stop.json")"
fi
# A pause between journeys ends with the run (--think 1h ran for an hour after a 1 s run).
expect_code 0 "load: --think longer than --duration" timeout 30 "$shopctl" load --users 2 --think 1h --duration 1s --quiet
# Messages and codes an outside user met (the twelfth session's probe).
expect_code 1 "fault: --target https://" timeout 20 "$shopctl" fault list --target https://x --admin-token t
expect_output "serves no https://" "fault says the shop speaks plain HTTP"
# (A scenario file is a map, and its lists are values a vars file may hold, as `vars:` may.)
printf -- '- a\n- b\n' >"$tmp/vars/top-list.yaml"
expect_code 2 "validate: a vars file that is not a map" timeout 20 "$shopctl" validate --vars-file "$tmp/vars/top-list.yaml" "$tmp/good.yaml"
expect_code 1 "validate: a --var without =" timeout 20 "$shopctl" validate --var nope "$tmp/good.yaml"
printf 'host: localhost\n' > "$tmp/host.yaml"
expect_code 2 "serve: host that is a name, not an address" timeout 20 "$shopctl" serve --ephemeral --config "$tmp/host.yaml"
expect_output "host.yaml:1:7: error: host takes an IP address" "serve points at the host line"
expect_code 3 "serve: --bind an address of no interface here" timeout 20 "$shopctl" serve --ephemeral --bind 192.0.2.77
expect_output "192.0.2.77 is not an address of this machine" "serve says the address is not here"
if grep -q "reactive_socket_service" "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: Boost's source location in the message"; else passed=$((passed + 1)); fi
printf 'host: "::1"\n' > "$tmp/v6.yaml"
expect_code 0 "load: an in-process shop on IPv6 loopback" timeout 30 "$shopctl" load --config "$tmp/v6.yaml" --users 1 --duration 1s --mix checkout=1 --threshold 'errors<1'
expect_output "against http://\[::1\]:[0-9]+" "load names the bracketed URL"
expect_code 1 "load: --fault-at after the end of the run" timeout 20 "$shopctl" load --fault-at 1h --duration 1s
expect_output "the faults would never switch on" "load says why"
# A report to "-" wrote a file named "-", and options that do nothing were taken without a word
# (an outside probe): exit 1, nothing run.
abs_bin="$(cd "$(dirname "$shopctl")" && pwd)/$(basename "$shopctl")"
(cd "$tmp" && "$abs_bin" load --users 1 --duration 300ms --quiet --json - >"$tmp/out" 2>&1); rc=$?
if [[ $rc -eq 1 && ! -e "$tmp/-" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: load --json - (exit $rc, a file '-': $([[ -e "$tmp/-" ]] && echo yes || echo no))"; fi
expect_output "report is written to a file, not to standard output" "load says where reports go"
expect_code 1 "load: --think with --rate" timeout 20 "$shopctl" load --rate 5 --think 1s --duration 1s
expect_output "--think is a closed loop's pause" "load says --think is for a closed loop"
expect_code 1 "load: --fault-for without a fault" timeout 20 "$shopctl" load --fault-for 5s --duration 1s
expect_output "none is given" "load says no fault was given"
expect_code 1 "load: --shop-threads with --target" timeout 20 "$shopctl" load --target http://127.0.0.1:1 --shop-threads 2 --duration 1s
expect_output "--shop-threads sets up the in-process shop" "load says --shop-threads is for its own shop"
expect_code 1 "chaos: --keep with --target" timeout 20 "$shopctl" chaos --target http://127.0.0.1:1 --admin-token T --heal-clock --keep
expect_output "--keep keeps the temporary folder" "chaos says --keep is for its own shop"
expect_code 1 "chaos: --history -" timeout 20 "$shopctl" chaos --history - --duration 1s
expect_output "--history -: a report is written to a file" "chaos says where reports go"
expect_code 1 "load: --mix weights whose sum is not a number" timeout 20 "$shopctl" load --mix browse=1e308,checkout=1e308 --duration 1s
printf 'version: 1\nname: x\0y\n' > "$tmp/nul.yaml"
expect_code 2 "validate: a NUL byte" timeout 20 "$shopctl" validate "$tmp/nul.yaml"
expect_output "nul.yaml:2:8: error: invalid YAML: a NUL byte" "validate points at the NUL byte"
# Output that does not arrive is an error (an outside probe): `reference > docs/cli.md` on a
# full disk, and a run whose stdout is closed, exited 0. And a reader that goes away no longer
# kills a run with SIGPIPE, which left its shops' temporary folders behind.
expect_code 1 "reference: standard output on a full disk" sh -c '"$0" reference > /dev/full' "$shopctl"
expect_output "shopctl reference: cannot write to standard output" "reference says so"
expect_code 1 "completion: standard output on a full disk" sh -c '"$0" completion bash > /dev/full' "$shopctl"
expect_code 1 "run: standard output closed" sh -c '"$0" run "$1" >&-' "$shopctl" "$tmp/good.yaml"
expect_output "shopctl run: cannot write to standard output" "run says so"
printf 'version: 1\nname: f\nsteps:\n  - request: {GET: /api/catalog/products}\n    expect: {status: 418}\n' > "$tmp/fails.yaml"
expect_code 4 "run: a failure keeps its code when standard output is full" sh -c '"$0" run "$1" > /dev/full' "$shopctl" "$tmp/fails.yaml"
mkdir -p "$tmp/piped"
expect_code 1 "run: a reader that goes away (| head -c 1)" bash -c 'TMPDIR="$2" "$0" run "$1" "$1" | head -c 1 >/dev/null; exit "${PIPESTATUS[0]}"' "$shopctl" "$tmp/good.yaml" "$tmp/piped"
if [[ -z "$(ls -A "$tmp/piped")" ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: run | head left $(ls "$tmp/piped") in TMPDIR"
fi
# serve --processes with --print-config started the six processes; --peer and --admin-port
# were accepted and did nothing (an outside probe).
expect_code 0 "serve --processes --print-config prints and exits" timeout 10 "$shopctl" serve --processes --ephemeral --gateway-port 0 --print-config
expect_output '"login_throttle"' "the settings are printed"
expect_code 1 "serve --processes --peer" timeout 10 "$shopctl" serve --processes --ephemeral --peer catalog=http://127.0.0.1:1
expect_output "takes no --peer" "serve says --peer does not go with --processes"
expect_code 1 "serve --processes --admin-port" timeout 10 "$shopctl" serve --processes --ephemeral --admin-port 0
# admin_port in a --config file was taken without a word (the children got ports of the
# launcher's choosing).
printf 'admin_port: 0\n' >"$tmp/admin-port.yaml"
expect_code 1 "serve --processes with admin_port in --config" timeout 10 "$shopctl" serve --processes --ephemeral --gateway-port 0 --config "$tmp/admin-port.yaml" --print-config
expect_output "remove admin_port from the --config file" "serve says admin_port does not go with --processes"
# A --data-dir that is a file: said plainly, without a warning to chmod it first, and without
# std::filesystem's words under --processes (an outside probe).
touch "$tmp/a-file"; chmod 644 "$tmp/a-file"
expect_code 3 "serve: --data-dir names a file" "$shopctl" serve --data-dir "$tmp/a-file" --gateway-port 0
expect_output "the data folder .*a-file is a file, not a folder" "serve says the data folder is a file"
if ! grep -q "other users may read" "$tmp/out"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: serve warned to chmod a data folder that is a file"
fi
expect_code 3 "serve --processes: --data-dir names a file" "$shopctl" serve --processes --data-dir "$tmp/a-file" --gateway-port 0
expect_output "cannot make the data folder .*a-file: a file is in the way" "serve --processes says a file is in the way"
# SIGUSR1 and SIGUSR2 (log rotation, process managers) ended serve at once, without its
# graceful stop (exit 138, an outside probe): said, and the shop runs on.
"$shopctl" serve --ephemeral --gateway-port 0 >"$tmp/usr1.out" 2>&1 &
usr1_pid=$!
for _ in $(seq 1 100); do grep -q "^Ctrl-C" "$tmp/usr1.out" && break; sleep 0.05; done
usr1_gw=$(sed -nE 's/^ *public door +(http:\/\/[0-9.:]+).*/\1/p' "$tmp/usr1.out")
usr1_token=$(sed -nE 's/^ *admin token +([^ ]+).*/\1/p' "$tmp/usr1.out")
# An admin stop of a money service is a warn line naming it (it was an info request line).
curl -s -o /dev/null -X POST -H "X-Admin-Token: $usr1_token" "$usr1_gw/_admin/services/payment/stop"
kill -USR1 "$usr1_pid"; kill -USR2 "$usr1_pid"; sleep 0.3
usr1_live=$(curl -s -o /dev/null -w '%{http_code}' "$usr1_gw/health/live")
kill -TERM "$usr1_pid"; wait "$usr1_pid"; usr1_rc=$?
if [[ "$usr1_live" == 200 && $usr1_rc -eq 0 ]] && grep -q "SIGUSR1 received: nothing to do" "$tmp/usr1.out" &&
  grep -q "SIGTERM received, stopping" "$tmp/usr1.out" &&
  grep -qE " warn service stopped by the admin plane .*service=payment" "$tmp/usr1.out"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: serve runs on after SIGUSR1/SIGUSR2 (live $usr1_live, exit $usr1_rc)"
  sed 's/^/    /' "$tmp/usr1.out" | tail -5
fi
# A small stack limit (ulimit -s 64) crashed a scenario run with SIGSEGV. A soft limit is raised
# (shopctl starts itself again); a hard one below 1 MiB is said, exit 3.
expect_code 0 "run under a soft stack limit of 64 KiB" bash -c "ulimit -Ss 64 && exec \"\$0\" run \"\$1\"" "$shopctl" "$here/scenarios/flow/checkout-and-pay.yaml"
expect_code 3 "a hard stack limit of 64 KiB is said" bash -c "ulimit -s 64 && exec \"\$0\" version" "$shopctl"
expect_output "^shopctl: the stack limit is 64 KiB \(ulimit -s\) and cannot be raised here: shopctl needs at least 1024 KiB" "the stack limit is named"
# A stop signal while serve read its settings killed it by the signal (exit 143, or 130, 129,
# 131: 2-9 ms after exec, an outside probe). A --config FIFO holds serve there for as long as
# the test likes: SIGTERM then, the settings after; serve starts and stops cleanly (exit 0).
mkfifo "$tmp/config.fifo"
"$shopctl" serve --ephemeral --gateway-port 0 --config "$tmp/config.fifo" >"$tmp/early.out" 2>&1 &
early_pid=$!
sleep 0.3
kill -TERM "$early_pid"
sleep 0.2
printf 'seed: 1\n' >"$tmp/config.fifo" &
early_writer=$!
( sleep 15; kill -KILL "$early_pid" 2>/dev/null ) &
early_guard=$!
wait "$early_pid"; early_rc=$?
kill "$early_guard" "$early_writer" 2>/dev/null; wait "$early_guard" "$early_writer" 2>/dev/null
if [[ $early_rc -eq 0 ]] && grep -q "SIGTERM received, stopping" "$tmp/early.out"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: serve stopped while reading its settings exits 0 (exit $early_rc)"
  sed 's/^/    /' "$tmp/early.out" | tail -5
fi
# A request in flight at SIGTERM finishes when it takes longer than 3 s (it was cut at 3 s
# without an answer, an outside probe: the drain lasts gateway.upstream_timeout + 1 s); a second
# SIGTERM during the drain stops the process at once, 143.
drain_serve() {  # drain_serve OUT DELAY [ARGS]: serve with a catalog delay, a request in flight; sets drain_pid
  "$shopctl" serve --ephemeral --gateway-port 0 "${@:3}" >"$1" 2>&1 &
  drain_pid=$!
  for _ in $(seq 1 100); do grep -q "^Ctrl-C" "$1" && break; sleep 0.05; done
  local gw token email password jwt
  gw=$(sed -nE 's/^ *public door +(http:\/\/[0-9.:]+).*/\1/p' "$1")
  token=$(sed -nE 's/^ *admin token +([^ ]+).*/\1/p' "$1")
  email=$(sed -nE 's/^ *demo user +([^ ]+) \/ .*/\1/p' "$1")
  password=$(sed -nE 's/^ *demo user +[^ ]+ \/ ([^ ]+).*/\1/p' "$1")
  jwt=$(curl -s -X POST "$gw/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" | sed -nE 's/.*"access_token":"([^"]+)".*/\1/p')
  curl -s -o /dev/null -X POST -H "X-Admin-Token: $token" -H 'Content-Type: application/json' \
    -d "{\"target\":\"catalog\",\"type\":\"delay\",\"delay_ms\":$2}" "$gw/_admin/faults"
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" \
    "$gw/api/catalog/products" >"$1.answer" &
  sleep 0.5
}
drain_serve "$tmp/drain.out" 4500
kill -TERM "$drain_pid"; wait "$drain_pid"; drain_rc=$?; sleep 0.2
if [[ $drain_rc -eq 0 && "$(cat "$tmp/drain.out.answer")" == 200 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a 4.5 s request in flight at SIGTERM is answered (exit $drain_rc, answer $(cat "$tmp/drain.out.answer"))"
fi
drain_serve "$tmp/drain2.out" 20000
kill -TERM "$drain_pid"; sleep 0.5; drain_start=$(date +%s%N); kill -TERM "$drain_pid"
wait "$drain_pid"; drain_rc=$?; drain_ms=$((($(date +%s%N) - drain_start) / 1000000))
if [[ $drain_rc -eq 143 && $drain_ms -lt 2000 ]] && grep -q "a second SIGTERM: stopping now" "$tmp/drain2.out"; then
  passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a second SIGTERM stops serve at once (exit $drain_rc after $drain_ms ms)"
fi
# A request the drain's end cuts is the stop's doing: an info line, not an error-level
# "unhandled error" with status 500 (an outside probe). With upstream_timeout 1s the drain is
# 3 s; the catalog's 20 s request is cut then.
cat >"$tmp/short-drain.yaml" <<'YAML'
gateway: {upstream_timeout: 1s}
order: {catalog_client: {timeout: 300ms, retry: {max_attempts: 1}}, payment_client: {timeout: 300ms, retry: {max_attempts: 1}}}
payment: {order_client: {timeout: 300ms}, provider_client: {timeout: 300ms, retry: {max_attempts: 1}}}
YAML
drain_serve "$tmp/drain3.out" 20000 --config "$tmp/short-drain.yaml"
kill -TERM "$drain_pid"; wait "$drain_pid"; drain_rc=$?
if [[ $drain_rc -eq 0 ]] && grep -q "request cut by the stop" "$tmp/drain3.out" &&
  ! grep -q "unhandled error" "$tmp/drain3.out"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: a request cut by the stop is said as such (exit $drain_rc)"
  grep -E "cut by|unhandled" "$tmp/drain3.out" | head -3 | sed 's/^/    /'
fi
# order.db restored from an older backup: the provider holds a capture for an order that
# order.db does not. The shop started without a word (an outside probe); the start says so.
restore_dir="$tmp/restore-shop"
serve_until_up() {  # serve_until_up OUT: starts serve on $restore_dir, sets $restore_pid, $restore_gw
  "$shopctl" serve --data-dir "$restore_dir" --gateway-port 0 >"$1" 2>&1 &
  restore_pid=$!
  for _ in $(seq 1 100); do grep -q "^Ctrl-C" "$1" && break; sleep 0.05; done
  restore_gw=$(sed -nE 's/^ *public door +(http:\/\/[0-9.:]+).*/\1/p' "$1")
}
serve_until_up "$tmp/restore-1.out"
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
cp "$restore_dir/order.db" "$tmp/order.db.backup"
cp "$restore_dir/provider.db" "$tmp/provider.db.backup"
serve_until_up "$tmp/restore-2.out"
restore_token=$(curl -s -X POST "$restore_gw/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
curl -s -o /dev/null -X POST "$restore_gw/api/cart/items" -H "Authorization: Bearer $restore_token" \
  -H 'Content-Type: application/json' -d '{"product_id":"p-001","quantity":1}'
restore_pay=$(curl -s -X POST "$restore_gw/api/orders" -H "Authorization: Bearer $restore_token" | jq -r .payment.pay_url)
restore_paid=$(curl -s -X POST "$restore_pay" -H 'Content-Type: application/json' -d '{"card_number":"4242424242424242"}' | jq -r .status)
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
# The same folder, untouched: no warning.
serve_until_up "$tmp/restore-3.out"
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
cp -a "$restore_dir" "$tmp/paid-shop"
cp "$tmp/order.db.backup" "$restore_dir/order.db"; rm -f "$restore_dir/order.db-wal" "$restore_dir/order.db-shm"
serve_until_up "$tmp/restore-4.out"
# A second serve on the folder while it runs reads nothing: the running shop's files change
# between the reads (it warned of captures "in no order" made meanwhile), and it is refused.
timeout 20 "$shopctl" serve --data-dir "$restore_dir" --gateway-port 0 >"$tmp/restore-4b.out" 2>&1
if grep -q "is in use by another shop" "$tmp/restore-4b.out" && ! grep -q "warning:" "$tmp/restore-4b.out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: a second serve on a folder in use checks no money and is refused"
  sed 's/^/    /' "$tmp/restore-4b.out" | head -5
fi
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
if [[ "$restore_paid" == succeeded ]] && ! grep -q "warning" "$tmp/restore-3.out" &&
  grep -qE "warning: 1 capture\(s\) at the provider \(12.90 EUR in all\) stand for no order, e.g. intent pi_[0-9a-f]+ for payment pay_[0-9a-f]+ \(order ord_[0-9a-f]+, not in order.db\)" "$tmp/restore-4.out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: a start on an order.db older than the provider's captures says so (paid: $restore_paid)"
  sed 's/^/    /' "$tmp/restore-4.out" | head -5
fi
# The other way round: provider.db from before the payment (a PAID order with no capture), and
# provider.db removed beside databases that hold money. Both started without a word (an
# outside probe: only captures with no order were looked for, and only with all three files).
rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
cp "$tmp/provider.db.backup" "$restore_dir/provider.db"; rm -f "$restore_dir/provider.db-wal" "$restore_dir/provider.db-shm"
serve_until_up "$tmp/restore-6.out"
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
cp "$tmp/restore-6.out" "$tmp/out"
expect_output "warning: 1 PAID order\(s\) have no capture at the provider, e.g. order ord_[0-9a-f]+ \(payment pay_[0-9a-f]+\)" "a start on a provider.db older than a PAID order says so"
rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
rm -f "$restore_dir"/provider.db*
serve_until_up "$tmp/restore-7.out"
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
cp "$tmp/restore-7.out" "$tmp/out"
expect_output "warning: provider.db \(order.db holds 1 PAID order\(s\)\) is missing or empty beside the other money databases" "a start with provider.db removed says so"
# An emptied order.db, its marker removed as the refusal advises: it was read as present,
# could not be read, and the first start said nothing of the captures it had held (a probe).
rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
: >"$restore_dir/order.db"; rm -f "$restore_dir"/order.db-wal "$restore_dir"/order.db-shm "$restore_dir/order.db.used"
serve_until_up "$tmp/restore-8.out"
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
cp "$tmp/restore-8.out" "$tmp/out"
expect_output "warning: order.db \(provider.db holds captures\) is missing or empty beside the other money databases" "a start with order.db emptied says so"
# A marker (payment.db.used) that is empty, a folder or a FIFO: an emptied payment.db started
# afresh without a word, and a FIFO held the start in open() for good, deaf to SIGTERM.
for kind in empty folder fifo; do
  rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
  : >"$restore_dir/payment.db"; rm -f "$restore_dir"/payment.db-wal "$restore_dir"/payment.db-shm "$restore_dir/payment.db.used"
  case $kind in
    empty) : >"$restore_dir/payment.db.used" ;;
    folder) mkdir "$restore_dir/payment.db.used" ;;
    fifo) mkfifo "$restore_dir/payment.db.used" ;;
  esac
  expect_code 3 "serve with an emptied payment.db and a marker that is $kind" timeout -s KILL 20 "$shopctl" serve --data-dir "$restore_dir" --gateway-port 0
  expect_output "payment.db" "the refusal names the file ($kind marker)"
done
# A schema version edited below what the file holds: SQLite's "duplicate column" and a piece
# of SQL, naming neither the file nor a fix.
rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
sqlite3 "$restore_dir/order.db" "PRAGMA user_version = 3"
expect_code 3 "serve with order.db's schema version edited down" timeout -s KILL 20 "$shopctl" serve --data-dir "$restore_dir" --gateway-port 0
expect_output "order.db: cannot bring its schema from version 3 to 4 .*restore it from a backup" "the refusal names the file and the way out"
rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
# A host of a split shop keeps its own database alone: its restart is no "missing" money
# database (every restart of a split order host warned so, naming a check that cannot run
# there; an outside probe).
rm -f "$restore_dir"/payment.db* "$restore_dir"/provider.db*
"$shopctl" serve --only order --data-dir "$restore_dir" >"$tmp/split-host.out" 2>&1 &
split_pid=$!
for _ in $(seq 1 100); do grep -q "^Ctrl-C" "$tmp/split-host.out" && break; sleep 0.05; done
kill "$split_pid"; wait "$split_pid" 2>/dev/null
if grep -q "^Ctrl-C" "$tmp/split-host.out" && ! grep -q "money databases\|warning: .*missing" "$tmp/split-host.out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: a split host's start warns of the money databases it does not keep"
  sed 's/^/    /' "$tmp/split-host.out" | head -5
fi
rm -rf "$restore_dir"; cp -a "$tmp/paid-shop" "$restore_dir"
# identity.json (the secrets) widened by hand was taken without a word (an outside probe).
chmod 700 "$restore_dir"; chmod 644 "$restore_dir/identity.json"
serve_until_up "$tmp/restore-5.out"
kill "$restore_pid"; wait "$restore_pid" 2>/dev/null
cp "$tmp/restore-5.out" "$tmp/out"
expect_output "warning: other users may read .*identity.json, which holds the shop's secrets: chmod 600 it" "serve warns of a readable identity.json"
# A low open-file limit is said at the start (with 64 a loaded shop stopped answering and its
# log blamed the next service; an outside probe).
(ulimit -Sn 64 -Hn 64; timeout 5 "$shopctl" serve --ephemeral --gateway-port 0 >"$tmp/out" 2>&1)
expect_output "warning: the open-file limit is 64 " "serve warns of a low open-file limit"
# A gateway process with an admin port of its own names it in the banner, as a process without
# the gateway does (it named only the gateway's URL).
"$shopctl" serve --ephemeral --gateway-port 0 --admin-port 0 >"$tmp/admin-banner.out" 2>&1 &
banner_pid=$!
for _ in $(seq 1 100); do grep -q "^Ctrl-C" "$tmp/admin-banner.out" && break; sleep 0.05; done
banner_admin=$(sed -nE 's/^ *admin plane +(http:\/\/[0-9.:]+) .*/\1/p' "$tmp/admin-banner.out")
banner_token=$(sed -nE 's/^ *admin token +([^ ]+).*/\1/p' "$tmp/admin-banner.out")
banner_status=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Admin-Token: $banner_token" "$banner_admin/_admin/faults")
kill "$banner_pid"; wait "$banner_pid" 2>/dev/null
if [[ -n "$banner_admin" && "$banner_status" == 200 ]]; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: serve --admin-port names its admin plane ('$banner_admin' answered $banner_status)"
  sed 's/^/    /' "$tmp/admin-banner.out" | head -20
fi
# A file of more than 1,000,000 YAML nodes is refused before yaml-cpp builds them: 280,000
# small steps (16 MB) took 18 s and 1.9 GB to validate, and passed (an outside probe).
python3 -c "
print('version: 1\nname: h\nsteps:')
for _ in range(120000): print('  - {request: {GET: /api/cart}, expect: {status: 200}}')" > "$tmp/many.yaml"
expect_code 2 "validate: more than 1,000,000 YAML nodes" timeout 60 "$shopctl" validate "$tmp/many.yaml"
expect_output "many.yaml:[0-9]+:[0-9]+: .*more than 1000000 YAML nodes" "validate says where the budget ran out"
# A failed expectation wins over a timeout in the same run: exit 4, not 3 (a CI job that
# retries exit 3 hid the real failure).
printf 'version: 1\nname: times out\ntimeout: 300ms\nsteps:\n  - wait: 200ms\n  - wait: 200ms\n' >"$tmp/times-out.yaml"
expect_code 4 "run: a failed expectation beside a timeout" "$shopctl" run "$tmp/fails.yaml" "$tmp/times-out.yaml" --color never
expect_output "^scenarios: 0 passed, 2 failed$" "both are counted"
expect_code 3 "run: a timeout alone is still exit 3" "$shopctl" run "$tmp/times-out.yaml" --color never

# Hidden folders and files are passed over in a folder: `validate .` reported a CI workflow
# (.github/workflows/ci.yml) and .gitlab-ci.yml as broken scenarios. Named, a hidden file is read.
mkdir -p "$tmp/repo/.github/workflows" "$tmp/repo/scenarios"
printf 'on: push\njobs: {}\n' >"$tmp/repo/.github/workflows/ci.yml"
printf 'stages: [test]\n' >"$tmp/repo/.gitlab-ci.yml"
cp "$tmp/good.yaml" "$tmp/repo/scenarios/good.yaml"
cp "$tmp/good.yaml" "$tmp/repo/.hidden.yaml"
expect_code 0 "validate: a folder with hidden folders and files" "$shopctl" validate "$tmp/repo"
expect_output "^1 scenario file\(s\) valid" "only the visible scenario is read"
expect_code 2 "validate: a hidden file named on the command line is read" "$shopctl" validate "$tmp/repo/.gitlab-ci.yml"
expect_output "\.gitlab-ci\.yml:" "the named hidden file is checked"

# A report is written to a file: `--junit -` silently wrote a file named "-".
shopctl_path=$(cd "$(dirname "$shopctl")" && pwd)/$(basename "$shopctl")
expect_code 1 "run --junit -" bash -c 'cd "$1" && "$0" run "$2" --junit -' "$shopctl_path" "$tmp" "$tmp/good.yaml"
expect_output "shopctl run: --junit -: a report is written to a file" "run says why"
if [[ -e "$tmp/-" ]]; then failed=$((failed + 1)); echo "FAIL: run --junit - wrote a file named -"; else passed=$((passed + 1)); fi
expect_code 1 "run --html -" "$shopctl" run "$tmp/good.yaml" --html -

# chaos --check on a folder that does not exist is a bad command line (exit 1), as the help says
# (it said 3, for a folder without a database).
expect_code 1 "chaos --check a folder that does not exist" "$shopctl" chaos --check "$tmp/no-such-folder"
expect_code 0 "chaos --help" "$shopctl" chaos --help
expect_output "1 bad command line .*" "chaos --help has exit 1"
if "$shopctl" chaos --help | tr -s ' \n' ' ' | grep -q "a --check folder that does not exist or is no folder, or a --duration too short"; then
  passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: chaos --help does not say a missing --check folder is exit 1"; fi

# Ids and product names go into admin URLs as one path segment, encoded: a step's fault with
# the id "x/y" was never removed (the next step got its 503), `clear_faults: a/b` failed with
# route_not_found, `set_price` on "p-001?x=1" changed p-001, and `pay` on "ID#x" paid ID.
cat >"$tmp/ids.yaml" <<'YAML'
version: 1
name: ids with a slash, a space or a '?' are one id each
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: /api/catalog/products/p-001}
    faults: [{id: "x/y", target: catalog, type: abort}]
    expect: {status: 503}
  - name: the step's fault went with its step
    request: {GET: /api/catalog/products/p-001}
    expect: {status: 200}
  - fault: {id: "a b/c", target: catalog, type: abort}
  - clear_faults: "a b/c"
  - request: {GET: /api/catalog/products/p-001}
    expect: {status: 200}
YAML
expect_code 0 "run: fault ids with '/' and ' ' are added and removed" "$shopctl" run "$tmp/ids.yaml" --jobs 1
cat >"$tmp/price-id.yaml" <<'YAML'
version: 1
name: set_price on a product id with a query in it
steps:
  - set_price: {product: "p-001?x=1", price_cents: 7}
YAML
expect_code 4 "run: set_price on 'p-001?x=1' is refused" "$shopctl" run "$tmp/price-id.yaml" --jobs 1
expect_output "product_not_found" "the product 'p-001?x=1' is not found"
cat >"$tmp/pay-id.yaml" <<'YAML'
version: 1
name: pay on an order id with a fragment in it
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
    expect: {status: 200}
  - request: {method: POST, path: /api/orders}
    expect: {status: 201}
    capture: {order_id: $.order_id}
  - pay: {order: "${order_id}#not-this-one", card: "4242424242424242"}
    expect: {status: 200}
YAML
expect_code 4 "run: pay on 'ID#x' does not pay order ID" "$shopctl" run "$tmp/pay-id.yaml" --jobs 1
expect_output "answered 404" "the order 'ID#x' is not found"
# An abort's empty body is sent as written (scenarios.md): it was taken as none, and the answer
# carried the contract's error shape (133 bytes).
cat >"$tmp/empty-body.yaml" <<'YAML'
version: 1
name: an abort with an empty body answers an empty body
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: /api/catalog/products/p-001}
    faults: [{target: catalog, type: abort, status: 500, body: ""}]
    expect: {status: 500, headers: {Content-Length: "0"}}
YAML
expect_code 0 "run: an abort fault's empty body is an empty answer" "$shopctl" run "$tmp/empty-body.yaml" --jobs 1
# What the shop would refuse when a step runs is found when the file is read (exit 2, at its
# line): each of these passed validate and failed the run with exit 4.
long_id=$(printf 'i%.0s' $(seq 1 101))
long_body=$(printf 'b%.0s' $(seq 1 10001))
for bad in 'request: {GET: "https://example.com/"}|speaks plain HTTP' \
           'request: {GET: "http://"}|not a URL the runner can send to' \
           'request: {GET: "http://127.0.0.1:99999/"}|not a URL the runner can send to' \
           'advance_clock: 1000000h|at most 100 years' \
           'set_price: {product: p-001, price_cents: 9007199254740993}|900000000000' \
           "fault: {id: $long_id, target: catalog, type: abort}|longer than 100 characters" \
           "fault: {target: catalog, type: abort, body: $long_body}|at most 10000 characters"; do
  printf 'version: 1\nname: refused when read\nsteps:\n  - %s\n' "${bad%%|*}" >"$tmp/late.yaml"
  expect_code 2 "validate: ${bad:0:60}" "$shopctl" validate "$tmp/late.yaml"
  expect_output "late.yaml:4:.*${bad##*|}" "validate says why, at the line: ${bad##*|}"
done
"$shopctl" load --users 2 --duration 2s --mix product=1 \
  --fault '{"id":"a/b","target":"catalog","type":"abort","status":500}' --fault-at 0s --fault-for 1s \
  >"$tmp/out" 2>&1
expect_output "fault cleared at [0-9.]+ s: a/b" "load clears a fault whose id has a '/'"
if ! grep -qE "^requests: .*, errors [0-9,]+ \(" "$tmp/out" || grep -qE "^requests: .*errors [0-9,]+ \(100\.0+%\)" "$tmp/out"; then
  failed=$((failed + 1)); echo "FAIL: load: the fault a/b stayed on for the whole run"; sed 's/^/    /' "$tmp/out" | head -20
else passed=$((passed + 1)); fi

# SIGHUP (the terminal or ssh session of a run closed) cleans up as SIGINT and SIGTERM do: it
# left the in-process shops' folders (run) and the --ephemeral shop's (serve) in TMPDIR. So
# does SIGQUIT (Ctrl-\), which dumped core and left them too (an outside probe).
cat >"$tmp/slow.yaml" <<'YAML'
version: 1
name: waits long enough to be hung up on
steps:
  - wait: 20s
YAML
python3 - "$shopctl" "$tmp" <<'PY'
import os, signal, subprocess, sys, time
binary, work = sys.argv[1], sys.argv[2]
problems = []
def defaults():
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
for sig, name, args, want in [
        (signal.SIGHUP, "run", ["run", os.path.join(work, "slow.yaml")], 129),
        (signal.SIGHUP, "serve --ephemeral", ["serve", "--ephemeral", "--gateway-port", "0"], 0),
        (signal.SIGQUIT, "run", ["run", os.path.join(work, "slow.yaml")], 131),
        (signal.SIGQUIT, "serve --ephemeral", ["serve", "--ephemeral", "--gateway-port", "0"], 0)]:
    name = f"{name} ({signal.Signals(sig).name})"
    tmp = os.path.join(work, "sig-" + str(int(sig)) + "-" + name.split()[0])
    os.makedirs(tmp)
    p = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, TMPDIR=tmp), preexec_fn=defaults)
    for _ in range(200):  # its shop's folder is there: it is up
        if os.listdir(tmp): break
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(sig)
    try:
        code = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait(); problems.append(f"{name}: did not exit"); continue
    if code != want: problems.append(f"{name}: exit {code}, want {want}")
    left = os.listdir(tmp)
    if left: problems.append(f"{name}: left in TMPDIR: {left}")
if problems:
    print("\n".join(problems)); sys.exit(1)
PY
if [[ $? -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: SIGHUP or SIGQUIT leaves temporary folders behind"; fi

# -v with scenarios side by side: each step line names its scenario (the lines of two
# scenarios interleaved, and none said whose it was); one scenario at a time needs no name.
expect_code 0 "run -v two scenarios" "$shopctl" run "$tmp/good.yaml" "$here/scenarios/flow/browse-catalog.yaml" -v --jobs 2
expect_output "^    \[a shopper browses by category, searches and pages through the catalog\] ok   steps: " "-v names the scenario of each step line when they run side by side"
expect_code 0 "run -v one scenario" "$shopctl" run "$tmp/good.yaml" -v
expect_output "^    ok   steps: browse the coffee" "-v with one scenario keeps its lines short"

# A login (register, pay) step with no expectation on its answer must succeed: a wrong password
# passed, and the steps after it ran without a token.
cat > "$tmp/silent-login.yaml" <<'YAML'
version: 1
name: a failed login without expect
setup:
  - login: {email: demo@shop.test, password: not-the-password}
steps:
  - request: {GET: /health/live, auth: none}
    expect: {status: 200}
YAML
expect_code 4 "run: a login with no expect that fails" "$shopctl" run "$tmp/silent-login.yaml"
expect_output "at .*silent-login.yaml:4:5" "the failed login is named at its step"
expect_output "login answered 401, not a success \\(2xx\\)" "and why it fails"
sed 's/not-the-password}/not-the-password}\n    expect: {status: 401}/' "$tmp/silent-login.yaml" > "$tmp/expected-401.yaml"
expect_code 0 "run: a login expected to fail" "$shopctl" run "$tmp/expected-401.yaml"

# So must a request, and a pay whose payment failed: a bare request answered 503, and a pay
# whose card was declined (the provider answers 200 {"status": "failed"}), passed (an outside
# probe). Inside a block whose expect counts its answers, the block judges them.
cat > "$tmp/silent-request.yaml" <<'YAML'
version: 1
name: a request without expect answered 503
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - request: {GET: /api/catalog/products/p-001}
    faults: [{target: catalog, type: abort, status: 503}]
YAML
expect_code 4 "run: a request with no expect answered 503" "$shopctl" run "$tmp/silent-request.yaml"
expect_output "silent-request.yaml:6:5" "the request is named at its step"
expect_output "request answered 503, not a success \\(2xx\\).*like expect: \\{status: 503\\}" "and why it fails, and how to expect it"
cat > "$tmp/silent-pay.yaml" <<'YAML'
version: 1
name: a declined pay without expect
vars: {email: "silent-pay-${run_id}@shop.test", password: correct-horse-battery}
setup:
  - register: {email: "${email}", password: "${password}"}
  - login: {email: "${email}", password: "${password}"}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
  - request: {method: POST, path: /api/orders}
    capture: {order_id: $.order_id}
steps:
  - pay: {order: "${order_id}", card: "4000000000000002"}
YAML
expect_code 4 "run: a pay with no expect whose card is declined" "$shopctl" run "$tmp/silent-pay.yaml"
expect_output "pay answered 200, but the payment is failed \\(card_declined\\)" "and why it fails"
sed 's/4000000000000002"}/4242424242424242"}/' "$tmp/silent-pay.yaml" > "$tmp/paid.yaml"
expect_code 0 "run: a pay with no expect that is paid" "$shopctl" run "$tmp/paid.yaml"
cat > "$tmp/block-judges.yaml" <<'YAML'
version: 1
name: a block counts the answers of its bare requests
vars: {email: "block-${run_id}@shop.test", password: correct-horse-battery}
setup:
  - register: {email: "${email}", password: "${password}"}
  - login: {email: "${email}", password: "${password}"}
  - request: {method: POST, path: /api/cart/items, json: {product_id: p-001, quantity: 1}}
  # The first checkout held open while the second arrives: without it, one could end before the
  # other began, which then found the cart empty (400; seen once in CI).
  - fault: {target: payment, from: order, type: delay, delay: 400ms}
steps:
  - concurrently:
      - request: {method: POST, path: /api/orders}
      - request: {method: POST, path: /api/orders}
    expect:
      responses:
        - {status: 201, count: 1}
        - {status: 409, count: 1}
YAML
expect_code 0 "run: bare requests in a block whose expect counts their answers" "$shopctl" run "$tmp/block-judges.yaml"
# ... a register, login or pay too (a registration race failed its 409 step), and an answer
# none of the counts takes fails (a 404 beside the one 200 counted passed; an outside probe).
cat > "$tmp/block-race.yaml" <<'YAML'
version: 1
name: a registration race judged by its block
steps:
  - concurrently:
      - register: {email: "race-${run_id}@shop.test", password: correct-horse-battery}
      - register: {email: "race-${run_id}@shop.test", password: correct-horse-battery}
    expect:
      responses:
        - {status: 201, count: 1}
        - {status: 409, json: {$.error.code: email_taken}, count: 1}
YAML
expect_code 0 "run: bare registers in a block whose expect counts their answers" "$shopctl" run "$tmp/block-race.yaml"
cat > "$tmp/block-uncounted.yaml" <<'YAML'
version: 1
name: an answer no count takes
setup:
  - login: {email: demo@shop.test, password: demo-password-1}
steps:
  - concurrently:
      - request: {GET: /api/catalog/products/p-001}
      - request: {GET: /api/orders/ord_nope}
    expect:
      responses:
        - {status: 200, count: 1}
YAML
expect_code 4 "run: a bare request whose answer no count of its block takes" "$shopctl" run "$tmp/block-uncounted.yaml"
expect_output "step 2 answered 404, which none of the block's responses counts" "says which step and why"

# A breaker of a stopped service cannot be read: said so, naming the breaker and its service
# (it said "the shop's admin plane is unreachable", which read as the shop's fault).
printf 'version: 1\nname: a stopped breaker\nsteps:\n  - stop: order\n  - wait: 1ms\n    expect: {circuit: {order->catalog: CLOSED}}\n' > "$tmp/stopped-breaker.yaml"
expect_code 4 "run: a breaker of a stopped service" "$shopctl" run "$tmp/stopped-breaker.yaml"
expect_output "cannot read circuit breaker order->catalog: the order service, which holds it, does not answer" "says which breaker and why"

# Clearing a fault that is already gone succeeds (a teardown's tidy-up failed the run with the
# admin plane's raw 404 JSON).
cat > "$tmp/clear-twice.yaml" <<'YAML'
version: 1
name: clear a fault twice
steps:
  - fault: {id: f, target: catalog, type: abort, status: 502}
  - clear_faults: f
  - clear_faults: f
teardown:
  - clear_faults: f
YAML
expect_code 0 "run: clearing a fault already cleared" "$shopctl" run "$tmp/clear-twice.yaml"

# Violations are all recorded, but at most 20 a second are logged: a client with no credential
# pipelining refused requests into an internal port wrote 11-13 MB of warn lines a second.
"$shopctl" serve --ephemeral --gateway-port 0 --log-level warn >"$tmp/flood.out" 2>&1 &
flood_pid=$!
for _ in $(seq 1 100); do grep -q "^  catalog " "$tmp/flood.out" && break; sleep 0.05; done
catalog_url=$(sed -nE 's/^ *catalog +(http:\/\/[0-9.:]+).*/\1/p' "$tmp/flood.out")
admin=$(sed -nE 's/^ *admin token +([^ ]+).*/\1/p' "$tmp/flood.out")
urls=(); for _ in $(seq 1 200); do urls+=("$catalog_url/api/catalog/products"); done
flood_start=$(date +%s)
curl -s "${urls[@]}" >/dev/null
flood_end=$(date +%s)
sleep 1.1
curl -s -o /dev/null "$catalog_url/api/catalog/products"
sleep 0.3
recorded=$(curl -s -H "X-Admin-Token: $admin" "$catalog_url/_admin/edges" | jq -r '.violations')
logged=$(grep -c '"architecture violation"\|architecture violation ' "$tmp/flood.out")
# So are forged webhooks, which anyone can send to the public door: each wrote a warn line.
gateway_url=$(sed -nE 's/^ *public door +(http:\/\/[0-9.:]+).*/\1/p' "$tmp/flood.out")
forged=(); for i in $(seq 1 200); do
  [[ $i -gt 1 ]] && forged+=(--next)
  forged+=(-s -o /dev/null -w '%{http_code}\n' -H "Payment-Signature: t=1,v1=00" -H 'Content-Type: application/json' -d '{}' "$gateway_url/api/payments/webhook")
done
webhook_start=$(date +%s)
forged_codes=$(curl "${forged[@]}" | sort | uniq -c | tr -s ' ')
webhook_end=$(date +%s)
sleep 1.1
curl -s -o /dev/null -H "Payment-Signature: t=1,v1=00" -H 'Content-Type: application/json' -d '{}' "$gateway_url/api/payments/webhook"
sleep 0.3
kill "$flood_pid"; wait "$flood_pid" 2>/dev/null
webhook_logged=$(grep -c "signature does not verify: a forged event" "$tmp/flood.out")
webhook_unlogged=$(sed -nE 's/.*webhooks whose signature does not verify not logged count=([0-9]+).*/\1/p' "$tmp/flood.out" | awk '{ n += $1 } END { print n + 0 }')
webhook_most=$((20 * (webhook_end - webhook_start + 2) + 1))
if [[ "$forged_codes" == " 200 400" && "$webhook_logged" -le "$webhook_most" && $((webhook_logged + webhook_unlogged)) -eq 201 && "$webhook_unlogged" -gt 0 ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: 201 forged webhooks: all refused 400 ($forged_codes), at most $webhook_most lines logged ($webhook_logged), the rest counted ($webhook_unlogged)"
fi
# 20 lines in each second the flood touched, and one for the request after it. The service
# counts its seconds on the steady clock, not on `date`'s: a flood inside one wall-clock second
# can still touch two of the service's (a clean-clone CI run logged 41 lines, 20 + 20 + 1, in
# a wall-clock second), so the bound allows one second more than `date` saw. Every violation is
# either logged or counted in a "not logged" line (the request after the pause flushes the last).
flood_seconds=$((flood_end - flood_start + 2))
most=$((20 * flood_seconds + 1))
unlogged=$(sed -nE 's/.*architecture violations not logged count=([0-9]+).*/\1/p' "$tmp/flood.out" | awk '{ n += $1 } END { print n + 0 }')
if [[ "$recorded" -eq 201 && "$logged" -le "$most" && $((200 - 20 * flood_seconds)) -gt 0 && $((logged + ${unlogged:-0})) -eq 201 ]] && grep -q "architecture violations not logged.*count=[1-9][0-9]*" "$tmp/flood.out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: 201 violations in at most $flood_seconds second(s): all recorded ($recorded), at most $most lines logged ($logged), the rest counted ($unlogged)"
  grep -m3 "not logged" "$tmp/flood.out"
fi

# A payment result that contradicts the order is money the provider and the order disagree on
# (captured for an order that failed, say): docs/money.md says it is logged as an error, and
# both ends logged a warning (an outside probe scanned the log for errors and saw none).
"$shopctl" run "$here/scenarios/unhappy/payment-result-callback.yaml" -v >"$tmp/contradict.out" 2>&1
if grep -q " error payment result contradicts the order " "$tmp/contradict.out" &&
  ! grep -q " warn payment result contradicts the order " "$tmp/contradict.out"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL: a contradicting payment result is logged as an error: $(grep -m1 -o '[a-z]* payment result contradicts' "$tmp/contradict.out")"
fi

# A quoted value with no closing quote took the rest of the file as its value: a scenario was
# valid with its later keys gone, and a config file read its later settings into one string.
# The shared YAML loader now refuses it where the quote starts, in every kind of file.
printf 'version: 1\nsteps:\n  - wait: 1ms\nname: "oops\ntags: [smoke]\n' >"$tmp/unclosed-quote.yaml"
expect_code 2 "validate: a quote never closed" "$shopctl" validate "$tmp/unclosed-quote.yaml"
expect_output 'unclosed-quote.yaml:4:7: error: invalid YAML: a quoted value that is never closed' "the quote never closed is named where it starts"
printf 'seed: 1\nauth:\n  password_hashing: "fast\nprovider: {}\n' >"$tmp/unclosed-quote-config.yaml"
expect_code 2 "serve --config: a quote never closed" timeout 20 "$shopctl" serve --config "$tmp/unclosed-quote-config.yaml"
expect_output 'unclosed-quote-config.yaml:3:21: error: a quoted value that is never closed' "a config file's quote never closed is named where it starts"

# run --seed: the seed of every scenario that names none. The same seed gives the same
# sequence of probabilistic faults, another seed another one; a scenario's own seed wins.
mkdir -p "$tmp/seed"
{ printf 'version: 1\nname: a coin per request\nsteps:\n  - login: {email: demo@shop.test, password: demo-password-1}\n'
  printf '  - fault: {id: coin, target: catalog, type: abort, status: 503, select: {probability: 0.5}}\n'
  for i in $(seq 16); do printf '  - request: {GET: /api/catalog/categories}\n    expect: {status: [200, 503]}\n'; done; } > "$tmp/seed/coin.yaml"
statuses() {  # statuses REPORT: the answers' statuses in the JSON report, in order
  python3 -c 'import json,sys
def walk(o, out):
    if isinstance(o, dict):
        if "status" in o and "url" in o: out.append(o["status"])
        for v in o.values(): walk(v, out)
    elif isinstance(o, list):
        for v in o: walk(v, out)
out = []; walk(json.load(open(sys.argv[1])), out); print(" ".join(map(str, out)))' "$1"
}
expect_code 0 "run --seed 7" "$shopctl" run "$tmp/seed/coin.yaml" --seed 7 --json "$tmp/seed/a.json"
expect_code 0 "run --seed 7 again" "$shopctl" run "$tmp/seed/coin.yaml" --seed 7 --json "$tmp/seed/b.json"
expect_code 0 "run --seed 8" "$shopctl" run "$tmp/seed/coin.yaml" --seed 8 --json "$tmp/seed/c.json"
if [[ "$(statuses "$tmp/seed/a.json")" == "$(statuses "$tmp/seed/b.json")" && "$(statuses "$tmp/seed/a.json")" != "$(statuses "$tmp/seed/c.json")" && "$(statuses "$tmp/seed/a.json")" == *503* ]]; then
  passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: run --seed: same seed, same faults; another seed, others: $(statuses "$tmp/seed/a.json") / $(statuses "$tmp/seed/b.json") / $(statuses "$tmp/seed/c.json")"; fi
sed 's/^version: 1$/version: 1\nseed: 7/' "$tmp/seed/coin.yaml" > "$tmp/seed/own.yaml"
expect_code 0 "run --seed 8 on a scenario seeded 7" "$shopctl" run "$tmp/seed/own.yaml" --seed 8 --json "$tmp/seed/d.json"
if [[ "$(statuses "$tmp/seed/d.json")" == "$(statuses "$tmp/seed/a.json")" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: run --seed: a scenario's own seed wins"; fi
expect_code 1 "run --seed that is no number" "$shopctl" run "$tmp/seed/coin.yaml" --seed x
expect_output "must be a whole number from 0 to 9223372036854775807, not 'x'" "run --seed names its range"

# Expectations that can never fail are refused at their line, as calls: [] and circuit: {}
# were: an empty json, headers, expect (also under eventually), responses or capture, and a
# calls or responses item with min: 0 alone (docs/scenarios.md, Validation). They passed.
printf 'version: 1\nsteps:\n  - request: {GET: /api/cart}\n    expect: {json: {}}\n  - request: {GET: /api/cart}\n    expect: {headers: {}}\n  - request: {GET: /api/cart}\n    eventually: {within: 1s}\n    expect: {}\n  - request: {GET: /api/cart}\n    capture: {}\n  - wait: 1ms\n    expect: {calls: [{edge: order->catalog, min: 0}]}\n  - concurrently: [{wait: 1ms}, {wait: 1ms}]\n    expect: {responses: []}\n' >"$tmp/never-fails.yaml"
expect_code 2 "validate: expectations that can never fail" "$shopctl" validate "$tmp/never-fails.yaml"
expect_output "never-fails.yaml:4:20: error: an empty 'json' checks nothing" "an empty json is refused at its line"
expect_output "never-fails.yaml:6:23: error: an empty 'headers' checks nothing" "an empty headers is refused at its line"
expect_output "never-fails.yaml:9:13: error: an empty 'expect' checks nothing" "an empty expect under eventually is refused at its line"
expect_output "never-fails.yaml:11:14: error: an empty 'capture' captures nothing" "an empty capture is refused at its line"
expect_output "never-fails.yaml:13:50: error: 'min: 0' alone checks nothing" "a lone min: 0 is refused at its line"
expect_output "never-fails.yaml:15:25: error: an empty 'responses' checks nothing" "an empty responses is refused at its line"
expect_code 2 "run: expectations that can never fail" "$shopctl" run "$tmp/never-fails.yaml"

# A JUnit <skipped/> said nothing: a scenario left out by the tags looked like one --fail-fast
# never started. Each now says why in its message.
mkdir -p "$tmp/skips"
printf 'version: 1\nname: fails first\ntags: [a]\nsteps:\n  - request: {GET: /health/live, auth: none}\n    expect: {status: 418}\n' >"$tmp/skips/1-fails.yaml"
printf 'version: 1\nname: never started\ntags: [a]\nsteps:\n  - wait: 1ms\n' >"$tmp/skips/2-later.yaml"
printf 'version: 1\nname: left out\ntags: [slow]\nsteps:\n  - wait: 1ms\n' >"$tmp/skips/3-slow.yaml"
expect_code 4 "run --fail-fast with a tag filter" "$shopctl" run "$tmp/skips" -j 1 --fail-fast --skip-tags slow --junit "$tmp/skips.xml"
cp "$tmp/skips.xml" "$tmp/out"
expect_output '<skipped message="tagged slow, which --skip-tags skips"/>' "a JUnit skip by --skip-tags says so"
expect_output '<skipped message="not started: --fail-fast stopped the run after a scenario that did not pass"/>' "a JUnit skip by --fail-fast says so"

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
