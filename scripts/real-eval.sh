#!/usr/bin/env bash
# Learned lists on real captures (optional: needs ../shared/data, see its README).
#
# Imports the Stratosphere malware captures (one sample per capture: two Argus binetflows and
# six Zeek scenarios) and the normal captures (three Argus binetflows of normal hosts and the
# four benign Zeek hosts 008/010/011/012, one host per capture), then runs leave-one-out
# cross-validation (folds = the larger of the two counts) and trains lists on everything to
# compare the learned values with the maltrail trails. Writes out/real/ and prints the report.
#
#   bash scripts/real-eval.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
if [ ! -d "$DATA/stratosphere" ]; then
  echo "real-eval: $DATA/stratosphere not found; skipped (it is optional)" >&2
  exit 0
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --release -q -p malhost-host
M=target/release/malhost
OUT=out/real
rm -rf "$OUT"
. scripts/real-import.sh

wc -l "$OUT"/malware/*.jsonl "$OUT"/normal/*.jsonl | sed 's|out/real/||' >"$OUT/inputs.txt"
folds=$(( $(ls "$OUT/malware" | wc -l) > $(ls "$OUT/normal" | wc -l) ? $(ls "$OUT/malware" | wc -l) : $(ls "$OUT/normal" | wc -l) ))
"$M" evaluate --sample-per-file --host-per-file --malware "$OUT/malware" --normal "$OUT/normal" \
  --folds "$folds" --target-fpr 0 --json "$OUT/evaluation.json" | tee "$OUT/evaluation.txt"
"$M" train --sample-per-file --malware "$OUT/malware" --normal "$OUT/normal" -o "$OUT/lists.json" 2>"$OUT/train.log"
cat "$OUT/train.log"

# Learned values that maltrail lists (an independent source of truth), per family file.
if command -v python3 >/dev/null; then
  python3 - "$OUT/lists.json" "$DATA/intel/maltrail" <<'PY' | tee "$OUT/maltrail.txt"
import json, sys, os, re
doc = json.load(open(sys.argv[1]))
trails = {}
for name in sorted(os.listdir(sys.argv[2])):
    if name.endswith(".txt"):
        for line in open(os.path.join(sys.argv[2], name), errors="replace"):
            line = line.split("#")[0].strip().lower()
            if line:
                trails.setdefault(line, set()).add(name[:-4])
def families(value):
    v = value.lower()
    keys = {v}
    m = re.match(r"^[a-z]+://([^/:]+)(:\d+)?", v)
    if m:
        keys.add(m.group(1))
        keys.add(m.group(1) + (m.group(2) or ""))
    return sorted(set().union(*(trails.get(k, set()) for k in keys)))
for f in doc["fields"]:
    vals = f["values"]
    hits = [(v["value"], families(v["value"])) for v in vals]
    known = [(v, fam) for v, fam in hits if fam]
    print(f'{f["field"]}: {len(vals)} listed, {len(known)} in maltrail' + (": " + ", ".join(f"{v} ({'/'.join(fam)})" for v, fam in known[:12]) if known else ""))
PY
fi
