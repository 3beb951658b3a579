use gc_core::Trace;

#[derive(Trace)]
#[gc(bounds = "T: Trace")]
struct Wrapper<T> {
    value: T,
}

fn main() {}
