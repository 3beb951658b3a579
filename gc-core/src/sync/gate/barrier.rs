//! The gate's fence (G1): *light* on the operations' side, *heavy* on the
//! collector's.
//!
//! On Linux, [`init`] registers the process for
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`. If that works, [`heavy`]
//! issues it: when it returns, every thread of the process that was running
//! has passed a full memory barrier (and one that was not running will pass
//! one when it is scheduled), which orders the store before the load of any
//! operation against the collector's store and loads. [`light`] is then a
//! compiler fence only, which keeps the operation's store and load in
//! program order. Otherwise (another system, a kernel without it, loom,
//! Miri) both are sequentially consistent fences.
//!
//! The choice is made once, before any thread registers (`init` runs in
//! `Gate::register` under a `Once`), so every operation and every collector
//! see the same one.

#[cfg(loom)]
use loom::sync::atomic::fence;
#[cfg(not(loom))]
use std::sync::atomic::fence;

use core::sync::atomic::Ordering::{Relaxed, SeqCst};
use core::sync::atomic::{AtomicBool, compiler_fence};
use std::sync::Once;

/// `membarrier` is registered: the light side is a compiler fence.
static ASYMMETRIC: AtomicBool = AtomicBool::new(false);

/// Makes the choice (once) and returns it.
pub(super) fn init() -> bool {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| ASYMMETRIC.store(register(), Relaxed));
    ASYMMETRIC.load(Relaxed)
}

/// Registers for the expedited private barrier; `true` if it works.
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn register() -> bool {
    const QUERY: libc::c_long = 0;
    const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;
    // SAFETY: `membarrier` takes two integers and touches no memory of ours.
    let supported = unsafe { libc::syscall(libc::SYS_membarrier, QUERY, 0) };
    if supported < 0 || supported & PRIVATE_EXPEDITED == 0 {
        return false;
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0) == 0 }
}

/// Registers for the expedited private barrier: not on this system.
#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
fn register() -> bool {
    false
}

/// The operation's side of G1: `true` for the asymmetric fence (what
/// [`init`] returned; the gate keeps a copy in the word of its stop flag),
/// `false` for a full fence.
#[inline]
pub(super) fn light(asymmetric: bool) {
    if asymmetric {
        compiler_fence(SeqCst);
    } else {
        fence(SeqCst);
    }
}

/// The collector's side of G1.
pub(super) fn heavy() {
    if ASYMMETRIC.load(Relaxed) {
        expedited();
    } else {
        fence(SeqCst);
    }
}

/// The process-wide barrier.
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn expedited() {
    const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    // SAFETY: as in `register`; registered, since `ASYMMETRIC` is set.
    let r = unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0) };
    // Registered, so it cannot fail; if it ever did, no operation could be
    // trusted to have seen the flag.
    assert!(r == 0, "sync gate: membarrier failed after registering");
}

/// The process-wide barrier: never chosen here.
#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
fn expedited() {
    unreachable!("sync gate: no asymmetric fence on this system")
}
