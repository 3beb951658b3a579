//! The allocator on its own (a local `Slab`, not the thread's).

use std::collections::HashSet;

use super::{HEADER, MAX_BLOCK, PAGE_SIZE, Slab, State, page_of};

fn fill(slab: &Slab, size: usize, n: usize) -> Vec<core::ptr::NonNull<u8>> {
    assert!((1..=MAX_BLOCK).contains(&size));
    // SAFETY: `size` is in `1..=MAX_BLOCK`, as just checked.
    (0..n).map(|_| unsafe { slab.alloc(size) }).collect()
}

/// Frees every block of `blocks`.
///
/// # Safety
///
/// Each block was handed out by `slab`, is freed by no one else, and
/// appears once (P2).
unsafe fn free_all(slab: &Slab, blocks: impl IntoIterator<Item = core::ptr::NonNull<u8>>) {
    for b in blocks {
        // SAFETY: handed out by `slab`, freed once (this fn's Safety, P2).
        unsafe { slab.free(b) };
    }
}

#[test]
fn blocks_are_distinct_aligned_and_inside_their_page() {
    let slab = Slab::new();
    let n = if cfg!(miri) { 300 } else { 5_000 };
    for size in [8, 24, 48, 136, MAX_BLOCK] {
        let blocks = fill(&slab, size, n);
        let set: HashSet<usize> = blocks.iter().map(|b| b.as_ptr().addr()).collect();
        assert_eq!(set.len(), n, "distinct blocks of {size} bytes");
        for b in &blocks {
            let a = b.as_ptr().addr();
            assert_eq!(a % 8, 0);
            let page = page_of(*b).addr();
            assert!(a >= page + HEADER && a + size <= page + PAGE_SIZE);
            // Writable over the whole block.
            // SAFETY: a live block of at least `size` bytes, handed out once
            // (P2).
            unsafe { core::ptr::write_bytes(b.as_ptr(), 0xAB, size) };
        }
        // SAFETY: handed out by `slab`, each freed once (P2).
        unsafe { free_all(&slab, blocks) };
    }
    slab.close();
}

#[test]
fn freed_blocks_are_reused_and_empty_pages_recycled() {
    let slab = Slab::new();
    let per_page = (PAGE_SIZE - HEADER) / 64;
    let n = if cfg!(miri) {
        per_page + 5
    } else {
        per_page * 3 + 5
    };
    let blocks = fill(&slab, 64, n);
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, blocks.iter().copied()) };
    // All but the current page went back to the spare list.
    assert!(slab.spares.get() >= 1);
    let again = fill(&slab, 64, n);
    let pages = |v: &[core::ptr::NonNull<u8>]| -> HashSet<usize> {
        v.iter().map(|&b| page_of(b).addr()).collect()
    };
    assert_eq!(
        pages(&again),
        pages(&blocks),
        "the same pages serve the same demand"
    );
    // A spare page serves another size class.
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, again.iter().copied()) };
    let spares = slab.spares.get();
    let other = fill(&slab, 200, 10);
    assert_eq!(slab.spares.get(), spares - 1);
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, other) };
    slab.close();
    assert_eq!(slab.spares.get(), 0);
}

#[test]
fn a_full_page_becomes_partial_when_a_block_is_freed() {
    let slab = Slab::new();
    let per_page = (PAGE_SIZE - HEADER) / 512;
    let blocks = fill(&slab, 512, per_page + 1);
    let first = page_of(blocks[0]);
    // SAFETY: the page of a live block is live (P1).
    assert_eq!(unsafe { &*first }.state(), State::Full);
    // SAFETY: handed out by `slab`, freed once (P2).
    unsafe { slab.free(blocks[0]) };
    // SAFETY: the page still holds the other live blocks, so it is live
    // (P1).
    assert_eq!(unsafe { &*first }.state(), State::Partial);
    // The next allocation after the current page fills comes from it.
    let more = fill(&slab, 512, per_page);
    assert!(more.contains(&blocks[0]));
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, blocks.into_iter().skip(1).chain(more)) };
    slab.close();
}

#[test]
fn a_free_moves_its_page_only_when_full_or_emptied_partial() {
    use super::{LIVE_MASK, free_moves_page};
    for live in [0, 1, 7, LIVE_MASK] {
        assert!(
            !free_moves_page(State::Current as u32 | live),
            "current, {live} left"
        );
        assert!(
            free_moves_page(State::Full as u32 | live),
            "full, {live} left"
        );
    }
    assert!(free_moves_page(State::Partial as u32));
    assert!(!free_moves_page(State::Partial as u32 | 1));
    assert!(!free_moves_page(State::Partial as u32 | LIVE_MASK));
}

#[test]
fn an_emptied_current_page_stays_current() {
    let slab = Slab::new();
    let blocks = fill(&slab, 16, 3);
    let page = page_of(blocks[0]);
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, blocks.iter().copied()) };
    // SAFETY: a current page is live (P4).
    let pg = unsafe { &*page };
    assert_eq!((pg.state(), pg.live()), (State::Current, 0));
    assert_eq!(slab.spares.get(), 0);
    // The page serves the next allocation, from its free list.
    let again = fill(&slab, 16, 1);
    assert_eq!(again[0], blocks[2]);
    assert_eq!((pg.state(), pg.live()), (State::Current, 1));
    // SAFETY: handed out by `slab`, freed once (P2).
    unsafe { slab.free(again[0]) };
    slab.close();
}

/// Frees whole chunks of 512-byte blocks, with the slab holding or not.
fn empty_chunks(slab: &Slab, chunks: usize, hold: bool) {
    let per_chunk = (PAGE_SIZE - HEADER) / MAX_BLOCK * super::CHUNK_PAGES as usize;
    let blocks = fill(slab, MAX_BLOCK, per_chunk * chunks);
    assert_eq!(slab.chunk_count(), chunks);
    slab.hold(hold);
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(slab, blocks) };
    slab.hold(false);
}

#[test]
fn emptied_chunks_go_back_at_once_unless_held_then_when_not_drawn_on() {
    let chunks = 3;
    let per_chunk = (PAGE_SIZE - HEADER) / MAX_BLOCK * super::CHUNK_PAGES as usize;
    if cfg!(miri) {
        // Each case frees some 24,000 blocks: Miri checks the one that
        // reaches `trim` and `free_chunk` through a held chunk.
        let slab = Slab::new();
        empty_chunks(&slab, chunks, true);
        assert_eq!(slab.chunk_count(), chunks);
        slab.trim(false);
        assert!(slab.chunk_count() < chunks);
        slab.close();
        assert_eq!(slab.chunk_count(), 0);
        return;
    }
    // Not held: emptied chunks go at once, but for the reserve and the
    // chunk of the current page.
    let slab = Slab::new();
    empty_chunks(&slab, chunks, false);
    let kept = slab.chunk_count();
    assert!(kept < chunks, "{kept} of {chunks} chunks kept");
    slab.close();
    assert_eq!(slab.chunk_count(), 0);

    // Held: all stay until `trim`, which then keeps no more than a free
    // without holding keeps, and the reserve.
    let slab = Slab::new();
    empty_chunks(&slab, chunks, true);
    assert_eq!(slab.chunk_count(), chunks);
    slab.trim(false);
    assert!(slab.chunk_count() <= kept);
    assert!(slab.spares.get() >= super::SPARE_RESERVE);
    slab.close();
    assert_eq!(slab.chunk_count(), 0);

    // Held, then drawn on before the trim: that trim keeps them; the next,
    // with nothing drawn in between, gives back what is still empty.
    let slab = Slab::new();
    empty_chunks(&slab, chunks, true);
    let again = fill(&slab, MAX_BLOCK, per_chunk);
    assert_eq!(
        slab.chunk_count(),
        chunks,
        "the held chunks served the demand"
    );
    slab.trim(false);
    assert_eq!(slab.chunk_count(), chunks);
    slab.trim(false);
    assert!(slab.chunk_count() < chunks);
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, again) };
    slab.close();
    assert_eq!(slab.chunk_count(), 0);

    // Held and drawn on: a forced trim (a full collection) gives them back.
    let slab = Slab::new();
    empty_chunks(&slab, chunks, true);
    let again = fill(&slab, MAX_BLOCK, per_chunk);
    slab.trim(true);
    assert!(slab.chunk_count() < chunks);
    // SAFETY: handed out by `slab`, each freed once (P2).
    unsafe { free_all(&slab, again) };
    slab.close();
    assert_eq!(slab.chunk_count(), 0);

    // Thread exit gives back held chunks too.
    let slab = Slab::new();
    empty_chunks(&slab, chunks, true);
    slab.close();
    assert_eq!(slab.chunk_count(), 0);
}
