//! Helpers of the adversarial `Trace` tests (`test_soundness` and
//! `test_soundness_attacks`): a named node to borrow from, handles that live
//! for ever, and the collector's count of rejected edges.

use std::cell::RefCell;
use std::fmt;

use gc_core::{Gc, Trace, stats};

/// A tracked value with a name to borrow.
#[derive(Trace)]
pub struct Node {
    /// Borrowed across collections, read afterwards.
    pub name: String,
    /// An edge.
    pub next: RefCell<Option<Gc<Node>>>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A new [`Node`] with no edge.
#[must_use]
pub fn node(name: &str) -> Gc<Node> {
    Gc::new(Node {
        name: name.into(),
        next: RefCell::new(None),
    })
}

/// A handle that lives for ever: a `&'static` to it outlives any `'a`.
#[must_use]
pub fn leak<T: ?Sized>(g: Gc<T>) -> &'static Gc<T> {
    Box::leak(Box::new(g))
}

/// Rejected edges over all generations so far.
#[must_use]
pub fn rejected() -> usize {
    stats().iter().map(|s| s.rejected).sum()
}
