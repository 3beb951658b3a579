//! Panics in `Drop`, finalizers, callbacks and traces, during collections
//! and on the counting path, leave the heap consistent; collector calls made
//! from inside a collection keep it consistent; odd layouts (over-aligned,
//! zero-sized, empty) work.
//!
//! Every test runs its body on a fresh thread (`isolated`), so it starts with
//! an empty heap of its own: absolute counts are meaningful.

use gc_tests::kit::{
    DROPPED, Log, Node, Probe, dropped, finalized, first_edge, link, new_log, node, plink, probe,
    sorted,
};
use gc_tests::{expect_panic, isolated};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{
    Finalize, Gc, Phase, Trace, Tracer, collect, collect_generation, count, freeze, freeze_count,
    stats, tracked_count, unfreeze,
};

// --- panics -------------------------------------------------------------------------

#[test]
fn panicking_drop_during_collection_then_collections_work() {
    isolated(|| {
        let log = new_log();
        let phases: Rc<RefCell<Vec<Phase>>> = Rc::default();
        let cb = gc_core::add_callback({
            let phases = phases.clone();
            move |p, _| phases.borrow_mut().push(p)
        });
        let a = probe(&log, 1).on_drop(|_| panic!("boom in drop")).build();
        let b = probe(&log, 2).build();
        plink(&a, &b);
        plink(&b, &a);
        drop((a, b));
        let msg = expect_panic(collect);
        assert!(msg.contains("boom in drop"), "{msg}");
        assert_eq!(*phases.borrow(), [Phase::Start, Phase::Stop]);
        assert_eq!(dropped(&log), [1, 2]);
        assert_eq!(tracked_count(), 0);
        assert_eq!(stats()[2].collections, 1);
        assert_eq!(stats()[2].collected, 2);

        // Later collections work.
        assert_eq!(collect(), 0);
        let c = probe(&log, 3).build();
        let d = probe(&log, 4).build();
        plink(&c, &d);
        plink(&d, &c);
        drop((c, d));
        assert_eq!(collect(), 2);
        assert_eq!(dropped(&log), [1, 2, 3, 4]);
        gc_core::remove_callback(cb);
    });
}

#[test]
fn panicking_finalizer_during_collection_then_collections_work() {
    isolated(|| {
        let log = new_log();
        let a = probe(&log, 1)
            .on_finalize(|_| panic!("boom in finalize"))
            .build();
        let b = probe(&log, 2).finalizable().build();
        plink(&a, &b);
        plink(&b, &a);
        drop((a, b));
        let msg = expect_panic(collect);
        assert!(msg.contains("boom in finalize"), "{msg}");
        assert_eq!(finalized(&log), [1, 2], "the other finalizer still ran");
        collect();
        assert_eq!(dropped(&log), [1, 2]);
        assert_eq!(finalized(&log), [1, 2], "each finalized once");
        assert_eq!(tracked_count(), 0);

        let c = probe(&log, 3).finalizable().build();
        plink(&c, &c);
        drop(c);
        assert_eq!(collect(), 1);
        assert_eq!(dropped(&log), [1, 2, 3]);
    });
}

#[test]
fn panicking_callback_then_collections_work() {
    isolated(|| {
        let log = new_log();
        let calls = Rc::new(Cell::new(0));
        let good = gc_core::add_callback({
            let calls = calls.clone();
            move |_, _| calls.set(calls.get() + 1)
        });
        let bad = gc_core::add_callback(|phase, _| {
            assert!(phase != Phase::Stop, "boom in callback");
        });
        let a = node(&log, 1);
        link(&a, &a);
        drop(a);
        let msg = expect_panic(collect);
        assert!(msg.contains("boom in callback"), "{msg}");
        assert_eq!(log.events(), [1], "the collection itself completed");
        assert_eq!(calls.get(), 2);
        assert!(gc_core::remove_callback(bad));
        assert_eq!(collect(), 0);
        assert_eq!(calls.get(), 4);
        gc_core::remove_callback(good);
    });
}

/// A chain of probes with the ids of `ids` in order (each holds the next);
/// the drop of probe `panicking` panics with "boom in drop {panicking}".
/// Returns the head.
fn chain_panicking_at(log: &Log, ids: std::ops::Range<u32>, panicking: u32) -> Gc<Probe> {
    let mut next: Option<Gc<Probe>> = None;
    for id in ids.rev() {
        let mut b = probe(log, id);
        if id == panicking {
            b = b.on_drop(move |_| panic!("boom in drop {panicking}"));
        }
        let p = b.build();
        if let Some(n) = next.take() {
            p.edges.borrow_mut().push(n);
        }
        next = Some(p);
    }
    next.expect("a non-empty range")
}

#[test]
fn panicking_drop_on_the_counting_path_still_drops_the_rest() {
    isolated(|| {
        let log = new_log();
        // A chain 0 -> 1 -> ... -> 99, much deeper than any trashcan limit;
        // node 50's drop panics.
        let head = chain_panicking_at(&log, 0..100, 50);
        let msg = expect_panic(move || drop(head));
        assert!(msg.contains("boom in drop 50"), "{msg}");
        // As with `Rc`, the rest of the structure is dropped while unwinding.
        assert_eq!(dropped(&log), (0..100).collect::<Vec<_>>());
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
    });
}

#[test]
fn panicking_finalizer_on_the_counting_path_still_drops_the_value() {
    isolated(|| {
        let log = new_log();
        let a = probe(&log, 1)
            .on_finalize(|_| panic!("boom in finalize"))
            .build();
        plink(&a, &probe(&log, 2).finalizable().build());
        let msg = expect_panic(move || drop(a));
        assert!(msg.contains("boom in finalize"), "{msg}");
        assert_eq!(finalized(&log), [1, 2]);
        assert_eq!(dropped(&log), [1, 2]);
        assert_eq!(tracked_count(), 0);
    });
}

/// Panics in `trace` once its finalizer has run (while `armed`).
struct ArmedByFinalizer {
    id: u32,
    log: Log,
    armed: Rc<Cell<bool>>,
    next: RefCell<Option<Gc<ArmedByFinalizer>>>,
}

impl Trace for ArmedByFinalizer {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        assert!(!self.armed.get(), "boom in the resurrection check");
        self.next.trace(tracer);
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for ArmedByFinalizer {
    fn finalize(&self) {
        self.log.push(self.id);
        self.armed.set(true);
    }
}

impl Drop for ArmedByFinalizer {
    fn drop(&mut self) {
        self.log.push(self.id + DROPPED);
    }
}

#[test]
fn panicking_trace_during_the_resurrection_check() {
    isolated(|| {
        let log = new_log();
        let armed = Rc::new(Cell::new(false));
        let mk = |id| {
            Gc::new(ArmedByFinalizer {
                id,
                log: log.clone(),
                armed: armed.clone(),
                next: RefCell::new(None),
            })
        };
        let a = mk(1);
        let b = mk(2);
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a);
        drop(b);
        let msg = expect_panic(collect);
        assert!(msg.contains("boom in the resurrection check"), "{msg}");
        assert_eq!(finalized(&log), [1, 2]);
        armed.set(false);
        collect();
        assert_eq!(dropped(&log), [1, 2], "collected, once");
        assert_eq!(finalized(&log), [1, 2], "finalized once");
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn storing_garbage_in_other_garbage_is_not_resurrection() {
    isolated(|| {
        let log = new_log();
        // a's finalizer gives b a second handle to a; b is garbage too.
        let a = probe(&log, 1)
            .on_finalize(|p| {
                let b = first_edge(p);
                let a = b.edges.borrow()[0].clone();
                b.edges.borrow_mut().push(a);
            })
            .build();
        let b = probe(&log, 2).build();
        plink(&a, &b);
        plink(&b, &a);
        drop((a, b));
        assert_eq!(collect(), 2);
        assert_eq!(finalized(&log), [1]);
        assert_eq!(dropped(&log), [1, 2]);
        assert_eq!(tracked_count(), 0);
    });
}

/// A trait for trait objects (as in `test_cycles.rs`).
trait Shape: Trace {
    fn id(&self) -> u32;
    fn set_next(&self, next: Gc<dyn Shape>);
}

/// A finalizable trait-object implementation.
#[derive(Trace)]
#[gc(finalize)]
struct Square {
    id: u32,
    log: Log,
    next: RefCell<Option<Gc<dyn Shape>>>,
}

impl Finalize for Square {
    fn finalize(&self) {
        self.log.push(self.id);
    }
}

impl Drop for Square {
    fn drop(&mut self) {
        self.log.push(self.id + DROPPED);
    }
}

impl Shape for Square {
    fn id(&self) -> u32 {
        self.id
    }
    fn set_next(&self, next: Gc<dyn Shape>) {
        *self.next.borrow_mut() = Some(next);
    }
}

#[test]
fn trait_objects_with_finalizers_are_finalized() {
    isolated(|| {
        let log = new_log();
        let mk = |id| -> Gc<dyn Shape> {
            let b: Box<dyn Shape> = Box::new(Square {
                id,
                log: log.clone(),
                next: RefCell::new(None),
            });
            Gc::from(b)
        };
        let a = mk(1);
        let b = mk(2);
        a.set_next(b.clone());
        b.set_next(a.clone());
        drop((a, b));
        assert_eq!(collect(), 2);
        assert_eq!(finalized(&log), [1, 2]);
        assert_eq!(dropped(&log), [1, 2]);
        // And on the counting path.
        drop(mk(3));
        assert_eq!(finalized(&log), [1, 2, 3]);
        assert_eq!(dropped(&log), [1, 2, 3]);
    });
}

/// Calls every collector function, as user code may from inside a
/// collection.
fn poke_the_collector() {
    let _ = (
        count(),
        stats(),
        tracked_count(),
        freeze_count(),
        gc_core::is_enabled(),
        gc_core::threshold(),
    );
    freeze();
    unfreeze();
    gc_core::disable();
    gc_core::enable();
    let t = gc_core::threshold();
    gc_core::set_threshold(t.0, t.1, t.2);
    let id = gc_core::add_callback(|_, _| {});
    gc_core::remove_callback(id);
    assert_eq!(collect_generation(1), 0);
}

/// Pokes the collector from `trace` while `armed`.
struct PokesInTrace {
    id: u32,
    log: Log,
    armed: Rc<Cell<bool>>,
    next: RefCell<Option<Gc<PokesInTrace>>>,
}

impl Trace for PokesInTrace {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if self.armed.get() {
            poke_the_collector();
        }
        self.next.trace(tracer);
    }
}

impl Drop for PokesInTrace {
    fn drop(&mut self) {
        self.log.push(self.id);
    }
}

#[test]
fn collector_calls_during_a_collection_keep_it_consistent() {
    isolated(|| {
        let log = new_log();
        let plog = new_log();
        let live = node(&log, 100);
        link(&live, &live);
        let old = node(&log, 101);
        assert_eq!(collect(), 0); // `old` in generation 2
        let frozen = node(&log, 102);
        freeze();
        let mut ring = Vec::new();
        for id in 0..4 {
            ring.push(
                probe(&plog, id)
                    .on_finalize(|_| poke_the_collector())
                    .on_drop(|_| poke_the_collector())
                    .build(),
            );
        }
        for i in 0..4 {
            plink(&ring[i], &ring[(i + 1) % 4]);
        }
        drop(ring);
        let armed = Rc::new(Cell::new(true));
        let p = Gc::new(PokesInTrace {
            id: 10,
            log: log.clone(),
            armed: armed.clone(),
            next: RefCell::new(None),
        });
        *p.next.borrow_mut() = Some(p.clone());
        drop(p);
        let young_live = node(&log, 103);

        assert_eq!(collect_generation(0), 5);
        assert_eq!(finalized(&plog), [0, 1, 2, 3]);
        assert_eq!(dropped(&plog), [0, 1, 2, 3]);
        assert_eq!(log.events(), [10]);
        armed.set(false);
        // Every survivor is listed exactly once, wherever it went.
        assert_eq!(tracked_count() + freeze_count(), 4);
        unfreeze();
        assert_eq!(tracked_count(), 4);
        assert_eq!(freeze_count(), 0);
        assert_eq!(collect(), 0);
        assert_eq!(
            (live.id, old.id, frozen.id, young_live.id),
            (100, 101, 102, 103)
        );
        drop((old, frozen, young_live));
        drop(live);
        assert_eq!(collect(), 1);
        assert_eq!(tracked_count(), 0);
        assert_eq!(sorted(&log), [10, 100, 101, 102, 103]);
    });
}

#[test]
fn panicking_drop_in_a_cascade_during_collection_still_drops_the_rest() {
    isolated(|| {
        let log = new_log();
        // A garbage 2-cycle holding a chain 10 -> 11 -> ... -> 109, deeper
        // than any trashcan limit; node 60's drop panics.
        let chain = chain_panicking_at(&log, 10..110, 60);
        let a = probe(&log, 1).build();
        let b = probe(&log, 2).build();
        plink(&a, &b);
        plink(&b, &a);
        b.edges.borrow_mut().push(chain);
        assert_eq!(collect(), 0);
        drop((a, b));
        let msg = expect_panic(collect);
        assert!(msg.contains("boom in drop 60"), "{msg}");
        let mut all = vec![1, 2];
        all.extend(10..110);
        assert_eq!(dropped(&log), all, "every value dropped once");
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
    });
}

#[derive(Trace)]
#[repr(align(64))]
struct Aligned {
    x: u8,
    next: RefCell<Option<Gc<Aligned>>>,
}

#[derive(Trace)]
#[repr(align(4096))]
struct Page([u8; 16]);

#[derive(Trace)]
struct Zst;

impl Shape for Aligned {
    fn id(&self) -> u32 {
        u32::from(self.x)
    }
    fn set_next(&self, _: Gc<dyn Shape>) {}
}

impl Shape for Zst {
    fn id(&self) -> u32 {
        7
    }
    fn set_next(&self, _: Gc<dyn Shape>) {}
}

#[test]
fn over_aligned_zero_sized_and_empty_values() {
    isolated(|| {
        let a = Gc::new(Aligned {
            x: 1,
            next: RefCell::new(None),
        });
        assert!(Gc::is_tracked(&a));
        assert_eq!(Gc::as_ptr(&a).addr() % 64, 0);
        *a.next.borrow_mut() = Some(a.clone());
        let weak = Gc::downgrade(&a);
        drop(a);
        assert_eq!(collect(), 1);
        assert!(weak.upgrade().is_none());
        drop(weak);

        let page = Gc::new(Page([3; 16]));
        assert!(!Gc::is_tracked(&page));
        assert_eq!(Gc::as_ptr(&page).addr() % 4096, 0);
        assert_eq!(page.0[15], 3);

        let z = Gc::new(Zst);
        assert!(!Gc::is_tracked(&z));
        let zs: Vec<Gc<Zst>> = (0..10).map(|_| z.clone()).collect();
        assert_eq!(Gc::strong_count(&z), 11);
        drop(zs);

        let d: Box<dyn Shape> = Box::new(Aligned {
            x: 5,
            next: RefCell::new(None),
        });
        let d = Gc::<dyn Shape>::from(d);
        assert_eq!(Gc::as_ptr(&d).cast::<u8>().addr() % 64, 0);
        assert_eq!(d.id(), 5);
        let dz: Box<dyn Shape> = Box::new(Zst);
        let dz = Gc::<dyn Shape>::from(dz);
        assert_eq!(dz.id(), 7);

        let empty_str: Gc<str> = Gc::from("");
        assert_eq!(&*empty_str, "");
        let empty: Gc<[Gc<Node>]> = Gc::from(Vec::new());
        assert!(empty.is_empty());
        let aligned: Gc<[Aligned]> = Gc::from(vec![
            Aligned {
                x: 8,
                next: RefCell::new(None),
            },
            Aligned {
                x: 9,
                next: RefCell::new(None),
            },
        ]);
        assert_eq!(Gc::as_ptr(&aligned).cast::<u8>().addr() % 64, 0);
        assert_eq!(aligned[1].x, 9);
        drop((page, z, d, dz, empty_str, empty, aligned));
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
    });
}
