#!/usr/bin/env bash
# `shopctl serve --record FILE`: a session scripted with curl (register, login, browse, add to
# the cart, check out, pay at the provider's page, read the order) is written as a scenario;
# after SIGTERM the file is complete, `shopctl validate` accepts it and `shopctl run` replays
# it against a fresh shop. Real processes, loopback only, every wait bounded.
set -uo pipefail
shopctl=${1:?usage: record.sh path/to/shopctl}
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0; failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
finish() { echo "record: $passed passed, $((failed + 1)) failed"; exit 1; }

# start_serve LOG ARGS...: `shopctl serve ARGS` in the background (pid in $pid), waited for
# until it is up (at most 60 s); its gateway's URL in $gateway.
start_serve() {
  local log=$1; shift
  "$shopctl" serve "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q "the shop is up" "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  gateway=$(awk '$1 == "gateway" {print $2; exit}' "$log")
}

file="$tmp/session.yaml"
start_serve "$tmp/serve.log" --ephemeral --gateway-port 0 --log-level warn --record "$file"
[[ -n "$gateway" ]] || { echo "FAIL: the shop did not come up"; sed 's/^/    /' "$tmp/serve.log" | head; finish; }

email="grace-$$@shop.test"
password="a-password-only-the-session-knows"
json=(-H 'Content-Type: application/json')
curl -s -o /dev/null -X POST "$gateway/api/auth/register" "${json[@]}" \
  -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Grace\"}"
token=$(curl -s -X POST "$gateway/api/auth/login" "${json[@]}" \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -r .access_token)
check "login gives a token" test -n "$token" -a "$token" != null
auth=(-H "Authorization: Bearer $token")
curl -s "${auth[@]}" "$gateway/api/catalog/products?category=coffee&page_size=5" >"$tmp/products.json"
product=$(jq -r '.items[2].id' "$tmp/products.json")
curl -s -o /dev/null "${auth[@]}" "$gateway/api/catalog/products/$product"
curl -s -o /dev/null -X POST "$gateway/api/cart/items" "${auth[@]}" "${json[@]}" \
  -d "{\"product_id\":\"$product\",\"quantity\":2}"
curl -s -o /dev/null "${auth[@]}" "$gateway/api/cart"
curl -s -X POST "$gateway/api/orders" "${auth[@]}" -H "Idempotency-Key: checkout-$$" >"$tmp/order.json"
order_id=$(jq -r .order_id "$tmp/order.json")
pay_url=$(jq -r .payment.pay_url "$tmp/order.json")
check "checkout gives a pay link" test -n "$pay_url" -a "$pay_url" != null
# Paid at the provider's page: outside the gateway; its webhook comes through the gateway.
curl -s -o /dev/null -X POST "$pay_url" "${json[@]}" -d '{"card_number":"4242424242424242"}'
status=$(curl -s "${auth[@]}" "$gateway/api/orders/$order_id" | jq -r .status)
check "the order is PAID in the session (got $status)" test "$status" = PAID
curl -s -o /dev/null "${auth[@]}" "$gateway/api/orders"
curl -s -o /dev/null "$gateway/" # the web shop's page: not recorded
# A second shopper logs in; each then acts with their own token. Everything after the second
# login was replayed as the second user (Grace's cart was theirs: 400 cart_empty became 201).
other="hopper-$$@shop.test"
curl -s -o /dev/null -X POST "$gateway/api/auth/register" "${json[@]}" \
  -d "{\"email\":\"$other\",\"password\":\"$password\",\"name\":\"Hopper\"}"
other_token=$(curl -s -X POST "$gateway/api/auth/login" "${json[@]}" \
  -d "{\"email\":\"$other\",\"password\":\"$password\"}" | jq -r .access_token)
got=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/cart/items" "${auth[@]}" "${json[@]}" \
  -d '{"product_id":"p-001","quantity":1}')
got+=" $(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/orders" -H "Authorization: Bearer $other_token")"
got+=" $(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/orders" "${auth[@]}")"
got+=" $(curl -s -o /dev/null -w '%{http_code}' "$gateway/api/cart")"
check "two shoppers: Grace's cart, Hopper's empty checkout, Grace's checkout, no token (got $got)" \
  test "$got" = "200 400 201 401"
# Bodies the shop refuses are recorded as refused: one that is not UTF-8 was a 500 (the
# recorder threw), one cut short was replayed without its Content-Type (415, not 400), and a
# refused Idempotency-Key was replayed as a valid one.
bad=$(printf '\xff' | curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/cart/items" "${auth[@]}" "${json[@]}" --data-binary @-)
check "a body that is not UTF-8 is 400 while recording (got $bad)" test "$bad" = 400
cut=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/cart/items" "${auth[@]}" "${json[@]}" -d '{"product_id":"p-001"')
check "a body cut short is 400 (got $cut)" test "$cut" = 400
refused=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/orders" "${auth[@]}" -H "Idempotency-Key: $(printf 'k%.0s' $(seq 1 201))")
check "an Idempotency-Key of 201 characters is 400 (got $refused)" test "$refused" = 400
# Logins and registers the runner's steps do not send: their bodies were written verbatim,
# password and all; a non-string email made the recorder throw and lose the step; and a 415
# was written as a login step expecting 415, which the runner's JSON could not get.
odd() {  # odd CONTENT-TYPE PATH BODY: the status
  curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway$2" -H "Content-Type: $1" --data-binary "$3"
}
got="$(odd application/json /api/auth/login "{\"Email\":\"$email\",\"password\":\"$password\"}")"
got+=" $(odd application/json /api/auth/login "{\"email\":\"$email\",\"password\":\"$password\"")"
got+=" $(odd application/json /api/auth/register "{\"email\":[\"$email\"],\"password\":\"$password\"}")"
got+=" $(odd text/plain /api/auth/register "{\"email\":\"x-$email\",\"password\":\"$password\"}")"
got+=" $(odd 'application/json; charset=latin1' /api/auth/login "{\"email\":\"$email\",\"password\":\"$password\"}")"
check "odd logins and registers are refused in the session (got $got)" test "$got" = "400 400 400 415 415"

kill -TERM "$pid"
wait "$pid"
code=$?
pid=""
check "serve stops with 0 after SIGTERM (got $code)" test "$code" -eq 0
check "serve says what it recorded" grep -q "step(s) recorded in" "$tmp/serve.log"
check "the file is written" test -s "$file"
check "no password of the session in the file" bash -c "! grep -qF '$password' '$file'"
check "no token in the file" bash -c "! grep -qF '$token' '$file' && ! grep -qF '$other_token' '$file'"
check "Grace's requests after Hopper's login send her token, captured at her login" \
  grep -qF 'capture: {token_1: "$.access_token"}' "$file"
check "Grace's cart after Hopper's login is hers" \
  grep -qF '"quantity":1}, auth: "${token_1}"}' "$file"
check "Hopper's checkout sends the runner's token (the last login's)" \
  grep -qFx '    request: {method: POST, path: "/api/orders"}' "$file"
check "the email is made unique per run" grep -qF "grace-$$-\${run_id}@shop.test" "$file"
check "a login step" grep -q "login: {email:" "$file"
check "the order id is captured" grep -q 'capture: {order_id: "\$.order_id"}' "$file"
check "the order is read through the capture" grep -qF 'path: "/api/orders/${order_id}"' "$file"
check "the payment is a pay step" grep -qF 'pay: {order: "${order_id}", card: "4242424242424242"}' "$file"
check "no static page recorded" bash -c "! grep -q 'path: \"/\"' '$file'"
check "the body that was not UTF-8 is recorded, with a comment" grep -q "the body was not UTF-8" "$file"
check "a raw body keeps its Content-Type" grep -qF 'headers: {Content-Type: "application/json"}, body: "{\"product_id\":\"p-001\""' "$file"
check "a refused Idempotency-Key is kept as it was" grep -qF "Idempotency-Key: \"kkkkkkkkkk" "$file"
check "every odd login and register is a step (5 request steps to /api/auth/)" \
  test "$(grep -c 'request: {method: POST, path: "/api/auth/' "$file")" -eq 5
check "a 415 keeps its Content-Type" grep -qF 'headers: {Content-Type: "application/json; charset=latin1"}' "$file"
check "a label keeps the \${...} of its path" grep -qF 'name: "GET /api/orders/${order_id}"' "$file"

"$shopctl" validate "$file" >"$tmp/validate.out" 2>&1
check "shopctl validate accepts the recording" test $? -eq 0
"$shopctl" run "$file" --jobs 1 >"$tmp/run.out" 2>&1
code=$?
check "shopctl run replays the recording (exit $code)" test "$code" -eq 0
if [[ $failed -gt 0 ]]; then
  sed 's/^/    file: /' "$file"; sed 's/^/    run: /' "$tmp/run.out" | tail -30
fi

# --record's limits, and what serve writes: a client with no token sent thousands of requests
# (each recorded, the whole file rewritten on the gateway's thread after each: /api/ answers
# took seconds) and 1 MB bodies (all kept in memory). Now: at most 10,000 exchanges, no body
# over 64 KiB, the file written by a thread of its own. The data folder was readable by every
# local user (the databases' password hashes; with --processes, logs holding the admin token):
# serve makes its files 0600 and its folders 0700, and warns about a folder others may read.
mkdir -p "$tmp/open/data"; chmod 755 "$tmp/open/data"
big="$tmp/big.yaml"
start_serve "$tmp/serve2.log" --data-dir "$tmp/open/data" --gateway-port 0 --log-level warn --record "$big"
check "serve warns that others may read the data folder" grep -q "warning: other users may read $tmp/open/data" "$tmp/serve2.log"
curl -s -o /dev/null -X POST "$gateway/api/auth/login" "${json[@]}" --data-binary "{\"email\":\"$(head -c 70000 /dev/zero | tr '\0' a)\"}"
python3 - "${gateway#http://}" <<'PY'
import socket, sys
host, port = sys.argv[1].split(':')
s = socket.create_connection((host, int(port)))
s.sendall(b"GET /api/cart HTTP/1.1\r\nHost: localhost\r\n\r\n" * 10050)
got = b""
while got.count(b"HTTP/1.1 401") < 10050:
    chunk = s.recv(1 << 20)
    if not chunk: break
    got += chunk
print(got.count(b"HTTP/1.1 401"))
PY
sleep 1
check "the recording is on disk while serve runs" test -s "$big"
kill -TERM "$pid"; wait "$pid"; pid=""
check "serve says it stopped recording at 10,000 exchanges" grep -q -- "--record: 10000 exchanges recorded; the rest are not" "$tmp/serve2.log"
check "serve says a body over 64 KiB is not recorded" grep -q -- "--record: a request body over 64 KiB is not recorded (POST /api/auth/login)" "$tmp/serve2.log"
steps=$(grep -c '^  - ' "$big")
check "at most 10,000 steps recorded (got $steps)" test "$steps" -le 10000 -a "$steps" -ge 9990
check "no 64 KiB body in the file" bash -c "! grep -q aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa '$big'"
modes=$(stat -c '%a %n' "$big" "$tmp/open/data/identity.json" "$tmp/open/data"/*.db | awk '{print $1}' | sort -u | tr '\n' ' ')
check "the recording, identity.json and the databases are 0600 (got $modes)" test "$modes" = "600 "

echo "record: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
