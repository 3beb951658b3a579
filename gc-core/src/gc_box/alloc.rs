//! Allocating and initialising heap blocks: layouts, the slab-or-system
//! choice, heads and counts. Every function takes the slab it allocates
//! from; the box layer never reaches for the heap itself.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;
use std::alloc;

use super::vtable::VTable;
use super::{GcBox, HEAD_SIZE, Head, HeadPtr, VTABLE_SIZE};
use crate::header::{Counts, Flag, Flags};
use crate::slab::Slab;

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

/// Allocates `layout` (from `slab` when it serves it), aborting through
/// `handle_alloc_error` on failure.
///
/// Inlined, so that for a constant layout the choice is made at compile
/// time and the slab's fast path sits in the caller.
///
/// # Safety
///
/// - `layout` has a non-zero size (every block holds at least the 8-byte
///   counts).
#[inline]
pub(crate) unsafe fn alloc_block(slab: &Slab, layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0);
    if crate::slab::serves(layout.size(), layout.align()) {
        // SAFETY: the size is non-zero (this fn's Safety) and, as the slab
        // serves it, at most `MAX_BLOCK`: `Slab::alloc`'s contract.
        return unsafe { slab.alloc(layout.size()) };
    }
    // SAFETY: the size is non-zero (this fn's Safety).
    unsafe { alloc_system(layout) }
}

/// A block of `layout` from the global allocator.
///
/// # Safety
///
/// - `layout` has a non-zero size.
unsafe fn alloc_system(layout: Layout) -> NonNull<u8> {
    // SAFETY: the size is non-zero (this fn's Safety).
    let raw = unsafe { alloc::alloc(layout) };
    NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Frees a block from [`alloc_block`].
///
/// # Safety
///
/// - `ptr` came from `alloc_block(slab, layout)` with this same `slab` and
///   `layout`, and is not used again.
#[inline]
pub(crate) unsafe fn free_block(slab: &Slab, ptr: NonNull<u8>, layout: Layout) {
    if crate::slab::serves(layout.size(), layout.align()) {
        // SAFETY: `alloc_block` took the block from `slab` with `Slab::alloc`
        // for this layout (the same decision), and it is freed once (this
        // fn's Safety, P2).
        unsafe { crate::slab::free_untyped(ptr, || slab) };
        return;
    }
    // SAFETY: the caller guarantees `ptr` came from the system allocator
    // with `layout` and is not used again (this fn's Safety; the block's
    // counts are zero, I1).
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
///   followed by the box (the layout of I3);
/// - the returned `HeadPtr` is used only while the block is allocated (I9).
pub(crate) unsafe fn init_head(head: NonNull<u8>, flags: Flags) -> HeadPtr {
    let head = head.cast::<Head>();
    // SAFETY: the caller guarantees `HEAD_SIZE` writable, aligned bytes for
    // the head (this fn's Safety, I3).
    unsafe {
        head.write(Head {
            index: Cell::new(0),
            flags: Cell::new(flags),
        });
    }
    HeadPtr(head)
}

/// Writes a new head with an inline vtable (sets `INLINE`).
///
/// # Safety
///
/// - `head` points to `HEAD_SIZE` writable, 8-aligned bytes of a new block,
///   preceded by `VTABLE_SIZE` writable bytes of the same block and followed
///   by the box (the `INLINE` layout of I3);
/// - the returned `HeadPtr` is used only while the block is allocated (I9).
pub(crate) unsafe fn init_inline_head(
    head: NonNull<u8>,
    vtable: &'static VTable,
    flags: Flags,
) -> HeadPtr {
    // SAFETY: the caller guarantees room for the head, followed by the box
    // (this fn's Safety, I3).
    let obj = unsafe { init_head(head, flags.with(Flag::Inline)) };
    // SAFETY: the object is being made `INLINE`, with room for the vtable
    // before its head (this fn's Safety, I3).
    let v = unsafe { obj.inline_vtable_start() }.cast::<&'static VTable>();
    // SAFETY: the vtable's bytes are writable, 8-aligned and in the block
    // (this fn's Safety); this writes the vtable I3 requires.
    unsafe { v.write(vtable) };
    obj
}

/// Writes counts at the start of a new box.
///
/// # Safety
///
/// - `b` points to the start of a new box's writable, 4-aligned memory
///   (and `head` says whether a head precedes it, I3).
pub(crate) unsafe fn init_counts(b: NonNull<u8>, strong: u32, weak: u32, head: bool) {
    // SAFETY: the caller guarantees writable, aligned memory for the counts
    // (this fn's Safety); `head` sets `HAS_HEAD` as I3 requires.
    unsafe { b.cast::<Counts>().write(Counts::new(strong, weak, head)) };
}

/// Writes the box pointer into the slot of a new slot-carrying block.
///
/// # Safety
///
/// - `obj`'s block was allocated with a slot (`headful_layout(.., true)`),
///   and `b` is its box, not yet published.
pub(crate) unsafe fn write_slot<T: ?Sized>(obj: HeadPtr, b: *mut GcBox<T>) {
    // SAFETY: the block has a slot (this fn's Safety, I3).
    let slot = unsafe { obj.slot_start() }.cast::<*mut GcBox<T>>();
    // SAFETY: the slot is the 16 pointer-aligned bytes before the inline
    // vtable (I3); a box pointer is at most 16 bytes. This writes the box
    // pointer I3 requires before publication.
    unsafe { slot.write(b) };
}
