#!/usr/bin/env bash
# RUSTC_WRAPPER for scripts/fuzz.sh: adds the coverage instrumentation cargo-fuzz uses
# (`cargo fuzz build -s none`), debug assertions and overflow checks to the crates the fuzzer
# learns from (the detector and its dependencies, the host code, the targets), but not to
# wasmtime and Cranelift, nor to the CLI-only dependencies: they compile the module once per
# process and would only slow down the build and every call, and feed the fuzzer coverage of
# the JIT instead of the detector; nor to serde_json and fuzz/oracle, which check the output
# (instrumented, that check cost several times the module's own work; the detector's config and
# event types, with their field names, are still instrumented). Build scripts and proc macros
# (no --target) are left alone. Cargo does not see this file: after changing it, run
# `cargo clean --manifest-path fuzz/Cargo.toml --target-dir target/fuzz/build -p <crate>`.
rustc=$1; shift
name=; target=
prev=
for a in "$@"; do
  case "$prev" in --crate-name) name=$a ;; --target) target=$a ;; esac
  prev=$a
done
if [ -n "$target" ]; then
  case "$name" in
    wasmtime*|cranelift*|regalloc2|wasmparser|wasm_encoder|pulley*|gimli|object|target_lexicon|mach2|rustix|linux_raw_sys|libm|\
    plotters*|ab_glyph*|owned_ttf_parser|ttf_parser|image|png|fdeflate|flate2|miniz_oxide|crc32fast|simd_adler32|\
    clap*|indicatif|console|unicode_width|portable_atomic|ctrlc|nix|sha2|digest|block_buffer|crypto_common|generic_array|\
    proptest|rand*|fastrand|serde_json|malhost_fuzz_oracle)
      exec "$rustc" "$@" --cfg fuzzing ;;
    *)
      exec "$rustc" "$@" --cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks ;;
  esac
fi
exec "$rustc" "$@"
