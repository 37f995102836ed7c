#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (npm @redocly/cli, pinned by package-lock.json) and
# its recommended ruleset (redocly.yaml): errors fail, warnings are printed. Installs the
# package first when node_modules is missing or was installed from another package-lock.json;
# otherwise no npm call at all. Redocly runs offline: telemetry and update checks are off.
# Prints "openapi: N passed, M failed" for scripts/test.sh to add up.
# Usage: tests/openapi/run.sh [DESCRIPTION]      (default docs/openapi.yaml)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
description=$(realpath "${1:-$root/docs/openapi.yaml}")

fail_setup() { echo "FAIL: $1"; echo "openapi: 0 passed, 1 failed"; exit 1; }
"$root/scripts/npm-ci.sh" "$here" || fail_setup "npm ci in tests/openapi"

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
cd "$here"
"$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" "$description" 2>&1 |
  grep -v '[║╔╚]'
rc=${PIPESTATUS[0]}
if [[ $rc -eq 0 ]]; then
  echo "openapi: 1 passed, 0 failed"
else
  echo "FAIL: Redocly found errors in $description"
  echo "openapi: 0 passed, 1 failed"
fi
[[ $rc -eq 0 ]]
