// A thread-local `Gc` cannot go into a `sync::Gc`: it is not `Send`, so a
// value holding one is not `Send + Sync` either.
use std::sync::Mutex;

use gc_core::Trace;

#[derive(Trace)]
struct Mixed {
    local: Mutex<Option<gc_core::Gc<i32>>>,
}

fn main() {
    let _direct = gc_core::sync::Gc::new(gc_core::Gc::new(1));
    let _inside = gc_core::sync::Gc::new(Mixed {
        local: Mutex::new(Some(gc_core::Gc::new(2))),
    });
}
