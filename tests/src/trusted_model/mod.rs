//! Model-based property test of the lazily entered set (`scan::partition`,
//! step S1 of the crate docs' *Soundness*).
//!
//! `collect()` and `collect_generation(g)` enter the members of the set
//! they examine lazily while every member is trusted (a derived `Trace`
//! over std fields), and start over the classic way at the first untrusted
//! member the tracing loop meets. The model-based test of `test_model`
//! uses hand-written traces only, so it never takes that path; this one
//! does. Random programs drive one thread's heap with three node types:
//!
//! - `T`, trusted (derived), small: in generation 2 it lives on a typed
//!   slab page, in no list;
//! - `B`, trusted (derived), larger than a slab block: listed in every
//!   generation (an `INLINE` object);
//! - `U`, untrusted (a hand-written `impl Trace`). Allocated between `T`s
//!   and `B`s, it comes after trusted members in the set, which is the
//!   fall-back. Its trace can be armed to act once, as user code in a
//!   trace may: drop one of its own edges (`Pop`), move into itself the
//!   last edge of a node it points to (`Steal`, possible only when that
//!   node is not being examined: a member of the set is dead), or allocate
//!   a node and keep an edge to it (`Alloc`).
//!
//! Every node can point to every node (a `Gc<U>` field does not make a
//! derived type untrusted: reporting a handle runs no user code).
//!
//! A program allocates nodes and rings of nodes into root slots, adds and
//! removes edges between reachable nodes, clones, drops and moves roots,
//! takes, upgrades and drops `Weak`s, arms `U` traces, collects (all or
//! some generations), sets small thresholds so that automatic collection
//! runs, and freezes and unfreezes. A plain model (the graph of node ids,
//! the roots) follows it; what traces did is logged and replayed into the
//! model. After every step:
//!
//! - no node was dropped twice, and every dropped value was intact;
//! - no node reachable from the roots was dropped; walking the heap from
//!   the roots by reference, every reachable node is readable (not dead),
//!   tracked, intact, and has the model's edges, in order;
//! - the tracked objects are exactly the nodes not dropped, and each one's
//!   strong count is its root handles plus the edges from nodes not
//!   dropped (`debug::objects`: no handle is made to check it);
//! - each `Weak` has a strong count iff its node was not dropped (and
//!   `Upgrade` succeeds iff so);
//! - a step that cannot collect (no allocation, no collection) drops
//!   exactly what reference counting frees;
//! - `collect_generation(g)` and `collect()` drop exactly the garbage that
//!   trial deletion over generations `0..=g` finds (everything else
//!   counting as references from outside), then what counting frees after
//!   it; they return the size of that garbage; the survivors move to
//!   generation `g + 1` (at most 2), the rest stay. (Unless a `Pop` fired
//!   in the collection: a handle dropped by a trace after the counts were
//!   copied keeps its target, so only the checks above apply.)
//!
//! At the end every `Weak` and root is dropped, the heap unfrozen and
//! collected: every node must have been dropped exactly once.
//!
//! # Layout
//!
//! - `nodes`: the heap side: the node types, the handles to them, and the
//!   log of what their `Drop`s and traces did;
//! - `program`: the steps of a case (`Op`), their strategies
//!   ([`program()`]), and the programs that caught planted bugs
//!   ([`planted_bug_programs`]);
//! - `oracle`: the model: reachability, strong counts, reference counting
//!   and trial deletion;
//! - `world`: running a program on the heap, step by step, and checking
//!   the heap against the model.
//!
//! Each case runs on a fresh thread, so each has its own heap
//! ([`run_case`]).
//!
//! `GC_TRUSTED_CASES` overrides the number of cases (2000, [`config`]).
//! Under Miri the cases are fewer (10) and shorter:
//!
//! ```text
//! MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test -p gc-tests --test test_trusted_model
//! ```

use std::rc::Rc;

use proptest::prelude::ProptestConfig;
use proptest::test_runner::TestCaseError;

mod nodes;
mod oracle;
mod program;
mod world;

use nodes::Ctx;
pub use nodes::node_types_trusted;
use oracle::err;
pub use program::{Program, planted_bug_programs, program};
use world::World;

// ---------------------------------------------------------------------------
// Sizes.

#[cfg(not(miri))]
const CASES: u32 = 2000;
#[cfg(miri)]
const CASES: u32 = 10;

#[cfg(not(miri))]
const MAX_OPS: usize = 48;
#[cfg(miri)]
const MAX_OPS: usize = 12;

/// The most nodes in one `Ring` (more than the lazy loop's look-ahead, 16).
#[cfg(not(miri))]
const MAX_RING: usize = 24;
#[cfg(miri)]
const MAX_RING: usize = 4;

const SLOTS: usize = 6;
const WEAKS: usize = 3;

/// `B`'s padding: 640 bytes, more than a slab block (512).
const PAD: usize = 80;

/// The stack of a case's thread (the check walks the heap recursively).
const CASE_STACK: usize = 64 << 20;

// ---------------------------------------------------------------------------
// Running a case.

/// Runs `prog` on this thread's (fresh) heap.
fn run_program(prog: &Program) -> Result<(), String> {
    if gc_core::tracked_count() != 0 {
        return err("the case's heap is not empty");
    }
    let (t0, t1, t2) = prog.threshold;
    gc_core::set_threshold(usize::from(t0), usize::from(t1), usize::from(t2));
    let mut w = World::new(Rc::new(Ctx::default()));
    let mut res = Ok(());
    let mut steps = prog.ops.len();
    for (i, op) in prog.ops.iter().enumerate() {
        res = w.step(op).map_err(|e| format!("step {i} {op:?}: {e}"));
        if res.is_err() {
            steps = i + 1;
            break;
        }
    }
    if res.is_ok() {
        res = w.finish();
    }
    if let Err(e) = res {
        // The heap disagrees with the model: dropping what is left could
        // fail in other ways.
        std::mem::forget(w);
        let program: Vec<String> = prog.ops[..steps]
            .iter()
            .enumerate()
            .map(|(i, op)| format!("{i}: {op:?}"))
            .collect();
        return err(format!(
            "{e}\nthresholds {:?}; the steps up to the failure:\n  {}",
            prog.threshold,
            program.join("\n  ")
        ));
    }
    Ok(())
}

/// Runs `prog` on a fresh thread (a fresh heap) and checks the heap
/// against the model after every step.
///
/// # Errors
///
/// Where heap and model disagree, or the case's thread panicked: the
/// message names the step and the program up to it.
pub fn run_case(prog: &Program) -> Result<(), TestCaseError> {
    let prog = prog.clone();
    // The checks walk the heap recursively, as deep as its longest path.
    crate::run_isolated_case(CASE_STACK, move || run_program(&prog), crate::message)
}

/// `GC_TRUSTED_CASES` overrides the number of cases.
#[must_use]
pub fn config() -> ProptestConfig {
    crate::model_config("GC_TRUSTED_CASES", CASES)
}
