//! Model-based property test of the heap, with fault injection (issue 5).
//!
//! Random programs drive one thread's heap: allocate nodes, link and unlink
//! them, drop handles, take, upgrade and drop `Weak`s, hold `RefCell` borrows
//! across collections, collect all or some generations, freeze and unfreeze,
//! turn automatic collection on and off, and set small thresholds (`t0` 1 to
//! 10) and budgets (1 to 64, `set_budget`) so that automatic steps, old steps
//! and debts really occur, between the program's mutations. A plain model (a
//! graph of nodes, the handles held outside the heap, the edges between
//! nodes) says what the heap may do, and the two are compared after every
//! step.
//!
//! # How the model follows the heap
//!
//! Every handle the test creates or drops, every edge, and every call into
//! user code (`Drop`, `Finalize::finalize`, every node's `Trace::trace`, the
//! collection callbacks) appends an event to a log. After each step the
//! model replays the log and checks each event against its own bookkeeping.
//! The model takes from the log only what the implementation is free to
//! choose, and checks that choice: the *order* in which values are dropped;
//! *when* an automatic step runs (when tracked allocations minus
//! deallocations exceed `t0`), and whether an old step follows the young
//! one; and *which objects* an automatic step examines (what its traces
//! report). Everything else it computes itself:
//!
//! - reference counts (handles outside plus edges), so a value may be
//!   dropped by counting only when its count is zero, and must be by the end
//!   of the step;
//! - the examined set of each collection. `collect()` and
//!   `collect_generation(g)` must examine exactly the live nodes in
//!   generations `0..=g`; an automatic step begins with a young step
//!   (reported as generation 0), which may examine only nodes in generation
//!   0 and must take, with each, every young node it references; an old step
//!   (generation 1) may follow, and its set must be closed under references
//!   (an examined readable node's edges lead to examined or frozen nodes:
//!   an increment closed under references);
//! - the garbage of each collection, by trial deletion over its examined set
//!   with everything outside counting as references from outside (a
//!   borrowed cell or a locked node keeps its owner alive; a panicking trace
//!   keeps everything);
//! - PEP 442: weak references to all garbage are cleared first (a `Weak`
//!   made before stays cleared for good, even if its object is resurrected;
//!   one made after a resurrection works), every garbage finalizer runs once
//!   before any garbage is dropped, what a finalizer resurrected (and all it
//!   reaches) survives, the rest is dropped exactly once; `collect()`'s
//!   return value and the callback's `collected` and `resurrected` equal the
//!   model's numbers;
//! - generations: new objects start in 0; survivors of `collect_generation(g)`
//!   move to `g + 1` (at most 2); after a young step every node that was in
//!   generation 0 is in generation 2 (examined or not), after an old step
//!   every examined survivor. A node's generation is a set of possibilities:
//!   an old step whose trace panicked may or may not have moved the nodes it
//!   did not trace (those that joined its set before the panic did); an
//!   explicit collection over such a node then checks its set against what
//!   is sure and what is possible.
//!
//! After every step the model and the heap must agree on: every node alive
//! or dropped (drop and finalizer counters, each at most once), every strong
//! count (`Weak::strong_count`), `Weak::upgrade` where it must fail, the
//! contents of every reachable node (payload and edges, in order), dead
//! handles in the stash, `tracked_count()`, `freeze_count()`, `count()`,
//! `threshold()`, `is_enabled()` and `budget()`. The comparison makes no
//! handle (so no decrement, which would make every node a candidate).
//!
//! # Completeness
//!
//! Invariant I10 says automatic collection finds every cyclic garbage
//! component eventually. After the program (and again once every handle is
//! dropped), a *drain* uses automatic collection alone: it allocates
//! fillers (tracked values nothing references) until a step runs, round
//! after round, until every node the model says is garbage was dropped.
//! While candidates wait an old step runs at least every `nodes / t0 + 1`
//! rounds (a debt is less than the nodes ever made, and is paid `t0` a
//! round), so the drain fails when longer goes by without one (no candidate
//! is left), or after a bound on the rounds.
//!
//! # Fault injection
//!
//! In the second property, node `Drop`s and finalizers panic, allocate, create
//! new cyclic garbage, call `collect()`, or store a clone of one of their
//! edges in a global stash (in a finalizer, that resurrects it), and `trace`
//! panics, allocates or calls `collect()`, at points the program chooses.
//! Every panic must reach the step that caused it (none swallowed, none
//! foreign), and afterwards the model and the heap must still agree. An
//! automatic step's panic reaches the allocation that ran it (no old step
//! follows a young step that passes one on).
//!
//! # Layout
//!
//! - `program`: the steps of a case (`Op`) and their strategies
//!   ([`program()`]);
//! - `heap`: the real side: the test's nodes, fillers, handles and the
//!   event log;
//! - `oracle`: the model's state, trial deletion, and what must hold
//!   between steps;
//! - `collection`: the model of one collection: which may start, its
//!   examined set, its garbage, where the survivors go;
//! - `replay`: the model replaying the log, event by event;
//! - `world`: running a program on the heap, step by step, and the drains;
//! - `check`: comparing the heap with the model between steps.
//!
//! Each case runs on a fresh thread, so each has its own heap
//! ([`run_case`]); `GC_MODEL_CASES` overrides the number of cases
//! ([`config`]). Under Miri the cases are fewer and shorter:
//!
//! ```text
//! MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test -p gc-tests --test test_model
//! ```

use std::rc::Rc;

use proptest::prelude::ProptestConfig;
use proptest::test_runner::TestCaseError;

mod check;
mod collection;
mod heap;
mod oracle;
mod program;
mod replay;
mod world;

use heap::{Ctx, Ev, panic_message, quiet_injected_panics};
use oracle::{Model, err};
pub use program::{Program, program};
use world::World;

// ---------------------------------------------------------------------------
// Sizes.

#[cfg(not(miri))]
const CASES: u32 = 2000;
#[cfg(miri)]
const CASES: u32 = 10;

#[cfg(not(miri))]
const MAX_OPS: usize = 60;
#[cfg(miri)]
const MAX_OPS: usize = 10;

#[cfg(not(miri))]
const MAX_CHAIN: u8 = 40;
#[cfg(miri)]
const MAX_CHAIN: u8 = 5;

/// The most rounds of automatic steps one drain runs (see `World::drain`).
#[cfg(not(miri))]
const DRAIN_CAP: usize = 20_000;
#[cfg(miri)]
const DRAIN_CAP: usize = 200;

/// The stack of a case's thread.
const CASE_STACK: usize = 64 << 20;

/// `t0` for a drain when the program turned automatic collection off with
/// `t0 == 0`.
const DRAIN_T0: usize = 4;

// ---------------------------------------------------------------------------
// Running a case.

/// Runs `prog` on this thread's (fresh) heap.
fn run_program(prog: &Program) -> Result<(), String> {
    quiet_injected_panics();
    if gc_core::tracked_count() != 0 {
        return err("the case's heap is not empty");
    }
    let ctx = Rc::new(Ctx::default());
    let mut w = World::new(ctx.clone());
    let mut m = Model::new();
    let (t0, t1, t2) = prog.threshold;
    let (t0, t1, t2) = (usize::from(t0), usize::from(t1), usize::from(t2));
    gc_core::set_threshold(t0, t1, t2);
    ctx.log(Ev::SetThreshold(t0, t1, t2));
    let old_budget = gc_core::budget();
    gc_core::set_budget(usize::from(prog.budget));
    ctx.log(Ev::SetBudget(usize::from(prog.budget)));
    let mut res = Ok(());
    let mut steps = prog.ops.len();
    for (i, op) in prog.ops.iter().enumerate() {
        res = w
            .op(&mut m, op)
            .map_err(|e| format!("step {i} {op:?}: {e}"));
        if res.is_err() {
            steps = i + 1;
            break;
        }
    }
    if res.is_ok() {
        res = w.finish(&mut m);
    }
    let restore = |res| {
        gc_core::set_budget(old_budget);
        res
    };
    if let Err(e) = res {
        w.abandon();
        // The steps after the failing one do not matter (proptest's shrinking
        // does not always remove them).
        let program: Vec<String> = prog.ops[..steps]
            .iter()
            .enumerate()
            .map(|(i, op)| format!("{i}: {op:?}"))
            .collect();
        let events: Vec<String> = m.history.iter().map(|ev| format!("{ev:?}")).collect();
        return restore(err(format!(
            "{e}\nthresholds {:?}, budget {}; automatic steps: {} young, {} old ({} examined \
             something); steps up to the failure:\n  {}\nlast events:\n  {}",
            prog.threshold,
            prog.budget,
            m.steps.0,
            m.steps.1,
            m.steps.2,
            program.join("\n  "),
            events.join("\n  ")
        )));
    }
    restore(Ok(()))
}

/// Runs `prog` on a fresh thread (a fresh heap) and compares the heap with
/// the model after every step.
///
/// # Errors
///
/// Where heap and model disagree, or the case's thread panicked: the
/// message names the step, the program up to it and the last events.
pub fn run_case(prog: &Program) -> Result<(), TestCaseError> {
    let prog = prog.clone();
    // The checks walk the heap recursively, as deep as its longest path.
    crate::run_isolated_case(CASE_STACK, move || run_program(&prog), panic_message)
}

/// `GC_MODEL_CASES` overrides the number of cases (longer searches, or a
/// short run under valgrind).
#[must_use]
pub fn config() -> ProptestConfig {
    crate::model_config("GC_MODEL_CASES", CASES)
}
