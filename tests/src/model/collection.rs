//! The model of one collection: which collection may start, what its traces
//! say it examined, the garbage in that set, PEP 442, and where the
//! survivors go.
//!
//! The examined set is taken from the log (every node's `trace` logs
//! itself), and checked against what the collection may examine:
//!
//! - `collect_generation(g)` (and `collect()`, `g == 2`): every live node
//!   surely in generations `0..=g`, and nothing that surely is not;
//! - a young step: only nodes that may be in generation 0, closed under
//!   references to nodes surely in generation 0;
//! - an old step: no frozen node, and closed under references (every edge
//!   of an examined, readable node leads to an examined or a frozen node).
//!
//! The garbage is then what trial deletion over that set finds, everything
//! outside it counting as references from outside.

use super::heap::Site;
use super::oracle::{Call, Coll, Kind, Model, PERM, State, bit, err, up_to};
use super::program::TraceAct;

impl Model {
    /// A collection started (the start callback), reporting generation `g`.
    /// `old_allowed`: a young step stopped just before (the previous event).
    pub(super) fn coll_start(&mut self, g: usize, old_allowed: bool) -> Result<(), String> {
        if self.coll.is_some() {
            return err("a collection started inside a collection");
        }
        let by_call = self.calls.last() == Some(&Call::Pending);
        let auto = std::mem::take(&mut self.auto_pending);
        let kind = if by_call {
            *self.calls.last_mut().unwrap() = Call::Running;
            Kind::Call
        } else if auto {
            if g != 0 {
                return err(format!(
                    "an automatic collection began with generation {g}, not with a young step \
                     (generation 0)"
                ));
            }
            self.steps.0 += 1;
            Kind::Young
        } else if old_allowed {
            if g != 1 {
                return err(format!(
                    "a young step was followed by a collection of generation {g}; only an old \
                     step (generation 1) may follow it"
                ));
            }
            self.steps.1 += 1;
            Kind::Old
        } else {
            return err(format!(
                "a collection of generation {g} started without a call, an allocation over the \
                 threshold or a young step just before"
            ));
        };
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
        let gens: Vec<u8> = self.nodes.iter().map(|m| m.gens).collect();
        let sure = if kind == Kind::Call {
            let low = up_to(u8::try_from(g).unwrap());
            (0..n)
                .filter(|&i| {
                    let m = &self.nodes[i];
                    m.state == State::Live && m.gens & !low == 0 && self.count(i) > 0
                })
                .collect()
        } else {
            Vec::new()
        };
        self.coll = Some(Coll {
            generation: g,
            kind,
            n_start: n,
            n_close: n,
            gens,
            sure,
            examined: Vec::new(),
            in_e: vec![false; n],
            closed: false,
            trace_panicked: false,
            in_g: vec![false; n],
            garbage: Vec::new(),
            to_finalize: Vec::new(),
            revived: None,
            panicked: false,
        });
        Ok(())
    }

    /// Node `id`'s `trace` was called.
    pub(super) fn trace(&mut self, id: usize) -> Result<(), String> {
        let n = self.node(id)?.clone();
        let count = self.count(id);
        let Some(c) = self.coll.as_mut() else {
            return err(format!("node {id} was traced outside a collection"));
        };
        if n.armed.is_some() {
            self.expect_fault = Some(id);
        }
        if c.closed {
            // PEP 442's re-check traces the garbage again.
            if !c.in_g.get(id).copied().unwrap_or(false) || c.revived.is_some() {
                return err(format!(
                    "node {id} was traced after the analysis, but is not garbage being \
                     re-checked ({n:?})"
                ));
            }
            return Ok(());
        }
        if c.trace_panicked {
            return err(format!(
                "node {id} was traced after a trace panicked (the analysis must stop)"
            ));
        }
        if c.in_e.get(id).copied().unwrap_or(false) {
            return err(format!("node {id} was traced twice in one analysis"));
        }
        if n.state != State::Live || n.dead || count == 0 {
            return err(format!(
                "node {id} was examined with count {count}, but it is {n:?}"
            ));
        }
        let gens = c.gens.get(id).copied().unwrap_or(bit(0));
        let ok = match c.kind {
            Kind::Call => gens & up_to(u8::try_from(c.generation).unwrap()) != 0,
            Kind::Young => gens & bit(0) != 0,
            Kind::Old => gens != bit(PERM),
        };
        if !ok {
            return err(format!(
                "a {:?} collection (generation {}) examined node {id}, in generations {gens:#b}",
                c.kind, c.generation
            ));
        }
        if c.in_e.len() <= id {
            c.in_e.resize(id + 1, false);
        }
        c.in_e[id] = true;
        c.examined.push(id);
        Ok(())
    }

    /// A trace panicked (not suppressed).
    pub(super) fn trace_panic(&mut self) -> Result<(), String> {
        let Some(c) = self.coll.as_mut() else {
            return err("a trace panicked outside a collection");
        };
        if c.closed || c.trace_panicked {
            return err("a trace panicked after the analysis stopped");
        }
        c.trace_panicked = true;
        Ok(())
    }

    /// The tracing phase is over (a finalizer, a garbage drop or the stop
    /// callback came): checks the examined set and decides the garbage;
    /// weak references to it are cleared at once.
    pub(super) fn close(&mut self) -> Result<(), String> {
        let Some(c) = self.coll.as_ref() else {
            return Ok(());
        };
        if c.closed {
            return Ok(());
        }
        let complete = !c.trace_panicked;
        if complete {
            self.check_set()?;
        }
        let c = self.coll.as_ref().unwrap();
        let garbage: Vec<usize> = if complete {
            let reach = self.analyse(&c.examined)?;
            c.examined.iter().copied().filter(|&i| !reach[i]).collect()
        } else {
            Vec::new()
        };
        let n = self.nodes.len();
        let c = self.coll.as_mut().unwrap();
        c.closed = true;
        c.n_close = n;
        c.in_g.resize(n, false);
        for &i in &garbage {
            c.in_g[i] = true;
            let m = &mut self.nodes[i];
            m.cleared = true;
            m.epoch += 1;
            if m.has_fin && !m.finalized {
                c.to_finalize.push(i);
            }
        }
        c.garbage = garbage;
        Ok(())
    }

    /// Node `id` is finalized or dropped: if the running collection examined
    /// it, this is the collector disposing of its garbage, so the tracing
    /// phase is over (a node it did not examine goes by counting).
    fn close_at(&mut self, id: usize) -> Result<(), String> {
        if self
            .coll
            .as_ref()
            .is_some_and(|c| c.in_e.get(id).copied().unwrap_or(false))
        {
            self.close()?;
        }
        Ok(())
    }

    /// The examined set of a complete analysis is one the collection may
    /// examine.
    fn check_set(&self) -> Result<(), String> {
        let c = self.coll.as_ref().unwrap();
        let examined = |i: usize| c.in_e.get(i).copied().unwrap_or(false);
        match c.kind {
            Kind::Call => {
                if let Some(&i) = c.sure.iter().find(|&&i| !examined(i)) {
                    return err(format!(
                        "collect_generation({}) did not examine node {i} (generations {:#b}, {:?})",
                        c.generation, c.gens[i], self.nodes[i]
                    ));
                }
            }
            Kind::Young | Kind::Old => {
                for &i in &c.examined {
                    if self.unreadable(i) {
                        continue;
                    }
                    for &t in &self.nodes[i].edges {
                        if examined(t) {
                            continue;
                        }
                        let gens = c.gens.get(t).copied().unwrap_or(bit(0));
                        if c.kind == Kind::Young && gens == bit(0) {
                            return err(format!(
                                "a young step examined node {i} but not node {t}, which it \
                                 references and which is young: the set is not closed under \
                                 references within generation 0 (examined {:?})",
                                c.examined
                            ));
                        }
                        if c.kind == Kind::Old && gens != bit(PERM) {
                            return err(format!(
                                "an old step examined node {i} but not node {t}, which it \
                                 references (generations {gens:#b}): the increment is not closed \
                                 under references (examined {:?})",
                                c.examined
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// PEP 442's re-check, once every garbage finalizer ran.
    pub(super) fn recheck(&mut self) -> Result<(), String> {
        self.close()?;
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
        if c.trace_panicked && !c.panicked {
            return err("model: a trace panicked, but no panic was noted");
        }
        if c.kind == Kind::Old && !c.examined.is_empty() {
            self.steps.2 += 1;
        }
        self.place_survivors(&c);
        match c.kind {
            Kind::Call => match self.calls.last_mut() {
                Some(call @ Call::Running) => {
                    *call = Call::Done {
                        collected,
                        panicked: c.panicked,
                    };
                }
                _ => return err("model: collect call out of step"),
            },
            // The old step runs unless the young step passes on a panic.
            Kind::Young => self.old_allowed = !c.panicked,
            Kind::Old => {}
        }
        Ok(())
    }

    /// Where the nodes are after collection `c`: examined survivors (and the
    /// resurrected) join the target generation, and a young step moves the
    /// rest of generation 0 to generation 2 as well. Nodes made during the
    /// collection stay in generation 0.
    fn place_survivors(&mut self, c: &Coll) {
        let examined = |i: usize| c.in_e.get(i).copied().unwrap_or(false);
        let (low, target) = match c.kind {
            Kind::Call => {
                let g = u8::try_from(c.generation).unwrap();
                (up_to(g), bit((g + 1).min(2)))
            }
            Kind::Young => (bit(0), bit(2)),
            Kind::Old => (up_to(2), bit(2)),
        };
        for i in 0..c.n_close {
            let m = &mut self.nodes[i];
            if m.state != State::Live {
                continue;
            }
            if i >= c.n_start {
                // Made while the set was traced (and still alive): it was in
                // generation 0 when the young step moved that.
                if c.kind == Kind::Young {
                    m.gens = bit(0) | bit(2);
                }
                continue;
            }
            let was = c.gens[i];
            if examined(i) {
                m.gens = target;
                continue;
            }
            m.gens = match c.kind {
                // Examined whole if in `0..=g`; with an incomplete trace
                // the model cannot tell the nodes that may have been.
                Kind::Call if was & low == 0 => was,
                Kind::Call if was & !low == 0 => target,
                Kind::Call if c.trace_panicked => (was & !low) | target,
                Kind::Call => was & !low,
                // Generation 0 joins generation 2, examined or not.
                Kind::Young if was & bit(0) != 0 => (was & !bit(0)) | bit(2),
                // Objects that joined the set but were not traced before a
                // trace panicked joined generation 2 too.
                Kind::Old if c.trace_panicked && was != bit(PERM) => was | bit(2),
                Kind::Young | Kind::Old => was,
            };
        }
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
        self.close_at(id)?;
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
        self.close_at(id)?;
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

    /// A node armed with `act` was traced (`Ev::TraceFault`).
    pub(super) fn trace_fault(&mut self, id: usize, act: TraceAct) -> Result<(), String> {
        if self.expect_fault.take() != Some(id) {
            return err(format!(
                "node {id}'s armed trace fired, but it was not just traced"
            ));
        }
        if self.nodes[id].armed != Some(act) {
            return err(format!("model: node {id} was not armed with {act:?}"));
        }
        self.nodes[id].armed = None;
        Ok(())
    }

    /// A panic fired at `site`.
    pub(super) fn panic_fired(&mut self, site: Site) -> Result<(), String> {
        self.fired = true;
        if let Some(c) = self.coll.as_mut() {
            c.panicked = true;
            if site == Site::Trace {
                self.trace_panic()?;
            }
        }
        Ok(())
    }
}
