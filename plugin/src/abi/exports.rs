//! The module's exported functions (core ABI v1, `schemas/ABI.md`).
//!
//! Results are returned as a packed `u64`: guest address in the high 32 bits, length in the
//! low 32 bits, pointing into a buffer the module owns until the next call. Nothing here
//! traps on any input bytes: allocation failure returns 0, and the detector turns bad input
//! into error records.

use std::alloc::{Layout, alloc, dealloc};
use std::cell::RefCell;

use super::core::CoreAbi;
use super::fluentbit::FluentBitFilter;

thread_local! {
    static ABI: RefCell<CoreAbi> = RefCell::new(CoreAbi::with_host_entropy());
    static FLUENT_BIT: RefCell<Option<FluentBitFilter>> = const { RefCell::new(None) };
}

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

fn with_abi(f: impl FnOnce(&mut CoreAbi) -> u64) -> u64 {
    ABI.with(|a| match a.try_borrow_mut() {
        Ok(mut abi) => f(&mut abi),
        Err(_) => 0,
    })
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

/// Loads a JSON config; returns the result object (packed pointer and length).
///
/// # Safety
/// See [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malhost_configure(ptr: u32, len: u32) -> u64 {
    // SAFETY: forwarded contract.
    let bytes = unsafe { input(ptr, len) };
    with_abi(|a| pack(a.configure(bytes)))
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

/// Processes a batch of newline-separated events; returns the output lines.
///
/// # Safety
/// See [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malhost_process(ptr: u32, len: u32) -> u64 {
    // SAFETY: forwarded contract.
    let bytes = unsafe { input(ptr, len) };
    with_abi(|a| pack(a.process(bytes)))
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

/// Restores a snapshot; returns the result object.
///
/// # Safety
/// See [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malhost_restore(ptr: u32, len: u32) -> u64 {
    // SAFETY: forwarded contract.
    let bytes = unsafe { input(ptr, len) };
    with_abi(|a| pack(a.restore(bytes)))
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
    FLUENT_BIT.with(|f| match f.try_borrow_mut() {
        Ok(mut slot) => slot.get_or_insert_with(FluentBitFilter::default).filter(tag, u64::from(time_sec), time_nsec, record).as_ptr() as usize as u32,
        Err(_) => 0,
    })
}
