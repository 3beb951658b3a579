//! Comparing the heap with the model, between steps.
//!
//! The comparison changes no strong count: a decrement is what makes an
//! object a candidate of automatic collection (invariant I10), so a check
//! that cloned and dropped handles would make every live node one after
//! every step, and could hide a candidate the collector forgot. It walks
//! the heap by reference, and calls `Weak::upgrade` only where the model
//! says it must fail (where it must succeed, the program's own `Upgrade`
//! steps check it, and the strong count is compared here).

use gc_core::{Gc, Weak};

use super::heap::{Node, checksum};
use super::oracle::{Model, State, err};
use super::world::World;

impl World {
    /// Compares the heap with the model, between steps.
    pub(super) fn check(&self, m: &Model) -> Result<(), String> {
        let drops = self.ctx.drops.borrow();
        let fins = self.ctx.fins.borrow();
        let weak = self.ctx.weak.borrow();
        for (id, n) in m.nodes.iter().enumerate() {
            let dropped = n.state == State::Dropped;
            let d = drops.get(id).copied().unwrap_or(0);
            let f = fins.get(id).copied().unwrap_or(0);
            if d != u32::from(dropped) || f != u32::from(n.finalized) {
                return err(format!(
                    "node {id}: dropped {d} times, finalized {f} times; the model says {n:?}"
                ));
            }
            let Some(w) = weak.get(id).and_then(Option::as_ref) else {
                if !dropped {
                    return err(format!("node {id} is alive but its Gc::new never returned"));
                }
                continue;
            };
            if w.strong_count() != m.count(id) {
                return err(format!(
                    "node {id}: strong count {}, the model says {} ({n:?})",
                    w.strong_count(),
                    m.count(id)
                ));
            }
            // This `Weak` was made when the node was created, in epoch 0.
            if let Some(e) = upgrade_fails(w, m.upgradable(id, 0)) {
                return err(format!(
                    "Weak::upgrade of node {id} (made at its creation) {e} ({n:?})"
                ));
            }
        }
        drop((drops, fins, weak));
        self.check_handles(m)?;
        self.check_reachable(m)?;
        Self::check_numbers(m)
    }

    /// Every handle outside the heap: roots, stash (possibly dead handles),
    /// weak handles.
    pub(super) fn check_handles(&self, m: &Model) -> Result<(), String> {
        let ids: Vec<usize> = self.roots.iter().map(|h| h.id).collect();
        if ids != m.roots {
            return err(format!("roots {ids:?}, the model has {:?}", m.roots));
        }
        {
            let stash = self.ctx.stash.borrow();
            let ids: Vec<usize> = stash.iter().map(|h| h.id).collect();
            if ids != m.stash {
                return err(format!("stash {ids:?}, the model has {:?}", m.stash));
            }
            for h in stash.iter() {
                let dead = m.nodes[h.id].dead;
                if Gc::is_dead(&h.g) != dead || Gc::try_deref(&h.g).is_some() == dead {
                    return err(format!(
                        "stashed handle to node {} is_dead = {}, the model says {dead}",
                        h.id,
                        Gc::is_dead(&h.g)
                    ));
                }
            }
        }
        let ids: Vec<usize> = self.weaks.iter().map(|w| w.0).collect();
        let want: Vec<usize> = m.weaks.iter().map(|w| w.0).collect();
        if ids != want {
            return err(format!("weaks {ids:?}, the model has {want:?}"));
        }
        for ((id, w), &(_, epoch)) in self.weaks.iter().zip(&m.weaks) {
            if let Some(e) = upgrade_fails(w, m.upgradable(*id, epoch)) {
                return err(format!(
                    "Weak::upgrade of node {id} (made in epoch {epoch}) {e} ({:?})",
                    m.nodes[*id]
                ));
            }
        }
        Ok(())
    }

    /// Everything reachable from the roots and the live stash entries is
    /// alive and intact, with the model's edges.
    pub(super) fn check_reachable(&self, m: &Model) -> Result<(), String> {
        let mut seen = vec![false; m.nodes.len()];
        for h in &self.roots {
            walk(m, &mut seen, h.id, &h.g)?;
        }
        let stash = self.ctx.stash.borrow();
        for h in stash.iter().filter(|h| !m.nodes[h.id].dead) {
            walk(m, &mut seen, h.id, &h.g)?;
        }
        Ok(())
    }

    /// The collector's own numbers.
    pub(super) fn check_numbers(m: &Model) -> Result<(), String> {
        let live = |frozen: bool| {
            m.nodes
                .iter()
                .filter(|n| n.state == State::Live && n.frozen() == frozen)
                .count()
        };
        let got = (gc_core::tracked_count(), gc_core::freeze_count());
        let want = (live(false), live(true));
        if got != want {
            return err(format!(
                "(tracked_count, freeze_count) = {got:?}, the model says {want:?}"
            ));
        }
        let (c0, c1, c2) = gc_core::count();
        if (c1, c2) != (m.c1, m.c2) || c0 > m.news {
            return err(format!(
                "count() = {:?}, the model says (<= {}, {}, {})",
                (c0, c1, c2),
                m.news,
                m.c1,
                m.c2
            ));
        }
        if gc_core::threshold() != m.thresholds
            || gc_core::is_enabled() != m.enabled
            || gc_core::budget() != m.budget
        {
            return err("threshold(), is_enabled() or budget() disagrees with the model");
        }
        Ok(())
    }
}

/// `Weak::upgrade` where it must fail; where it must succeed, nothing (an
/// upgrade would make and drop a handle: a decrement). The error, if any.
fn upgrade_fails(w: &Weak<Node>, upgradable: bool) -> Option<&'static str> {
    if upgradable {
        return (w.strong_count() == 0)
            .then_some("has no strong count, the model says it upgrades");
    }
    w.upgrade().map(|g| {
        // Dropping it could free the value a second time.
        std::mem::forget(g);
        "gives Some, the model says None"
    })
}

/// Checks node `id` (behind `g`) and, depth first, what its edges reach,
/// under shared borrows of their cells (no handle is made).
fn walk(m: &Model, seen: &mut [bool], id: usize, handle: &Gc<Node>) -> Result<(), String> {
    if std::mem::replace(&mut seen[id], true) {
        return Ok(());
    }
    let node = &m.nodes[id];
    if node.state != State::Live || node.dead {
        return err(format!(
            "node {id} is reachable, but the model says {node:?}"
        ));
    }
    let Some(value) = Gc::try_deref(handle) else {
        return err(format!("reachable node {id} is a dead handle"));
    };
    if value.id != id || value.check != checksum(id) {
        return err(format!("reachable node {id}: payload corrupted"));
    }
    if !Gc::is_tracked(handle) {
        return err(format!("reachable node {id} is not tracked"));
    }
    match value.edges.try_borrow() {
        Ok(edges) => {
            let real: Vec<usize> = edges.iter().map(|e| e.to_id).collect();
            if real != node.edges {
                return err(format!(
                    "node {id} has edges {real:?}, the model has {:?}",
                    node.edges
                ));
            }
            for e in edges.iter() {
                if e.from != id {
                    return err(format!("node {id} holds an edge of node {}", e.from));
                }
                match Gc::try_deref(&e.to) {
                    Some(t) if t.id == e.to_id => walk(m, seen, e.to_id, &e.to)?,
                    _ => {
                        return err(format!(
                            "edge {id} -> {} does not lead to a live node {}",
                            e.to_id, e.to_id
                        ));
                    }
                }
            }
            Ok(())
        }
        Err(_) if m.borrows.iter().any(|&(b, mu)| b == id && mu) => Ok(()),
        Err(_) => err(format!("node {id}'s cell is borrowed, unexpectedly")),
    }
}
