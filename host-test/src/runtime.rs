//! The module on wasmtime: load, check, instantiate, call, limit and recover.
//!
//! One [`Runtime`] per process (an engine with epoch interruption and a ticker thread, and the
//! compiled module); one [`Guest`] per detector instance. Every call runs under a memory cap
//! (`StoreLimits`) and a time limit (epoch deadline). A trap or a limit hit is returned as a
//! [`GuestFailure`], and the instance is never called again: [`Guest::recover`] builds a fresh
//! one, re-applies the last config, restores the last checkpoint and replays the input since
//! (kept in a bounded journal), so that per-host state survives the failure.
//! Every guest pointer and length is checked against the memory before it is read, and every
//! batch's output is checked against the contract (one event line per non-blank input line,
//! then its alerts: [`Guest::process_checked`]) before anything is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::{
    Engine, Instance, InstancePre, Linker, Memory, Module, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder,
    Trap, TypedFunc,
};

/// Input since the last checkpoint kept for replay after a failure, at most.
pub const JOURNAL_MAX_BYTES: usize = 64 << 20;

/// How often the epoch advances; the time limit is rounded up to it.
const TICK: Duration = Duration::from_millis(5);

/// Resource limits for one guest.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest linear memory the guest may grow to.
    pub max_memory_bytes: usize,
    /// Longest a single call may run; `None` for no limit (only honoured by a runtime built
    /// without interruption, see [`Runtime::from_file_with`]).
    pub call_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_memory_bytes: 1 << 30, call_timeout: Some(Duration::from_secs(10)) }
    }
}

/// A compiled module and the engine that runs it.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    module: Module,
    path: Option<PathBuf>,
    interruptible: bool,
    _ticker: Arc<Ticker>,
}

struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Loads and checks a module file; calls can be interrupted by a time limit.
    pub fn from_file(path: &Path) -> Result<Runtime> {
        Self::from_file_with(path, true)
    }

    /// Loads and checks a module file. With `interruptible == false` the compiled code has no
    /// epoch checks: about 18% faster, but no call can be stopped.
    pub fn from_file_with(path: &Path, interruptible: bool) -> Result<Runtime> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read module {}", path.display()))?;
        let mut rt = Self::from_bytes_with(&bytes, interruptible).with_context(|| format!("module {}", path.display()))?;
        rt.path = Some(path.to_path_buf());
        Ok(rt)
    }

    /// Compiles and checks a module: it must be WebAssembly, import nothing, export the core
    /// ABI and implement ABI version [`malhost::ABI_VERSION`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Runtime> {
        Self::from_bytes_with(bytes, true)
    }

    /// [`Runtime::from_bytes`], choosing whether calls can be interrupted.
    pub fn from_bytes_with(bytes: &[u8], interruptible: bool) -> Result<Runtime> {
        if !bytes.starts_with(b"\0asm") {
            bail!("not a WebAssembly module (no \\0asm header)");
        }
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(interruptible);
        if std::env::var_os("MALHOST_PERFMAP").is_some() {
            // For `perf record`: lets perf name the module's functions.
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| anyhow!("{e}"))?;
        let module = Module::new(&engine, bytes).map_err(|e| anyhow!("cannot compile module: {e}"))?;
        let imports: Vec<String> = module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect();
        if !imports.is_empty() {
            bail!(
                "module imports {} (first: {}); a malhost module must import nothing",
                imports.len(),
                imports[0]
            );
        }
        for name in ["memory", "malhost_abi_version", "malhost_alloc", "malhost_free", "malhost_configure", "malhost_process", "malhost_flush", "malhost_stats"] {
            if module.get_export(name).is_none() {
                bail!("module does not export `{name}`; is it a malhost module?");
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        if interruptible {
            let (e, s) = (engine.clone(), stop.clone());
            std::thread::Builder::new()
                .name("malhost-epoch".into())
                .spawn(move || {
                    while !s.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        e.increment_epoch();
                    }
                })
                .context("cannot start the epoch thread")?;
        }
        let rt = Runtime { engine, module, path: None, interruptible, _ticker: Arc::new(Ticker(stop)) };
        // Instantiate once to read the ABI version.
        let g = Guest::new(&rt, Limits { call_timeout: None, ..Limits::default() })?;
        drop(g);
        Ok(rt)
    }

    /// Whether calls can be stopped by a time limit.
    pub fn interruptible(&self) -> bool {
        self.interruptible
    }

    /// Where the module was loaded from, if from a file.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The module's imports (`module::name`); empty for a valid malhost module.
    pub fn imports(&self) -> Vec<String> {
        self.module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect()
    }
}

/// Why a call did not return a result.
#[derive(Debug)]
pub enum GuestFailure {
    /// The guest trapped (a panic, an out-of-memory abort, a bad memory access).
    Trap(String),
    /// The call ran past the time limit.
    Timeout(Duration),
    /// The input could not be placed in guest memory under the memory limit.
    OutOfMemory(usize),
    /// The guest trapped after the memory limit refused it more memory.
    MemoryLimit(usize),
    /// The guest returned a pointer/length outside its memory.
    BadResult(String),
    /// The output of a batch did not answer every input line exactly once.
    Contract(String),
    /// The instance failed earlier and must be recovered before it is called again.
    Poisoned,
}

impl GuestFailure {
    /// Whether the instance is still usable: only when the input could not be placed (no
    /// call into the module failed).
    pub fn instance_intact(&self) -> bool {
        matches!(self, GuestFailure::OutOfMemory(_))
    }

    /// `error.type` of the error record written for a line the module failed on.
    pub fn error_type(&self) -> &'static str {
        match self {
            GuestFailure::Timeout(_) => "malhost.guest_timeout",
            GuestFailure::OutOfMemory(_) | GuestFailure::MemoryLimit(_) => "malhost.guest_memory",
            GuestFailure::Contract(_) => "malhost.guest_contract",
            _ => "malhost.guest_trap",
        }
    }
}

impl std::fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestFailure::Trap(m) => write!(f, "module trapped: {m}"),
            GuestFailure::Timeout(d) => write!(f, "call exceeded the time limit of {} ms", d.as_millis()),
            GuestFailure::OutOfMemory(n) => write!(f, "cannot place {n} bytes in guest memory under the memory limit"),
            GuestFailure::MemoryLimit(n) => write!(f, "module ran out of memory under the limit of {} MiB (--max-memory)", n >> 20),
            GuestFailure::BadResult(m) => write!(f, "module returned an invalid result: {m}"),
            GuestFailure::Contract(m) => write!(f, "module broke the output contract: {m}"),
            GuestFailure::Poisoned => write!(f, "the instance failed earlier and was not recovered"),
        }
    }
}

impl std::error::Error for GuestFailure {}

struct StoreData {
    limits: Limiter,
}

/// The store's memory cap, remembering whether it refused a growth (so that the trap that
/// follows is reported as running out of memory, not as a bare `unreachable`).
struct Limiter {
    inner: StoreLimits,
    denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        self.denied |= !ok;
        Ok(ok)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// How a recovery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The new instance holds the state the failed one had before the failing call.
    Complete,
    /// It holds less: the reason says what was lost.
    StateLost(String),
}

struct Exports {
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    free: TypedFunc<(u32, u32), ()>,
    configure: TypedFunc<(u32, u32), u64>,
    process: TypedFunc<(u32, u32), u64>,
    flush: TypedFunc<(), u64>,
    stats: TypedFunc<(), u64>,
    /// Optional in a module (test modules leave them out).
    snapshot: Option<TypedFunc<(), u64>>,
    restore: Option<TypedFunc<(u32, u32), u64>>,
    process_framed: Option<TypedFunc<(u32, u32), u64>>,
    set_clock: Option<TypedFunc<i64, u32>>,
}

/// A secret random hash seed from the operating system's entropy (std's per-process random
/// hash keys), for modules that take one (`malhost_seed`).
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// One running detector instance.
pub struct Guest {
    pre: InstancePre<StoreData>,
    limits: Limits,
    store: Store<StoreData>,
    ex: Exports,
    /// Input buffer in guest memory: (address, capacity).
    input: Option<(u32, u32)>,
    /// The last config accepted.
    config: Option<Vec<u8>>,
    /// The config in force when the checkpoint was taken: a recovery starts from it and
    /// replays the configs the journal recorded since.
    checkpoint_config: Option<Vec<u8>>,
    /// The clock the last batch was given (`malhost_set_clock`), recorded in the journal.
    last_clock: Option<i64>,
    /// The last state snapshot taken with [`Guest::checkpoint`] (or restored by
    /// [`Guest::restore`]), restored after a recovery.
    checkpoint: Option<Vec<u8>>,
    /// Batches processed since the checkpoint, replayed after it by a recovery.
    journal: Journal,
    /// Set by any failed call: the instance is not called again until recovered.
    poisoned: bool,
    /// Instances created after a failure.
    pub recoveries: u64,
    /// The hash seed given to every new instance (`malhost_seed`): drawn at random, then the
    /// one the module reports after each restore, so that it always equals the instance's.
    seed: u64,
}

fn new_store(engine: &Engine, limits: Limits) -> Store<StoreData> {
    let data = StoreData {
        limits: Limiter {
            inner: StoreLimitsBuilder::new().memory_size(limits.max_memory_bytes).instances(1).memories(1).tables(4).build(),
            denied: false,
        },
    };
    let mut store = Store::new(engine, data);
    store.limiter(|d| &mut d.limits);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(deadline_ticks(limits.call_timeout));
    store
}

fn exports(store: &mut Store<StoreData>, inst: &Instance) -> Result<Exports> {
    let f = |e: wasmtime::Error| anyhow!("{e}");
    Ok(Exports {
        memory: inst.get_memory(&mut *store, "memory").ok_or_else(|| anyhow!("no exported memory"))?,
        alloc: inst.get_typed_func(&mut *store, "malhost_alloc").map_err(f)?,
        free: inst.get_typed_func(&mut *store, "malhost_free").map_err(f)?,
        configure: inst.get_typed_func(&mut *store, "malhost_configure").map_err(f)?,
        process: inst.get_typed_func(&mut *store, "malhost_process").map_err(f)?,
        flush: inst.get_typed_func(&mut *store, "malhost_flush").map_err(f)?,
        stats: inst.get_typed_func(&mut *store, "malhost_stats").map_err(f)?,
        snapshot: inst.get_typed_func(&mut *store, "malhost_snapshot").ok(),
        restore: inst.get_typed_func(&mut *store, "malhost_restore").ok(),
        process_framed: inst.get_typed_func(&mut *store, "malhost_process_framed").ok(),
        set_clock: inst.get_typed_func(&mut *store, "malhost_set_clock").ok(),
    })
}

impl Guest {
    /// A fresh instance with default settings.
    pub fn new(rt: &Runtime, limits: Limits) -> Result<Guest> {
        if limits.call_timeout.is_some() && !rt.interruptible {
            bail!("a time limit needs a runtime built with interruption");
        }
        let linker: Linker<StoreData> = Linker::new(&rt.engine);
        let pre = linker.instantiate_pre(&rt.module).map_err(|e| anyhow!("{e}"))?;
        let seed = random_seed();
        let (store, ex) = Self::instantiate(&pre, &rt.engine, limits, seed)?;
        Ok(Guest {
            pre,
            limits,
            store,
            ex,
            input: None,
            config: None,
            checkpoint_config: None,
            last_clock: None,
            checkpoint: None,
            journal: Journal::default(),
            poisoned: false,
            recoveries: 0,
            seed,
        })
    }

    /// Instantiates the module and, if it takes one, gives it the hash seed.
    fn instantiate(pre: &InstancePre<StoreData>, engine: &Engine, limits: Limits, seed: u64) -> Result<(Store<StoreData>, Exports)> {
        let mut store = new_store(engine, limits);
        let inst = pre.instantiate(&mut store).map_err(|e| anyhow!("cannot instantiate module: {e}"))?;
        let version: TypedFunc<(), u32> =
            inst.get_typed_func(&mut store, "malhost_abi_version").map_err(|e| anyhow!("{e}"))?;
        let v = version.call(&mut store, ()).map_err(|e| anyhow!("malhost_abi_version failed: {e}"))?;
        if v != malhost::ABI_VERSION {
            bail!("module implements ABI version {v}, this host speaks version {}", malhost::ABI_VERSION);
        }
        let ex = exports(&mut store, &inst)?;
        if let Ok(set_seed) = inst.get_typed_func::<u64, u32>(&mut store, "malhost_seed") {
            set_seed.call(&mut store, seed).map_err(|e| anyhow!("malhost_seed failed: {e}"))?;
        }
        Ok((store, ex))
    }

    /// Snapshots the module's state, to be restored by [`Guest::recover`], and empties the
    /// journal. A module without snapshot exports keeps no checkpoint (its journal then holds
    /// everything since the start, up to [`JOURNAL_MAX_BYTES`]).
    pub fn checkpoint(&mut self) -> Result<(), GuestFailure> {
        if self.ex.snapshot.is_some() {
            self.checkpoint = Some(self.snapshot()?);
            self.checkpoint_config = self.config.clone();
            self.journal.clear();
        }
        Ok(())
    }

    /// Keeps no journal: a benchmark, which never recovers, need not copy its input. A
    /// recovery then loses the state since the last checkpoint.
    pub fn without_journal(&mut self) {
        self.journal.disabled = true;
        self.journal.clear();
    }

    /// Whether the journal has reached its bound (a checkpoint now keeps a recovery complete).
    pub fn journal_full(&self) -> bool {
        self.journal.bytes.len() >= JOURNAL_MAX_BYTES / 2
    }

    /// Replaces the instance with a fresh one under the config of the last checkpoint,
    /// restores the checkpoint and replays the journal — the batches with the clock they were
    /// given, and the configs accepted since, in order — discarding the output, which was
    /// written already, so that the new instance holds what the old one held before the
    /// failing call. Says what was lost when that cannot be done; `Err` when no working
    /// instance could be made at all.
    pub fn recover(&mut self) -> Result<Recovery> {
        let latest = self.config.clone();
        let at_checkpoint = self.checkpoint_config.clone();
        self.fresh_instance(at_checkpoint.as_deref())?;
        let mut lost = Vec::new();
        if let Some(doc) = self.checkpoint.clone() {
            match self.restore_doc(&doc) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    lost.push(format!("the checkpoint was refused ({e})"));
                    self.checkpoint = None;
                }
                Err(e) => {
                    lost.push(format!("restoring the checkpoint failed ({e})"));
                    self.checkpoint = None;
                    self.fresh_instance(at_checkpoint.as_deref())?;
                }
            }
        }
        if self.journal.overflowed {
            lost.push(format!("more than {} MiB of input came since the last checkpoint", JOURNAL_MAX_BYTES >> 20));
        } else if lost.is_empty() {
            let journal = std::mem::take(&mut self.journal);
            for entry in journal.entries() {
                let replayed = match entry {
                    Replay::Batch(batch, clock) => self.give_clock(clock).and_then(|()| self.call_process(batch).map(|_| ())),
                    Replay::Configure(json) => match self.configure(json) {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(GuestFailure::BadResult(format!("a config accepted before is refused now: {e}"))),
                        Err(e) => Err(e),
                    },
                };
                if let Err(e) = replayed {
                    lost.push(format!("replaying the input since the checkpoint failed ({e})"));
                    self.fresh_instance(at_checkpoint.as_deref())?;
                    if let Some(doc) = self.checkpoint.clone() {
                        if !matches!(self.restore_doc(&doc), Ok(Ok(()))) {
                            self.checkpoint = None;
                            self.fresh_instance(at_checkpoint.as_deref())?;
                        }
                    }
                    break;
                }
            }
            if lost.is_empty() {
                self.journal = journal;
            } else {
                self.journal.disabled = journal.disabled;
            }
        }
        if lost.is_empty() {
            return Ok(Recovery::Complete);
        }
        // What the new instance holds is now the last good state, under the latest config.
        if let Some(cfg) = latest.filter(|c| Some(c) != self.config.as_ref()) {
            match self.configure(&cfg) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => bail!("config rejected after recovery: {e}"),
                Err(e) => bail!("configure failed after recovery: {e}"),
            }
        }
        self.checkpoint_config = self.config.clone();
        self.journal.clear();
        Ok(Recovery::StateLost(format!("per-host state since the last checkpoint is lost: {}", lost.join("; "))))
    }

    /// A new instance with `config` (none: the defaults).
    fn fresh_instance(&mut self, config: Option<&[u8]>) -> Result<()> {
        let engine = self.store.engine().clone();
        let (store, ex) = Self::instantiate(&self.pre, &engine, self.limits, self.seed)?;
        self.store = store;
        self.ex = ex;
        self.input = None;
        self.poisoned = false;
        self.recoveries += 1;
        self.config = None;
        if let Some(cfg) = config {
            match self.configure_untracked(cfg) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => bail!("config rejected after recovery: {e}"),
                Err(e) => bail!("configure failed after recovery: {e}"),
            }
        }
        Ok(())
    }

    /// Loads a config. `Ok(Err(message))` when the module rejected it (message names the JSON
    /// path); the previous config stays in force.
    pub fn configure(&mut self, json: &[u8]) -> Result<Result<(), String>, GuestFailure> {
        let r = self.configure_untracked(json)?;
        if r.is_ok() {
            self.journal.push_config(json);
        }
        Ok(r)
    }

    /// [`Guest::configure`] without a journal entry (a recovery re-applying a config).
    fn configure_untracked(&mut self, json: &[u8]) -> Result<Result<(), String>, GuestFailure> {
        let f = self.ex.configure.clone();
        let out = self.call_with_input(json, |store, p, l| f.call(store, (p, l)))?;
        let v: serde_json::Value =
            serde_json::from_slice(&out).map_err(|e| GuestFailure::BadResult(format!("configure result is not JSON: {e}")))?;
        if v["ok"] == serde_json::Value::Bool(true) {
            self.config = Some(json.to_vec());
            Ok(Ok(()))
        } else {
            let path = v["error"]["path"].as_str().unwrap_or("(root)");
            let msg = v["error"]["message"].as_str().unwrap_or("rejected");
            Ok(Err(format!("{path}: {msg}")))
        }
    }

    /// Processes a batch of newline-separated events; returns the output lines, checked as
    /// [`Guest::process_checked`] checks them.
    pub fn process(&mut self, batch: &[u8]) -> Result<Vec<u8>, GuestFailure> {
        let mut out = Vec::new();
        self.process_checked(batch, &mut |o| out.extend_from_slice(o))?;
        Ok(out)
    }

    /// Processes a batch and hands the output to `sink` without copying it out first, once
    /// it has been checked against the contract: one answer per non-blank input line
    /// ([`malhost::event::framing`]), each its event line and then its alerts, every line
    /// terminated. A module with `malhost_process_framed` says how many lines each record
    /// produced; for one without, the output must have at least one line per record. On
    /// success the batch joins the journal that a recovery replays.
    pub fn process_checked(&mut self, batch: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<(), GuestFailure> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        self.give_clock(Some(now))?;
        let out = self.call_process(batch)?;
        sink(out);
        let clock = self.last_clock;
        self.journal.push(batch, clock);
        Ok(())
    }

    /// Gives the module a clock (the wall clock, or in a replay the one a batch had), if it
    /// takes one (`limits.max_future`).
    fn give_clock(&mut self, now: Option<i64>) -> Result<(), GuestFailure> {
        if self.poisoned {
            return Err(GuestFailure::Poisoned);
        }
        let (Some(f), Some(now)) = (self.ex.set_clock.clone(), now) else { return Ok(()) };
        self.last_clock = Some(now);
        self.arm()?;
        match f.call(&mut self.store, now) {
            Ok(1) => Ok(()),
            Ok(r) => Err(self.fail(GuestFailure::BadResult(format!("malhost_set_clock returned {r}")))),
            Err(e) => Err(self.failure(e)),
        }
    }

    /// One process call, its output checked; borrowed from guest memory.
    fn call_process(&mut self, batch: &[u8]) -> Result<&[u8], GuestFailure> {
        let records = malhost::event::framing::records(batch);
        let (ptr, len) = self.place_input(batch)?;
        self.arm()?;
        let framed = self.ex.process_framed.is_some();
        let f = self.ex.process_framed.clone().unwrap_or_else(|| self.ex.process.clone());
        let packed = match f.call(&mut self.store, (ptr, len)) {
            Ok(p) => p,
            Err(e) => return Err(self.failure(e)),
        };
        let checked = {
            let out = self.result_slice(packed)?;
            check_output(out, records, framed).map(|body| (out.len() - body.len(), body.len()))
        };
        match checked {
            Ok((skip, n)) => {
                let out = self.result_slice(packed)?;
                Ok(&out[skip..skip + n])
            }
            Err(m) => Err(self.fail(GuestFailure::Contract(m))),
        }
    }
    /// End of input: returns lines held back until then.
    pub fn flush(&mut self) -> Result<Vec<u8>, GuestFailure> {
        self.arm()?;
        let packed = self.ex.flush.call(&mut self.store, ()).map_err(|e| self.failure(e))?;
        self.result_slice(packed).map(<[u8]>::to_vec)
    }

    /// The detector's counters.
    pub fn stats(&mut self) -> Result<serde_json::Value, GuestFailure> {
        self.arm()?;
        let packed = self.ex.stats.call(&mut self.store, ()).map_err(|e| self.failure(e))?;
        let out = self.result_slice(packed)?;
        serde_json::from_slice(out).map_err(|e| GuestFailure::BadResult(format!("stats are not JSON: {e}")))
    }

    /// The module's state as a snapshot document.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, GuestFailure> {
        let f = self.ex.snapshot.clone().ok_or_else(|| GuestFailure::BadResult("the module does not export malhost_snapshot".into()))?;
        self.arm()?;
        self.store.set_epoch_deadline(deadline_ticks(self.state_call_timeout()));
        let packed = f.call(&mut self.store, ()).map_err(|e| self.failure(e))?;
        self.result_slice(packed).map(<[u8]>::to_vec)
    }

    /// Restores a snapshot; `Ok(Err(message))` when the module refused it (state unchanged).
    /// An accepted one becomes the checkpoint a recovery starts from.
    pub fn restore(&mut self, doc: &[u8]) -> Result<Result<(), String>, GuestFailure> {
        let r = self.restore_doc(doc)?;
        if r.is_ok() {
            self.checkpoint = Some(doc.to_vec());
            self.checkpoint_config = self.config.clone();
            self.journal.clear();
        }
        Ok(r)
    }

    fn restore_doc(&mut self, doc: &[u8]) -> Result<Result<(), String>, GuestFailure> {
        let f = self.ex.restore.clone().ok_or_else(|| GuestFailure::BadResult("the module does not export malhost_restore".into()))?;
        let timeout = self.state_call_timeout();
        let out = self.call_with_input(doc, |store, p, l| {
            store.set_epoch_deadline(deadline_ticks(timeout));
            f.call(store, (p, l))
        })?;
        let v: serde_json::Value =
            serde_json::from_slice(&out).map_err(|e| GuestFailure::BadResult(format!("restore result is not JSON: {e}")))?;
        if v["ok"] == serde_json::Value::Bool(true) {
            // A restore under a config without `hash_seed` adopts the snapshot's seed: the
            // instances this guest creates from now on (a recovery) must start from it too,
            // or a config replayed later that names no seed would hash with another one.
            if let Some(seed) = v["host_seed"].as_u64() {
                self.seed = seed;
            }
            Ok(Ok(()))
        } else {
            Ok(Err(v["error"]["message"].as_str().unwrap_or("refused").to_string()))
        }
    }

    /// Current size of the guest's linear memory.
    pub fn memory_bytes(&self) -> usize {
        self.ex.memory.data_size(&self.store)
    }

    fn call_with_input(
        &mut self,
        input: &[u8],
        call: impl FnOnce(&mut Store<StoreData>, u32, u32) -> wasmtime::Result<u64>,
    ) -> Result<Vec<u8>, GuestFailure> {
        let (ptr, len) = self.place_input(input)?;
        self.arm()?;
        let packed = call(&mut self.store, ptr, len).map_err(|e| self.failure(e))?;
        self.result_slice(packed).map(<[u8]>::to_vec)
    }

    /// Copies `input` into a reusable guest buffer, growing it when needed.
    fn place_input(&mut self, input: &[u8]) -> Result<(u32, u32), GuestFailure> {
        let len = u32::try_from(input.len()).map_err(|_| GuestFailure::OutOfMemory(input.len()))?;
        let (ptr, cap) = match self.input {
            Some((p, c)) if c >= len => (p, c),
            old => {
                self.arm()?;
                if let Some((p, c)) = old {
                    self.ex.free.call(&mut self.store, (p, c)).map_err(|e| self.failure(e))?;
                    self.input = None;
                }
                let cap = len.max(64 * 1024).checked_next_power_of_two().unwrap_or(len);
                let p = self.ex.alloc.call(&mut self.store, cap).map_err(|e| self.failure(e))?;
                if p == 0 {
                    return Err(GuestFailure::OutOfMemory(input.len()));
                }
                self.input = Some((p, cap));
                (p, cap)
            }
        };
        let _ = cap;
        self.ex
            .memory
            .write(&mut self.store, ptr as usize, input)
            .map_err(|e| GuestFailure::BadResult(format!("allocated buffer is outside memory: {e}")))?;
        Ok((ptr, len))
    }

    fn result_slice(&self, packed: u64) -> Result<&[u8], GuestFailure> {
        let ptr = (packed >> 32) as usize;
        let len = (packed & 0xffff_ffff) as usize;
        let data = self.ex.memory.data(&self.store);
        let end = ptr.checked_add(len).ok_or_else(|| GuestFailure::BadResult("pointer + length overflows".into()))?;
        data.get(ptr..end).ok_or_else(|| {
            GuestFailure::BadResult(format!("result {ptr:#x}+{len} lies outside guest memory of {} bytes", data.len()))
        })
    }

    /// Before each call: refuses a failed instance, sets the time limit, forgets an earlier
    /// refused memory growth.
    fn arm(&mut self) -> Result<(), GuestFailure> {
        if self.poisoned {
            return Err(GuestFailure::Poisoned);
        }
        self.store.set_epoch_deadline(deadline_ticks(self.limits.call_timeout));
        self.store.data_mut().limits.denied = false;
        Ok(())
    }

    /// The time limit of snapshot and restore calls: their cost follows the state, not one
    /// batch's input, and they serve recovery, so they get at least ten seconds.
    fn state_call_timeout(&self) -> Option<Duration> {
        self.limits.call_timeout.map(|t| t.max(Duration::from_secs(10)))
    }

    /// A call failed: the instance is not used again until recovered.
    fn fail(&mut self, f: GuestFailure) -> GuestFailure {
        self.poisoned = true;
        f
    }

    fn failure(&mut self, e: wasmtime::Error) -> GuestFailure {
        let f = match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => GuestFailure::Timeout(self.limits.call_timeout.unwrap_or_default()),
            _ if self.store.data().limits.denied => GuestFailure::MemoryLimit(self.limits.max_memory_bytes),
            Some(t) => GuestFailure::Trap(t.to_string()),
            None => GuestFailure::Trap(e.to_string()),
        };
        self.fail(f)
    }
}

/// What came since the last checkpoint, bounded by [`JOURNAL_MAX_BYTES`]: input batches (with
/// the clock each was given) and accepted configs, in order.
#[derive(Default)]
struct Journal {
    /// Off for benchmarks, which never recover.
    disabled: bool,
    bytes: Vec<u8>,
    /// Where each entry ends in `bytes`, and what it is.
    entries: Vec<Entry>,
    /// More came than the bound: a recovery cannot replay it.
    overflowed: bool,
}

/// A batch (with the clock it was given, if any) or an accepted config.
struct Entry {
    end: usize,
    clock: Option<i64>,
    is_config: bool,
}

/// One journal entry to replay.
enum Replay<'a> {
    Batch(&'a [u8], Option<i64>),
    Configure(&'a [u8]),
}

impl Journal {
    fn append(&mut self, bytes: &[u8], clock: Option<i64>, is_config: bool) {
        if self.overflowed || self.disabled {
            return;
        }
        if self.bytes.len() + bytes.len() > JOURNAL_MAX_BYTES {
            self.overflowed = true;
            self.bytes = Vec::new();
            self.entries = Vec::new();
            return;
        }
        self.bytes.extend_from_slice(bytes);
        self.entries.push(Entry { end: self.bytes.len(), clock, is_config });
    }

    fn push(&mut self, batch: &[u8], clock: Option<i64>) {
        self.append(batch, clock, false);
    }

    fn push_config(&mut self, json: &[u8]) {
        self.append(json, None, true);
    }

    fn clear(&mut self) {
        self.overflowed = self.disabled;
        self.bytes.clear();
        self.entries.clear();
    }

    fn entries(&self) -> impl Iterator<Item = Replay<'_>> {
        let starts = std::iter::once(0).chain(self.entries.iter().map(|e| e.end));
        starts.zip(self.entries.iter()).map(|(a, e)| {
            let bytes = &self.bytes[a..e.end];
            if e.is_config { Replay::Configure(bytes) } else { Replay::Batch(bytes, e.clock) }
        })
    }
}

/// Checks one process call's output against the contract for `records` non-blank input lines
/// and returns the output lines. `framed`: the output starts with the record count and each
/// record's line count (`malhost_process_framed`).
fn check_output(out: &[u8], records: usize, framed: bool) -> Result<&[u8], String> {
    let newlines = |b: &[u8]| memchr_count(b);
    if !framed {
        let n = newlines(out);
        if n < records || out.last().is_some_and(|b| *b != b'\n') {
            return Err(format!("{records} input lines gave {n} output lines"));
        }
        return Ok(out);
    }
    let word = |i: usize| out.get(4 * i..4 * i + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize);
    let Some(n) = word(0) else { return Err(format!("{records} input lines gave no answer ({} bytes)", out.len())) };
    if n != records {
        return Err(format!("{records} input lines gave {n} answers"));
    }
    let mut lines = 0usize;
    for i in 1..=n {
        let c = word(i).ok_or("the answer's header is cut short")?;
        if c == 0 {
            return Err(format!("input line {i} of the batch gave no output line"));
        }
        lines = lines.saturating_add(c);
    }
    let body = &out[4 * (n + 1)..];
    let got = newlines(body);
    if got != lines || body.last().is_some_and(|b| *b != b'\n') {
        return Err(format!("the answers announce {lines} output lines and {got} came"));
    }
    Ok(body)
}

fn memchr_count(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

fn deadline_ticks(timeout: Option<Duration>) -> u64 {
    match timeout {
        Some(t) => (t.as_nanos() / TICK.as_nanos()).max(1) as u64 + 1,
        // No limit, but not u64::MAX: wasmtime adds the engine's current epoch to it, which
        // overflows (a panic in a debug build, a deadline already passed in a release one)
        // once the ticker has ticked. 2^62 ticks is ages.
        None => 1 << 62,
    }
}
