#!/usr/bin/env bash
# Replays the bundled example firewall log through the detector module, prints the events
# (enriched where a rule matched) and the alerts as JSON lines, then the hosts ranked by risk
# (`malhost report`).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown
cargo build --locked -p malhost-plugin --target wasm32-unknown-unknown --profile wasm
mkdir -p target/example
cargo run --locked -q -p malhost-host -- replay --config examples/config.json -o target/example/out.jsonl examples/firewall.jsonl
cat target/example/out.jsonl
echo
cargo run --locked -q -p malhost-host -- report target/example/out.jsonl
