//! Automatic collection: candidate-driven steps with a work budget.
//!
//! An old cycle can only become garbage when a reference into it is dropped
//! (Bacon and Rajan's *possible roots*), so an automatic collection examines
//! the objects that lost a reference, and what they reach, not the heap.
//! When tracked allocations minus deallocations exceed `t0`, one *step*
//! runs:
//!
//! 1. **The young step** (a generation-0 collection to callbacks and
//!    [`stats`](crate::stats)) examines generation 0's candidates (objects
//!    that lost a reference since they were made) and the young objects
//!    they reach; older objects are outside the set. Survivors, and every
//!    young object no candidate reaches, go to generation 2, the latter
//!    unexamined; a surviving candidate that reaches an edge out of the set
//!    (its cycle may pass through older objects) also joins the candidate
//!    queue.
//! 2. **The old step** (a generation-1 collection to callbacks and stats)
//!    follows when candidates wait: old objects that lost a reference, and
//!    the young ones just queued. It takes the oldest, as many as the budget
//!    allows and at least as many as arrived since the last old step, and
//!    examines them with everything they reach in every generation but the
//!    permanent one: an increment closed under references, analysed on its
//!    own (crate docs, *Soundness*: between steps no analysis is under way).
//!
//! **Why every garbage cycle is found.** Each cyclic garbage component got
//! its last reference from outside removed by a drop that left a count in
//! one of its members `g` (the rest of the component still points to it),
//! and everything in the component was reachable from `g` just before. That
//! drop made `g` a candidate (invariant I10), and it stays one until an
//! analysis examined it with everything it reaches: an old step does; a
//! young step does unless `g` reaches an edge out of its set, and then `g`
//! is queued. So the component is inside the closure an old step examines.
//! A young object that no candidate reaches cannot be garbage, which is why
//! it may be promoted unexamined; an old object that lost no reference since
//! it was last examined is not examined again. (A handle *moved* into a new
//! object is no decrement, but the new object's own handle is dropped
//! later, and that drop is one.)
//!
//! **What a large cyclic component costs.** A component larger than the
//! budget is examined whole (an increment must be closed), in one pause
//! proportional to its size (about 70 ns an object on the benchmark
//! machine when the component is out of cache: 68 ms for a doubly linked
//! list of 1,000,000 nodes). The work beyond the
//! budget becomes a debt that later steps pay back, `t0` objects a step,
//! before the next old step runs: a program whose candidates keep reaching
//! one giant component (a doubly linked list built by cloning the tail and
//! dropping the old handle) pays about one examined object per allocation
//! and one long pause per component-sized stretch of allocations. The
//! debt is forgiven once the tracked objects grew by a quarter (and by at
//! least 10,000) since the step that made it, so garbage is never deferred
//! without bound: tracked objects stay below live + max(live / 2, 20,000),
//! as SPEC asks (`tests/tests/test_bounded.rs`). A program that builds by
//! moving handles (no drop leaves a count) makes no candidates, and pays the
//! young steps' bookkeeping only.

use super::heap::Heap;
use super::{Plan, analyse, begin_with, finish, heap::with_heap, release};
use crate::header::{LOC_GEN0, LOC_GEN1, LOC_GEN2};

/// Growth of the tracked objects, at least, past which a debt is forgiven.
const FORGIVE_MIN: usize = 10_000;

/// The most objects one automatic collection step examines (see
/// [`set_budget`]); the default is 20,000.
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::budget(), 20_000);
/// ```
#[must_use]
pub fn budget() -> usize {
    with_heap(|h| h.state.borrow().budget)
}

/// Sets the most objects one automatic collection step examines, which
/// bounds the pauses automatic collection makes.
///
/// A step examines generation 0's candidates (at most `t0` new objects and
/// what they reach among them), then old candidates with everything they
/// reach until about `budget` objects were examined. Measured on the
/// benchmark machine (bench `churn`: 1,000,000 live objects, one ring of 4
/// replaced per step), the default 20,000 gives steps of at most 0.6 ms and
/// 256-step batches of at most 0.8 ms. A cyclic component larger than the
/// budget is still examined whole, in one step (see the crate's
/// `collector::auto` notes: 68 ms for a 1,000,000-node doubly linked list).
/// `collect()` and [`collect_generation`](crate::collect_generation) ignore
/// the budget.
///
/// # Panics
///
/// Panics if `budget` is 0 ("the budget must be at least 1").
///
/// # Examples
///
/// ```
/// let old = gc_core::budget();
/// gc_core::set_budget(5_000);
/// assert_eq!(gc_core::budget(), 5_000);
/// gc_core::set_budget(old);
/// ```
#[track_caller]
pub fn set_budget(budget: usize) {
    assert!(
        budget >= 1,
        "gc_core::set_budget: the budget must be at least 1"
    );
    with_heap(|h| h.state.borrow_mut().budget = budget);
}

/// Runs an automatic collection step: the young step, then an old step if
/// candidates wait and no debt is left.
#[cold]
#[inline(never)]
pub(crate) fn auto_collect(h: &Heap) {
    if h.collecting.get() || h.torn_down.get() {
        return;
    }
    let t0 = {
        let s = h.state.borrow();
        if !s.enabled || s.thresholds.0 == 0 {
            return;
        }
        s.thresholds.0
    };
    young_step(h);
    old_step(h, t0);
}

/// Step 1: generation 0's candidates and the young objects they reach.
fn young_step(h: &Heap) {
    let plan = Plan::Step {
        grow: 1 << LOC_GEN0,
        target: LOC_GEN2 as usize,
    };
    if let Some(mut w) = begin_with(h, 0, plan, || h.take_young_candidates()) {
        let a = analyse(&mut w);
        // No candidate reaches what is left in generation 0, so none of it
        // can be garbage (invariant I10): it joins generation 2 unexamined.
        h.promote_young();
        finish(w, a);
    }
}

/// Step 2: old candidates, each with everything it reaches, up to the
/// budget.
fn old_step(h: &Heap, t0: usize) {
    let waiting = h.candidates.len();
    if waiting == 0 {
        return;
    }
    let tracked = h.tracked();
    let (budget, seeds) = {
        let mut s = h.state.borrow_mut();
        if s.debt > 0 {
            let base = s.after_debt;
            if tracked <= base + (base / 4).max(FORGIVE_MIN) {
                s.debt = s.debt.saturating_sub(t0);
                return;
            }
            s.debt = 0;
        }
        // At least as many as arrived since the last old step, so that the
        // queue cannot grow without bound; after a step beyond the budget
        // (a large component), the candidates likely reach it too, and it is
        // examined once for all of them.
        let arrived = waiting.saturating_sub(s.left_waiting);
        let seeds = (s.budget / s.per_seed).max(arrived).max(1);
        (s.budget, seeds)
    };
    let plan = Plan::Step {
        grow: (1 << LOC_GEN0) | (1 << LOC_GEN1) | (1 << LOC_GEN2),
        target: LOC_GEN2 as usize,
    };
    let mut taken = 0;
    let Some(mut w) = begin_with(h, 1, plan, || {
        let v = release::take_candidates(h, seeds);
        taken = v.len();
        v
    }) else {
        return;
    };
    let a = analyse(&mut w);
    let examined = w.tracer.work.len();
    {
        let mut s = h.state.borrow_mut();
        s.per_seed = (examined / taken.max(1)).max(1);
        s.left_waiting = h.candidates.len();
        if examined > budget {
            s.debt += examined - budget;
        }
    }
    finish(w, a);
    if examined > budget {
        h.state.borrow_mut().after_debt = h.tracked();
    }
}
