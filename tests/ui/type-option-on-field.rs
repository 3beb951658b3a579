use gc_core::Trace;

#[derive(Trace)]
struct Node<T> {
    #[gc(bound = "T: Trace")]
    value: T,
}

fn main() {}
