//! Thread exit: the exit guard that collects the remaining garbage and
//! releases the heap's lists when the thread ends, and its registration.

use std::panic::{self, AssertUnwindSafe};

use super::heap::{Heap, with_heap};
use super::{DebugFlags, EXIT_PASSES, release, run, unfreeze};
use crate::gc_box::HeadPtr;
use crate::header::{LOC_NONE, LOC_PERM};

/// Gives back the count that the garbage kept by `DebugFlags::SAVE_ALL`
/// holds on each object, as dropping `debug::Garbage` handles to them
/// would: a panicking `Drop` does not stop the others.
fn release_saved(h: &Heap) {
    /// After a panicking release, releases the objects not yet released.
    struct Rest(std::vec::IntoIter<HeadPtr>);

    impl Drop for Rest {
        fn drop(&mut self) {
            for obj in self.0.by_ref() {
                // SAFETY: each saved object holds one strong count (I7),
                // given back once as it leaves the iterator.
                unsafe { release::release_held(obj) };
            }
        }
    }

    let mut rest = Rest(h.saved.take().into_iter());
    for obj in rest.0.by_ref() {
        // SAFETY: each saved object holds one strong count (I7), given back
        // once as it leaves the iterator.
        unsafe { release::release_held(obj) };
    }
}

/// Thread exit: collect the remaining garbage (a bounded number of times),
/// then release the lists. Objects still alive stay valid and untracked.
pub(crate) fn teardown(h: &Heap) {
    if h.collecting.get() {
        return;
    }
    unfreeze();
    // Saved garbage is released so the exit collection can free it.
    DebugFlags::empty().set_on(h);
    release_saved(h);
    for _ in 0..EXIT_PASSES {
        let r = panic::catch_unwind(AssertUnwindSafe(|| run(h, 2)));
        if matches!(r, Ok(0)) {
            break;
        }
    }
    h.torn_down.set(true);
    h.trigger.set(usize::MAX);
    release::drop_candidates(h);
    for g in 0..=LOC_PERM {
        for obj in h.gather(g) {
            obj.set_loc(LOC_NONE);
        }
    }
    let callbacks = core::mem::take(&mut h.state.borrow_mut().callbacks);
    drop(callbacks);
    // The rejected-edge table goes with the heap (nothing frees it later).
    drop(core::mem::take(&mut h.state.borrow_mut().rejected_by));
    drop(h.pending.take());
    drop(h.take_scratch());
    release::drain_trashcan(h);
    debug_assert!((0..=LOC_PERM).all(|g| h.len(g) == 0));
    h.slab.close();
}

/// Runs the exit collection and releases the lists when the thread ends.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        with_heap(teardown);
    }
}

thread_local! {
    static EXIT: ExitGuard = const { ExitGuard };
}

/// Makes sure the exit guard runs at thread exit (collecting the remaining
/// garbage and giving memory back).
#[inline]
pub(crate) fn register_exit(h: &Heap) {
    if !h.guard_registered.get() {
        register_exit_slow(h);
    }
}

#[cold]
fn register_exit_slow(h: &Heap) {
    h.guard_registered.set(true);
    // Registers the exit guard's destructor. If the guard is already gone,
    // there is nothing to register.
    let _ = EXIT.try_with(|_| ());
}
