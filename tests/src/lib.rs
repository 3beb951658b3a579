//! Integration tests of gc-core (see `tests/`), and the helpers they share.

use std::any::Any;
use std::panic;

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
