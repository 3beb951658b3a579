//! A per-thread size-class allocator for `Gc` blocks, after CPython's
//! `pymalloc` and mimalloc's page-local free lists.
//!
//! Blocks of at most [`MAX_BLOCK`] bytes and alignment at most 8 come from
//! 64 KiB pages aligned to their size, so a block's page header is found by
//! masking its address. Each page serves one *pool*: either a size class
//! (head-less values and values with an inline vtable) or one tracked type,
//! whose vtable the page header then holds, so those objects need no vtable
//! pointer of their own (8 bytes less per tracked object).
//!
//! Allocation pops the current page's free list or bumps its cursor; a free
//! pushes onto the block's own page. A page whose last block is freed goes
//! to a spare list shared by all pools, so memory moves between types;
//! pages come in chunks of 62 (3.9 MiB), and a chunk whose pages are all
//! spare goes back to the system if enough other spare pages are kept.
//! While the collector frees garbage it *holds* the chunks it empties
//! ([`Slab::hold`]): the pages a collection frees are what the program
//! allocates next, and a page given back costs a system call now and a
//! page fault for each of its 4 KiB when it is taken again. A later
//! collection gives back the held chunks still empty ([`Slab::trim`]) if
//! the program took no spare page since the collection before it (it is
//! not drawing on them), and a full collection always does (the
//! allocators' purge delay, counted in collections instead of
//! milliseconds). While the program draws on them, the slab holds at most
//! what its heap once used.
//! Everything is thread-local: a `Gc` never leaves its thread.
//!
//! # Invariants
//!
//! The slab's unsafe code relies on these and cites them by number (`P` for
//! pages; the heap block's invariants are I1 to I9, the soundness steps S1
//! to S6).
//!
//! - **P1 (pages and chunks)**: a page is `PAGE_SIZE` bytes, aligned to
//!   `PAGE_SIZE`, inside a chunk, and its header is written when it is first
//!   handed to a pool; a chunk is freed only when every page carved from it
//!   is spare (no block in it is live). So the page of a live block, and
//!   every carved page of a registered chunk (P5), is live memory with a
//!   header.
//! - **P2 (blocks)**: every block handed out lies in one page, at
//!   `HEADER + k * block` for its pool's block size (a multiple of 8: at
//!   least 8, and at least 16 in a typed pool), and is handed out at most
//!   once until it is freed. A free block is on its page's free list, with
//!   its link at the start (in a size-class pool) or at `TYPED_LINK` (in a
//!   typed pool, whose free blocks also hold `FREE_TAG` in their second
//!   `u32`); a live block of a typed page never holds `FREE_TAG` there (see
//!   [`Slab::alloc_typed`]). A page's live count is the number of its blocks
//!   handed out and not freed since.
//! - **P3 (pools)**: a pool outlives its pages (it is freed only when it owns
//!   none), and `classes`, `cache` and `typed` hold only live pools:
//!   `drop_pool` takes a pool out of all three before freeing it.
//! - **P4 (page lists)**: a carved page is in the list its state names,
//!   and in no other: `Current`, its pool's `current`; `Partial`, its pool's
//!   `partial` list; `Full`, none; `Spare`, the slab's `spare` list. The
//!   `prev` and `next` links of a listed page name pages of the same list
//!   (or are null), so every listed page, and every page a link names, is a
//!   live page (P1); a page is unlinked before its chunk is freed.
//! - **P5 (registries)**: `chunks` holds exactly the live chunks, and
//!   `chunk` is null or one of them (`free_chunk` takes a chunk out of both
//!   before freeing it). `typed` and `chunks` are leaked `Box<Vec<_>>`s (or
//!   null) that only this thread's slab borrows, each borrow within one
//!   method that does not reach the same registry again while it lives (the
//!   one callback, that of `typed_blocks`, must not use the slab), so no two
//!   borrows of a registry overlap.

mod lists;
use lists::{chunk_layout, link, new_pool, unlink};

use core::cell::Cell;
use core::ptr::{self, NonNull};
use std::alloc;

/// An opaque key naming the type of a typed page's objects (the box layer
/// uses its vtable's address); the slab only stores and compares it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TypeKey(NonNull<()>);

impl TypeKey {
    /// The key for `p`, a `'static` address that names one type.
    #[inline]
    pub(crate) const fn new(p: NonNull<()>) -> TypeKey {
        TypeKey(p)
    }

    /// The address the key was made from.
    #[inline]
    pub(crate) const fn get(self) -> NonNull<()> {
        self.0
    }
}

/// The flags word of a free block of a typed page: not an object (the
/// header module checks that no object location uses it).
pub(crate) const FREE_TAG: u32 = 7;

/// Size (and alignment) of a page.
pub(crate) const PAGE_SIZE: usize = 64 * 1024;
/// The largest block the slab serves.
pub(crate) const MAX_BLOCK: usize = 512;
/// Size classes: one per 8 bytes up to `MAX_BLOCK`.
const CLASSES: usize = MAX_BLOCK / 8 + 1;
/// Bytes at the start of a page for its header.
const HEADER: usize = 64;
/// Pages per chunk. The slab asks the global allocator for chunks of many
/// pages (a lone 64 KiB page aligned to 64 KiB would cost it about 12%
/// more memory). glibc maps a chunk directly, and only the pages touched
/// are resident. mimalloc serves a 64 KiB-aligned chunk from its 64 KiB
/// slices with one slice more for the alignment and one for its header,
/// and, where transparent huge pages are on, backs its memory with 2 MiB
/// pages, which the resident size counts whole: 62 pages make exactly
/// 4 MiB, two huge pages, 3% more than the pages themselves (16-page
/// chunks cost 12.5%).
const CHUNK_PAGES: u32 = 62;
/// Empty pages kept for reuse: a chunk whose pages are all empty goes back
/// to the system only if this many other empty pages remain.
const SPARE_RESERVE: u32 = 32;
/// Entries in the type-pool cache.
const CACHE: usize = 64;
/// Where a free typed block keeps its free-list link (after the head).
const TYPED_LINK: usize = 8;

const _: () = assert!(core::mem::size_of::<Page>() <= HEADER);

/// Where a page stands in its pool: the top two bits of [`Page::used`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
enum State {
    /// Has free blocks; in the pool's partial list.
    Partial = 0,
    /// The page allocations come from.
    Current = 1 << 30,
    /// Every block is live; in no list.
    Full = 2 << 30,
    /// In the heap's spare list.
    Spare = 3 << 30,
}

/// The bits of [`Page::used`] below the state: the live count.
const LIVE_MASK: u32 = (1 << 30) - 1;
const _: () = assert!((PAGE_SIZE - HEADER) / 8 <= LIVE_MASK as usize);

/// Whether a free that left `used` (a page's [`Page::used`] word) must move
/// the page between lists (`Slab::free_slow`): the page was `Full`, or it
/// is `Partial` and now empty. One compare: `used - 1` wraps for a
/// `Partial` page with no live block left, and is at least `Full - 1` for
/// a `Full` (or `Spare`) page, while a `Current` page, whatever its count,
/// and a `Partial` one with blocks left stay below.
#[inline]
const fn free_moves_page(used: u32) -> bool {
    used.wrapping_sub(1) >= State::Full as u32 - 1
}

/// A free block: the next one of its page's free list.
struct Free {
    next: *mut Free,
}

/// The header at the start of every page.
#[repr(C)]
pub(crate) struct Page {
    /// The tracked type whose objects the page holds, or null.
    vtable: Cell<*const ()>,
    pool: Cell<*mut Pool>,
    free: Cell<*mut Free>,
    /// Offset of the first never-used block.
    bump: Cell<u32>,
    /// The live count (P2) in the low bits (`LIVE_MASK`) and the [`State`]
    /// in the top two, so that a free tests both at once
    /// ([`free_moves_page`]).
    used: Cell<u32>,
    block: Cell<u32>,
    /// Links in the pool's partial list, or in the spare list.
    prev: Cell<*mut Page>,
    next: Cell<*mut Page>,
    chunk: Cell<*mut Chunk>,
}

impl Page {
    /// Blocks handed out and not freed since (P2).
    #[inline]
    fn live(&self) -> u32 {
        self.used.get() & LIVE_MASK
    }

    #[inline]
    fn state(&self) -> State {
        match self.used.get() >> 30 {
            0 => State::Partial,
            1 => State::Current,
            2 => State::Full,
            _ => State::Spare,
        }
    }

    #[inline]
    fn set_state(&self, state: State) {
        self.used.set(self.live() | state as u32);
    }
}

/// A run of `CHUNK_PAGES` pages allocated together.
struct Chunk {
    base: *mut u8,
    /// Pages handed out so far (from the start of the chunk).
    carved: Cell<u32>,
    /// Of those, pages in the spare list.
    spare: Cell<u32>,
}

/// Where blocks of one size (and, for a typed pool, one type) come from.
pub(crate) struct Pool {
    /// The type key's address for a typed pool, or null.
    vtable: *const (),
    block: u32,
    current: Cell<*mut Page>,
    /// Doubly linked list of `Partial` pages.
    partial: Cell<*mut Page>,
    /// Pages owned (any state but `Spare`).
    pages: Cell<u32>,
}

/// The allocator's thread-local state (part of the heap).
pub(crate) struct Slab {
    /// Untyped pools by size class.
    classes: [Cell<*mut Pool>; CLASSES],
    /// Typed pools by vtable, direct-mapped.
    cache: [Cell<(*const (), *mut Pool)>; CACHE],
    /// All typed pools (the cache's backing store).
    typed: Cell<*mut Vec<*mut Pool>>,
    /// Doubly linked list of empty pages.
    spare: Cell<*mut Page>,
    spares: Cell<u32>,
    /// The chunk pages are carved from.
    chunk: Cell<*mut Chunk>,
    /// Every chunk (a leaked `Box<Vec<_>>`, or null).
    chunks: Cell<*mut Vec<*mut Chunk>>,
    /// Set once the thread's heap is torn down: nothing is kept spare.
    closing: Cell<bool>,
    /// Set while the collector frees garbage: emptied chunks are kept.
    holding: Cell<bool>,
    /// Chunks emptied while `holding` (an upper bound: some may have been
    /// reused since); `trim` looks for them only when this is not zero.
    held: Cell<u32>,
    /// A spare page was taken since the last `trim`.
    drawn: Cell<bool>,
}

impl Slab {
    pub(crate) const fn new() -> Self {
        Slab {
            classes: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            cache: [const { Cell::new((ptr::null(), ptr::null_mut())) }; CACHE],
            typed: Cell::new(ptr::null_mut()),
            spare: Cell::new(ptr::null_mut()),
            spares: Cell::new(0),
            chunk: Cell::new(ptr::null_mut()),
            chunks: Cell::new(ptr::null_mut()),
            closing: Cell::new(false),
            holding: Cell::new(false),
            held: Cell::new(0),
            drawn: Cell::new(false),
        }
    }

    /// While `on`, a chunk whose pages all become spare stays with the slab
    /// (until [`Slab::trim`] or thread exit) instead of going back to the
    /// system at once.
    pub(crate) fn hold(&self, on: bool) {
        self.holding.set(on);
    }

    /// How many chunks the slab has (tests).
    #[cfg(test)]
    fn chunk_count(&self) -> usize {
        if self.chunks.get().is_null() {
            return 0;
        }
        // SAFETY: `chunks` is a leaked `Box<Vec<_>>` that nothing else
        // borrows now (P5).
        unsafe { &*self.chunks.get() }.len()
    }

    /// Gives back the chunks [`Slab::hold`] kept that are still all spare,
    /// keeping `SPARE_RESERVE` other spare pages as usual: always if
    /// `force`, otherwise only if no spare page was taken since the last
    /// call (the program is not reusing them).
    pub(crate) fn trim(&self, force: bool) {
        let drawn = self.drawn.replace(false);
        if self.held.get() == 0 || self.holding.get() || (drawn && !force) {
            return;
        }
        self.held.set(0);
        if self.chunks.get().is_null() {
            return;
        }
        // SAFETY: `chunks` is a leaked `Box<Vec<_>>` that nothing else
        // borrows now (P5); the copy ends the borrow before `free_chunk`
        // changes the registry.
        let empty: Vec<*mut Chunk> = unsafe { &*self.chunks.get() }
            .iter()
            .copied()
            .filter(|&chunk| {
                // SAFETY: registered chunks are live (P5).
                let c = unsafe { &*chunk };
                c.carved.get() == CHUNK_PAGES && c.spare.get() == CHUNK_PAGES
            })
            .collect();
        for chunk in empty {
            if self.spares.get() - CHUNK_PAGES < SPARE_RESERVE {
                break;
            }
            // SAFETY: a registered chunk (P5) whose carved pages are all
            // spare (just checked; nothing allocated since).
            unsafe { self.free_chunk(chunk) };
        }
    }
}

/// Whether the slab serves blocks of `layout`.
#[inline]
pub(crate) const fn serves(size: usize, align: usize) -> bool {
    !cfg!(gc_system_alloc) && size <= MAX_BLOCK && align <= 8
}

/// The block size for `size` bytes.
#[inline]
pub(crate) const fn block_size(size: usize) -> usize {
    (size + 7) & !7
}

/// The page holding `block`.
#[inline]
fn page_of(block: NonNull<u8>) -> *mut Page {
    block.as_ptr().map_addr(|a| a & !(PAGE_SIZE - 1)).cast()
}

/// The type key of the typed page holding `block`, or `None` for an
/// untyped page.
///
/// # Safety
///
/// - `block` was handed out by this thread's slab and is live (P2).
#[inline]
pub(crate) unsafe fn key_of(block: NonNull<u8>) -> Option<TypeKey> {
    // SAFETY: the page of a live block is live and has a header (P1), which
    // is only accessed through shared references to `Cell`s.
    let page = unsafe { &*page_of(block) };
    NonNull::new(page.vtable.get().cast_mut()).map(TypeKey)
}

impl Slab {
    /// A block of `size` bytes (alignment 8) from the size-class pool.
    ///
    /// # Safety
    ///
    /// - `size` is in `1..=MAX_BLOCK` (a zero size would make blocks of zero
    ///   bytes, all at one address).
    #[inline]
    pub(crate) unsafe fn alloc(&self, size: usize) -> NonNull<u8> {
        debug_assert!((1..=MAX_BLOCK).contains(&size));
        let block = block_size(size);
        let pool = self.classes[block / 8].get();
        if pool.is_null() {
            return self.alloc_first(block);
        }
        // SAFETY: a pool in `classes` is a live size-class pool (P3).
        unsafe { self.alloc_from::<false>(pool) }
    }

    /// The first block of a size class: makes its pool.
    #[cold]
    #[inline(never)]
    fn alloc_first(&self, block: usize) -> NonNull<u8> {
        let pool = new_pool(ptr::null(), block);
        self.classes[block / 8].set(pool);
        // SAFETY: a new size-class pool, live (P3).
        unsafe { self.alloc_from::<false>(pool) }
    }

    /// A block of `size` bytes for a tracked object of the type `key`
    /// names; its page records the key (see [`key_of`]).
    ///
    /// # Safety
    ///
    /// - `size` is in `16..=MAX_BLOCK` (a head and counts at least);
    /// - every call with this `key` passes the same `size` (the key's pool
    ///   has one block size);
    /// - before the slab is next used, the caller writes a word other than
    ///   `FREE_TAG` into the block's second `u32` (an object's flags word,
    ///   whose location is never `LOC_FREE`), so that [`Slab::typed_blocks`]
    ///   tells the block from a free one (P2).
    #[inline]
    pub(crate) unsafe fn alloc_typed(&self, key: TypeKey, size: usize) -> NonNull<u8> {
        debug_assert!((16..=MAX_BLOCK).contains(&size));
        let key = key.0.as_ptr().cast_const();
        let slot = &self.cache[(key.addr() >> 4) % CACHE];
        let (k, mut pool) = slot.get();
        if k != key {
            pool = self.typed_pool(key, block_size(size));
            slot.set((key, pool));
        }
        #[cfg(debug_assertions)]
        {
            // SAFETY: a pool in the cache is live (P3), and so is the one
            // `typed_pool` returns.
            let pool_block = unsafe { (*pool).block };
            debug_assert_eq!(pool_block as usize, block_size(size), "one size per key");
        }
        // SAFETY: a pool in the cache is a live typed pool (P3), and so is
        // the one `typed_pool` returns.
        unsafe { self.alloc_from::<true>(pool) }
    }

    /// Finds or makes the typed pool of `key`.
    #[cold]
    #[inline(never)]
    fn typed_pool(&self, key: *const (), block: usize) -> *mut Pool {
        if self.typed.get().is_null() {
            self.typed.set(Box::into_raw(Box::new(Vec::new())));
        }
        // SAFETY: `typed` is a leaked `Box<Vec<_>>` that nothing else
        // borrows while this function runs (P5).
        let typed = unsafe { &mut *self.typed.get() };
        for &p in typed.iter() {
            // SAFETY: pools in `typed` are live (P3).
            if unsafe { (*p).vtable } == key {
                return p;
            }
        }
        let p = new_pool(key, block);
        typed.push(p);
        p
    }

    /// Pops a block from `pool`.
    ///
    /// # Safety
    ///
    /// - `pool` is a live pool of this slab (P3), typed if and only if
    ///   `TYPED` (its free blocks' links are at `TYPED_LINK`, P2).
    #[inline]
    unsafe fn alloc_from<const TYPED: bool>(&self, pool: *mut Pool) -> NonNull<u8> {
        // SAFETY: the caller guarantees `pool` is live (this fn's Safety, P3).
        let p = unsafe { &*pool };
        debug_assert_eq!(TYPED, !p.vtable.is_null());
        let page = p.current.get();
        if !page.is_null() {
            // SAFETY: the current page is a listed page, so live (P4).
            let pg = unsafe { &*page };
            let f = pg.free.get();
            if !f.is_null() {
                let at = if TYPED { TYPED_LINK } else { 0 };
                // SAFETY: `f` is a free block of this page, with its `Free`
                // link at `at`, inside the block (P2; the pool is typed iff
                // `TYPED`, this fn's Safety).
                let link = unsafe { f.cast::<u8>().add(at) };
                #[expect(clippy::cast_ptr_alignment, reason = "blocks and links are 8-aligned")]
                let link = link.cast::<Free>();
                // SAFETY: the link of a free block is initialised (P2).
                pg.free.set(unsafe { (*link).next });
                pg.used.set(pg.used.get() + 1);
                // SAFETY: `f` is a block inside a live page (P2), so not
                // null.
                return unsafe { NonNull::new_unchecked(f.cast()) };
            }
            let b = pg.bump.get();
            let next = b + pg.block.get();
            if next as usize <= PAGE_SIZE {
                pg.bump.set(next);
                pg.used.set(pg.used.get() + 1);
                // SAFETY: `b` plus a block is within the page (P1, P2).
                let block = unsafe { page.cast::<u8>().add(b as usize) };
                // SAFETY: inside a live page (P1), so not null.
                return unsafe { NonNull::new_unchecked(block) };
            }
        }
        // SAFETY: `pool` is live and typed iff `TYPED` (this fn's Safety,
        // P3).
        unsafe { self.alloc_slow::<TYPED>(pool) }
    }

    /// The current page is exhausted: make another one current.
    ///
    /// # Safety
    ///
    /// - As for [`Slab::alloc_from`].
    #[cold]
    #[inline(never)]
    unsafe fn alloc_slow<const TYPED: bool>(&self, pool: *mut Pool) -> NonNull<u8> {
        // SAFETY: the caller guarantees `pool` is live (this fn's Safety, P3).
        let p = unsafe { &*pool };
        let old = p.current.get();
        if !old.is_null() {
            // SAFETY: the current page is a listed page, so live (P4).
            let pg = unsafe { &*old };
            pg.set_state(State::Full);
        }
        let head = p.partial.get();
        let page = if head.is_null() {
            // SAFETY: `pool` is live (this fn's Safety, P3).
            let page = unsafe { self.new_page(pool) };
            p.pages.set(p.pages.get() + 1);
            page
        } else {
            // SAFETY: pages in the partial list are live (P4).
            let pg = unsafe { &*head };
            debug_assert_eq!(pg.state(), State::Partial, "invariant P4");
            // SAFETY: `head` is in the pool's partial list, whose pages are
            // live (P4); `pg` is its header.
            unsafe { unlink(&p.partial, pg, head) };
            head
        };
        // SAFETY: `page` was just taken off a list or made, so it is live
        // (P1, P4).
        unsafe { &*page }.set_state(State::Current);
        p.current.set(page);
        // SAFETY: `pool` is live and typed iff `TYPED` (this fn's Safety,
        // P3); its current page now has room.
        unsafe { self.alloc_from::<TYPED>(pool) }
    }

    /// A fresh (or spare) page for `pool`.
    ///
    /// # Safety
    ///
    /// - `pool` is a live pool of this slab (P3).
    unsafe fn new_page(&self, pool: *mut Pool) -> *mut Page {
        let head = self.spare.get();
        let (page, chunk) = if head.is_null() {
            self.carve()
        } else {
            self.drawn.set(true);
            // SAFETY: `head` heads the spare list (P4).
            unsafe { self.spare_unlink(head) };
            // SAFETY: a spare page is live and has a header (P1, P4).
            let chunk = unsafe { &*head }.chunk.get();
            // SAFETY: the chunk of a live page is live (P1).
            let c = unsafe { &*chunk };
            c.spare.set(c.spare.get() - 1);
            (head, chunk)
        };
        // SAFETY: the caller guarantees `pool` is live (this fn's Safety, P3).
        let p = unsafe { &*pool };
        // SAFETY: `page` is `PAGE_SIZE` bytes of a live chunk, aligned, and
        // in no list now (P1, P4); the header is written before any
        // reference to it is made.
        unsafe {
            page.write(Page {
                vtable: Cell::new(p.vtable),
                pool: Cell::new(pool),
                free: Cell::new(ptr::null_mut()),
                #[expect(clippy::cast_possible_truncation, reason = "HEADER is 64")]
                bump: Cell::new(HEADER as u32),
                used: Cell::new(State::Current as u32),
                block: Cell::new(p.block),
                prev: Cell::new(ptr::null_mut()),
                next: Cell::new(ptr::null_mut()),
                chunk: Cell::new(chunk),
            });
        }
        page
    }

    /// A never-used page from the current chunk, or from a new chunk.
    fn carve(&self) -> (*mut Page, *mut Chunk) {
        let mut chunk = self.chunk.get();
        // SAFETY: `chunk` is null or a live chunk (P5).
        if chunk.is_null() || unsafe { &*chunk }.carved.get() == CHUNK_PAGES {
            chunk = self.new_chunk();
            self.chunk.set(chunk);
        }
        // SAFETY: `chunk` is a live chunk (P5), just checked or made.
        let c = unsafe { &*chunk };
        let k = c.carved.get();
        c.carved.set(k + 1);
        // SAFETY: page `k` of the chunk, `k < CHUNK_PAGES`, inside its
        // allocation (P1).
        let page = unsafe { c.base.add(k as usize * PAGE_SIZE) };
        #[expect(clippy::cast_ptr_alignment, reason = "pages are PAGE_SIZE-aligned")]
        let page = page.cast::<Page>();
        (page, chunk)
    }

    fn new_chunk(&self) -> *mut Chunk {
        // The exit guard gives the memory back when the thread ends.
        let layout = chunk_layout();
        // SAFETY: the chunk layout has a non-zero size (P1: `CHUNK_PAGES`
        // pages).
        let base = unsafe { alloc::alloc(layout) };
        if base.is_null() {
            alloc::handle_alloc_error(layout);
        }
        let chunk = Box::into_raw(Box::new(Chunk {
            base,
            carved: Cell::new(0),
            spare: Cell::new(0),
        }));
        if self.chunks.get().is_null() {
            self.chunks.set(Box::into_raw(Box::new(Vec::new())));
        }
        // SAFETY: `chunks` is a leaked `Box<Vec<_>>` that nothing else
        // borrows now (P5).
        unsafe { &mut *self.chunks.get() }.push(chunk);
        chunk
    }

    /// Gives a chunk whose carved pages are all spare back to the system.
    ///
    /// # Safety
    ///
    /// - `chunk` is a live chunk of this slab (P5), and every page carved
    ///   from it is spare (P1).
    unsafe fn free_chunk(&self, chunk: *mut Chunk) {
        // SAFETY: the caller guarantees `chunk` is live (this fn's Safety, P5).
        let c = unsafe { &*chunk };
        debug_assert_eq!(c.spare.get(), c.carved.get(), "invariant P1");
        for k in 0..c.carved.get() {
            // SAFETY: page `k` of the chunk, one it carved (P1).
            let page = unsafe { c.base.add(k as usize * PAGE_SIZE) };
            #[expect(clippy::cast_ptr_alignment, reason = "pages are PAGE_SIZE-aligned")]
            let page = page.cast::<Page>();
            // SAFETY: every carved page of the chunk is spare (this fn's
            // Safety), so in the spare list (P4).
            unsafe { self.spare_unlink(page) };
        }
        if self.chunk.get() == chunk {
            self.chunk.set(ptr::null_mut());
        }
        // SAFETY: a registered chunk exists, so `chunks` is a leaked
        // `Box<Vec<_>>` that nothing else borrows now (P5).
        unsafe { &mut *self.chunks.get() }.retain(|&x| x != chunk);
        // SAFETY: allocated by `new_chunk` with this layout; no page of it is
        // in use or listed any more (P1, P4).
        unsafe { alloc::dealloc(c.base, chunk_layout()) };
        // SAFETY: leaked by `new_chunk`, and no longer registered (P5); no
        // page refers to it any more.
        drop(unsafe { Box::from_raw(chunk) });
    }

    /// Removes a spare page from the spare list.
    ///
    /// # Safety
    ///
    /// - `page` is in this slab's spare list (`Spare`, P4).
    unsafe fn spare_unlink(&self, page: *mut Page) {
        // SAFETY: a spare page is a listed page, so live (P4).
        let pg = unsafe { &*page };
        debug_assert_eq!(pg.state(), State::Spare, "invariant P4");
        // SAFETY: `page` is in the spare list, whose pages are live (P4);
        // `pg` is its header.
        unsafe { unlink(&self.spare, pg, page) };
        self.spares.set(self.spares.get() - 1);
    }

    /// Frees a block this allocator handed out.
    ///
    /// # Safety
    ///
    /// - `block` came from [`Slab::alloc`] or [`Slab::alloc_typed`] of this
    ///   slab, is not used again, and is freed once (P2).
    #[inline]
    pub(crate) unsafe fn free(&self, block: NonNull<u8>) {
        // SAFETY: the page of a live block is live and has a header (P1).
        let typed = !unsafe { &*page_of(block) }.vtable.get().is_null();
        if typed {
            // SAFETY: the caller's contract (this fn's Safety), and the block
            // is in a typed page, so from `alloc_typed` (P2); `self` is its
            // slab.
            unsafe { free_in::<true>(block, || self) }
        } else {
            // SAFETY: as just said, from `alloc` (an untyped page, P2).
            unsafe { free_in::<false>(block, || self) }
        }
    }

    /// A block of `page` was just freed, and the page must move between
    /// lists ([`free_moves_page`]).
    ///
    /// # Safety
    ///
    /// - `page` is a live page of this slab (P1) that is `Full`, or
    ///   `Partial` and empty.
    #[cold]
    #[inline(never)]
    unsafe fn free_slow(&self, page: *mut Page) {
        // SAFETY: the caller guarantees `page` is live (this fn's Safety, P1).
        let pg = unsafe { &*page };
        debug_assert!(
            matches!(pg.state(), State::Full | State::Partial),
            "invariant P4"
        );
        let pool = pg.pool.get();
        // SAFETY: a pool outlives its pages (P3).
        let p = unsafe { &*pool };
        if pg.state() == State::Full {
            pg.set_state(State::Partial);
            // SAFETY: a `Full` page is in no list (P4); the partial list's
            // pages are live (P4); `pg` is `page`'s header.
            unsafe { link(&p.partial, pg, page) };
        }
        if pg.live() == 0 {
            // SAFETY: the page is `Partial` now, so in its pool's partial
            // list (P4).
            unsafe { unlink(&p.partial, pg, page) };
            // SAFETY: `page` is live, empty and now in no list (P4).
            unsafe { self.release_page(page) };
            p.pages.set(p.pages.get() - 1);
            if self.closing.get() && p.pages.get() == 0 {
                // SAFETY: the pool is live (P3) and now owns no page.
                unsafe { self.drop_pool(pool) };
            }
        }
    }

    /// Puts an empty page on the spare list; gives its chunk back if all
    /// of the chunk's pages are spare and enough others are kept.
    ///
    /// # Safety
    ///
    /// - `page` is a live page of this slab (P1) with no live block, in no
    ///   list (P4); its pool no longer counts it.
    unsafe fn release_page(&self, page: *mut Page) {
        // SAFETY: the caller guarantees `page` is live (this fn's Safety, P1).
        let pg = unsafe { &*page };
        debug_assert_eq!(pg.live(), 0);
        pg.set_state(State::Spare);
        // SAFETY: `page` is in no list (this fn's Safety); the spare list's
        // pages are live (P4); `pg` is `page`'s header.
        unsafe { link(&self.spare, pg, page) };
        self.spares.set(self.spares.get() + 1);
        let chunk = pg.chunk.get();
        // SAFETY: the chunk of a live page is live (P1).
        let c = unsafe { &*chunk };
        c.spare.set(c.spare.get() + 1);
        let all_spare = c.spare.get() == c.carved.get();
        let full = c.carved.get() == CHUNK_PAGES;
        let others = self.spares.get() - c.spare.get();
        if all_spare && (self.closing.get() || (full && others >= SPARE_RESERVE)) {
            if self.holding.get() && !self.closing.get() {
                self.held.set(self.held.get() + 1);
                return;
            }
            // SAFETY: the chunk is live (P1, P5) and all its carved pages
            // are spare.
            unsafe { self.free_chunk(chunk) };
        }
    }

    /// Frees a pool that owns no page, and forgets it.
    ///
    /// # Safety
    ///
    /// - `pool` is a live pool of this slab (P3) that owns no page, and is
    ///   not used again.
    unsafe fn drop_pool(&self, pool: *mut Pool) {
        for c in &self.classes {
            if c.get() == pool {
                c.set(ptr::null_mut());
            }
        }
        for c in &self.cache {
            if c.get().1 == pool {
                c.set((ptr::null(), ptr::null_mut()));
            }
        }
        if !self.typed.get().is_null() {
            // SAFETY: `typed` is a leaked `Box<Vec<_>>` that nothing else
            // borrows now (P5).
            let typed = unsafe { &mut *self.typed.get() };
            typed.retain(|&p| p != pool);
        }
        // SAFETY: pools are `Box`es leaked by `new_pool`; this one owns no
        // page (P3, this fn's Safety) and is no longer listed anywhere.
        drop(unsafe { Box::from_raw(pool) });
    }

    /// Calls `f` on every live block of every typed page (a block handed
    /// out and not freed since: an object's head), skipping free ones.
    ///
    /// # Safety
    ///
    /// - `f` does not use this slab: it allocates, frees and closes nothing
    ///   here (the walk borrows `chunks` and reads pages while it runs, P5).
    pub(crate) unsafe fn typed_blocks(&self, mut f: impl FnMut(NonNull<u8>)) {
        if self.chunks.get().is_null() {
            return;
        }
        // SAFETY: `chunks` is a leaked `Box<Vec<_>>`; `f` does not use the
        // slab (this fn's Safety), so nothing else borrows or changes it
        // while this reference lives (P5).
        let chunks = unsafe { &*self.chunks.get() };
        for &chunk in chunks {
            // SAFETY: registered chunks are live (P5).
            let c = unsafe { &*chunk };
            for k in 0..c.carved.get() as usize {
                // SAFETY: page `k` of the chunk, one it carved (P1).
                let page = unsafe { c.base.add(k * PAGE_SIZE) };
                #[expect(clippy::cast_ptr_alignment, reason = "pages are PAGE_SIZE-aligned")]
                let header = page.cast::<Page>();
                // SAFETY: a carved page of a live chunk has a header (P1).
                let pg = unsafe { &*header };
                if pg.state() == State::Spare || pg.vtable.get().is_null() {
                    continue;
                }
                let block = pg.block.get() as usize;
                let mut off = HEADER;
                while off + block <= pg.bump.get() as usize {
                    // SAFETY: a block handed out from this page, inside it
                    // (P2).
                    let b = unsafe { page.add(off) };
                    off += block;
                    #[expect(clippy::cast_ptr_alignment, reason = "blocks are 8-aligned")]
                    let words = b.cast::<u32>();
                    // SAFETY: a typed block is at least 16 bytes, 8-aligned
                    // (P2), so its second `u32` is inside it.
                    let tag = unsafe { words.add(1) };
                    // SAFETY: the second `u32` of a handed-out typed block is
                    // initialised: `FREE_TAG` when it is free, the object's
                    // flags word otherwise (P2).
                    if unsafe { tag.read() } == FREE_TAG {
                        continue;
                    }
                    // SAFETY: inside a live page (P1), so not null.
                    f(unsafe { NonNull::new_unchecked(b) });
                }
            }
        }
    }

    /// Thread exit: give back every empty page and every pool that owns
    /// none. Pools and pages with live blocks stay; their blocks are freed
    /// normally later, and pools emptied then are freed too.
    pub(crate) fn close(&self) {
        self.closing.set(true);
        let mut pools: Vec<*mut Pool> = self.classes.iter().map(Cell::get).collect();
        if !self.typed.get().is_null() {
            // SAFETY: `typed` is a leaked `Box<Vec<_>>` that nothing else
            // borrows now (P5).
            pools.extend(unsafe { &*self.typed.get() }.iter().copied());
        }
        for pool in pools.into_iter().filter(|p| !p.is_null()) {
            // SAFETY: pools in `classes` and `typed` are live (P3); this loop
            // drops only the pool it is at.
            let p = unsafe { &*pool };
            let cur = p.current.get();
            // SAFETY: the current page is a listed page, so live (P4).
            if !cur.is_null() && unsafe { &*cur }.live() == 0 {
                p.current.set(ptr::null_mut());
                // SAFETY: `cur` is live, empty and, no longer current, in no
                // list (P4).
                unsafe { self.release_page(cur) };
                p.pages.set(p.pages.get() - 1);
            }
            if p.pages.get() == 0 {
                // SAFETY: the pool is live (P3) and owns no page.
                unsafe { self.drop_pool(pool) };
            }
        }
        if !self.typed.get().is_null() {
            // SAFETY: `typed` is a leaked `Box<Vec<_>>` that nothing else
            // borrows now (P5).
            let empty = unsafe { &*self.typed.get() }.is_empty();
            if empty {
                // SAFETY: leaked by `typed_pool`, and no reference to it
                // lives (P5).
                drop(unsafe { Box::from_raw(self.typed.get()) });
                self.typed.set(ptr::null_mut());
            }
        }
        if !self.chunks.get().is_null() {
            // SAFETY: `chunks` is a leaked `Box<Vec<_>>` that nothing else
            // borrows now (P5).
            let chunks = unsafe { &*self.chunks.get() }.clone();
            for chunk in chunks {
                // SAFETY: registered chunks are live (P5), and `free_chunk`
                // frees only the one it is given.
                let c = unsafe { &*chunk };
                if c.spare.get() == c.carved.get() {
                    // SAFETY: live (P5), and all its carved pages are spare.
                    unsafe { self.free_chunk(chunk) };
                }
            }
            // SAFETY: `chunks` is a leaked `Box<Vec<_>>` that nothing else
            // borrows now (P5).
            if unsafe { &*self.chunks.get() }.is_empty() {
                // SAFETY: leaked by `new_chunk`, and no reference to it lives
                // (P5).
                drop(unsafe { Box::from_raw(self.chunks.get()) });
                self.chunks.set(ptr::null_mut());
            }
        }
    }
}

/// Frees a block of a size-class pool (one [`Slab::alloc`] handed out),
/// without reaching for the slab unless the block's page moves between
/// lists: `slab` is called only then.
///
/// # Safety
///
/// - `block` came from [`Slab::alloc`] of the slab `slab` returns, is not
///   used again, and is freed once (P2).
#[inline]
pub(crate) unsafe fn free_untyped<'a>(block: NonNull<u8>, slab: impl FnOnce() -> &'a Slab) {
    // SAFETY: this fn's Safety, for an untyped block.
    unsafe { free_in::<false>(block, slab) }
}

/// [`free_untyped`] for a block of a typed pool (one
/// [`Slab::alloc_typed`] handed out).
///
/// # Safety
///
/// - `block` came from [`Slab::alloc_typed`] of the slab `slab` returns, is
///   not used again, and is freed once (P2).
#[inline]
pub(crate) unsafe fn free_typed<'a>(block: NonNull<u8>, slab: impl FnOnce() -> &'a Slab) {
    // SAFETY: this fn's Safety, for a typed block.
    unsafe { free_in::<true>(block, slab) }
}

/// Pushes `block` onto its page's free list; the page moves between lists
/// (through `slab`, called only then) if it was `Full` or is now empty and
/// `Partial`.
///
/// # Safety
///
/// - `block` came from [`Slab::alloc_typed`] (if `TYPED`) or
///   [`Slab::alloc`] (if not) of the slab `slab` returns, is not used
///   again, and is freed once (P2).
#[inline]
unsafe fn free_in<'a, const TYPED: bool>(block: NonNull<u8>, slab: impl FnOnce() -> &'a Slab) {
    let page = page_of(block);
    // SAFETY: the page of a live block is live (P1).
    let pg = unsafe { &*page };
    debug_assert_eq!(TYPED, !pg.vtable.get().is_null(), "typed iff its page is");
    let link = Free {
        next: pg.free.get(),
    };
    if TYPED {
        // A typed block keeps a head-shaped start, so that walks over the
        // page (`typed_blocks`) can tell it is free: the flags word says
        // `LOC_FREE`, and the link goes after the head.
        // SAFETY: a typed block is at least 16 bytes, 8-aligned (P2), so its
        // second `u32` is inside it.
        let flags = unsafe { block.cast::<u32>().add(1) };
        // SAFETY: inside the block and 4-aligned (P2); the block is no
        // longer used.
        unsafe { flags.write(FREE_TAG) };
        // SAFETY: bytes 8..16 of the block, inside it (P2).
        let at = unsafe { block.add(TYPED_LINK) };
        // SAFETY: 8-aligned and inside the block (P2), no longer used.
        unsafe { at.cast::<Free>().write(link) };
    } else {
        // SAFETY: an untyped block is at least 8 bytes, 8-aligned (P2), and
        // no longer used: it now holds the free-list link.
        unsafe { block.cast::<Free>().write(link) };
    }
    pg.free.set(block.as_ptr().cast());
    let used = pg.used.get() - 1;
    pg.used.set(used);
    if free_moves_page(used) {
        // SAFETY: the page of a block `slab` handed out is a live page of
        // that slab (P1), `Full` or now empty and `Partial`
        // (`free_moves_page`).
        unsafe { slab().free_slow(page) };
    }
}

#[cfg(test)]
mod tests;
