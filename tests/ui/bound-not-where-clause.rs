use gc_core::Trace;

#[derive(Trace)]
#[gc(bound = "T Trace")]
struct Wrapper<T> {
    value: T,
}

fn main() {}
