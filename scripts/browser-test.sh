#!/usr/bin/env bash
# The real-browser test of the GraphiQL playground (tests/browser/playground.mjs): Debian's
# Chromium driven by playwright-core against the built todo-api binary in dev auth mode.
# Installs what is missing on a fresh machine (Chromium from Debian's packages, playwright-core
# from the committed package-lock.json; never a browser download), builds the binary if needed
# (in ${CARGO_TARGET_DIR:-target}), then runs the test. The screenshot lands in
# target/browser/playground.png.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "=== installing Debian's chromium (no $CHROMIUM)"
  if [ "$(id -u)" = "0" ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
fi
export CHROMIUM

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node and npm are needed for the browser test" >&2
  exit 1
fi

# playwright-core only (its package never downloads a browser), as the lock file pins it.
want=$(node -p "require('./tests/browser/package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./tests/browser/node_modules/playwright-core/package.json').version } catch { '' }")
if [ "$have" != "$want" ]; then
  echo "=== npm ci (tests/browser: playwright-core $want)"
  (cd tests/browser && npm ci --no-audit --no-fund)
fi

binary="${CARGO_TARGET_DIR:-target}/debug/todo-api"
# cargo decides whether anything changed; this is quick when the binary is up to date.
echo "=== cargo build --bin todo-api"
cargo build --bin todo-api

echo "=== browser test (Chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))"
node tests/browser/playground.mjs "$binary"
