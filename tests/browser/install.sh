#!/usr/bin/env bash
# What the collector's browser test needs and a fresh machine lacks: Debian's
# Chromium (and its driver), and the pinned npm packages (analytics.js and
# playwright-core) from package-lock.json. Idempotent: a second run is quick.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    echo "installing Debian's chromium and chromium-driver"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "npm is missing: install Node.js 18+ (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
stamp="$here/node_modules/.omni-installed"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
    echo "installing the browser test's npm packages (package-lock.json)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
fi
