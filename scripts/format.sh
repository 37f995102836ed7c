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
  bad=0
  for f in "${files[@]}"; do
    if ! "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "format: $f does not match .clang-format (scripts/format.sh rewrites it)"
      bad=$((bad + 1))
    fi
  done
  echo "format: $(( ${#files[@]} - bad )) passed, $bad failed"
  [[ $bad -eq 0 ]]
else
  "$fmt" -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
fi
