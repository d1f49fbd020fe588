//! The real module through the CLI's host code (wasmtime, `malhost_host::runtime::Guest`,
//! `malhost_host::replay`), with the output contract as the oracle.
//!
//! An input is a small program (see `common::decode`): configure (a fixed config or fuzzed
//! bytes), process a batch, checkpoint, snapshot + restore of a possibly edited snapshot,
//! recover, and replay a stream under tight memory and time limits. Checked:
//! - every output line is JSON, and the lines answer every non-blank input line
//!   (`malhost::event::framing`) exactly once, in order, each followed by its alerts; an error
//!   record holds its line;
//! - no call into the module fails under generous limits (a trap, a broken contract, a bad
//!   result), in particular none after a restore it accepted; running out of memory or time is
//!   legitimate and only makes the guest recover;
//! - a config the module accepts is one the native core accepts; a rejected one changes
//!   nothing (same state, same output for a probe batch as under the config before);
//! - a recovery that says it is complete holds the state the instance had (same snapshot);
//! - replay under 8–32 MiB and a 200 ms call limit, checkpointing after every batch, answers
//!   every line once, and its summary is degraded whenever it wrote a `malhost.guest_*` error
//!   record.
//! One compiled module serves the process; the guests are reused (their state reset at the
//! start of each input) and re-created after a failure or every `FRESH_EVERY` inputs.
#![no_main]

mod common;

use std::cell::RefCell;
use std::time::Duration;

use common::*;
use libfuzzer_sys::fuzz_target;
use malhost_host::replay::{Input, ReplayOptions, read_line_limited, replay};
use malhost_host::runtime::{Guest, GuestFailure, Limits, Recovery};

const FRESH_EVERY: u64 = 20_000;
const MAIN: Limits = Limits { max_memory_bytes: 256 << 20, call_timeout: Some(Duration::from_secs(10)) };
const TIGHT_MIB: [usize; 3] = [8, 16, 32];

/// Events for every rule family, to tell configs apart by their output.
const PROBE: &[u8] = br#"{"@timestamp":"2024-05-01T10:00:00Z","event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.9","destination.port":445,"network.transport":"tcp"}
{"@timestamp":"2024-05-01T10:00:01Z","event.action":"deny","source.ip":"10.0.0.5","destination.ip":"203.0.113.9","destination.port":445,"network.transport":"tcp"}
{"@timestamp":"2024-05-01T10:00:02Z","event.action":"allow","source.ip":"10.0.0.6","destination.ip":"198.51.100.7","destination.port":443,"network.transport":"tcp"}
{"@timestamp":"2024-05-01T10:00:03Z","source.ip":"10.0.0.7","url.full":"http://dl.example.net/payload.exe","http.request.method":"GET","user_agent.original":"curl/8.0","destination.port":80}
"#;

#[derive(Default)]
struct State {
    main: Option<Guest>,
    /// The config each guest last accepted from `reset` (empty: unknown).
    main_cfg: Vec<u8>,
    tight: [Option<Guest>; 3],
    tight_cfg: [Vec<u8>; 3],
    inputs: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn legit(f: &GuestFailure) -> bool {
    matches!(f, GuestFailure::MemoryLimit(_) | GuestFailure::OutOfMemory(_) | GuestFailure::Timeout(_))
}

/// The empty state under hash seed 7 (every fixed config's).
fn empty_state() -> &'static [u8] {
    static DOC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut g = new_guest(MAIN);
        assert_eq!(g.configure(&configs()[1]).unwrap(), Ok(()));
        g.snapshot().unwrap()
    })
}

/// Empties the guest's state, applies `cfg` and checkpoints (so that a recovery starts here).
/// Quick when the config in force has seed 7: restoring the empty state is all it takes (and
/// makes it the checkpoint), then `cfg` if it is another config.
fn reset(g: &mut Guest, in_force: &mut Vec<u8>, cfg: &[u8]) -> Result<(), String> {
    if matches!(g.restore(empty_state()), Ok(Ok(()))) {
        if in_force != cfg {
            match g.configure(cfg) {
                Ok(Ok(())) => *in_force = cfg.to_vec(),
                r => return Err(format!("config {:?} not applied: {r:?}", String::from_utf8_lossy(cfg))),
            }
        }
        return Ok(());
    }
    in_force.clear();
    for c in [RESET_A, RESET_B, cfg] {
        match g.configure(c) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("config {:?} rejected: {e}", String::from_utf8_lossy(c))),
            Err(f) => return Err(format!("configure failed: {f}")),
        }
    }
    *in_force = cfg.to_vec();
    g.checkpoint().map_err(|f| format!("checkpoint failed: {f}"))
}

fn bug(what: &str, f: &GuestFailure, restored: bool) -> ! {
    let after = if restored { " after the guest accepted a restore" } else { "" };
    panic!("{what} failed{after} under generous limits: {f}")
}

fn new_guest(limits: Limits) -> Guest {
    Guest::new(runtime(), limits).unwrap_or_else(|e| panic!("cannot instantiate the module: {e:#}"))
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| run(&mut s.borrow_mut(), data));
});

thread_local! {
    static TIMES: RefCell<[(u64, std::time::Duration); 12]> = RefCell::new([(0, std::time::Duration::ZERO); 12]);
}

/// `MALHOST_FUZZ_TIMING=1`: every 2000 inputs, print how often each operation ran and the
/// time it took in all (to see where a slow run spends it).
fn timing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MALHOST_FUZZ_TIMING").is_some())
}

fn timed<T>(k: usize, f: impl FnOnce() -> T) -> T {
    if !timing() {
        return f();
    }
    let t = std::time::Instant::now();
    let r = f();
    TIMES.with(|c| {
        let mut c = c.borrow_mut();
        c[k].0 += 1;
        c[k].1 += t.elapsed();
    });
    r
}

fn run(st: &mut State, data: &[u8]) {
    if st.inputs % 2000 == 1999 && timing() {
        TIMES.with(|c| eprintln!("timing (count, total) of: reset, process, its call, its check, configure fixed, configure, checkpoint, snapshot+restore, recover, flush, replay, input: {:?}", c.borrow()));
    }
    timed(11, || run_inner(st, data))
}

fn run_inner(st: &mut State, data: &[u8]) {
    st.inputs += 1;
    if st.inputs % FRESH_EVERY == 0 {
        *st = State { inputs: st.inputs, ..State::default() };
    }
    let (first, ops) = decode(data);
    let cfgs = configs();
    let mut cur = cfgs[first % cfgs.len()].clone();
    let g = st.main.get_or_insert_with(|| new_guest(MAIN));
    if let Err(e) = timed(0, || reset(g, &mut st.main_cfg, &cur)) {
        // Only after an earlier input's legitimate failure could a fresh instance do better.
        *g = new_guest(MAIN);
        st.main_cfg.clear();
        reset(g, &mut st.main_cfg, &cur).unwrap_or_else(|e2| panic!("a fresh guest cannot be reset: {e2} (before: {e})"));
    }
    let mut restored = false;
    for op in &ops {
        let g = st.main.as_mut().unwrap();
        let kind = match op {
            Op::Process(_) => 1,
            Op::ConfigureFixed(_) => 4,
            Op::Configure(_) => 5,
            Op::Checkpoint => 6,
            Op::SnapshotRestore(_) => 7,
            Op::Recover => 8,
            Op::Flush => 9,
            Op::Replay(_) => 10,
        };
        let t = std::time::Instant::now();
        let _guard = Timer(kind, t);
        match *op {
            Op::Process(batch) => {
                let recs = records(batch);
                match timed(2, || g.process(batch)) {
                    Ok(out) => {
                        timed(3, || check("process", batch, &recs, &out));
                    }
                    Err(f) if legit(&f) => {
                        if !f.instance_intact() {
                            g.recover().unwrap_or_else(|e| panic!("no instance after {f}: {e:#}"));
                        }
                    }
                    Err(f) => bug(&format!("process of {:?}", String::from_utf8_lossy(batch)), &f, restored),
                }
            }
            Op::ConfigureFixed(i) => {
                let c = &cfgs[i % cfgs.len()];
                match g.configure(c) {
                    Ok(Ok(())) => {
                        cur = c.clone();
                    }
                    Ok(Err(e)) => panic!("fixed config {i} rejected: {e}"),
                    Err(f) => bug("configure", &f, restored),
                }
            }
            Op::Configure(bytes) => {
                let native = malhost::Config::from_json(bytes);
                // The state and probe checks of a rejection, for documents that get past the
                // JSON parser (the others are refused before anything is looked at).
                let deep = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
                let before = if deep { g.snapshot().unwrap_or_else(|f| bug("snapshot", &f, restored)) } else { Vec::new() };
                match g.configure(bytes) {
                    Ok(Ok(())) => {
                        assert!(native.is_ok(), "the module accepted a config the native core rejects: {:?}", native.err());
                        cur = bytes.to_vec();
                    }
                    Ok(Err(e)) => {
                        assert!(native.is_err(), "the module rejected a config the native core accepts: {e}");
                        if !deep {
                            continue;
                        }
                        let after = g.snapshot().unwrap_or_else(|f| bug("snapshot", &f, restored));
                        assert!(before == after, "a rejected config changed the state");
                        // The config before is still in force: a probe gives what it gives
                        // after re-applying that config to the same state.
                        let o1 = g.process(PROBE).unwrap_or_else(|f| bug("probe", &f, restored));
                        match g.restore(&after) {
                            Ok(Ok(())) => {
                            }
                            r => panic!("the guest's own snapshot was not restored: {r:?}"),
                        }
                        match g.configure(&cur) {
                            Ok(Ok(())) => {}
                            r => panic!("the config in force was not re-applied: {r:?}"),
                        }
                        let o2 = g.process(PROBE).unwrap_or_else(|f| bug("probe", &f, restored));
                        assert!(
                            o1 == o2,
                            "after a rejected config ({e}) the probe gave\n{}\nand under the config before\n{}",
                            String::from_utf8_lossy(&o1),
                            String::from_utf8_lossy(&o2)
                        );
                    }
                    Err(f) if legit(&f) => {
                        g.recover().unwrap_or_else(|e| panic!("no instance after {f}: {e:#}"));
                    }
                    Err(f) => bug("configure", &f, restored),
                }
            }
            Op::Checkpoint => {
                g.checkpoint().unwrap_or_else(|f| bug("checkpoint", &f, restored));
            }
            Op::SnapshotRestore(edits) => {
                let mut doc = g.snapshot().unwrap_or_else(|f| bug("snapshot", &f, restored));
                mutate(&mut doc, edits);
                match g.restore(&doc) {
                    Ok(Ok(())) => {
                        restored = true;
                    }
                    Ok(Err(e)) => assert!(!edits.is_empty(), "the guest's own snapshot was refused: {e}"),
                    Err(f) if legit(&f) => {
                        g.recover().unwrap_or_else(|e| panic!("no instance after {f}: {e:#}"));
                    }
                    Err(f) => bug(&format!("restore of {:?}", String::from_utf8_lossy(&doc)), &f, restored),
                }
            }
            Op::Recover => {
                let before = g.snapshot().unwrap_or_else(|f| bug("snapshot", &f, restored));
                match g.recover() {
                    Ok(Recovery::Complete) => {
                        let after = g.snapshot().unwrap_or_else(|f| bug("snapshot", &f, restored));
                        assert!(
                            before == after,
                            "a recovery said it was complete but the state differs\nbefore: {}\nafter:  {}",
                            String::from_utf8_lossy(&before),
                            String::from_utf8_lossy(&after)
                        );
                    }
                    Ok(_) => {}
                    Err(e) => panic!("recover failed under generous limits: {e:#}"),
                }
            }
            Op::Flush => {
                let out = g.flush().unwrap_or_else(|f| bug("flush", &f, restored));
                check("flush", b"", &[], &out);
            }
            Op::Replay(body) => replay_op(st, &cur, body),
        }
    }
    // The last config accepted is the one in force (a recovery re-applies it too).
    st.main_cfg = cur;
}

struct Timer(usize, std::time::Instant);
impl Drop for Timer {
    fn drop(&mut self) {
        if timing() {
            TIMES.with(|c| {
                let mut c = c.borrow_mut();
                c[self.0].0 += 1;
                c[self.0].1 += self.1.elapsed();
            });
        }
    }
}

fn replay_op(st: &mut State, cfg: &[u8], body: &[u8]) {
    let (pick, stream) = body.split_first().map_or((0, body), |(&p, s)| (p, s));
    let k = (pick as usize >> 4) % TIGHT_MIB.len();
    let limits = Limits { max_memory_bytes: TIGHT_MIB[k] << 20, call_timeout: Some(Duration::from_millis(200)) };
    let opts = ReplayOptions {
        batch_lines: 1 + (pick & 7) as usize,
        max_line_bytes: if pick & 8 != 0 { 64 } else { 64 << 20 },
        checkpoint_batches: 1,
        ..ReplayOptions::default()
    };
    let g = st.tight[k].get_or_insert_with(|| new_guest(limits));
    if reset(g, &mut st.tight_cfg[k], cfg).is_err() {
        *g = new_guest(limits);
        st.tight_cfg[k].clear();
        if reset(g, &mut st.tight_cfg[k], cfg).is_err() {
            // The config's state does not fit the tight limit: nothing to replay against.
            st.tight[k] = None;
            st.tight_cfg[k].clear();
            return;
        }
    }
    let mut out = Vec::new();
    let mut log = Vec::new();
    let input = Input { name: "fuzz".into(), reader: Box::new(std::io::Cursor::new(stream.to_vec())) };
    let summary = replay(g, vec![input], &mut out, &opts, &mut |m| log.push(m))
        .unwrap_or_else(|e| panic!("replay failed: {e:#}\nlog: {log:#?}"));
    // The records replay answers: each line as it reads them, a cut one included even when
    // it is blank (it comes out as a `malhost.input` error record holding its first bytes).
    let mut lines = Vec::new();
    let mut r: &[u8] = stream;
    let mut buf = Vec::new();
    while let Some(cut) = read_line_limited(&mut r, &mut buf, opts.max_line_bytes).unwrap() {
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf).to_vec();
        lines.push((line, cut));
    }
    assert_eq!(summary.lines, lines.len() as u64, "replay counted {} lines of {}", summary.lines, lines.len());
    let recs: Vec<Record> = lines
        .iter()
        .filter_map(|(l, cut)| match *cut {
            true => Some(Record { line: l, content: l, cut: true }),
            false => malhost::event::framing::content(l).map(|c| Record { line: l, content: c, cut: false }),
        })
        .collect();
    let kinds = check("replay", stream, &recs, &out);
    let guest_errors = kinds.iter().filter(|(_, t)| t.as_deref().is_some_and(|t| t.starts_with("malhost.guest_"))).count();
    if guest_errors > 0 {
        assert!(summary.degraded(), "{guest_errors} malhost.guest_* error records, but the summary is not degraded: {summary:?}\nlog: {log:#?}");
    }
    assert!(
        summary.failed_lines as usize <= guest_errors,
        "{} lines failed but {guest_errors} malhost.guest_* error records were written",
        summary.failed_lines
    );
}
