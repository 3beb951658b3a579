//! The slab's list plumbing: the chunk layout, new pools, and the doubly
//! linked page lists (P4).

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr;

use super::{CHUNK_PAGES, MAX_BLOCK, PAGE_SIZE, Page, Pool};

pub(super) fn chunk_layout() -> Layout {
    Layout::from_size_align(CHUNK_PAGES as usize * PAGE_SIZE, PAGE_SIZE)
        .expect("a valid chunk layout")
}

pub(super) fn new_pool(vtable: *const (), block: usize) -> *mut Pool {
    debug_assert!((8..=MAX_BLOCK).contains(&block) && block.is_multiple_of(8));
    Box::into_raw(Box::new(Pool {
        vtable,
        #[expect(clippy::cast_possible_truncation, reason = "at most MAX_BLOCK")]
        block: block as u32,
        current: Cell::new(ptr::null_mut()),
        partial: Cell::new(ptr::null_mut()),
        pages: Cell::new(0),
    }))
}

/// Adds `page` (whose header is `pg`) to the front of the page list that
/// starts at `list` (a pool's partial list, or the spare list).
///
/// # Safety
///
/// - `list` is a page list of this thread's slab, whose pages are live (P4);
/// - `page` is a live page (P1) in no list, and `pg` is its header.
pub(super) unsafe fn link(list: &Cell<*mut Page>, pg: &Page, page: *mut Page) {
    debug_assert!(ptr::eq(pg, page));
    let head = list.get();
    pg.prev.set(ptr::null_mut());
    pg.next.set(head);
    if !head.is_null() {
        // SAFETY: `head` is in `list`, so live (P4; this fn's Safety).
        unsafe { &*head }.prev.set(page);
    }
    list.set(page);
}

/// Removes `page` (whose header is `pg`) from the page list that starts at
/// `list`.
///
/// # Safety
///
/// - `list` is a page list of this thread's slab, whose pages are live (P4);
/// - `page` is in `list`, and `pg` is its header.
pub(super) unsafe fn unlink(list: &Cell<*mut Page>, pg: &Page, page: *mut Page) {
    debug_assert!(ptr::eq(pg, page));
    let (prev, next) = (pg.prev.get(), pg.next.get());
    if prev.is_null() {
        debug_assert_eq!(list.get(), page, "invariant P4");
        list.set(next);
    } else {
        // SAFETY: a link of a listed page names a page of the same list, so
        // a live one (P4).
        unsafe { &*prev }.next.set(next);
    }
    if !next.is_null() {
        // SAFETY: as for `prev`: a live page of the same list (P4).
        unsafe { &*next }.prev.set(prev);
    }
    pg.prev.set(ptr::null_mut());
    pg.next.set(ptr::null_mut());
}
