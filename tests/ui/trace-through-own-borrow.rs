use gc_core::{Gc, Trace, Tracer};
use std::cell::RefCell;

struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        // The guard is a temporary: the handles behind it are not borrowed
        // for `'a`. Write `self.next.trace(tracer)` (or `tracer.borrow`).
        self.next.borrow().trace(tracer);
    }
}

struct Named {
    next: RefCell<Option<Gc<Named>>>,
}

impl Trace for Named {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let guard = self.next.borrow();
        guard.trace(tracer);
    }
}

fn main() {}
