use gc_core::{Gc, Trace, Tracer};

fn trace_gc<'a>(gc: &'a Gc<u8>, tracer: &mut Tracer<'a>) {
    gc.trace(tracer);
}

// `leak` only says that a skipped field's cycles may leak: without `skip`
// it means nothing, and repeating it is a duplicate like any option.
#[derive(Trace)]
struct Node {
    #[gc(leak)]
    a: Gc<u8>,
    #[gc(with = "trace_gc", leak)]
    b: Gc<u8>,
    #[gc(skip, leak, leak)]
    c: Gc<u8>,
}

#[derive(Trace)]
#[gc(leak)]
struct OnType(u8);

fn main() {}
