#!/usr/bin/env bash
# The README's test command (`npm test`) runs this: system peers, lint/format, type check, every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npx biome check .
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
