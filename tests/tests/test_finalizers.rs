//! Finalizers and resurrection (SPEC.md, "Finalizers"; PEP 442), and user
//! code (`Drop`, finalizers, callbacks) that re-enters the collector.
//!
//! Every test runs its body on a fresh thread (`isolated`), so it starts with
//! an empty heap of its own: absolute counts are meaningful.

use gc_tests::isolated;
use gc_tests::kit::{
    DFin, DROPPED, Log, Node, Probe, dfin, dropped, finalized, link, new_log, node, plink, probe,
    sorted,
};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{
    CollectInfo, Finalize, Gc, Phase, Trace, Weak, collect, collect_generation, stats,
    tracked_count,
};

// --- finalizers and resurrection --------------------------------------------------

#[test]
fn finalizer_runs_once_before_drop_on_the_counting_path() {
    isolated(|| {
        let log = new_log();
        let me: Rc<RefCell<Option<Weak<Probe>>>> = Rc::default();
        let upgraded: Rc<Cell<Option<bool>>> = Rc::default();
        let a = probe(&log, 1)
            .on_finalize({
                let (me, upgraded) = (me.clone(), upgraded.clone());
                move |p| {
                    assert_eq!(p.id, 1);
                    let w = me.borrow();
                    upgraded.set(Some(w.as_ref().unwrap().upgrade().is_some()));
                }
            })
            .build();
        *me.borrow_mut() = Some(Gc::downgrade(&a));
        let b = a.clone();
        drop(a);
        assert!(log.is_empty());
        drop(b);
        assert_eq!(log.events(), [1, 1 + DROPPED], "finalize, then drop");
        assert_eq!(
            upgraded.get(),
            Some(false),
            "the count is already zero: no resurrection on this path"
        );
        assert_eq!(collect(), 0);
        assert_eq!(log.events(), [1, 1 + DROPPED]);
    });
}

/// An untracked finalizable type.
#[derive(Trace)]
#[gc(finalize)]
struct LeafFin {
    id: u32,
    log: Log,
}

impl Finalize for LeafFin {
    fn finalize(&self) {
        self.log.push(self.id);
    }
}

impl Drop for LeafFin {
    fn drop(&mut self) {
        self.log.push(self.id + DROPPED);
    }
}

#[test]
fn finalizers_run_once_with_all_garbage_intact() {
    isolated(|| {
        let log = new_log();
        let ring: Vec<Gc<DFin>> = (1..=4).map(|id| dfin(&log, id)).collect();
        for i in 0..4 {
            *ring[i].next.borrow_mut() = Some(ring[(i + 1) % 4].clone());
        }
        drop(ring);
        assert_eq!(collect(), 4);
        let events = log.events();
        assert_eq!(events.len(), 8);
        assert!(
            events[..4].iter().all(|&e| e < DROPPED),
            "all finalizers run before any value is dropped: {events:?}"
        );
        assert_eq!(finalized(&log), [1, 2, 3, 4]);
        assert_eq!(dropped(&log), [1, 2, 3, 4]);
        assert_eq!(collect(), 0);
        assert_eq!(log.len(), 8);

        // An untracked value with a finalizer: finalized on drop, never tracked.
        let log = new_log();
        let leaf = Gc::new(LeafFin {
            id: 9,
            log: log.clone(),
        });
        assert!(!Gc::is_tracked(&leaf));
        assert_eq!(tracked_count(), 0);
        drop(leaf);
        assert_eq!(log.events(), [9, 9 + DROPPED]);
    });
}

#[test]
fn resurrection_keeps_the_object_and_its_finalizer_runs_once() {
    isolated(|| {
        let log = new_log();
        let store: Rc<RefCell<Vec<Gc<Probe>>>> = Rc::default();
        let infos: Rc<RefCell<Vec<CollectInfo>>> = Rc::default();
        let cb = gc_core::add_callback({
            let infos = infos.clone();
            move |phase, info| {
                if phase == Phase::Stop {
                    infos.borrow_mut().push(*info);
                }
            }
        });
        let laz = probe(&log, 1).resurrect_into(&store).build();
        let cargo = probe(&log, 2).build();
        plink(&laz, &laz);
        plink(&laz, &cargo);
        plink(&cargo, &laz);
        let old_weak = Gc::downgrade(&laz);
        drop((laz, cargo));

        let before = stats()[2];
        assert_eq!(collect(), 0, "resurrected objects are not counted");
        assert_eq!(stats()[2].collected, before.collected);
        let last = *infos.borrow().last().unwrap();
        assert_eq!((last.collected, last.resurrected), (0, 2));
        assert_eq!(log.events(), [1], "finalized, nothing dropped");

        let laz = store.borrow()[0].clone();
        assert!(!Gc::is_dead(&laz));
        assert_eq!(laz.id, 1);
        assert!(Gc::ptr_eq(&laz.edges.borrow()[0], &laz));
        let cargo = laz.edges.borrow()[1].clone();
        assert_eq!(cargo.id, 2);
        assert!(Gc::ptr_eq(&cargo.edges.borrow()[0], &laz));
        assert!(
            old_weak.upgrade().is_none(),
            "weak refs cleared for garbage stay cleared"
        );
        assert_eq!(tracked_count(), 2, "resurrected objects are tracked again");
        drop((laz, cargo));

        // Still reachable from the store: nothing happens.
        assert_eq!(collect(), 0);
        assert_eq!(log.events(), [1]);

        store.borrow_mut().clear();
        assert_eq!(collect(), 2);
        assert_eq!(
            finalized(&log),
            [1],
            "a finalizer runs once in an object's life"
        );
        assert_eq!(dropped(&log), [1, 2]);
        assert_eq!(tracked_count(), 0);
        gc_core::remove_callback(cb);
    });
}

#[test]
fn resurrected_object_gives_working_new_weak_refs() {
    isolated(|| {
        let log = new_log();
        let store: Rc<RefCell<Vec<Gc<Probe>>>> = Rc::default();
        let laz = probe(&log, 1).resurrect_into(&store).build();
        plink(&laz, &laz);
        drop(laz);
        assert_eq!(collect(), 0);
        let laz = store.borrow_mut().pop().unwrap();
        assert!(!Gc::is_dead(&laz));
        // The object is alive and held: like `Rc`, a new weak handle to it
        // upgrades.
        let w = Gc::downgrade(&laz);
        assert_eq!(w.strong_count(), 2);
        let up = w.upgrade();
        assert!(
            up.is_some(),
            "Weak::upgrade of a live, resurrected object returned None"
        );
        drop(up);
        laz.edges.borrow_mut().clear();
        drop(laz);
        assert_eq!(dropped(&log), [1]);
        assert_eq!(finalized(&log), [1]);
    });
}

#[test]
fn weak_refs_to_a_resurrected_object_clone_and_round_trip() {
    isolated(|| {
        let log = new_log();
        let store: Rc<RefCell<Vec<Gc<Probe>>>> = Rc::default();
        let laz = probe(&log, 1).resurrect_into(&store).build();
        plink(&laz, &laz);
        let old = Gc::downgrade(&laz);
        drop(laz);
        assert_eq!(collect(), 0);
        let laz = store.borrow_mut().pop().unwrap();
        assert!(old.upgrade().is_none(), "cleared when found to be garbage");

        // A new `Weak` (made in the object's next weak epoch) clones like
        // `rc::Weak`.
        let w = Gc::downgrade(&laz);
        let w2 = w.clone();
        assert_eq!(Gc::weak_count(&laz), 3);
        assert_eq!(w2.weak_count(), 3);
        assert!(Gc::ptr_eq(&w2.upgrade().unwrap(), &laz));
        drop((w, w2));
        assert_eq!(Gc::weak_count(&laz), 1);

        // The cleared one stays cleared through `into_raw`/`from_raw`.
        // SAFETY: from `Weak::into_raw`, given back once.
        let old = unsafe { Weak::from_raw(old.into_raw()) };
        assert!(old.upgrade().is_none(), "a cleared Weak came back to life");
        drop(old);
        assert_eq!(Gc::weak_count(&laz), 0);

        laz.edges.borrow_mut().clear();
        drop(laz);
        assert_eq!(dropped(&log), [1]);
    });
}

#[test]
fn resurrected_then_freed_by_counting_is_not_finalized_again() {
    isolated(|| {
        let log = new_log();
        let store: Rc<RefCell<Vec<Gc<Probe>>>> = Rc::default();
        let laz = probe(&log, 1).resurrect_into(&store).build();
        plink(&laz, &laz);
        drop(laz);
        assert_eq!(collect(), 0);
        // Break the self-cycle: the last handle then frees it by counting.
        let laz = store.borrow_mut().pop().unwrap();
        laz.edges.borrow_mut().clear();
        assert_eq!(Gc::strong_count(&laz), 1);
        drop(laz);
        assert_eq!(log.events(), [1, 1 + DROPPED]);
    });
}

// --- re-entrancy ------------------------------------------------------------------

#[test]
fn collect_inside_drop_finalize_and_callback_returns_zero() {
    isolated(|| {
        let log = new_log();
        let nested: Rc<RefCell<Vec<(&str, usize)>>> = Rc::default();
        let a = probe(&log, 1)
            .on_finalize({
                let nested = nested.clone();
                move |_| nested.borrow_mut().push(("finalize", collect()))
            })
            .on_drop({
                let nested = nested.clone();
                move |_| nested.borrow_mut().push(("drop", collect()))
            })
            .build();
        let b = probe(&log, 2)
            .on_drop({
                let nested = nested.clone();
                move |_| {
                    nested
                        .borrow_mut()
                        .push(("drop gen0", collect_generation(0)));
                }
            })
            .build();
        plink(&a, &b);
        plink(&b, &a);
        drop((a, b));
        let cb = gc_core::add_callback({
            let nested = nested.clone();
            move |_, _| nested.borrow_mut().push(("callback", collect()))
        });
        assert_eq!(collect(), 2);
        gc_core::remove_callback(cb);
        let mut got = nested.borrow().clone();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                ("callback", 0),
                ("callback", 0),
                ("drop", 0),
                ("drop gen0", 0),
                ("finalize", 0)
            ]
        );
        assert_eq!(dropped(&log), [1, 2]);
        // A collect() from a Drop outside any collection runs for real.
        let c = node(&log, 5);
        link(&c, &c);
        drop(c);
        let outer: Rc<Cell<usize>> = Rc::default();
        let d = probe(&log, 6)
            .on_drop({
                let outer = outer.clone();
                move |_| outer.set(collect())
            })
            .build();
        drop(d);
        assert_eq!(outer.get(), 1);
    });
}

#[test]
fn drop_during_collection_may_allocate_clone_and_drop() {
    isolated(|| {
        let log = new_log();
        let keep: Rc<RefCell<Vec<Gc<Node>>>> = Rc::default();
        let nlog = new_log();
        let mut ring = Vec::new();
        for id in 0..4 {
            let (keep, nlog) = (keep.clone(), nlog.clone());
            ring.push(
                probe(&log, id)
                    .on_drop(move |p| {
                        // Allocate: a kept node and a fresh garbage cycle.
                        let k = node(&nlog, 100 + p.id);
                        keep.borrow_mut().push(k.clone());
                        let g = node(&nlog, 200 + p.id);
                        link(&g, &g);
                        link(&g, &k);
                        // Clone and drop handles of other (garbage) objects.
                        for e in p.edges.borrow().iter() {
                            let c = e.clone();
                            let _ = Gc::try_deref(&c).map(|v| v.id);
                            drop(c);
                        }
                    })
                    .build(),
            );
        }
        for i in 0..4 {
            plink(&ring[i], &ring[(i + 1) % 4]);
            plink(&ring[i], &ring[(i + 2) % 4]);
        }
        drop(ring);
        assert_eq!(collect(), 4);
        assert_eq!(dropped(&log), [0, 1, 2, 3]);
        assert!(nlog.is_empty());
        assert_eq!(keep.borrow().len(), 4);
        for (i, k) in keep.borrow().iter().enumerate() {
            assert_eq!(k.id, 100 + u32::try_from(i).unwrap());
            assert!(Gc::is_tracked(k));
        }
        assert_eq!(tracked_count(), 8);
        assert_eq!(collect(), 4, "the cycles made by the drops");
        assert_eq!(sorted(&nlog), [200, 201, 202, 203]);
        keep.borrow_mut().clear();
        assert_eq!(sorted(&nlog), [100, 101, 102, 103, 200, 201, 202, 203]);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn drop_during_collection_may_unlink_other_garbage() {
    isolated(|| {
        let log = new_log();
        let a = probe(&log, 1)
            .on_drop(|p| {
                // Empties the other garbage object's edges, if still alive.
                for e in p.edges.borrow().iter() {
                    if let Some(v) = Gc::try_deref(e) {
                        v.edges.borrow_mut().clear();
                    }
                }
            })
            .build();
        let b = probe(&log, 2).finalizable().build();
        let c = probe(&log, 3).build();
        plink(&a, &b);
        plink(&b, &a);
        plink(&b, &c);
        plink(&c, &b);
        drop((a, b, c));
        assert_eq!(collect(), 3);
        assert_eq!(dropped(&log), [1, 2, 3]);
        assert_eq!(finalized(&log), [2]);
        assert_eq!(tracked_count(), 0);
    });
}
