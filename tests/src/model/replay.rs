//! The model replays the log: each event checked against its bookkeeping.

use super::heap::{Ctx, Ev, Outcome, Site};
use super::oracle::{Call, MNode, Model, PERM, State, bit, err};

impl Model {
    /// Replays the events logged since the last call.
    pub(super) fn sync(&mut self, ctx: &Ctx) -> Result<(), String> {
        let events = std::mem::take(&mut *ctx.log.borrow_mut());
        for ev in events {
            self.history.push_back(ev.clone());
            if self.history.len() > 120 {
                self.history.pop_front();
            }
            self.event(&ev)?;
        }
        Ok(())
    }

    #[expect(clippy::too_many_lines, reason = "one arm per event")]
    pub(super) fn event(&mut self, ev: &Ev) -> Result<(), String> {
        if let Some(id) = self.expect_fault
            && !matches!(ev, Ev::TraceFault { id: i, .. } if *i == id)
        {
            return err(format!(
                "node {id}'s trace was armed, but it did not fire when traced"
            ));
        }
        let old_allowed = std::mem::take(&mut self.old_allowed);
        if let Some((id, auto)) = self.after_new.take() {
            let what = id.map_or_else(|| "a filler".to_owned(), |id| format!("node {id}"));
            match ev {
                Ev::CollStart(_) if auto => self.auto_pending = true,
                Ev::Created(c) if Some(*c) == id && !auto => {}
                Ev::FillerMade if id.is_none() && !auto => {}
                _ if auto => {
                    return err(format!(
                        "allocating {what} should have run an automatic collection \
                         (count()[0] + 1 > threshold t0 = {}, enabled)",
                        self.thresholds.0
                    ));
                }
                _ => {
                    return err(format!(
                        "allocating {what} ran something before returning \
                         (no automatic collection was due)"
                    ));
                }
            }
        }
        if self.calls.last() == Some(&Call::Pending) && !matches!(ev, Ev::CollStart(_)) {
            return err("collect() did not start a collection at once");
        }
        match ev {
            Ev::New {
                id,
                edges,
                fin,
                c0,
                enabled,
                t0,
            } => {
                if *id != self.nodes.len() {
                    return err(format!("model: node id {id} out of sequence"));
                }
                self.check_alloc(*c0, *enabled, *t0)?;
                for &t in edges {
                    self.clonable(t)?;
                    self.nodes[t].incount += 1;
                }
                self.nodes.push(MNode {
                    state: State::Live,
                    dead: false,
                    ext: 1,
                    incount: 0,
                    edges: edges.clone(),
                    gens: bit(0),
                    has_fin: *fin,
                    finalized: false,
                    cleared: false,
                    epoch: 0,
                    constructing: true,
                    armed: None,
                });
                self.after_new = Some((Some(*id), self.allocated(*c0)));
            }
            Ev::Filler { c0, enabled, t0 } => {
                self.check_alloc(*c0, *enabled, *t0)?;
                self.after_new = Some((None, self.allocated(*c0)));
                self.fillers += 1;
            }
            Ev::FillerMade => {
                if self.fillers == 0 {
                    return err("model: a filler was made out of step");
                }
                self.fillers -= 1;
            }
            Ev::Created(id) => {
                let n = &mut self.nodes[*id];
                if !n.constructing || n.state != State::Live {
                    return err(format!("Gc::new returned node {id}, which is {n:?}"));
                }
                n.constructing = false;
            }
            Ev::ExtInc(id) => {
                self.clonable(*id)?;
                self.nodes[*id].ext += 1;
            }
            Ev::ExtDec(id) => {
                let n = &mut self.nodes[*id];
                if n.ext == 0 {
                    return err(format!("model: node {id} has no outside handle to drop"));
                }
                n.ext -= 1;
            }
            Ev::RootPush(id) => self.roots.push(*id),
            Ev::RootTake(i) => {
                self.roots.remove(*i);
            }
            Ev::StashPush(id) => self.stash.push(*id),
            Ev::StashPop(id) => {
                if self.stash.pop() != Some(*id) {
                    return err("model: stash out of step");
                }
            }
            Ev::WeakPush(id) => self.weaks.push((*id, self.nodes[*id].epoch)),
            Ev::WeakRemove(i) => {
                self.weaks.remove(*i);
            }
            Ev::Upgrade { idx, got } => {
                let (id, epoch) = self.weaks[*idx];
                let want = self.upgradable(id, epoch);
                if *got != want {
                    return err(format!(
                        "Weak::upgrade of node {id} gave {}, the model says {} ({:?}, count {})",
                        if *got { "Some" } else { "None" },
                        if want { "Some" } else { "None" },
                        self.nodes[id],
                        self.count(id)
                    ));
                }
                if *got {
                    self.nodes[id].ext += 1;
                }
            }
            Ev::Link { from, to } => {
                self.clonable(*to)?;
                if self.nodes[*from].state != State::Live {
                    return err(format!("linked from node {from}, which is not alive"));
                }
                self.nodes[*from].edges.push(*to);
                self.nodes[*to].incount += 1;
            }
            Ev::Unlink { from, idx } => {
                let edges = &mut self.nodes[*from].edges;
                if *idx >= edges.len() || self.limbo.is_some() {
                    return err(format!("model: unlink {from}[{idx}] out of step"));
                }
                self.limbo = Some((*from, edges.remove(*idx)));
            }
            Ev::EdgeDrop { from, to } => {
                if self.limbo == Some((*from, *to)) {
                    self.limbo = None;
                } else {
                    let n = &mut self.nodes[*from];
                    if n.state != State::Dropping {
                        return err(format!(
                            "an edge {from} -> {to} was released, but node {from} is not being \
                             dropped"
                        ));
                    }
                    let Some(p) = n.edges.iter().position(|&t| t == *to) else {
                        return err(format!("node {from} released an edge to {to} it lacks"));
                    };
                    n.edges.remove(p);
                }
                let t = &mut self.nodes[*to];
                if t.incount == 0 {
                    return err(format!("model: node {to} has no edge to release"));
                }
                t.incount -= 1;
            }
            Ev::CellBusy { id, write } => {
                let busy = self.borrows.iter().any(|&(b, m)| b == *id && (m || *write));
                if !busy {
                    return err(format!("node {id}'s cell was busy, but nothing borrows it"));
                }
            }
            Ev::BorrowStart { id, mutable } => self.borrows.push((*id, *mutable)),
            Ev::BorrowEnd(id) => {
                let Some(p) = self.borrows.iter().rposition(|&(b, _)| b == *id) else {
                    return err("model: borrow out of step");
                };
                self.borrows.remove(p);
            }
            Ev::Lock(id) | Ev::Unlock(id) => {
                if self.locked.len() <= *id {
                    self.locked.resize(id + 1, false);
                }
                self.locked[*id] = matches!(ev, Ev::Lock(_));
            }
            Ev::UnlockAll => self.locked.clear(),
            Ev::Arm { id, act } => self.nodes[*id].armed = Some(*act),
            Ev::DisarmAll => {
                for n in &mut self.nodes {
                    n.armed = None;
                }
            }
            Ev::Freeze => {
                for n in &mut self.nodes {
                    if n.state == State::Live {
                        n.gens = bit(PERM);
                    }
                }
                self.c1 = 0;
                self.c2 = 0;
                self.news = 0;
            }
            Ev::Unfreeze => {
                for n in &mut self.nodes {
                    if n.frozen() {
                        n.gens = bit(2);
                    }
                }
            }
            Ev::Enable => self.enabled = true,
            Ev::Disable => self.enabled = false,
            Ev::SetThreshold(a, b, c) => self.thresholds = (*a, *b, *c),
            Ev::SetBudget(b) => self.budget = *b,
            Ev::CollectCall(g) => self.calls.push(if *g > 2 {
                Call::Invalid
            } else if self.coll.is_some() {
                Call::Nested
            } else {
                Call::Pending
            }),
            Ev::CollectRet(ret) => {
                let call = self.calls.pop().ok_or("model: collect returned uncalled")?;
                let want = match call {
                    Call::Invalid | Call::Done { panicked: true, .. } => None,
                    Call::Nested => Some(0),
                    Call::Done { collected, .. } => Some(collected),
                    Call::Pending | Call::Running => {
                        return err("collect() returned before its collection stopped");
                    }
                };
                if *ret != want {
                    return err(format!(
                        "collect returned {ret:?} ({call:?}); the model says {want:?}"
                    ));
                }
            }
            Ev::CollStart(g) => self.coll_start(*g, old_allowed)?,
            Ev::CollStop {
                generation,
                collected,
                resurrected,
            } => self.coll_stop(*generation, *collected, *resurrected)?,
            Ev::Finalize(id) => self.finalize(*id)?,
            Ev::DropStart(id) => self.drop_start(*id)?,
            Ev::DropEnd(id) => {
                let n = &mut self.nodes[*id];
                if n.state != State::Dropping || !n.edges.is_empty() {
                    return err(format!("node {id}'s drop ended in state {n:?}"));
                }
                n.state = State::Dropped;
            }
            Ev::Trace(id) => self.trace(*id)?,
            Ev::TraceFault { id, act } => self.trace_fault(*id, *act)?,
            Ev::PanicFired(id, site) | Ev::PanicSuppressed(id, site)
                if *id >= self.nodes.len() || (*site == Site::Trace && self.coll.is_none()) =>
            {
                return err(format!(
                    "model: a panic of node {id} in {site:?} out of step"
                ));
            }
            Ev::PanicFired(_, site) => self.panic_fired(*site)?,
            // An armed trace ran while the thread unwinds: no panic, the
            // analysis goes on.
            Ev::PanicSuppressed(..) => {}
            Ev::Violation(msg) => return err(msg.clone()),
            Ev::OpEnd(outcome) => {
                match outcome {
                    Outcome::OtherPanic(msg) => return err(format!("unexpected panic: {msg}")),
                    Outcome::FaultPanic if !self.fired => {
                        return err("a panic surfaced, but no fault fired");
                    }
                    Outcome::Returned if self.fired => {
                        return err("an injected panic was swallowed: the step returned normally");
                    }
                    _ => {}
                }
                self.fired = false;
            }
        }
        Ok(())
    }
}

impl Model {
    /// Checks what an allocation logged about the collector before
    /// `Gc::new`: `count().0`, `is_enabled()` and `threshold().0`.
    fn check_alloc(&self, c0: usize, enabled: bool, t0: usize) -> Result<(), String> {
        if enabled != self.enabled || t0 != self.thresholds.0 {
            return err(format!(
                "is_enabled() = {enabled}, threshold().0 = {t0}; the model says {}, {}",
                self.enabled, self.thresholds.0
            ));
        }
        if c0 > self.news {
            return err(format!(
                "count().0 = {c0}, but only {} tracked objects were allocated since the last \
                 collection",
                self.news
            ));
        }
        Ok(())
    }

    /// A tracked allocation with `count().0 == c0` before it: whether it
    /// must run an automatic collection (tracked allocations minus
    /// deallocations exceed `t0`).
    fn allocated(&mut self, c0: usize) -> bool {
        self.news += 1;
        self.coll.is_none() && self.enabled && self.thresholds.0 > 0 && c0 + 1 > self.thresholds.0
    }
}
