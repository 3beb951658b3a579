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

use std::panic::{self, AssertUnwindSafe};

use crate::gc_box::{COUNT_MASK, DETACHED, FINALIZED, HAS_FINALIZER, LOC_MASK, Obj, REACHABLE};
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
    /// Some object of the set has a finalizer that has not run.
    pub(crate) finalizers: bool,
}

/// Partitions `tracer.work` into reachable (`work[..reached]`) and garbage.
///
/// Each object in `work` gets the location `tracer.set_loc` and its position
/// as its index. If a `trace` panics, every object is treated as reachable
/// and the panic payload is returned.
pub(crate) fn partition(tracer: &mut Tracer, start: Start) -> Partition {
    let n = tracer.work.len();
    let loc = tracer.set_loc;
    let mut finalizers = false;
    tracer.refs.clear();
    tracer.refs.reserve(n);
    for (i, &obj) in tracer.work.iter().enumerate() {
        obj.set_index(i);
        let f = obj.flags();
        finalizers |= f & HAS_FINALIZER != 0 && f & FINALIZED == 0;
        obj.set_flags((f & !(LOC_MASK | REACHABLE)) | loc);
        let c = obj.counts();
        let s = c.strong();
        let count = s & COUNT_MASK;
        tracer.refs.push(match start {
            Start::Fresh => {
                // Fits: handles stop at `MAX_HANDLES`, one below the mask.
                c.set_strong(s + 1);
                count
            }
            Start::Recheck => count.saturating_sub(1),
        });
    }
    tracer.reached = 0;
    tracer.unreadable = false;

    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        subtract(tracer);
        mark(tracer);
    }));
    tracer.current = None;
    match result {
        Ok(()) if tracer.unreadable => {
            // A value read when subtracting could not be read when marking:
            // the analysis is incomplete, keep everything.
            keep_all(tracer);
            Partition {
                reached: n,
                panic: None,
                finalizers,
            }
        }
        Ok(()) => Partition {
            reached: tracer.reached,
            panic: None,
            finalizers,
        },
        Err(payload) => {
            // The analysis is incomplete: keep everything.
            keep_all(tracer);
            Partition {
                reached: n,
                panic: Some(payload),
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

/// The last check before the values of `garbage` (each holding the
/// collector's count) are dropped: trace it all once more and make sure the
/// traces account for every handle to every garbage object, each handle
/// reported once, and that no count changed meanwhile.
///
/// Trial deletion trusts `trace`; this check is what makes a wrong one (an
/// edge reported twice, a `trace` that clones, moves or hides handles, a
/// cell borrowed half-way through) unable to get a value dropped while a
/// handle outside the garbage, or a reference taken from one, still uses it.
/// If the check fails, nothing is dropped: the caller keeps the garbage.
/// The first panic of a `trace` goes to `panics` (and fails the check).
pub(crate) fn verify(
    garbage: &[Obj],
    set_loc: u32,
    panics: &mut Option<Box<dyn std::any::Any + Send>>,
) -> bool {
    let n = garbage.len();
    let mut tracer = Tracer::new(Mode::Verify, set_loc);
    let mut want = Vec::with_capacity(n);
    tracer.slots.reserve(n + 1);
    let mut total = 0;
    for (i, &obj) in garbage.iter().enumerate() {
        debug_assert_eq!(obj.flags() & LOC_MASK, set_loc);
        obj.set_index(i);
        // Every handle but the collector's own must be inside the garbage.
        let k = (obj.counts().strong() & COUNT_MASK) - 1;
        want.push(k);
        tracer.slots.push(total);
        if k >= 2 {
            total += k as usize;
        }
    }
    tracer.slots.push(total);
    tracer.refs = want.clone();
    tracer.handles = vec![0; total];

    let r = panic::catch_unwind(AssertUnwindSafe(|| {
        for &obj in garbage {
            if obj.counts().strong() & DETACHED != 0 {
                tracer.unreadable = true;
                return;
            }
            tracer.current = Some(obj);
            let trace = obj.vtable().trace;
            // SAFETY: the collector holds a count on `obj`, so it is
            // allocated (I1); its value is initialised (I2: it is not dead
            // yet) and not exclusively borrowed (checked above, I5).
            unsafe { trace(obj, &mut tracer) };
        }
    }));
    if let Err(p) = r {
        panics.get_or_insert(p);
        return false;
    }
    if tracer.unreadable {
        return false;
    }
    for (i, &obj) in garbage.iter().enumerate() {
        // Every handle found, and none made or dropped while tracing.
        if tracer.refs[i] != 0 || (obj.counts().strong() & COUNT_MASK) - 1 != want[i] {
            return false;
        }
        // Each found once: handles are distinct memory.
        let seen = &mut tracer.handles[tracer.slots[i]..tracer.slots[i + 1]];
        if seen.len() == 2 {
            if seen[0] == seen[1] {
                return false;
            }
        } else if !seen.is_empty() {
            seen.sort_unstable();
            if seen.windows(2).any(|w| w[0] == w[1]) {
                return false;
            }
        }
    }
    true
}

/// Traces `obj` into `tracer`, unless `get_mut` detached it (its value may be
/// exclusively borrowed, invariant I5): then it is kept alive instead.
#[inline]
fn trace_one(tracer: &mut Tracer, obj: Obj) {
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
