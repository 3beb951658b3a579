use gc_core::{Closure, Gc, Trace};
use std::cell::Cell;

// A long name on purpose: it keeps rustc's label too long to stand inline
// whatever the checkout's path, so the expected output does not depend on it.
#[derive(Trace)]
struct ClickCounterThatTheListenerWantsToOwnByValue(Cell<i32>);

fn main() {
    // The code of a `Closure` must be `Copy`, so it cannot own a `Gc` the
    // collector would not see: this one moves `clicks` in. Put the `Gc` in
    // the state instead: `Closure::new(clicks, |clicks, _: &u32| ...)`.
    let clicks = Gc::new(ClickCounterThatTheListenerWantsToOwnByValue(Cell::new(0)));
    let _listener = Closure::new((), move |(), _: &u32| clicks.0.set(clicks.0.get() + 1));
}
