use gc_core::Trace;

#[derive(Trace)]
#[gc(crate = "my gc")]
struct Node {
    id: u64,
}

fn main() {}
