#!/usr/bin/env bash
# The shop across real network boundaries (docs/deploy.md, "Separate hosts"): each service in
# a Linux network namespace of its own with its own address, joined by veth pairs to a bridge
# that lives in a namespace of its own too (the host's network is never touched), and one
# `shopctl serve --only SERVICE --bind ADDRESS` per namespace. From a client namespace:
#   1. the scenario suite against the gateway (every scenario but the in-process-only ones),
#      the architecture scenarios among them: illegal edges refused across processes;
#   2. a chaos run against the split shop during which one service's process is killed with
#      SIGKILL and started again; its invariants must hold;
#   3. a gateway whose peers are named by host name, with a DNS server that never answers:
#      it keeps serving, and requests to those peers end at their deadline;
#   4. a gateway whose peer is an address no host holds: 503, host_unreachable.
# Needs root (CI runs as root): without the privilege to make namespaces it says so and
# exits 1. Everything it made is removed on exit.
#   tests/deploy/netns.sh ./build/shopctl
set -uo pipefail
bin=$(realpath "${1:-./build/shopctl}")
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
prefix="shn$$"          # namespace and link names: unique per run
net="10.231.$(( $$ % 200 + 20 ))"
bridge_ns="$prefix-br"
services=(catalog auth provider payment order gateway)
declare -A addr=([catalog]=$net.2 [auth]=$net.3 [provider]=$net.4 [payment]=$net.5 [order]=$net.6 [gateway]=$net.7)
declare -A port=([catalog]=7002 [auth]=7001 [provider]=7005 [payment]=7004 [order]=7003 [gateway]=8080)
client_addr=$net.100
work=$(mktemp -d /tmp/shopctl-netns-XXXXXX)
declare -A pid
passed=0; failed=0
check() {  # check NAME CONDITION-EXIT-CODE
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); echo "ok - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi
}
cleanup() {
  for s in "${services[@]}" named lost; do [[ -n "${pid[$s]:-}" ]] && kill -KILL "${pid[$s]}" 2>/dev/null; done
  [[ -n "${dns_pid:-}" ]] && kill -KILL "$dns_pid" 2>/dev/null
  rm -rf "/etc/netns/$prefix-dns"
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-"); do ip netns del "$ns" 2>/dev/null; done
  [[ -n "${KEEP_WORK:-}" ]] && echo "netns: kept $work" || rm -rf "$work"
}
trap cleanup EXIT

if [[ $(id -u) -ne 0 ]] || ! ip netns add "$prefix-probe" 2>/dev/null; then
  echo "netns: cannot make network namespaces here (needs root and CAP_SYS_ADMIN; 'ip netns add' failed)." >&2
  echo "netns: 0 passed, 1 failed"
  exit 1
fi
ip netns del "$prefix-probe"

# The bridge, in a namespace of its own; a namespace per service and one for the client.
ip netns add "$bridge_ns"
ip -n "$bridge_ns" link add br0 type bridge
ip -n "$bridge_ns" link set br0 up
join() {  # join NAMESPACE ADDRESS
  local ns=$1 a=$2
  local link="v${a##*.}"
  ip netns add "$ns"
  ip -n "$bridge_ns" link add "$link" type veth peer name eth0 netns "$ns"
  ip -n "$bridge_ns" link set "$link" master br0 up
  ip -n "$ns" addr add "$a/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}
for s in "${services[@]}"; do join "$prefix-$s" "${addr[$s]}"; done
join "$prefix-client" "$client_addr"

# One config for every process: ports and where each service and each process's admin plane
# is. Each host's secrets in a file of its own, only those its service uses (docs/deploy.md,
# "Secrets"): one host taken is not every secret of the shop.
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
token="adm_$(hex 16)"
declare -A secret=([jwt_secret]=$(hex 32) [service_key]=$(hex 32) [webhook_secret]="whsec_$(hex 24)"
  [admin_token]=$token [provider_api_key]="sk_test_$(hex 24)")
declare -A holds=([gateway]="jwt_secret service_key" [auth]="jwt_secret service_key"
  [catalog]="service_key" [order]="service_key"
  [payment]="service_key webhook_secret provider_api_key" [provider]="webhook_secret provider_api_key")
for s in "${services[@]}"; do
  {
    echo "secrets:"
    for name in admin_token ${holds[$s]}; do echo "  $name: ${secret[$name]}"; done
  } > "$work/$s.secrets.yaml"
  chmod 600 "$work/$s.secrets.yaml"
done
{
  echo "auth: {password_hashing: fast}"
  echo "ports:"
  for s in "${services[@]}"; do echo "  $s: ${port[$s]}"; done
  echo "peers:"
  for s in "${services[@]}"; do
    echo "  $s: {url: http://${addr[$s]}:${port[$s]}, admin: http://${addr[$s]}:9000}"
  done
} > "$work/split.yaml"
chmod 600 "$work/split.yaml"
# The same addresses as a deployment file for the tools (docs/deploy.md): chaos reads it.
{
  echo "admin_token: $token"
  echo "services:"
  for s in "${services[@]}"; do
    echo "  $s: {url: http://${addr[$s]}:${port[$s]}, admin: http://${addr[$s]}:9000}"
  done
} > "$work/deployment.yaml"

start() {  # start SERVICE
  local s=$1
  ip netns exec "$prefix-$s" "$bin" serve --only "$s" --bind "${addr[$s]}" --config "$work/split.yaml" \
    --config "$work/$s.secrets.yaml" --data-dir "$work/$s" --admin-port 9000 --log-level warn --threads 1 >>"$work/$s.log" 2>&1 &
  pid[$s]=$!
}
ready() {  # ready SERVICE: its /health/ready answers 200 from the client namespace
  local s=$1
  for _ in $(seq 1 300); do
    if ip netns exec "$prefix-client" curl -sf -o /dev/null --max-time 1 "http://${addr[$s]}:${port[$s]}/health/ready"; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}
in_client() { ip netns exec "$prefix-client" "$@"; }
# wait_live URL: whether URL's /health/live answers the client namespace within 5 s.
wait_live() {
  for _ in $(seq 1 100); do
    in_client curl -sf -o /dev/null --max-time 1 "$1/health/live" && return 0
    sleep 0.05
  done
  return 1
}

began=$SECONDS
all_ready=0
for s in "${services[@]}"; do start "$s"; done
for s in "${services[@]}"; do ready "$s" || { echo "netns: $s did not become ready:"; tail -5 "$work/$s.log"; all_ready=1; }; done
check "six processes in six namespaces ready ($((SECONDS - began)) s)" $all_ready
gateway="http://${addr[gateway]}:8080"

# Isolation is real: from the client namespace, loopback holds no shop.
in_client curl -s -o /dev/null --max-time 1 "http://127.0.0.1:8080/health/live"
check "the client namespace reaches the shop only over the bridge" $(( $? == 0 ))

# 1. The suite, against the gateway of the split shop.
mkdir -p reports
in_client "$bin" run scenarios/ --target "$gateway" --admin-token "$token" --skip-tags in-process-only \
  --junit reports/netns.junit.xml >"$work/suite.txt" 2>&1
suite=$?
grep -E "^failed|^scenarios:" "$work/suite.txt"
check "the scenario suite across six network namespaces" $suite
# With only its own secrets, no host warns of secrets its services do not use.
! grep -l "secrets its services do not use" "$work"/*.log
check "each host holds only its service's secrets (no host warns of others)" $?
grep -qE "^scenarios: [1-9][0-9]* passed, 0 failed" "$work/suite.txt"
check "the suite ran scenarios and none failed" $?

# 2. Chaos against the split shop, given as a deployment file; payment's process is killed
#    with SIGKILL and started again.
in_client "$bin" chaos --target "$work/deployment.yaml" --heal-clock --duration 20s --seed 5 --users 8 \
  --json reports/netns.chaos.json >"$work/chaos.txt" 2>&1 &
chaos=$!
sleep 6
kill -KILL "${pid[payment]}"; wait "${pid[payment]}" 2>/dev/null
sleep 1
start payment
ready payment
check "payment's process killed with SIGKILL, started again and ready" $?
wait "$chaos"
chaos_rc=$?
tail -16 "$work/chaos.txt"
check "chaos with a SIGKILLed process: every invariant holds" $chaos_rc

# 3. A DNS server that does not answer. A gateway in a namespace of its own names its peers by
#    host name; its resolv.conf (ip netns exec mounts /etc/netns/NS/resolv.conf) points at a
#    UDP socket that reads queries and never answers, with a 20 s timeout. A lookup must not
#    stop the gateway's only io thread, and a request needing the peer must end at the
#    gateway's upstream deadline (10 s), not at the resolver's.
dns_ns="$prefix-dns"
join "$dns_ns" "$net.60"
mkdir -p "/etc/netns/$dns_ns"
printf 'nameserver 127.0.0.1\noptions timeout:20 attempts:1\n' > "/etc/netns/$dns_ns/resolv.conf"
printf '127.0.0.1 localhost\n' > "/etc/netns/$dns_ns/hosts"
ip netns exec "$dns_ns" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True: s.recvfrom(4096)' &
dns_pid=$!
# The gateway must not start before the socket is bound: a refused query fails at once.
for _ in $(seq 1 100); do
  ip netns exec "$dns_ns" ss -Hlun 'sport = :53' | grep -q . && break
  sleep 0.05
done
sed -E "s#url: http://$net\.([0-9]+):#url: http://peer\1.shop.test:#" "$work/split.yaml" > "$work/named.yaml"
ip netns exec "$dns_ns" "$bin" serve --only gateway --bind "$net.60" --config "$work/named.yaml" \
  --config "$work/gateway.secrets.yaml" --data-dir "$work/named-gateway" --admin-port 9001 --log-level warn --threads 1 >>"$work/named-gateway.log" 2>&1 &
pid[named]=$!
wait_live "http://$net.60:8080"
check "a gateway whose peers are named by DNS starts" $?
t0=$(date +%s%N)
in_client curl -s -o "$work/named-login.json" -w '%{http_code}' --max-time 25 \
  -H 'Content-Type: application/json' -d '{"email": "dns@example.test", "password": "not-checked-here"}' \
  "http://$net.60:8080/api/auth/login" > "$work/named-login.code" &
login=$!
sleep 0.5
t1=$(date +%s%N)
in_client curl -sf -o /dev/null --max-time 5 "http://$net.60:8080/health/live"
live=$?
live_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
check "while a DNS lookup hangs, the gateway still answers /health/live (${live_ms} ms)" $(( live != 0 || live_ms > 1000 ))
wait "$login"
login_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
code=$(cat "$work/named-login.code")
[[ $code == 504 && $login_ms -lt 15000 ]]
check "a request to a peer whose name does not resolve ends with $code in ${login_ms} ms: the gateway's 10 s, not the resolver's 20 s" $?
kill -KILL "${pid[named]}" "$dns_pid" 2>/dev/null
rm -rf "/etc/netns/$dns_ns"

# 4. A peer whose host nobody holds (an address on the bridge no namespace has): the connect
#    ends with "no route to host" once ARP gives up, which the gateway said as
#    "(connection_reset)" after 3 s, as if the host had answered (an outside probe). It says
#    host_unreachable: nothing was sent.
lost_ns="$prefix-lost"
join "$lost_ns" "$net.61"
ip netns exec "$lost_ns" "$bin" serve --only gateway --bind "$net.61" --config "$work/split.yaml" \
  --config "$work/gateway.secrets.yaml" --peer "auth=http://$net.99:7001" --data-dir "$work/lost-gateway" \
  --admin-port 9002 --log-level warn >>"$work/lost-gateway.log" 2>&1 &
pid[lost]=$!
wait_live "http://$net.61:8080"
check "a gateway whose auth peer is an address no host holds starts" $?
lost_code=$(in_client curl -s -o "$work/lost-login.json" -w '%{http_code}' --max-time 20 \
  -H 'Content-Type: application/json' -d '{"email": "lost@example.test", "password": "not-checked-here"}' \
  "http://$net.61:8080/api/auth/login")
[[ $lost_code == 503 ]] && grep -q 'host_unreachable' "$work/lost-login.json"
lost_rc=$?  # before the message's $(...), which would set $? to its own
check "a login through a peer with no host is 503 and says host_unreachable ($lost_code: $(head -c 160 "$work/lost-login.json"))" $lost_rc
kill -KILL "${pid[lost]}" 2>/dev/null; wait "${pid[lost]}" 2>/dev/null

echo "netns: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
