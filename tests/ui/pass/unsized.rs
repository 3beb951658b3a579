//! Unsized structs (a slice, `str`, a trait object or a `?Sized` parameter
//! last) derive `Trace`: their unsized field is traced but never asked
//! whether it is tracked.
#![deny(warnings)]

use gc_core::{Gc, Trace};

#[derive(Trace)]
struct Slice {
    len: usize,
    items: [Gc<i32>],
}

#[derive(Trace)]
struct Text {
    len: usize,
    text: str,
}

trait Shape: Trace {}

#[derive(Trace)]
struct Dynamic {
    id: u8,
    shape: dyn Shape,
}

#[derive(Trace)]
struct Generic<T: ?Sized> {
    id: u8,
    value: T,
}

#[derive(Trace)]
struct WhereUnsized<T>
where
    T: ?Sized,
{
    id: u8,
    value: Box<T>,
    last: T,
}

/// An associated type may be unsized too: behind a `Box` it is not asked.
#[derive(Trace)]
struct Projected<T: std::ops::Deref> {
    id: u8,
    value: Box<T::Target>,
}

fn assert_trace<T: Trace + ?Sized>() {}

fn main() {
    assert_trace::<Slice>();
    assert_trace::<Text>();
    assert_trace::<Dynamic>();
    assert_trace::<Generic<[u8]>>();
    assert_trace::<WhereUnsized<str>>();
    assert_trace::<Projected<String>>();
    assert_trace::<Projected<Vec<Gc<u8>>>>();
    let g: Gc<Generic<[u8]>> = Gc::from(Box::new(Generic {
        id: 1,
        value: [1_u8, 2],
    }) as Box<Generic<[u8]>>);
    assert_eq!(g.id + g.value[1], 3);
}
