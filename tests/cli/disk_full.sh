#!/usr/bin/env bash
# A full disk under a running shop (a 3 MiB tmpfs as its data folder, root only): the cart,
# checkout and the provider's pay page answer 503 storage_unavailable with Retry-After, never a
# 500, and once space is freed the shop takes orders again without a restart. An outside probe
# found 500 internal_error for all three. Real processes, a real filesystem, every wait bounded.
set -uo pipefail
shopctl=$(realpath "${1:?usage: disk_full.sh path/to/shopctl}")
if [[ $(id -u) -ne 0 ]]; then echo "disk_full: skipped (mounting a tmpfs needs root)"; exit 0; fi
tmp=$(mktemp -d)
here=$(cd "$(dirname "$0")/../.." && pwd)
mnt="$tmp/disk"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0; failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
mkdir -p "$mnt"
mount -t tmpfs -o size=3m tmpfs "$mnt" || { echo "disk_full: cannot mount a tmpfs"; exit 1; }
"$shopctl" serve --data-dir "$mnt/data" --gateway-port 0 --log-level warn >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "the shop is up" "$tmp/serve.log" && break; sleep 0.1; done
gateway=$(awk '$1 == "gateway" {print $2; exit}' "$tmp/serve.log")
[[ -n "$gateway" ]] || { echo "FAIL: the shop did not come up"; cat "$tmp/serve.log"; exit 1; }

json=(-H 'Content-Type: application/json')
curl -s -o /dev/null -X POST "$gateway/api/auth/register" "${json[@]}" \
  -d '{"email":"full@shop.test","password":"correct-horse-battery","name":"Full"}'
token=$(curl -s -X POST "$gateway/api/auth/login" "${json[@]}" \
  -d '{"email":"full@shop.test","password":"correct-horse-battery"}' | jq -r .access_token)
check "login gives a token" test -n "$token" -a "$token" != null
auth=(-H "Authorization: Bearer $token" "${json[@]}")

# Fill the disk with a file of our own (leaving the shop's files as they are).
dd if=/dev/zero of="$mnt/filler" bs=64k status=none 2>/dev/null
statuses=""
for i in $(seq 1 40); do
  cart=$(curl -s -o "$tmp/cart.json" -w '%{http_code}' -X POST "$gateway/api/cart/items" "${auth[@]}" \
    -d '{"product_id":"p-001","quantity":1}')
  order=$(curl -s -D "$tmp/order.head" -o "$tmp/order.json" -w '%{http_code}' -X POST \
    "$gateway/api/orders" "${auth[@]}" -H "Idempotency-Key: full-$i")
  statuses+=" $cart/$order"
  [[ $order == 503 ]] && break
done
check "no answer was a 500 while the disk was full (cart/checkout:$statuses)" \
  bash -c "! grep -q '500' <<<'$statuses'"
check "a checkout on a full disk is 503 (cart/checkout:$statuses)" test "$order" = 503
check "... storage_unavailable or payment_unavailable, in the error shape" \
  grep -qE '"code":"(storage_unavailable|payment_unavailable)"' "$tmp/order.json"
check "... with Retry-After" grep -qi '^Retry-After:' "$tmp/order.head"
# What an on-call alerts on: a full disk showed in /metrics only as 503s among every route's.
order_url=$(awk '$1 == "order" {print $2; exit}' "$tmp/serve.log")
check "the order service counts its storage errors in /metrics" \
  grep -qE '^shopctl_storage_errors_total\{service="order"\} [1-9]' <(curl -s "$order_url/metrics")

# Space again: the shop takes orders without a restart.
rm -f "$mnt/filler"
ok=""
for i in $(seq 1 50); do
  curl -s -o /dev/null -X POST "$gateway/api/cart/items" "${auth[@]}" -d '{"product_id":"p-002","quantity":1}'
  code=$(curl -s -o "$tmp/again.json" -w '%{http_code}' -X POST "$gateway/api/orders" "${auth[@]}" \
    -H "Idempotency-Key: after-$i")
  [[ $code == 201 ]] && { ok=1; break; }
  sleep 0.2
done
check "with space again a checkout is 201, no restart" test -n "$ok"
if [[ -n "$ok" ]]; then
  pay_url=$(jq -r .payment.pay_url "$tmp/again.json")
  paid=$(curl -s -X POST "$pay_url" "${json[@]}" -d '{"card_number":"4242424242424242"}' | jq -r .status)
  check "... and its payment succeeds" test "$paid" = succeeded
fi

# Checkouts that claimed their carts with room on the disk, then met a full disk while they
# waited for the catalog (a delay fault holds them there): their ends could not be stored
# (a release grouped into one commit with writes to the full disk), their claims on the carts
# stayed, and every later checkout of those carts was 409 checkout_in_progress until a restart,
# with space again and fresh keys (an outside probe).
admin=$(awk '$1 == "admin" && $2 == "token" {print $3; exit}' "$tmp/serve.log")
shoppers=()
for n in $(seq 1 16); do
  curl -s -o /dev/null -X POST "$gateway/api/auth/register" "${json[@]}" \
    -d "{\"email\":\"claim$n@shop.test\",\"password\":\"correct-horse-battery\",\"name\":\"C\"}"
  t=$(curl -s -X POST "$gateway/api/auth/login" "${json[@]}" \
    -d "{\"email\":\"claim$n@shop.test\",\"password\":\"correct-horse-battery\"}" | jq -r .access_token)
  shoppers+=("$t")
  curl -s -o /dev/null -X POST "$gateway/api/cart/items" -H "Authorization: Bearer $t" "${json[@]}" \
    -d '{"product_id":"p-004","quantity":1}'
done
curl -s -o /dev/null -X POST "$gateway/_admin/faults" -H "X-Admin-Token: $admin" "${json[@]}" \
  -d '{"id":"slow-catalog","target":"catalog","type":"delay","delay_ms":700,"match":{"method":"GET","path":"/products"}}'
claims=()
for t in "${shoppers[@]}"; do
  curl -s -o /dev/null -X POST "$gateway/api/orders" -H "Authorization: Bearer $t" "${json[@]}" \
    -H "Idempotency-Key: claimed-1" &
  claims+=($!)
done
# Other shoppers' writes meanwhile: the checkouts' ends go to the database in groups with
# them, and a group that cannot be stored takes its releases down with it.
for n in $(seq 1 8); do
  (for _ in $(seq 1 30); do
    curl -s -o /dev/null -X POST "$gateway/api/cart/items" "${auth[@]}" -d '{"product_id":"p-005","quantity":1}'
  done) &
  claims+=($!)
done
sleep 0.3
dd if=/dev/zero of="$mnt/filler" bs=64k status=none 2>/dev/null
wait "${claims[@]}"
rm -f "$mnt/filler"
curl -s -o /dev/null -X DELETE "$gateway/_admin/faults/slow-catalog" -H "X-Admin-Token: $admin"
stuck=0
for t in "${shoppers[@]}"; do
  for i in $(seq 1 25); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway/api/orders" \
      -H "Authorization: Bearer $t" "${json[@]}" -H "Idempotency-Key: after-claim-$i")
    [[ $code == 201 ]] && break
    sleep 0.2
  done
  [[ $code == 201 ]] || stuck=$((stuck + 1))
done
check "checkouts whose ends the full disk refused leave the carts free once space is back ($stuck of 16 stuck; $(grep -c 'checkout claim not released' "$tmp/serve.log") claims not released)" \
  test "$stuck" -eq 0
# A webhook whose delivery cannot be recorded (the disk full again): its stored retry time stays
# the old, due one, and the provider sent it every 100 ms poll, a warn line each (343 lines in
# 5 s; an outside probe). It waits for the time the record would have said.
admin=$(awk '$1 == "admin" && $2 == "token" {print $3; exit}' "$tmp/serve.log")
curl -s -o /dev/null -X POST "$gateway/api/cart/items" "${auth[@]}" -d '{"product_id":"p-003","quantity":1}'
curl -s -o "$tmp/wh.json" -X POST "$gateway/api/orders" "${auth[@]}" -H "Idempotency-Key: webhook-1"
wh_pay=$(jq -r .payment.pay_url "$tmp/wh.json")
curl -s -o /dev/null -X POST "$gateway/_admin/faults" -H "X-Admin-Token: $admin" "${json[@]}" \
  -d '{"id":"no-webhook","target":"gateway","match":{"method":"POST","path":"/api/payments/webhook"},"type":"abort","status":503}'
wh_paid=$(curl -s -X POST "$wh_pay" "${json[@]}" -d '{"card_number":"4242424242424242"}' | jq -r .status)
check "a payment whose webhook is refused still succeeds ($wh_paid)" test "$wh_paid" = succeeded
dd if=/dev/zero of="$mnt/filler" bs=64k status=none 2>/dev/null
before=$(grep -c "webhook not delivered" "$tmp/serve.log")
sleep 3
sent=$(( $(grep -c "webhook not delivered" "$tmp/serve.log") - before ))
check "a webhook whose delivery cannot be recorded is sent on its schedule, not every poll ($sent in 3 s)" \
  test "$sent" -le 4
rm -f "$mnt/filler"
check "the shop is still running" kill -0 "$pid"
# `run` on a full $TMPDIR: a scenario that fails because its shop cannot store anything is the
# shop's error (exit 3, ERROR, naming the disk), not a failed expectation (exit 4: a real
# failure; an outside probe). And below the open files one shop needs, likewise.
mkdir -p "$tmp/tiny"
mount -t tmpfs -o size=600k tmpfs "$tmp/tiny"
TMPDIR="$tmp/tiny" "$shopctl" run "$here/scenarios/flow" --jobs 1 --color never >"$tmp/full-run.log" 2>&1
full_rc=$?
umount "$tmp/tiny"
check "run on a full \$TMPDIR exits 3, naming the disk (exit $full_rc)" \
  bash -c "[[ $full_rc -eq 3 ]] && grep -q 'the disk of the shop.s temporary folder is full' '$tmp/full-run.log' && ! grep -q '^\[[0-9]*/[0-9]*\] FAIL' '$tmp/full-run.log'"
# chaos on a full $TMPDIR: exit 3 naming the disk, not 4 ("the shop lost money"). About 30 s.
mount -t tmpfs -o size=1200k tmpfs "$tmp/tiny"
(cd "$tmp" && TMPDIR="$tmp/tiny" "$shopctl" chaos --duration 5s --seed 7 >"$tmp/full-chaos.log" 2>&1)
chaos_rc=$?
umount "$tmp/tiny"
check "chaos on a full \$TMPDIR exits 3, naming the disk (exit $chaos_rc)" \
  bash -c "[[ $chaos_rc -eq 3 ]] && grep -q 'the disk of the shop.s folder .* is full' '$tmp/full-chaos.log'"
(ulimit -n 64; "$shopctl" run "$here/scenarios/unhappy/parallel-checkouts-one-cart.yaml" --color never >"$tmp/files-run.log" 2>&1)
files_rc=$?
check "run under ulimit -n 64 exits 3, naming the open files (exit $files_rc)" \
  bash -c "[[ $files_rc -eq 3 ]] && grep -q 'ran out of open files (ulimit -n is 64)' '$tmp/files-run.log'"
echo "disk_full: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
