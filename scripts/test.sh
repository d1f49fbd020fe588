#!/usr/bin/env bash
# Runs every test of the workspace: installs the wasm target, builds the module that the
# host tests load, then runs the unit, golden, acceptance, ABI, property and schema tests.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown
cargo build --locked -p malhost-plugin --target wasm32-unknown-unknown --profile wasm
cargo test --locked --workspace
