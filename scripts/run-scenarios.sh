#!/usr/bin/env bash
# The main job: installs what is missing, builds shopctl and runs the scenario suite on the
# embedded default shop. Extra arguments go to `shopctl run` (e.g. --jobs 1, --junit r.xml).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh" >&2
cd "$here"
exec ./build/shopctl run scenarios/ "$@"
