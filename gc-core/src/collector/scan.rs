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
//! The front is reachable; the rest is garbage. The strong counts are only
//! read (besides the collector's own +1 on each object of the set, which
//! keeps them all allocated), so a panicking or lying `trace` cannot corrupt
//! them.
//!
//! Trial deletion trusts `trace`: were a handle to a garbage object reported
//! that is not really inside the garbage, the object's value would be
//! dropped while that handle (or a reference taken from it) is in use. So
//! the analysis also checks that the traces are consistent, and keeps the
//! whole set if not:
//!
//! - an edge reported more often than its target has handles keeps the
//!   target (`KEEP`); a trace that reports one handle twice (told apart by
//!   address) fails the analysis;
//! - every reachable object is traced twice (subtracting, then marking):
//!   the checksums of the in-set edges it reported (18 bits, kept in its
//!   head) must agree, so a trace that changed, or hid or moved a handle, in
//!   between fails the analysis (but for a 2^-18 chance of a matching
//!   checksum); so does a value read when subtracting and unreadable when
//!   marking;
//! - every object of the set is marked dead while it is examined (until it
//!   is found reachable), so a handle a `trace` clones from one takes
//!   `Clone`'s slow path, which counts it (`made_while_examined`): such a
//!   handle is not accounted for, and fails the analysis; a handle dropped
//!   meanwhile can only lower a count, never make an object look garbage.
//!
//! What no check can see is a `trace` that reports a handle its value does
//! not own (one kept in a thread-local, a leaked box, or another object), or
//! that moves a handle as it reports it.

use std::panic::{self, AssertUnwindSafe};

use super::heap;
use crate::gc_box::{
    COUNT_MASK, DEAD, DETACHED, FINALIZED, HAS_FINALIZER, LOC_MASK, Obj, REACHABLE, SUM_MASK,
};
use crate::trace::{Mode, Tracer};

/// The scratch count of an object that must be kept for this analysis
/// (part of it could not be read, or an edge to it was reported too often).
pub(crate) const KEEP: u32 = u32::MAX;

/// The scratch count of an object whose value could not be read while
/// subtracting (a mutably borrowed `RefCell`): kept, and its edges are
/// neither subtracted nor marked.
pub(crate) const UNREAD: u32 = u32::MAX - 1;

/// How the examined set is held.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Start {
    /// A fresh set: the collector takes one strong count on each object now
    /// and keeps it until the object is promoted or disposed of, so no
    /// object of the set can be freed while the collector works.
    Fresh,
    /// Garbage already holding the collector's count (the resurrection
    /// check).
    Recheck,
}

/// What [`partition`] found.
pub(crate) struct Partition {
    /// `work[..reached]` is reachable.
    pub(crate) reached: usize,
    /// A `trace` panicked: everything was kept.
    pub(crate) panic: Option<Box<dyn std::any::Any + Send>>,
    /// The traces contradicted each other: everything was kept.
    pub(crate) inconsistent: bool,
    /// Some object of the set has a finalizer that has not run.
    pub(crate) finalizers: bool,
}

/// Partitions `tracer.work` into reachable (`work[..reached]`) and garbage.
///
/// Each object in `work` gets the location `tracer.set_loc` and its position
/// as its index, and is marked dead: the caller makes the reachable ones
/// live again, and drops the rest (or makes them live again too). If a
/// `trace` panics, or the traces contradict each other, every object is
/// treated as reachable (and the panic payload is returned).
pub(crate) fn partition(tracer: &mut Tracer, start: Start) -> Partition {
    let n = tracer.work.len();
    let loc = tracer.set_loc;
    let mut finalizers = false;
    tracer.refs.clear();
    tracer.refs.reserve(n);
    tracer.unreadable = false;
    for (i, &obj) in tracer.work.iter().enumerate() {
        obj.set_index(i);
        let f = obj.flags();
        finalizers |= f & HAS_FINALIZER != 0 && f & FINALIZED == 0;
        obj.set_flags((f & !(LOC_MASK | REACHABLE)) | loc);
        let c = obj.counts();
        let s = c.strong();
        let count = s & COUNT_MASK;
        let others = match start {
            Start::Fresh => {
                // Fits: handles stop at `MAX_HANDLES`, one below the mask.
                c.set_strong((s + 1) | DEAD);
                count
            }
            Start::Recheck => {
                c.set_strong(s | DEAD);
                count.saturating_sub(1)
            }
        };
        tracer.refs.push(others);
    }
    tracer.reached = 0;
    let heap = heap::heap();
    let made = heap.made_while_examined.get();

    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        subtract(tracer);
        mark(tracer);
    }));
    tracer.current = None;
    tracer.seen = Vec::new();
    match result {
        Ok(()) if tracer.unreadable || heap.made_while_examined.get() != made => {
            keep_all(tracer);
            Partition {
                reached: n,
                panic: None,
                inconsistent: true,
                finalizers,
            }
        }
        Ok(()) => Partition {
            reached: tracer.reached,
            panic: None,
            inconsistent: false,
            finalizers,
        },
        Err(payload) => {
            // The analysis is incomplete: keep everything.
            keep_all(tracer);
            Partition {
                reached: n,
                panic: Some(payload),
                inconsistent: false,
                finalizers,
            }
        }
    }
}

fn keep_all(tracer: &Tracer) {
    for obj in &tracer.work {
        obj.set_flags(obj.flags() | REACHABLE);
    }
}

/// Traces `obj` into `tracer`, unless `get_mut` detached it (its value may be
/// exclusively borrowed, invariant I5): then it is kept alive instead.
#[inline]
fn trace_one(tracer: &mut Tracer, obj: Obj) {
    tracer.sum = 0;
    if obj.counts().strong() & DETACHED != 0 {
        if tracer.mode == Mode::Subtract {
            tracer.refs[obj.index()] = KEEP;
        }
        return;
    }
    tracer.current = Some(obj);
    let trace = obj.vtable().trace;
    // SAFETY: `obj` is in the examined set, so it is allocated (the
    // collector holds a count on it, I1), its value is initialised (I2), and
    // it is not detached (checked above, I5).
    unsafe { trace(obj, tracer) };
}

/// Step 2: subtract the edges inside the set from the scratch counts.
fn subtract(tracer: &mut Tracer) {
    tracer.mode = Mode::Subtract;
    // `trace` may not add to `work` (only `Mark` moves within it).
    for i in 0..tracer.work.len() {
        let obj = tracer.work[i];
        trace_one(tracer, obj);
        obj.set_flags((obj.flags() & !SUM_MASK) | fold(tracer.sum));
        let seen = &mut tracer.seen;
        let twice = match seen.len() {
            0 | 1 => false,
            2 => seen[0] == seen[1],
            _ => {
                seen.sort_unstable();
                seen.windows(2).any(|w| w[0] == w[1])
            }
        };
        seen.clear();
        if twice {
            // One handle reported twice.
            tracer.unreadable = true;
        }
    }
}

/// Step 3: move the externally referenced objects to the front, then extend
/// the front with everything reachable from it.
fn mark(tracer: &mut Tracer) {
    tracer.mode = Mode::Mark;
    // Only the scratch counts are read here: garbage is not touched.
    for i in 0..tracer.work.len() {
        if tracer.refs[i] != 0 {
            // Positions before `i` are all visited, so the swap only moves a
            // visited non-root into slot `i`.
            let obj = tracer.work[i];
            obj.set_flags(obj.flags() | REACHABLE);
            swap_to_front(tracer, obj);
        }
    }
    let mut scan = 0;
    while scan < tracer.reached {
        let obj = tracer.work[scan];
        trace_one(tracer, obj);
        if fold(tracer.sum) != obj.flags() & SUM_MASK {
            // Its edges changed since they were subtracted.
            tracer.unreadable = true;
        }
        scan += 1;
    }
}

/// The top 18 bits of an edge checksum, where `SUM_MASK` keeps them.
#[inline]
fn fold(sum: u64) -> u32 {
    let top = (sum >> 46) as u32;
    top << 14
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
