//! Running a program: the roots and weak handles of a case, each step
//! applied to the heap and then checked against the model.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use gc_core::Gc;
use gc_core::debug::Scope;

use super::nodes::{Ctx, Edge, Ev, Kind, WeakEdge, checksum, new_node};
use super::oracle::{MNode, Model, err, ids};
use super::program::Op;
use super::{SLOTS, WEAKS};

/// Where a node is: generations 0 to 2, or frozen (3).
const FROZEN: u8 = 3;

pub(super) struct World {
    ctx: Rc<Ctx>,
    roots: [Option<Edge>; SLOTS],
    weaks: [Option<(usize, WeakEdge)>; WEAKS],
    m: Model,
    /// In the current step: the nodes dropped, and whether a trace
    /// dropped an edge (`Pop`).
    died: Vec<usize>,
    popped: bool,
}

/// How a step may change the heap, for what its checks expect.
enum Expect {
    /// Nothing but reference counting.
    Counting,
    /// `collect_generation(g)` (`collect()`: 2), with the nodes' locations
    /// before it.
    Collection(usize, Vec<u8>),
    /// Automatic collection may run: the safety checks only.
    Any,
}

impl World {
    pub(super) fn new(ctx: Rc<Ctx>) -> World {
        World {
            ctx,
            roots: Default::default(),
            weaks: Default::default(),
            m: Model::default(),
            died: Vec::new(),
            popped: false,
        }
    }

    /// Replays the log into the model.
    fn sync(&mut self) -> Result<(), String> {
        let events = std::mem::take(&mut *self.ctx.events.borrow_mut());
        for ev in events {
            match ev {
                Ev::Created(id, kind) => {
                    if id != self.m.nodes.len() {
                        return err(format!("node {id} created out of order"));
                    }
                    self.m.nodes.push(MNode {
                        kind,
                        edges: Vec::new(),
                        dropped: false,
                    });
                }
                Ev::Dropped(id) => {
                    let n = &mut self.m.nodes[id];
                    if n.dropped {
                        return err(format!("node {id} dropped again"));
                    }
                    n.dropped = true;
                    self.died.push(id);
                }
                Ev::Popped(u) => {
                    self.m.nodes[u].edges.pop();
                    self.popped = true;
                }
                Ev::Moved { u, from } => {
                    let e = self.m.nodes[from].edges.pop();
                    let e = e.ok_or_else(|| {
                        format!("U {u} moved an edge from {from}, which has none")
                    })?;
                    self.m.nodes[u].edges.push(e);
                }
                Ev::Pushed { u, to } => self.m.nodes[u].edges.push(to),
            }
        }
        Ok(())
    }

    /// A handle to node `id`, found by following a path from a root.
    fn handle(&self, id: usize) -> Result<Edge, String> {
        let (slot, path) = self
            .m
            .path_to(id)
            .ok_or_else(|| format!("no path to node {id}"))?;
        let mut cur = self.roots[slot]
            .clone()
            .ok_or_else(|| format!("root slot {slot} is empty, the model has a root"))?;
        for k in path {
            let next = {
                let v = cur
                    .view()
                    .ok_or("a dead handle on the way to a reachable node")?;
                let edges = v.edges.borrow();
                edges
                    .get(k)
                    .cloned()
                    .ok_or_else(|| format!("node {} has no edge {k}", v.id))?
            };
            cur = next;
        }
        match cur.view() {
            Some(v) if v.id == id => Ok(cur),
            _ => err(format!("the path to node {id} leads elsewhere")),
        }
    }

    /// The reachable node `sel` selects (modulo), among those `keep` accepts.
    fn select(&self, sel: u8, keep: impl Fn(&MNode) -> bool) -> Option<usize> {
        let r: Vec<usize> = self
            .m
            .reachable()
            .into_iter()
            .filter(|&i| keep(&self.m.nodes[i]))
            .collect();
        (!r.is_empty()).then(|| r[usize::from(sel) % r.len()])
    }

    fn set_root(&mut self, slot: u8, id: usize, e: Edge) {
        let s = usize::from(slot) % SLOTS;
        self.m.roots[s] = Some(id);
        let old = self.roots[s].replace(e);
        drop(old);
    }

    /// The location of every node not dropped (`u8::MAX` for the others).
    fn locations(&self) -> Result<Vec<u8>, String> {
        let mut at = HashMap::new();
        for (g, scope) in [
            (0, Scope::Generation(0)),
            (1, Scope::Generation(1)),
            (2, Scope::Generation(2)),
            (FROZEN, Scope::Frozen),
        ] {
            for o in gc_core::debug::objects(scope) {
                at.insert(o.id.as_usize(), g);
            }
        }
        let addrs = self.ctx.addrs.borrow();
        let mut locs = vec![u8::MAX; self.m.nodes.len()];
        for (i, n) in self.m.nodes.iter().enumerate() {
            if !n.dropped {
                locs[i] = *at
                    .get(&addrs[i])
                    .ok_or_else(|| format!("node {i} is not dropped but in no generation"))?;
            }
        }
        Ok(locs)
    }

    /// Runs one step on the heap (and its direct effects on the model).
    /// `Some(n)`: a collection returned `n`.
    fn run(&mut self, op: &Op) -> Result<Option<usize>, String> {
        match op {
            Op::New { kind, slot } => {
                let (id, e) = new_node(&self.ctx, *kind);
                self.sync()?;
                self.set_root(*slot, id, e);
            }
            Op::Ring { kinds, slot } => self.ring(kinds, *slot)?,
            Op::Link { from, to } => {
                if let (Some(a), Some(b)) =
                    (self.select(*from, |_| true), self.select(*to, |_| true))
                {
                    let (ha, hb) = (self.handle(a)?, self.handle(b)?);
                    let v = ha.view().ok_or("dead")?;
                    v.edges.borrow_mut().push(hb);
                    self.m.nodes[a].edges.push(b);
                }
            }
            Op::Unlink { from, idx } => self.unlink(*from, *idx)?,
            Op::Root { node, slot } => {
                if let Some(id) = self.select(*node, |_| true) {
                    let h = self.handle(id)?;
                    self.set_root(*slot, id, h);
                }
            }
            Op::DropRoot(slot) => {
                let s = usize::from(*slot) % SLOTS;
                self.m.roots[s] = None;
                drop(self.roots[s].take());
            }
            Op::Downgrade { node, weak } => {
                if let Some(id) = self.select(*node, |_| true) {
                    let w = self.handle(id)?.downgrade();
                    self.weaks[usize::from(*weak) % WEAKS] = Some((id, w));
                }
            }
            Op::Upgrade { weak, slot } => self.upgrade(*weak, *slot)?,
            Op::DropWeak(weak) => drop(self.weaks[usize::from(*weak) % WEAKS].take()),
            Op::Arm { node, act } => {
                if let Some(id) = self.select(*node, |n| n.kind == Kind::U)
                    && let Edge::U(g) = self.handle(id)?
                {
                    Gc::try_deref(&g).ok_or("dead")?.act.set(Some(*act));
                }
            }
            Op::Collect => return Ok(Some(gc_core::collect())),
            Op::CollectGen(g) => {
                return Ok(Some(gc_core::collect_generation(usize::from(*g) % 3)));
            }
            Op::SetThreshold(a, b, c) => {
                gc_core::set_threshold(usize::from(*a), usize::from(*b), usize::from(*c));
            }
            Op::Freeze => gc_core::freeze(),
            Op::Unfreeze => gc_core::unfreeze(),
        }
        Ok(None)
    }

    fn ring(&mut self, kinds: &[Kind], slot: u8) -> Result<(), String> {
        let mut made = Vec::new();
        for &k in kinds {
            made.push(new_node(&self.ctx, k));
            self.sync()?;
        }
        for (i, (id, e)) in made.iter().enumerate() {
            let (next, to) = &made[(i + 1) % made.len()];
            e.view().ok_or("dead")?.edges.borrow_mut().push(to.clone());
            self.m.nodes[*id].edges.push(*next);
        }
        let (id, e) = made.swap_remove(0);
        self.set_root(slot, id, e);
        Ok(())
    }

    fn unlink(&mut self, from: u8, idx: u8) -> Result<(), String> {
        let Some(a) = self.select(from, |n| !n.edges.is_empty()) else {
            return Ok(());
        };
        let h = self.handle(a)?;
        let edges = &mut self.m.nodes[a].edges;
        let i = usize::from(idx) % edges.len();
        edges.remove(i);
        let e = {
            let v = h.view().ok_or("dead")?;
            let mut real = v.edges.borrow_mut();
            if real.len() <= i {
                return err(format!("node {a} has {} edges, the model more", real.len()));
            }
            real.remove(i)
        };
        drop(e);
        Ok(())
    }

    fn upgrade(&mut self, weak: u8, slot: u8) -> Result<(), String> {
        let Some((id, w)) = &self.weaks[usize::from(weak) % WEAKS] else {
            return Ok(());
        };
        let (id, got) = (*id, w.upgrade());
        let dropped = self.m.nodes[id].dropped;
        match got {
            Some(_) if dropped => err(format!("a Weak to dropped node {id} upgraded")),
            None if !dropped => err(format!("a Weak to node {id}, not dropped, did not upgrade")),
            None => Ok(()),
            Some(e) => {
                if e.view().map(|v| v.id) != Some(id) {
                    return err(format!("a Weak to node {id} upgraded to another node"));
                }
                self.set_root(slot, id, e);
                Ok(())
            }
        }
    }

    /// Runs one step and checks the heap against the model.
    pub(super) fn step(&mut self, op: &Op) -> Result<(), String> {
        let before = self.m.nodes.len();
        let alive_before = self.m.alive();
        let expect = match op {
            Op::Collect => Expect::Collection(2, self.locations()?),
            Op::CollectGen(g) => Expect::Collection(usize::from(*g) % 3, self.locations()?),
            Op::New { .. } | Op::Ring { .. } | Op::SetThreshold(..) => Expect::Any,
            _ => Expect::Counting,
        };
        self.died.clear();
        self.popped = false;
        let ret = panic::catch_unwind(AssertUnwindSafe(|| self.run(op)))
            .map_err(|p| format!("panicked: {}", crate::message(&*p)))??;
        self.sync()?;
        // Alive before the step, or made in it.
        let mut alive = alive_before;
        alive.resize(self.m.nodes.len(), true);
        let died = {
            let mut d = vec![false; self.m.nodes.len()];
            for &i in &self.died {
                d[i] = true;
            }
            d
        };
        match expect {
            Expect::Counting => {
                let pre = alive.clone();
                self.m.cascade(&mut alive);
                self.expect_died(&pre, &alive, &died, "reference counting")?;
            }
            Expect::Collection(g, locs) => {
                self.check_collection(g, &locs, before, alive, &died, ret)?;
            }
            Expect::Any => {}
        }
        self.check()
    }

    /// `died` must be what was alive (`pre`) and is not in `after`.
    fn expect_died(
        &self,
        pre: &[bool],
        after: &[bool],
        died: &[bool],
        what: &str,
    ) -> Result<(), String> {
        let gone = ids(died);
        let expected: Vec<usize> = (0..pre.len()).filter(|&i| pre[i] && !after[i]).collect();
        if gone != expected {
            return err(format!(
                "dropped {gone:?}; {what} says {expected:?} (the model's roots {:?})",
                self.m.roots
            ));
        }
        Ok(())
    }

    fn check_collection(
        &self,
        g: usize,
        locs: &[u8],
        before: usize,
        mut alive: Vec<bool>,
        died: &[bool],
        ret: Option<usize>,
    ) -> Result<(), String> {
        let after = self.locations()?;
        let target = u8::try_from((g + 1).min(2)).unwrap_or(2);
        for (i, &loc) in after.iter().enumerate() {
            if loc == u8::MAX {
                continue;
            }
            let want = if i >= before {
                0
            } else if usize::from(locs[i]) <= g {
                target
            } else {
                locs[i]
            };
            if loc != want {
                return err(format!(
                    "after collect_generation({g}) node {i} is in generation {loc}, expected \
                     {want} (it was in {})",
                    locs.get(i).copied().unwrap_or(0)
                ));
            }
        }
        if self.popped {
            // A trace dropped a handle after the counts were copied.
            return Ok(());
        }
        let in_set: Vec<bool> = (0..alive.len())
            .map(|i| i < before && alive[i] && usize::from(locs[i]) <= g)
            .collect();
        let garbage = self.m.garbage(&alive, &in_set);
        let n = ids(&garbage).len();
        let pre = alive.clone();
        for (a, &x) in alive.iter_mut().zip(&garbage) {
            *a &= !x;
        }
        self.m.cascade(&mut alive);
        self.expect_died(
            &pre,
            &alive,
            died,
            &format!("trial deletion (garbage {:?})", ids(&garbage)),
        )?;
        if ret != Some(n) {
            return err(format!(
                "collect_generation({g}) returned {ret:?}, the garbage is {n}"
            ));
        }
        Ok(())
    }

    /// The checks after every step.
    fn check(&self) -> Result<(), String> {
        if let Some(v) = self.ctx.violations.borrow().first() {
            return err(v.clone());
        }
        let alive = self.m.alive();
        for i in self.m.reachable() {
            if !alive[i] {
                return err(format!(
                    "node {i} is reachable from the roots, but was dropped"
                ));
            }
        }
        let mut seen = vec![false; alive.len()];
        let counts = self.m.counts(&alive);
        for (s, r) in self.roots.iter().enumerate() {
            let want = self.m.roots[s];
            match (r, want) {
                (None, None) => {}
                (Some(e), Some(id)) => self.walk(e, id, &counts, &mut seen)?,
                _ => return err(format!("root slot {s}: the model has {want:?}")),
            }
        }
        self.check_counts(&alive)?;
        for (id, w) in self.weaks.iter().flatten() {
            let (c, dropped) = (w.strong_count(), self.m.nodes[*id].dropped);
            if (c == 0) != dropped {
                return err(format!(
                    "a Weak to node {id} has strong count {c}; the node was dropped: {dropped}"
                ));
            }
        }
        Ok(())
    }

    /// The tracked objects are the nodes not dropped, with the model's
    /// strong counts.
    fn check_counts(&self, alive: &[bool]) -> Result<(), String> {
        let mut real = HashMap::new();
        for scope in [Scope::All, Scope::Frozen] {
            for o in gc_core::debug::objects(scope) {
                real.insert(o.id.as_usize(), o.strong_count);
            }
        }
        let want = self.m.counts(alive);
        let addrs = self.ctx.addrs.borrow();
        let mut n = 0;
        for i in ids(alive) {
            n += 1;
            if want[i] == 0 {
                return err(format!(
                    "node {i} has no handle, but was not dropped (a leak)"
                ));
            }
            match real.get(&addrs[i]) {
                None => return err(format!("node {i}, not dropped, is not tracked")),
                Some(&c) if c != want[i] => {
                    return err(format!(
                        "node {i} has strong count {c}, the model says {}",
                        want[i]
                    ));
                }
                Some(_) => {}
            }
        }
        if real.len() != n {
            return err(format!(
                "{} tracked objects, but {n} nodes not dropped",
                real.len()
            ));
        }
        Ok(())
    }

    /// Node `id` behind `e`, and what it reaches, by reference; `counts`
    /// are the model's strong counts.
    fn walk(&self, e: &Edge, id: usize, counts: &[usize], seen: &mut [bool]) -> Result<(), String> {
        let Some(v) = e.view() else {
            return err(format!("reachable node {id} is a dead handle"));
        };
        if v.id != id || v.check != checksum(id) {
            return err(format!(
                "reachable node {id} reads as node {} (or is corrupted)",
                v.id
            ));
        }
        if std::mem::replace(&mut seen[id], true) {
            return Ok(());
        }
        if !e.is_tracked() {
            return err(format!("reachable node {id} is not tracked"));
        }
        if e.strong_count() != counts[id] {
            return err(format!(
                "Gc::strong_count of reachable node {id} is {}, the model says {}",
                e.strong_count(),
                counts[id]
            ));
        }
        let edges = v
            .edges
            .try_borrow()
            .map_err(|_| format!("node {id}'s cell is borrowed"))?;
        let want = &self.m.nodes[id].edges;
        if edges.len() != want.len() {
            return err(format!(
                "node {id} has {} edges, the model {want:?}",
                edges.len()
            ));
        }
        for (x, &w) in edges.iter().zip(want) {
            self.walk(x, w, counts, seen)?;
        }
        Ok(())
    }

    /// Releases everything; every node must have been dropped once.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        let mut end = vec![Op::Unfreeze];
        end.extend((0..WEAKS).map(|w| Op::DropWeak(u8::try_from(w).unwrap_or(0))));
        end.extend((0..SLOTS).map(|s| Op::DropRoot(u8::try_from(s).unwrap_or(0))));
        end.push(Op::Collect);
        for op in &end {
            self.step(op).map_err(|e| format!("clean-up {op:?}: {e}"))?;
        }
        // A `Pop` in the last collection may have kept garbage (each fires
        // once).
        while self.popped {
            self.step(&Op::Collect)
                .map_err(|e| format!("clean-up, collecting again: {e}"))?;
        }
        for (i, n) in self.m.nodes.iter().enumerate() {
            if !n.dropped || self.ctx.drops_of(i) != 1 {
                return err(format!(
                    "node {i} leaked or dropped more than once ({} drops)",
                    self.ctx.drops_of(i)
                ));
            }
        }
        if gc_core::tracked_count() != 0 || gc_core::freeze_count() != 0 {
            return err("tracked objects remain after the clean-up");
        }
        Ok(())
    }
}
