#!/usr/bin/env bash
# The README's test command (`npm test`) runs this: system peers, lint/format, type check, the builds
# (the dock the engine serves, the `telemy` bundle the end-to-end tests run), then every test (unit in
# parallel, real-peer integration one file at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npx biome check .
npx tsc -p tsconfig.json --noEmit
npm run build --silent
npx vitest run "$@"
