//! The README's quick start, verbatim from the first `use` line on (a test
//! checks that the two stay identical).
//!
//! Run it with `cargo run --example quick_start`.

#![deny(warnings)]

use std::cell::RefCell;

use gc_core::{Gc, Trace};

// Any type that holds `Gc` pointers derives `Trace`.
#[derive(Trace)]
struct Node {
    name: String,
    edges: RefCell<Vec<Gc<Node>>>,
}

fn node(name: &str, edges: Vec<Gc<Node>>) -> Gc<Node> {
    Gc::new(Node {
        name: name.into(),
        edges: RefCell::new(edges),
    })
}

fn main() {
    let a = node("a", vec![]);
    let b = node("b", vec![a.clone()]);
    a.edges.borrow_mut().push(b.clone()); // a -> b -> a: a reference cycle

    // Like `Rc`: one count per handle (`a`, and the edge from `b`).
    println!("{}: strong_count = {}", a.name, Gc::strong_count(&a));

    // Acyclic values are freed the moment their last handle goes, but a
    // cycle keeps itself alive after its handles are gone...
    drop((a, b));
    // ...until the cycle collector finds it (it also runs automatically).
    let freed = gc_core::collect();
    println!("collect() freed {freed} objects");
}
