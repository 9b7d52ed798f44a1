#!/usr/bin/env bash
# The README's first command: set up everything, then show a full canary rollout and a rollback.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec npx tsx scripts/demo.ts "$@"
