use gc_core::Trace;

#[derive(Trace)]
struct Node {
    #[gc(ignore)]
    id: u64,
}

fn main() {}
