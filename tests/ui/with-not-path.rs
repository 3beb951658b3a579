use gc_core::Trace;

#[derive(Trace)]
struct Node {
    #[gc(with = "|id, tracer| ()")]
    id: u64,
}

fn main() {}
