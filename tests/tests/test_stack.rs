//! Stack safety (CPython's "trashcan"): dropping or collecting structures of
//! 1,000,000 nodes on a thread with a 256 KiB stack never overflows. `Rc`
//! overflows on the acyclic chain; `Gc` must not, on any shape.
//!
//! Each test runs on its own small-stack thread, so its heap and its drop
//! counter start empty.

use std::cell::{Cell, RefCell};
use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gc_core::{Gc, Trace, collect, collect_generation, tracked_count};
use gc_tests::kit::{Log, Probe, new_log, plink, probe};

const N: usize = 1_000_000;
const STACK: usize = 256 * 1024;

/// Runs `f` on a thread with a 256 KiB stack and re-raises its panic.
fn small_stack(f: impl FnOnce() + Send + 'static) {
    let t = std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn");
    if let Err(p) = t.join() {
        panic::resume_unwind(p);
    }
}

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

fn drops() -> usize {
    DROPS.with(Cell::get)
}

/// A node with two edges (next or child) and a parent link.
#[derive(Trace)]
struct Node {
    a: RefCell<Option<Gc<Node>>>,
    b: RefCell<Option<Gc<Node>>>,
    parent: RefCell<Option<Gc<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = DROPS.try_with(|d| d.set(d.get() + 1));
    }
}

fn new_node(a: Option<Gc<Node>>) -> Gc<Node> {
    Gc::new(Node {
        a: RefCell::new(a),
        b: RefCell::new(None),
        parent: RefCell::new(None),
    })
}

/// A chain of `n` nodes linked through `a`; returns its head.
fn chain(n: usize) -> Gc<Node> {
    let mut head = None;
    for _ in 0..n {
        head = Some(new_node(head.take()));
    }
    head.expect("n > 0")
}

/// The last node of a chain (walking it iteratively).
fn last(head: &Gc<Node>) -> Gc<Node> {
    let mut cur = head.clone();
    loop {
        let next = cur.a.borrow().clone();
        match next {
            Some(n) => cur = n,
            None => return cur,
        }
    }
}

#[test]
fn ring_of_1m_is_collected() {
    small_stack(|| {
        let head = chain(N);
        *last(&head).a.borrow_mut() = Some(head.clone());
        assert_eq!(collect(), 0, "reachable: marked without recursion");
        assert_eq!(drops(), 0);
        drop(head);
        assert_eq!(collect(), N);
        assert_eq!(drops(), N);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn chain_of_1m_is_dropped() {
    small_stack(|| {
        let head = chain(N);
        assert_eq!(tracked_count(), N);
        drop(head);
        assert_eq!(drops(), N, "freed by counting, at once");
        assert_eq!(tracked_count(), 0);

        // The same once it is old (survived a full collection).
        let head = chain(N);
        assert_eq!(collect(), 0);
        assert_eq!(drops(), N);
        drop(head);
        assert_eq!(drops(), 2 * N);
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
    });
}

/// A deep tree of `N` nodes: a spine of `N / 2` nodes, each with a leaf
/// child; with `parent_links`, every child also points to its parent.
fn tree(parent_links: bool) -> Gc<Node> {
    let mut root: Option<Gc<Node>> = None;
    for _ in 0..N / 2 {
        let leaf = new_node(None);
        let n = new_node(root.take());
        if parent_links {
            *leaf.parent.borrow_mut() = Some(n.clone());
            if let Some(child) = n.a.borrow().as_ref() {
                *child.parent.borrow_mut() = Some(n.clone());
            }
        }
        *n.b.borrow_mut() = Some(leaf);
        root = Some(n);
    }
    root.expect("N > 0")
}

#[test]
fn tree_of_1m_is_dropped() {
    small_stack(|| {
        let root = tree(false);
        assert_eq!(tracked_count(), N);
        drop(root);
        assert_eq!(drops(), N);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn tree_of_1m_with_parent_links_is_collected() {
    small_stack(|| {
        let root = tree(true);
        assert_eq!(collect(), 0);
        drop(root);
        assert_eq!(drops(), 0);
        assert_eq!(collect(), N);
        assert_eq!(drops(), N);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn chain_of_1m_hanging_off_a_cycle_is_collected() {
    small_stack(|| {
        let a = new_node(None);
        let b = new_node(Some(a.clone()));
        *a.a.borrow_mut() = Some(b.clone());
        *b.b.borrow_mut() = Some(chain(N - 2));
        drop((a, b));
        assert_eq!(drops(), 0);
        assert_eq!(collect(), N);
        assert_eq!(drops(), N);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn old_chain_of_1m_hanging_off_a_young_cycle() {
    small_stack(|| {
        let head = chain(N);
        assert_eq!(collect(), 0); // the chain is now old
        let a = new_node(None);
        let b = new_node(Some(a.clone()));
        *a.a.borrow_mut() = Some(b.clone());
        *b.b.borrow_mut() = Some(head);
        drop((a, b));
        // The young collection frees the cycle; dropping it frees the old
        // chain by counting, inside the collection.
        assert_eq!(collect_generation(0), 2);
        assert_eq!(drops(), N + 2);
        assert_eq!(tracked_count(), 0);
    });
}

/// A chain of `n` finalizable probes (each holds the next); returns its
/// head and its tail.
fn fin_chain(log: &Log, n: usize) -> (Gc<Probe>, Gc<Probe>) {
    let tail = probe(log, 0).finalizable().build();
    let mut head = tail.clone();
    for _ in 1..n {
        let p = probe(log, 0).finalizable().build();
        p.edges.borrow_mut().push(head);
        head = p;
    }
    (head, tail)
}

#[test]
fn chain_of_1m_with_finalizers_is_dropped() {
    small_stack(|| {
        let log = new_log();
        let (head, tail) = fin_chain(&log, N);
        drop(tail);
        drop(head);
        assert_eq!(log.finalizations(), N);
        assert_eq!(log.drops(), N);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn ring_of_1m_with_finalizers_is_collected() {
    small_stack(|| {
        let log = new_log();
        let (head, tail) = fin_chain(&log, N);
        plink(&tail, &head);
        drop((head, tail));
        assert_eq!(collect(), N);
        assert_eq!(log.finalizations(), N);
        assert_eq!(log.drops(), N);
        assert_eq!(tracked_count(), 0);
    });
}

/// A node that reports its drops to another thread.
#[derive(Trace)]
struct SendNode {
    next: RefCell<Option<Gc<SendNode>>>,
    back: RefCell<Option<Gc<SendNode>>>,
    drops: Arc<AtomicUsize>,
}

impl Drop for SendNode {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn cycle_with_1m_chain_is_collected_at_thread_exit() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    small_stack(move || {
        let mk = |next| {
            Gc::new(SendNode {
                next: RefCell::new(next),
                back: RefCell::new(None),
                drops: d.clone(),
            })
        };
        let mut head = None;
        for _ in 0..N - 2 {
            head = Some(mk(head.take()));
        }
        let a = mk(head);
        let b = mk(Some(a.clone()));
        *a.back.borrow_mut() = Some(b.clone());
        // The thread ends without collecting.
    });
    assert_eq!(drops.load(Ordering::Relaxed), N);
}
