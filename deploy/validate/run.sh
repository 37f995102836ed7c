#!/usr/bin/env bash
# Checks deploy/kubernetes/ and the Containerfile offline (validate.mjs; docs/deploy.md, "How the
# manifests are checked"). Installs the pinned npm packages first when node_modules is missing
# or was installed from another package-lock.json; otherwise no npm call at all.
# Usage: deploy/validate/run.sh SHOPCTL_BINARY        (CI: scripts/test.sh)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 SHOPCTL_BINARY" >&2; exit 2; }
binary=$(realpath -e "$1" 2>/dev/null) && [[ -x "$binary" ]] || { echo "run.sh: $1 is not an executable (build it: scripts/build.sh)" >&2; exit 2; }
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
  # No install scripts: the packages are data and JavaScript; nothing needs building.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
exec node validate.mjs --shopctl "$binary"
