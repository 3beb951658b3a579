//! Stack safety of `gc_core::sync` (SPEC "Safety", across threads):
//! dropping or collecting structures of 1,000,000 nodes (100 under Miri) on
//! a thread with a 256 KiB stack never overflows, also when the drop
//! happens in a thread-local destructor that runs after gc-core's own.
//!
//! Each test takes [`serial`] (the tests share the process-wide heap) and
//! counts its own drops.

use std::cell::RefCell;
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard, PoisonError};

use gc_core::Trace;
use gc_core::sync::{Gc, collect};

/// Serialises this file's tests (they share the heap), and starts each with
/// no garbage left over.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let g = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    while collect() != 0 {}
    g
}

/// The nodes of each structure.
const DEEP: usize = if cfg!(miri) { 100 } else { 1_000_000 };

/// A list node linked through a plain field (no cell).
#[derive(Trace)]
struct Link {
    next: Option<Gc<Link>>,
    #[gc(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// An acyclic list of `n` nodes: its head.
fn list(n: usize, drops: &'static AtomicUsize) -> Gc<Link> {
    let mut head = None;
    for _ in 0..n {
        head = Some(Gc::new(Link {
            next: head.take(),
            drops,
        }));
    }
    head.expect("n > 0")
}

/// A ring member; `tail` may hold a long acyclic list.
#[derive(Trace)]
struct Node {
    next: Mutex<Option<Gc<Node>>>,
    tail: Option<Gc<Link>>,
    #[gc(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn node(drops: &'static AtomicUsize) -> Gc<Node> {
    Gc::new(Node {
        next: Mutex::new(None),
        tail: None,
        drops,
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    *from.next.lock().unwrap() = Some(to.clone());
}

/// Runs `f` on a thread with a 256 KiB stack and re-raises its panic.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let t = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap();
    if let Err(p) = t.join() {
        panic::resume_unwind(p);
    }
}

#[test]
fn dropping_a_long_list_does_not_overflow_a_small_stack() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    // Built here, dropped on a small stack elsewhere.
    let head = list(DEEP, &DROPS);
    let w = Gc::downgrade(&head);
    on_small_stack(move || drop(head));
    assert_eq!(DROPS.load(SeqCst), DEEP);
    assert!(w.upgrade().is_none());
}

#[test]
fn collecting_a_long_ring_does_not_overflow_a_small_stack() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    on_small_stack(|| {
        let first = node(&DROPS);
        let mut last = first.clone();
        for _ in 1..DEEP {
            let n = node(&DROPS);
            link(&last, &n);
            last = n;
        }
        link(&last, &first);
        drop((first, last));
        collect();
        assert_eq!(DROPS.load(SeqCst), DEEP);
    });
}

#[test]
fn collecting_a_cycle_with_a_long_tail_does_not_overflow_a_small_stack() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static TAIL: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    // The collector drops the cycle; the tail goes by counting from there.
    let tail = list(DEEP, &TAIL);
    on_small_stack(move || {
        let a = Gc::new(Node {
            next: Mutex::new(None),
            tail: Some(tail),
            drops: &DROPS,
        });
        let b = node(&DROPS);
        link(&a, &b);
        link(&b, &a);
        drop((a, b));
        collect();
        assert_eq!(DROPS.load(SeqCst), 2);
        assert_eq!(TAIL.load(SeqCst), DEEP);
    });
}

/// Run in a child process by the test below (a stack overflow aborts the
/// whole process): a thread-local initialised before any gc-core use on
/// its thread (so destroyed after gc-core's thread-locals) holds the only
/// handle to a long list.
#[test]
#[ignore = "run in a child process by `a_late_thread_local_destructor_drops_a_long_list`"]
fn late_thread_local_long_list_child() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static LATE: RefCell<Option<Gc<Link>>> = const { RefCell::new(None) };
    }
    let n = if cfg!(miri) { DEEP } else { 100_000 };
    on_small_stack(move || {
        LATE.with(|l| assert!(l.borrow().is_none()));
        // gc-core's thread-locals, from here on.
        drop(list(1, &DROPS));
        let head = list(n, &DROPS);
        LATE.with(|l| *l.borrow_mut() = Some(head));
    });
    assert_eq!(DROPS.load(SeqCst), n + 1);
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot start a child process")]
fn a_late_thread_local_destructor_drops_a_long_list() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["late_thread_local_long_list_child", "--exact", "--ignored"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child died ({}): a late destructor's drop of a 100,000-node list \
         overflowed its 256 KiB stack?\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
    );
}
