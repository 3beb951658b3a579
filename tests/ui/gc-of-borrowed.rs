use gc_core::Gc;

fn share(name: &str) -> Gc<&str> {
    Gc::new(name)
}

fn main() {
    let name = String::from("borrowed");
    let _ = share(&name);
}
