//! A tour of `gc-core`: Python-style memory management in Rust.
//!
//! 1. Reference counting, step by step (the six steps of the blog post that
//!    seeded this project, with the real counts).
//! 2. A reference cycle: counting alone cannot free it; `collect()` does.
//! 3. Automatic collection, thresholds, `count()` and `stats()`.
//! 4. `freeze()`: long-lived objects the collector stops looking at.
//! 5. A finalizer (Python's `__del__`) and a weak reference.
//!
//! Run it with `cargo run --example tour`.

#![deny(warnings)]

use std::cell::{Cell, RefCell};

use gc_core::{Finalize, Gc, Trace, Weak};

fn main() {
    six_steps();
    a_cycle();
    automatic_collection();
    freezing();
    finalizer_and_weak();
}

// --- 1. Reference counting ---------------------------------------------------

thread_local! {
    /// The values of the `Int`s dropped so far.
    static INT_DROPS: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
}

/// An "integer object", like Python's `int`; its `Drop` records that it went.
/// It holds no `Gc`, so the collector does not even track it: reference
/// counting alone manages it, at the cost of an `Rc`.
#[derive(Trace)]
struct Int(i64);

impl Drop for Int {
    fn drop(&mut self) {
        INT_DROPS.with(|d| d.borrow_mut().push(self.0));
    }
}

fn six_steps() {
    println!("== 1. Reference counting: the blog's six steps, with real counts ==");
    println!("Python:  a = 10; b = a; c = b; a = 5; b = None; del c");
    println!("Rust:    every `Gc` handle is one reference to the object Int(10)");
    println!();

    let mut a = Gc::new(Int(10));
    println!(
        "step 1   a = 10       strong_count = {}",
        Gc::strong_count(&a)
    );

    let mut b = Some(a.clone()); // `b = a`: one more reference, no copy
    println!(
        "step 2   b = a        strong_count = {}",
        Gc::strong_count(&a)
    );

    let c = b.clone().expect("b holds a handle here"); // `c = b`
    println!(
        "step 3   c = b        strong_count = {}",
        Gc::strong_count(&c)
    );

    a = Gc::new(Int(5)); // rebinding `a` drops its reference to Int(10)
    println!(
        "step 4   a = 5        strong_count = {}   (a now names Int({}))",
        Gc::strong_count(&c),
        a.0
    );

    b = None; // `b = None`
    println!(
        "step 5   b = None     strong_count = {}   (b is {:?})",
        Gc::strong_count(&c),
        b.as_ref().map(|x| x.0)
    );

    drop(c); // `del c`: the last reference; Int(10) is dropped inside this call
    println!(
        "step 6   del c        strong_count = 0   -> freed at once (dropped so far: {:?})",
        INT_DROPS.with(|d| d.borrow().clone())
    );
    println!();
    println!("The blog says `b = a` gives \"a reference count of 20\". It does not:");
    println!("an assignment adds exactly one reference to the object it names, so");
    println!("the counts are 1, 2, 3, 2, 1 and then the object is freed at once.");
    println!("(In CPython, 10 is also a cached small int shared by the whole");
    println!("interpreter, immortal since 3.12, so sys.getrefcount(10) says nothing");
    println!("about these six lines; an ordinary object such as a list gives 1, 2, 3, 2, 1.)");
    println!();
}

// --- 2. A cycle ----------------------------------------------------------------

thread_local! {
    /// How many `Node`s have been dropped.
    static NODE_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// A node that can point to another node: it can form cycles, so the
/// collector tracks it.
#[derive(Trace)]
struct Node {
    name: String,
    next: RefCell<Option<Gc<Node>>>,
}

impl Node {
    fn new(name: &str) -> Gc<Node> {
        Gc::new(Node {
            name: name.to_owned(),
            next: RefCell::new(None),
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        NODE_DROPS.with(|d| d.set(d.get() + 1));
    }
}

fn drops() -> usize {
    NODE_DROPS.with(Cell::get)
}

fn a_cycle() {
    println!("== 2. A reference cycle ==");
    let x = Node::new("x");
    let y = Node::new("y");
    *x.next.borrow_mut() = Some(y.clone()); // x -> y
    *y.next.borrow_mut() = Some(x.clone()); // y -> x: a cycle
    println!(
        "x -> y -> x      strong counts: x = {}, y = {}",
        Gc::strong_count(&x),
        Gc::strong_count(&y)
    );
    if let Some(next) = &*x.next.borrow() {
        println!("x.next is {}", next.name);
    }

    let watch: Weak<Node> = Gc::downgrade(&x);
    drop(x);
    drop(y);
    println!(
        "after dropping both handles: nodes dropped = {}, weak.upgrade() is {}",
        drops(),
        if watch.upgrade().is_some() {
            "Some: still alive"
        } else {
            "None"
        }
    );
    println!("(each node is still referenced by the other: counting alone cannot free them)");

    let reclaimed = gc_core::collect();
    println!(
        "collect() reclaimed {reclaimed} objects: nodes dropped = {}, weak.upgrade() is {}",
        drops(),
        if watch.upgrade().is_some() {
            "Some"
        } else {
            "None: gone"
        }
    );
    println!();
}

// --- 3. Automatic collection -----------------------------------------------------

fn automatic_collection() {
    println!("== 3. Automatic collection ==");
    let (t0, t1, t2) = gc_core::threshold();
    println!("threshold() = ({t0}, {t1}, {t2})  (CPython 3.13's defaults)");
    println!("A young (generation 0) collection runs when tracked allocations minus");
    println!("deallocations exceed {t0}; once more than {t1} of those have run, the next");
    println!("one takes in generation 1 too (and generation 2 likewise, after {t2} of those).");

    let before = gc_core::stats();
    let dropped_before = drops();
    // Make 15,000 garbage cycles and never call `collect()`.
    for i in 0..15_000 {
        let a = Node::new("a");
        let b = Node::new("b");
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a);
        if i == 2_500 {
            let (c0, c1, c2) = gc_core::count();
            println!("count() in the middle of the loop = ({c0}, {c1}, {c2})");
        }
    }
    let after = gc_core::stats();
    println!(
        "made 15000 garbage cycles (30000 nodes) without calling collect(): {} nodes freed so far",
        drops() - dropped_before
    );
    for (g, (b, a)) in before.iter().zip(&after).enumerate() {
        println!(
            "  stats()[{g}]: {} automatic collections, {} objects collected, {:?} paused",
            a.collections - b.collections,
            a.collected - b.collected,
            a.total_pause.saturating_sub(b.total_pause)
        );
    }
    println!(
        "still tracked: {} (the garbage made since the last collection)",
        gc_core::tracked_count()
    );
    println!("collect() reclaimed {}", gc_core::collect());
    println!("tracked_count() = {}", gc_core::tracked_count());
    println!();
}

// --- 4. Freeze -------------------------------------------------------------------

fn freezing() {
    println!("== 4. freeze(): objects the collector no longer examines ==");
    // A long-lived structure built at start-up, say a configuration tree.
    let config: Vec<Gc<Node>> = (0..1_000).map(|_| Node::new("setting")).collect();
    println!(
        "built 1000 long-lived nodes: tracked_count() = {}",
        gc_core::tracked_count()
    );
    gc_core::freeze();
    println!(
        "freeze(): freeze_count() = {}, tracked_count() = {}: collections now skip them",
        gc_core::freeze_count(),
        gc_core::tracked_count()
    );
    gc_core::unfreeze();
    println!(
        "unfreeze(): freeze_count() = {}, tracked_count() = {}",
        gc_core::freeze_count(),
        gc_core::tracked_count()
    );
    drop(config); // acyclic: freed by counting, no collection needed
    println!(
        "dropped them (no cycles): tracked_count() = {}",
        gc_core::tracked_count()
    );
    println!();
}

// --- 5. A finalizer and a weak reference -------------------------------------------

/// A resource with a finalizer, like a Python object with `__del__`.
#[derive(Trace)]
#[gc(finalize)]
struct Connection {
    name: String,
    peer: RefCell<Option<Gc<Connection>>>,
}

impl Finalize for Connection {
    fn finalize(&self) {
        // Runs once, before the value is dropped. In cyclic garbage, every
        // object of the cycle is still intact here (PEP 442).
        match &*self.peer.borrow() {
            Some(peer) => println!(
                "  finalize(): closing {} (its peer {} is still intact)",
                self.name, peer.name
            ),
            None => println!("  finalize(): closing {}", self.name),
        }
    }
}

fn finalizer_and_weak() {
    println!("== 5. A finalizer and a weak reference ==");
    let solo = Gc::new(Connection {
        name: "solo".into(),
        peer: RefCell::new(None),
    });
    println!("dropping an acyclic connection: its finalizer runs at once");
    drop(solo);

    let a = Gc::new(Connection {
        name: "a".into(),
        peer: RefCell::new(None),
    });
    let b = Gc::new(Connection {
        name: "b".into(),
        peer: RefCell::new(Some(a.clone())),
    });
    *a.peer.borrow_mut() = Some(b.clone()); // a <-> b
    let weak_a = Gc::downgrade(&a);
    println!(
        "a <-> b, and a weak reference to a: upgrade() = {:?}",
        weak_a.upgrade().map(|c| c.name.clone())
    );
    drop((a, b));
    println!("dropped both handles; collect():");
    let reclaimed = gc_core::collect();
    println!(
        "collect() reclaimed {reclaimed}; the weak reference was cleared first: upgrade() = {:?}",
        weak_a.upgrade().map(|c| c.name.clone())
    );
    let total = gc_core::stats();
    println!(
        "stats(): {} collections in all, {} objects collected",
        total.iter().map(|s| s.collections).sum::<usize>(),
        total.iter().map(|s| s.collected).sum::<usize>()
    );
}
