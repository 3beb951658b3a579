//! The collector's configuration and bookkeeping: thresholds, counters,
//! statistics, callbacks and debug flags of one heap, and the types the
//! public API reports them with.

use core::cell::RefCell;
use core::fmt;
use core::ops::{BitOr, BitOrAssign};
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use super::heap::Heap;

/// CPython 3.13's default thresholds.
pub(crate) const DEFAULT_THRESHOLDS: (usize, usize, usize) = (2000, 10, 10);
/// The default [`budget`](crate::budget).
pub(crate) const DEFAULT_BUDGET: usize = 20_000;

/// Statistics of one generation since the thread started, as returned by
/// [`stats`](crate::stats) (Python's `gc.get_stats()`).
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
    /// [`debug::rejected_edges`](gc_core::debug::rejected_edges) for the
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

/// Identifies a callback registered with [`add_callback`](crate::add_callback).
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

/// A registered callback (shared, so that calling it needs no borrow of the
/// state).
pub(super) type Callback = Rc<RefCell<dyn FnMut(Phase, &CollectInfo)>>;

/// Configuration, statistics and callbacks of one heap.
pub(crate) struct State {
    pub(super) enabled: bool,
    pub(super) thresholds: (usize, usize, usize),
    /// Gen-0 runs since the last gen-1 run, gen-1 runs since the last gen-2.
    pub(super) counts: (usize, usize),
    /// The most objects an automatic step examines (see
    /// [`set_budget`](crate::set_budget)).
    pub(super) budget: usize,
    /// Work of past automatic steps beyond the budget (a cyclic component
    /// larger than it), paid back before the next old step runs.
    pub(super) debt: usize,
    /// Tracked objects when the last debt was made.
    pub(super) after_debt: usize,
    /// Candidates left waiting after the last old step.
    pub(super) left_waiting: usize,
    /// Objects the last old step examined per candidate it started from (at
    /// least 1): how many candidates the next one takes.
    pub(super) per_seed: usize,
    /// What [`stats`](crate::stats) returns.
    pub(super) stats: [GenerationStats; 3],
    /// The registered callbacks, in registration order.
    pub(super) callbacks: Vec<(CallbackId, Callback)>,
    /// The id the next callback gets.
    pub(super) next_callback: u64,
    /// Rejected edges by the type whose trace reported them, since the
    /// thread started.
    pub(super) rejected_by: Vec<(&'static str, usize)>,
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
            budget: DEFAULT_BUDGET,
            debt: 0,
            after_debt: 0,
            left_waiting: 0,
            per_seed: 1,
            stats: [ZERO; 3],
            callbacks: Vec::new(),
            next_callback: 0,
            rejected_by: Vec::new(),
        }
    }

    /// What `Heap::trigger` is compared with: `t0`, or never when automatic
    /// collection is off.
    pub(super) fn trigger(&self) -> usize {
        if self.enabled && self.thresholds.0 != 0 {
            self.thresholds.0
        } else {
            usize::MAX
        }
    }

    /// Registers `f` and returns its id.
    pub(super) fn add_callback(
        &mut self,
        f: impl FnMut(Phase, &CollectInfo) + 'static,
    ) -> CallbackId {
        let id = CallbackId(self.next_callback);
        self.next_callback += 1;
        self.callbacks.push((id, Rc::new(RefCell::new(f))));
        id
    }

    /// Unregisters callback `id`, handing it back (to be dropped outside
    /// the borrow of the state: its drop may use the heap).
    pub(super) fn remove_callback(&mut self, id: CallbackId) -> Option<Callback> {
        let i = self.callbacks.iter().position(|(c, _)| *c == id)?;
        Some(self.callbacks.remove(i).1)
    }

    /// Counts one collection of `generation` in `counts` (a collection of
    /// an older generation resets the younger one's counter).
    pub(super) fn count_run(&mut self, generation: usize) {
        match generation {
            0 => self.counts.0 += 1,
            1 => self.counts = (0, self.counts.1 + 1),
            _ => self.counts = (0, 0),
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

/// Calls every registered callback; the first panic goes to `panics`.
pub(super) fn call_callbacks(
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
        super::sweep::note_panic(panics, r);
    }
}

/// Adds one collection to generation `generation`'s statistics.
pub(super) fn note_stats(
    h: &Heap,
    generation: usize,
    collected: usize,
    rejected: usize,
    pause: Duration,
) {
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

/// Debugging options of the collector (Python's `gc.DEBUG_*` flags).
///
/// # Examples
///
/// ```
/// use gc_core::debug::{self, DebugFlags};
///
/// debug::set_debug(DebugFlags::STATS | DebugFlags::SAVE_ALL);
/// assert!(debug::debug_flags().contains(DebugFlags::SAVE_ALL));
/// debug::set_debug(DebugFlags::empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DebugFlags(u32);

impl DebugFlags {
    /// Print statistics to stderr at the start and end of each collection
    /// (`DEBUG_STATS`).
    pub const STATS: DebugFlags = DebugFlags(1);
    /// Print each collectable object found to stderr (`DEBUG_COLLECTABLE`).
    pub const COLLECTABLE: DebugFlags = DebugFlags(2);
    /// Keep cyclic garbage instead of dropping it: see
    /// [`garbage`](gc_core::debug::garbage) (`DEBUG_SAVEALL`). Weak
    /// references to it are still cleared and its finalizers still run, as
    /// in Python.
    pub const SAVE_ALL: DebugFlags = DebugFlags(32);
    /// `COLLECTABLE | SAVE_ALL` (`DEBUG_LEAK`).
    pub const LEAK: DebugFlags = DebugFlags(2 | 32);

    /// No flags.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::DebugFlags;
    /// assert_eq!(DebugFlags::empty().bits(), 0);
    /// ```
    #[must_use]
    pub const fn empty() -> DebugFlags {
        DebugFlags(0)
    }

    /// The flags as bits (Python's values).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::DebugFlags;
    /// assert_eq!(DebugFlags::LEAK.bits(), 34);
    /// ```
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::DebugFlags;
    /// assert!(DebugFlags::LEAK.contains(DebugFlags::SAVE_ALL));
    /// assert!(!DebugFlags::STATS.contains(DebugFlags::SAVE_ALL));
    /// ```
    #[must_use]
    pub const fn contains(self, other: DebugFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags `h` runs with.
    pub(crate) fn of(h: &Heap) -> DebugFlags {
        DebugFlags(h.debug.get())
    }

    /// Makes `h` run with these flags.
    pub(crate) fn set_on(self, h: &Heap) {
        h.debug.set(self.0);
    }
}

impl BitOr for DebugFlags {
    type Output = DebugFlags;
    fn bitor(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DebugFlags {
    fn bitor_assign(&mut self, rhs: DebugFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for DebugFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(1, "STATS"), (2, "COLLECTABLE"), (32, "SAVE_ALL")];
        let set: Vec<&str> = names
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect();
        write!(f, "DebugFlags({})", set.join(" | "))
    }
}
