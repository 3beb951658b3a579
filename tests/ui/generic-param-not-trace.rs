use gc_core::{Gc, Trace};

struct Socket;

#[derive(Trace)]
struct Wrapper<T> {
    value: T,
}

fn main() {
    let _ = Gc::new(Wrapper { value: Socket });
}
