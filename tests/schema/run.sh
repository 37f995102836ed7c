#!/usr/bin/env bash
# Keeps docs/scenario.schema.json in sync with the scenario parser (check.mjs; docs/scenarios.md,
# "Editors: the JSON Schema"). Installs the pinned npm packages (ajv, yaml) first when
# node_modules is missing or was installed from another package-lock.json; otherwise no npm
# call at all. With a shopctl binary, the broken and valid cases are also given to
# `shopctl validate`, which must judge them as the schema does.
# Usage: tests/schema/run.sh [SHOPCTL_BINARY]        (CI: scripts/test.sh)
set -euo pipefail
[[ $# -le 1 ]] || { echo "usage: $0 [SHOPCTL_BINARY]" >&2; exit 2; }
args=()
if [[ $# -eq 1 ]]; then
  binary=$(realpath -e "$1" 2>/dev/null) && [[ -x "$binary" ]] || { echo "run.sh: $1 is not an executable (build it: scripts/build.sh)" >&2; exit 2; }
  args=(--shopctl "$binary")
fi
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then echo "run.sh: needs Node.js 20+ and npm" >&2; exit 2; fi
[[ $(node -p 'process.versions.node.split(".")[0]') -ge 20 ]] || { echo "run.sh: needs Node.js 20+, found $(node --version)" >&2; exit 2; }

# The lock file's hash, kept in node_modules when it was installed: a different lock file (a
# package bumped) or a half-done install (no stamp) installs again.
stamp=node_modules/.shopctl-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || $(cat "$stamp") != "$want" ]]; then
  echo "run.sh: npm ci (package-lock.json changed or node_modules missing)" >&2
  # No install scripts: the packages are JavaScript; nothing needs building.
  nice -n 19 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
exec node check.mjs "${args[@]}"
