use gc_core::{Finalize, Trace};

#[derive(Trace)]
#[gc(finalize, finalize)]
#[gc(bound = "T: Trace")]
#[gc(bound = "T: Trace + Clone")]
struct Node<T> {
    #[gc(skip, skip)]
    id: u64,
    value: T,
}

impl<T> Finalize for Node<T> {
    fn finalize(&self) {}
}

fn main() {}
