//! Model-based property test of the heap, with fault injection (issue 5).
//!
//! Random programs drive one thread's heap and a plain model predicts what
//! the heap must do; the two are compared after every step. The model, the
//! programs and their interpreter are in the gc-tests library
//! (`gc_tests::model`, whose docs say what is checked and how).
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
