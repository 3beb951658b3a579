use gc_core::Trace;

#[derive(Trace)]
#[gc]
struct Node {
    #[gc = "skip"]
    id: u64,
}

fn main() {}
