//! What happens when a count reaches zero: the value is finalized (once),
//! dropped and the block freed, or the free is queued (the trashcan for deep
//! nesting, the pending list while the collector holds the object); and the
//! one "last weak count frees the block" path every kind of box shares.

use core::alloc::Layout;
use core::ptr::NonNull;
use std::panic::{self, AssertUnwindSafe};

use super::heap::{self, Heap, TRASHCAN_DEPTH, heap, with_heap};
use crate::gc_box::{GcBox, HeadPtr, counts, free_block, head_of};
use crate::header::{
    Flag, Flags, LOC_GARBAGE, LOC_GEN0, LOC_GEN1, LOC_GEN2, LOC_NONE, LOC_PERM, LOC_WORK,
};

/// The last strong handle of a head-ful object is gone: finalize, drop and
/// free it, or queue that if the collector is examining the object or drops
/// are nested too deep.
///
/// # Safety
///
/// - `obj` is allocated (I9), its strong count is zero, and this is its one
///   release: the strong handles' weak count is still held, and passes to
///   this call (I1, I2).
#[inline]
pub(crate) unsafe fn release_zero(obj: HeadPtr) {
    let drop_value = || {
        // SAFETY: the vtable's drop is the object's own (I3); called once,
        // on an initialised value nothing reads again
        // (`release_zero_with`'s Safety).
        unsafe { obj.drop_value() }
    };
    // SAFETY: this fn's Safety, which is `release_zero_with`'s.
    unsafe { release_zero_with(obj, drop_value) };
}

/// [`release_zero`], with `drop_value` dropping the value on the usual path
/// (the last handle's drop knows the value's type, so it need not go
/// through the vtable).
///
/// # Safety
///
/// - As for [`release_zero`];
/// - `drop_value` drops `obj`'s value in place (it is called at most once,
///   when the value is initialised and nothing reads it again, I2).
#[inline]
pub(crate) unsafe fn release_zero_with(obj: HeadPtr, drop_value: impl FnOnce()) {
    debug_assert_eq!(obj.counts().strong_count(), 0);
    let f = obj.flags();
    let loc = f.loc();
    let h = heap();
    let depth = h.depth.get();
    // Every unusual case in one test: held by the collector or queued
    // already, a finalizer, a dead value, deep nesting.
    if loc == LOC_WORK
        || loc == LOC_GARBAGE
        || f.has(Flag::Pending)
        || f.has(Flag::HasFinalizer)
        || depth >= TRASHCAN_DEPTH
        || obj.counts().is_dead()
    {
        // SAFETY: this fn's Safety (count zero, one release, I2); `f` is the
        // object's flags and `depth` the heap's.
        unsafe { release_zero_unusual(h, obj, f, depth) };
        return;
    }
    h.unlist(obj);
    // Give back the strong handles' weak count and restore the depth
    // (draining the queue at depth 0), also if the drop panics.
    // SAFETY: this release owns the strong handles' weak count (this fn's
    // Safety, I1) and hands it to the guard; `depth` is `h`'s depth, which
    // is raised below while the value drops.
    let _release = unsafe { ReleaseAt::new(h, obj, depth) };
    h.depth.set(depth + 1);
    // The value is initialised (not dead, checked above) and dropped this
    // once: the count is zero, this is its one release and the object is in
    // no working set (I2, I7); no handle remains to reach it (this fn's
    // Safety on `drop_value`).
    drop_value();
}

/// The usual end of a release: gives back the strong handles' weak count
/// of an object whose value was just dropped (freeing the block if no
/// `Weak` remains), then restores the heap's nesting depth and drains the
/// trashcan once back at depth 0, also when the drop panics. (What
/// [`ReleaseWeak`] and [`DepthGuard`] do in that order, with one guard.)
struct ReleaseAt<'a> {
    h: &'a Heap,
    obj: HeadPtr,
    depth: u32,
}

impl<'a> ReleaseAt<'a> {
    /// A guard that gives back `obj`'s strong handles' weak count and then
    /// restores `h`'s depth to `depth`.
    ///
    /// # Safety
    ///
    /// - As for [`ReleaseWeak::new`], with `h` this thread's heap;
    /// - `depth` is the nesting depth to restore.
    #[inline]
    unsafe fn new(h: &'a Heap, obj: HeadPtr, depth: u32) -> Self {
        ReleaseAt { h, obj, depth }
    }
}

impl Drop for ReleaseAt<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard owns the strong handles' weak count, and the
        // value is gone by now (`ReleaseAt::new`'s Safety, I1, I2); `h` is
        // this thread's heap.
        unsafe { release_weak(self.h, self.obj) };
        self.h.depth.set(self.depth);
        if self.depth == 0 && self.h.trashcan.len() != 0 {
            drain_trashcan(self.h);
        }
    }
}

/// [`release_zero_with`] when the collector holds `obj` or its free is
/// queued already (it is deferred), or it has a finalizer, its value is
/// dead or drops are nested deep ([`release_zero_slow`]).
///
/// # Safety
///
/// - As for [`release_zero`];
/// - `f` is `obj`'s flags, and `depth` is `h`'s current nesting depth.
#[cold]
#[inline(never)]
unsafe fn release_zero_unusual(h: &Heap, obj: HeadPtr, f: Flags, depth: u32) {
    let loc = f.loc();
    if loc == LOC_WORK || loc == LOC_GARBAGE || f.has(Flag::Pending) {
        // The collector holds it, or its free is already queued.
        defer_pending(obj, f);
        return;
    }
    if obj.counts().is_dead() {
        // The collector dropped the value (the usual end of cyclic garbage
        // whose last handle was in another garbage value): nothing to
        // finalize or drop, so nothing nests; `destroy` would do just this.
        h.unlist(obj);
        // SAFETY: the count is zero and this is its one release (this fn's
        // Safety, I2), so the strong handles' weak count is ours to give
        // back; the value is gone (dead, I2).
        unsafe { release_weak(h, obj) };
        return;
    }
    // SAFETY: this fn's Safety (count zero, one release, I2); the object is
    // in no working set and not pending (just checked), and `depth` is the
    // heap's.
    unsafe { release_zero_slow(h, obj, depth) };
}

/// The collector holds `obj` in its working set (or its free is queued
/// already): it is freed once the collection is done, from the pending list
/// (I8).
#[cold]
fn defer_pending(obj: HeadPtr, f: Flags) {
    if !f.has(Flag::Pending) {
        obj.set_flags(f.with(Flag::Pending));
        heap::with_heap(|h| h.pending.push(obj));
    }
}

/// `release_zero` for deep nesting, finalizers and dead values.
///
/// # Safety
///
/// - As for [`release_zero`], and `obj` is in no working set and not
///   pending;
/// - `depth` is `h`'s current nesting depth.
#[cold]
#[inline(never)]
unsafe fn release_zero_slow(h: &Heap, obj: HeadPtr, depth: u32) {
    if depth >= TRASHCAN_DEPTH {
        h.unlist(obj);
        // Queued once, with a zero count, in no list (I8): this release's
        // weak count goes with it to `drain_trashcan`.
        debug_assert!(!obj.has(Flag::Pending));
        h.trashcan.push(obj);
        return;
    }
    h.depth.set(depth + 1);
    let guard = DepthGuard(h, depth);
    // SAFETY: the count is zero, the object is in no working set, and this
    // is its one release (this fn's Safety, I2, I7).
    unsafe { destroy(h, obj) };
    drop(guard);
}

/// Drops one weak count of a head-ful object (the one the strong handles
/// hold together, or a `Weak`'s), freeing the block if it was the last.
///
/// # Safety
///
/// - `obj` is allocated (I9), and the caller owns the weak count it gives
///   back, once (the strong handles' one only after the value was dropped
///   or moved out, I2);
/// - `h` is this thread's heap, and nothing uses `obj` after this call if
///   that count was the last (I1).
#[inline]
unsafe fn release_weak(h: &Heap, obj: HeadPtr) {
    if obj.counts().dec_weak() == 0 {
        debug_assert_eq!(obj.counts().strong_count(), 0, "invariant I1");
        let f = obj.flags();
        if f.has(Flag::Queued) {
            // The candidate queue still points to the block: it frees it
            // when it takes the entry out (`candidate_entry`).
            return;
        }
        // SAFETY: this fn's Safety: both counts are zero, so no handle of
        // either kind exists (I1), and the queue does not point to it.
        unsafe { free_object(h, obj, f) };
    }
}

/// Frees a head-ful object's block.
///
/// # Safety
///
/// - Both counts of `obj` are zero (no handle of either kind exists, I1),
///   its value was dropped or moved out (I2), nothing points to the block
///   any more (the candidate queue neither), and it is freed once;
/// - `f` is `obj`'s flags.
#[inline]
unsafe fn free_object(h: &Heap, obj: HeadPtr, f: Flags) {
    if f.has(Flag::Inline) {
        // SAFETY: both counts are zero: no handle remains, the value was
        // dropped (this fn's Safety, I1, I2); freed once, to this thread's
        // slab.
        unsafe { obj.dealloc(&h.slab) };
    } else {
        // SAFETY: both counts are zero, so no handle of either kind exists
        // (I1); a non-`INLINE` object is a typed slab block of this thread's
        // slab starting at its head (I3, I6), freed once (P2).
        unsafe { crate::slab::free_typed(obj.block(), || &h.slab) };
    }
}

/// Drops one weak count of the box at `ptr` (a `Weak`'s, or the one all
/// strong handles hold together), freeing the block if it was the last
/// count of either kind: the one "last weak count" path that `Weak::drop`,
/// head-less boxes and (through [`release_weak`]) head-ful ones share.
///
/// # Safety
///
/// - `ptr` points to an allocated box (I1), and the caller owns the weak
///   count it gives back, once;
/// - the value is initialised or was dropped in place (a head-less box's
///   layout is read from its metadata).
pub(crate) unsafe fn release_weak_count<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: the caller guarantees the box is allocated (this fn's Safety,
    // I1).
    let c = unsafe { counts(ptr) };
    if c.has_head() {
        // SAFETY: allocated (I1) and head-ful (I3); the `HeadPtr` is used
        // only by the release below (I9).
        let obj = unsafe { head_of(ptr) };
        // SAFETY: the caller owns the weak count it gives back, once (this
        // fn's Safety, I1); `heap()` is this thread's heap.
        unsafe { release_weak(heap(), obj) };
        return;
    }
    // SAFETY: allocated and head-less (checked above); the caller's count
    // (this fn's Safety).
    unsafe { release_weak_headless(ptr) };
}

/// [`release_weak_count`] for a box known to be head-less.
///
/// # Safety
///
/// - As for [`release_weak_count`], and the box has no head (I3).
#[inline]
pub(crate) unsafe fn release_weak_headless<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: the caller guarantees the box is allocated (this fn's Safety,
    // I1).
    let c = unsafe { counts(ptr) };
    debug_assert!(!c.has_head());
    if c.dec_weak() != 0 {
        return;
    }
    // SAFETY: the block is still allocated (I1: freed below); the value was
    // dropped in place or moved out, and is read again only for its layout
    // (I2): only the metadata is read.
    let layout = Layout::for_value(unsafe { ptr.as_ref() });
    // SAFETY: no handle of either kind remains (I1); a head-less block was
    // allocated with its box's layout from this thread's slab.
    unsafe { free_block(&heap().slab, ptr.cast(), layout) };
}

/// Restores the trashcan depth, also when a drop panics, and drains the
/// queue once back at depth 0.
struct DepthGuard<'a>(&'a Heap, u32);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.1);
        if self.1 == 0 && self.0.trashcan.len() != 0 {
            drain_trashcan(self.0);
        }
    }
}

/// Drops the queued objects, one nesting level at a time.
///
/// A panicking drop does not stop the others (as a panicking field drop does
/// not stop its siblings'): the first panic is resumed once the queue is
/// empty, unless the thread is already unwinding.
pub(crate) fn drain_trashcan(h: &Heap) {
    if h.depth.get() != 0 {
        return;
    }
    let mut first = None;
    while let Some(obj) = h.trashcan.pop() {
        h.depth.set(1);
        // SAFETY: a queued object has a zero count, is in no list and is
        // queued once (I8), holding the weak count of its one release.
        let r = panic::catch_unwind(AssertUnwindSafe(|| unsafe { destroy(h, obj) }));
        h.depth.set(0);
        if let Err(p) = r {
            first.get_or_insert(p);
        }
    }
    if h.torn_down.get() {
        // Nothing frees the queue's buffer after thread-local teardown.
        drop(h.trashcan.take());
    }
    if let Some(p) = first
        && !std::thread::panicking()
    {
        panic::resume_unwind(p);
    }
}

/// Finalizes (once), drops and releases an object whose count is zero and
/// that is in no working set.
///
/// # Safety
///
/// - As for [`release_zero`], and `obj` is in no working set and not
///   pending (I7, I8).
unsafe fn destroy(h: &Heap, obj: HeadPtr) {
    h.unlist(obj);
    // Releases the strong side's weak count even if the value's drop panics.
    // SAFETY: this release owns the strong handles' weak count (this fn's
    // Safety, I1) and hands it to the guard.
    let release = unsafe { ReleaseWeak::new(obj) };
    let c = obj.counts();
    if !c.is_dead() {
        let mut payload = None;
        let f = obj.flags();
        if f.has(Flag::HasFinalizer) && !f.has(Flag::Finalized) {
            obj.set_flags(f.with(Flag::Finalized));
            // SAFETY: the block is allocated (the weak count `release` holds,
            // I1), the value initialised (not dead, I2), and no handle exists
            // (count zero), so no `&mut` to it either (I5).
            payload = panic::catch_unwind(AssertUnwindSafe(|| unsafe { obj.finalize() })).err();
        }
        c.set_dead(true);
        // SAFETY: the value is initialised and dropped this once: `DEAD` is
        // now set, the count is zero and this is its one release (I2); no
        // handle remains to reach it.
        unsafe { obj.drop_value() };
        drop(release);
        if let Some(p) = payload {
            panic::resume_unwind(p);
        }
    }
}

/// Drops the weak count held by the strong handles together, freeing the
/// block if no `Weak` remains.
struct ReleaseWeak(HeadPtr);

impl ReleaseWeak {
    /// A guard that gives back `obj`'s strong handles' weak count.
    ///
    /// # Safety
    ///
    /// - `obj` is allocated (I9), its strong count is zero, and the caller
    ///   owns the strong handles' weak count (this is the object's one
    ///   release) and hands it to the guard;
    /// - the value is dropped (or was dead already) before the guard is.
    unsafe fn new(obj: HeadPtr) -> ReleaseWeak {
        ReleaseWeak(obj)
    }
}

impl Drop for ReleaseWeak {
    fn drop(&mut self) {
        // SAFETY: the guard owns the strong handles' weak count, and the
        // value is gone by now (`ReleaseWeak::new`'s Safety, I1, I2).
        unsafe { release_weak(heap(), self.0) };
    }
}

/// Drops the collector's own strong count (taken by `partition`) on an
/// object of a working set: a survivor, a resurrected object, or garbage.
///
/// # Safety
///
/// - `obj` is allocated (I9); the collector took that count (I7) and gives
///   it back once.
pub(crate) unsafe fn release_collector_ref(obj: HeadPtr) {
    let c = obj.counts();
    let left = c.dec_strong();
    let f = obj.flags();
    let held = matches!(f.loc(), LOC_WORK | LOC_GARBAGE);
    if held {
        // The collector is done with it: it is in no list now.
        obj.set_loc(LOC_NONE);
    }
    if left == 0 && !f.has(Flag::Pending) {
        if held && c.is_dead() {
            // The usual end of cyclic garbage: its value is gone and no
            // handle is left; free the block (unless a `Weak` holds it).
            // SAFETY: the value was dropped by the collector (dead, I2) and
            // no strong count is left, so the strong handles' weak count is
            // this release's to give back, once.
            heap::with_heap(|h| unsafe { release_weak(h, obj) });
        } else {
            // SAFETY: the count just reached zero and the object is in no
            // working set now (its collector's count gone, I7), so this is
            // its one release (I2).
            unsafe { release_zero(obj) };
        }
    }
}

/// Gives back one strong count that the crate's own code (not a handle)
/// took on `obj` (heap introspection, a detached object the tracer found),
/// and releases the object if that was the last count.
///
/// # Safety
///
/// - `obj` is allocated (I9), and the caller holds one strong count on it
///   (I7) that it gives back here, once.
pub(crate) unsafe fn release_held(obj: HeadPtr) {
    // Not a lost reference (invariant I10): the count was taken by the
    // crate and goes back, so the object's references are as before.
    if obj.counts().dec_strong() == 0 {
        // SAFETY: the count given back was the last one, and the caller
        // held it (this fn's Safety, I7), so this is the object's one
        // release (I2).
        unsafe { release_zero(obj) };
    }
}

/// Frees the objects whose count reached zero during the last analysis.
pub(crate) fn drain_pending(h: &Heap) {
    while let Some(obj) = h.pending.pop() {
        let f = obj.flags();
        obj.set_flags(f.without(Flag::Pending));
        debug_assert!(f.loc() != LOC_WORK && f.loc() != LOC_GARBAGE);
        if obj.counts().strong_count() == 0 {
            // SAFETY: a pending object is allocated (its release is still to
            // come, I8, I9); the count is zero, the collection that held it
            // is over (I7), and the `PENDING` entry was its one release (I2).
            unsafe { release_zero(obj) };
        }
    }
    if h.torn_down.get() {
        drop(h.pending.take());
    }
}

/// A decrement left `obj` (a `WATCHED`, head-ful object) with a count: it
/// may have become part of cyclic garbage, so it becomes a candidate
/// (invariant I10): young and frozen objects, and those being examined, get
/// `LOST`; older ones join the heap's candidate queue. Runs no user code.
#[cold]
#[inline(never)]
pub(crate) fn lost_ref(obj: HeadPtr) {
    let f = obj.flags();
    match f.loc() {
        LOC_GEN1 | LOC_GEN2 => with_heap(|h| enqueue(h, obj)),
        loc @ (LOC_GEN0 | LOC_PERM | LOC_WORK | LOC_GARBAGE) => {
            obj.counts().set_watched(false);
            obj.set_flags(f.with(Flag::Lost));
            if loc == LOC_GEN0 {
                with_heap(|h| h.young_lost.set(h.young_lost.get() + 1));
            }
        }
        _ => obj.counts().set_watched(false),
    }
}

/// Puts the old object `obj` in the candidate queue, unless it is there,
/// and clears `WATCHED` (it is queued once until it is examined again).
/// The queue's entry keeps the block allocated, not the value: an object
/// freed while queued leaves its block to the queue (`Flag::Queued`).
pub(crate) fn enqueue(h: &Heap, obj: HeadPtr) {
    obj.counts().set_watched(false);
    let f = obj.flags();
    if h.torn_down.get() || f.has(Flag::Queued) {
        return;
    }
    obj.set_flags(f.with(Flag::Queued));
    h.candidates.push(obj);
}

/// Puts the `LOST` objects of `objs`, just placed in an old generation,
/// in the candidate queue instead (I10: `LOST` marks young candidates).
pub(crate) fn queue_lost(h: &Heap, objs: &[HeadPtr]) {
    for &obj in objs {
        if obj.has(Flag::Lost) {
            obj.set_flag(Flag::Lost, false);
            enqueue(h, obj);
        }
    }
}

/// Whether a queued object is still a candidate: alive, in a generation
/// list, and not examined since it was queued (not `WATCHED`).
fn still_candidate(obj: HeadPtr) -> bool {
    let c = obj.counts();
    c.strong_count() != 0 && !c.is_dead() && !c.is_watched() && obj.loc() <= LOC_GEN2
}

/// An entry just taken out of the candidate queue: the object if it is
/// still a candidate; an entry whose object was freed meanwhile frees the
/// block it kept.
fn candidate_entry(h: &Heap, obj: HeadPtr) -> Option<HeadPtr> {
    obj.set_flag(Flag::Queued, false);
    let c = obj.counts();
    if c.strong_count() == 0 && c.weak_count() == 0 {
        // SAFETY: no handle of either kind is left (I1) and the value is
        // gone (I2); the entry just taken was the last pointer to it.
        unsafe { free_object(h, obj, obj.flags()) };
        return None;
    }
    still_candidate(obj).then_some(obj)
}

/// Takes candidates out of the queue until `n` were found, each taken out
/// of its generation list and marked `LOST` (a candidate in the set).
///
/// The oldest entries go first, so no candidate waits behind a stream of
/// newer ones.
pub(crate) fn take_candidates(h: &Heap, n: usize) -> Vec<HeadPtr> {
    let mut queue = h.candidates.take();
    let mut out = Vec::with_capacity(n.min(queue.len()));
    let mut used = 0;
    for &obj in &queue {
        if out.len() == n {
            break;
        }
        used += 1;
        if let Some(obj) = candidate_entry(h, obj) {
            h.unlist_quiet(obj);
            obj.set_flags(obj.flags().with(Flag::Lost));
            out.push(obj);
        }
    }
    queue.drain(..used);
    h.candidates.put_back(queue);
    out
}

/// Empties the candidate queue (a full collection examines them all, and
/// thread exit), freeing the blocks it kept.
pub(crate) fn drop_candidates(h: &Heap) {
    // The buffer goes too (the heap has no drop glue to free it at exit).
    for obj in h.candidates.take() {
        candidate_entry(h, obj);
    }
}
