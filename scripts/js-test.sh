#!/usr/bin/env bash
# Builds malhost's JavaScript flavour (wasm-bindgen, for Node and the browser playground) and
# tests it: every golden fixture through Node must give the bytes `malhost replay` gives, and
# the playground must show the alerts of its bundled examples in headless Chromium.
# Installs what it needs: wasm-bindgen-cli (the crate's exact version), Debian's chromium,
# and playwright-core (npm, pinned in js/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
WB_VERSION=0.2.130
rustup target add wasm32-unknown-unknown >/dev/null
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WB_VERSION" ]; then
  echo "js-test: installing wasm-bindgen-cli $WB_VERSION (a few minutes, once)"
  cargo install -q wasm-bindgen-cli --version "$WB_VERSION"
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "js-test: installing Debian's chromium"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
cargo build -q -p malhost-plugin --target wasm32-unknown-unknown --release --features js --locked --target-dir target/js/build
WASM=target/js/build/wasm32-unknown-unknown/release/malhost.wasm
wasm-bindgen --target nodejs --out-dir target/js/node "$WASM"
wasm-bindgen --target web --out-dir web/pkg "$WASM"
(cd js && npm ci --silent --no-audit --no-fund)
node js/test/golden.mjs
node js/test/browser.mjs
node js/test/report.mjs
