use std::cell::RefCell;

use gc_core::{Callback, Closure, Gc, Trace};

struct Click;

// Skipping a field that visibly holds a `Gc` (or a traceable closure) would
// leak every cycle through it: an error at `skip`, unless `leak` says so.
#[derive(Trace)]
struct Window<T: Trace> {
    #[gc(skip)]
    parent: Option<Gc<Window<T>>>,
    #[gc(skip)]
    children: RefCell<Vec<gc_core::Gc<T>>>,
    #[gc(skip)]
    on_close: Closure<Gc<T>, fn(&Gc<T>, &Click)>,
    #[gc(skip)]
    on_click: Vec<Box<dyn Callback<Click>>>,
    #[gc(skip, leak)]
    meant: Option<Gc<T>>,
}

#[derive(Trace)]
enum Slot {
    Full(#[gc(skip)] Gc<u8>),
    Empty,
}

fn main() {}
