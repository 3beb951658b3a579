//! Per-thread heaps and thread exit: remaining cyclic garbage is collected
//! (destructors run) in a bounded number of passes, and a `Gc` dropped during
//! or after thread-local teardown is handled without panic.
//!
//! Drops and finalizations are recorded in a `gc_tests::kit::Log`, which the
//! joining thread reads.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use gc_core::{Gc, collect, tracked_count};
use gc_tests::kit::{Log, Probe, new_log, plink, probe};

/// A probe (id 0: these tests count drops and finalizations, see
/// `Log::drops` and `Log::finalizations`), with a finalizer if `finalizable`.
fn tnode(c: &Log, finalizable: bool) -> Gc<Probe> {
    let p = probe(c, 0);
    if finalizable { p.finalizable() } else { p }.build()
}

/// A garbage 2-cycle.
fn garbage_pair(c: &Log, finalizable: bool) {
    let a = tnode(c, finalizable);
    let b = tnode(c, finalizable);
    plink(&a, &b);
    plink(&b, &a);
}

/// Runs `f` on a new thread; returns whether it panicked.
fn run_thread(f: impl FnOnce() + Send + 'static) -> bool {
    std::thread::spawn(f).join().is_err()
}

#[test]
fn thread_exit_collects_remaining_cyclic_garbage() {
    let c = new_log();
    let c2 = c.clone();
    let panicked = run_thread(move || {
        gc_core::disable();
        // Old garbage (promoted before it became garbage)...
        let keep: Vec<Gc<Probe>> = (0..100).map(|_| tnode(&c2, false)).collect();
        for k in &keep {
            plink(k, k);
        }
        assert_eq!(collect(), 0);
        drop(keep);
        // ...young garbage, some with finalizers...
        for i in 0..1_000 {
            garbage_pair(&c2, i % 2 == 0);
        }
        // ...and frozen garbage.
        for _ in 0..50 {
            garbage_pair(&c2, true);
        }
        gc_core::freeze();
        assert_eq!(c2.drops(), 0);
        assert_eq!(tracked_count(), 0);
        assert_eq!(gc_core::freeze_count(), 2_200);
        // The thread ends without collecting.
    });
    assert!(!panicked);
    assert_eq!(c.drops(), 100 + 2_000 + 100, "every destructor ran");
    assert_eq!(c.finalizations(), 1_000 + 100, "every finalizer ran once");
}

#[test]
fn panicking_thread_collects_its_garbage() {
    let c = new_log();
    let c2 = c.clone();
    let panicked = run_thread(move || {
        let a = tnode(&c2, true);
        let b = tnode(&c2, false);
        plink(&a, &b);
        plink(&b, &a);
        panic!("the thread dies holding a cycle");
    });
    assert!(panicked);
    assert_eq!(c.drops(), 2);
    assert_eq!(c.finalizations(), 1);
}

#[test]
fn heaps_are_per_thread() {
    let c = new_log();
    let barrier = Arc::new(Barrier::new(2));
    let (c1, b1) = (c.clone(), barrier.clone());
    let owner = std::thread::spawn(move || {
        for _ in 0..10 {
            garbage_pair(&c1, false);
        }
        assert_eq!(tracked_count(), 20);
        b1.wait(); // garbage made
        b1.wait(); // the other thread collected
        assert_eq!(
            c1.drops(),
            0,
            "another thread's collect() never touches this heap"
        );
        assert_eq!(collect(), 20);
        assert_eq!(c1.drops(), 20);
    });
    let (c2, b2) = (c.clone(), barrier.clone());
    let other = std::thread::spawn(move || {
        b2.wait();
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
        assert_eq!(gc_core::stats()[2].collections, 1);
        assert_eq!(gc_core::stats()[2].collected, 0);
        assert_eq!(c2.drops(), 0);
        b2.wait();
    });
    other.join().unwrap();
    owner.join().unwrap();
    assert_eq!(c.drops(), 20);
}

#[test]
fn many_threads_exit_with_garbage() {
    let c = new_log();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..2_500 {
                    garbage_pair(&c, (i + t) % 3 == 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(c.drops(), 4 * 5_000);
}

#[test]
fn finalizers_that_keep_creating_garbage_at_exit_are_bounded() {
    const CAP: usize = 10_000;
    let c = new_log();
    let made = Arc::new(AtomicUsize::new(0));
    let (c2, made2) = (c.clone(), made.clone());
    let panicked = run_thread(move || {
        /// A finalizable self-cycle whose finalizer makes two more like it
        /// (up to `CAP`, so that a collector that loops forever shows up as
        /// a failure, not a hang).
        fn breeder(c: &Log, made: &Arc<AtomicUsize>) {
            if made.fetch_add(1, Ordering::SeqCst) >= CAP {
                return;
            }
            let (c2, made2) = (c.clone(), made.clone());
            let n = probe(c, 0)
                .on_finalize(move |_| {
                    breeder(&c2, &made2);
                    breeder(&c2, &made2);
                })
                .build();
            plink(&n, &n);
        }
        breeder(&c2, &made2);
        // The thread ends: the exit collection must stop by itself.
    });
    assert!(!panicked);
    let made = made.load(Ordering::SeqCst);
    assert!(made >= 3, "the exit collection finalized the first breeder");
    assert!(
        made < CAP,
        "the exit collection kept running while finalizers made garbage"
    );
    // Whatever was finalized was also dropped, once.
    assert!(c.finalizations() >= 1);
    assert!(c.drops() <= c.finalizations());
}

// --- Gc in other thread-locals ---------------------------------------------------------

thread_local! {
    static EARLY: RefCell<Vec<Gc<Probe>>> = const { RefCell::new(Vec::new()) };
    static LATE: RefCell<Vec<Gc<Probe>>> = const { RefCell::new(Vec::new()) };
    static LATE_GUARD: LateDtor = const { LateDtor(RefCell::new(None)) };
}

#[test]
fn gc_in_thread_local_dropped_after_teardown() {
    let c = new_log();
    let c2 = c.clone();
    let panicked = run_thread(move || {
        // Registered before the heap's own exit hook: destroyed after it.
        EARLY.with(|_| ());
        let acyclic = tnode(&c2, true);
        plink(&acyclic, &tnode(&c2, false));
        let a = tnode(&c2, true);
        let b = tnode(&c2, false);
        plink(&a, &b);
        plink(&b, &a);
        EARLY.with(|e| e.borrow_mut().extend([acyclic, a]));
        drop(b);
    });
    assert!(!panicked, "no panic during or after teardown");
    // Counting still works after teardown: the acyclic pair is freed and
    // finalized; the cycle, dropped after the exit collection, may leak.
    assert!(c.drops() >= 2 && c.drops() <= 4, "{}", c.drops());
    assert!(c.finalizations() >= 1 && c.finalizations() <= 2);
}

#[test]
fn gc_in_thread_local_dropped_during_teardown() {
    let c = new_log();
    let c2 = c.clone();
    let panicked = run_thread(move || {
        // The heap's exit hook is registered by the first tracked object;
        // LATE is registered after it, so (destructors running in reverse
        // order of registration) it is destroyed first, and the exit
        // collection then finds the cycle it dropped.
        let first = tnode(&c2, false);
        let a = tnode(&c2, true);
        let b = tnode(&c2, true);
        plink(&a, &b);
        plink(&b, &a);
        LATE.with(|l| l.borrow_mut().extend([a, first]));
        drop(b);
    });
    assert!(!panicked);
    assert_eq!(c.drops(), 3, "the cycle was collected at exit");
    assert_eq!(c.finalizations(), 2);
}

/// A thread-local whose destructor uses the heap while the thread exits.
struct LateDtor(RefCell<Option<(Log, Arc<AtomicUsize>)>>);

impl Drop for LateDtor {
    fn drop(&mut self) {
        let Some((c, collected)) = self.0.borrow_mut().take() else {
            return;
        };
        // Garbage made during teardown, and a collection.
        garbage_pair(&c, true);
        collected.store(collect(), Ordering::SeqCst);
        // Everything else keeps working.
        let n = tnode(&c, true);
        plink(&n, &tnode(&c, false));
        drop(n);
        let _ = (gc_core::count(), gc_core::stats(), tracked_count());
        gc_core::freeze();
        gc_core::unfreeze();
        let id = gc_core::add_callback(|_, _| {});
        gc_core::remove_callback(id);
    }
}

#[test]
fn thread_local_destructor_may_use_the_heap_during_teardown() {
    let c = new_log();
    let collected = Arc::new(AtomicUsize::new(usize::MAX));
    let (c2, col2) = (c.clone(), collected.clone());
    let panicked = run_thread(move || {
        let keep = tnode(&c2, false); // registers the heap's exit hook first
        LATE_GUARD.with(|g| *g.0.borrow_mut() = Some((c2.clone(), col2)));
        drop(keep);
    });
    assert!(!panicked);
    // The destructor ran before the exit collection: its collect() was an
    // ordinary one.
    assert_eq!(collected.load(Ordering::SeqCst), 2);
    assert_eq!(c.drops(), 1 + 2 + 2);
    assert_eq!(c.finalizations(), 2 + 1);
}

#[test]
fn thread_local_destructor_may_use_the_heap_after_teardown() {
    thread_local! {
        static EARLY_GUARD: LateDtor = const { LateDtor(RefCell::new(None)) };
    }
    let c = new_log();
    let collected = Arc::new(AtomicUsize::new(usize::MAX));
    let (c2, col2) = (c.clone(), collected.clone());
    let panicked = run_thread(move || {
        // Registered before the heap's exit hook: runs after teardown.
        EARLY_GUARD.with(|g| *g.0.borrow_mut() = Some((c2.clone(), col2)));
        drop(tnode(&c2, false));
    });
    assert!(!panicked, "no panic after teardown");
    assert!(collected.load(Ordering::SeqCst) <= 2);
    // The acyclic pair made after teardown is freed by counting.
    assert!(c.drops() >= 3, "{}", c.drops());
    assert!(c.finalizations() >= 1);
}

#[test]
fn callbacks_holding_gcs_are_released_at_exit() {
    let c = new_log();
    let c2 = c.clone();
    let panicked = run_thread(move || {
        let a = tnode(&c2, true);
        let b = tnode(&c2, false);
        plink(&a, &b);
        plink(&b, &a);
        let w = Gc::downgrade(&a);
        let held = a.clone();
        gc_core::add_callback(move |_, _| {
            let _ = (held.edges.borrow().len(), w.upgrade().is_some());
        });
        drop((a, b));
        assert_eq!(collect(), 0, "held by the callback");
    });
    assert!(!panicked);
    assert!(c.drops() <= 2);
    assert!(c.finalizations() <= 1);
}

#[test]
fn panicking_destructor_during_the_exit_collection() {
    let c = new_log();
    let c2 = c.clone();
    // A panic escaping a thread-local destructor would abort the process:
    // the exit collection must contain it.
    let _ = run_thread(move || {
        for _ in 0..10 {
            let a = probe(&c2, 0)
                .on_finalize(|_| panic!("boom in finalize at exit"))
                .build();
            let b = tnode(&c2, false);
            plink(&a, &b);
            plink(&b, &a);
        }
    });
    assert_eq!(c.finalizations(), 10);
    assert_eq!(c.drops(), 20, "the other garbage was still freed");
}
