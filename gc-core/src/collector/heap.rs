//! The per-thread heap: generation lists, counters, the deferred-free queues,
//! and the paths every tracked allocation and free takes.
//!
//! The hot state lives in a `const`-initialised thread-local without drop glue,
//! so reaching it is one thread-pointer-relative address and it stays usable
//! during (and after) thread-local teardown. A separate guard thread-local
//! with a destructor runs the exit collection and releases the lists.

use core::cell::{Cell, RefCell};
use core::mem::ManuallyDrop;

use super::config::{DEFAULT_THRESHOLDS, State};
use super::list::List;
use crate::gc_box::HeadPtr;
use crate::header::{
    Flag, LOC_GARBAGE, LOC_GEN0, LOC_GEN1, LOC_GEN2, LOC_NONE, LOC_PERM, LOC_WORK, Loc,
};

/// Value drops nest this deep before further frees are queued (CPython's
/// trashcan uses 50; our frames are larger with user `Drop` impls).
pub(crate) const TRASHCAN_DEPTH: u32 = 24;

/// Buffers up to this many entries are kept between collections.
const RECYCLE_MAX: usize = 1 << 18;

/// Number of lists: generations 0, 1, 2 and the permanent (frozen) one.
pub(crate) const LISTS: usize = 4;

/// The thread-local heap.
pub(crate) struct Heap {
    /// Generation lists 0, 1, 2 and the permanent generation (invariant I4).
    /// Lists 2 and 3 hold only `INLINE` objects: typed slab objects of those
    /// generations are found by walking the slab's typed pages, so a
    /// long-lived object costs no list entry.
    lists: [List; LISTS],
    /// Typed slab objects in generation 2 and in the permanent generation
    /// (indexed by location; 0 and 1 unused).
    in_pages: [Cell<usize>; LISTS],
    /// Tracked allocations minus deallocations since the last gen-0 run.
    pub(crate) young_count: Cell<usize>,
    /// Generation-0 objects made `LOST` since the last young step took its
    /// candidates (an upper bound: some may be gone); 0 lets the step skip
    /// looking for them.
    pub(crate) young_lost: Cell<usize>,
    /// Automatic collection is considered when `young_count` exceeds this;
    /// `usize::MAX` when it is off.
    pub(crate) trigger: Cell<usize>,
    /// Nesting depth of value drops (the trashcan).
    pub(super) depth: Cell<u32>,
    /// Objects whose drop was queued because the nesting was too deep.
    pub(super) trashcan: List,
    /// Objects whose count reached zero while a collection examined them.
    pub(crate) pending: List,
    /// Old objects that lost a reference since they were last examined (the
    /// automatic old step's candidates, invariant I10), each once
    /// (`Flag::Queued`); an object freed while queued leaves its block
    /// allocated until its entry is taken out.
    pub(crate) candidates: List,
    /// A collection is running.
    pub(crate) collecting: Cell<bool>,
    /// The thread is exiting: the lists were released; new objects are not
    /// tracked.
    pub(crate) torn_down: Cell<bool>,
    /// `debug::DebugFlags` bits.
    pub(crate) debug: Cell<u32>,
    /// Garbage kept by `DebugFlags::SAVE_ALL`; each holds one strong count.
    pub(crate) saved: List,
    /// The exit guard's destructor is registered.
    pub(crate) guard_registered: Cell<bool>,
    /// Configuration, statistics and callbacks.
    pub(crate) state: ManuallyDrop<RefCell<State>>,
    /// The block allocator.
    pub(crate) slab: crate::slab::Slab,
    /// Handles made (by `Clone`) to objects a collection is examining: each
    /// such object is marked dead while it is examined, so the clone takes
    /// the slow path, which counts it here (see `scan::partition`).
    pub(crate) made_while_examined: Cell<u64>,
    /// The scratch-count buffer, kept between collections.
    scratch: ManuallyDrop<Cell<Vec<u32>>>,
}

const _: () = assert!(!core::mem::needs_drop::<Heap>());

thread_local! {
    static HEAP: Heap = const { Heap::new() };
}

/// This thread's heap.
#[expect(
    clippy::inline_always,
    reason = "one TLS access per allocation and per free; measured with callgrind"
)]
#[inline(always)]
pub(crate) fn heap() -> &'static Heap {
    let p: *const Heap = HEAP.with(core::ptr::from_ref);
    // SAFETY: `HEAP` is const-initialised and has no destructor, so it lives
    // at one address from the thread's start until its thread-local storage
    // is freed, after every destructor of the thread has run: no code of the
    // thread can outlive it. `Heap` is not `Sync`, so the reference cannot
    // leave the thread.
    unsafe { &*p }
}

/// Runs `f` on this thread's heap.
#[expect(clippy::inline_always, reason = "as for `heap`")]
#[inline(always)]
pub(crate) fn with_heap<R>(f: impl FnOnce(&Heap) -> R) -> R {
    f(heap())
}

impl Heap {
    const fn new() -> Self {
        Heap {
            lists: [List::new(), List::new(), List::new(), List::new()],
            in_pages: [const { Cell::new(0) }; LISTS],
            young_count: Cell::new(0),
            young_lost: Cell::new(0),
            trigger: Cell::new(DEFAULT_THRESHOLDS.0),
            depth: Cell::new(0),
            trashcan: List::new(),
            pending: List::new(),
            candidates: List::new(),
            collecting: Cell::new(false),
            torn_down: Cell::new(false),
            debug: Cell::new(0),
            saved: List::new(),
            guard_registered: Cell::new(false),
            state: ManuallyDrop::new(RefCell::new(State::new())),
            slab: crate::slab::Slab::new(),
            made_while_examined: Cell::new(0),
            scratch: ManuallyDrop::new(Cell::new(Vec::new())),
        }
    }

    /// Removes `obj` from the generation it is in, if any, and counts a
    /// deallocation in `young_count` unless it was frozen.
    #[inline]
    pub(super) fn unlist(&self, obj: HeadPtr) {
        let loc = obj.loc();
        self.unlist_quiet(obj);
        if loc < LOC_PERM {
            self.young_count
                .set(self.young_count.get().saturating_sub(1));
        }
    }

    /// Removes `obj` from the generation it is in, if any, without counting
    /// a deallocation: it joins a set a collection examines.
    #[inline]
    pub(crate) fn unlist_quiet(&self, obj: HeadPtr) {
        let loc = obj.loc();
        if loc <= LOC_PERM {
            if loc >= LOC_GEN2 && !obj.has(Flag::Inline) {
                let n = &self.in_pages[loc as usize];
                n.set(n.get() - 1);
            } else {
                self.unlist_vec(obj, loc);
            }
            obj.set_loc(LOC_NONE);
        }
    }

    /// Takes generation 0's candidates (`LOST` objects) out of it; the rest
    /// stay, in order.
    pub(crate) fn take_young_candidates(&self) -> Vec<HeadPtr> {
        if self.young_lost.replace(0) == 0 {
            return Vec::new();
        }
        let lost = self.lists[0].extract_flagged(Flag::Lost);
        for &obj in &lost {
            obj.set_loc(LOC_NONE);
        }
        lost
    }

    /// Moves generation 0's objects to generation 2, except the candidates
    /// (`LOST`), which stay.
    pub(crate) fn promote_young(&self) {
        let lost = if self.young_lost.get() == 0 {
            Vec::new()
        } else {
            self.lists[0].extract_flagged(Flag::Lost)
        };
        self.young_lost.set(lost.len());
        let rest = self.lists[0].take();
        // SAFETY: generation 0's objects: allocated, initialised and not
        // detached (I4, I5), kept allocated by their handles (I9).
        unsafe { self.place(&rest, LOC_GEN2) };
        self.recycle_young(rest);
        // Invariant I4: the candidates get their indices anew.
        self.lists[0].append_located(&lost, LOC_GEN0, false);
        for &obj in &lost {
            obj.counts().set_watched(false);
        }
    }

    /// Removes `obj` from `lists[loc]`.
    #[inline]
    fn unlist_vec(&self, obj: HeadPtr, loc: Loc) {
        let idx = obj.index();
        self.lists[loc as usize].swap_remove_indexed(obj, idx);
    }

    /// Puts `objs` in generation `loc` (0 to 3), setting their location.
    ///
    /// # Safety
    ///
    /// - Every object of `objs` is allocated (I9), its value initialised
    ///   (I2), not detached (I5), in no generation list (I4), and stays
    ///   allocated while listed (its strong count, or the collector's count
    ///   given back through the release path, which unlists it first, I7).
    pub(crate) unsafe fn place(&self, objs: &[HeadPtr], loc: Loc) {
        debug_assert!(loc <= LOC_PERM);
        let l = loc as usize;
        if loc <= LOC_GEN1 {
            self.lists[l].append_located(objs, loc, false);
            return;
        }
        let typed = self.lists[l].append_located(objs, loc, true);
        self.in_pages[l].set(self.in_pages[l].get() + typed);
    }

    /// Pushes onto `objs` the typed slab objects of generation `loc` (2 or
    /// 3), which are in no vector (I4).
    fn typed_in(&self, loc: Loc, objs: &mut Vec<HeadPtr>) {
        debug_assert!(loc == LOC_GEN2 || loc == LOC_PERM);
        let walk = |b| {
            // SAFETY: `typed_blocks` yields live typed blocks, each an
            // object's head (P2, I3); the `HeadPtr` is kept only for an
            // object of generation `loc`, which is allocated while listed
            // (I4, I9).
            let obj = unsafe { HeadPtr::from_block(b) };
            if obj.loc() == loc {
                objs.push(obj);
            }
        };
        // SAFETY: the walk reads heads and grows a `Vec` (the global
        // allocator, not the slab): it does not use the slab (P5).
        unsafe { self.slab.typed_blocks(walk) };
    }

    /// Takes every object out of generation `loc` (0 to 3); their locations
    /// are left for the caller to set.
    pub(crate) fn gather(&self, loc: Loc) -> Vec<HeadPtr> {
        let l = loc as usize;
        let mut objs = self.lists[l].take();
        if loc >= LOC_GEN2 && self.in_pages[l].get() != 0 {
            self.typed_in(loc, &mut objs);
            self.in_pages[l].set(0);
        }
        objs
    }

    /// The objects of generation `loc` (0 to 3), left where they are.
    pub(crate) fn objects_in(&self, loc: Loc) -> Vec<HeadPtr> {
        let l = loc as usize;
        let mut objs = self.lists[l].to_vec();
        if loc >= LOC_GEN2 && self.in_pages[l].get() != 0 {
            self.typed_in(loc, &mut objs);
        }
        objs
    }

    /// Checks invariant I4 and the counts of objects found in typed pages (tests only).
    #[cfg(test)]
    pub(crate) fn check_lists(&self) {
        for loc in 0..=LOC_PERM {
            let l = loc as usize;
            let v = self.lists[l].to_vec();
            for (i, obj) in v.iter().enumerate() {
                assert_eq!(obj.index(), i, "index of object in list {loc}");
                assert_eq!(obj.loc(), loc, "location of object in list {loc}");
                if loc >= LOC_GEN2 {
                    assert!(obj.has(Flag::Inline), "only inline objects in list {loc}");
                }
            }
            let all = self.objects_in(loc);
            assert_eq!(all.len(), self.len(loc), "count of generation {loc}");
        }
    }

    /// Number of tracked objects in generations 0 to 2 (not the frozen ones).
    pub(crate) fn tracked(&self) -> usize {
        (0..LOC_PERM).map(|g| self.len(g)).sum()
    }

    /// Number of objects in generation `loc`'s list (0 to 3; the typed
    /// objects of generations 2 and 3 are in none).
    pub(crate) fn listed(&self, loc: Loc) -> usize {
        self.lists[loc as usize].len()
    }

    /// Number of objects in generation `loc` (0 to 3).
    pub(crate) fn len(&self, loc: Loc) -> usize {
        self.lists[loc as usize].len() + self.in_pages[loc as usize].get()
    }

    /// The scratch-count buffer (empty), to be given back with
    /// [`Heap::put_scratch`].
    pub(crate) fn take_scratch(&self) -> Vec<u32> {
        self.scratch.take()
    }

    /// Keeps a scratch buffer for the next collection, unless it is large
    /// (then memory wins over page faults) or the heap is torn down.
    pub(crate) fn put_scratch(&self, mut buf: Vec<u32>) {
        buf.clear();
        if buf.capacity() <= RECYCLE_MAX && !self.torn_down.get() {
            self.scratch.set(buf);
        }
    }

    /// Gives a collection's working buffer to generation 0, whose own
    /// buffer restarts empty after every collection, unless it is large.
    pub(crate) fn recycle_young(&self, mut buf: Vec<HeadPtr>) {
        if buf.capacity() > RECYCLE_MAX || self.torn_down.get() {
            return;
        }
        buf.clear();
        self.lists[0].adopt_buffer(buf);
    }

    /// Number of queued drops.
    #[inline]
    pub(crate) fn trashcan_len(&self) -> usize {
        self.trashcan.len()
    }

    /// [`Heap::track`] when generation 0's buffer must grow.
    ///
    /// # Safety
    ///
    /// - As for [`Heap::track`].
    #[cold]
    #[inline(never)]
    unsafe fn grow_young(&self, obj: HeadPtr) -> bool {
        if self.torn_down.get() {
            // Thread-local teardown already released the lists: the object
            // stays untracked (its cycles leak, as at interpreter exit).
            obj.set_loc(LOC_NONE);
            return false;
        }
        self.lists[0].push_indexed(obj);
        self.after_track()
    }

    /// Counts a new tracked object; returns whether an automatic
    /// collection is due.
    #[inline]
    fn after_track(&self) -> bool {
        let c = self.young_count.get() + 1;
        self.young_count.set(c);
        c > self.trigger.get()
    }
}

impl Heap {
    /// Puts a new tracked object in generation 0; returns whether an
    /// automatic collection is due (the collector runs it: see
    /// `collector::track`).
    ///
    /// # Safety
    ///
    /// - `obj` is allocated (I9) and fully initialised (I2: the collector may
    ///   examine it), `TRACKABLE`, located `LOC_GEN0` and in no list (I4), and
    ///   not detached (I5); its strong count keeps it allocated while listed.
    #[inline]
    #[must_use]
    pub(crate) unsafe fn track(&self, obj: HeadPtr) -> bool {
        debug_assert!(obj.has(Flag::Trackable) && obj.loc() == LOC_GEN0);
        // Invariant I10: a decrement of a tracked object is seen.
        obj.counts().set_watched(true);
        if self.lists[0].try_push_indexed(obj) {
            self.after_track()
        } else {
            // SAFETY: the caller keeps `track`'s contract (this fn's
            // Safety: I2, I4, I5, I9).
            unsafe { self.grow_young(obj) }
        }
    }
}

impl Heap {
    /// [`Heap::track`] without running an automatic collection (one runs
    /// at a later allocation).
    ///
    /// # Safety
    ///
    /// - As for [`Heap::track`].
    pub(crate) unsafe fn track_quietly(&self, obj: HeadPtr) {
        if self.torn_down.get() {
            obj.set_loc(LOC_NONE);
            return;
        }
        obj.counts().set_watched(true);
        if obj.has(Flag::Lost) {
            self.young_lost.set(self.young_lost.get() + 1);
        }
        self.lists[0].push_indexed(obj);
        self.young_count.set(self.young_count.get() + 1);
    }
}

/// Takes a head-ful object out of its generation list because its value is
/// about to be moved out (`Gc::try_unwrap`). Returns `false`, doing nothing,
/// if a collection is examining the object right now.
pub(crate) fn unlist_for_move(obj: HeadPtr) -> bool {
    let loc = obj.loc();
    if loc == LOC_WORK || loc == LOC_GARBAGE {
        return false;
    }
    with_heap(|h| h.unlist(obj));
    true
}

/// Takes a head-ful object out of the lists because `Gc::get_mut` is about to
/// hand out a `&mut` to its value (invariant I5).
pub(crate) fn detach(obj: HeadPtr) {
    obj.counts().set_detached(true);
    obj.set_flag(Flag::Discovered, false);
    if obj.loc() <= LOC_PERM {
        with_heap(|h| h.unlist(obj));
    }
}

/// Puts a detached object back in generation 0, now that no `&mut` from
/// `get_mut` can be alive (its handle was cloned, or found in a traced value).
///
/// # Safety
///
/// - No `&mut` that `Gc::get_mut` handed out to `obj`'s value is alive (the
///   caller reached the object through a shared handle, a `Weak` or a count
///   taken through one, I5);
/// - `obj` is allocated (I9).
pub(crate) unsafe fn reattach(obj: HeadPtr) {
    let c = obj.counts();
    if !c.is_detached() {
        return;
    }
    c.set_detached(false);
    let f = obj.flags();
    obj.set_flags(f.without(Flag::Discovered));
    if f.loc() == LOC_NONE && f.has(Flag::Trackable) && !c.is_dead() {
        obj.set_loc(LOC_GEN0);
        // Without an automatic collection: a `Clone` that panicked after
        // counting its handle would leak it.
        // SAFETY: a published (so initialised, I2), trackable object, now
        // attached (no `&mut` alive: this fn's Safety, I5) and in no list
        // (`LOC_NONE`, now `LOC_GEN0`, I4); its handles keep it allocated.
        with_heap(|h| unsafe { h.track_quietly(obj) });
    }
}

/// [`Heap::unlist_quiet`] on this thread's heap: how an object reached by
/// an edge leaves its list to join the set being examined.
pub(crate) fn unlist_joined(obj: HeadPtr) {
    heap().unlist_quiet(obj);
}
