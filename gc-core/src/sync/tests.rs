//! The thread-safe heap on one thread and on several: cycles collected,
//! reachable ones kept, weak handles, finalizers, dead handles.
#![allow(
    clippy::items_after_statements,
    reason = "each test takes the serial lock first, then declares its statics"
)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, RwLock};

use super::{Gc, Weak, collect};
use crate::{Finalize, Trace, Tracer};

/// Serialises the tests of this module: they share the one heap and count
/// what `collect` returns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the lock the sync unit tests share (they count what `collect`
/// returns on the one heap), then collects what earlier tests left.
pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    collect();
    g
}

struct Node {
    next: Mutex<Option<Gc<Node>>>,
    drops: &'static AtomicUsize,
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn node(drops: &'static AtomicUsize) -> Gc<Node> {
    Gc::new(Node {
        next: Mutex::new(None),
        drops,
    })
}

fn ring(n: usize, drops: &'static AtomicUsize) -> Gc<Node> {
    let first = node(drops);
    let mut last = first.clone();
    for _ in 1..n {
        let next = node(drops);
        *last.next.lock().unwrap() = Some(next.clone());
        last = next;
    }
    *last.next.lock().unwrap() = Some(first.clone());
    first
}

#[test]
fn a_garbage_ring_is_collected_and_a_live_one_kept() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let live = ring(5, &DROPS);
    drop(ring(7, &DROPS));
    assert_eq!(DROPS.load(SeqCst), 0);
    assert_eq!(collect(), 7);
    assert_eq!(DROPS.load(SeqCst), 7);
    // The live ring is intact.
    let mut at = live.clone();
    for _ in 0..5 {
        let next = at.next.lock().unwrap().clone().unwrap();
        at = next;
    }
    assert!(Gc::ptr_eq(&at, &live));
    drop(at);
    drop(live);
    assert_eq!(collect(), 5);
    assert_eq!(DROPS.load(SeqCst), 12);
}

#[test]
fn acyclic_objects_go_at_once_on_any_thread() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let a = node(&DROPS);
    *a.next.lock().unwrap() = Some(node(&DROPS));
    let b = a.clone();
    std::thread::spawn(move || drop(b)).join().unwrap();
    drop(a);
    assert_eq!(DROPS.load(SeqCst), 2);
    assert_eq!(collect(), 0);
}

#[test]
fn a_cycle_built_across_threads_is_collected_and_its_weaks_cleared() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let a = node(&DROPS);
    let w: Weak<Node> = Gc::downgrade(&a);
    let a2 = a.clone();
    std::thread::spawn(move || {
        let b = node(&DROPS);
        *b.next.lock().unwrap() = Some(a2.clone());
        *a2.next.lock().unwrap() = Some(b);
    })
    .join()
    .unwrap();
    drop(a);
    assert!(w.upgrade().is_some(), "not yet collected");
    assert_eq!(collect(), 2);
    assert!(w.upgrade().is_none());
    assert_eq!(DROPS.load(SeqCst), 2);
}

#[test]
fn a_locked_cell_keeps_its_owner_for_that_collection() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let r = ring(3, &DROPS);
    let held = r.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let guard = held.next.lock().unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        drop(guard);
        drop(held);
    });
    locked_rx.recv().unwrap();
    drop(r);
    // `held` is a handle too; but its holder's lock alone would keep it.
    assert_eq!(collect(), 0);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(collect(), 3);
    assert_eq!(DROPS.load(SeqCst), 3);
}

#[test]
fn rwlock_cells_and_poisoned_locks_are_read() {
    let _s = serial();
    #[derive(Default)]
    struct R(RwLock<Vec<Gc<R>>>);
    impl Trace for R {
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
            self.0.trace(tracer);
        }
    }
    let a = Gc::new(R::default());
    a.0.write().unwrap().push(a.clone());
    let b = a.clone();
    let _ = std::thread::spawn(move || {
        let _g = b.0.write().unwrap();
        panic!("poison it");
    })
    .join();
    assert!(a.0.is_poisoned());
    drop(a);
    assert_eq!(collect(), 1);
}

#[test]
fn finalizers_see_intact_garbage_with_cleared_weaks_and_may_resurrect() {
    let _s = serial();
    static SAVED: Mutex<Option<Gc<F>>> = Mutex::new(None);
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    struct F {
        me: Mutex<Option<Gc<F>>>,
        weak: Mutex<Weak<F>>,
        n: u32,
    }
    impl Trace for F {
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
            self.me.trace(tracer);
        }
        fn finalizer(&self) -> Option<&dyn Finalize> {
            Some(self)
        }
    }
    impl Finalize for F {
        fn finalize(&self) {
            assert!(
                self.weak.lock().unwrap().upgrade().is_none(),
                "weaks cleared first"
            );
            let me = self.me.lock().unwrap().clone().expect("intact");
            assert_eq!(me.n, 42);
            SEEN.fetch_add(1, SeqCst);
            *SAVED.lock().unwrap() = Some(me);
        }
    }
    let f = Gc::new(F {
        me: Mutex::new(None),
        weak: Mutex::new(Weak::new()),
        n: 42,
    });
    *f.me.lock().unwrap() = Some(f.clone());
    *f.weak.lock().unwrap() = Gc::downgrade(&f);
    drop(f);
    assert_eq!(collect(), 0, "resurrected");
    assert_eq!(SEEN.load(SeqCst), 1);
    let saved = SAVED.lock().unwrap().take().unwrap();
    assert_eq!(saved.n, 42);
    drop(saved);
    assert_eq!(collect(), 1, "garbage again; the finalizer ran once");
    assert_eq!(SEEN.load(SeqCst), 1);
}

#[test]
fn get_mut_try_unwrap_and_unsize() {
    let _s = serial();
    let mut a = Gc::new(5);
    *Gc::get_mut(&mut a).unwrap() += 1;
    let b = a.clone();
    assert!(Gc::get_mut(&mut a).is_none());
    let w = Gc::downgrade(&b);
    drop(b);
    assert!(Gc::get_mut(&mut a).is_none(), "a weak handle");
    drop(w);
    assert_eq!(Gc::try_unwrap(a), Ok(6));
    let s: Gc<[u32]> = Gc::unsize(Gc::new([1_u32, 2]), |x: &[u32; 2]| -> &[u32] { x });
    assert_eq!(&*s, &[1, 2]);
}

#[test]
fn four_threads_churning_cycles_lose_nothing() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let rounds = if cfg!(miri) { 3 } else { 300 };
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut keep = Vec::new();
                for i in 0..rounds {
                    let r = ring(1 + (i + t) % 4, &DROPS);
                    if i % 3 == 0 {
                        keep.push(r);
                    }
                    if i % 50 == 0 {
                        collect();
                    }
                }
                keep.len()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    while collect() != 0 {}
    let expected: usize = (0..4)
        .map(|t| (0..rounds).map(|i| 1 + (i + t) % 4).sum::<usize>())
        .sum();
    assert_eq!(DROPS.load(SeqCst), expected);
}

#[test]
fn a_long_list_drops_and_a_long_ring_collects_on_a_small_stack() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let n = if cfg!(miri) { 200 } else { 1_000_000 };
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut head = node(&DROPS);
            for _ in 1..n {
                let next = node(&DROPS);
                *next.next.lock().unwrap() = Some(head);
                head = next;
            }
            drop(head);
            assert_eq!(DROPS.load(SeqCst), n);
            drop(ring(n, &DROPS));
            assert_eq!(collect(), n);
            assert_eq!(DROPS.load(SeqCst), 2 * n);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_trace_that_clones_a_handle_during_the_pause_keeps_everything() {
    use std::sync::atomic::AtomicBool;
    let _s = serial();
    static STASH: Mutex<Vec<Gc<Evil>>> = Mutex::new(Vec::new());
    static ARMED: AtomicBool = AtomicBool::new(true);
    struct Evil {
        me: RwLock<Option<Gc<Evil>>>,
    }
    impl Trace for Evil {
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
            // Counted (the tracer holds a read guard), then cloned under a
            // second read guard: a new handle the copied count lacks.
            self.me.trace(tracer);
            if ARMED.load(SeqCst)
                && let Some(me) = &*self.me.read().unwrap()
            {
                STASH.lock().unwrap().push(me.clone());
            }
        }
    }
    let e = Gc::new(Evil {
        me: RwLock::new(None),
    });
    *e.me.write().unwrap() = Some(e.clone());
    drop(e);
    assert_eq!(
        collect(),
        0,
        "the analysis saw its own clone and kept everything"
    );
    let stashed = STASH.lock().unwrap().pop().expect("the trace ran");
    assert!(!Gc::is_dead(&stashed), "the stashed handle is live");
    assert!(stashed.me.read().unwrap().is_some(), "and its value intact");
    ARMED.store(false, SeqCst);
    drop(stashed);
    assert_eq!(collect(), 1);
}
