//! The model: what the heap must do, computed from a plain graph.

use std::collections::VecDeque;

use super::heap::Ev;
use super::program::TraceAct;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    Live,
    Dropping,
    Dropped,
}

/// Generation 3 is the permanent (frozen) one.
pub(super) const PERM: u8 = 3;

/// The bit of generation `g` in a set of generations (`MNode::gens`).
pub(super) const fn bit(g: u8) -> u8 {
    1 << g
}

/// The generations `0..=g`.
pub(super) const fn up_to(g: u8) -> u8 {
    (1 << (g + 1)) - 1
}

#[derive(Clone, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the model's flags of one node"
)]
pub(super) struct MNode {
    pub(super) state: State,
    /// Its value was dropped by the collector: handles to it are dead.
    pub(super) dead: bool,
    /// Handles outside the heap (roots, stash, temporaries).
    pub(super) ext: usize,
    /// Edges to it from values not yet dropped.
    pub(super) incount: usize,
    pub(super) edges: Vec<usize>,
    /// The generations it may be in (bits, see [`bit`]): one, unless a
    /// collection the model could not follow exactly (a trace panicked in
    /// an increment) may or may not have moved it. The permanent one is
    /// never uncertain.
    pub(super) gens: u8,
    pub(super) has_fin: bool,
    pub(super) finalized: bool,
    /// Found to be garbage by the running collection: no `Weak` upgrades.
    pub(super) cleared: bool,
    /// How many times it was found to be garbage: a `Weak` made before the
    /// last time never upgrades again, even after a resurrection.
    pub(super) epoch: u32,
    /// Inside `Gc::new`.
    pub(super) constructing: bool,
    pub(super) armed: Option<TraceAct>,
}

impl MNode {
    pub(super) fn frozen(&self) -> bool {
        self.gens == bit(PERM)
    }
}

/// A `collect()` call in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Call {
    /// `collect_generation(3)`: must panic at once.
    Invalid,
    /// Called during a collection: must return 0 at once.
    Nested,
    /// Must start a collection next.
    Pending,
    Running,
    Done {
        collected: usize,
        panicked: bool,
    },
}

/// What started a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `collect()` or `collect_generation(g)`: whole generations `0..=g`.
    Call,
    /// An automatic young step (reported as generation 0): generation 0's
    /// candidates and the young objects they reach.
    Young,
    /// An automatic old step (reported as generation 1): old candidates
    /// with their closure under references.
    Old,
}

/// A collection in progress.
///
/// Its examined set is what its traces report (every node's `trace` logs
/// itself): the tracing phase ends at the first finalizer, garbage drop or
/// the stop callback ([`Model::close`]), and the model then checks the set
/// against the kind of collection and finds the garbage in it by trial
/// deletion.
#[derive(Debug)]
pub(super) struct Coll {
    pub(super) generation: usize,
    pub(super) kind: Kind,
    /// Nodes made before the collection started (ids below this).
    pub(super) n_start: usize,
    /// Nodes made before the tracing phase ended.
    pub(super) n_close: usize,
    /// Each node's generations when the collection started.
    pub(super) gens: Vec<u8>,
    /// `Call`: the live nodes surely in generations `0..=g` (they must be
    /// examined).
    pub(super) sure: Vec<usize>,
    /// The examined nodes, in the order traced.
    pub(super) examined: Vec<usize>,
    pub(super) in_e: Vec<bool>,
    /// The tracing phase is over: the garbage is decided.
    pub(super) closed: bool,
    /// A trace panicked: the analysis stopped and kept everything.
    pub(super) trace_panicked: bool,
    pub(super) in_g: Vec<bool>,
    pub(super) garbage: Vec<usize>,
    /// Garbage finalizers still to run.
    pub(super) to_finalize: Vec<usize>,
    /// Set once every finalizer ran: what survives the re-check.
    pub(super) revived: Option<Vec<bool>>,
    pub(super) panicked: bool,
}

#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the model's flags of one heap"
)]
pub(super) struct Model {
    pub(super) nodes: Vec<MNode>,
    pub(super) roots: Vec<usize>,
    pub(super) stash: Vec<usize>,
    /// Weak handles: node and the epoch they were made in.
    pub(super) weaks: Vec<(usize, u32)>,
    pub(super) limbo: Option<(usize, usize)>,
    pub(super) borrows: Vec<(usize, bool)>,
    pub(super) locked: Vec<bool>,
    pub(super) enabled: bool,
    pub(super) thresholds: (usize, usize, usize),
    pub(super) budget: usize,
    pub(super) c1: usize,
    pub(super) c2: usize,
    /// Allocations since the last collection started or `freeze`.
    pub(super) news: usize,
    pub(super) coll: Option<Coll>,
    pub(super) calls: Vec<Call>,
    /// After `New` (`Some(id)`) or `Filler` (`None`): whether an automatic
    /// collection must start next.
    pub(super) after_new: Option<(Option<usize>, bool)>,
    /// Fillers inside `Gc::new`.
    pub(super) fillers: usize,
    /// An allocation went over the threshold: a young step must start.
    pub(super) auto_pending: bool,
    /// A young step just stopped without a panic: an old step may start.
    pub(super) old_allowed: bool,
    /// A node with an armed trace was traced: its fault must be logged next.
    pub(super) expect_fault: Option<usize>,
    pub(super) fired: bool,
    pub(super) history: VecDeque<Ev>,
    pub(super) collections: usize,
    /// Automatic steps: young, old, and old ones that examined something.
    pub(super) steps: (usize, usize, usize),
}

pub(super) fn err<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

impl Model {
    pub(super) fn new() -> Self {
        Model {
            nodes: Vec::new(),
            roots: Vec::new(),
            stash: Vec::new(),
            weaks: Vec::new(),
            limbo: None,
            borrows: Vec::new(),
            locked: Vec::new(),
            enabled: true,
            thresholds: (2000, 10, 10),
            budget: 20_000,
            c1: 0,
            c2: 0,
            news: 0,
            coll: None,
            calls: Vec::new(),
            after_new: None,
            fillers: 0,
            auto_pending: false,
            old_allowed: false,
            expect_fault: None,
            fired: false,
            history: VecDeque::new(),
            collections: 0,
            steps: (0, 0, 0),
        }
    }

    pub(super) fn count(&self, id: usize) -> usize {
        self.nodes[id].ext + self.nodes[id].incount
    }

    pub(super) fn node(&self, id: usize) -> Result<&MNode, String> {
        self.nodes
            .get(id)
            .ok_or_else(|| format!("unknown node {id}"))
    }

    pub(super) fn unreadable(&self, id: usize) -> bool {
        self.locked.get(id).copied().unwrap_or(false)
            || self.borrows.iter().any(|&(b, m)| b == id && m)
    }

    /// Whether a `Weak` to `id` made in `epoch` upgrades.
    pub(super) fn upgradable(&self, id: usize, epoch: u32) -> bool {
        let n = &self.nodes[id];
        n.state == State::Live && !n.dead && !n.cleared && n.epoch == epoch && self.count(id) > 0
    }

    pub(super) fn in_g(&self, id: usize) -> bool {
        self.coll
            .as_ref()
            .is_some_and(|c| c.in_g.get(id).copied().unwrap_or(false))
    }

    /// A handle may be cloned from a live value, or (in a `Drop` of cyclic
    /// garbage) from a dead or dying one.
    pub(super) fn clonable(&self, id: usize) -> Result<(), String> {
        let n = self.node(id)?;
        if (n.state == State::Live && !n.dead) || self.coll.is_some() {
            Ok(())
        } else {
            err(format!("a handle to node {id} was cloned, but it is {n:?}"))
        }
    }

    /// Trial deletion over `set`: the members reachable from outside it.
    pub(super) fn analyse(&self, set: &[usize]) -> Result<Vec<bool>, String> {
        let n = self.nodes.len();
        let mut in_set = vec![false; n];
        for &i in set {
            in_set[i] = true;
        }
        let mut refs = vec![0_i64; n];
        for &i in set {
            refs[i] = i64::try_from(self.count(i)).unwrap();
        }
        for &i in set {
            if !self.unreadable(i) {
                for &t in &self.nodes[i].edges {
                    if in_set[t] {
                        refs[t] -= 1;
                    }
                }
            }
        }
        let mut reach = vec![false; n];
        let mut stack = Vec::new();
        for &i in set {
            if refs[i] < 0 {
                return err(format!("model: node {i} has more edges than handles"));
            }
            if refs[i] > 0 || self.unreadable(i) {
                reach[i] = true;
                stack.push(i);
            }
        }
        while let Some(i) = stack.pop() {
            for &t in &self.nodes[i].edges {
                if in_set[t] && !reach[t] {
                    reach[t] = true;
                    stack.push(t);
                }
            }
        }
        Ok(reach)
    }
}

impl Model {
    /// Between steps: nothing is half done, and nothing waits to be freed.
    pub(super) fn quiescent(&self) -> Result<(), String> {
        if self.coll.is_some()
            || !self.calls.is_empty()
            || self.limbo.is_some()
            || self.after_new.is_some()
            || self.auto_pending
            || self.fillers != 0
            || self.expect_fault.is_some()
        {
            return err(format!(
                "a step ended mid-way: collection {:?}, calls {:?}, limbo {:?}",
                self.coll, self.calls, self.limbo
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.constructing {
                return err(format!(
                    "Gc::new of node {i} panicked (its automatic collection passed on a \
                     panic), but the new value was never dropped: it leaked ({n:?})"
                ));
            }
            if n.state == State::Dropping {
                return err(format!("node {i} is still being dropped: {n:?}"));
            }
            if n.state == State::Live && self.count(i) == 0 {
                return err(format!(
                    "node {i} has no handle left but was not dropped (it must be freed at once)"
                ));
            }
        }
        Ok(())
    }

    /// Between steps: the live nodes that no handle outside the heap
    /// reaches (cyclic garbage), in id order.
    pub(super) fn garbage_now(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut reach = vec![false; n];
        let mut stack: Vec<usize> = (0..n)
            .filter(|&i| self.nodes[i].state == State::Live && self.nodes[i].ext > 0)
            .collect();
        for &i in &stack {
            reach[i] = true;
        }
        while let Some(i) = stack.pop() {
            for &t in &self.nodes[i].edges {
                if !reach[t] {
                    reach[t] = true;
                    stack.push(t);
                }
            }
        }
        (0..n)
            .filter(|&i| self.nodes[i].state == State::Live && !reach[i])
            .collect()
    }

    /// Edges between live nodes.
    pub(super) fn live_edges(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.state == State::Live)
            .map(|n| n.edges.len())
            .sum()
    }
}
