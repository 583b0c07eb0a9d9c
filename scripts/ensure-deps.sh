#!/usr/bin/env bash
# Installs the npm packages when node_modules is missing or older than the lock file,
# so `npm start` and `npm test` work on a fresh clone. Sourced by both.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund || exit 1
fi
