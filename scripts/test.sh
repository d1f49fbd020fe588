#!/usr/bin/env bash
# Runs every test: installs the wasm targets, builds the modules that the host tests load, runs
# the unit, golden, acceptance, ABI, property, import and schema tests of the workspace, then
# the JavaScript build's tests (Node on the golden fixtures, the playground in headless
# Chromium; scripts/js-test.sh installs wasm-bindgen-cli, chromium and playwright-core), and
# a short fuzz run of every fuzz target (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown wasm32-wasip1
cargo build --locked -p malhost-plugin --target wasm32-unknown-unknown --profile wasm
# The WASI flavour for Fluent Bit (reads malhost.json from Accessible_Paths).
cargo build --locked -p malhost-plugin --target wasm32-wasip1 --profile wasm
cargo test --locked --workspace
bash scripts/js-test.sh
# A bounded fuzz run of every fuzz target (20 s each; FUZZ_SECONDS=3600 for a long run).
bash scripts/fuzz.sh
