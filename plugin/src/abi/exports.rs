//! The module's exported functions (core ABI v1, `schemas/ABI.md`).
//!
//! Results are returned as a packed `u64`: guest address in the high 32 bits, length in the
//! low 32 bits, pointing into a buffer the module owns until the next call. Nothing here
//! traps on any input bytes: allocation failure returns 0, and the detector turns bad input
//! into error records.
//!
//! A trap (out of memory, a bug) ends a call half-way, and the next call would find the state
//! half-changed. Each state lives in a [`Slot`] that is marked busy for the length of a call:
//! a call that finds it still busy knows the previous one trapped. The core ABI then answers
//! nothing (length 0, which a host that checks the contract treats as a failed call and
//! re-instantiates); the Fluent Bit filter, whose host reuses the instance after a trap,
//! starts again from a fresh state and says so in the record.

use std::alloc::{Layout, alloc, dealloc};
use std::cell::{Cell, UnsafeCell};

use super::core::CoreAbi;
use super::fluentbit::FluentBitFilter;

/// A state owned by the module and entered by one export call at a time.
struct Slot<T> {
    value: UnsafeCell<Option<T>>,
    busy: Cell<bool>,
}

/// Why a slot could not be entered normally.
enum Entry {
    /// The slot is fine.
    Clean,
    /// A previous call trapped inside it; its value was abandoned.
    AfterTrap,
}

impl<T> Slot<T> {
    const fn new() -> Self {
        Slot { value: UnsafeCell::new(None), busy: Cell::new(false) }
    }

    /// Runs `f` on the value, made by `init` if there is none. After a trap the old value is
    /// leaked, not dropped (its invariants may be broken half-way) and `init` makes a new one
    /// only when `renew` is set; otherwise `None` is returned.
    fn enter<R>(&self, renew: bool, init: impl FnOnce() -> T, f: impl FnOnce(&mut T, Entry) -> R) -> Option<R> {
        let entry = if self.busy.replace(true) {
            if !renew {
                return None;
            }
            // SAFETY: wasm32 is single-threaded and the call that set `busy` is gone (it
            // trapped): nothing else refers to the value.
            std::mem::forget(unsafe { (*self.value.get()).take() });
            Entry::AfterTrap
        } else {
            Entry::Clean
        };
        // SAFETY: `busy` is set, so no other call is inside; exports are not re-entrant.
        let slot = unsafe { &mut *self.value.get() };
        let value = slot.get_or_insert_with(init);
        let r = f(value, entry);
        self.busy.set(false);
        Some(r)
    }
}

// SAFETY: the module is single-threaded (wasm32 without threads); `Slot` is only used in the
// statics below.
unsafe impl<T> Sync for Slot<T> {}

static ABI: Slot<CoreAbi> = Slot::new();
static FLUENT_BIT: Slot<FluentBitFilter> = Slot::new();

fn pack(bytes: &[u8]) -> u64 {
    ((bytes.as_ptr() as usize as u64) << 32) | bytes.len() as u64
}

/// # Safety
/// `ptr..ptr+len` must be memory the host wrote (from [`malhost_alloc`]) or `len == 0`.
unsafe fn input<'a>(ptr: u32, len: u32) -> &'a [u8] {
    if ptr == 0 || len == 0 {
        return &[];
    }
    // SAFETY: the host promises that `ptr` came from `malhost_alloc(len')` with `len <= len'`.
    unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
}

/// Runs a core ABI call; 0 (no result) when a previous call trapped: the host must discard
/// this instance.
fn with_abi(f: impl FnOnce(&mut CoreAbi) -> u64) -> u64 {
    ABI.enter(false, CoreAbi::with_host_entropy, |a, _| f(a)).unwrap_or(0)
}

/// Runs a core ABI call on the bytes the host wrote at `ptr..ptr+len`, and packs the bytes it
/// returns; 0 when a previous call trapped, as [`with_abi`].
///
/// # Safety
/// See [`input`].
unsafe fn with_abi_input(ptr: u32, len: u32, call: impl for<'a> FnOnce(&'a mut CoreAbi, &[u8]) -> &'a [u8]) -> u64 {
    // SAFETY: forwarded contract.
    let bytes = unsafe { input(ptr, len) };
    with_abi(|a| pack(call(a, bytes)))
}

/// ABI version implemented by this module.
#[unsafe(no_mangle)]
pub extern "C" fn malhost_abi_version() -> u32 {
    crate::ABI_VERSION
}

/// Allocates `len` bytes (at least one) for the host to write into; 0 if memory is exhausted.
#[unsafe(no_mangle)]
pub extern "C" fn malhost_alloc(len: u32) -> u32 {
    match Layout::from_size_align(len.max(1) as usize, 1) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc(layout) as usize as u32 },
        Err(_) => 0,
    }
}

/// Frees a block from [`malhost_alloc`] with the same `len`.
///
/// # Safety
/// `ptr` must come from `malhost_alloc(len)` and not have been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malhost_free(ptr: u32, len: u32) {
    if ptr == 0 {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(len.max(1) as usize, 1) {
        // SAFETY: per the contract above.
        unsafe { dealloc(ptr as usize as *mut u8, layout) }
    }
}

/// Defines an export that hands the bytes the host wrote at `ptr..ptr+len` to a [`CoreAbi`]
/// method and returns the packed bytes it gives back ([`with_abi_input`]); the doc comments
/// given come before its `# Safety` section.
macro_rules! input_export {
    ($(#[doc = $doc:expr])+ $name:ident => $method:ident) => {
        $(#[doc = $doc])+
        ///
        /// # Safety
        /// See [`input`].
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(ptr: u32, len: u32) -> u64 {
            // SAFETY: forwarded contract.
            unsafe { with_abi_input(ptr, len, CoreAbi::$method) }
        }
    };
}

input_export! {
    /// Loads a JSON config; returns the result object (packed pointer and length).
    malhost_configure => configure
}

/// Gives the module the hash seed to use when the config names none: a secret random value
/// from the host's entropy (the module has none of its own). Call it before the first event;
/// a different seed later empties the state. Returns 1, or 0 if the module was busy.
#[unsafe(no_mangle)]
pub extern "C" fn malhost_seed(seed: u64) -> u32 {
    with_abi(|a| {
        a.set_host_seed(seed);
        1
    }) as u32
}

/// The host's wall clock, ms since the Unix epoch: event times more than `limits.max_future`
/// after it are not used by the rules over time. Call it before each batch (the module has no
/// clock of its own). Returns 1, or 0 if a previous call trapped.
#[unsafe(no_mangle)]
pub extern "C" fn malhost_set_clock(now_ms: i64) -> u32 {
    with_abi(|a| {
        a.set_clock(now_ms);
        1
    }) as u32
}

input_export! {
    /// Processes a batch of newline-separated events; returns the output lines.
    malhost_process => process
}

input_export! {
    /// [`malhost_process`] with a header that frames the output by record (`schemas/ABI.md`):
    /// what a host checks "one output line per input line" with.
    malhost_process_framed => process_framed
}

/// End of input; returns the lines held back until then.
#[unsafe(no_mangle)]
pub extern "C" fn malhost_flush() -> u64 {
    with_abi(|a| pack(a.flush()))
}

/// The detector's state as a snapshot document (JSON).
#[unsafe(no_mangle)]
pub extern "C" fn malhost_snapshot() -> u64 {
    with_abi(|a| pack(a.snapshot()))
}

input_export! {
    /// Restores a snapshot; returns the result object.
    malhost_restore => restore
}

/// Counters as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn malhost_stats() -> u64 {
    with_abi(|a| pack(a.stats()))
}

/// Fluent Bit `filter_wasm` entry point (`Function_Name malhost_filter`, `Event_Format json`):
/// returns a pointer to a NUL-terminated JSON object the module owns until the next call
/// (see [`super::fluentbit`]). Never traps on any record bytes, nor on `rec_ptr == 0`.
///
/// # Safety
/// `tag_ptr..+tag_len` and `rec_ptr..+rec_len` must be guest memory the host wrote, or 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malhost_filter(tag_ptr: u32, tag_len: u32, time_sec: u32, time_nsec: u32, rec_ptr: u32, rec_len: u32) -> u32 {
    // SAFETY: forwarded contract.
    let tag = unsafe { input(tag_ptr, tag_len) };
    // SAFETY: forwarded contract.
    let record = (rec_ptr != 0).then(|| unsafe { input(rec_ptr, rec_len) });
    FLUENT_BIT
        .enter(true, FluentBitFilter::default, |f, entry| {
            if let Entry::AfterTrap = entry {
                f.note_restart_after_trap();
            }
            f.filter(tag, u64::from(time_sec), time_nsec, record).as_ptr() as usize as u32
        })
        .unwrap_or(0)
}
