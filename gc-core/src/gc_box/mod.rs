//! The heap block behind every [`Gc`](crate::Gc): counts, optional collector
//! header, value.
//!
//! # Layout
//!
//! Every allocation holds a [`GcBox<T>`]: two 32-bit counts followed by the
//! value. A `Gc<T>` points at the `GcBox<T>`, so `Deref` and the counts are at
//! fixed offsets whatever else the block holds.
//!
//! ```text
//!   untracked (leaf types):                    [strong u32 | weak u32 | value]
//!   tracked, from the slab (the usual case):   [Head 8 B][strong | weak | value]
//!   tracked, large / over-aligned:   [vtable 8 B][Head 8 B][strong | weak | value]
//!   tracked, built from an unsized value (Box<dyn Trait>, Vec<T> as [T]):
//!                          [slot 16 B][vtable 8 B][Head 8 B][strong | weak | value]
//! ```
//!
//! A [`Head`] sits directly before the box (at `box - 8`), like CPython's
//! `PyGC_Head`: the object's position in its list and the collector's flags.
//! Its type-erased [`VTable`] is found either in the header of the slab page
//! the object lives in (all objects of a slab page have one type), or, when
//! the `INLINE` flag is set, in the 8 bytes before the head. The optional
//! slot before that stores the fat `*const GcBox<T>`, so the collector can
//! rebuild the unsized pointer from the thin head pointer.
//!
//! An untracked box carries 8 bytes of header (`Rc` carries 16); a tracked
//! one carries 16 (CPython: 32), plus 8 bytes in its generation's list while
//! it is young (generations 0 and 1); an old one needs no list entry.
//!
//! # Invariants
//!
//! The unsafe code of the crate relies on these, and cites them by number.
//!
//! The bits of the count and flag words are drawn in `header`'s docs.
//!
//! - **I1 (liveness)**: the block stays allocated while the strong count
//!   is above zero or the weak count is above zero. `weak` counts the
//!   `Weak` handles plus one for all strong handles together, as in `Rc`; it
//!   drops that one when the value is destroyed. Nothing else frees a block.
//! - **I2 (value)**: the value is initialised from the moment the box is
//!   published until it is dropped, exactly once, by the holder of the last
//!   strong count or by the collector; after that `DEAD` is set (or no strong
//!   handle exists), and nothing reads the value again except to compute its
//!   layout.
//! - **I3 (head)**: the `HAS_HEAD` bit of `weak` never changes after
//!   allocation; when set, a valid [`Head`] sits at `box - 8`, and the
//!   object's vtable (inline before the head, or its slab page's) was built
//!   for the box's real type.
//! - **I4 (lists)**: a head whose location is `LOC_GEN0` or `LOC_GEN1`, or
//!   `LOC_GEN2`/`LOC_PERM` with `INLINE`, is at `heap.lists[loc][index]`; a
//!   typed slab object of generation 2 or the permanent generation is in no
//!   vector (walks of the typed slab pages find it; the heap counts them);
//!   `LOC_WORK` and `LOC_GARBAGE` heads are at `index` of the collector's
//!   working vector; `LOC_NONE` heads are in no list. Only the owning thread
//!   touches these.
//! - **I5 (exclusive)**: while `Gc::get_mut` may have handed out a `&mut T`,
//!   the object is `DETACHED` (location `LOC_NONE`) and the collector never
//!   creates a reference to its value.
//! - **I6 (fixed flags)**: `INLINE`, `TRACKABLE`, `TRUSTED` and `HAS_FINALIZER` never
//!   change once the object is published, and `PINNED` never changes once
//!   `Gc::pin` set it.
//! - **I7 (the collector's count)**: while an object is in a collection's
//!   working set (`LOC_WORK`, `LOC_GARBAGE`), the collector holds one strong
//!   count on it, taken when the set is formed and given back when the
//!   object is promoted, kept or its value dropped; a detached object the
//!   tracer found (`DISCOVERED`) likewise holds one until `retrack`. So no
//!   object the collector works on is freed under it.
//! - **I8 (queues)**: an object is in the trashcan queue or the pending list
//!   at most once (`PENDING` marks pending membership); a queued object's
//!   strong count is zero and it is in no generation list.

mod alloc;
mod vtable;

use core::cell::Cell;
use core::ptr::NonNull;

pub(crate) use crate::header::Counts;
use crate::header::{Flag, Flags, Loc};
pub(crate) use alloc::{
    alloc_block, free_block, headful_layout, init_counts, init_head, init_inline_head, typed_block,
    write_slot,
};
pub(crate) use vtable::VTable;

/// The block a `Gc<T>` points to.
#[repr(C)]
pub(crate) struct GcBox<T: ?Sized> {
    counts: Counts,
    pub(crate) value: T,
}

impl<T> GcBox<T> {
    /// A box with the given counts (see [`Counts::new`]).
    pub(crate) fn new(strong: u32, weak: u32, head: bool, value: T) -> Self {
        GcBox {
            counts: Counts::new(strong, weak, head),
            value,
        }
    }
}

/// The collector's per-object header, directly before a head-ful box.
#[repr(C)]
pub(crate) struct Head {
    pub(super) index: Cell<u32>,
    pub(super) flags: Cell<Flags>,
}

pub(crate) const HEAD_SIZE: usize = core::mem::size_of::<Head>();
const _: () = assert!(HEAD_SIZE == 8);
/// Bytes of an inline vtable pointer.
pub(crate) const VTABLE_SIZE: usize = core::mem::size_of::<&'static VTable>();

/// A type-erased pointer to a head-ful object's [`Head`].
///
/// Copyable and comparable; the holder decides whether it may be
/// dereferenced (the object must be allocated, invariant I1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct HeadPtr(pub(super) NonNull<Head>);

/// The counts of the box at `ptr`.
///
/// # Safety
///
/// - `ptr` points to a `GcBox` that is still allocated (I1), and the returned
///   reference is not used after the block is freed.
#[inline]
pub(crate) unsafe fn counts<'a, T: ?Sized>(ptr: NonNull<GcBox<T>>) -> &'a Counts {
    debug_assert!(
        ptr.cast::<Counts>().is_aligned(),
        "Gc: counts read through a misaligned (epoch-tagged?) box pointer"
    );
    // SAFETY: the caller guarantees the block is allocated; `Counts` is the
    // first field of the `repr(C)` box and is only ever shared (it is `Cell`s).
    unsafe { &*ptr.as_ptr().cast::<Counts>() }
}

/// The head of the box at `ptr`.
///
/// # Safety
///
/// - `ptr` points to an allocated `GcBox` whose `HAS_HEAD` bit is set (I3).
#[inline]
pub(crate) unsafe fn head_of<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> HeadPtr {
    // SAFETY: by I3 a `Head` starts `HEAD_SIZE` bytes before the box, inside
    // the same allocation, so the offset stays in bounds.
    let head = unsafe { ptr.cast::<u8>().sub(HEAD_SIZE) };
    HeadPtr(head.cast())
}

impl HeadPtr {
    /// Marks the value dead (the collector is about to drop it, or examines
    /// it) or live again.
    #[inline]
    pub(crate) fn set_dead(self, dead: bool) {
        self.counts().set_dead(dead);
    }

    /// The address of the object's box: its identity, shared with
    /// head-less objects (see `debug::ObjectId`).
    #[inline]
    pub(crate) fn box_addr(self) -> usize {
        self.box_start().as_ptr().addr()
    }

    /// A handle-less pointer to the sized box, for `debug::Garbage::downcast`.
    ///
    /// Only meaningful if the object was allocated as a sized `GcBox<T>`.
    #[inline]
    pub(crate) fn typed_box<T>(self) -> NonNull<GcBox<T>> {
        self.box_start().cast()
    }

    #[inline]
    fn head(&self) -> &Head {
        // SAFETY: a `HeadPtr` is only created for a head-ful object (I3), and
        // every caller holds it only while the block is allocated (I1).
        unsafe { self.0.as_ref() }
    }

    /// The object whose typed slab block starts at `block` (its head). Only
    /// meaningful for blocks of typed pages whose flags are not `LOC_FREE`.
    #[inline]
    pub(crate) fn from_block(block: NonNull<u8>) -> HeadPtr {
        HeadPtr(block.cast())
    }

    /// The object's head as a block pointer (a typed slab block starts
    /// there).
    #[inline]
    pub(crate) fn block(self) -> NonNull<u8> {
        self.0.cast()
    }

    /// The start of this object's box.
    #[inline]
    fn box_start(self) -> NonNull<u8> {
        // SAFETY: the box starts right after the head, in the same block
        // (I3).
        unsafe { self.0.cast::<u8>().add(HEAD_SIZE) }
    }

    /// The inline vtable before this object's head (only for `INLINE`
    /// objects).
    #[inline]
    fn inline_vtable_start(self) -> NonNull<u8> {
        // SAFETY: only called for `INLINE` objects, whose vtable is the
        // `VTABLE_SIZE` bytes before the head, in the same block.
        unsafe { self.0.cast::<u8>().sub(VTABLE_SIZE) }
    }

    /// The slot before this object's inline vtable (only for slot-carrying
    /// blocks).
    #[inline]
    fn slot_start(self) -> NonNull<u8> {
        // SAFETY: only called for blocks allocated with a slot, which is the
        // 16 bytes before the inline vtable, in the same block.
        unsafe { self.inline_vtable_start().sub(16) }
    }

    /// The counts of this object's box.
    #[inline]
    pub(crate) fn counts(&self) -> &Counts {
        let c = self.box_start().cast::<Counts>();
        // SAFETY: the box, and its counts, are allocated while the `HeadPtr` is
        // used (I1); the counts are only ever shared.
        unsafe { c.as_ref() }
    }

    #[inline]
    pub(crate) fn vtable(self) -> &'static VTable {
        if self.has(Flag::Inline) {
            let v = self.inline_vtable_start().cast::<&'static VTable>();
            // SAFETY: an `INLINE` object's vtable was written there at
            // allocation and never changes (I3).
            unsafe { v.read() }
        } else {
            // SAFETY: a head-ful object without `INLINE` was allocated by
            // `Slab::alloc_typed`, its block starting at the head (I3), and
            // is allocated while the `HeadPtr` is used (I1).
            let key = unsafe { crate::slab::key_of(self.0.cast()) };
            let key = key.expect("a typed slab page has a type key");
            // SAFETY: typed pages are keyed by their objects' vtable
            // (`VTable::key`, in `Gc::new`), the one for the box's type (I3).
            unsafe { VTable::from_key(key) }
        }
    }
    #[inline]
    pub(crate) fn flags(self) -> Flags {
        self.head().flags.get()
    }
    #[inline]
    pub(crate) fn set_flags(self, f: Flags) {
        self.head().flags.set(f);
    }
    /// Whether `flag` is set.
    #[inline]
    pub(crate) fn has(self, flag: Flag) -> bool {
        self.flags().has(flag)
    }
    /// Sets or clears `flag`.
    #[inline]
    pub(crate) fn set_flag(self, flag: Flag, on: bool) {
        self.set_flags(self.flags().set_to(flag, on));
    }
    #[inline]
    pub(crate) fn loc(self) -> Loc {
        self.flags().loc()
    }
    #[inline]
    pub(crate) fn set_loc(self, loc: Loc) {
        self.set_flags(self.flags().with_loc(loc));
    }
    #[inline]
    pub(crate) fn index(self) -> usize {
        self.head().index.get() as usize
    }
    #[inline]
    pub(crate) fn set_index(self, i: usize) {
        debug_assert!(u32::try_from(i).is_ok());
        #[expect(
            clippy::cast_possible_truncation,
            reason = "lists are capped below u32::MAX"
        )]
        self.head().index.set(i as u32);
    }
    #[inline]
    pub(crate) fn strong_count(self) -> u32 {
        self.counts().strong_count()
    }

    /// The pointer to the typed box, for a sized `T`: only meaningful if
    /// the object was allocated as a `GcBox<T>` (its vtable is
    /// `VTable::sized::<T>()`).
    #[inline]
    fn sized_box<T>(self) -> *mut GcBox<T> {
        self.box_start().as_ptr().cast()
    }

    /// The (fat) pointer to the typed box stored in the slot.
    ///
    /// # Safety
    ///
    /// - The object was allocated with a slot holding a `*mut GcBox<T>`
    ///   (its vtable is `VTable::slot::<T>()`).
    #[inline]
    unsafe fn slot_box<T: ?Sized>(self) -> *mut GcBox<T> {
        let slot = self.slot_start().cast::<*mut GcBox<T>>();
        // SAFETY: the slot is pointer-aligned and was initialised at
        // allocation (guaranteed by the caller).
        unsafe { slot.read() }
    }
}

/// `fat` with its address (and provenance) replaced by `addr`'s, keeping its
/// metadata (length or vtable).
pub(crate) fn set_data_ptr<P: ?Sized>(fat: *mut P, addr: *mut u8) -> *mut P {
    let mut p = fat;
    // SAFETY: a pointer to an unsized type stores its address first, then
    // its metadata (for a thin pointer, the address is all of it); writing a
    // whole pointer value keeps `addr`'s provenance.
    unsafe { (&raw mut p).cast::<*mut u8>().write(addr) };
    debug_assert_eq!(p.cast::<u8>(), addr);
    p
}

/// The address of the value in the box at `b`.
///
/// # Safety
///
/// - `b` points to an allocated box.
#[inline]
pub(crate) unsafe fn value_ptr<T: ?Sized>(b: *mut GcBox<T>) -> *mut T {
    // SAFETY: guaranteed by the caller; the projection creates no reference.
    unsafe { &raw mut (*b).value }
}
