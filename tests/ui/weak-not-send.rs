use gc_core::Gc;

fn main() {
    let strong = Gc::new(1);
    let weak = Gc::downgrade(&strong);
    std::thread::spawn(move || {
        let _ = weak.upgrade();
    });
}
