use gc_core::{Gc, Trace};

struct Socket;

#[derive(Trace)]
struct Connection {
    peer: Option<Gc<Connection>>,
    socket: Socket,
}

#[derive(Trace)]
enum State {
    Open(Vec<Socket>),
    Closed,
}

fn main() {}
