use gc_core::Trace;

#[derive(Trace)]
#[gc(skip)]
struct Node {
    id: u64,
}

fn main() {}
