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

"$here/../../scripts/npm-ci.sh" "$here"
exec node validate.mjs --shopctl "$binary"
