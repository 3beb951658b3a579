//! Trial deletion: which objects of a set are reachable from outside it.
//!
//! This is CPython's `deduce_unreachable`, over a vector instead of an
//! intrusive list:
//!
//! 1. copy each object's strong count into a scratch count (`refs`);
//! 2. trace each object and subtract one from the scratch count of every
//!    target inside the set: what stays above zero is referenced from outside;
//! 3. move those to the front, then extend the front with everything they
//!    reach (a breadth-first walk over the vector itself, no recursion).
//!
//! The front is reachable; the rest is garbage. Counts are never written, so a
//! panicking or lying `trace` cannot corrupt them.

use std::panic::{self, AssertUnwindSafe};

use crate::gc_box::{COUNT_MASK, DETACHED, LOC_MASK, Obj, PINNED, REACHABLE};
use crate::trace::{Mode, Tracer};

/// Partitions `tracer.work` into reachable (`work[..reached]`) and garbage.
///
/// Each object in `work` gets the location `tracer.set_loc` and its position
/// as its index. `extra` is subtracted from each copied count (the
/// collector's own reference, when re-examining garbage).
///
/// Returns the number of reachable objects. If a `trace` panics, every object
/// is treated as reachable and the panic payload is returned with it.
pub(crate) fn partition(
    tracer: &mut Tracer,
    extra: u32,
) -> (usize, Option<Box<dyn std::any::Any + Send>>) {
    let n = tracer.work.len();
    let loc = tracer.set_loc;
    tracer.refs.clear();
    tracer
        .refs
        .extend(tracer.work.iter().enumerate().map(|(i, obj)| {
            obj.set_index(i);
            obj.set_flags((obj.flags() & !(LOC_MASK | REACHABLE | PINNED)) | loc);
            (obj.counts().strong() & COUNT_MASK).saturating_sub(extra)
        }));
    tracer.reached = 0;

    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        subtract(tracer);
        mark(tracer);
    }));
    tracer.current = None;
    match result {
        Ok(()) => (tracer.reached, None),
        Err(payload) => {
            // The analysis is incomplete: keep everything.
            for obj in &tracer.work {
                obj.set_flags(obj.flags() | REACHABLE);
            }
            tracer.reached = n;
            (n, Some(payload))
        }
    }
}

/// Traces `obj` into `tracer`, unless `get_mut` detached it (its value may be
/// exclusively borrowed, invariant I5): then it is kept alive instead.
#[inline]
fn trace_one(tracer: &mut Tracer, obj: Obj) {
    if obj.counts().strong() & DETACHED != 0 {
        obj.set_flags(obj.flags() | PINNED);
        return;
    }
    tracer.current = Some(obj);
    let trace = obj.vtable().trace;
    // SAFETY: `obj` is in the examined set, so it is allocated (the collector
    // holds it in `work`; frees of set members are deferred, I1), its value is
    // initialised (I2), and it is not detached (checked above, I5).
    unsafe { trace(obj, tracer) };
}

/// Step 2: subtract the edges inside the set from the scratch counts.
fn subtract(tracer: &mut Tracer) {
    tracer.mode = Mode::Subtract;
    // `trace` may not add to `work` (only `Mark` moves within it).
    for i in 0..tracer.work.len() {
        let obj = tracer.work[i];
        trace_one(tracer, obj);
    }
}

/// Step 3: move the externally referenced objects to the front, then extend
/// the front with everything reachable from it.
fn mark(tracer: &mut Tracer) {
    tracer.mode = Mode::Mark;
    for i in 0..tracer.work.len() {
        let obj = tracer.work[i];
        let f = obj.flags();
        if f & REACHABLE == 0 && (tracer.refs[i] > 0 || f & PINNED != 0) {
            obj.set_flags(f | REACHABLE);
            // Positions before `i` are all reached already, so the swap only
            // moves an unvisited object forward into slot `i`.
            swap_to_front(tracer, obj);
        }
    }
    let mut scan = 0;
    while scan < tracer.reached {
        let obj = tracer.work[scan];
        trace_one(tracer, obj);
        scan += 1;
    }
}

fn swap_to_front(tracer: &mut Tracer, obj: Obj) {
    let p = obj.index();
    let r = tracer.reached;
    let other = tracer.work[r];
    tracer.work.swap(p, r);
    tracer.refs.swap(p, r);
    other.set_index(p);
    obj.set_index(r);
    tracer.reached = r + 1;
}
