//! Model-based property test of the heap, with fault injection (issue 5).
//!
//! Random programs drive one thread's heap and a plain model says what the
//! heap may do; the two are compared after every step. Automatic collection
//! runs in small steps with small budgets between the program's mutations:
//! each step's examined set (from its traces) must be one the policy allows
//! (a young step's within generation 0, an old step's closed under
//! references) and its garbage exactly what trial deletion over that set
//! finds; after the program, automatic collection alone must find all the
//! cyclic garbage left (invariant I10). The model, the programs and their
//! interpreter are in the gc-tests library (`gc_tests::model`, whose docs
//! say what is checked and how).
//!
//! `GC_MODEL_CASES` overrides the number of cases. Under Miri the cases are
//! fewer and shorter:
//!
//! ```text
//! MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test -p gc-tests --test test_model
//! ```

use gc_tests::model::{config, program, run_case};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    /// Random programs without faults: the heap agrees with the model.
    #[test]
    fn heap_agrees_with_model(prog in program(false)) {
        run_case(&prog)?;
    }

    /// Random programs whose `Drop`s, finalizers and traces panic, allocate,
    /// resurrect or collect: the heap still agrees with the model.
    #[test]
    fn heap_agrees_with_model_under_faults(prog in program(true)) {
        run_case(&prog)?;
    }
}
