#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bugprone-*, performance-*) over the project's sources, or over
# the files given, or over the files changed since main (--changed). Uses build/'s compile
# commands without the precompiled header flags (a PCH is a build cache, not part of what a
# file means). Exits non-zero when clang-tidy reports a warning.
#   scripts/tidy.sh                    # every .cpp under src/ (about 15 min on 2 cores)
#   scripts/tidy.sh --changed          # the .cpp files changed since main
#   scripts/tidy.sh src/shop/shop.cpp  # these files
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[[ -n "$tidy" ]] || { echo "tidy: clang-tidy is missing (apt-get install clang-tidy-14)" >&2; exit 1; }
[[ -f build/compile_commands.json ]] || ./scripts/build.sh >/dev/null

files=()
if [[ "${1:-}" == "--changed" ]]; then
  mapfile -t files < <(git diff --name-only --diff-filter=d main -- 'src/*.cpp' 'include/*.hpp')
  [[ ${#files[@]} -gt 0 ]] || { echo "tidy: no changed source files"; exit 0; }
elif [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files 'src/*.cpp')
fi

db=$(mktemp -d); trap 'rm -rf "$db"' EXIT
python3 - build/compile_commands.json "$db/compile_commands.json" <<'PY'
import json, shlex, sys
entries = json.load(open(sys.argv[1]))
for e in entries:
    args = shlex.split(e["command"]) if "command" in e else e["arguments"]
    out, skip = [], 0
    for i, a in enumerate(args):
        if skip:
            skip -= 1
            continue
        # -Xclang -include-pch -Xclang F   and   -Xclang -include -Xclang F(.hxx)
        if a == "-Xclang" and i + 1 < len(args) and args[i + 1] in ("-include-pch", "-include"):
            skip = 3
            continue
        if a == "-Winvalid-pch":
            continue
        out.append(a)
    e.pop("command", None)
    e["arguments"] = out
json.dump(entries, open(sys.argv[2], "w"))
PY
jobs=$(nproc)
echo "tidy: ${#files[@]} file(s), $jobs at a time" >&2
status=0
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
  '"$0" -p "$1" --quiet "$2" 2>/dev/null' "$tidy" "$db" {} >"$db/out.txt" || status=1
grep -E "warning:|error:" "$db/out.txt" | sort -u || true
count=$(grep -cE "warning:|error:" "$db/out.txt" || true)
echo "tidy: $count finding(s)"
[[ $count -eq 0 && $status -eq 0 ]]
