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

"$here/../../scripts/npm-ci.sh" "$here"
exec node check.mjs "${args[@]}"
