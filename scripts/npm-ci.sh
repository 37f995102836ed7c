#!/usr/bin/env bash
# `npm ci` in DIR only when it is needed: node_modules missing, or package-lock.json changed
# since the last install (its hash is kept in node_modules), so a half-done install or a bumped
# package installs again and a warm run makes no npm call. Install scripts are off unless
# --scripts is given (the project's packages are JavaScript; nothing needs building).
#   scripts/npm-ci.sh DIR [--scripts]
set -euo pipefail
dir=$1
scripts=(--ignore-scripts)
[[ "${2:-}" == "--scripts" ]] && scripts=()
command -v node >/dev/null && command -v npm >/dev/null || { echo "npm-ci: needs Node.js 20+ and npm" >&2; exit 2; }
[[ $(node -p 'process.versions.node.split(".")[0]') -ge 20 ]] || { echo "npm-ci: needs Node.js 20+, found $(node --version)" >&2; exit 2; }
stamp="$dir/node_modules/.shopctl-lock.sha256"
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "npm-ci: npm ci in $dir (package-lock.json changed or node_modules missing)" >&2
  (cd "$dir" && nice -n 19 npm ci "${scripts[@]}" --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi
