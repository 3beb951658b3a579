use gc_core::{Trace, Tracer};

fn trace_id(_: &u64, _: &mut Tracer<'_>) {}

#[derive(Trace)]
struct Node {
    #[gc(with = trace_id)]
    id: u64,
}

fn main() {}
