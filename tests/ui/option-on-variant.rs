use gc_core::Trace;

#[derive(Trace)]
enum Token {
    #[gc(skip)]
    Number(u64),
    Word(String),
}

fn main() {}
