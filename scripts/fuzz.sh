#!/usr/bin/env bash
# Fuzzes every target in fuzz/ (libFuzzer through libfuzzer-sys) for FUZZ_SECONDS each
# (default 20: the bounded run CI does; give it 3600 for a long run), from corpora seeded with
# the project's fixtures. Built with the coverage flags cargo-fuzz uses without a sanitizer
# (`cargo fuzz build -s none`), plus debug assertions and overflow checks, so the stable
# toolchain builds it and cargo-fuzz need not be installed.
# Prints each target's run count; exits non-zero on a crash, keeping the input in target/fuzz.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-20}
HOST=$(rustc -vV | sed -n 's/^host: //p')
OUT=target/fuzz
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build -q --release --locked --manifest-path fuzz/Cargo.toml --target "$HOST" --target-dir "$OUT/build"
BIN="$OUT/build/$HOST/release"

# Seed corpora from the fixtures (copied, so the fuzzer's additions stay out of the tree).
mkdir -p "$OUT/corpus/process" "$OUT/corpus/configure" "$OUT/corpus/import"
for f in host-test/fixtures/*/input.jsonl examples/*.jsonl; do cp "$f" "$OUT/corpus/process/$(echo "$f" | tr / _)"; done
for f in host-test/fixtures/*/config.json examples/*config*.json; do cp "$f" "$OUT/corpus/configure/$(echo "$f" | tr / _)"; done
# The import target reads the format from the first byte (0 zeek … 5 argus, 6 eml).
pick() { case "$1" in zeek*) echo 000 ;; squid*) echo 001 ;; asa*) echo 002 ;; iptables*) echo 003 ;; windows_firewall*) echo 004 ;; argus*) echo 005 ;; *) echo "fuzz.sh: no import format for fixture dir $1" >&2; exit 1 ;; esac; }
for dir in host-test/import-fixtures/*/; do
  fmt=$(basename "$dir")
  code=$(pick "$fmt")
  for f in "$dir"*; do
    case "$f" in *expected.jsonl|*options.json) continue ;; esac
    { printf "\\$code"; cat "$f"; } > "$OUT/corpus/import/$fmt-$(basename "$f")"
  done
done
for f in examples/mail/*.eml; do { printf '\006'; cat "$f"; } > "$OUT/corpus/import/eml-$(basename "$f")"; done

status=0
for t in process configure import; do
  log="$OUT/$t.log"
  if "$BIN/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -artifact_prefix="$OUT/$t-" "$OUT/corpus/$t" >"$log" 2>&1; then
    echo "fuzz $t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -1), no failure"
  else
    echo "fuzz $t: FAILED (inputs in $OUT/$t-*)"; tail -30 "$log"; status=1
  fi
done
exit $status
