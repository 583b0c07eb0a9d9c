#!/usr/bin/env bash
# `npm start`: install what is missing, then run the whole thing (scripts/start.ts).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
exec node --import tsx scripts/start.ts "$@"
