//! `#[gc(skip, leak)]` on a field that holds a `Gc`: it compiles, and the
//! field is not traced, so a cycle through it is not collected (a leak, as
//! the option says).
#![deny(warnings)]

use std::cell::RefCell;

use gc_core::{Gc, Trace};

#[derive(Trace)]
struct Node {
    #[gc(skip, leak)]
    hidden: RefCell<Option<Gc<Node>>>,
    #[gc(skip)]
    #[gc(leak)]
    also_hidden: Option<Gc<u8>>,
    seen: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        hidden: RefCell::new(None),
        also_hidden: Some(Gc::new(0)),
        seen: RefCell::new(None),
    })
}

fn main() {
    // Through the traced field: collected.
    let a = node();
    *a.seen.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc_core::collect(), 1);

    // Through the skipped one: not seen, and still alive.
    let b = node();
    *b.hidden.borrow_mut() = Some(b.clone());
    let weak = Gc::downgrade(&b);
    drop(b);
    assert_eq!(gc_core::collect(), 0);
    let b = weak
        .upgrade()
        .expect("the cycle through a skipped field leaks");
    assert_eq!(*b.also_hidden.as_deref().unwrap(), 0);
    drop(b.hidden.borrow_mut().take());
    drop(b);
    assert!(weak.upgrade().is_none());
}
