//! The module (through `malhost_host::runtime::Guest`, generous limits) against the native
//! core (`malhost::abi::core::CoreAbi`, the code the module's exports run), batch after batch
//! on one instance each, state carried: the same config (every fixed config names
//! `hash_seed`, so both hash alike; fuzzed configs get one too), the same batches, the same
//! snapshot edits must give byte-identical output, the same verdict on each config and
//! snapshot, the same counters and the same snapshots.
//!
//! The clock: the Guest gives the module the wall clock before each batch. The module names it
//! in the field error of every event too far ahead ("… ahead of the host's clock (T)"), so the
//! native side takes T from there when the module wrote one; otherwise the clock read after the
//! batch, which is no earlier than the module's, so that the native side finds no event too far
//! ahead that the module did not (the clock only moves on). Only when neither settles the
//! clock exactly (no such message, and the batch straddled a millisecond) is a difference, then
//! or later in the program, not taken as a bug: the program ends there.
#![no_main]

mod common;

use std::cell::RefCell;
use std::time::Duration;

use common::*;
use libfuzzer_sys::fuzz_target;
use malhost::abi::core::CoreAbi;
use malhost_host::runtime::{Guest, GuestFailure, Limits};

const FRESH_EVERY: u64 = 20_000;
const LIMITS: Limits = Limits { max_memory_bytes: 512 << 20, call_timeout: Some(Duration::from_secs(20)) };
const CLOCK_MARK: &[u8] = b"ahead of the host's clock (";

#[derive(Default)]
struct State {
    guest: Option<Guest>,
    inputs: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| run(&mut s.borrow_mut(), data));
});

fn fail(what: &str, f: GuestFailure) -> ! {
    panic!("{what}: the module failed under generous limits: {f}")
}

/// The result of a native configure/restore call: `Ok` or the message.
fn verdict(json: &[u8]) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_slice(json).expect("native result is JSON");
    if v["ok"] == serde_json::Value::Bool(true) { Ok(()) } else { Err(v["error"]["message"].as_str().unwrap_or("").to_string()) }
}

/// The native output of a framed call, without the header.
fn body(framed: &[u8]) -> &[u8] {
    let n = u32::from_le_bytes(framed[..4].try_into().unwrap()) as usize;
    &framed[4 * (n + 1)..]
}

/// The clock the module used, when its output names one in [t0, t1].
fn named_clock(out: &[u8], t0: i64, t1: i64) -> Option<i64> {
    memchr::memmem::find(out, CLOCK_MARK)?;
    if t1 - t0 > 5_000 {
        return None;
    }
    let found: Vec<i64> = (t0..=t1)
        .filter(|&t| {
            let mark = [CLOCK_MARK, malhost::event::time::format_ms(t).as_bytes(), b")"].concat();
            memchr::memmem::find(out, &mark).is_some()
        })
        .collect();
    match found[..] {
        [t] => Some(t),
        _ => None,
    }
}

fn run(st: &mut State, data: &[u8]) {
    st.inputs += 1;
    if st.inputs % FRESH_EVERY == 0 {
        st.guest = None;
    }
    let (first, ops) = decode(data);
    let cfgs = configs();
    let cfg = &cfgs[first % cfgs.len()];
    let g = st.guest.get_or_insert_with(|| {
        Guest::new(runtime(), LIMITS).unwrap_or_else(|e| panic!("cannot instantiate the module: {e:#}"))
    });
    let mut native = CoreAbi::default();
    native.set_host_seed(0x5eed);
    verdict(native.configure(cfg)).expect("fixed config");
    // The guest starts from the same empty state and counters: the native side's snapshot.
    let empty = native.snapshot().to_vec();
    match g.configure(cfg) {
        Ok(Ok(())) => {}
        r => panic!("configuring the guest failed: {r:?}"),
    }
    match g.restore(&empty) {
        Ok(Ok(())) => {}
        r => panic!("the guest refused the native core's empty snapshot: {r:?}"),
    }

    // Set once a batch ran while the module's clock is not known to the millisecond: a
    // difference from then on (in output, counters or state) may be the clock's.
    let mut uncertain = false;
    for op in &ops {
        match *op {
            Op::Process(batch) | Op::Replay(batch) => {
                let t0 = now_ms();
                let out = g.process(batch).unwrap_or_else(|f| fail(&format!("process of {:?}", String::from_utf8_lossy(batch)), f));
                let t1 = now_ms();
                let clock = named_clock(&out, t0, t1);
                native.set_clock(clock.unwrap_or(t1));
                let theirs = body(native.process_framed(batch));
                uncertain |= clock.is_none() && t0 != t1;
                if out != theirs {
                    if uncertain {
                        return;
                    }
                    panic!(
                        "module and native core differ on batch {:?} (clock {:?}, {t0}..{t1})\n--- module ---\n{}\n--- native ---\n{}",
                        String::from_utf8_lossy(batch),
                        clock,
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(theirs)
                    );
                }
                let recs = records(batch);
                check("differential process", batch, &recs, &out);
            }
            Op::ConfigureFixed(i) => {
                let c = &cfgs[i % cfgs.len()];
                assert_eq!(g.configure(c).unwrap_or_else(|f| fail("configure", f)), Ok(()));
                verdict(native.configure(c)).expect("fixed config");
            }
            Op::Configure(bytes) => {
                // With a seed of its own, so that both sides hash alike when it is accepted.
                let Some(c) = with_seed(bytes) else {
                    let theirs = verdict(native.configure(bytes));
                    let ours = g.configure(bytes).unwrap_or_else(|f| fail("configure", f));
                    assert_eq!(ours.is_ok(), theirs.is_ok(), "module {ours:?}, native {theirs:?}");
                    if ours.is_ok() {
                        // Accepted without a seed: the two sides' seeds differ from here on.
                        return;
                    }
                    continue;
                };
                let theirs = verdict(native.configure(&c));
                let ours = g.configure(&c).unwrap_or_else(|f| fail("configure", f));
                assert_eq!(ours.is_ok(), theirs.is_ok(), "config {:?}: module {ours:?}, native {theirs:?}", String::from_utf8_lossy(&c));
            }
            Op::SnapshotRestore(edits) => {
                let ours = g.snapshot().unwrap_or_else(|f| fail("snapshot", f));
                let theirs = native.snapshot().to_vec();
                if ours != theirs && uncertain {
                    return;
                }
                assert!(
                    ours == theirs,
                    "snapshots differ\n--- module ---\n{}\n--- native ---\n{}",
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs)
                );
                let mut doc = ours;
                mutate(&mut doc, edits);
                let r1 = g.restore(&doc).unwrap_or_else(|f| fail(&format!("restore of {:?}", String::from_utf8_lossy(&doc)), f));
                let r2 = verdict(native.restore(&doc));
                assert_eq!(r1.is_ok(), r2.is_ok(), "restore of {:?}: module {r1:?}, native {r2:?}", String::from_utf8_lossy(&doc));
            }
            Op::Checkpoint | Op::Recover | Op::Flush => {
                let ours = g.stats().unwrap_or_else(|f| fail("stats", f));
                let theirs: serde_json::Value = serde_json::from_slice(native.stats()).unwrap();
                if ours != theirs && uncertain {
                    return;
                }
                assert_eq!(ours, theirs, "counters differ");
                let tail = g.flush().unwrap_or_else(|f| fail("flush", f));
                assert_eq!(tail, native.flush(), "flush differs");
            }
        }
    }
}
