//! The drop-and-finalize recording kit: a shared [`Log`] of ids, the node
//! types that write to it, and the helpers that read it back, so that a test
//! asserts exactly which values were finalized and dropped, and in which
//! order.
//!
//! - [`Node`] (derived `Trace`) and [`Leaf`] (untracked) log their id when
//!   dropped.
//! - [`Probe`] (hand-written `Trace`) logs its id when finalized and
//!   `id + DROPPED` when dropped, and runs optional hooks in both; whether it
//!   has a finalizer is chosen per value ([`ProbeBuilder::finalizable`]).
//! - [`DFin`] is a derived finalizable type (`#[gc(finalize)]`) that logs as
//!   `Probe` does.
//!
//! A `Log` is `Send`: a thread can record into it and another read it after
//! the join (thread exit, `test_threads`).
//!
//! ```
//! use gc_tests::kit::{dropped, finalized, new_log, plink, probe};
//!
//! let log = new_log();
//! let a = probe(&log, 1).finalizable().build();
//! let b = probe(&log, 2).build();
//! plink(&a, &b);
//! plink(&b, &a);
//! drop((a, b));
//! assert_eq!(gc_core::collect(), 2);
//! assert_eq!(finalized(&log), [1]);
//! assert_eq!(dropped(&log), [1, 2]);
//! ```

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use gc_core::{Finalize, Gc, Trace, Tracer};

/// Finalizer events are logged as `id`, drops as `id + DROPPED` (by
/// [`Probe`] and [`DFin`]; [`Node`] and [`Leaf`] log drops as `id`).
pub const DROPPED: u32 = 1_000_000;

/// A shared event log: ids of dropped (and finalized) values, in order.
///
/// Cloning shares it. Each call locks it only for its own duration, so user
/// code run while a test reads the log (a drop, a finalizer) can record.
#[derive(Clone, Default, Debug, Trace)]
pub struct Log(Arc<Mutex<Vec<u32>>>);

impl Log {
    fn lock(&self) -> MutexGuard<'_, Vec<u32>> {
        // A panic in a test holding no guard cannot poison it; a panic while
        // pushing leaves a valid vector.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an event.
    pub fn push(&self, event: u32) {
        self.lock().push(event);
    }

    /// The events so far, in order.
    #[must_use]
    pub fn events(&self) -> Vec<u32> {
        self.lock().clone()
    }

    /// How many events were logged.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was logged.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Whether `event` was logged.
    #[must_use]
    pub fn contains(&self, event: u32) -> bool {
        self.lock().contains(&event)
    }

    /// How many drops a [`Probe`] log records (events `>= DROPPED`).
    #[must_use]
    pub fn drops(&self) -> usize {
        self.lock().iter().filter(|&&e| e >= DROPPED).count()
    }

    /// How many finalizer runs a [`Probe`] log records (events `< DROPPED`).
    #[must_use]
    pub fn finalizations(&self) -> usize {
        self.lock().iter().filter(|&&e| e < DROPPED).count()
    }
}

/// A new, empty log.
#[must_use]
pub fn new_log() -> Log {
    Log::default()
}

/// The ids dropped so far, sorted (for logs that record drops only).
#[must_use]
pub fn sorted(log: &Log) -> Vec<u32> {
    let mut v = log.events();
    v.sort_unstable();
    v
}

/// Ids dropped so far according to a [`Probe`] log, sorted.
#[must_use]
pub fn dropped(log: &Log) -> Vec<u32> {
    let mut v: Vec<u32> = log
        .events()
        .iter()
        .filter(|&&e| e >= DROPPED)
        .map(|&e| e - DROPPED)
        .collect();
    v.sort_unstable();
    v
}

/// Ids finalized so far according to a [`Probe`] log, sorted.
#[must_use]
pub fn finalized(log: &Log) -> Vec<u32> {
    let mut v: Vec<u32> = log.events().into_iter().filter(|&e| e < DROPPED).collect();
    v.sort_unstable();
    v
}

/// Asserts that no id occurs twice in a sorted list.
///
/// # Panics
///
/// If one does.
pub fn assert_unique(ids: &[u32]) {
    for w in ids.windows(2) {
        assert_ne!(w[0], w[1], "value {} dropped twice", w[0]);
    }
}

// --- Node and Leaf: log their drops ------------------------------------------

/// A plain tracked node (derived `Trace`) that logs its id when dropped.
#[derive(Trace)]
pub struct Node {
    /// Logged when dropped.
    pub id: u32,
    /// Where it logs.
    pub log: Log,
    /// Edges to other nodes.
    pub edges: RefCell<Vec<Gc<Node>>>,
    /// Edges to untracked values.
    pub leaves: RefCell<Vec<Gc<Leaf>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.log.push(self.id);
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A new [`Node`] with no edges.
#[must_use]
pub fn node(log: &Log, id: u32) -> Gc<Node> {
    Gc::new(Node {
        id,
        log: log.clone(),
        edges: RefCell::new(Vec::new()),
        leaves: RefCell::new(Vec::new()),
    })
}

/// Adds an edge `from -> to`.
pub fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

/// A value that can never hold a `Gc`: untracked. Logs its id when dropped.
#[derive(Trace, Debug)]
pub struct Leaf {
    /// Logged when dropped.
    pub id: u32,
    /// Where it logs.
    pub log: Log,
}

impl Drop for Leaf {
    fn drop(&mut self) {
        self.log.push(self.id);
    }
}

// --- Probe: finalizer, hooks ---------------------------------------------------

/// A hook run by [`Probe`]'s finalizer or drop.
pub type Hook = Box<dyn Fn(&Probe)>;

/// A node with an optional finalizer and hooks run by `finalize` and `drop`
/// (hand-written `Trace`, overriding `finalizer`). Logs `id` when finalized
/// and `id + DROPPED` when dropped, before running the hook. Made with
/// [`probe`].
pub struct Probe {
    /// Logged when finalized (and, plus [`DROPPED`], when dropped).
    pub id: u32,
    log: Log,
    /// Edges to other probes.
    pub edges: RefCell<Vec<Gc<Probe>>>,
    finalizable: bool,
    on_finalize: Option<Hook>,
    on_drop: Option<Hook>,
}

impl Trace for Probe {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.edges.trace(tracer);
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        if self.finalizable { Some(self) } else { None }
    }
}

impl Finalize for Probe {
    fn finalize(&self) {
        self.log.push(self.id);
        if let Some(h) = &self.on_finalize {
            h(self);
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.log.push(self.id + DROPPED);
        if let Some(h) = &self.on_drop {
            h(self);
        }
    }
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("id", &self.id)
            .field("finalizable", &self.finalizable)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Probe`]: see [`probe`].
pub struct ProbeBuilder {
    probe: Probe,
}

impl ProbeBuilder {
    /// Gives the probe a finalizer (that only logs).
    #[must_use]
    pub fn finalizable(mut self) -> Self {
        self.probe.finalizable = true;
        self
    }

    /// Gives the probe a finalizer that logs, then runs `f`.
    #[must_use]
    pub fn on_finalize(mut self, f: impl Fn(&Probe) + 'static) -> Self {
        self.probe.finalizable = true;
        self.probe.on_finalize = Some(Box::new(f));
        self
    }

    /// Lazarus: gives the probe a finalizer that logs, then stores a clone
    /// of its first edge in `store` (which resurrects the probe if that edge
    /// leads back to it).
    #[must_use]
    pub fn resurrect_into(self, store: &Rc<RefCell<Vec<Gc<Probe>>>>) -> Self {
        let store = store.clone();
        self.on_finalize(move |p| store.borrow_mut().push(first_edge(p)))
    }

    /// Runs `f` when the probe is dropped, after logging.
    #[must_use]
    pub fn on_drop(mut self, f: impl Fn(&Probe) + 'static) -> Self {
        self.probe.on_drop = Some(Box::new(f));
        self
    }

    /// Allocates the probe.
    #[must_use]
    pub fn build(self) -> Gc<Probe> {
        Gc::new(self.probe)
    }
}

impl fmt::Debug for ProbeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProbeBuilder").field(&self.probe).finish()
    }
}

/// A [`Probe`] with id `id` logging to `log`: no edges, no finalizer, no
/// hooks until the builder adds them.
#[must_use]
pub fn probe(log: &Log, id: u32) -> ProbeBuilder {
    ProbeBuilder {
        probe: Probe {
            id,
            log: log.clone(),
            edges: RefCell::new(Vec::new()),
            finalizable: false,
            on_finalize: None,
            on_drop: None,
        },
    }
}

/// Adds an edge `from -> to`.
pub fn plink(from: &Gc<Probe>, to: &Gc<Probe>) {
    from.edges.borrow_mut().push(to.clone());
}

/// The first edge of a probe (used by finalizers to reach a `Gc` to resurrect).
///
/// # Panics
///
/// If the probe has no edge.
#[must_use]
pub fn first_edge(p: &Probe) -> Gc<Probe> {
    p.edges.borrow()[0].clone()
}

// --- DFin: a derived finalizable type --------------------------------------------

/// A derived finalizable type: logs as [`Probe`] does (`id` when finalized,
/// `id + DROPPED` when dropped). Its finalizer reads its edge first, which
/// must not panic: every garbage value is intact during finalization.
#[derive(Trace)]
#[gc(finalize)]
pub struct DFin {
    /// Logged when finalized (and, plus [`DROPPED`], when dropped).
    pub id: u32,
    /// Where it logs.
    pub log: Log,
    /// An edge to another `DFin`.
    pub next: RefCell<Option<Gc<DFin>>>,
}

impl Finalize for DFin {
    fn finalize(&self) {
        // Every garbage value is intact here: this deref must not panic.
        let _peer = self.next.borrow().as_ref().map(|n| n.id);
        self.log.push(self.id);
    }
}

impl Drop for DFin {
    fn drop(&mut self) {
        self.log.push(self.id + DROPPED);
    }
}

impl fmt::Debug for DFin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DFin")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A new [`DFin`] with no edge.
#[must_use]
pub fn dfin(log: &Log, id: u32) -> Gc<DFin> {
    Gc::new(DFin {
        id,
        log: log.clone(),
        next: RefCell::new(None),
    })
}
