//! Disposing of cyclic garbage, in PEP 442's order:
//!
//! 1. clear weak references to the garbage (the collector already holds a
//!    count on every object, so nothing is freed under its feet);
//! 2. run each finalizer once, with all the garbage still intact;
//! 3. if any finalizer ran, examine the garbage again: what a finalizer
//!    resurrected, and all it reaches, survives;
//! 4. with all of the rest marked dead (since the analysis, so that no
//!    `Drop` can borrow a value dropped after it), drop the values one by
//!    one, giving
//!    back the collector's count right after each: a block without handles
//!    is freed, a block still referenced (by garbage not yet dropped, or by
//!    a dead handle) waits for its last handle.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use super::DebugFlags;
use super::heap::Heap;
use super::release;
use crate::gc_box::HeadPtr;
use crate::header::{Flag, LOC_GARBAGE};
use crate::trace::{Mode, Tracer};

/// Where the objects that survive go, and bookkeeping for them.
pub(crate) struct Survivors<'a> {
    pub(crate) heap: &'a Heap,
    /// Generation list that survivors join.
    pub(crate) list: usize,
}

/// Disposes of `garbage`, on each of which the collector holds a count and
/// which the analysis marked dead. `finalizers` says whether any of them may
/// have a finalizer to run.
/// Returns what became of them; the first panic a user callback raised
/// goes to `panics`.
///
/// # Safety
///
/// - `garbage` is what an analysis of this collection judged garbage: each
///   object is in the working set, holds the collector's count (I7), is
///   marked dead (S1), is not detached, and no usable reference into its
///   value exists (S5);
/// - `to.heap` is this thread's heap.
pub(crate) unsafe fn dispose(
    garbage: &[HeadPtr],
    finalizers: bool,
    to: &Survivors<'_>,
    panics: &mut Option<Box<dyn Any + Send>>,
) -> Disposed {
    let mut out = Disposed::default();
    if garbage.is_empty() {
        return out;
    }
    let flags = to.heap.debug.get();
    let debugging = flags & (DebugFlags::COLLECTABLE.bits() | DebugFlags::SAVE_ALL.bits()) != 0;
    if !finalizers && !debugging {
        // The usual case: no finalizer runs before the drops, so the
        // garbage keeps its working-set location; it is dead since the
        // analysis, so `Weak::upgrade` fails for it.
        // SAFETY: judged garbage, dead, holding the collector's count (this
        // fn's Safety: I7, S1, S5), and no user code ran since (S6).
        unsafe { drop_all(to.heap, garbage, panics) };
        out.collected = garbage.len();
        return out;
    }

    // 1. Weak references cleared.
    for (i, &obj) in garbage.iter().enumerate() {
        obj.set_index(i);
        // Clearing starts a new weak epoch: the `Weak`s made so far never
        // upgrade again, even if the object is resurrected.
        obj.set_flags(obj.flags().with_loc(LOC_GARBAGE).cleared_anew());
        // Live while finalizers run and the garbage is inspected.
        obj.set_dead(false);
    }

    // 2. Finalizers, with every garbage value intact.
    let mut finalized_any = false;
    for &obj in garbage.iter().filter(|_| finalizers) {
        let f = obj.flags();
        if f.has(Flag::HasFinalizer) && !f.has(Flag::Finalized) {
            obj.set_flags(f.with(Flag::Finalized));
            finalized_any = true;
            // SAFETY: the collector holds a count, so the object is allocated
            // (I7, I1), and its value is initialised (not dropped yet, I2)
            // and never borrowed by a `&mut`: a working-set object is not
            // detached (I5).
            let r = panic::catch_unwind(AssertUnwindSafe(|| unsafe { obj.finalize() }));
            note_panic(panics, r);
        }
    }

    // 3. Resurrection check.
    let mut rest = garbage.to_vec();
    if finalized_any {
        let mut tracer = Tracer::new(Mode::Record, LOC_GARBAGE);
        tracer.work = rest;
        let found = super::scan::partition(&mut tracer, super::scan::Start::Recheck);
        if let Some(p) = found.panic {
            panics.get_or_insert(p);
        }
        rest = tracer.work.split_off(found.reached);
        out.rejected = tracer.rejected;
        super::note_rejected(to.heap, &tracer.rejected_by);
        // SAFETY: the resurrected part of the garbage: each object still
        // holds the collector's count (this fn's Safety, I7), its value is
        // initialised (I2) and it is in no list (I4).
        out.resurrected = unsafe { keep(to, &tracer.work) };
        for (i, &obj) in rest.iter().enumerate() {
            obj.set_index(i);
        }
        // SAFETY: the tracer took a count on each object it found detached
        // (I7), given back once here.
        unsafe { super::retrack(tracer.discovered) };
    }

    if flags & DebugFlags::COLLECTABLE.bits() != 0 {
        for &obj in &rest {
            eprintln!(
                "gc: collectable <{} {:#x}>",
                obj.type_name(),
                obj.box_addr()
            );
        }
    }
    if flags & DebugFlags::SAVE_ALL.bits() != 0 {
        // Keep the garbage for inspection: back into the survivors' list,
        // with the collector's count now held by the saved list.
        // SAFETY: garbage not yet dropped (I2), not detached (I5), in no
        // list (I4), each holding the collector's count, which passes to the
        // saved list (I7).
        unsafe { to.heap.place(&rest, to.list_loc()) };
        for &obj in &rest {
            obj.set_dead(false);
            to.heap.saved.push(obj);
        }
        out.collected = rest.len();
        return out;
    }

    // 4. Drop the values, giving back the collector's count after each;
    // first all are marked dead (again, if the re-check ran).
    for &obj in &rest {
        obj.set_dead(true);
    }
    // SAFETY: the garbage that no finalizer resurrected (the re-check is a
    // fresh analysis, S6), dead again, each holding the collector's count
    // (this fn's Safety: I7, S5).
    unsafe { drop_all(to.heap, &rest, panics) };
    out.collected = rest.len();
    out
}

/// What [`dispose`] did with the garbage.
#[derive(Default)]
pub(crate) struct Disposed {
    /// Objects whose values were dropped (or saved by `SAVE_ALL`).
    pub(crate) collected: usize,
    /// Objects a finalizer resurrected.
    pub(crate) resurrected: usize,
    /// Edges the resurrection check rejected.
    pub(crate) rejected: usize,
}

/// Moves `objs` (garbage holding the collector's count) to the survivors'
/// list, live, and gives back the collector's count. Returns how many.
///
/// # Safety
///
/// - Each object of `objs` is in the working set, holds the collector's
///   count (I7), its value is initialised (I2), and it is not detached (I5).
unsafe fn keep(to: &Survivors<'_>, objs: &[HeadPtr]) -> usize {
    // SAFETY: initialised, not detached, in no list (this fn's Safety: I2,
    // I4, I5); the collector's count keeps each allocated until it is given
    // back below, through the release path (I7).
    unsafe { to.heap.place(objs, to.list_loc()) };
    for &obj in objs {
        obj.set_flag(Flag::Cleared, false);
        obj.set_dead(false);
        // SAFETY: the collector took this count in `partition` (this fn's
        // Safety, I7) and gives it back once, here.
        unsafe { release::release_collector_ref(obj) };
    }
    objs.len()
}

/// Drops each value (all are marked dead), giving back the collector's
/// count after each; a panic does not stop the others. No value is dropped
/// before all are dead, so no `Drop` can borrow a value that is dropped
/// after it (a dead handle cannot be dereferenced).
///
/// # Safety
///
/// - `garbage` is garbage of this collection, as for [`dispose`]: each
///   object holds the collector's count (I7), is marked dead (S6) and has
///   no usable reference into its value (S5); each appears once.
unsafe fn drop_all(h: &Heap, garbage: &[HeadPtr], panics: &mut Option<Box<dyn Any + Send>>) {
    let mut next = 0;
    while next < garbage.len() {
        // One unwinding guard for the whole run; after a panic, go on with
        // the object after the one that panicked.
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            while next < garbage.len() {
                let obj = garbage[next];
                next += 1;
                // SAFETY: garbage of this collection, each dropped once
                // (`next` moves past it first), dead (this fn's Safety: I7,
                // S5, S6).
                unsafe { drop_garbage(h, obj) };
            }
        }));
        note_panic(panics, r);
    }
}

/// Drops a garbage object's value (already marked dead), then gives back
/// the collector's count.
///
/// # Safety
///
/// - `obj` is garbage of this collection: it holds the collector's count
///   (I7), its value is initialised and no usable reference into it exists
///   (S5), it is marked dead (S6), and this is its one drop.
unsafe fn drop_garbage(h: &Heap, obj: HeadPtr) {
    debug_assert!(obj.counts().is_dead(), "soundness step S6");
    // Gives the count back even if the value's drop panics.
    // SAFETY: the collector's count on `obj` (this fn's Safety, I7) passes
    // to the guard.
    let release = unsafe { CollectorRef::new(obj) };
    // SAFETY: the value is initialised and dropped this once: it is marked
    // dead, and the collector's count keeps anyone else from dropping it
    // (I2, I7). No usable reference into it exists (soundness step S5), and
    // none can be made while it is dead (S6).
    unsafe { obj.drop_value() };
    drop(release);
    if h.trashcan_len() != 0 {
        release::drain_trashcan(h);
    }
}

/// The collector's count on a garbage object, given back on drop.
struct CollectorRef(HeadPtr);

impl CollectorRef {
    /// The guard of the collector's count on `obj`.
    ///
    /// # Safety
    ///
    /// - The collector holds a count on `obj` (I7) and hands it to the
    ///   guard, which gives it back once.
    unsafe fn new(obj: HeadPtr) -> CollectorRef {
        CollectorRef(obj)
    }
}

impl Drop for CollectorRef {
    fn drop(&mut self) {
        // SAFETY: the guard owns the collector's count (`CollectorRef::new`'s
        // Safety, I7), taken in `partition`, and gives it back once, here.
        unsafe { release::release_collector_ref(self.0) };
    }
}

impl Survivors<'_> {
    fn list_loc(&self) -> u32 {
        #[expect(clippy::cast_possible_truncation, reason = "list numbers are 0..4")]
        let loc = self.list as u32;
        loc
    }
}

/// Keeps the first panic of a collection.
pub(crate) fn note_panic(slot: &mut Option<Box<dyn Any + Send>>, r: std::thread::Result<()>) {
    if let Err(p) = r {
        slot.get_or_insert(p);
    }
}
