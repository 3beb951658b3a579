use gc_core::Gc;

fn assert_sync<T: Sync>(_: &T) {}

fn main() {
    let shared = Gc::new(1);
    assert_sync(&shared);
}
