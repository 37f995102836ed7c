#!/usr/bin/env bash
# Runs a doctest binary as N processes at once, each on its own share of the test cases, and
# prints one summary line for all of them (docs/testing.md, "The doctest binary in shards").
# Usage: scripts/doctest-shards.sh SHARDS BINARY [doctest options...]
#
# Why: the integration tests spend most of their time waiting (timeouts, expiries, retries on
# real sockets): the plain binary runs 43 s on 5 s of CPU. Every test case makes its own shop
# on ephemeral ports in its own temporary folder, so cases run side by side safely.
#
# How: doctest has no sharding of its own, but it runs a range of the cases that pass its
# filters (--first/--last, counted from 1) in a fixed order (--order-by=name, which mixes the
# files, so no shard gets all the slow cases of one file). Its per-process summary counts every
# case that passed the filters, run or not, so this script prints its own, in doctest's form:
# "[doctest] test cases: N | P passed | F failed", which scripts/test.sh adds up.
set -uo pipefail
shards=${1:?usage: doctest-shards.sh SHARDS BINARY [doctest options...]}
binary=${2:?usage: doctest-shards.sh SHARDS BINARY [doctest options...]}
shift 2
total=$("$binary" --count --no-intro=true "$@" | sed -nE 's/.*passing the current filters: *([0-9]+).*/\1/p')
if ! [[ "$total" =~ ^[0-9]+$ ]]; then
  echo "doctest-shards: $binary --count gave no count" >&2
  echo "[doctest] test cases: 1 | 0 passed | 1 failed"
  exit 1
fi
(( shards > total )) && shards=$((total > 0 ? total : 1))
logs=$(mktemp -d); trap 'rm -rf "$logs"' EXIT
pids=()
for ((i = 0; i < shards; i++)); do
  first=$((i * total / shards + 1)); last=$(((i + 1) * total / shards))
  "$binary" --order-by=rand --rand-seed=7 --first=$first --last=$last --no-intro=true "$@" >"$logs/$i" 2>&1 &
  pids+=($!)
done
failed=0; crashed=0
for ((i = 0; i < shards; i++)); do
  wait "${pids[$i]}"; rc=$?
  first=$((i * total / shards + 1)); last=$(((i + 1) * total / shards))
  echo "--- shard $((i + 1)) of $shards: cases $first-$last of $total (exit $rc)"
  # The shard's own "test cases:" line counts the cases it skipped as passed; drop it.
  grep -v '^\[doctest\] test cases:' "$logs/$i"
  f=$(sed -nE 's/^\[doctest\] test cases: *[0-9]+ *\| *[0-9]+ passed *\| *([0-9]+) failed.*/\1/p' "$logs/$i" | tail -n 1)
  if [[ -z "$f" ]]; then
    # No summary: the shard died (a sanitizer report, a signal). Its cases count as one failure.
    crashed=$((crashed + 1)); f=1
  elif [[ $rc -ne 0 && $f -eq 0 ]]; then
    f=1
  fi
  failed=$((failed + f))
done
echo "[doctest] test cases: $total | $((total - failed > 0 ? total - failed : 0)) passed | $failed failed"
(( crashed > 0 )) && echo "doctest-shards: $crashed shard(s) ended without a summary" >&2
[[ $failed -eq 0 ]]
