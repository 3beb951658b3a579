//! Counting: the strong-count increments every new handle takes (`Clone`,
//! `Weak::upgrade`, `debug`'s handles), and what `Drop` does when the last
//! one goes.

use core::ptr::{self, NonNull};

use super::Gc;
use crate::collector::{heap, release};
use crate::gc_box::{self, GcBox, HeadPtr, counts, head_of};
use crate::header::{Flag, Flags, LOC_GARBAGE, LOC_GEN0, LOC_NONE, LOC_WORK};

/// The head flags of a new head-ful object.
#[inline]
pub(crate) fn new_flags(tracked: bool, finalizer: bool) -> Flags {
    let f = if tracked {
        Flags::at(LOC_GEN0).with(Flag::Trackable)
    } else {
        Flags::at(LOC_NONE)
    };
    f.set_to(Flag::HasFinalizer, finalizer)
}

/// Adds a strong count, handling overflow and detached objects.
///
/// # Safety
///
/// - `ptr` points to an allocated box (I1) that the caller reached through a
///   shared `Gc` handle or a `Weak` (so no `&mut` from `Gc::get_mut` to its
///   value is alive, I5).
#[inline]
pub(crate) unsafe fn inc_strong<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: the caller guarantees the block is allocated (this fn's
    // Safety, I1).
    let c = unsafe { counts(ptr) };
    // The flags sit above the count: one compare sends overflow, dead and
    // detached objects to the slow path.
    if !c.try_inc_fast() {
        let obj = if c.has_head() {
            // SAFETY: the block is allocated (I1) and has a head (I3); the
            // `HeadPtr` lives only in this call (I9).
            Some(unsafe { head_of(ptr) })
        } else {
            None
        };
        // SAFETY: `c` and `obj` are the box's; the caller reached it through
        // a shared handle or a `Weak` (this fn's Safety, I5).
        unsafe { inc_strong_slow(c, obj) };
    }
}

/// [`inc_strong`] for a head-ful object: the one way the crate's own code
/// (`debug`'s handles) adds a strong count for a new handle, so that it too
/// is overflow-checked and seen by a running analysis (soundness step S4).
///
/// # Panics
///
/// As [`inc_strong`]: at the limit, before the count changes.
#[inline]
pub(crate) fn inc_strong_of(obj: HeadPtr) {
    let c = obj.counts();
    if !c.try_inc_fast() {
        // SAFETY: `c` is `obj`'s counts, allocated (I9). The crate calls this
        // for objects found in a list or held by a `debug` count (I7): a
        // detached object is in no list (I5), and one with a `&mut` from
        // `get_mut` alive has no count but that of its one handle.
        unsafe { inc_strong_slow(c, Some(obj)) };
    }
}

/// The slow path of a strong increment: overflow (a panic before anything
/// changes), a detached object (reattached), an object a collection is
/// examining (recorded, step S4).
///
/// # Safety
///
/// - `c` is the counts of an allocated box (I1), and `obj` its head if it
///   has one (I3);
/// - the new handle or count is made from a shared handle, a `Weak` or a
///   count the caller holds, so no `&mut` from `Gc::get_mut` to the value is
///   alive (I5).
#[cold]
#[inline(never)]
unsafe fn inc_strong_slow(c: &gc_box::Counts, obj: Option<HeadPtr>) {
    let (detached, dead) = (c.is_detached(), c.is_dead());
    c.inc_strong_checked();
    let Some(obj) = obj else { return };
    if detached {
        // SAFETY: a new handle is being made from a shared one (this fn's
        // Safety), so no `&mut` from `get_mut` is alive any more (I5).
        unsafe { heap::reattach(obj) };
    } else if dead && matches!(obj.loc(), LOC_WORK | LOC_GARBAGE) {
        // A handle made while a collection examines the object: its
        // analysis cannot account for it, and keeps everything (step S4).
        heap::with_heap(|h| {
            h.made_while_examined.set(h.made_while_examined.get() + 1);
        });
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Makes another handle to the same value (strong count + 1).
    ///
    /// # Panics
    ///
    /// Panics if the value already has `2^28 - 2` strong handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// ```
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: `self` is a shared handle, so the box is allocated (I1) and
        // no `&mut` from `get_mut` is alive (I5).
        unsafe { inc_strong(self.ptr) };
        // SAFETY: allocated (I1), and the strong count just added goes to
        // the new handle (a dead handle clones to a dead one).
        unsafe { Gc::from_inner(self.ptr) }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    /// Drops this handle (strong count − 1). When it was the last one, the
    /// value is finalized (if it has a finalizer), dropped, and its memory
    /// freed (once no `Weak` remains), at once, as with `Rc`.
    ///
    /// Deep structures are freed without deep recursion: past a fixed nesting
    /// depth, frees are queued and done by the outermost drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(String::from("x"));
    /// let w = Gc::downgrade(&a);
    /// drop(a);
    /// assert!(w.upgrade().is_none());
    /// ```
    #[inline]
    fn drop(&mut self) {
        let c = self.counts();
        // One compare: a count left and no flag set is the whole drop.
        if c.dec_fast() {
            return;
        }
        if c.strong_count() != 0 {
            // A flag is set. Only `WATCHED` asks for more (a dead or
            // detached object's handle just goes).
            if c.is_watched() {
                // SAFETY: a count is left, so the box is allocated (I1).
                unsafe { lost(self.ptr) };
            }
            return;
        }
        // SAFETY: that was the last strong count; the block is still
        // allocated (the strong handles' weak count, I1).
        unsafe { drop_slow(self.ptr) };
    }
}

/// A decrement left a count in the `WATCHED` box at `ptr`: it becomes a
/// candidate (invariant I10).
///
/// # Safety
///
/// - The box at `ptr` is allocated.
#[cold]
#[inline(never)]
unsafe fn lost<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: allocated (this fn's Safety, I1).
    if unsafe { counts(ptr) }.has_head() {
        // SAFETY: allocated (I1) and head-ful (I3); the `HeadPtr` lives only
        // in this call (I9).
        release::lost_ref(unsafe { head_of(ptr) });
    }
}

/// The last strong handle of the box at `ptr` is gone: a head-less box is
/// released by [`drop_headless`], a head-ful one by [`drop_headful`] (each
/// out of line, so `Drop` stays small).
///
/// # Safety
///
/// - The strong count of the allocated box at `ptr` just reached zero.
#[inline]
unsafe fn drop_slow<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: the block is allocated until the release gives back the
    // strong handles' weak count (I1).
    if unsafe { counts(ptr) }.has_head() {
        // SAFETY: this fn's Safety, and the box has a head (I3).
        unsafe { drop_headful(ptr) };
    } else {
        // SAFETY: this fn's Safety, and the box has no head (I3).
        unsafe { drop_headless(ptr) };
    }
}

/// [`drop_slow`] for a head-less box (the common leaf case: a few loads
/// and stores, no heap access unless its slab page changes lists).
///
/// # Safety
///
/// - The strong count of the allocated, head-less box at `ptr` just
///   reached zero.
#[inline(never)]
unsafe fn drop_headless<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // The weak count all strong handles held together, now owned by this
    // guard, whose drop gives it back (freeing the block if no `Weak`
    // remains) even if the value's `Drop` panics, as `Rc::drop_slow` does.
    // SAFETY: allocated and head-less (this fn's Safety, I1, I3); the strong
    // handles' weak count goes to the guard, and the value is dropped (or
    // was moved out) before the guard is.
    let _weak = unsafe { HeadlessWeak::new(ptr) };
    // A head-less value is never collected: it is dead only if it was moved
    // out.
    // SAFETY: allocated (`_weak` holds it, I1).
    if !unsafe { counts(ptr) }.is_dead() {
        // SAFETY: the block is allocated (`_weak` holds it, I1).
        let v = unsafe { gc_box::value_ptr(ptr.as_ptr()) };
        // SAFETY: the last handle is gone: the value is initialised and
        // dropped this once, and nothing reads it again (I2).
        unsafe { ptr::drop_in_place(v) };
    }
}

/// [`drop_slow`] for a head-ful box: the release of
/// [`release::release_zero_with`], with the value dropped through its
/// known type.
///
/// # Safety
///
/// - The strong count of the allocated, head-ful box at `ptr` just reached
///   zero.
#[inline(never)]
unsafe fn drop_headful<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: allocated (I1) and head-ful (this fn's Safety, I3); the
    // `HeadPtr` is used only by the release below (I9).
    let obj = unsafe { head_of(ptr) };
    let drop_value = || {
        // SAFETY: the box is allocated (its weak count is held until the
        // release ends, I1) and its value is a `T`; called once, on an
        // initialised value nothing reads again (`release_zero_with`'s
        // Safety).
        let v = unsafe { gc_box::value_ptr(ptr.as_ptr()) };
        // SAFETY: as just said.
        unsafe { ptr::drop_in_place(v) };
    };
    // SAFETY: the count just reached zero (this fn's Safety), and this is
    // its one release (I2); `drop_value` drops this box's value.
    unsafe { release::release_zero_with(obj, drop_value) };
}

/// The weak count a head-less box's strong handles hold together, given
/// back (through [`release::release_weak_headless`]) when the guard drops.
struct HeadlessWeak<T: ?Sized>(NonNull<GcBox<T>>);

impl<T: ?Sized> HeadlessWeak<T> {
    /// A guard that gives back the strong handles' weak count of the box at
    /// `ptr`.
    ///
    /// # Safety
    ///
    /// - The box at `ptr` is allocated and head-less (I1, I3), its strong
    ///   count is zero, and the caller owns the strong handles' weak count
    ///   and hands it to the guard;
    /// - the value is dropped in place (or was moved out) before the guard
    ///   drops.
    #[inline]
    unsafe fn new(ptr: NonNull<GcBox<T>>) -> Self {
        HeadlessWeak(ptr)
    }
}

impl<T: ?Sized> Drop for HeadlessWeak<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard owns the weak count it gives back, once, and the
        // value is gone by now (`HeadlessWeak::new`'s Safety: I1, I2, I3).
        unsafe { release::release_weak_headless(self.0) };
    }
}
