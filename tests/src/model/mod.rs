//! Model-based property test of the heap, with fault injection (issue 5).
//!
//! Random programs drive one thread's heap: allocate nodes, link and unlink
//! them, drop handles, take, upgrade and drop `Weak`s, hold `RefCell` borrows
//! across collections, collect all or some generations, freeze and unfreeze,
//! turn automatic collection on and off, and set small thresholds so that
//! automatic collections really run. A plain model (a graph of nodes, the
//! handles held outside the heap, the edges between nodes) predicts what the
//! heap must do, and the two are compared after every step.
//!
//! # How the model follows the heap
//!
//! Every handle the test creates or drops, every edge, and every call into
//! user code (`Drop`, `Finalize::finalize`, `Trace::trace`, the collection
//! callbacks) appends an event to a log. After each step the model replays
//! the log and checks each event against its own bookkeeping. The model takes
//! from the log only what the implementation is free to choose: the *order*
//! in which values are dropped, and *when* an automatic collection runs and
//! which generation it takes (both checked against CPython's rules).
//! Everything else it computes itself:
//!
//! - reference counts (handles outside plus edges), so a value may be
//!   dropped by counting only when its count is zero, and must be by the end
//!   of the step;
//! - for each collection, the examined set (the generations asked for, minus
//!   frozen objects) and the garbage, by trial deletion over the model graph
//!   (a borrowed cell or a locked node keeps its owner alive);
//! - PEP 442: weak references to all garbage are cleared first (a `Weak`
//!   made before stays cleared for good, even if its object is resurrected;
//!   one made after a resurrection works), every garbage finalizer runs once
//!   before any garbage is dropped, what a finalizer resurrected (and all it
//!   reaches) survives, the rest is dropped exactly once; `collect()`'s
//!   return value and the callback's `collected` and `resurrected` equal the
//!   model's numbers;
//! - generations: survivors move one generation up; new objects start in 0.
//!
//! After every step the model and the heap must agree on: every node alive
//! or dropped (drop and finalizer counters, each at most once), every strong
//! count (`Weak::strong_count`), `Weak::upgrade` of every node, the contents
//! of every reachable node (payload and edges, in order), dead handles in the
//! stash, `tracked_count()`, `freeze_count()`, `count()`, `threshold()` and
//! `is_enabled()`.
//!
//! # Fault injection
//!
//! In the second property, node `Drop`s and finalizers panic, allocate, create
//! new cyclic garbage, call `collect()`, or store a clone of one of their
//! edges in a global stash (in a finalizer, that resurrects it), and `trace`
//! panics, allocates or calls `collect()`, at points the program chooses.
//! Every panic must reach the step that caused it (none swallowed, none
//! foreign), and afterwards the model and the heap must still agree.
//!
//! # Layout
//!
//! - `program`: the steps of a case (`Op`) and their strategies
//!   ([`program()`]);
//! - `heap`: the real side: the test's nodes, handles and the event log;
//! - `oracle`: the model itself and its collection analysis;
//! - `replay`: the model replaying the log, event by event;
//! - `world`: running a program on the heap, step by step;
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
    if let Err(e) = res {
        w.abandon();
        // The steps after the failing one do not matter (proptest's shrinking
        // does not always remove them).
        let program: Vec<String> = prog.ops[..steps]
            .iter()
            .enumerate()
            .map(|(i, op)| format!("{i}: {op:?}"))
            .collect();
        let events: Vec<String> = m.history.iter().cloned().collect();
        return err(format!(
            "{e}\nthresholds {:?}, steps up to the failure:\n  {}\nlast events:\n  {}",
            prog.threshold,
            program.join("\n  "),
            events.join("\n  ")
        ));
    }
    Ok(())
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
    let r = std::thread::spawn(move || run_program(&prog)).join();
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(msg)) => Err(TestCaseError::fail(msg)),
        Err(p) => Err(TestCaseError::fail(format!(
            "the case's thread panicked: {}",
            panic_message(&*p)
        ))),
    }
}

/// `GC_MODEL_CASES` overrides the number of cases (longer searches, or a
/// short run under valgrind).
#[must_use]
pub fn config() -> ProptestConfig {
    let cases = std::env::var("GC_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
