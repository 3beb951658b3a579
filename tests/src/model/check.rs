//! Comparing the heap with the model, between steps.

use gc_core::Gc;

use super::heap::{Node, checksum};
use super::oracle::{Model, PERM, State, err};
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
            let up = w.upgrade();
            if up.is_some() != m.upgradable(id, 0) {
                return err(format!(
                    "Weak::upgrade of node {id} (made at its creation) gives {}, the model \
                     says otherwise ({n:?})",
                    if up.is_some() { "Some" } else { "None" }
                ));
            }
        }
        drop((drops, fins, weak));
        let todo = self.check_handles(m)?;
        Self::check_reachable(m, todo)?;
        Self::check_numbers(m)
    }

    /// Every handle outside the heap: roots, stash (possibly dead handles),
    /// weak handles. Returns the live ones, to walk from.
    pub(super) fn check_handles(&self, m: &Model) -> Result<Vec<(usize, Gc<Node>)>, String> {
        let ids: Vec<usize> = self.roots.iter().map(|h| h.id).collect();
        if ids != m.roots {
            return err(format!("roots {ids:?}, the model has {:?}", m.roots));
        }
        let mut todo: Vec<(usize, Gc<Node>)> =
            self.roots.iter().map(|h| (h.id, h.g.clone())).collect();
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
                if !dead {
                    todo.push((h.id, h.g.clone()));
                }
            }
        }
        let ids: Vec<usize> = self.weaks.iter().map(|w| w.0).collect();
        let want: Vec<usize> = m.weaks.iter().map(|w| w.0).collect();
        if ids != want {
            return err(format!("weaks {ids:?}, the model has {want:?}"));
        }
        for ((id, w), &(_, epoch)) in self.weaks.iter().zip(&m.weaks) {
            if w.upgrade().is_some() != m.upgradable(*id, epoch) {
                return err(format!(
                    "Weak::upgrade of node {id} (made in epoch {epoch}) disagrees with the model \
                     ({:?})",
                    m.nodes[*id]
                ));
            }
        }

        Ok(todo)
    }

    /// Everything reachable from `todo` is alive and intact, with the
    /// model's edges.
    pub(super) fn check_reachable(
        m: &Model,
        mut todo: Vec<(usize, Gc<Node>)>,
    ) -> Result<(), String> {
        let mut seen = vec![false; m.nodes.len()];
        while let Some((id, g)) = todo.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            let n = &m.nodes[id];
            if n.state != State::Live || n.dead {
                return err(format!("node {id} is reachable, but the model says {n:?}"));
            }
            let Some(v) = Gc::try_deref(&g) else {
                return err(format!("reachable node {id} is a dead handle"));
            };
            if v.id != id || v.check != checksum(id) {
                return err(format!("reachable node {id}: payload corrupted"));
            }
            if !Gc::is_tracked(&g) {
                return err(format!("reachable node {id} is not tracked"));
            }
            match v.edges.try_borrow() {
                Ok(edges) => {
                    let real: Vec<usize> = edges.iter().map(|e| e.to_id).collect();
                    if real != n.edges {
                        return err(format!(
                            "node {id} has edges {real:?}, the model has {:?}",
                            n.edges
                        ));
                    }
                    for e in edges.iter() {
                        if e.from != id {
                            return err(format!("node {id} holds an edge of node {}", e.from));
                        }
                        match Gc::try_deref(&e.to) {
                            Some(t) if t.id == e.to_id => todo.push((e.to_id, e.to.clone())),
                            _ => {
                                return err(format!(
                                    "edge {id} -> {} does not lead to a live node {}",
                                    e.to_id, e.to_id
                                ));
                            }
                        }
                    }
                }
                Err(_) if m.borrows.iter().any(|&(b, mu)| b == id && mu) => {}
                Err(_) => return err(format!("node {id}'s cell is borrowed, unexpectedly")),
            }
        }

        Ok(())
    }

    /// The collector's own numbers.
    pub(super) fn check_numbers(m: &Model) -> Result<(), String> {
        let live = |frozen: bool| {
            m.nodes
                .iter()
                .filter(|n| n.state == State::Live && (n.generation == PERM) == frozen)
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
        if gc_core::threshold() != m.thresholds || gc_core::is_enabled() != m.enabled {
            return err("threshold() or is_enabled() disagrees with the model");
        }
        Ok(())
    }
}
