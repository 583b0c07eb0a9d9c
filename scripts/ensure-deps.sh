#!/usr/bin/env bash
# Installs the npm packages when node_modules is missing or older than the lock file,
# so `npm start` and `npm test` work on a fresh clone. Sourced by both. First puts Node 24
# on PATH (scripts/node.sh: fetched into .cache/node when the machine's Node is older).
source scripts/node.sh || exit 1
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund || exit 1
fi
