use gc_core::Trace;

#[derive(Trace)]
struct Node {
    #[gc(with)]
    id: u64,
}

fn main() {}
