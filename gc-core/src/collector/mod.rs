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

pub(crate) mod heap;
mod scan;
mod sweep;
#[cfg(test)]
mod tests;

use core::fmt;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::gc_box::Obj;
use crate::header::{Flag, LOC_GEN2, LOC_NONE, LOC_PERM, LOC_WORK};
use crate::trace::{Mode, Tracer};
use heap::{Heap, with_heap};

/// CPython 3.13's default thresholds.
pub(crate) const DEFAULT_THRESHOLDS: (usize, usize, usize) = (2000, 10, 10);

/// Collections run at thread exit before the remaining garbage is left alone.
const EXIT_PASSES: usize = 8;

/// Statistics of one generation since the thread started, as returned by
/// [`stats`] (Python's `gc.get_stats()`).
///
/// A collection counts towards the oldest generation it examined.
///
/// # Examples
///
/// ```
/// let before = gc_core::stats()[2];
/// gc_core::collect();
/// let after = gc_core::stats()[2];
/// assert_eq!(after.collections, before.collections + 1);
/// assert!(after.max_pause >= before.max_pause);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GenerationStats {
    /// Number of collections of this generation.
    pub collections: usize,
    /// Number of objects these collections reclaimed.
    pub collected: usize,
    /// Total time spent in these collections.
    pub total_pause: Duration,
    /// Longest single collection.
    pub max_pause: Duration,
    /// Edges these collections ignored: a `trace` reported a handle to an
    /// object being examined from memory its value does not own (a
    /// thread-local, a leaked box, another object, an `Rc`, a container
    /// buffer nobody vouched for). Their targets were kept. See
    /// [`debug::rejected_edges`](crate::debug::rejected_edges) for the
    /// types whose traces report them.
    pub rejected: usize,
}

/// When a collection callback is called (Python's `"start"` and `"stop"`).
///
/// # Examples
///
/// ```
/// use gc_core::Phase;
/// assert_ne!(Phase::Start, Phase::Stop);
/// assert_eq!(format!("{:?}", Phase::Stop), "Stop");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the collection examines anything.
    Start,
    /// After it has finished.
    Stop,
}

/// What a collection callback is told (Python's `info` dict).
///
/// # Examples
///
/// ```
/// use gc_core::{CollectInfo, Phase};
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// let id = gc_core::add_callback(move |phase, info: &CollectInfo| {
///     log.borrow_mut().push((phase, info.generation, info.collected));
/// });
/// gc_core::collect_generation(1);
/// gc_core::remove_callback(id);
/// assert_eq!(*seen.borrow(), [(Phase::Start, 1, 0), (Phase::Stop, 1, 0)]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectInfo {
    /// The oldest generation examined (0, 1 or 2).
    pub generation: usize,
    /// Objects reclaimed (0 at [`Phase::Start`]).
    pub collected: usize,
    /// Objects that were found to be garbage and then resurrected by a
    /// finalizer (0 at [`Phase::Start`]).
    pub resurrected: usize,
    /// Time the collection took (zero at [`Phase::Start`]).
    pub pause: Duration,
    /// Edges the collection ignored because the reported handle lay outside
    /// memory the traced value owns (0 at [`Phase::Start`]; see
    /// [`GenerationStats::rejected`]).
    pub rejected: usize,
}

/// Identifies a callback registered with [`add_callback`].
///
/// # Examples
///
/// ```
/// let a = gc_core::add_callback(|_, _| {});
/// let b = gc_core::add_callback(|_, _| {});
/// assert_ne!(a, b);
/// assert!(gc_core::remove_callback(a));
/// assert!(!gc_core::remove_callback(a));
/// gc_core::remove_callback(b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallbackId(u64);

type Callback = Rc<core::cell::RefCell<dyn FnMut(Phase, &CollectInfo)>>;

/// Configuration, statistics and callbacks of one heap.
pub(crate) struct State {
    enabled: bool,
    thresholds: (usize, usize, usize),
    /// Gen-0 runs since the last gen-1 run, gen-1 runs since the last gen-2.
    counts: (usize, usize),
    /// Survivors of the last full collection.
    long_lived_total: usize,
    /// Objects promoted into generation 2 since the last full collection.
    long_lived_pending: usize,
    stats: [GenerationStats; 3],
    callbacks: Vec<(CallbackId, Callback)>,
    next_callback: u64,
    /// Rejected edges by the type whose trace reported them, since the
    /// thread started.
    rejected_by: Vec<(&'static str, usize)>,
}

impl State {
    pub(crate) const fn new() -> Self {
        const ZERO: GenerationStats = GenerationStats {
            collections: 0,
            collected: 0,
            total_pause: Duration::ZERO,
            max_pause: Duration::ZERO,
            rejected: 0,
        };
        State {
            enabled: true,
            thresholds: DEFAULT_THRESHOLDS,
            counts: (0, 0),
            long_lived_total: 0,
            long_lived_pending: 0,
            stats: [ZERO; 3],
            callbacks: Vec::new(),
            next_callback: 0,
            rejected_by: Vec::new(),
        }
    }

    fn trigger(&self) -> usize {
        if self.enabled && self.thresholds.0 != 0 {
            self.thresholds.0
        } else {
            usize::MAX
        }
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("enabled", &self.enabled)
            .field("thresholds", &self.thresholds)
            .finish_non_exhaustive()
    }
}

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
/// An automatic collection is considered when tracked allocations minus
/// deallocations since the last generation-0 collection exceed `t0`. It
/// collects the oldest generation `g` whose count (see [`count`]) exceeds
/// `t{g}`; generation 2 is collected only once the objects promoted into it
/// since the last full collection number at least a quarter of those that
/// survived it, so a growing heap is not rescanned quadratically.
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
        (h.count0.get(), s.counts.0, s.counts.1)
    })
}

/// Per-generation statistics since the thread started (Python's
/// `gc.get_stats()`).
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
            h.place(&objs, LOC_PERM);
        }
        h.count0.set(0);
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
        h.place(&objs, LOC_GEN2);
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
    with_heap(|h| (0..LOC_PERM).map(|g| h.len(g)).sum())
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
        h.register_exit();
        let mut s = h.state.borrow_mut();
        let id = CallbackId(s.next_callback);
        s.next_callback += 1;
        s.callbacks.push((id, Rc::new(core::cell::RefCell::new(f))));
        id
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
    let removed = with_heap(|h| {
        let mut s = h.state.borrow_mut();
        let i = s.callbacks.iter().position(|(c, _)| *c == id)?;
        Some(s.callbacks.remove(i))
    });
    // The callback is dropped outside the borrow: its drop may use the heap.
    removed.is_some()
}

/// Runs an automatic collection if one is due.
#[cold]
#[inline(never)]
pub(crate) fn auto_collect(h: &Heap) {
    if h.collecting.get() {
        return;
    }
    let generation = {
        let s = h.state.borrow();
        if !s.enabled || s.thresholds.0 == 0 {
            return;
        }
        let counts = [h.count0.get(), s.counts.0, s.counts.1];
        let th = [s.thresholds.0, s.thresholds.1, s.thresholds.2];
        let mut g = 0;
        for i in (0..3).rev() {
            if counts[i] > th[i] {
                // CPython's rule: a full collection waits until the old
                // generation has grown by a quarter since the last one.
                if i == 2 && s.long_lived_pending < s.long_lived_total / 4 {
                    continue;
                }
                g = i;
                break;
            }
        }
        g
    };
    run(h, generation);
}

fn call_callbacks(
    h: &Heap,
    phase: Phase,
    info: &CollectInfo,
    panics: &mut Option<Box<dyn Any + Send>>,
) {
    let snapshot: Vec<Callback> = h
        .state
        .borrow()
        .callbacks
        .iter()
        .map(|(_, cb)| cb.clone())
        .collect();
    for cb in snapshot {
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            if let Ok(mut f) = cb.try_borrow_mut() {
                f(phase, info);
            }
        }));
        sweep::note_panic(panics, r);
    }
}

/// Clears `collecting` when a collection ends, even by a panic.
struct Collecting<'a>(&'a Heap);

impl Drop for Collecting<'_> {
    fn drop(&mut self) {
        self.0.collecting.set(false);
    }
}

/// Collects generations `0..=generation`.
fn run(h: &Heap, generation: usize) -> usize {
    if h.collecting.get() || h.torn_down.get() {
        return 0;
    }
    h.collecting.set(true);
    let collecting = Collecting(h);
    let start = Instant::now();
    let mut panics = None;
    let mut info = CollectInfo {
        generation,
        ..CollectInfo::default()
    };
    call_callbacks(h, Phase::Start, &info, &mut panics);
    let print_stats = h.debug.get() & crate::debug::DebugFlags::STATS.bits() != 0;
    if print_stats {
        eprintln!("gc: collecting generation {generation}...");
        eprintln!(
            "gc: objects in each generation: {} {} {}",
            h.len(0),
            h.len(1),
            h.len(2)
        );
        eprintln!("gc: objects in permanent generation: {}", h.len(LOC_PERM));
    }

    {
        let mut s = h.state.borrow_mut();
        match generation {
            0 => s.counts.0 += 1,
            1 => s.counts = (0, s.counts.1 + 1),
            _ => s.counts = (0, 0),
        }
    }
    h.count0.set(0);

    // Gather generations 0..=generation into the working set.
    let mut tracer = Tracer::new(Mode::Record, LOC_WORK);
    tracer.work = h.gather(0);
    for g in 1..=generation {
        #[expect(clippy::cast_possible_truncation, reason = "generations are 0..3")]
        let more = h.gather(g as u32);
        tracer.work.extend(more);
    }
    tracer.refs = h.take_scratch();
    // A panic between here and `partition` is impossible: the working set
    // gets its locations (and the collector's counts) there, before any user
    // code runs.
    let found = scan::partition(&mut tracer, scan::Start::Fresh);
    if let Some(p) = found.panic {
        panics.get_or_insert(p);
    }
    let reached = found.reached;

    // Survivors move one generation up (generation 2 stays).
    let target = (generation + 1).min(2);
    let survivors = promote(h, &tracer.work[..reached], target);
    {
        let mut s = h.state.borrow_mut();
        match generation {
            1 => s.long_lived_pending += survivors,
            2 => {
                s.long_lived_pending = 0;
                s.long_lived_total = survivors;
            }
            _ => {}
        }
    }
    let discovered = core::mem::take(&mut tracer.discovered);
    h.put_scratch(core::mem::take(&mut tracer.refs));
    let mut rejected = tracer.rejected;
    note_rejected(h, &tracer.rejected_by);

    let to = sweep::Survivors {
        heap: h,
        list: target,
    };
    let sweep::Disposed {
        collected,
        resurrected,
        rejected: rechecked,
    } = sweep::dispose(&tracer.work[reached..], found.finalizers, &to, &mut panics);
    rejected += rechecked;
    if generation == 2 {
        h.state.borrow_mut().long_lived_total += resurrected;
    }
    retrack(discovered);
    heap::drain_pending(h);
    h.recycle_young(core::mem::take(&mut tracer.work));

    let pause = start.elapsed();
    note_stats(h, generation, collected, rejected, pause);
    if print_stats {
        print_done(found.inconsistent, collected, resurrected, pause);
    }
    info.collected = collected;
    info.resurrected = resurrected;
    info.pause = pause;
    info.rejected = rejected;
    call_callbacks(h, Phase::Stop, &info, &mut panics);
    drop(collecting);
    if let Some(p) = panics {
        panic::resume_unwind(p);
    }
    collected
}

/// Adds one collection to generation `generation`'s statistics.
fn note_stats(h: &Heap, generation: usize, collected: usize, rejected: usize, pause: Duration) {
    let mut s = h.state.borrow_mut();
    let st = &mut s.stats[generation];
    st.collections += 1;
    st.collected += collected;
    st.total_pause += pause;
    st.max_pause = st.max_pause.max(pause);
    st.rejected += rejected;
}

/// Adds one analysis's rejected edges, by reporting type, to the heap's
/// table.
pub(crate) fn note_rejected(h: &Heap, by: &[(&'static str, usize)]) {
    if by.is_empty() {
        return;
    }
    let mut s = h.state.borrow_mut();
    for &(name, n) in by {
        match s.rejected_by.iter_mut().find(|(m, _)| *m == name) {
            Some((_, c)) => *c += n,
            None => s.rejected_by.push((name, n)),
        }
    }
}

/// The rejected edges by reporting type, most first (for
/// `debug::rejected_edges`).
pub(crate) fn rejected_by(h: &Heap) -> Vec<(&'static str, usize)> {
    let mut v = h.state.borrow().rejected_by.clone();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
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

/// Moves reachable objects from the working set into list `target`, except
/// detached ones, which stay out of every list, and gives back the
/// collector's count on each. Returns how many joined the list.
fn promote(h: &Heap, objs: &[Obj], target: usize) -> usize {
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
    h.place(&joined, target as u32);
    for &obj in objs {
        // SAFETY: `partition` took this count; the object is now listed (or
        // detached), no longer in the working set.
        unsafe { heap::release_collector_ref(obj) };
    }
    joined.len()
}

/// Puts detached objects found through an edge back in generation 0, and
/// gives back the count the tracer took on each when it found them.
pub(crate) fn retrack(discovered: Vec<Obj>) {
    for obj in discovered {
        if obj.has(Flag::Discovered) {
            heap::reattach(obj);
        }
        heap::release_held(obj);
    }
}

/// Thread exit: collect the remaining garbage (a bounded number of times),
/// then release the lists. Objects still alive stay valid and untracked.
pub(crate) fn teardown(h: &Heap) {
    if h.collecting.get() {
        return;
    }
    unfreeze();
    // Saved garbage is released so the exit collection can free it.
    h.debug.set(0);
    drop(crate::debug::release_saved(h));
    for _ in 0..EXIT_PASSES {
        let r = panic::catch_unwind(AssertUnwindSafe(|| run(h, 2)));
        if matches!(r, Ok(0)) {
            break;
        }
    }
    h.torn_down.set(true);
    h.trigger.set(usize::MAX);
    for g in 0..=LOC_PERM {
        for obj in h.gather(g) {
            obj.set_loc(LOC_NONE);
        }
    }
    let callbacks = core::mem::take(&mut h.state.borrow_mut().callbacks);
    drop(callbacks);
    // The rejected-edge table goes with the heap (nothing frees it later).
    drop(core::mem::take(&mut h.state.borrow_mut().rejected_by));
    drop(h.pending.take());
    drop(h.take_scratch());
    heap::drain_trashcan(h);
    debug_assert!((0..=LOC_PERM).all(|g| h.len(g) == 0));
    h.slab.close();
}
