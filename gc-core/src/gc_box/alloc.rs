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
pub(crate) fn alloc_block(slab: &Slab, layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.size() > 0);
    if crate::slab::serves(layout.size(), layout.align()) {
        return slab.alloc(layout.size());
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
/// - `ptr` came from `alloc_block(slab, layout)` with this same `slab` and
///   `layout`, and is not used again.
pub(crate) unsafe fn free_block(slab: &Slab, ptr: NonNull<u8>, layout: Layout) {
    if crate::slab::serves(layout.size(), layout.align()) {
        // SAFETY: the slab handed it out (same decision as `alloc_block`).
        unsafe { slab.free(ptr) };
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
pub(crate) unsafe fn init_head(head: NonNull<u8>, flags: Flags) -> HeadPtr {
    let head = head.cast::<Head>();
    // SAFETY: guaranteed by the caller.
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
///   preceded by `VTABLE_SIZE` writable bytes of the same block.
pub(crate) unsafe fn init_inline_head(
    head: NonNull<u8>,
    vtable: &'static VTable,
    flags: Flags,
) -> HeadPtr {
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

/// Writes the box pointer into the slot of a new slot-carrying block.
///
/// # Safety
///
/// - `obj`'s block was allocated with a slot, and `b` is its box.
pub(crate) unsafe fn write_slot<T: ?Sized>(obj: HeadPtr, b: *mut GcBox<T>) {
    let slot = obj.slot_start().cast::<*mut GcBox<T>>();
    // SAFETY: the slot is the 16 pointer-aligned bytes before the inline
    // vtable (`headful_layout(.., true)`); a box pointer is at most 16 bytes.
    unsafe { slot.write(b) };
}
