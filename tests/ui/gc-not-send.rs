use gc_core::Gc;

fn main() {
    let shared = Gc::new(1);
    std::thread::spawn(move || {
        let _ = *shared;
    });
}
