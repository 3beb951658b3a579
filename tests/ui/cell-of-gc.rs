use std::cell::Cell;

use gc_core::{Gc, Trace};

// A `Cell` cannot report the `Gc` inside: the error says to use `RefCell`.
#[derive(Trace)]
struct Node {
    next: Cell<Option<Gc<Node>>>,
}

fn main() {}
