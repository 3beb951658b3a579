//! A doubly linked list with strong pointers both ways.
//!
//! With `Rc`, a list whose nodes point to their neighbours in both directions
//! is a chain of reference cycles: the back pointers must be `Weak` (and
//! upgraded at every step), or the whole list leaks. With `Gc` both
//! directions can be ordinary strong pointers: the cycle collector frees the
//! list once nothing outside refers to it. `tracked_count()` shows that
//! nothing leaks.
//!
//! Run it with `cargo run --example doubly_linked_list`.

#![deny(warnings)]

use std::cell::RefCell;
use std::time::Instant;

use gc_core::{Gc, Trace};

/// A list node: strong pointers to both neighbours.
#[derive(Trace)]
struct Node {
    value: i64,
    prev: RefCell<Option<Gc<Node>>>,
    next: RefCell<Option<Gc<Node>>>,
}

/// The list: its two ends.
#[derive(Default)]
struct List {
    head: Option<Gc<Node>>,
    tail: Option<Gc<Node>>,
    len: usize,
}

impl List {
    fn new_node(value: i64) -> Gc<Node> {
        Gc::new(Node {
            value,
            prev: RefCell::new(None),
            next: RefCell::new(None),
        })
    }

    fn push_back(&mut self, value: i64) -> Gc<Node> {
        let node = Self::new_node(value);
        match self.tail.take() {
            Some(old) => {
                *node.prev.borrow_mut() = Some(old.clone());
                *old.next.borrow_mut() = Some(node.clone());
            }
            None => self.head = Some(node.clone()),
        }
        self.tail = Some(node.clone());
        self.len += 1;
        node
    }

    fn push_front(&mut self, value: i64) -> Gc<Node> {
        let node = Self::new_node(value);
        match self.head.take() {
            Some(old) => {
                *node.next.borrow_mut() = Some(old.clone());
                *old.prev.borrow_mut() = Some(node.clone());
            }
            None => self.tail = Some(node.clone()),
        }
        self.head = Some(node.clone());
        self.len += 1;
        node
    }

    /// Inserts `value` right after `at` (a node of this list).
    fn insert_after(&mut self, at: &Gc<Node>, value: i64) -> Gc<Node> {
        let next = at.next.borrow().clone();
        let Some(next) = next else {
            return self.push_back(value);
        };
        let node = Self::new_node(value);
        *node.prev.borrow_mut() = Some(at.clone());
        *node.next.borrow_mut() = Some(next.clone());
        *at.next.borrow_mut() = Some(node.clone());
        *next.prev.borrow_mut() = Some(node.clone());
        self.len += 1;
        node
    }

    /// Unlinks `node` (a node of this list).
    fn remove(&mut self, node: &Gc<Node>) {
        let prev = node.prev.borrow_mut().take();
        let next = node.next.borrow_mut().take();
        match &prev {
            Some(p) => p.next.borrow_mut().clone_from(&next),
            None => self.head.clone_from(&next),
        }
        match &next {
            Some(n) => n.prev.borrow_mut().clone_from(&prev),
            None => self.tail.clone_from(&prev),
        }
        self.len -= 1;
    }

    /// Front to back.
    fn iter(&self) -> impl Iterator<Item = Gc<Node>> {
        std::iter::successors(self.head.clone(), |n| n.next.borrow().clone())
    }

    /// Back to front, through the `prev` pointers.
    fn iter_back(&self) -> impl Iterator<Item = Gc<Node>> {
        std::iter::successors(self.tail.clone(), |n| n.prev.borrow().clone())
    }

    fn values(&self) -> Vec<i64> {
        self.iter().map(|n| n.value).collect()
    }
}

fn main() {
    let baseline = gc_core::tracked_count();

    let mut list = List::default();
    for v in [2, 3, 5] {
        list.push_back(v);
    }
    let one = list.push_front(1);
    let four = list.insert_after(&one, 4);
    println!("built:            {:?} (len {})", list.values(), list.len);
    list.remove(&four);
    drop(four); // the unlinked node has no other handle: freed right here
    println!("removed 4:        {:?} (len {})", list.values(), list.len);
    let backwards: Vec<i64> = list.iter_back().map(|n| n.value).collect();
    println!("backwards:        {backwards:?}");
    println!(
        "node 1 is referenced by `one`, the list's head and node 2's prev: strong_count = {}",
        Gc::strong_count(&one)
    );
    drop(one);

    println!("tracked objects:  {}", gc_core::tracked_count() - baseline);
    drop(list);
    println!(
        "list dropped:     {} nodes still tracked (neighbours keep each other alive)",
        gc_core::tracked_count() - baseline
    );
    let reclaimed = gc_core::collect();
    println!(
        "collect():        reclaimed {reclaimed}; tracked objects left: {}",
        gc_core::tracked_count() - baseline
    );

    // A long list: dropping and collecting it never recurses deeply.
    gc_core::disable(); // to time one collection of the whole list below
    let n = 200_000;
    let mut long = List::default();
    for v in 0..n {
        long.push_back(v);
    }
    let sum: i64 = long.iter().map(|node| node.value).sum();
    println!("{n} nodes:     sum of values = {sum}");
    drop(long);
    let start = Instant::now();
    let reclaimed = gc_core::collect();
    println!(
        "dropped + collect(): reclaimed {reclaimed} in {:.1} ms; tracked objects left: {}",
        start.elapsed().as_secs_f64() * 1e3,
        gc_core::tracked_count() - baseline
    );
    gc_core::enable();
    let left = gc_core::tracked_count() - baseline;
    if left == 0 {
        println!("no leaks: tracked_count() is back to {baseline}");
    } else {
        eprintln!("leak: {left} tracked objects left");
        std::process::exit(1);
    }
}
