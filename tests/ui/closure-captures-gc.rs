use gc_core::{Closure, Gc};
use std::cell::Cell;

fn main() {
    // The code of a `Closure` must be `Copy`, so it cannot own a `Gc` the
    // collector would not see: this one moves `clicks` in. Put the `Gc` in
    // the state instead: `Closure::new(clicks, |clicks, _: &u32| ...)`.
    let clicks = Gc::new(Cell::new(0));
    let _listener = Closure::new((), move |(), _: &u32| clicks.set(clicks.get() + 1));
}
