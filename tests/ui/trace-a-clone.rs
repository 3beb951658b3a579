use gc_core::{Gc, Trace, Tracer};

struct Node {
    g: Gc<u32>,
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        // A clone is a new handle that dies when this statement ends: it is
        // not borrowed from `self`. Write `self.g.trace(tracer)`.
        self.g.clone().trace(tracer);
    }
}

struct Local {
    g: Gc<u32>,
}

impl Trace for Local {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let copy = self.g.clone();
        copy.trace(tracer);
    }
}

fn main() {}
