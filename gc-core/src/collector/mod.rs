//! The cycle collector: Python's `gc` module for this thread's heap.
//!
//! Every function here acts on the calling thread's heap only (a `Gc` never
//! leaves its thread).
//!
//! | Rust | Python |
//! |---|---|
//! | [`collect`] | `gc.collect()` |
//! | [`collect_generation`] | `gc.collect(g)` |
//! | [`enable`], [`disable`], [`is_enabled`] | `gc.enable()`, `gc.disable()`, `gc.isenabled()` |
//! | [`threshold`], [`set_threshold`] | `gc.get_threshold()`, `gc.set_threshold()` |
//! | [`count`] | `gc.get_count()` |
//! | [`stats`] | `gc.get_stats()` |
//! | [`freeze`], [`unfreeze`], [`freeze_count`] | `gc.freeze()`, `gc.unfreeze()`, `gc.get_freeze_count()` |
//! | [`tracked_count`] | `len(gc.get_objects())` |
//! | [`add_callback`], [`remove_callback`] | `gc.callbacks` |

mod auto;
mod config;
mod exit;
pub(crate) use exit::register_exit;
pub(crate) mod heap;
mod list;
pub(crate) mod release;
mod scan;
mod sweep;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::panic;
use std::time::{Duration, Instant};

use crate::gc_box::HeadPtr;
use crate::header::{Flag, LOC_GEN2, LOC_NONE, LOC_PERM, LOC_WORK};
use crate::trace::{Mode, Tracer};
pub(crate) use auto::auto_collect;
pub use auto::{budget, set_budget};
pub(crate) use config::rejected_by;
pub use config::{CallbackId, CollectInfo, DebugFlags, GenerationStats, Phase};
use config::{call_callbacks, note_rejected, note_stats};
use heap::{Heap, with_heap};

/// Collections run at thread exit before the remaining garbage is left alone.
const EXIT_PASSES: usize = 8;

fn update_trigger(h: &Heap) {
    let t = h.state.borrow().trigger();
    h.trigger
        .set(if h.torn_down.get() { usize::MAX } else { t });
}

/// Runs a full collection of this thread's heap and returns the number of
/// tracked objects it reclaimed (Python's `gc.collect()`).
///
/// Objects resurrected by a finalizer are not counted. Called while a
/// collection is already running (from a `Drop`, a finalizer or a callback),
/// it returns 0 at once.
///
/// # Panics
///
/// If a `Drop`, `finalize` or `trace` panics during the collection, the
/// collection still finishes its bookkeeping, and then the first such panic
/// is resumed here.
///
/// # Examples
///
/// ```
/// use gc_core::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// let a = Gc::new(Node(RefCell::new(None)));
/// let b = Gc::new(Node(RefCell::new(Some(a.clone()))));
/// *a.0.borrow_mut() = Some(b.clone());
/// drop((a, b)); // counting alone cannot free a cycle
/// assert_eq!(gc_core::collect(), 2);
/// ```
#[expect(
    clippy::must_use_candidate,
    reason = "called for its effect, like Python's `gc.collect()`"
)]
pub fn collect() -> usize {
    with_heap(|h| run(h, 2))
}

/// Collects generations `0..=generation` and returns the number of tracked
/// objects reclaimed (Python's `gc.collect(generation)`).
///
/// Generation 0 holds objects created since the last collection; the
/// survivors of a collection move one generation up, and generation 2 holds
/// the long-lived objects. A young collection's cost depends on the young
/// objects only.
///
/// # Panics
///
/// Panics if `generation > 2` ("generation must be 0, 1 or 2"), and, like
/// [`collect`], resumes a panic raised by user code during the collection.
///
/// # Examples
///
/// ```
/// use gc_core::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// let a = Gc::new(Node(RefCell::new(None)));
/// *a.0.borrow_mut() = Some(a.clone());
/// drop(a);
/// assert_eq!(gc_core::collect_generation(0), 1);
/// ```
#[track_caller]
#[expect(
    clippy::must_use_candidate,
    reason = "called for its effect, like Python's `gc.collect()`"
)]
pub fn collect_generation(generation: usize) -> usize {
    assert!(
        generation <= 2,
        "gc_core::collect_generation: generation must be 0, 1 or 2, got {generation}"
    );
    with_heap(|h| run(h, generation))
}

/// Turns automatic collection on (it is on by default).
///
/// # Examples
///
/// ```
/// gc_core::disable();
/// assert!(!gc_core::is_enabled());
/// gc_core::enable();
/// assert!(gc_core::is_enabled());
/// ```
pub fn enable() {
    with_heap(|h| {
        h.state.borrow_mut().enabled = true;
        update_trigger(h);
    });
}

/// Turns automatic collection off. [`collect`] still works.
///
/// # Examples
///
/// ```
/// gc_core::disable();
/// assert!(!gc_core::is_enabled());
/// gc_core::enable();
/// ```
pub fn disable() {
    with_heap(|h| {
        h.state.borrow_mut().enabled = false;
        update_trigger(h);
    });
}

/// Whether automatic collection is on.
///
/// # Examples
///
/// ```
/// assert!(gc_core::is_enabled());
/// ```
#[must_use]
pub fn is_enabled() -> bool {
    with_heap(|h| h.state.borrow().enabled)
}

/// The collection thresholds `(t0, t1, t2)`; the default is
/// `(2000, 10, 10)`, as in CPython 3.13.
///
/// An automatic collection step runs when tracked allocations minus
/// deallocations since the last generation-0 collection exceed `t0`. Unlike
/// CPython 3.13, which then collects whole generations, a step examines
/// only the objects that lost a reference and what they reach (see
/// [`set_budget`] for its bound), so a growing heap is never rescanned;
/// `t1` and `t2` keep their place in [`count`] and no other role (CPython
/// 3.14's incremental collector also dropped `t2`).
/// [`collect_generation`] and [`collect`] are not affected.
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::threshold(), (2000, 10, 10));
/// ```
#[must_use]
pub fn threshold() -> (usize, usize, usize) {
    with_heap(|h| h.state.borrow().thresholds)
}

/// Sets the collection thresholds (see [`threshold`]); `t0 == 0` turns
/// automatic collection off.
///
/// # Examples
///
/// ```
/// let old = gc_core::threshold();
/// gc_core::set_threshold(500, 5, 5);
/// assert_eq!(gc_core::threshold(), (500, 5, 5));
/// gc_core::set_threshold(old.0, old.1, old.2);
/// ```
pub fn set_threshold(t0: usize, t1: usize, t2: usize) {
    with_heap(|h| {
        h.state.borrow_mut().thresholds = (t0, t1, t2);
        update_trigger(h);
    });
}

/// The current collection counts `(c0, c1, c2)`: tracked allocations minus
/// deallocations since the last generation-0 collection; generation-0
/// collections since the last generation-1 collection; generation-1
/// collections since the last generation-2 collection.
///
/// # Examples
///
/// ```
/// use gc_core::Gc;
/// use std::cell::RefCell;
///
/// gc_core::collect();
/// let (c0, c1, c2) = gc_core::count();
/// assert_eq!((c1, c2), (0, 0));
/// let x = Gc::new(RefCell::new(Vec::<Gc<i32>>::new())); // a tracked object
/// assert_eq!(gc_core::count().0, c0 + 1);
/// gc_core::collect_generation(0);
/// assert_eq!(gc_core::count(), (0, 1, 0));
/// # drop(x);
/// ```
#[must_use]
pub fn count() -> (usize, usize, usize) {
    with_heap(|h| {
        let s = h.state.borrow();
        (h.young_count.get(), s.counts.0, s.counts.1)
    })
}

/// Per-generation statistics since the thread started (Python's
/// `gc.get_stats()`).
///
/// An automatic step counts as a collection of generation 0 (its young
/// part) and, when it examines old candidates, of generation 1 (see
/// [`set_budget`]); [`collect`] counts towards generation 2.
///
/// # Examples
///
/// ```
/// let before = gc_core::stats();
/// gc_core::collect_generation(0);
/// assert_eq!(gc_core::stats()[0].collections, before[0].collections + 1);
/// ```
#[must_use]
pub fn stats() -> [GenerationStats; 3] {
    with_heap(|h| h.state.borrow().stats)
}

/// Moves every tracked object into the permanent generation, which
/// collections skip (Python's `gc.freeze()`): useful after start-up, so that
/// long-lived objects are never examined again.
///
/// # Examples
///
/// ```
/// use gc_core::Gc;
/// use std::cell::RefCell;
///
/// let config = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// gc_core::freeze();
/// assert!(gc_core::freeze_count() >= 1);
/// assert_eq!(gc_core::tracked_count(), 0);
/// gc_core::unfreeze();
/// assert_eq!(gc_core::freeze_count(), 0);
/// # drop(config);
/// ```
pub fn freeze() {
    with_heap(|h| {
        for g in 0..LOC_PERM {
            let objs = h.gather(g);
            // A candidate (queued, so not watched) stays one while frozen:
            // `LOST` (I10), so that `unfreeze` queues it again.
            for &obj in &objs {
                if !obj.counts().is_watched() {
                    obj.set_flag(Flag::Lost, true);
                }
            }
            // SAFETY: objects just taken out of a generation list: allocated,
            // initialised and not detached (I4), and kept allocated by their
            // handles (I9).
            unsafe { h.place(&objs, LOC_PERM) };
        }
        h.young_count.set(0);
        h.state.borrow_mut().counts = (0, 0);
    });
}

/// Moves the permanent generation back into the oldest generation (Python's
/// `gc.unfreeze()`).
///
/// # Examples
///
/// ```
/// gc_core::freeze();
/// gc_core::unfreeze();
/// assert_eq!(gc_core::freeze_count(), 0);
/// ```
pub fn unfreeze() {
    with_heap(|h| {
        let objs = h.gather(LOC_PERM);
        // SAFETY: objects just taken out of the permanent generation:
        // allocated, initialised and not detached (I4), and kept allocated
        // by their handles (I9).
        unsafe { h.place(&objs, LOC_GEN2) };
        // Those that lost a reference while frozen are candidates (I10).
        release::queue_lost(h, &objs);
    });
}

/// Number of objects in the permanent generation (Python's
/// `gc.get_freeze_count()`).
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::freeze_count(), 0);
/// ```
#[must_use]
pub fn freeze_count() -> usize {
    with_heap(|h| h.len(LOC_PERM))
}

/// Number of live tracked objects, not counting frozen ones (Python's
/// `len(gc.get_objects())`).
///
/// Values of types that can never hold a `Gc` are not tracked and not
/// counted.
///
/// # Examples
///
/// ```
/// use gc_core::Gc;
/// use std::cell::RefCell;
///
/// let before = gc_core::tracked_count();
/// let leaf = Gc::new(42); // untracked: an i32 cannot hold a Gc
/// let node = Gc::new(RefCell::new(None::<Gc<i32>>)); // tracked
/// assert_eq!(gc_core::tracked_count(), before + 1);
/// # drop((leaf, node));
/// ```
#[must_use]
pub fn tracked_count() -> usize {
    with_heap(Heap::tracked)
}

/// Registers `f` to be called at the start and at the stop of every
/// collection (Python's `gc.callbacks`), and returns an id for
/// [`remove_callback`].
///
/// Callbacks run while the collection is in progress: a `collect()` inside
/// one returns 0.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// let id = gc_core::add_callback(move |phase, _| {
///     if phase == gc_core::Phase::Stop {
///         r.set(r.get() + 1);
///     }
/// });
/// gc_core::collect();
/// gc_core::remove_callback(id);
/// gc_core::collect();
/// assert_eq!(runs.get(), 1);
/// ```
pub fn add_callback(f: impl FnMut(Phase, &CollectInfo) + 'static) -> CallbackId {
    with_heap(|h| {
        // The exit guard releases the callbacks when the thread ends.
        register_exit(h);
        h.state.borrow_mut().add_callback(f)
    })
}

/// Removes a callback registered with [`add_callback`]; returns whether it
/// was registered.
///
/// # Examples
///
/// ```
/// let id = gc_core::add_callback(|_, _| {});
/// assert!(gc_core::remove_callback(id));
/// assert!(!gc_core::remove_callback(id));
/// ```
#[expect(
    clippy::must_use_candidate,
    reason = "called for its effect; the result is informative"
)]
pub fn remove_callback(id: CallbackId) -> bool {
    let removed = with_heap(|h| h.state.borrow_mut().remove_callback(id));
    // The callback is dropped outside the borrow: its drop may use the heap.
    removed.is_some()
}

/// Clears `collecting` when a collection ends, even by a panic.
struct Collecting<'a>(&'a Heap);

impl Drop for Collecting<'_> {
    fn drop(&mut self) {
        self.0.slab.hold(false);
        self.0.collecting.set(false);
    }
}

/// Collects generations `0..=generation`.
fn run(h: &Heap, generation: usize) -> usize {
    let Some(mut w) = begin(h, generation, Plan::Generations) else {
        return 0;
    };
    let analysis = analyse(&mut w);
    finish(w, analysis)
}

/// What a collection examines.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plan {
    /// Generations `0..=generation`, whole (Python's `gc.collect(g)`).
    Generations,
    /// An automatic step: the objects the step's function gathers and
    /// passes in, grown to their closure within the locations `grow`
    /// (bits `1 << loc`); survivors join `target`.
    Step { grow: u32, target: usize },
}

/// A collection under way, from [`begin`] to [`finish`].
struct Working<'h> {
    h: &'h Heap,
    /// The oldest generation collected (the statistics it counts towards).
    generation: usize,
    /// The generation survivors join (candidates join generation 1).
    target: usize,
    start: Instant,
    /// `DebugFlags::STATS` was on when the collection started.
    print_stats: bool,
    /// The first panic user code raised, resumed when the collection ends.
    panics: Option<Box<dyn Any + Send>>,
    /// The working set: generations `0..=generation`.
    tracer: Tracer<'static>,
    /// Ends the collection when dropped, even by a panic (last, so that it
    /// is dropped after the other fields).
    collecting: Collecting<'h>,
}

/// What [`analyse`] found, for [`finish`].
struct Analysis {
    /// `work[..reached]` survived; `work[reached..]` is the garbage.
    reached: usize,
    /// The list the survivors joined.
    target: usize,
    /// Some garbage may have a finalizer to run.
    finalizers: bool,
    /// A `trace` broke a rule of the analysis, so everything was kept.
    inconsistent: bool,
    /// Detached objects found through an edge (see [`retrack`]).
    discovered: Vec<HeadPtr>,
    /// Edges the analysis rejected.
    rejected: usize,
}

/// Starts a collection of generations `0..=generation`: calls the start
/// callbacks, prints the `STATS` header, counts the run and gathers the
/// working set. `None` if a collection is running or the thread is exiting.
fn begin(h: &Heap, generation: usize, plan: Plan) -> Option<Working<'_>> {
    begin_with(h, generation, plan, Vec::new)
}

/// [`begin`], with the set of a [`Plan::Step`] gathered by `gather` once
/// the collection has started (after the start callbacks).
fn begin_with(
    h: &Heap,
    generation: usize,
    plan: Plan,
    gather: impl FnOnce() -> Vec<HeadPtr>,
) -> Option<Working<'_>> {
    if h.collecting.get() || h.torn_down.get() {
        return None;
    }
    h.collecting.set(true);
    // Chunks earlier collections emptied go back to the system now if the
    // program is not reusing them, or this is a full collection; the ones
    // this collection empties stay until a later one (see `slab`).
    h.slab.trim(generation == 2);
    h.slab.hold(true);
    let collecting = Collecting(h);
    let start = Instant::now();
    let mut panics = None;
    let info = CollectInfo {
        generation,
        ..CollectInfo::default()
    };
    call_callbacks(h, Phase::Start, &info, &mut panics);
    let print_stats = DebugFlags::of(h).contains(DebugFlags::STATS);
    if print_stats {
        print_start(h, generation);
    }
    h.state.borrow_mut().count_run(generation);
    h.young_count.set(0);

    let mut tracer = Tracer::new(Mode::Record, LOC_WORK);
    let target = match plan {
        Plan::Generations => {
            // Gather generations 0..=generation into the working set, each
            // list in its order, so that a listed member's position is its
            // list index plus its generation's start (I4): the set can be
            // entered lazily (`scan::partition`).
            tracer.work = h.gather(0);
            for g in 1..=generation {
                tracer.lazy_base[g] = tracer.work.len();
                #[expect(clippy::cast_possible_truncation, reason = "generations are 0..3")]
                let g = g as u32;
                let listed = h.listed(g);
                let more = h.gather(g);
                tracer.work.extend(more);
                tracer.lazy_listed = tracer.lazy_base[g as usize] + listed;
            }
            if generation == 0 {
                tracer.lazy_listed = tracer.work.len();
            }
            #[expect(clippy::cast_possible_truncation, reason = "generations are 0..3")]
            let end = generation as u32 + 1;
            tracer.lazy_end = end;
            if generation == 2 {
                // Every queued candidate is examined now.
                release::drop_candidates(h);
            }
            (generation + 1).min(2)
        }
        Plan::Step { grow, target } => {
            tracer.work = gather();
            tracer.grow = grow;
            tracer.unlist = heap::unlist_joined;
            target
        }
    };
    // Note the escapes (invariant I10): edges to objects outside the set,
    // and objects kept unread, which hide what they reach.
    tracer.note_escapes = true;
    tracer.refs = h.take_scratch();
    Some(Working {
        h,
        generation,
        target,
        start,
        print_stats,
        panics,
        tracer,
        collecting,
    })
}

/// Finds the garbage in the working set, and moves the survivors one
/// generation up (generation 2 stays).
fn analyse(w: &mut Working<'_>) -> Analysis {
    let h = w.h;
    // A panic between `begin` and `partition` is impossible: the working set
    // gets its locations (and the collector's counts) there, before any user
    // code runs.
    let found = scan::partition(&mut w.tracer, scan::Start::Fresh);
    if let Some(p) = found.panic {
        w.panics.get_or_insert(p);
    }
    let reached = found.reached;

    let target = w.target;
    // SAFETY: `work[..reached]` are the working set's survivors: allocated,
    // initialised, each holding the collector's count since `partition`
    // (I7, I2).
    unsafe { promote(h, &w.tracer.work[..reached], target) };
    let discovered = core::mem::take(&mut w.tracer.discovered);
    h.put_scratch(core::mem::take(&mut w.tracer.refs));
    note_rejected(h, &w.tracer.rejected_by);
    Analysis {
        reached,
        target,
        finalizers: found.finalizers,
        inconsistent: found.inconsistent,
        discovered,
        rejected: w.tracer.rejected,
    }
}

/// Disposes of the garbage, puts back what the collection set aside,
/// records the statistics, calls the stop callbacks and ends the collection.
/// Returns the number of objects reclaimed.
///
/// # Panics
///
/// Resumes the first panic user code raised during the collection.
fn finish(w: Working<'_>, a: Analysis) -> usize {
    let Working {
        h,
        generation,
        target: _,
        start,
        print_stats,
        mut panics,
        mut tracer,
        collecting,
    } = w;
    let to = sweep::Survivors {
        heap: h,
        list: a.target,
    };
    // SAFETY: `work[a.reached..]` is what the analysis judged garbage (S5):
    // in the working set, dead since `partition` (S1), each holding the
    // collector's count (I7); `h` is this thread's heap.
    let sweep::Disposed {
        collected,
        resurrected,
        rejected: rechecked,
    } = unsafe { sweep::dispose(&tracer.work[a.reached..], a.finalizers, &to, &mut panics) };
    let rejected = a.rejected + rechecked;
    // SAFETY: the tracer took a count on each detached object it found
    // (I7), given back once here.
    unsafe { retrack(a.discovered) };
    release::drain_pending(h);
    h.recycle_young(core::mem::take(&mut tracer.work));

    let pause = start.elapsed();
    note_stats(h, generation, collected, rejected, pause);
    if print_stats {
        print_done(a.inconsistent, collected, resurrected, pause);
    }
    let info = CollectInfo {
        generation,
        collected,
        resurrected,
        pause,
        rejected,
    };
    call_callbacks(h, Phase::Stop, &info, &mut panics);
    drop(collecting);
    if let Some(p) = panics {
        panic::resume_unwind(p);
    }
    collected
}

/// `DebugFlags::STATS`: the start of a collection.
fn print_start(h: &Heap, generation: usize) {
    eprintln!("gc: collecting generation {generation}...");
    eprintln!(
        "gc: objects in each generation: {} {} {}",
        h.len(0),
        h.len(1),
        h.len(2)
    );
    eprintln!("gc: objects in permanent generation: {}", h.len(LOC_PERM));
}

/// `DebugFlags::STATS`: the end of a collection.
fn print_done(inconsistent: bool, collected: usize, resurrected: usize, pause: Duration) {
    if inconsistent {
        eprintln!("gc: kept every object examined: a `trace` broke a rule of the analysis");
    }
    eprintln!(
        "gc: done, {collected} unreachable, {resurrected} resurrected, {:.4}s elapsed",
        pause.as_secs_f64()
    );
}

/// Moves reachable objects from the working set into list `target` (the
/// candidates, `LOST`: see `scan::partition`, also into the candidate
/// queue), except detached ones, which stay out of every list; gives back
/// the collector's count on each.
///
/// # Safety
///
/// - Each object of `objs` is a survivor of this collection's working set:
///   its value is initialised (I2) and it holds the collector's count (I7),
///   given back here once.
unsafe fn promote(h: &Heap, objs: &[HeadPtr], target: usize) {
    let mut joined = Vec::with_capacity(objs.len());
    for &obj in objs {
        // Live again (`partition` marked the whole set dead).
        obj.set_dead(false);
        if obj.counts().is_detached() {
            obj.set_loc(LOC_NONE);
        } else {
            joined.push(obj);
        }
    }
    #[expect(clippy::cast_possible_truncation, reason = "list numbers are 0..4")]
    let target = target as u32;
    // SAFETY: initialised (this fn's Safety, I2), not detached (just
    // checked, I5), in no list (the working set, I4); the collector's count
    // keeps each allocated until it is given back below (I7).
    unsafe { h.place(&joined, target) };
    release::queue_lost(h, &joined);
    for &obj in objs {
        // SAFETY: `partition` took this count (this fn's Safety, I7); the
        // object is now listed (or detached), no longer in the working set.
        unsafe { release::release_collector_ref(obj) };
    }
}

/// Puts detached objects found through an edge back in generation 0, and
/// gives back the count the tracer took on each when it found them.
///
/// # Safety
///
/// - Each object of `discovered` is one the tracer found through a shared
///   handle while it was detached, and holds the count the tracer took on
///   it then (I7), given back here once.
pub(crate) unsafe fn retrack(discovered: Vec<HeadPtr>) {
    for obj in discovered {
        if obj.has(Flag::Discovered) {
            // SAFETY: the tracer found the object through a shared handle
            // that a trace reported, so the `&mut` `get_mut` handed out was
            // gone by then (I5); `DISCOVERED` still set means it was not
            // detached again since (`detach` clears it, and the tracer's
            // count makes `get_mut` fail). That count keeps it allocated
            // (I7, I9).
            unsafe { heap::reattach(obj) };
        }
        // SAFETY: the tracer's count on it (this fn's Safety, I7).
        unsafe { release::release_held(obj) };
    }
}

/// The slab, to allocate from: the exit guard is registered first, so the
/// slab's memory goes back to the system when the thread ends.
#[inline]
pub(crate) fn slab(h: &Heap) -> &crate::slab::Slab {
    register_exit(h);
    &h.slab
}

/// Puts a new tracked object in generation 0 and runs an automatic
/// collection if one is due.
///
/// # Safety
///
/// - As for [`Heap::track`]: `obj` is a new, fully initialised (I2),
///   `TRACKABLE` object located `LOC_GEN0`, in no list (I4), allocated while
///   its handles live (I9);
/// - `h` is this thread's heap.
#[inline]
pub(crate) unsafe fn track(h: &Heap, obj: HeadPtr) {
    // SAFETY: the caller keeps `Heap::track`'s contract (this fn's Safety:
    // I2, I4, I9).
    if unsafe { h.track(obj) } {
        auto_collect(h);
    }
}

/// [`track`] on this thread's heap.
///
/// # Safety
///
/// - As for [`track`].
#[inline]
pub(crate) unsafe fn track_new(obj: HeadPtr) {
    // SAFETY: the caller keeps `track`'s contract (this fn's Safety: I2, I4,
    // I9); `heap()` is this thread's heap.
    unsafe { track(heap::heap(), obj) };
}
