// A `sync::Gc<RefCell<_>>` is neither `Send` nor `Sync` (a `RefCell` is not
// `Sync`): it cannot be moved to another thread. Use a `Mutex` or `RwLock`.
use std::cell::RefCell;

use gc_core::sync::Gc;

fn share(cell: Gc<RefCell<i32>>) {
    std::thread::spawn(move || {
        *cell.borrow_mut() += 1;
    });
}

fn share_weak(cell: gc_core::sync::Weak<RefCell<i32>>) {
    std::thread::spawn(move || {
        let _ = cell.upgrade();
    });
}

fn main() {
    let _ = (share, share_weak);
}
