//! Types declared by `macro_rules!`, with field types and names passed in as
//! fragments: the generated code resolves `self` and its locals at the
//! derive's call site, wherever the field tokens came from.
#![deny(warnings)]

use gc_core::{Gc, Trace, collect};
use std::cell::RefCell;

macro_rules! node {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Trace)]
        struct $name {
            $($field: $ty),*
        }
    };
}

macro_rules! tuple_node {
    ($name:ident($($ty:ty),*)) => {
        #[derive(Trace)]
        struct $name($($ty),*);
    };
}

macro_rules! variant_node {
    ($name:ident, $ty:ty) => {
        #[derive(Trace)]
        enum $name {
            Link($ty),
            #[allow(dead_code)]
            End,
        }
    };
}

/// A macro that also writes the derive's input itself.
macro_rules! derive_in_macro {
    ($vis:vis struct $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(gc_core::Trace)]
        #[gc(crate = "gc_core")]
        $vis struct $name { $($field: $ty),* }
    };
}

node!(Named { id: u64, next: RefCell<Option<Gc<Named>>> });
tuple_node!(Tuple(u64, RefCell<Option<Gc<Tuple>>>));
variant_node!(Variant, RefCell<Option<Gc<Variant>>>);
derive_in_macro!(
    pub(crate) struct Inner {
        next: RefCell<Option<Gc<Inner>>>,
    }
);

fn main() {
    let a = Gc::new(Named {
        id: 1,
        next: RefCell::new(None),
    });
    assert_eq!(a.id, 1);
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    let b = Gc::new(Tuple(2, RefCell::new(None)));
    assert_eq!(b.0, 2);
    *b.1.borrow_mut() = Some(b.clone());
    drop(b);
    let c = Gc::new(Variant::Link(RefCell::new(None)));
    if let Variant::Link(next) = &*c {
        *next.borrow_mut() = Some(c.clone());
    }
    drop(c);
    let d = Gc::new(Inner {
        next: RefCell::new(None),
    });
    *d.next.borrow_mut() = Some(d.clone());
    drop(d);
    assert_eq!(collect(), 4);
}
