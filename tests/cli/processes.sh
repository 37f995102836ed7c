#!/usr/bin/env bash
# `shopctl serve --processes`: six processes, one per service, that serve the suite's flow
# scenarios through the gateway; a child killed with SIGKILL is started again by the launcher;
# SIGTERM stops every child; SIGKILL of the launcher stops them too.   tests/cli/processes.sh ./build/shopctl
set -uo pipefail
bin=$(realpath "${1:-./build/shopctl}")
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
passed=0; failed=0
check() { if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); echo "ok - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi; }
launcher=""
# start_launcher OUT COMMAND...: runs a launcher in the background ($launcher is its pid) and
# waits until it is up or has ended (at most 15 s, or $launcher_wait seconds when set).
start_launcher() {
  local out=$1; shift
  "$@" >"$out" 2>&1 &
  launcher=$!
  for _ in $(seq 1 $((${launcher_wait:-15} * 20))); do
    grep -q "Ctrl-C stops" "$out" && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.05
  done
}
# banner_value FILE AWK [READY]: what AWK finds in the banner a process writes to FILE, once it
# is there (and, with READY, once FILE holds that line too); at most 5 s.
banner_value() {
  local value=""
  for _ in $(seq 1 100); do
    value=$(awk "$2" "$1")
    [[ -n "$value" ]] && { [[ -z "${3:-}" ]] || grep -q "$3" "$1"; } && break
    sleep 0.05
  done
  echo "$value"
}
# hold_folder FOLDER SECONDS READY [PORT]: plays a child of an earlier launcher, in the
# background ($! is it): holds FOLDER's lock (and listens on PORT) for SECONDS, and makes the
# file READY once it does.
hold_folder() {
  exec python3 -c '
import fcntl, os, socket, sys, time
folder = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(folder, fcntl.LOCK_EX)
if len(sys.argv) > 4:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[4])))
    s.listen()
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
' "$@"
}
trap '[[ -n "$launcher" ]] && kill -KILL -- "$launcher" 2>/dev/null; pkill -KILL -f -- "--data-dir $work/" 2>/dev/null; ip netns del "shopctl-ports-$$" 2>/dev/null; rm -rf "$work"' EXIT

start_launcher "$work/out.txt" "$bin" serve --processes --data-dir "$work/data" --gateway-port 0 --log-level warn
gateway=$(awk '/public door/ {print $3}' "$work/out.txt")
token=$(awk '/admin token/ {print $3}' "$work/out.txt")
children=$(grep -cE "^  (catalog|auth|provider|payment|order|gateway) +http" "$work/out.txt")
[[ -n "$gateway" && "$children" -eq 6 ]]
check "six processes up, one per service" $?
[[ $(pgrep -f -- "serve --only .* --data-dir $work/data/" | wc -l) -eq 6 ]]
check "six child processes running" $?

"$bin" run scenarios/flow scenarios/architecture --target "$gateway" --admin-token "$token" \
  --skip-tags in-process-only >"$work/run.txt" 2>&1
run_ok=$?  # the message's own grep would set $? (a failed run passed this check)
check "flow and architecture scenarios against the processes ($(grep -oE '[0-9]+ passed' "$work/run.txt" | head -1))" $run_ok

# A scenario that failed while the gateway's process was killed and started again by the
# launcher made the run FAIL with exit 4, as a regression reads; the restart is the shop's
# doing: ERROR, exit 3, said as a restart (an outside probe). (The step after the wait fails
# whatever happens: what is checked is how a failure beside a restart is told.)
cat >"$work/gw-restart.yaml" <<'YAML'
version: 1
name: the gateway's process restarts under a scenario
steps:
  - wait: 8s
  - request: {GET: /health/ready}
    expect: {status: 418}
YAML
"$bin" run "$work/gw-restart.yaml" --target "$gateway" --admin-token "$token" >"$work/gw-restart.txt" 2>&1 &
gw_run=$!
sleep 1.5
kill -KILL "$(pgrep -f -- "serve --only gateway .*--data-dir $work/data/" | head -1)"
wait "$gw_run"; gw_run_rc=$?
[[ $gw_run_rc -eq 3 ]] && grep -q "the target's gateway restarted during the scenario" "$work/gw-restart.txt"
check "a scenario that met a restart of the gateway's process is ERROR, exit 3 (exit $gw_run_rc)" $?
[[ $gw_run_rc -eq 3 ]] || sed -n '1,20p' "$work/gw-restart.txt" >&2
for _ in $(seq 1 100); do  # the gateway back before the next checks
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$gateway/health/ready") == 200 ]] && break
  sleep 0.1
done

# A run killed with SIGKILL leaves its lease to run out: the shop then resets itself, and in a
# split shop the reset went to the gateway process's own admin plane, which reset only its own
# services: the run's fault on the catalog and the payment it stopped stayed (an outside probe).
lease() { curl -s -H "X-Admin-Token: $token" -H 'Content-Type: application/json' "$@"; }
lease -X POST -d '{"holder":"killed-run","ttl_ms":1000,"about":"a run killed with SIGKILL"}' "$gateway/_admin/lease" >/dev/null
lease -X POST -d '{"id":"left","target":"catalog","type":"hang"}' "$gateway/_admin/faults" >/dev/null
lease -X POST "$gateway/_admin/services/payment/stop" >/dev/null
left_before=$(lease "$gateway/_admin/faults" | jq '.items | length')
for _ in $(seq 1 50); do  # the lease runs out after 1 s; the reset follows within a moment
  sleep 0.2
  [[ $(lease "$gateway/_admin/faults" | jq '.items | length') == 0 ]] &&
    [[ $(lease "$gateway/_admin/services" | jq -r '.items[] | select(.name == "payment") | .running') == true ]] && break
done
left_after=$(lease "$gateway/_admin/faults" | jq '.items | length')
payment_back=$(lease "$gateway/_admin/services" | jq -r '.items[] | select(.name == "payment") | .running')
[[ "$left_before" == 1 && "$left_after" == 0 && "$payment_back" == true ]]
check "a lease that ran out resets every process (faults $left_before then $left_after, payment running: $payment_back)" $?

# --target at the admin plane of the gateway's process (serve --processes prints it) was taken
# for the gateway, and every scenario failed with 404 route_not_found (exit 4).
gw_admin=$(curl -s -H "X-Admin-Token: $token" "$gateway/_admin/services" |
  jq -r '.items[] | select(.name == "gateway") | .admin')
"$bin" run scenarios/flow/browse-catalog.yaml --target "$gw_admin" --admin-token "$token" >"$work/admin-target.txt" 2>&1
admin_target_rc=$?
[[ -n "$gw_admin" && "$gw_admin" != "$gateway" && $admin_target_rc -eq 3 ]] &&
  grep -q "is the admin plane of a process of the shop, not its gateway: --target takes the gateway's URL ($gateway)" "$work/admin-target.txt"
check "run --target at a process's admin plane is refused, naming the gateway's URL (exit $admin_target_rc)" $?

# Each child held every secret of the shop (the catalog's could sign users' tokens and mark
# payments paid). Each holds only what its service uses, and the runner finds the provider's
# API key where it is (the payment and provider processes).
keys_of() { grep -oE '^  [a-z_]+:' "$work/data/$1/secrets.yaml" | tr -d ' :' | sort | paste -sd, -; }
[[ $(keys_of catalog) == "admin_token,service_key" && $(keys_of order) == "admin_token,service_key" &&
   $(keys_of gateway) == "admin_token,jwt_secret,service_key" &&
   $(keys_of auth) == "admin_token,jwt_secret,service_key" &&
   $(keys_of payment) == "admin_token,provider_api_key,service_key,webhook_secret" &&
   $(keys_of provider) == "admin_token,provider_api_key,webhook_secret" ]] &&
  ! grep -q "jwt_secret\|webhook_secret\|provider_api_key" "$work/data/processes.yaml" 2>/dev/null &&
  [[ $(stat -c %a "$work/data/catalog/secrets.yaml") == 600 ]]
rc=$?  # before the message's $(...) runs: it would set $? to its own
check "each child holds only its service's secrets ($(keys_of catalog) for the catalog)" $rc
"$bin" run scenarios/unhappy/duplicate-webhook.yaml --target "$gateway" --admin-token "$token" \
  >"$work/key-run.txt" 2>&1
key_ok=$?
[[ $key_ok -eq 0 ]] || sed -n '1,40p' "$work/key-run.txt" >&2
[[ $key_ok -eq 0 ]]
check "a scenario that calls the provider with \${provider_api_key} passes against the processes" $?

# The merged call records were every process's ring end to end (75,636 records under a
# ring_capacity of 20,000), and the gateway's process kept 340 MB after a few reads of them
# (an outside probe; 243 MB here before the fix). One ring's worth, and the memory given back.
"$bin" load --target "$gateway" --users 8 --duration 8s --quiet >/dev/null 2>&1
gw_child=$(pgrep -f -- "serve --only gateway .*--data-dir $work/data/" | head -1)
for _ in 1 2 3; do
  curl -s -H "X-Admin-Token: $token" "$gateway/_admin/calls" -o "$work/calls.json"
done
calls_rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$gw_child/status" 2>/dev/null)
calls_count=$(jq '[(.records | length), .ring_capacity] | "\(.[0]) of \(.[1])"' -r "$work/calls.json")
[[ -n "$calls_rss" && "$calls_rss" -lt 120 ]] &&
  jq -e '(.records | length) <= .ring_capacity and (.records | length) > 1000' "$work/calls.json" >/dev/null
check "merged calls: $calls_count records, the gateway's process at ${calls_rss:-?} MB after three reads (under 120)" $?

# SIGUSR1/SIGUSR2 to the launcher (log rotation) ended it at once, and every child with it.
kill -USR1 "$launcher"; kill -USR2 "$launcher"; sleep 0.5
kill -0 "$launcher" 2>/dev/null && [[ $(pgrep -f -- "serve --only .* --data-dir $work/data/" | wc -l) -eq 6 ]] &&
  grep -q "SIGUSR1 received: nothing to do" "$work/out.txt"
check "SIGUSR1 and SIGUSR2 leave the launcher and its six children running" $?

catalog=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
kill -KILL "$catalog"
restarted=1
for _ in $(seq 1 200); do
  now=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
  if [[ -n "$now" && "$now" != "$catalog" ]] && grep -q "catalog (pid $catalog) was killed by signal 9; starting it again" "$work/out.txt"; then
    restarted=0; break
  fi
  sleep 0.05
done
check "a child killed with SIGKILL is started again" $restarted
"$bin" run scenarios/flow/browse-catalog.yaml --target "$gateway" --admin-token "$token" >/dev/null 2>&1
check "the shop answers again after the restart" $?

# A child that hangs (SIGSTOP) while a fault is added: the gateway waits 10 s for it, then
# answers 503 naming it. `shopctl fault add` gave up at 10 s too, first, and blamed the
# gateway ("cannot reach http://...: no answer within the deadline"; an outside probe).
stopped=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
kill -STOP "$stopped"
"$bin" fault add --target "$gateway" --admin-token "$token" --target-service order --type abort \
  --status 503 --path /nothing --id hung-add >"$work/hung-add.txt" 2>&1
hung_rc=$?
kill -CONT "$stopped"
[[ $hung_rc -eq 3 ]] && grep -q "catalog" "$work/hung-add.txt" && ! grep -q "cannot reach $gateway: no answer" "$work/hung-add.txt"
hung_ok=$?
if [[ $hung_ok -ne 0 ]]; then sed 's/^/  | /' "$work/hung-add.txt"; fi
check "fault add with one child hung names that child, not the gateway (exit $hung_rc)" $hung_ok
"$bin" fault clear --target "$gateway" --admin-token "$token" >/dev/null 2>&1

# While a child is down, its port stays the launcher's: a plain bind of it fails from the
# moment the child dies until it listens again. (The launcher picked the ports free and let
# them go: any socket could take one while its child was down, or before it first bound it.)
auth_port=$(awk '$1 == "auth" {print $2}' "$work/out.txt" | sed 's/.*://')
auth=$(pgrep -f -- "serve --only auth .*--data-dir $work/data/auth")
bound=$(python3 - "$auth_port" "$auth" <<'PY'
import os, signal, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
os.kill(pid, signal.SIGKILL)
took = 0
until = time.monotonic() + 1.5
while time.monotonic() < until:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        took += 1
    except OSError:
        pass
    s.close()
    time.sleep(0.0005)
print(took)
PY
)
[[ "$bound" == "0" ]]
check "a child's port cannot be taken while the child is down (binds that took it: $bound)" $?
for _ in $(seq 1 200); do
  "$bin" run scenarios/flow/browse-catalog.yaml --target "$gateway" --admin-token "$token" >/dev/null 2>&1 && break
  sleep 0.05
done
"$bin" run scenarios/flow/browse-catalog.yaml --target "$gateway" --admin-token "$token" >/dev/null 2>&1
check "the shop answers again after auth's restart" $?


# A second launcher on the same data folder: the ports kept in the folder's identity.json are
# the first shop's. It says so and starts no child (it used to start them, which died binding;
# the first shop answers /health/ready on those ports, which must not pass for them being up).
# It is refused before it reads or writes identity.json (two launchers started at once on a new
# folder each wrote their own, and the refused one's could stay in the file): the folder is
# the first launcher's, locked.
identity_before=$(sha256sum "$work/data/identity.json")
second_rc=0
timeout 60 "$bin" serve --processes --data-dir "$work/data" --gateway-port 0 --log-level warn >"$work/second.txt" 2>&1 || second_rc=$?
[[ $second_rc -eq 3 ]] && grep -q "is in use by another shopctl serve --processes (the folder is locked)" "$work/second.txt" &&
  ! grep -q "the shop is up" "$work/second.txt" && [[ "$(sha256sum "$work/data/identity.json")" == "$identity_before" ]]
second_ok=$?  # before the message's own grep sets $?
check "a second launcher on a folder in use exits 3, not up (exit $second_rc: $(grep -m1 -o 'the shop could not start: .*' "$work/second.txt" | cut -c1-90))" $second_ok
[[ $(pgrep -f -- "serve --only .* --data-dir $work/data/" | wc -l) -eq 6 ]]
check "the first shop keeps its six processes" $?
# A port given on the command line that something else holds is "configured", as plain serve
# says it: the launcher blamed the folder's identity.json for the default --gateway-port 8080.
gateway_port=${gateway##*:}
third_rc=0
timeout 60 "$bin" serve --processes --data-dir "$work/other-folder" --gateway-port "$gateway_port" --log-level warn >"$work/third.txt" 2>&1 || third_rc=$?
[[ $third_rc -eq 3 ]] && grep -q "wanted by gateway (configured)" "$work/third.txt" && ! grep -q "identity.json" "$work/third.txt"
third_ok=$?  # before the message's own grep sets $?
check "a taken --gateway-port is named as configured, not as kept in the folder (exit $third_rc: $(grep -m1 -o 'wanted by .*' "$work/third.txt"))" $third_ok
"$bin" run scenarios/flow/browse-catalog.yaml --target "$gateway" --admin-token "$token" >/dev/null 2>&1
check "the first shop still answers" $?

# The gateway's admin plane speaks for the whole shop, as the operator console and curl use
# it: a fault for the catalog added there applies (it was kept in the gateway's process, 201
# and never applied), and a clock advance there moves every process (it moved the gateway's
# alone, and a fresh token was then expired everywhere else).
admin_post() { curl -s -X POST -H "X-Admin-Token: $token" -H 'Content-Type: application/json' -d "$2" "$gateway$1"; }
admin_post /_admin/faults '{"id":"gw-fault","target":"catalog","type":"abort","status":502}' >/dev/null
jwt=$(curl -s -X POST "$gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" "$gateway/api/catalog/categories")
[[ "$status" == 502 ]]
check "a fault added on the gateway's admin plane applies in the catalog's process (got $status)" $?
curl -s -o /dev/null -X DELETE -H "X-Admin-Token: $token" "$gateway/_admin/faults/gw-fault"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" "$gateway/api/catalog/categories")
[[ "$status" == 200 ]]
check "and removed there, it is gone (got $status)" $?
# Call records through the gateway, as the console polls them: a cursor it handed out gives
# the records after it alone, numbered at or past it. (A new fan-out per request numbered every
# record 0 and answered next_seq 1 whatever `since` said: the console never saw a new call.)
calls() { curl -s -H "X-Admin-Token: $token" "$gateway/_admin/calls?since=$1"; }
cursor=$(calls 9223372036854775807 | jq -r .next_seq)
curl -s -o /dev/null -H "Authorization: Bearer $jwt" "$gateway/api/catalog/categories"
curl -s -o /dev/null -H "Authorization: Bearer $jwt" "$gateway/api/catalog/categories"
sleep 0.2
after=$(calls "$cursor")
newer=$(jq '[.records[] | select(.edge == "gateway->catalog")] | length' <<<"$after")
below=$(jq --argjson c "$cursor" '[.records[] | select(.seq < $c)] | length' <<<"$after")
next=$(jq -r .next_seq <<<"$after")
again=$(calls "$next" | jq '[.records[] | select(.edge == "gateway->catalog")] | length')
[[ "$newer" -eq 2 && "$below" -eq 0 && "$next" -gt "$cursor" && "$again" -eq 0 ]]
check "the gateway's merged call cursor gives only newer records (2 new: $newer; below the cursor: $below; cursor $cursor -> $next; after it: $again)" $?
# The clock: an advance reaches every process, and a child started again after it takes the
# advance of its siblings (before, it began at the real time: an unpaid order expired by
# order's clock but not by payment's).
admin_post /_admin/clock/advance '{"by":"2h"}' >/dev/null
moved=0
for admin in $(awk '$1 ~ /^(catalog|auth|provider|payment|order|gateway)$/ && $3 ~ /^http/ {print $3}' "$work/out.txt"); do
  offset=$(curl -s -H "X-Admin-Token: $token" "$admin/_admin/clock" | jq -r '.offset_ms // 0')
  [[ "$offset" -ge 7200000 && "$offset" -lt 7300000 ]] && moved=$((moved + 1))
done
[[ $moved -eq 6 ]]
check "an advance on the gateway's admin plane moves the clock of all six processes, once ($moved)" $?
jwt=$(curl -s -X POST "$gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" "$gateway/api/cart")
[[ "$status" == 200 ]]
check "a token signed after the advance is good in every process (got $status)" $?
order=$(pgrep -f -- "serve --only order .*--data-dir $work/data/order")
order_admin=$(awk '$1 == "order" {print $3}' "$work/out.txt")
kill -KILL "$order"
synced=1
for _ in $(seq 1 200); do
  offset=$(curl -s -H "X-Admin-Token: $token" "$order_admin/_admin/clock" 2>/dev/null | jq -r '.offset_ms // empty' 2>/dev/null)
  now=$(pgrep -f -- "serve --only order .*--data-dir $work/data/order")
  if [[ -n "$now" && "$now" != "$order" && -n "$offset" && "$offset" -ge 7200000 ]]; then synced=0; break; fi
  sleep 0.05
done
check "a child started again after a clock advance runs on the shop's clock (offset ${offset:-none} ms)" $synced
# Its faults too: a child started again had an empty fault table while its siblings, and so
# `fault list`, still had the shop's faults: a catalog killed during an outage drill served
# again, and the listing said the outage was on (an outside probe).
admin_post /_admin/faults '{"id":"kept-1","target":"catalog","type":"abort","status":502}' >/dev/null
admin_post /_admin/faults '{"id":"kept-2","target":"catalog","type":"delay","delay_ms":1,"match":{"path":"/internal/**"}}' >/dev/null
catalog=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
catalog_admin=$(awk '$1 == "catalog" {print $3}' "$work/out.txt")
kill -KILL "$catalog"
readded=1
for _ in $(seq 1 200); do
  if grep -q "catalog: its 2 faults added again" "$work/out.txt"; then readded=0; break; fi
  sleep 0.05
done
ids=$(curl -s -H "X-Admin-Token: $token" -H 'X-Admin-Scope: process' "$catalog_admin/_admin/faults" | jq -r '[.items[].id] | join(",")')
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" "$gateway/api/catalog/categories")
[[ $readded -eq 0 && "$ids" == "kept-1,kept-2" && "$status" == 502 ]]
check "a child started again takes its siblings' faults, in order (its own: ${ids:-none}; a request: $status)" $?
curl -s -o /dev/null -X DELETE -H "X-Admin-Token: $token" "$gateway/_admin/faults"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" "$gateway/api/catalog/categories")
[[ "$status" == 200 ]]
check "and cleared on the gateway, they are gone there too (got $status)" $?
# Eight `fault add --id same` at once: two fan-outs reached the processes in different orders,
# and the processes held different faults under one id while `fault list` showed one (an
# outside probe, 2 rounds of 4). The gateway's process makes one change at a time.
# The payment process is held (SIGSTOP) for a second during the adds, so that they overlap.
agree=0
paused=$(pgrep -f -- "serve --only payment .*--data-dir $work/data/payment")
for round in 1 2 3; do
  kill -STOP "$paused"
  adders=()
  for i in 1 2 3 4 5 6 7 8; do
    "$bin" fault add --target "$gateway" --admin-token "$token" --id same --target-service catalog \
      --type delay --delay "${i}ms" >/dev/null 2>&1 &
    adders+=($!)
  done
  sleep 1; kill -CONT "$paused"
  wait "${adders[@]}"  # these alone: a bare wait would wait for the launcher too
  delays=$(for admin in $(awk '$1 ~ /^(catalog|auth|provider|payment|order|gateway)$/ && $3 ~ /^http/ {print $3}' "$work/out.txt"); do
    curl -s -m 5 -H "X-Admin-Token: $token" -H 'X-Admin-Scope: process' "$admin/_admin/faults" |
      jq -r '[.items[] | select(.id == "same") | .delay_ms] | join(",")'
  done | sort -u | tr '\n' ' ')
  [[ $(wc -w <<<"$delays") -eq 1 ]] && agree=$((agree + 1))
  curl -s -o /dev/null -X DELETE -H "X-Admin-Token: $token" "$gateway/_admin/faults/same"
done
[[ $agree -eq 3 ]]
check "eight fault adds with one id at once leave every process with the same fault ($agree of 3 rounds; last: $delays)" $?
# A child that does not answer during an advance (stopped): every other process still moves,
# and the answer (503) names the one that did not. The fan-out stopped at the first process
# that did not answer: the processes after it stayed behind, every token expired at the
# gateway. "by 0s" then brings every process to the furthest clock.
offsets() {  # the six processes' offsets in ms, one line
  local admin
  for admin in $(awk '$1 ~ /^(catalog|auth|provider|payment|order|gateway)$/ && $3 ~ /^http/ {print $3}' "$work/out.txt"); do
    curl -s -m 5 -H "X-Admin-Token: $token" "$admin/_admin/clock" | jq -r '.offset_ms // "none"'
  done | tr '\n' ' '
}
catalog=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
kill -STOP "$catalog"
answer=$(curl -s -m 60 -w ' %{http_code}' -X POST -H "X-Admin-Token: $token" -H 'Content-Type: application/json' \
  -d '{"by":"1h"}' "$gateway/_admin/clock/advance")
kill -CONT "$catalog"
[[ "$answer" == *" 503" && "$answer" == *"not in: catalog"* ]]
check "an advance with a stopped child answers 503 and names it (${answer:0:160})" $?
before=$(offsets)
[[ $(tr ' ' '\n' <<<"$before" | grep -c '^10[89][0-9][0-9][0-9][0-9][0-9]$') -eq 5 ]]
check "the five processes that answered moved by the hour (offsets: $before)" $?
answer=$(admin_post /_admin/clock/advance '{"by":"0s"}')
after=$(offsets)
[[ $(tr ' ' '\n' <<<"$after" | sort -u | grep -c .) -eq 1 && "$after" == 10[89]* ]]
check "an advance by 0s brings every process to the furthest clock (offsets: $after)" $?
# A child that hangs (stopped with SIGSTOP, as a deadlock would leave it) held its ports, and
# every request to its service waited for ever: it was never started again (an outside probe).
# The launcher kills a child whose admin plane has not answered for 15 s, and starts it again.
jwt=$(curl -s -X POST "$gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)  # the clock moved
hung=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
kill -STOP "$hung"
restarted=1
for _ in $(seq 1 400); do
  now=$(pgrep -f -- "serve --only catalog .*--data-dir $work/data/catalog")
  if [[ -n "$now" && "$now" != "$hung" ]] && grep -q "catalog (pid $hung) has not answered" "$work/out.txt" &&
     [[ $(curl -s -m 5 -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $jwt" "$gateway/api/catalog/products") == 200 ]]; then
    restarted=0; break
  fi
  sleep 0.1
done
kill -CONT "$hung" 2>/dev/null
kills=$(grep -c "catalog (pid $hung) has not answered" "$work/out.txt")
[[ $restarted -eq 0 && $kills -eq 1 ]]
check "a hung child (SIGSTOP) is killed once ($kills) and started again, and the shop answers" $?

# Payments acknowledged while order was stopped wait in payment's outbox across a restart of
# the shop. Payment starts before order, its callbacks hit order's closed port, and
# payment -> order opened for its 30 s wait: the orders stayed PAYMENT_PENDING 30-70 s after
# the restart (an outside probe). The launcher now closes a breaker opened while it started.
# Three, not six: with six, the breaker opened while order started and the launcher closed it;
# with three or four it stayed CLOSED with 3 failures in its window, opened at order's first
# answers (3 of 5 failed), and the last result waited ~38 s (a second probe). The launcher now
# also clears the failures a CLOSED breaker recorded while the processes started.
jwt=$(curl -s -X POST "$gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
pending_orders=(); pay_urls=()
for _ in 1 2 3; do
  curl -s -o /dev/null -X POST "$gateway/api/cart/items" -H "Authorization: Bearer $jwt" \
    -H 'Content-Type: application/json' -d '{"product_id":"p-002","quantity":1}'
  placed=$(curl -s -X POST "$gateway/api/orders" -H "Authorization: Bearer $jwt")
  pending_orders+=("$(jq -r .order_id <<<"$placed")"); pay_urls+=("$(jq -r .payment.pay_url <<<"$placed")")
done
admin_post /_admin/services/order/stop '{}' >/dev/null
acknowledged=0
for url in "${pay_urls[@]}"; do
  [[ $(curl -s -X POST "$url" -H 'Content-Type: application/json' -d '{"card_number":"4242424242424242"}' | jq -r .status) == succeeded ]] && acknowledged=$((acknowledged + 1))
done
[[ $acknowledged -eq 3 ]]
check "three payments acknowledged while order is stopped ($acknowledged)" $?
# A checkout in flight when the launcher is stopped completes: the services behind the gateway
# are stopped once it has exited (all were signalled at once, and such a checkout failed 503
# payment_unavailable, an outside probe).
admin_post /_admin/services/order/start '{}' >/dev/null
admin_post /_admin/faults '{"id":"slow-pay","target":"payment","from":"order","type":"delay","delay_ms":1500}' >/dev/null
curl -s -o /dev/null -X POST "$gateway/api/cart/items" -H "Authorization: Bearer $jwt" \
  -H 'Content-Type: application/json' -d '{"product_id":"p-002","quantity":1}'
curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/orders" -H "Authorization: Bearer $jwt" >"$work/in-flight.txt" &
in_flight=$!
sleep 0.5
kill -TERM "$launcher"
wait "$in_flight"
in_flight_status=$(cat "$work/in-flight.txt")
[[ "$in_flight_status" == 201 ]]
check "a checkout in flight at the launcher's SIGTERM completes (got $in_flight_status)" $?
stopped=1
for _ in $(seq 1 200); do
  if ! kill -0 "$launcher" 2>/dev/null && [[ $(pgrep -f -- "--data-dir $work/data/" | wc -l) -eq 0 ]]; then stopped=0; break; fi
  sleep 0.05
done
launcher=""
check "SIGTERM stops the launcher and every child" $stopped
# chaos --check reads a --processes data folder, whose databases are one folder per service.
# (The scenarios left unpaid orders within their 30 minutes, so orders-settled may fail: what
# counts here is that the orders were read.)
"$bin" chaos --check "$work/data" >"$work/check.txt" 2>&1
grep -qE 'orders-settled .*\[[1-9][0-9]* checked\]' "$work/check.txt"
read_rc=$?
check "chaos --check reads the per-service folders of serve --processes ($(grep -m1 -oE 'no order.db.*|orders-settled .*' "$work/check.txt" | cut -c1-60))" $read_rc
# Started again, the children begin at the furthest clock any of them kept: a child whose
# clock.json is behind (it missed an advance) kept its own offset across the restart.
echo '{"offset_ns": 0}' >"$work/data/order/clock.json"
start_launcher "$work/out.txt" "$bin" serve --processes --data-dir "$work/data" --gateway-port 0 --log-level warn
token=$(awk '/admin token/ {print $3}' "$work/out.txt")
after=$(offsets)
[[ $(tr ' ' '\n' <<<"$after" | sort -u | grep -c .) -eq 1 && "$after" == 10[89]* ]]
check "a restarted shop's processes share the furthest clock kept (offsets: $after)" $?
jwt=$(curl -s -X POST "$gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
paid_in=none
for i in $(seq 1 100); do
  paid=0
  for id in "${pending_orders[@]}"; do
    [[ $(curl -s -H "Authorization: Bearer $jwt" "$gateway/api/orders/$id" | jq -r .status) == PAID ]] && paid=$((paid + 1))
  done
  if [[ $paid -eq 3 ]]; then paid_in="$((i / 10)).$((i % 10)) s"; break; fi
  sleep 0.1
done
[[ "$paid_in" != none ]]
rc=$?  # before the message's $(...) runs: it would set $? to its own
check "the three are PAID within 10 s of the restart (in $paid_in; $(grep -o -e 'closed the circuit breakers.*' -e 'cleared the failures.*' "$work/out.txt" | tr '\n' ' '))" $rc
kill -TERM "$launcher"; wait "$launcher" 2>/dev/null; launcher=""
# SIGKILL of the launcher: no orphan keeps serving on the folder's ports.
# (A launcher used to pick its children's ports free and release them, and another socket
# could take one before the child bound it: a CI run saw this launcher exit 3. It now holds
# them, port_reservation.hpp; a launcher that ends while starting is shown, not tried again.)
start_launcher "$work/killed.txt" "$bin" serve --processes --data-dir "$work/killed" --gateway-port 0 --log-level warn
if ! kill -0 "$launcher" 2>/dev/null; then
  echo "note: the launcher exited while starting:"
  sed 's/^/  | /' "$work/killed.txt" | tail -n 20
  find "$work/killed" -name serve.log -exec tail -n 5 {} + 2>/dev/null | sed 's/^/  | /'
fi
[[ $(pgrep -f -- "serve --only .* --data-dir $work/killed/" | wc -l) -eq 6 ]]
check "a second launcher has six children" $?
kill -KILL "$launcher"
orphans=1
for _ in $(seq 1 40); do
  if [[ $(pgrep -f -- "--data-dir $work/killed/" | wc -l) -eq 0 ]]; then orphans=0; break; fi
  sleep 0.05
done
launcher=""
check "SIGKILL of the launcher stops its children within 2 s" $orphans

# Started again at once after a SIGKILL of the launcher while a request was in flight: the
# children finish their requests first (up to 11 s) and hold their folders meanwhile. The new
# launcher failed for those seconds, exit 3, "catalog exited with code 3 while starting" (an
# outside probe); it now waits for the folders, and says so.
start_launcher "$work/inflight.txt" "$bin" serve --processes --data-dir "$work/inflight" --gateway-port 0 --log-level warn
if_gateway=$(awk '/public door/ {print $3}' "$work/inflight.txt")
if_admin=$(awk '/admin token/ {print $3}' "$work/inflight.txt")
if_jwt=$(curl -s -X POST "$if_gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
curl -s -o /dev/null -X POST "$if_gateway/_admin/faults" -H "X-Admin-Token: $if_admin" -H 'Content-Type: application/json' \
  -d '{"id":"hold","target":"catalog","type":"hang"}'
curl -s -o /dev/null --max-time 20 -H "Authorization: Bearer $if_jwt" "$if_gateway/api/catalog/products" &
inflight_curl=$!
sleep 0.5
kill -KILL "$launcher"; wait "$launcher" 2>/dev/null
launcher_wait=30 start_launcher "$work/inflight2.txt" "$bin" serve --processes --data-dir "$work/inflight" --gateway-port 0 --log-level warn
grep -q "Ctrl-C stops" "$work/inflight2.txt" && kill -0 "$launcher" 2>/dev/null &&
  grep -q "is still held by a process of an earlier launcher" "$work/inflight2.txt"
inflight_rc=$?
if [[ $inflight_rc -ne 0 ]]; then sed 's/^/  | /' "$work/inflight2.txt" | tail -n 8; fi
check "a launcher started at once after a SIGKILLed one with a request in flight waits for its children's folders, and comes up" $inflight_rc
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""
wait "$inflight_curl" 2>/dev/null

# The same with a child of the killed launcher that has not yet closed its port (a loaded
# machine delays its SIGTERM): the new launcher reserved every port before it waited for the
# folders, and failed at once, "port ... is taken, wanted by auth" (seen in CI). It now waits
# for the folders first. The old child is played here by a process that holds auth's folder
# lock and listens on its port for 1.5 s, then ends.
start_launcher "$work/slowchild.txt" "$bin" serve --processes --data-dir "$work/slowchild" --gateway-port 0 --log-level warn
slow_port=$(awk '$1 == "auth" {sub(".*:", "", $2); print $2}' "$work/slowchild.txt")
kill -TERM "$launcher"; wait "$launcher" 2>/dev/null
hold_folder "$work/slowchild/auth" 1.5 "$work/slowchild.held" "$slow_port" &
slow_holder=$!
for _ in $(seq 1 100); do [[ -e "$work/slowchild.held" ]] && break; sleep 0.05; done
launcher_wait=30 start_launcher "$work/slowchild2.txt" "$bin" serve --processes --data-dir "$work/slowchild" --gateway-port 0 --log-level warn
grep -q "Ctrl-C stops" "$work/slowchild2.txt" && kill -0 "$launcher" 2>/dev/null &&
  grep -q "slowchild/auth is still held by a process of an earlier launcher" "$work/slowchild2.txt" &&
  [[ -n "$slow_port" && -e "$work/slowchild.held" ]]
slowchild_rc=$?
if [[ $slowchild_rc -ne 0 ]]; then sed 's/^/  | /' "$work/slowchild2.txt" | tail -n 8; fi
check "a launcher started while a child of a killed one still holds its folder and port waits for it, and comes up" $slowchild_rc
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""
wait "$slow_holder" 2>/dev/null

# A stop signal while it waits for such a folder stops it then (exit 0), as during the
# children's start: it acted only once the wait was over, up to 16 s (an outside probe).
hold_folder "$work/slowchild/auth" 12 "$work/heldlong.held" &
held_long=$!
for _ in $(seq 1 100); do [[ -e "$work/heldlong.held" ]] && break; sleep 0.05; done
"$bin" serve --processes --data-dir "$work/slowchild" --gateway-port 0 --log-level warn >"$work/heldlong.txt" 2>&1 &
launcher=$!
for _ in $(seq 1 100); do grep -q "is still held" "$work/heldlong.txt" && break; sleep 0.05; done
kill -TERM "$launcher"
hl_ended=1
for _ in $(seq 1 60); do kill -0 "$launcher" 2>/dev/null || { hl_ended=0; break; }; sleep 0.05; done
kill -KILL "$launcher" 2>/dev/null; wait "$launcher"; hl_rc=$?; launcher=""
kill "$held_long" 2>/dev/null; wait "$held_long" 2>/dev/null
[[ $hl_ended -eq 0 && $hl_rc -eq 0 ]] && grep -q "SIGTERM received while waiting for" "$work/heldlong.txt"
hl_ok=$?
[[ $hl_ok -ne 0 ]] && sed 's/^/  | /' "$work/heldlong.txt" | tail -n 5
check "SIGTERM while the launcher waits for a held child folder stops it within 3 s, exit 0 (exit $hl_rc)" $hl_ok

# A second stop signal during the drain stops the launcher at once, exit 128 + its number, as
# serve's does: it waited out every child's drain (20 s after three Ctrl-C; an outside probe).
start_launcher "$work/twice.txt" "$bin" serve --processes --data-dir "$work/twice" --gateway-port 0 --log-level warn
tw_gateway=$(awk '/public door/ {print $3}' "$work/twice.txt")
tw_admin=$(awk '/admin token/ {print $3}' "$work/twice.txt")
tw_jwt=$(curl -s -X POST "$tw_gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
curl -s -o /dev/null -X POST "$tw_gateway/_admin/faults" -H "X-Admin-Token: $tw_admin" -H 'Content-Type: application/json' \
  -d '{"id":"slow","target":"catalog","type":"delay","delay_ms":30000}'
curl -s -o /dev/null --max-time 40 -H "Authorization: Bearer $tw_jwt" "$tw_gateway/api/catalog/products" &
tw_curl=$!
sleep 0.5
kill -TERM "$launcher"
sleep 1
kill -TERM "$launcher"
tw_ended=1
for _ in $(seq 1 60); do kill -0 "$launcher" 2>/dev/null || { tw_ended=0; break; }; sleep 0.05; done
kill -KILL "$launcher" 2>/dev/null; wait "$launcher"; tw_rc=$?; launcher=""
tw_left=$(pgrep -f -- "--data-dir $work/twice/" | wc -l)
kill "$tw_curl" 2>/dev/null; wait "$tw_curl" 2>/dev/null
[[ $tw_ended -eq 0 && $tw_rc -eq 143 && $tw_left -eq 0 ]] && grep -q "a second SIGTERM: stopping now" "$work/twice.txt"
tw_ok=$?
[[ $tw_ok -ne 0 ]] && sed 's/^/  | /' "$work/twice.txt" | tail -n 5
check "a second SIGTERM during the launcher's drain stops it and its children at once, exit 143 (exit $tw_rc, $tw_left left)" $tw_ok

# With --log-format json, the launcher's standard error holds JSON lines only: the note on a
# child killed for not stopping in time was plain text (an outside probe).
"$bin" serve --processes --data-dir "$work/jsonstop" --gateway-port 0 --log-format json >"$work/jsonstop.out" 2>"$work/jsonstop.err" &
launcher=$!
for _ in $(seq 1 300); do grep -q "Ctrl-C stops" "$work/jsonstop.out" && break; sleep 0.05; done
kill -STOP "$(pgrep -f -- "serve --only order .*--data-dir $work/jsonstop/order")"
kill -TERM "$launcher"; wait "$launcher" 2>/dev/null; launcher=""
grep -q "did not stop within" "$work/jsonstop.err" && python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
' "$work/jsonstop.err"
jsonstop_ok=$?
[[ $jsonstop_ok -ne 0 ]] && sed 's/^/  | /' "$work/jsonstop.err" | tail -n 5
check "--log-format json: the launcher's note on a child killed at the stop is a JSON line" $jsonstop_ok

# A launcher killed with SIGKILL cannot remove its --ephemeral folder (identity.json and
# processes.yaml, the shop's secrets): the next shopctl that makes a temporary folder does
# (the docs said "remove it by hand").
mkdir -p "$work/ptmp"
start_launcher "$work/pkilled.txt" env TMPDIR="$work/ptmp" "$bin" serve --processes --ephemeral --gateway-port 0 --log-level warn
pkilled_dir=$(ls -d "$work/ptmp"/shopctl-processes-* 2>/dev/null)
kill -KILL "$launcher"; wait "$launcher" 2>/dev/null; launcher=""
for _ in $(seq 1 40); do
  [[ $(pgrep -f -- "--data-dir $pkilled_dir/" | wc -l) -eq 0 ]] && break
  sleep 0.05
done
TMPDIR="$work/ptmp" "$bin" run scenarios/flow/browse-catalog.yaml >"$work/after-pkill.txt" 2>&1
[[ -n "$pkilled_dir" && ! -e "$pkilled_dir" && -z "$(ls -A "$work/ptmp")" ]]
swept_rc=$?
check "the next shopctl removes a SIGKILLed --ephemeral launcher's folder (${pkilled_dir:-none}; left: $(ls "$work/ptmp" | tr '\n' ' '))" $swept_rc

# A child that dies of something that passes in a second or two comes back: after its first
# death in a minute, the launcher waits 0.5, 1, 2 and 4 s before the next starts. It started
# each again at once, so the six deaths took about a second and the whole shop stopped (an
# outside probe). Here order's database is damaged for 1.5 s.
start_launcher "$work/backoff.txt" "$bin" serve --processes --data-dir "$work/backoff" --gateway-port 0 --log-level warn
bo_gateway=$(awk '/public door/ {print $3}' "$work/backoff.txt")
bo_pid=$(awk '$1 == "order" {print $4}' "$work/backoff.txt")
bo_db="$work/backoff/order/order.db"
bo_jwt=$(curl -s -X POST "$bo_gateway/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
if [[ -n "$bo_pid" && -e "$bo_db" ]]; then
  mv "$bo_db" "$bo_db.kept"
  printf x >"$bo_db"
  kill -KILL "$bo_pid"
  sleep 1.5
  mv -f "$bo_db.kept" "$bo_db"
fi
bo_up=1
for _ in $(seq 1 300); do
  kill -0 "$launcher" 2>/dev/null || break
  if [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bo_jwt" "$bo_gateway/api/cart") == 200 ]]; then
    bo_up=0; break
  fi
  sleep 0.1
done
kill -0 "$launcher" 2>/dev/null && grep -q "starting it again in 0.5 s" "$work/backoff.txt" &&
  ! grep -q "giving up" "$work/backoff.txt" && [[ $bo_up -eq 0 ]]
bo_rc=$?
if [[ $bo_rc -ne 0 ]]; then sed 's/^/  | /' "$work/backoff.txt" | tail -n 12; fi
check "a child whose cause of death passes in 1.5 s is started again after a wait, and the shop stays up" $bo_rc
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""

# An --ephemeral launcher that gives up on a child that keeps dying removes its folder, log and
# all: it shows the log's last lines first (it used to say "see .../serve.log" and remove it).
start_launcher "$work/eph.txt" "$bin" serve --processes --ephemeral --gateway-port 0 --log-level warn
order_log=$(awk '$1 == "order" {print $5}' "$work/eph.txt")
order_pid=$(awk '$1 == "order" {print $4}' "$work/eph.txt")
if [[ -n "$order_log" && -n "$order_pid" ]]; then
  # A damaged database (one byte) makes every start of order exit 3 (docs/money.md). The
  # running child keeps the file it opened; the ones started after it find the damaged one.
  mv "$(dirname "$order_log")/order.db" "$(dirname "$order_log")/order.db.kept"
  printf x >"$(dirname "$order_log")/order.db"
  kill -KILL "$order_pid"
fi
for _ in $(seq 1 600); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$launcher" 2>/dev/null  # still up after 30 s: the check below fails, the script goes on
wait "$launcher"; eph_rc=$?
launcher=""
[[ $eph_rc -eq 3 ]] && grep -q "giving up" "$work/eph.txt" &&
  grep -q "removed with the --ephemeral folder" "$work/eph.txt" && grep -q "^  | .*order.db" "$work/eph.txt" &&
  [[ ! -e "$order_log" ]]
check "an --ephemeral launcher that gives up shows the child's log before it removes it (exit $eph_rc)" $?

# SIGTERM while the children start stops the launcher then, not after the banner (the
# launcher used to take it only in its loop, after every child was ready: up to 30 s each).
"$bin" serve --processes --data-dir "$work/interrupted" --gateway-port 0 --log-level warn >"$work/int.txt" 2>&1 &
launcher=$!
for _ in $(seq 1 500); do
  pgrep -f -- "serve --only catalog .*--data-dir $work/interrupted/" >/dev/null && break
  sleep 0.01
done
kill -TERM "$launcher"
for _ in $(seq 1 200); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$launcher" 2>/dev/null
wait "$launcher"; int_rc=$?
launcher=""
[[ $int_rc -eq 0 ]] && grep -q "SIGTERM received while starting" "$work/int.txt" &&
  ! grep -q "the shop is up" "$work/int.txt" &&
  [[ $(pgrep -f -- "--data-dir $work/interrupted/" | wc -l) -eq 0 ]]
int_ok=$?
check "SIGTERM while the children start stops them at once (exit $int_rc: $(grep -m1 -oE 'SIGTERM received.*|the shop is up' "$work/int.txt"))" $int_ok

# On a busy machine: the launcher's twelve ports from the 24 ephemeral ports of a network
# namespace of its own, twelve left for the shop's connections and the run's. Picked free and
# let go, two picks were often the same port and a child died binding it (5 of 5 starts failed
# so with 16); held, they are twelve ports, and the shop serves. (With 16, the run's own client
# found no port left; the check read $? after its message's grep and passed with 0 passed.)
# Needs root for the namespace (CI runs as root); skipped, and said so, without.
ns="shopctl-ports-$$"
if [[ $EUID -eq 0 ]] && command -v ip >/dev/null && ip netns add "$ns" 2>/dev/null; then
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" sh -c 'echo "40000 40023" > /proc/sys/net/ipv4/ip_local_port_range'
  start_launcher "$work/narrow.txt" ip netns exec "$ns" "$bin" serve --processes \
    --data-dir "$work/narrow" --gateway-port 0 --log-level warn
  narrow_gateway=$(awk '/public door/ {print $3}' "$work/narrow.txt")
  narrow_token=$(awk '/admin token/ {print $3}' "$work/narrow.txt")
  [[ -n "$narrow_gateway" ]] && ip netns exec "$ns" "$bin" run scenarios/flow/browse-catalog.yaml \
    --target "$narrow_gateway" --admin-token "$narrow_token" >"$work/narrow-run.txt" 2>&1
  narrow_ok=$?
  [[ $narrow_ok -eq 0 ]] || sed "s/^/    /" "$work/narrow.txt" "$work/narrow-run.txt" | tail -30
  check "twelve ports held from 24 free ones: the shop starts and serves ($(grep -h -m1 -oE 'could not start: .{0,80}|[0-9]+ passed' "$work/narrow.txt" "$work/narrow-run.txt" | head -1))" $narrow_ok
  kill -TERM "$launcher" 2>/dev/null
  wait "$launcher" 2>/dev/null
  launcher=""
  ip netns del "$ns"
else
  echo "skip - ports held on a busy machine (needs root and ip netns)"
fi

# A port given for one start (--gateway-port N, or `ports:` in a --config) is for that start, as
# plain serve does (docs/configuration.md, "Identity"): the launcher wrote it into identity.json,
# so one start with --gateway-port N moved the shop's door for good and a provider port override
# killed every pay link handed out before it (an outside probe).
stored_port() { jq -r ".ports.$1" "$work/keep/identity.json"; }
start_launcher "$work/keep1.txt" "$bin" serve --processes --data-dir "$work/keep" --gateway-port 0 --log-level warn
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""
own_gateway=$(stored_port gateway); own_provider=$(stored_port provider)
spare=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
spare2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'ports:\n  provider: %s\n' "$spare2" >"$work/keep-ports.yaml"
start_launcher "$work/keep2.txt" "$bin" serve --processes --data-dir "$work/keep" --gateway-port "$spare" \
  --config "$work/keep-ports.yaml" --log-level warn
[[ "$(awk '/public door/ {print $3}' "$work/keep2.txt")" == "http://127.0.0.1:$spare" ]]
check "a start with --gateway-port $spare and a config's provider port $spare2 uses them" $?
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""
[[ "$(stored_port gateway)" == "$own_gateway" && "$(stored_port provider)" == "$own_provider" ]]
kept_ok=$?  # before the message's own command substitutions set $?
check "and identity.json keeps the shop's own ports ($own_gateway, $own_provider; now $(stored_port gateway), $(stored_port provider))" $kept_ok
start_launcher "$work/keep3.txt" "$bin" serve --processes --data-dir "$work/keep" --gateway-port 0 --log-level warn
[[ "$(awk '/public door/ {print $3}' "$work/keep3.txt")" == "http://127.0.0.1:$own_gateway" ]]
check "without the overrides the shop comes back on its own gateway port $own_gateway" $?
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""

# --log-format json: each child's serve.log holds JSON lines only (its plain-text banner, with
# the admin token and the demo password, went into the log pipeline; an outside probe).
start_launcher "$work/json.txt" "$bin" serve --processes --data-dir "$work/json" --gateway-port 0 --log-format json
json_token=$(awk '/admin token/ {print $3}' "$work/json.txt")
curl -s -o /dev/null "$(awk '/public door/ {print $3}' "$work/json.txt")/api/catalog/products"
kill -TERM "$launcher" 2>/dev/null; wait "$launcher" 2>/dev/null; launcher=""
not_json=$(cat "$work"/json/*/serve.log | python3 -c '
import json, sys
bad = 0
for line in sys.stdin:
    try: json.loads(line)
    except ValueError: bad += 1
print(bad)')
lines=$(cat "$work"/json/*/serve.log | wc -l)
[[ -n "$json_token" && "$lines" -ge 6 && "$not_json" == 0 ]] && ! grep -qF "$json_token" "$work"/json/*/serve.log
check "--log-format json: the children's logs are JSON lines only, without the admin token ($lines lines, $not_json not JSON)" $?

# A process given every secret (one file for every host) used them all: the catalog served
# /_admin/provider-api-key with the key (an outside probe). It warns and drops them; an
# identity.json that keeps such secrets is warned of too.
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
all_token="adm_$(hex 16)"
cat > "$work/all5.yaml" <<YAML
secrets:
  jwt_secret: "$(hex 32)"
  service_key: "$(hex 32)"
  webhook_secret: "whsec_$(hex 24)"
  admin_token: "$all_token"
  provider_api_key: "sk_test_$(hex 24)"
YAML
mkdir -p "$work/lone" && chmod 700 "$work/lone"
printf '{"version": 1, "secrets": {"jwt_secret": "%s"}}\n' "$(hex 32)" > "$work/lone/identity.json"
chmod 600 "$work/lone/identity.json"
"$bin" serve --only catalog --config "$work/all5.yaml" --data-dir "$work/lone" \
  --admin-port 0 >"$work/lone.txt" 2>&1 &
lone=$!
lone_admin=$(banner_value "$work/lone.txt" '/admin plane/ {print $3}')
key_answer=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Admin-Token: $all_token" "$lone_admin/_admin/provider-api-key")
kill -TERM "$lone" 2>/dev/null; wait "$lone" 2>/dev/null
grep -q "was given secrets its services do not use: jwt_secret, webhook_secret, provider_api_key; it drops them" "$work/lone.txt" &&
  grep -q "identity.json holds secrets this process's services do not use: jwt_secret" "$work/lone.txt" &&
  [[ "$key_answer" == 404 ]]
check "a catalog given every secret warns, drops the ones it does not use (provider-api-key: $key_answer), and names an identity.json that keeps one" $?

# A process whose own `peers:` entry names another port of the address it listens on: the
# others call that URL, where nothing listens, and the banner and /_admin/services showed it
# as running, with no word (an outside probe restarted payment on another port). Warned.
{ cat "$work/all5.yaml"; printf 'peers:\n  catalog: {url: "http://127.0.0.1:1"}\n'; } >"$work/ownpeer.yaml"
"$bin" serve --only catalog --config "$work/ownpeer.yaml" --data-dir "$work/ownpeer" \
  --admin-port 0 >"$work/ownpeer.txt" 2>&1 &
ownpeer=$!
banner_value "$work/ownpeer.txt" '/admin plane/ {print $3}' >/dev/null
kill -TERM "$ownpeer" 2>/dev/null; wait "$ownpeer" 2>/dev/null
grep -q "peers: catalog is http://127.0.0.1:1, but catalog listens on port [0-9]* here" "$work/ownpeer.txt"
check "a process whose own peers: entry names another port it does not listen on warns at start" $?

# A gateway whose secrets.service_key is not auth's: auth's 401 invalid_service_credential (about
# the gateway's own credential) reached the shopper as their 401 (an outside probe across
# hosts). The shopper gets 503; the gateway's log names the cause.
secrets_with_key() {  # secrets_with_key KEY: a config of the secrets a gateway and auth use
  printf 'secrets:\n  jwt_secret: "%s"\n  service_key: "%s"\n  admin_token: "%s"\n' "$jwt_shared" "$1" "$all_token"
}
jwt_shared=$(hex 32)
secrets_with_key "$(hex 32)" >"$work/auth-secrets.yaml"
secrets_with_key "$(hex 32)" >"$work/gw-secrets.yaml"
"$bin" serve --only auth --config "$work/auth-secrets.yaml" --data-dir "$work/mis-auth" --admin-port 0 \
  >"$work/mis-auth.txt" 2>&1 &
mis_auth=$!
mis_auth_url=$(banner_value "$work/mis-auth.txt" '$1 == "auth" {print $2; exit}')
"$bin" serve --only gateway --config "$work/gw-secrets.yaml" --peer "auth=$mis_auth_url" \
  --data-dir "$work/mis-gw" --gateway-port 0 --admin-port 0 >"$work/mis-gw.txt" 2>&1 &
mis_gw=$!
mis_gw_url=$(banner_value "$work/mis-gw.txt" '$1 == "gateway" {print $2; exit}' "Ctrl-C")
mis_answer=$(curl -s -w ' %{http_code}' -X POST "$mis_gw_url/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}')
kill -TERM "$mis_gw" 2>/dev/null; wait "$mis_gw" 2>/dev/null
# A peer named by a host name that cannot be found: the 503 read "connection_refused", as if a
# host had answered (an outside probe); it names the lookup.
"$bin" serve --only gateway --config "$work/auth-secrets.yaml" --peer "auth=$mis_auth_url" \
  --peer catalog=http://catalog.shopctl-test.invalid:9 --data-dir "$work/dns-gw" --gateway-port 0 \
  --admin-port 0 >"$work/dns-gw.txt" 2>&1 &
dns_gw=$!
dns_gw_url=$(banner_value "$work/dns-gw.txt" '$1 == "gateway" {print $2; exit}' "Ctrl-C")
dns_jwt=$(curl -s -X POST "$dns_gw_url/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@shop.test","password":"demo-password-1"}' | jq -r .access_token)
dns_answer=$(curl -s -m 20 -w ' %{http_code}' -H "Authorization: Bearer $dns_jwt" "$dns_gw_url/api/catalog/products")
# A crossed peer: auth's URL given as the catalog's. Every catalog request was a 404 "no route
# for GET /products" to the shopper, with nothing in any log (an outside probe across hosts).
# The start asks each peer's /health/live which service it is, and refuses a wrong one.
timeout -s KILL 20 "$bin" serve --only gateway --config "$work/auth-secrets.yaml" --peer "auth=$mis_auth_url" \
  --peer "catalog=$mis_auth_url" --data-dir "$work/crossed-gw" --gateway-port 0 --admin-port 0 >"$work/crossed-gw.txt" 2>&1
crossed_rc=$?
[[ $crossed_rc -eq 3 ]] && grep -q "the peer catalog at $mis_auth_url is the auth service" "$work/crossed-gw.txt"
crossed_ok=$?
[[ $crossed_ok -ne 0 ]] && sed 's/^/  | /' "$work/crossed-gw.txt" | tail -n 5
check "a gateway whose catalog peer is auth's URL is refused at the start, naming both (exit $crossed_rc)" $crossed_ok
kill -TERM "$dns_gw" "$mis_auth" 2>/dev/null; wait "$dns_gw" "$mis_auth" 2>/dev/null
[[ "$dns_answer" == *" 503" && "$dns_answer" == *"no address for "*"catalog.shopctl-test.invalid"* ]]
check "a peer whose host name cannot be found is a 503 that names the lookup (${dns_answer:0:200})" $?
[[ "$mis_answer" == *" 503" && "$mis_answer" == *'"service_unavailable"'* && "$mis_answer" != *service_credential* ]] &&
  grep -q "a service refused the gateway's own call; the client is told 503" "$work/mis-gw.txt" &&
  grep -q "secrets.service_key must be the same in every process of the shop" "$work/mis-gw.txt"
check "a gateway whose service_key auth refuses answers the shopper 503, and its log names the key (${mis_answer:0:160})" $?

echo "processes: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
