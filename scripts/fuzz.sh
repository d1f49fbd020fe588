#!/usr/bin/env bash
# Fuzzes every target in fuzz/ (libFuzzer through libfuzzer-sys) for FUZZ_SECONDS each
# (default 20: the bounded run CI does; give it 3600 for a long run), from corpora seeded with
# the project's fixtures. Built with the coverage flags cargo-fuzz uses without a sanitizer
# (`cargo fuzz build -s none`), plus debug assertions and overflow checks, so the stable
# toolchain builds it and cargo-fuzz need not be installed; fuzz/rustc-wrapper.sh adds them to
# every crate but wasmtime, Cranelift and the CLI-only dependencies (which only slow it down).
# `guest` and `differential` drive the real module (target/wasm32-unknown-unknown/wasm/
# malhost.wasm, or $MALHOST_WASM), which is built first if it is missing.
# FUZZ_TARGETS="guest" runs only the named targets. Extra arguments go to every libFuzzer run
# (e.g. -runs=10000000).
# Prints each target's run count; exits non-zero on a crash, keeping the input in target/fuzz.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-20}
HOST=$(rustc -vV | sed -n 's/^host: //p')
OUT=target/fuzz
TARGETS=${FUZZ_TARGETS:-process configure import guest differential}
if [ -z "${MALHOST_WASM:-}" ]; then
  MALHOST_WASM=$PWD/target/wasm32-unknown-unknown/wasm/malhost.wasm
  if [ ! -f "$MALHOST_WASM" ]; then
    echo "fuzz.sh: building the module ($MALHOST_WASM is missing)"
    env -u RUSTFLAGS -u RUSTC_WRAPPER cargo build -q --locked -p malhost-plugin --target wasm32-unknown-unknown --profile wasm
  fi
fi
export MALHOST_WASM
RUSTC_WRAPPER="$PWD/fuzz/rustc-wrapper.sh" \
  cargo build -q --release --locked --manifest-path fuzz/Cargo.toml --target "$HOST" --target-dir "$OUT/build"
BIN="$OUT/build/$HOST/release"

# Seed corpora from the fixtures (copied, so the fuzzer's additions stay out of the tree).
mkdir -p "$OUT/corpus/process" "$OUT/corpus/configure" "$OUT/corpus/import" "$OUT/corpus/guest" "$OUT/corpus/differential"
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
# guest and differential read a program (fuzz/fuzz_targets/common/mod.rs): a byte picking one
# of the fixed configs, a batch, then operations each after "\n~" and a letter (p batch,
# c config bytes, C fixed config, k checkpoint, s snapshot edits + restore, r recover,
# R replay options + stream, f flush). Seeds, within the 1 KiB they run with: each fixture's
# input under one of the configs, as one batch and as a program using every operation, and
# each fixture's config applied to its input.
i=0
for f in host-test/fixtures/*/input.jsonl; do
  n=$(basename "$(dirname "$f")")
  c=${f%input.jsonl}config.json
  for t in guest differential; do
    { printf "\\$(printf %03o $((i % 12)))"; head -c 1000 "$f"; } > "$OUT/corpus/$t/$n-batch"
    { printf "\\$(printf %03o $(((i + 5) % 12)))"; head -c 300 "$f"; printf '\n~k\n~s\n~p'; head -c 200 "$f"
      printf '\n~r\n~s\001\000x\n~R\003'; head -c 300 "$f"; printf '\n~C\002\n~f'; } > "$OUT/corpus/$t/$n-program"
    { printf '\000\n~c'; head -c 700 "$c"; printf '\n~p'; head -c 300 "$f"; } > "$OUT/corpus/$t/$n-config"
  done
  i=$((i + 1))
done

status=0
# The inputs that once found bugs run first, each once (libFuzzer runs the files it is given).
if [[ " $TARGETS " == *" guest "* ]]; then
  if "$BIN/guest" -runs=1 fuzz/repro/recover-* >"$OUT/guest-repro.log" 2>&1; then
    echo "fuzz guest: the reproducers in fuzz/repro pass"
  else
    echo "fuzz guest: a reproducer in fuzz/repro FAILED"; tail -30 "$OUT/guest-repro.log"; status=1
  fi
fi
for t in $TARGETS; do
  log="$OUT/$t.log"
  # The module's targets run a program per input: 1 KiB keeps them at thousands per second.
  case $t in guest|differential) len=-max_len=1024 ;; *) len=-max_len=4096 ;; esac
  if "$BIN/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=60 "$len" -artifact_prefix="$OUT/$t-" "$@" "$OUT/corpus/$t" >"$log" 2>&1; then
    echo "fuzz $t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -1), no failure"
  else
    echo "fuzz $t: FAILED (inputs in $OUT/$t-*)"; tail -30 "$log"; status=1
  fi
done
exit $status
