use gc_core::Trace;

// A plain closure's captures cannot be traced: the error points at
// `gc_core::Closure` and `Callback`.
#[derive(Trace)]
struct Button<E> {
    clicks: u32,
    listeners: Vec<Box<dyn Fn(&E)>>,
}

fn main() {}
