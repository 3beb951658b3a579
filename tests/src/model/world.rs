//! Running a program: the roots, weak handles and stash of a case, each
//! step applied to the heap and then compared with the model.

use std::cell::{Ref, RefMut};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use gc_core::{CallbackId, CollectInfo, Gc, Phase, Weak};

use super::heap::{
    Ctx, Edge, Ev, FaultPanic, H, Node, Outcome, do_collect, link, new_filler, new_node,
    panic_message,
};
use super::oracle::{Model, State, err};
use super::program::{Act, Op};
use super::{DRAIN_CAP, DRAIN_T0};

pub(super) struct World {
    pub(super) ctx: Rc<Ctx>,
    pub(super) roots: Vec<H>,
    pub(super) weaks: Vec<(usize, Weak<Node>)>,
    pub(super) callback: Option<CallbackId>,
    /// What the last drain left uncollected (a completeness failure).
    pub(super) incomplete: Option<String>,
}

pub(super) enum Guard<'a> {
    Mut(#[expect(dead_code, reason = "held for its borrow")] RefMut<'a, Vec<Edge>>),
    Shared(#[expect(dead_code, reason = "held for its borrow")] Ref<'a, Vec<Edge>>),
}

/// Internal steps of the final clean-up.
#[derive(Debug)]
pub(super) enum Cleanup {
    FaultsOff,
    DropWeaks,
    ClearStash,
    DropRoots,
    /// Automatic collection only, until the garbage is gone (see
    /// [`World::drain`]).
    Drain,
    Collect,
}

/// Selects among `len` items, counting from the most recent (0), so that
/// removing an unrelated earlier step rarely changes what a step selects.
pub(super) fn pick(sel: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| len - 1 - usize::from(sel) % len)
}

impl World {
    pub(super) fn new(ctx: Rc<Ctx>) -> Self {
        let c = ctx.clone();
        let callback = gc_core::add_callback(move |phase, info: &CollectInfo| {
            c.log(match phase {
                Phase::Start => Ev::CollStart(info.generation),
                Phase::Stop => Ev::CollStop {
                    generation: info.generation,
                    collected: info.collected,
                    resurrected: info.resurrected,
                },
            });
        });
        World {
            ctx,
            roots: Vec::new(),
            weaks: Vec::new(),
            callback: Some(callback),
            incomplete: None,
        }
    }

    pub(super) fn push_root(&mut self, h: H) {
        self.ctx.log(Ev::RootPush(h.id));
        self.roots.push(h);
    }

    /// Runs one step, replays its events, and compares heap and model.
    pub(super) fn exec(
        &mut self,
        m: &mut Model,
        run: &mut dyn FnMut(&mut World, &mut Model) -> Result<(), String>,
    ) -> Result<(), String> {
        m.sync(&self.ctx)?;
        m.fired = false;
        let r = panic::catch_unwind(AssertUnwindSafe(|| run(self, m)));
        let (outcome, inner) = match r {
            Ok(inner) => (Outcome::Returned, inner),
            Err(p) if p.is::<FaultPanic>() => (Outcome::FaultPanic, Ok(())),
            Err(p) => (Outcome::OtherPanic(panic_message(&*p)), Ok(())),
        };
        self.ctx.log(Ev::OpEnd(outcome));
        inner?;
        m.sync(&self.ctx)?;
        m.quiescent()?;
        self.check(m)
    }

    pub(super) fn op(&mut self, m: &mut Model, op: &Op) -> Result<(), String> {
        self.exec(m, &mut |w, m| w.apply(m, op))
    }

    #[expect(clippy::too_many_lines, reason = "one arm per step")]
    pub(super) fn apply(&mut self, model: &mut Model, op: &Op) -> Result<(), String> {
        let ctx = self.ctx.clone();
        let root = |w: &World, sel: u8| pick(sel, w.roots.len());
        let any_node = |sel: u8| pick(sel, ctx.next_id.get());
        match op {
            Op::Alloc { fin, drop, links } => {
                let edges = links
                    .iter()
                    .filter_map(|&s| root(self, s))
                    .map(|i| (self.roots[i].id, self.roots[i].g.clone()))
                    .collect();
                let h = new_node(&ctx, *fin, *drop, edges);
                self.push_root(h);
            }
            Op::Chain(len) => {
                let mut prev: Option<H> = None;
                for _ in 0..*len {
                    let edges = prev.iter().map(|p| (p.id, p.g.clone())).collect();
                    let h = new_node(&ctx, None, Act::Nothing, edges);
                    prev = Some(h);
                }
                if let Some(h) = prev {
                    self.push_root(h);
                }
            }
            Op::Ring {
                len,
                fin,
                drop: on_drop,
            } => {
                let mut ring: Vec<H> = Vec::new();
                for _ in 0..*len {
                    let edges = ring
                        .last()
                        .map(|p| (p.id, p.g.clone()))
                        .into_iter()
                        .collect();
                    ring.push(new_node(&ctx, *fin, *on_drop, edges));
                }
                if let (Some(first), Some(last)) = (ring.first(), ring.last()) {
                    link(&ctx, first, last);
                }
                if let Some(h) = ring.pop() {
                    self.push_root(h);
                }
                drop(ring);
            }
            Op::Link(a, b) => {
                if let (Some(a), Some(b)) = (root(self, *a), root(self, *b)) {
                    link(&ctx, &self.roots[a], &self.roots[b]);
                }
            }
            Op::Unlink(a, idx) => {
                let Some(a) = root(self, *a) else {
                    return Ok(());
                };
                let from = &self.roots[a];
                let edge = match from.g.edges.try_borrow_mut() {
                    Err(_) => {
                        ctx.log(Ev::CellBusy {
                            id: from.id,
                            write: true,
                        });
                        None
                    }
                    Ok(mut v) => pick(*idx, v.len()).map(|j| {
                        let e = v.remove(j);
                        ctx.log(Ev::Unlink {
                            from: from.id,
                            idx: j,
                        });
                        e
                    }),
                };
                drop(edge);
            }
            Op::DropRoot(s) => {
                if let Some(i) = root(self, *s) {
                    let h = self.roots.remove(i);
                    ctx.log(Ev::RootTake(i));
                    drop(h);
                }
            }
            Op::CloneRoot(s) => {
                if let Some(i) = root(self, *s) {
                    let h = H::clone_of(&ctx, self.roots[i].id, &self.roots[i].g);
                    self.push_root(h);
                }
            }
            Op::Descend(s, idx) => {
                let Some(i) = root(self, *s) else {
                    return Ok(());
                };
                let from = &self.roots[i];
                let child = match from.g.edges.try_borrow() {
                    Err(_) => {
                        ctx.log(Ev::CellBusy {
                            id: from.id,
                            write: false,
                        });
                        None
                    }
                    Ok(v) => pick(*idx, v.len()).map(|j| H::clone_of(&ctx, v[j].to_id, &v[j].to)),
                };
                if let Some(h) = child {
                    self.push_root(h);
                }
            }
            Op::TakeWeak(s) => {
                if let Some(i) = root(self, *s) {
                    let id = self.roots[i].id;
                    self.weaks.push((id, Gc::downgrade(&self.roots[i].g)));
                    ctx.log(Ev::WeakPush(id));
                }
            }
            Op::DropWeak(s) => {
                if let Some(i) = pick(*s, self.weaks.len()) {
                    self.weaks.remove(i);
                    ctx.log(Ev::WeakRemove(i));
                }
            }
            Op::Upgrade(s, keep) => {
                if let Some(i) = pick(*s, self.weaks.len()) {
                    let (id, weak) = &self.weaks[i];
                    let id = *id;
                    let upgraded = weak.upgrade();
                    ctx.log(Ev::Upgrade {
                        idx: i,
                        got: upgraded.is_some(),
                    });
                    if let Some(g) = upgraded {
                        let h = H {
                            id,
                            ctx: ctx.clone(),
                            g,
                        };
                        if *keep {
                            self.push_root(h);
                        }
                    }
                }
            }
            Op::Borrow {
                root: s,
                mutable,
                body,
            } => {
                let Some(i) = root(self, *s) else {
                    return Ok(());
                };
                let h = H::clone_of(&ctx, self.roots[i].id, &self.roots[i].g);
                let res = self.borrow_and_run(model, &h, *mutable, body);
                drop(h);
                res?;
            }
            Op::Lock(s) | Op::Unlock(s) => {
                if let Some(id) = any_node(*s) {
                    let lock = matches!(op, Op::Lock(_));
                    {
                        let mut l = ctx.locked.borrow_mut();
                        if l.len() <= id {
                            l.resize(id + 1, false);
                        }
                        l[id] = lock;
                    }
                    ctx.log(if lock { Ev::Lock(id) } else { Ev::Unlock(id) });
                }
            }
            Op::ArmTrace(s, act) => {
                if let Some(id) = any_node(*s) {
                    {
                        let mut a = ctx.armed.borrow_mut();
                        if a.len() <= id {
                            a.resize(id + 1, None);
                        }
                        a[id] = Some(*act);
                    }
                    ctx.log(Ev::Arm { id, act: *act });
                }
            }
            Op::Collect => do_collect(&ctx, None),
            Op::CollectGen(g) => do_collect(&ctx, Some(usize::from(*g))),
            Op::Freeze => {
                gc_core::freeze();
                ctx.log(Ev::Freeze);
            }
            Op::Unfreeze => {
                gc_core::unfreeze();
                ctx.log(Ev::Unfreeze);
            }
            Op::Enable => {
                gc_core::enable();
                ctx.log(Ev::Enable);
            }
            Op::Disable => {
                gc_core::disable();
                ctx.log(Ev::Disable);
            }
            Op::SetThreshold(t0, t1, t2) => {
                let (t0, t1, t2) = (usize::from(*t0), usize::from(*t1), usize::from(*t2));
                gc_core::set_threshold(t0, t1, t2);
                ctx.log(Ev::SetThreshold(t0, t1, t2));
            }
            Op::SetBudget(b) => {
                let b = usize::from(*b);
                gc_core::set_budget(b);
                ctx.log(Ev::SetBudget(b));
            }
            Op::ClearStash => clear_stash(&ctx),
            Op::FromStash(s) => {
                let h = {
                    let stash = ctx.stash.borrow();
                    pick(*s, stash.len())
                        .map(|i| &stash[i])
                        .filter(|h| !Gc::is_dead(&h.g))
                        .map(|h| H::clone_of(&ctx, h.id, &h.g))
                };
                if let Some(h) = h {
                    self.push_root(h);
                }
            }
        }
        Ok(())
    }

    /// Runs `body` while `h`'s cell is borrowed.
    pub(super) fn borrow_and_run(
        &mut self,
        m: &mut Model,
        h: &H,
        mutable: bool,
        body: &[Op],
    ) -> Result<(), String> {
        let guard = if mutable {
            h.g.edges.try_borrow_mut().ok().map(Guard::Mut)
        } else {
            h.g.edges.try_borrow().ok().map(Guard::Shared)
        };
        let Some(guard) = guard else {
            self.ctx.log(Ev::CellBusy {
                id: h.id,
                write: mutable,
            });
            return Ok(());
        };
        self.ctx.log(Ev::BorrowStart { id: h.id, mutable });
        let mut res = Ok(());
        for op in body {
            res = self.op(m, op);
            if res.is_err() {
                break;
            }
        }
        self.ctx.log(Ev::BorrowEnd(h.id));
        drop(guard);
        res
    }

    pub(super) fn cleanup(&mut self, m: &Model, step: &Cleanup) {
        let ctx = self.ctx.clone();
        match step {
            Cleanup::FaultsOff => {
                ctx.faults_off.set(true);
                ctx.armed.borrow_mut().clear();
                ctx.log(Ev::DisarmAll);
                ctx.locked.borrow_mut().clear();
                ctx.log(Ev::UnlockAll);
                gc_core::unfreeze();
                ctx.log(Ev::Unfreeze);
            }
            Cleanup::DropWeaks => {
                while let Some((_, w)) = self.weaks.pop() {
                    ctx.log(Ev::WeakRemove(self.weaks.len()));
                    drop(w);
                }
            }
            Cleanup::ClearStash => clear_stash(&ctx),
            Cleanup::DropRoots => {
                while let Some(h) = self.roots.pop() {
                    ctx.log(Ev::RootTake(self.roots.len()));
                    drop(h);
                }
            }
            Cleanup::Drain => self.drain(m),
            Cleanup::Collect => do_collect(&ctx, None),
        }
    }

    /// Completeness (invariant I10: every cyclic garbage component is
    /// examined eventually), with automatic collection alone: allocates
    /// fillers until a step runs, round after round, until every node the
    /// model says is garbage was dropped. It gives up when no old step ran
    /// for longer than any debt can last (so no candidate waits), or after
    /// a bound on the rounds; what is left goes to `incomplete`.
    pub(super) fn drain(&mut self, m: &Model) {
        let ctx = self.ctx.clone();
        let mut left = m.garbage_now();
        if left.is_empty() {
            return;
        }
        if !gc_core::is_enabled() {
            gc_core::enable();
            ctx.log(Ev::Enable);
        }
        let (mut t0, t1, t2) = gc_core::threshold();
        if t0 == 0 {
            t0 = DRAIN_T0;
            gc_core::set_threshold(t0, t1, t2);
            ctx.log(Ev::SetThreshold(t0, t1, t2));
        }
        // A debt is at most what one old step examined, so less than the
        // nodes ever made (fillers are never examined: nothing references
        // them and they lose no reference); it is paid `t0` a step. While
        // candidates wait, an old step runs at least that often, and takes
        // at least one of them.
        let nodes = m.nodes.len();
        let debt_rounds = nodes / t0 + 2;
        let cap = ((nodes + m.live_edges() + 4) * (debt_rounds + 1)).min(DRAIN_CAP);
        let (mut rounds, mut quiet) = (0, 0);
        let dropped = |i: usize| ctx.drops.borrow().get(i).is_some_and(|&d| d > 0);
        loop {
            left.retain(|&i| !dropped(i));
            if left.is_empty() || rounds == cap || quiet > debt_rounds {
                break;
            }
            rounds += 1;
            let before = gc_core::stats();
            let mut fillers = Vec::new();
            while gc_core::stats()[0].collections == before[0].collections && fillers.len() <= t0 {
                fillers.push(new_filler(&ctx));
            }
            drop(fillers);
            if gc_core::stats()[1].collections == before[1].collections {
                quiet += 1;
            } else {
                quiet = 0;
            }
        }
        if !left.is_empty() {
            self.incomplete = Some(format!(
                "completeness (I10): cyclic garbage {left:?} was not collected by {rounds} \
                 rounds of automatic steps ({} without an old step at the end; budget {}, \
                 threshold {:?})",
                quiet,
                gc_core::budget(),
                gc_core::threshold()
            ));
        }
    }
}

impl World {
    /// Releases everything and checks that it all was dropped exactly once.
    pub(super) fn finish(&mut self, m: &mut Model) -> Result<(), String> {
        for step in [
            Cleanup::FaultsOff,
            Cleanup::Drain,
            Cleanup::DropWeaks,
            Cleanup::ClearStash,
            Cleanup::DropRoots,
            Cleanup::Drain,
            Cleanup::Collect,
        ] {
            self.exec(m, &mut |w, m| {
                w.cleanup(m, &step);
                Ok(())
            })
            .map_err(|e| format!("clean-up {step:?}: {e}"))?;
            if let Some(e) = self.incomplete.take() {
                return err(format!("clean-up {step:?}: {e}"));
            }
        }
        for (id, n) in m.nodes.iter().enumerate() {
            if n.state != State::Dropped || m.count(id) != 0 {
                return err(format!("node {id} leaked: {n:?}"));
            }
            if n.has_fin != n.finalized {
                return err(format!("node {id} was dropped without its finalizer"));
            }
        }
        if gc_core::tracked_count() != 0 || gc_core::freeze_count() != 0 {
            return err("tracked objects remain after the clean-up");
        }
        Ok(())
    }

    /// After a failure: release what can be, quietly.
    pub(super) fn abandon(&mut self) {
        self.ctx.faults_off.set(true);
        self.ctx.locked.borrow_mut().clear();
        self.ctx.armed.borrow_mut().clear();
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            gc_core::unfreeze();
            self.weaks.clear();
            clear_stash(&self.ctx);
            self.roots.clear();
            gc_core::collect();
        }));
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(id) = self.callback.take() {
            gc_core::remove_callback(id);
        }
    }
}

pub(super) fn clear_stash(ctx: &Ctx) {
    loop {
        let h = ctx.stash.borrow_mut().pop();
        let Some(h) = h else { break };
        ctx.log(Ev::StashPop(h.id));
        drop(h);
    }
}
