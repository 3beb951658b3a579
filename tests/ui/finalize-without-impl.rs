use gc_core::Trace;

#[derive(Trace)]
#[gc(finalize)]
struct File {
    fd: i32,
}

fn main() {}
