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

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};
use std::alloc;

pub(crate) use crate::header::Counts;
use crate::header::{Flag, Flags, Loc};
use crate::trace::{Trace, Tracer};

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
    index: Cell<u32>,
    flags: Cell<Flags>,
}

const HEAD_SIZE: usize = core::mem::size_of::<Head>();
const _: () = assert!(HEAD_SIZE == 8);
/// Bytes of an inline vtable pointer.
const VTABLE_SIZE: usize = core::mem::size_of::<&'static VTable>();

/// Type-erased operations on a head-ful object, one static table per type.
pub(crate) struct VTable {
    /// Reports the value's strong edges.
    pub(crate) trace: unsafe fn(Obj, &mut Tracer<'static>),
    /// Runs the value's finalizer, if it has one.
    pub(crate) finalize: unsafe fn(Obj),
    /// Drops the value in place.
    pub(crate) drop_value: unsafe fn(Obj),
    /// Frees the block.
    pub(crate) dealloc: unsafe fn(Obj),
    /// `std::any::type_name` of the value.
    pub(crate) type_name: fn() -> &'static str,
    /// `TypeId` of the value's type (for downcasting saved garbage).
    pub(crate) type_id: fn() -> core::any::TypeId,
    /// Size of the block in bytes (for the census).
    pub(crate) block_size: unsafe fn(Obj) -> usize,
}

impl core::fmt::Debug for VTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VTable")
            .field("type_name", &(self.type_name)())
            .finish_non_exhaustive()
    }
}

/// A type-erased pointer to a head-ful object's [`Head`].
///
/// Copyable and comparable; the holder decides whether it may be
/// dereferenced (the object must be allocated, invariant I1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Obj(NonNull<Head>);

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
pub(crate) unsafe fn head_of<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> Obj {
    // SAFETY: by I3 a `Head` starts `HEAD_SIZE` bytes before the box, inside
    // the same allocation, so the offset stays in bounds.
    let head = unsafe { ptr.cast::<u8>().sub(HEAD_SIZE) };
    Obj(head.cast())
}

impl Obj {
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
        // SAFETY: an `Obj` is only created for a head-ful object (I3), and
        // every caller holds it only while the block is allocated (I1).
        unsafe { self.0.as_ref() }
    }

    /// The object whose typed slab block starts at `block` (its head). Only
    /// meaningful for blocks of typed pages whose flags are not `LOC_FREE`.
    #[inline]
    pub(crate) fn from_block(block: NonNull<u8>) -> Obj {
        Obj(block.cast())
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
        // SAFETY: the box, and its counts, are allocated while the `Obj` is
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
            // is allocated while the `Obj` is used (I1).
            let v = unsafe { crate::slab::vtable_of(self.0.cast()) };
            v.expect("a typed slab page has a vtable")
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

/// Layout of a head-ful block with an inline vtable holding a box of
/// `box_layout`, and the offset of the box in it.
pub(crate) fn headful_layout(box_layout: Layout, slot: bool) -> (Layout, usize) {
    let prefix = Layout::from_size_align(if slot { 16 } else { 0 } + VTABLE_SIZE + HEAD_SIZE, 8)
        .expect("valid prefix layout");
    let (layout, offset) = prefix
        .extend(box_layout)
        .unwrap_or_else(|_| panic!("Gc: value too large to allocate"));
    (layout.pad_to_align(), offset)
}

/// Allocates `layout` (from the slab when it serves it), aborting through
/// `handle_alloc_error` on failure.
pub(crate) fn alloc_block(layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0);
    if crate::slab::serves(layout.size(), layout.align()) {
        return crate::collector::heap::with_heap(|h| h.slab.alloc(layout.size()));
    }
    // SAFETY: every block holds at least the 8-byte counts, so the size is
    // non-zero.
    let raw = unsafe { alloc::alloc(layout) };
    NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Frees a block from [`alloc_block`].
///
/// # Safety
///
/// - `ptr` came from `alloc_block(layout)` with this same `layout` and is not
///   used again.
pub(crate) unsafe fn free_block(ptr: NonNull<u8>, layout: Layout) {
    if crate::slab::serves(layout.size(), layout.align()) {
        // SAFETY: the slab handed it out (same decision as `alloc_block`).
        crate::collector::heap::with_heap(|h| unsafe { h.slab.free(ptr) });
        return;
    }
    // SAFETY: guaranteed by the caller.
    unsafe { alloc::dealloc(ptr.as_ptr(), layout) }
}

/// Size of a typed slab block holding a `GcBox<T>` after its head, if the
/// slab serves it.
pub(crate) const fn typed_block<T>() -> Option<usize> {
    let size = HEAD_SIZE + core::mem::size_of::<GcBox<T>>();
    if crate::slab::serves(size, core::mem::align_of::<GcBox<T>>()) {
        Some(size)
    } else {
        None
    }
}

/// Writes a new head at `head`.
///
/// # Safety
///
/// - `head` points to `HEAD_SIZE` writable, 8-aligned bytes of a new block,
///   followed by the box.
pub(crate) unsafe fn init_head(head: NonNull<u8>, flags: Flags) -> Obj {
    let head = head.cast::<Head>();
    // SAFETY: guaranteed by the caller.
    unsafe {
        head.write(Head {
            index: Cell::new(0),
            flags: Cell::new(flags),
        });
    }
    Obj(head)
}

/// Writes a new head with an inline vtable (sets `INLINE`).
///
/// # Safety
///
/// - `head` points to `HEAD_SIZE` writable, 8-aligned bytes of a new block,
///   preceded by `VTABLE_SIZE` writable bytes of the same block.
pub(crate) unsafe fn init_inline_head(
    head: NonNull<u8>,
    vtable: &'static VTable,
    flags: Flags,
) -> Obj {
    // SAFETY: guaranteed by the caller.
    let obj = unsafe { init_head(head, flags.with(Flag::Inline)) };
    let v = obj.inline_vtable_start().cast::<&'static VTable>();
    // SAFETY: the vtable's bytes are writable, 8-aligned and in the block.
    unsafe { v.write(vtable) };
    obj
}

/// Writes counts at the start of a new box.
///
/// # Safety
///
/// - `b` points to the start of a new box's writable, 4-aligned memory.
pub(crate) unsafe fn init_counts(b: NonNull<u8>, strong: u32, weak: u32, head: bool) {
    // SAFETY: guaranteed by the caller.
    unsafe { b.cast::<Counts>().write(Counts::new(strong, weak, head)) };
}

/// Static vtables, one per type and layout.
struct VTables<T: ?Sized>(core::marker::PhantomData<T>);

impl<T: Trace + 'static> VTables<T> {
    const SIZED: VTable = VTable {
        trace: trace_sized::<T>,
        finalize: finalize_sized::<T>,
        drop_value: drop_sized::<T>,
        dealloc: dealloc_sized::<T>,
        type_name: core::any::type_name::<T>,
        type_id: core::any::TypeId::of::<T>,
        block_size: block_size_sized::<T>,
    };
}

impl<T: Trace + ?Sized + 'static> VTables<T> {
    const SLOT: VTable = VTable {
        trace: trace_slot::<T>,
        finalize: finalize_slot::<T>,
        drop_value: drop_slot::<T>,
        dealloc: dealloc_slot::<T>,
        type_name: core::any::type_name::<T>,
        type_id: core::any::TypeId::of::<T>,
        block_size: block_size_slot::<T>,
    };
}

impl VTable {
    /// The vtable of a head-ful `GcBox<T>` without a slot.
    pub(crate) fn sized<T: Trace + 'static>() -> &'static VTable {
        &VTables::<T>::SIZED
    }
    /// The vtable of a head-ful `GcBox<T>` with a slot.
    pub(crate) fn slot<T: Trace + ?Sized + 'static>() -> &'static VTable {
        &VTables::<T>::SLOT
    }
}

/// The value of a listed object, for the vtable functions.
///
/// # Safety
///
/// - `b` is the object's box; its value is initialised (I2) and not
///   exclusively borrowed (I5), and the reference is not kept beyond the
///   vtable call.
#[inline]
unsafe fn value<'a, T: ?Sized>(b: *mut GcBox<T>) -> &'a T {
    // SAFETY: guaranteed by the caller.
    unsafe { &(*b).value }
}

/// Traces the value `v` of the object being traced, whose bytes are its
/// owned region.
#[inline]
fn trace_value<T: Trace + ?Sized + 'static>(v: &'static T, tracer: &mut Tracer<'static>) {
    tracer.begin_object(v);
    v.trace(tracer);
}

unsafe fn trace_sized<T: Trace + 'static>(obj: Obj, tracer: &mut Tracer<'static>) {
    // SAFETY: the vtable is `SIZED` for `T`, so the box is a `GcBox<T>`; the
    // collector traces only objects it holds a count on (I1), whose value is
    // initialised (I2) and not exclusively borrowed (I5). The value is not
    // dropped before the tracer's phase ends and its guards are released
    // (soundness step S2), which is what `'static` stands for here: the
    // tracer accepts the reference only for the trace call and the phase.
    let v: &'static T = unsafe { value(obj.sized_box::<T>()) };
    trace_value(v, tracer);
}

unsafe fn trace_slot<T: Trace + ?Sized + 'static>(obj: Obj, tracer: &mut Tracer<'static>) {
    // SAFETY: the vtable is `SLOT` for `T`, so the slot holds the box.
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: as in `trace_sized`.
    let v: &'static T = unsafe { value(b) };
    trace_value(v, tracer);
}

unsafe fn finalize_sized<T: Trace>(obj: Obj) {
    // SAFETY: the value is initialised (I2); a shared reference is all a
    // finalizer gets.
    if let Some(f) = unsafe { value(obj.sized_box::<T>()) }.finalizer() {
        f.finalize();
    }
}

unsafe fn finalize_slot<T: Trace + ?Sized>(obj: Obj) {
    // SAFETY: the vtable is `SLOT` for `T`.
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: as in `finalize_sized`.
    if let Some(f) = unsafe { value(b) }.finalizer() {
        f.finalize();
    }
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

unsafe fn drop_sized<T>(obj: Obj) {
    // SAFETY: the vtable is `SIZED` for `T`, so this is its box.
    let v = unsafe { value_ptr(obj.sized_box::<T>()) };
    // SAFETY: the caller drops the value exactly once (I2).
    unsafe { ptr::drop_in_place(v) }
}

unsafe fn drop_slot<T: ?Sized>(obj: Obj) {
    // SAFETY: the vtable is `SLOT` for `T`.
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: the slot holds the box.
    let v = unsafe { value_ptr(b) };
    // SAFETY: the caller drops the value exactly once (I2).
    unsafe { ptr::drop_in_place(v) }
}

/// The start of the block whose box is `offset` bytes into it.
///
/// # Safety
///
/// - `offset` is the box offset the block was allocated with.
unsafe fn block_start(obj: Obj, offset: usize) -> NonNull<u8> {
    // SAFETY: the box is `offset` bytes into the block (guaranteed by the
    // caller), so this stays inside it.
    unsafe { obj.box_start().sub(offset) }
}

unsafe fn dealloc_sized<T>(obj: Obj) {
    if !obj.has(Flag::Inline) {
        // SAFETY: a non-`INLINE` object came from `Slab::alloc_typed`, its
        // block starting at the head; the caller frees it once, when both
        // counts are zero (I1).
        crate::collector::heap::with_heap(|h| unsafe { h.slab.free(obj.0.cast()) });
        return;
    }
    let (layout, offset) = headful_layout(Layout::new::<GcBox<T>>(), false);
    // SAFETY: a sized inline block's box is at `offset`.
    let base = unsafe { block_start(obj, offset) };
    // SAFETY: the block was allocated with this layout; the caller frees it
    // once, when both counts are zero (I1).
    unsafe { free_block(base, layout) }
}

/// The block layout of a slot-carrying object, and its box offset.
///
/// # Safety
///
/// - The object carries a slot for `T`.
unsafe fn slot_layout<T: ?Sized>(obj: Obj) -> (Layout, usize) {
    // SAFETY: guaranteed by the caller.
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: computing the layout reads the pointer metadata only; the value
    // is initialised or was dropped in place (which leaves a valid value
    // behind), and no `&mut` to it exists.
    let box_layout = Layout::for_value(unsafe { &*b });
    headful_layout(box_layout, true)
}

unsafe fn dealloc_slot<T: ?Sized>(obj: Obj) {
    // SAFETY: the vtable is `SLOT` for `T`.
    let (layout, offset) = unsafe { slot_layout::<T>(obj) };
    // SAFETY: the box is `offset` bytes into the block.
    let base = unsafe { block_start(obj, offset) };
    // SAFETY: allocated with this layout; freed once (I1).
    unsafe { free_block(base, layout) }
}

unsafe fn block_size_sized<T>(obj: Obj) -> usize {
    match typed_block::<T>() {
        Some(size) if !obj.has(Flag::Inline) => crate::slab::block_size(size),
        _ => headful_layout(Layout::new::<GcBox<T>>(), false).0.size(),
    }
}

unsafe fn block_size_slot<T: ?Sized>(obj: Obj) -> usize {
    // SAFETY: the vtable is `SLOT` for `T`.
    unsafe { slot_layout::<T>(obj) }.0.size()
}

/// Writes the box pointer into the slot of a new slot-carrying block.
///
/// # Safety
///
/// - `obj`'s block was allocated with a slot, and `b` is its box.
pub(crate) unsafe fn write_slot<T: ?Sized>(obj: Obj, b: *mut GcBox<T>) {
    let slot = obj.slot_start().cast::<*mut GcBox<T>>();
    // SAFETY: the slot is the 16 pointer-aligned bytes before the inline
    // vtable (`headful_layout(.., true)`); a box pointer is at most 16 bytes.
    unsafe { slot.write(b) };
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
