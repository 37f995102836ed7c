#!/usr/bin/env bash
# clang-format (Debian's clang-format-14, .clang-format) over the project's C++ sources.
#   scripts/format.sh           # rewrite every file that does not match
#   scripts/format.sh --check   # change nothing; list the files that do not match, exit 1 if any
# CI runs --check (a step of scripts/test.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
fmt=$(command -v clang-format-14 || true)
[[ -n "$fmt" ]] || { echo "format: clang-format-14 is missing (scripts/setup.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp' \
  'examples/*.cpp' 'examples/*.hpp' 'bench/*.cpp' 'bench/*.hpp')
if [[ "${1:-}" == "--check" ]]; then
  # One clang-format for every file (its start-up dominates); it names each mismatch as
  # "FILE:LINE:COL: error: code should be clang-formatted".
  rc=0
  out=$("$fmt" --dry-run --Werror "${files[@]}" 2>&1) || rc=$?
  mapfile -t mismatched < <(sed -nE 's/^(.+):[0-9]+:[0-9]+: (error|warning): code should be clang-formatted.*/\1/p' \
    <<<"$out" | sort -u)
  if [[ $rc -ne 0 && ${#mismatched[@]} -eq 0 ]]; then
    echo "$out" | head -20
    echo "format: 0 passed, 1 failed (clang-format failed with exit $rc)"
    exit 1
  fi
  bad=${#mismatched[@]}
  for f in "${mismatched[@]}"; do
    echo "format: $f does not match .clang-format (scripts/format.sh rewrites it)"
  done
  echo "format: $(( ${#files[@]} - bad )) passed, $bad failed"
  [[ $bad -eq 0 ]]
else
  "$fmt" -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
fi
