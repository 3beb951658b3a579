use gc_core::{Finalize, Trace};

#[derive(Trace)]
#[gc(finalize = true)]
struct Node {
    #[gc(skip = true)]
    id: u64,
    #[gc(skip(always))]
    name: String,
}

impl Finalize for Node {
    fn finalize(&self) {}
}

fn main() {}
