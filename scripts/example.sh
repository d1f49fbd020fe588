#!/usr/bin/env bash
# Replays the bundled example firewall log through the detector module and prints the
# events (enriched where a rule matched) and the alerts, as JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown
cargo build --locked -p malhost-plugin --target wasm32-unknown-unknown --profile wasm
cargo run --locked -q -p malhost-host -- replay --config examples/config.json examples/firewall.jsonl
