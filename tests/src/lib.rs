//! Integration tests of gc-core (see `tests/`), and the helpers they share.
//!
//! - [`kit`]: the drop-and-finalize recording kit (a shared [`kit::Log`] and
//!   the node types that write to it), used by most behaviour tests.
//! - [`cpython`]: the small Python object model of the `test_cpython_*`
//!   files.
//! - [`soundness`]: the helpers of the adversarial `test_soundness*` files.
//! - [`model`]: the model, programs and interpreter of the model-based
//!   property test (`test_model`).
//! - [`trusted_model`]: the nodes, model, programs and interpreter of the
//!   model-based test of lazily entered sets (`test_trusted_model`).
//! - [`by_id!`]: `PartialEq`, `Eq`, `Hash`, `PartialOrd` and `Ord` by an
//!   `id` field.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

pub mod cpython;
pub mod kit;
pub mod model;
pub mod soundness;
pub mod trusted_model;

/// Runs `f` on a new thread (a new, empty heap) and re-raises its panic.
///
/// ```
/// gc_tests::isolated(|| assert_eq!(gc_core::tracked_count(), 0));
/// ```
pub fn isolated(f: impl FnOnce() + Send + 'static) {
    if let Err(p) = std::thread::spawn(f).join() {
        panic::resume_unwind(p);
    }
}

/// The proptest configuration of a model-based test: `cases` cases, or as
/// many as the environment variable `var` says; no failure persistence.
///
/// ```
/// assert_eq!(gc_tests::model_config("GC_DOC_NO_SUCH_VAR", 7).cases, 7);
/// ```
#[must_use]
pub fn model_config(var: &str, cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// Runs one case of a model-based test on a fresh thread (a fresh heap)
/// with a `stack`-byte stack: `Err(msg)` from `case`, or a panic (its text
/// by `panic_text`), fails it.
///
/// ```
/// let r = gc_tests::run_isolated_case(1 << 20, || Err("bad".to_owned()), gc_tests::message);
/// assert!(r.is_err());
/// ```
///
/// # Errors
///
/// What `case` returned, or the panic of the case's thread, or a failure
/// to spawn it.
pub fn run_isolated_case(
    stack: usize,
    case: impl FnOnce() -> Result<(), String> + Send + 'static,
    panic_text: fn(&(dyn Any + Send)) -> String,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::test_runner::TestCaseError;
    let r = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(case)
        .map_err(|e| TestCaseError::fail(format!("spawning the case's thread: {e}")))?
        .join();
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(msg)) => Err(TestCaseError::fail(msg)),
        Err(p) => Err(TestCaseError::fail(format!(
            "the case's thread panicked: {}",
            panic_text(&*p)
        ))),
    }
}

/// The text of a panic payload.
///
/// ```
/// let p = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
/// assert_eq!(gc_tests::message(&*p), "boom 1");
/// ```
#[must_use]
pub fn message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic>")
    }
}

/// Runs `f`, expecting a panic; returns its message.
///
/// ```
/// let msg = gc_tests::expect_panic(|| -> u8 { panic!("boom") });
/// assert_eq!(msg, "boom");
/// ```
///
/// # Panics
///
/// If `f` returns instead of panicking.
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(p) => message(&*p),
    }
}

/// `PartialEq`, `Eq`, `Hash`, `PartialOrd` and `Ord` by the `id` field, for
/// nodes that are keys of maps or elements of sets.
///
/// ```
/// struct Key {
///     id: u32,
/// }
/// gc_tests::by_id!(Key);
/// assert!(Key { id: 1 } < Key { id: 2 });
/// ```
#[macro_export]
macro_rules! by_id {
    ($($t:ty),* $(,)?) => {$(
        impl ::std::cmp::PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.id == other.id
            }
        }
        impl ::std::cmp::Eq for $t {}
        impl ::std::hash::Hash for $t {
            fn hash<H: ::std::hash::Hasher>(&self, state: &mut H) {
                ::std::hash::Hash::hash(&self.id, state);
            }
        }
        impl ::std::cmp::PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> ::std::option::Option<::std::cmp::Ordering> {
                ::std::option::Option::Some(::std::cmp::Ord::cmp(self, other))
            }
        }
        impl ::std::cmp::Ord for $t {
            fn cmp(&self, other: &Self) -> ::std::cmp::Ordering {
                self.id.cmp(&other.id)
            }
        }
    )*};
}
