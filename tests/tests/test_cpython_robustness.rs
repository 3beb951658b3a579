//! CPython's `Lib/test/test_gc.py`, part 2: weak references during a
//! collection (the bug1055820 family) and robustness (trashcan, `Boom`,
//! `is_tracked`, `get_objects` during a collection, freezing, statistics).
//!
//! Python objects are modelled by `gc_tests::cpython::Py`. In Rust one `Gc`
//! allocation is one object, so CPython's `!= 0` assertions become exact
//! counts here. Each test runs on a fresh thread, so it has a fresh heap of
//! its own.

use gc_tests::cpython::{
    InstanceBuilder, Py, allocate_until, append, c1055820, dict, drops, gc_detector, getattr,
    instance, int, list, name_of, setitem,
};
use gc_tests::isolated;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gc_core::{
    Finalize, Gc, Trace, Tracer, Weak, collect, collect_generation, count, freeze, freeze_count,
    stats, tracked_count, unfreeze,
};

// --- weak references during collection ------------------------------------------------

#[test]
fn test_bug1055820b() {
    isolated(|| {
        let ouch: Rc<RefCell<Vec<Option<Gc<Py>>>>> = Rc::default();
        let wrs: Rc<RefCell<Vec<Weak<Py>>>> = Rc::default();
        let calls = Rc::new(Cell::new(0));
        let mk = |name| {
            let (ouch, wrs, calls) = (ouch.clone(), wrs.clone(), calls.clone());
            let c = instance(name)
                .del(move |_| {
                    calls.set(calls.get() + 1);
                    *ouch.borrow_mut() = wrs.borrow().iter().map(Weak::upgrade).collect();
                })
                .build();
            setitem(&c, "loop", c.clone());
            c
        };
        let cs = vec![mk("c0"), mk("c1")];
        for c in &cs {
            wrs.borrow_mut().push(Gc::downgrade(c));
        }
        drop(cs);
        assert_eq!(collect(), 2);
        assert_eq!(calls.get(), 2);
        assert_eq!(ouch.borrow().len(), 2);
        assert!(
            ouch.borrow().iter().all(Option::is_none),
            "all weak refs to the trash are cleared before any finalizer runs"
        );
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_trash_weakref_clear() {
    isolated(|| {
        // Z is only reachable through a container the collector cannot see
        // into; a weak ref to Z lives in the trash.
        let z = instance("Z").build();
        let a = instance("a").build();
        setitem(&a, "a", a.clone());
        setitem(&a, "y", Gc::new(Py::Opaque(Rc::new(z.clone()))));
        let wz = Gc::new(Py::WeakRef(Gc::downgrade(&z)));
        setitem(&a, "wz", wz.clone());
        drop(z);
        {
            let y = getattr(&a, "y").unwrap();
            let Py::Opaque(inner) = &*y else {
                panic!("not opaque")
            };
            assert_eq!(name_of(inner), "Z");
        }
        // wr_cycle = [a.wz]; wr_cycle.append(wr_cycle), which reads wz
        // when it is dropped.
        let seen: Rc<RefCell<Vec<Option<&'static str>>>> = Rc::default();
        let wr_cycle = instance("wr_cycle")
            .on_drop({
                let seen = seen.clone();
                move |o| {
                    if let Py::Instance(i) = o {
                        for item in i.items.borrow().iter() {
                            if let Some(Py::WeakRef(w)) = Gc::try_deref(item) {
                                // Z may be alive (freed by counting later) but
                                // never half-dropped.
                                seen.borrow_mut().push(w.upgrade().map(|z| name_of(&z)));
                            }
                        }
                    }
                }
            })
            .build();
        append(&wr_cycle, wz);
        append(&wr_cycle, wr_cycle.clone());
        drop((a, wr_cycle));

        // Z is invisible to the analysis (behind the opaque box), so it is
        // not part of the garbage: it is freed by counting when the box goes.
        assert_eq!(collect(), 4, "a, the opaque box, wz and wr_cycle");
        assert_eq!(drops(), 5, "and Z, freed exactly once");
        let seen = seen.borrow();
        assert!(seen.len() <= 1);
        assert!(seen.iter().all(|s| s.is_none() || *s == Some("Z")));
    });
}

/// The setup of `test_bug1055820c`/`d`: `old` (moved into generation 2) is
/// kept alive only by the young self-cycle `c1`; `c2` is a young self-cycle
/// with a weak ref in `c2wr`. All three are garbage afterwards.
fn bug1055820_setup(old: InstanceBuilder, c2wr: &Rc<RefCell<Option<Weak<Py>>>>) {
    let c0 = old.build();
    assert_eq!(collect(), 0); // c0 moves into generation 2
    let c1 = c1055820("c1");
    setitem(&c1, "keep_c0_alive", c0);
    let c2 = c1055820("c2");
    *c2wr.borrow_mut() = Some(Gc::downgrade(&c2));
    drop((c1, c2));
}

#[test]
fn test_bug1055820c() {
    isolated(|| {
        let ouch: Rc<RefCell<Vec<Option<Gc<Py>>>>> = Rc::default();
        let c2wr: Rc<RefCell<Option<Weak<Py>>>> = Rc::default();
        // c0's "weakref callback": runs when c0 dies, by counting, while the
        // young collection that freed c1 is clearing c2.
        let c0 = instance("c0").on_drop({
            let (ouch, c2wr) = (ouch.clone(), c2wr.clone());
            move |_| {
                *ouch.borrow_mut() = vec![c2wr.borrow().as_ref().unwrap().upgrade()];
            }
        });
        bug1055820_setup(c0, &c2wr);
        let detector = gc_detector();
        allocate_until(&detector, 10_000);
        assert_eq!(ouch.borrow().len(), 1);
        assert!(ouch.borrow()[0].is_none(), "c2 must not be resurrected");
    });
}

#[test]
fn test_bug1055820d() {
    isolated(|| {
        gc_core::set_threshold(1000, 0, 0);
        let ouch: Rc<RefCell<Vec<Option<Gc<Py>>>>> = Rc::default();
        let c2wr: Rc<RefCell<Option<Weak<Py>>>> = Rc::default();
        // d0.__del__, run by counting during the young collection.
        let d0 = instance("d0").del({
            let (ouch, c2wr) = (ouch.clone(), c2wr.clone());
            move |_| {
                *ouch.borrow_mut() = vec![c2wr.borrow().as_ref().unwrap().upgrade()];
            }
        });
        bug1055820_setup(d0, &c2wr);
        let detector = gc_detector();
        allocate_until(&detector, 10_000);
        assert_eq!(ouch.borrow().len(), 1);
        assert!(ouch.borrow()[0].is_none(), "c2 must not be resurrected");
    });
}

// --- robustness -------------------------------------------------------------------------

#[test]
fn test_trashcan() {
    isolated(|| {
        const N: usize = 150;
        let dels = Rc::new(Cell::new(0_usize));
        let nested: Rc<RefCell<Vec<usize>>> = Rc::default();
        let ouch = || {
            let (dels, nested) = (dels.clone(), nested.clone());
            instance("Ouch")
                .del(move |_| {
                    dels.set(dels.get() + 1);
                    if dels.get() % 17 == 0 {
                        nested.borrow_mut().push(collect());
                    }
                })
                .build()
        };
        gc_core::enable();
        for _ in 0..2 {
            let mut t = list(vec![]);
            for _ in 0..N {
                t = list(vec![t, ouch()]);
            }
            let mut u = list(vec![]);
            for _ in 0..N {
                u = list(vec![u, ouch()]);
            }
            let mut v = dict();
            for _ in 0..N {
                let nd = dict();
                setitem(&nd, "1", v);
                setitem(&nd, "2", ouch());
                v = nd;
            }
        }
        assert_eq!(dels.get(), 6 * N, "every Ouch finalized once");
        assert_eq!(nested.borrow().len(), 6 * N / 17);
        assert_eq!(drops(), 6 * N + 6 * (N + 1));
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn test_trashcan_threads() {
    let inits = Arc::new(AtomicUsize::new(0));
    let dels = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (inits, dels) = (inits.clone(), dels.clone());
            std::thread::spawn(move || {
                for _ in 0..200 {
                    // x = [C([x])], 60 deep; C is a list subclass with __del__.
                    let mut x = list(vec![]);
                    for _ in 0..60 {
                        let dels = dels.clone();
                        let c = instance("C")
                            .del(move |_| {
                                dels.fetch_add(1, Ordering::Relaxed);
                            })
                            .build();
                        inits.fetch_add(1, Ordering::Relaxed);
                        append(&c, x);
                        x = list(vec![c]);
                    }
                }
                collect();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(inits.load(Ordering::Relaxed), 2 * 200 * 60);
    assert_eq!(dels.load(Ordering::Relaxed), inits.load(Ordering::Relaxed));
}

/// `Boom`: a type whose `finalizer()` lookup mutates the graph (CPython's
/// `__getattr__` that deletes `self.attr`).
struct Boom {
    /// On which call of `finalizer()` to break the cycle.
    break_on: u32,
    calls: Cell<u32>,
    attr: RefCell<Option<Gc<Boom>>>,
    drops: Rc<Cell<usize>>,
}

impl Trace for Boom {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.attr.trace(tracer);
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        self.calls.set(self.calls.get() + 1);
        if self.calls.get() >= self.break_on {
            drop(self.attr.borrow_mut().take());
        }
        None
    }
}

impl Drop for Boom {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

fn boom_pair(break_on: u32) -> Rc<Cell<usize>> {
    let drops = Rc::new(Cell::new(0));
    let mk = || {
        Gc::new(Boom {
            break_on,
            calls: Cell::new(0),
            attr: RefCell::new(None),
            drops: drops.clone(),
        })
    };
    let a = mk();
    let b = mk();
    *a.attr.borrow_mut() = Some(b.clone());
    *b.attr.borrow_mut() = Some(a);
    drop(b);
    drops
}

#[test]
fn test_boom() {
    isolated(|| {
        let drops = boom_pair(1);
        // The collector must not ask user code for finalizers mid-collection.
        assert_eq!(collect(), 2);
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn test_boom2() {
    isolated(|| {
        let drops = boom_pair(2);
        assert_eq!(collect(), 2);
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn test_is_tracked() {
    isolated(|| {
        #[derive(Trace)]
        struct Point {
            x: f64,
            y: f64,
            name: String,
        }
        #[derive(Trace)]
        struct Holder {
            item: Option<Gc<Point>>,
        }
        #[derive(Trace)]
        struct Empty;
        // Untracked: values that can never hold a Gc.
        assert!(!Gc::is_tracked(&Gc::new(())));
        assert!(!Gc::is_tracked(&Gc::new(1_i64)));
        assert!(!Gc::is_tracked(&Gc::new(1.0_f64)));
        assert!(!Gc::is_tracked(&Gc::new(true)));
        assert!(!Gc::is_tracked(&Gc::new(false)));
        assert!(!Gc::is_tracked(&Gc::new(b'a')));
        assert!(!Gc::is_tracked(&Gc::new(String::from("a"))));
        assert!(!Gc::is_tracked(&Gc::<str>::from("a")));
        assert!(!Gc::is_tracked(&Gc::new(vec![b'a'])));
        assert!(!Gc::is_tracked(&Gc::new(Empty)));
        let p = Gc::new(Point {
            x: 1.0,
            y: 2.0,
            name: "p".into(),
        });
        assert!(!Gc::is_tracked(&p));
        assert!(p.x < p.y);
        assert_eq!(p.name, "p");
        // Tracked: values that may hold one.
        assert!(Gc::is_tracked(&Gc::new(Holder { item: None })));
        assert!(Gc::is_tracked(&list(vec![])));
        assert!(
            Gc::is_tracked(&int(1)),
            "Py can hold a Gc, whatever the variant"
        );
        assert!(Gc::is_tracked(&dict()));
        assert!(Gc::is_tracked(&instance("x").build()));
        assert!(Gc::is_tracked(&Gc::new(RefCell::new(Vec::<Gc<Py>>::new()))));
        assert_eq!(tracked_count(), 0, "the temporaries are gone");
    });
}

#[test]
fn test_get_objects_during_gc() {
    isolated(|| {
        let live: Vec<Gc<Py>> = (0..3).map(|_| list(vec![])).collect();
        let seen: Rc<RefCell<Vec<usize>>> = Rc::default();
        let s = seen.clone();
        let c = instance("c")
            .del(move |_| s.borrow_mut().push(tracked_count()))
            .build();
        setitem(&c, "loop", c.clone());
        drop(c);
        assert_eq!(tracked_count(), 4);
        assert_eq!(collect(), 1);
        assert_eq!(
            *seen.borrow(),
            [3],
            "the object being collected is not among the live objects"
        );
        drop(live);
    });
}

#[test]
fn test_traverse_frozen_objects() {
    isolated(|| {
        let x = list(vec![int(1), int(2), int(3)]);
        freeze();
        let y = list(vec![x.clone()]);
        append(&y, y.clone());
        drop(y);
        assert_eq!(collect(), 1, "y");
        assert_eq!(Gc::strong_count(&x), 1, "x's count is intact");
        unfreeze();
        assert_eq!(collect(), 0);
        let Py::List(items) = &*x else {
            panic!("not a list")
        };
        let ints: Vec<i64> = items
            .borrow()
            .iter()
            .map(|i| match **i {
                Py::Int(v) => v,
                _ => panic!("not an int"),
            })
            .collect();
        assert_eq!(ints, [1, 2, 3]);
        drop(x);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn test_deferred_refcount_frozen() {
    isolated(|| {
        let g = list(vec![]);
        append(&g, g.clone());
        drop(g);
        freeze();
        assert_eq!(collect(), 0);
        unfreeze();
        assert_eq!(collect(), 1);
    });
}

#[test]
fn test_freeze() {
    isolated(|| {
        let keep: Vec<Gc<Py>> = (0..5).map(|_| list(vec![])).collect();
        freeze();
        assert_eq!(freeze_count(), 5);
        assert_eq!(tracked_count(), 0);
        unfreeze();
        assert_eq!(freeze_count(), 0);
        assert_eq!(tracked_count(), 5);
        drop(keep);
    });
}

#[test]
fn test_get_stats() {
    isolated(|| {
        let s = stats();
        assert_eq!(s.len(), 3);
        collect_generation(0);
        let new = stats();
        assert_eq!(new[0].collections, s[0].collections + 1);
        assert_eq!(new[1].collections, s[1].collections);
        assert_eq!(new[2].collections, s[2].collections);
        collect_generation(2);
        let newer = stats();
        assert_eq!(newer[0].collections, new[0].collections);
        assert_eq!(newer[1].collections, new[1].collections);
        assert_eq!(newer[2].collections, new[2].collections + 1);
    });
}

#[test]
fn test_get_count() {
    isolated(|| {
        collect();
        let (a, b1, c1) = count();
        let x = list(vec![]);
        let (d, e1, f1) = count();
        assert_eq!((b1, c1), (0, 0));
        assert_eq!((e1, f1), (0, 0));
        assert_eq!(a, 0);
        assert_eq!(d, a + 1, "the new list is counted");
        drop(x);
    });
}

#[test]
fn test_collect_generations() {
    isolated(|| {
        collect();
        let x = list(vec![]);
        collect_generation(0);
        let (_, c1, c2) = count();
        assert_eq!((c1, c2), (1, 0));
        collect_generation(1);
        let (_, c1, c2) = count();
        assert_eq!((c1, c2), (0, 1));
        collect_generation(2);
        let (_, c1, c2) = count();
        assert_eq!((c1, c2), (0, 0));
        drop(x);
    });
}
