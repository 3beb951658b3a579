//! The model: what the heap must do, computed from a plain graph.

use std::collections::VecDeque;

use super::program::TraceAct;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    Live,
    Dropping,
    Dropped,
}

/// Generation 3 is the permanent (frozen) one.
pub(super) const PERM: u8 = 3;

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
    pub(super) generation: u8,
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

/// A collection in progress.
#[derive(Debug)]
pub(super) struct Coll {
    pub(super) generation: usize,
    pub(super) by_call: bool,
    pub(super) examined: Vec<usize>,
    pub(super) in_e: Vec<bool>,
    pub(super) in_g: Vec<bool>,
    pub(super) garbage: Vec<usize>,
    /// The garbage if no armed trace panics (one may be suppressed, when
    /// the collection runs while the thread unwinds).
    pub(super) unless_panic: Vec<usize>,
    /// Garbage finalizers still to run.
    pub(super) to_finalize: Vec<usize>,
    /// Set once every finalizer ran: what survives the re-check.
    pub(super) revived: Option<Vec<bool>>,
    pub(super) armed: Vec<(usize, TraceAct)>,
    pub(super) panic_armed: bool,
    pub(super) trace_fired: Vec<(usize, TraceAct)>,
    pub(super) panicked: bool,
}

#[derive(Debug)]
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
    pub(super) c1: usize,
    pub(super) c2: usize,
    /// Allocations since the last collection started or `freeze`.
    pub(super) news: usize,
    pub(super) coll: Option<Coll>,
    pub(super) calls: Vec<Call>,
    /// After `New`: whether an automatic collection must start next.
    pub(super) after_new: Option<(usize, bool)>,
    pub(super) auto_pending: bool,
    pub(super) fired: bool,
    pub(super) history: VecDeque<String>,
    pub(super) collections: usize,
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
            c1: 0,
            c2: 0,
            news: 0,
            coll: None,
            calls: Vec::new(),
            after_new: None,
            auto_pending: false,
            fired: false,
            history: VecDeque::new(),
            collections: 0,
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
    /// Which generation CPython's rule allows an automatic collection to take.
    pub(super) fn auto_generation_ok(&self, g: usize) -> bool {
        let (_, t1, t2) = self.thresholds;
        let fallback = usize::from(self.c1 > t1);
        g == fallback || (g == 2 && self.c2 > t2)
    }

    pub(super) fn coll_start(&mut self, g: usize) -> Result<(), String> {
        if self.coll.is_some() {
            return err("a collection started inside a collection");
        }
        let by_call = self.calls.last() == Some(&Call::Pending);
        let auto = std::mem::take(&mut self.auto_pending);
        if by_call {
            *self.calls.last_mut().unwrap() = Call::Running;
        } else if !auto {
            return err("a collection started without a call or an allocation over the threshold");
        } else if !self.auto_generation_ok(g) {
            return err(format!(
                "an automatic collection took generation {g}; counts ({}, {}), thresholds {:?}",
                self.c1, self.c2, self.thresholds
            ));
        }
        self.collections += 1;
        match g {
            0 => self.c1 += 1,
            1 => {
                self.c1 = 0;
                self.c2 += 1;
            }
            _ => {
                self.c1 = 0;
                self.c2 = 0;
            }
        }
        self.news = 0;
        let n = self.nodes.len();
        let examined: Vec<usize> = (0..n)
            .filter(|&i| {
                let m = &self.nodes[i];
                m.state == State::Live && usize::from(m.generation) <= g && self.count(i) > 0
            })
            .collect();
        let mut in_e = vec![false; n];
        for &i in &examined {
            in_e[i] = true;
        }
        let armed: Vec<(usize, TraceAct)> = examined
            .iter()
            .filter_map(|&i| self.nodes[i].armed.map(|a| (i, a)))
            .collect();
        let panic_armed = armed.iter().any(|&(_, a)| a == TraceAct::Panic);
        let reach = self.analyse(&examined)?;
        let unless_panic = examined.iter().copied().filter(|&i| !reach[i]).collect();
        self.coll = Some(Coll {
            generation: g,
            by_call,
            examined,
            in_e,
            in_g: vec![false; n],
            garbage: Vec::new(),
            unless_panic,
            to_finalize: Vec::new(),
            revived: None,
            armed,
            panic_armed,
            trace_fired: Vec::new(),
            panicked: false,
        });
        if !panic_armed {
            self.decide_garbage();
        }
        Ok(())
    }

    /// The analysis completed (no armed trace panicked): the garbage is
    /// found; weak references to it are cleared at once.
    pub(super) fn decide_garbage(&mut self) {
        let c = self.coll.as_mut().unwrap();
        c.panic_armed = false;
        c.garbage = std::mem::take(&mut c.unless_panic);
        for &i in &c.garbage {
            c.in_g[i] = true;
            let n = &mut self.nodes[i];
            n.cleared = true;
            n.epoch += 1;
            if n.has_fin && !n.finalized {
                c.to_finalize.push(i);
            }
        }
    }

    /// PEP 442's re-check, once every garbage finalizer ran.
    pub(super) fn recheck(&mut self) -> Result<(), String> {
        let c = self.coll.as_ref().unwrap();
        if c.revived.is_some() {
            return Ok(());
        }
        if !c.to_finalize.is_empty() {
            return err(format!(
                "garbage began to be dropped before the finalizers of {:?} ran",
                c.to_finalize
            ));
        }
        let reach = self.analyse(&c.garbage)?;
        for &i in &c.garbage {
            if reach[i] {
                // Resurrected: `Weak`s made from now on work.
                self.nodes[i].cleared = false;
            }
        }
        self.coll.as_mut().unwrap().revived = Some(reach);
        Ok(())
    }

    pub(super) fn coll_stop(
        &mut self,
        g: usize,
        collected: usize,
        resurrected: usize,
    ) -> Result<(), String> {
        if self.coll.as_ref().is_none_or(|c| c.generation != g) {
            return err(format!("collection of generation {g} stopped unstarted"));
        }
        self.recheck()?;
        let c = self.coll.take().unwrap();
        let revived = c.revived.as_ref().unwrap();
        let (mut dropped, mut kept) = (0, 0);
        for &i in &c.garbage {
            if revived[i] {
                kept += 1;
            } else if self.nodes[i].state == State::Dropped {
                dropped += 1;
            } else {
                return err(format!(
                    "node {i} is cyclic garbage but was not dropped ({:?})",
                    self.nodes[i]
                ));
            }
        }
        if (collected, resurrected) != (dropped, kept) {
            return err(format!(
                "the collection reports {collected} collected, {resurrected} resurrected; \
                 the model says {dropped}, {kept} (garbage {:?})",
                c.garbage
            ));
        }
        if c.panic_armed {
            // A trace panicked: the analysis stopped there.
            let panics = c
                .trace_fired
                .iter()
                .filter(|&&(_, a)| a == TraceAct::Panic)
                .count();
            if panics != 1 || !c.panicked {
                return err(format!("{panics} armed trace panics fired, not 1"));
            }
        } else if c.trace_fired.len() != c.armed.len() {
            return err(format!(
                "armed traces {:?} of examined nodes, but {:?} fired",
                c.armed, c.trace_fired
            ));
        }
        let target = u8::try_from((g + 1).min(2)).unwrap();
        for &i in &c.examined {
            if self.nodes[i].state == State::Live {
                self.nodes[i].generation = target;
            }
        }
        if c.by_call {
            match self.calls.last_mut() {
                Some(call @ Call::Running) => {
                    *call = Call::Done {
                        collected,
                        panicked: c.panicked,
                    };
                }
                _ => return err("model: collect call out of step"),
            }
        }
        Ok(())
    }

    /// `Gc::new` panicked (its automatic collection passed on a panic) and
    /// dropped the handle it made: no event says so.
    pub(super) fn release_construction(&mut self, id: usize) {
        let n = &mut self.nodes[id];
        if n.constructing && n.ext == 1 && n.incount == 0 && self.coll.is_none() {
            n.ext = 0;
            n.constructing = false;
        }
    }

    pub(super) fn finalize(&mut self, id: usize) -> Result<(), String> {
        self.node(id)?;
        if self.in_g(id) {
            let c = self.coll.as_mut().unwrap();
            if c.revived.is_some() {
                return err(format!(
                    "node {id} was finalized after the resurrection check"
                ));
            }
            let Some(p) = c.to_finalize.iter().position(|&i| i == id) else {
                return err(format!(
                    "node {id} was finalized twice, or has no finalizer ({:?})",
                    self.nodes[id]
                ));
            };
            c.to_finalize.remove(p);
        } else {
            self.release_construction(id);
            let n = &self.nodes[id];
            if n.state != State::Live || !n.has_fin || n.finalized || self.count(id) != 0 {
                return err(format!(
                    "node {id} was finalized by counting, but it is {n:?} with count {}",
                    self.count(id)
                ));
            }
        }
        self.nodes[id].finalized = true;
        Ok(())
    }

    pub(super) fn drop_start(&mut self, id: usize) -> Result<(), String> {
        self.node(id)?;
        if self.in_g(id) {
            self.recheck()?;
            let c = self.coll.as_ref().unwrap();
            if c.revived.as_ref().unwrap()[id] {
                return err(format!(
                    "node {id} was resurrected by a finalizer, but dropped"
                ));
            }
        } else {
            self.release_construction(id);
            if self.count(id) != 0 {
                return err(format!(
                    "node {id} was dropped while {} handles to it remain ({:?})",
                    self.count(id),
                    self.nodes[id]
                ));
            }
            let n = &self.nodes[id];
            if n.has_fin && !n.finalized {
                return err(format!(
                    "node {id} was dropped without running its finalizer"
                ));
            }
        }
        let n = &mut self.nodes[id];
        if n.state != State::Live {
            return err(format!("node {id} was dropped twice ({n:?})"));
        }
        n.state = State::Dropping;
        n.dead = true;
        Ok(())
    }

    /// Between steps: nothing is half done, and nothing waits to be freed.
    pub(super) fn quiescent(&self) -> Result<(), String> {
        if self.coll.is_some()
            || !self.calls.is_empty()
            || self.limbo.is_some()
            || self.after_new.is_some()
            || self.auto_pending
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
}
