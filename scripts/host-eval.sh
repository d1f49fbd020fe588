#!/usr/bin/env bash
# Host verdicts on real captures (optional: needs ../shared/data, see its README).
#
# Imports the Stratosphere malware and normal captures (scripts/real-import.sh), replays each
# through the module with scripts/host-eval.config.json (the captures' networks as internal,
# CTU's 147.32.0.0/16 among them) and the maltrail trails as indicator lists (--intel, when
# the CLI has it), and prints per capture the host `malhost report` ranks first: its level,
# score and rules. A malware capture should name its host at level high or above; a normal
# capture no host above low. Writes out/hosts/ (per capture: the replay output and report).
#
#   bash scripts/host-eval.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
if [ ! -d "$DATA/stratosphere" ]; then
  echo "host-eval: $DATA/stratosphere not found; skipped (it is optional)" >&2
  exit 0
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --locked --release -q -p malhost-host
cargo build --locked -q -p malhost-plugin --target wasm32-unknown-unknown --profile wasm
M=target/release/malhost
OUT=out/hosts
rm -rf "$OUT"
. scripts/real-import.sh
INTEL=()
if "$M" replay --help | grep -q -- '--intel'; then INTEL=(--intel "$DATA/intel/maltrail"); fi

printf '| capture | truth | hosts with a level | top host | level | score | its rules |\n|---|---|---|---|---|---|---|\n' >"$OUT/table.md"
for kind in malware normal; do
  for f in "$OUT/$kind"/*.jsonl; do
    name=$(basename "${f%.jsonl}")
    "$M" replay -q --config scripts/host-eval.config.json "${INTEL[@]}" -o "$OUT/$name.out.jsonl" "$f" || true
    "$M" report --top 0 --format json "$OUT/$name.out.jsonl" >"$OUT/$name.report.json"
    "$M" report --top 5 "$OUT/$name.out.jsonl" >"$OUT/$name.report.txt"
    python3 - "$OUT/$name.report.json" "$name" "$kind" >>"$OUT/table.md" <<'PY'
import json, sys
hosts = json.load(open(sys.argv[1]))
levelled = [h for h in hosts if h["level"]]
top = hosts[0] if hosts else None
rules = ", ".join(f"{r} {n}" for r, n in sorted(top["rules"].items(), key=lambda x: -x[1])) if top else ""
cell = lambda v: "—" if v is None else str(v)
print(f"| {sys.argv[2]} | {sys.argv[3]} | {len(levelled)} | {cell(top and top['host'])} | {cell(top and top['level'])} | {cell(top and top['score'])} | {rules or '—'} |")
PY
  done
done
cat "$OUT/table.md"
