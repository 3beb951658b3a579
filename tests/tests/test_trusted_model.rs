//! Model-based property test of the lazily entered set (`scan::partition`,
//! step S1 of the crate docs' *Soundness*).
//!
//! `collect()` and `collect_generation(g)` enter the members of the set
//! they examine lazily while every member is trusted (a derived `Trace`
//! over std fields), and start over the classic way at the first untrusted
//! member the tracing loop meets. Random programs over trusted nodes (small
//! ones on slab pages, large ones listed) and untrusted ones (whose traces
//! can drop, move or allocate edges) drive one thread's heap, and a plain
//! model of the graph follows them; after every step the heap must agree
//! with the model, and every explicit collection must find exactly the
//! garbage trial deletion finds. The nodes, the model, the programs and
//! their interpreter are in the gc-tests library
//! (`gc_tests::trusted_model`, whose docs say what is checked and how).
//!
//! `GC_TRUSTED_CASES` overrides the number of cases. Under Miri the cases
//! are fewer and shorter:
//!
//! ```text
//! MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test -p gc-tests --test test_trusted_model
//! ```

use gc_tests::trusted_model::{
    config, node_types_trusted, planted_bug_programs, program, run_case,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    /// Random programs over trusted and untrusted nodes: the heap agrees
    /// with the model, and every explicit collection finds exactly the
    /// garbage.
    #[test]
    fn lazily_entered_sets_agree_with_model(prog in program()) {
        run_case(&prog)?;
    }
}

/// The node types are what the test means them to be: `T` and `B`
/// trusted, `U` not (the hidden method the collector asks when it
/// allocates, with the budget it uses).
#[test]
fn node_types_are_trusted_as_intended() {
    assert_eq!(
        node_types_trusted(),
        [("T", true), ("B", true), ("Edge", true), ("U", false)]
    );
}

/// Programs the property shrank to with bugs planted in the lazy path
/// (each fails with its bug, and passes without; the bugs are listed at
/// `gc_tests::trusted_model::planted_bug_programs`).
#[test]
fn programs_that_caught_planted_bugs() {
    for prog in planted_bug_programs() {
        if let Err(e) = run_case(&prog) {
            panic!("{e}");
        }
    }
}
