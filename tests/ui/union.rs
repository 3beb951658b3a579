use gc_core::Trace;

#[derive(Trace)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
