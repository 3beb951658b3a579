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
//! - **I3 (head and layout)**: the `HAS_HEAD` bit of `weak` never changes
//!   after allocation. When it is set, a valid [`Head`] sits at `box - 8`, in
//!   the same block, and the object's vtable was built for the box's real
//!   type. With `INLINE` (fixed, I6) the vtable pointer sits at `head - 8`
//!   and the block has the layout `headful_layout` gives for the box (with a
//!   slot, for the vtables of `VTable::slot`: the 16 bytes at `head - 24`
//!   hold the box pointer, written before the object is published); without
//!   `INLINE`, the block is a typed slab block that starts at the head, and
//!   its page's key is the vtable's (`VTable::key`).
//! - **I4 (lists)**: a head whose location is `LOC_GEN0` or `LOC_GEN1`, or
//!   `LOC_GEN2`/`LOC_PERM` with `INLINE`, is at `heap.lists[loc][index]`; a
//!   typed slab object of generation 2 or the permanent generation is in no
//!   vector (walks of the typed slab pages find it; the heap counts them);
//!   `LOC_WORK` and `LOC_GARBAGE` heads are at `index` of the collector's
//!   working vector; `LOC_NONE` heads are in no list. Only the owning thread
//!   touches these. An object of a generation (`LOC_GEN0` to `LOC_PERM`) is
//!   allocated, its value initialised and it is not detached: every path
//!   that drops a value (I2) or detaches an object (I5) takes it out of its
//!   generation first.
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
//!   tracer found (`DISCOVERED`) likewise holds one until `retrack`, and so
//!   does each object of the heap's `saved` list (`DebugFlags::SAVE_ALL`)
//!   and each object a `debug` value holds, until `release_held` gives it
//!   back. So no object the crate's code works on is freed under it.
//! - **I8 (queues)**: an object is in the trashcan queue or the pending list
//!   at most once (`PENDING` marks pending membership), and in no generation
//!   list. A trashcan object's strong count is zero; a pending one's reached
//!   zero while a collection held it (a finalizer may have raised it since).
//!   Either keeps the weak count of its strong handles, so its block stays
//!   allocated, until its queue is drained.
//! - **I9 (head pointers)**: a [`HeadPtr`] points to the head of a head-ful
//!   object (I3). It is made only by `unsafe` functions (`head_of`,
//!   `init_head`, `init_inline_head`, `HeadPtr::from_block`), and its holder
//!   uses it only while the block is allocated (I1): it holds a handle, a
//!   `Weak` or a strong count on the object (I7), or it took the object from
//!   a list or queue (I4, I8), whose members are not yet released (the weak
//!   count of their strong handles is still held, or the candidate queue
//!   keeps the block, I11). The safe accessors of `HeadPtr` rely on this.
//! - **I10 (candidates)**: a tracked object in a generation list whose
//!   strong count a decrement left above zero since the collector last
//!   examined it (or since it was made) is `LOST` (generation 0, the
//!   permanent one, or an examined set) or in the heap's candidate queue
//!   (generations 1 and 2); every other one is `WATCHED`, so its next such
//!   decrement takes the drop slow path and makes it a candidate
//!   (`release::lost_ref`). Not a safety invariant: it is why automatic
//!   collection finds every garbage cycle (`collector::auto`).
//! - **I11 (queued blocks)**: an object in the candidate queue is `QUEUED`,
//!   once; its block stays allocated while it is, even after both counts
//!   reached zero (`release_weak` leaves such a block to the queue), and
//!   the queue frees it when it takes the entry out.

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
/// # Safety
///
/// Copyable and comparable. Its soundness rests on invariant I9: every
/// `HeadPtr` is made by an `unsafe` constructor for the head of a head-ful
/// object (I3), and is used only while that object's block is allocated
/// (I1). So the safe accessors below (head, counts, flags, vtable) may
/// dereference it; each still names the case it relies on.
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
    // SAFETY: the caller guarantees the block is allocated (this fn's
    // Safety, I1); `Counts` is the first field of the `repr(C)` box and is
    // only ever shared (it is `Cell`s).
    unsafe { &*ptr.as_ptr().cast::<Counts>() }
}

/// The head of the box at `ptr`.
///
/// # Safety
///
/// - `ptr` points to an allocated `GcBox` whose `HAS_HEAD` bit is set (I3);
/// - the returned `HeadPtr` is used only while the block is allocated (I9).
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
        // SAFETY: a `HeadPtr` points to a valid head (I3) and is used only
        // while its block is allocated (I9); the head is only ever shared
        // (it is `Cell`s).
        unsafe { self.0.as_ref() }
    }

    /// The object whose typed slab block starts at `block` (its head).
    ///
    /// # Safety
    ///
    /// - `block` is a live block of a typed slab page, one that
    ///   [`Slab::typed_blocks`](crate::slab::Slab::typed_blocks) yields (so
    ///   an object's head, I3, and not a free block);
    /// - the result is used only while the object is allocated (I9).
    #[inline]
    pub(crate) unsafe fn from_block(block: NonNull<u8>) -> HeadPtr {
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
        // (I3, I9).
        unsafe { self.0.cast::<u8>().add(HEAD_SIZE) }
    }

    /// The inline vtable before this object's head.
    ///
    /// # Safety
    ///
    /// - The object is `INLINE`, or is being made so by `init_inline_head`
    ///   (its block has room for the vtable before the head, I3).
    #[inline]
    unsafe fn inline_vtable_start(self) -> NonNull<u8> {
        // SAFETY: the caller guarantees an inline block (this fn's Safety),
        // whose vtable is the `VTABLE_SIZE` bytes before the head, in the
        // same block (I3).
        unsafe { self.0.cast::<u8>().sub(VTABLE_SIZE) }
    }

    /// The slot before this object's inline vtable.
    ///
    /// # Safety
    ///
    /// - The object's block was allocated with a slot (`headful_layout(..,
    ///   true)`; its vtable is one of `VTable::slot`, I3).
    #[inline]
    unsafe fn slot_start(self) -> NonNull<u8> {
        // SAFETY: a block with a slot is an inline one (this fn's Safety,
        // I3).
        let vtable = unsafe { self.inline_vtable_start() };
        // SAFETY: the slot is the 16 bytes before the inline vtable, in the
        // same block (this fn's Safety, I3).
        unsafe { vtable.sub(16) }
    }

    /// The counts of this object's box.
    #[inline]
    pub(crate) fn counts(&self) -> &Counts {
        let c = self.box_start().cast::<Counts>();
        // SAFETY: the box, and its counts, are allocated while the `HeadPtr`
        // is used (I9, I1); the counts are only ever shared.
        unsafe { c.as_ref() }
    }

    #[inline]
    pub(crate) fn vtable(self) -> &'static VTable {
        if self.has(Flag::Inline) {
            // SAFETY: the object is `INLINE` (just checked; fixed, I6).
            let v = unsafe { self.inline_vtable_start() }.cast::<&'static VTable>();
            // SAFETY: an `INLINE` object's vtable pointer was written there
            // at allocation and never changes (I3, I6); the block is
            // allocated (I9).
            unsafe { v.read() }
        } else {
            // SAFETY: a head-ful object without `INLINE` is a typed slab
            // block starting at its head (I3), live while the `HeadPtr` is
            // used (I9).
            let key = unsafe { crate::slab::key_of(self.0.cast()) };
            let key = key.expect("a typed slab page has a type key");
            // SAFETY: the key of a typed page is its objects' vtable's
            // (`VTable::key`, I3).
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

    /// Whether the object is a candidate of automatic collection: `LOST`,
    /// or queued (so not watched, invariant I10).
    #[inline]
    pub(crate) fn is_candidate(self) -> bool {
        self.has(Flag::Lost) || !self.counts().is_watched()
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
        // SAFETY: the caller guarantees the block has a slot (this fn's
        // Safety, I3).
        let slot = unsafe { self.slot_start() }.cast::<*mut GcBox<T>>();
        // SAFETY: the slot is pointer-aligned, holds the box pointer from
        // before publication (I3), and the block is allocated (I9).
        unsafe { slot.read() }
    }
}

/// `fat` with its address (and provenance) replaced by `addr`'s, keeping its
/// metadata (length or vtable).
///
/// This relies on the current layout of pointers to unsized types (the
/// address first, then the metadata), which the language does not promise,
/// as std's former `set_ptr_value` did; the `debug_assert_eq!` checks it.
pub(crate) fn set_data_ptr<P: ?Sized>(fat: *mut P, addr: *mut u8) -> *mut P {
    let mut p = fat;
    // SAFETY: with the current layout, a pointer to an unsized type stores
    // its address in its first word (a thin pointer is only that word), so
    // the write stays inside `p`; writing a whole pointer value keeps
    // `addr`'s provenance.
    unsafe { (&raw mut p).cast::<*mut u8>().write(addr) };
    debug_assert_eq!(p.cast::<u8>(), addr);
    p
}

/// The address of the value in the box at `b`.
///
/// # Safety
///
/// - `b` points to an allocated box (I1).
#[inline]
pub(crate) unsafe fn value_ptr<T: ?Sized>(b: *mut GcBox<T>) -> *mut T {
    // SAFETY: the caller guarantees the box is allocated (this fn's Safety,
    // I1); the projection creates no reference.
    unsafe { &raw mut (*b).value }
}
