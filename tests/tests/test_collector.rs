//! The collector's API (SPEC.md, "The collector"): generations, thresholds
//! and automatic collection, `count`, `stats`, `freeze`, callbacks and
//! `tracked_count`.
//!
//! Every test runs its body on a fresh thread (`isolated`), so it starts with
//! an empty heap of its own: absolute counts are meaningful.

use gc_tests::kit::{DFin, Leaf, Node, link, new_log, node};
use gc_tests::{expect_panic, isolated};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{
    CollectInfo, Gc, GenerationStats, Phase, Trace, collect, collect_generation, count, freeze,
    freeze_count, stats, tracked_count, unfreeze,
};

// --- the collector's API -------------------------------------------------------------

#[test]
fn collect_generation_above_2_panics_with_a_clear_message() {
    isolated(|| {
        for g in [3, 4, usize::MAX] {
            let msg = expect_panic(|| collect_generation(g));
            assert!(msg.contains("generation must be 0, 1 or 2"), "{msg}");
        }
        // Nothing ran, nothing broke.
        assert_eq!(stats(), [GenerationStats::default(); 3]);
        assert_eq!(collect_generation(2), 0);
    });
}

#[test]
fn thresholds_and_enable_flags() {
    isolated(|| {
        assert_eq!(gc_core::threshold(), (2000, 10, 10));
        assert!(gc_core::is_enabled());
        gc_core::set_threshold(5, 6, 7);
        assert_eq!(gc_core::threshold(), (5, 6, 7));
        gc_core::disable();
        assert!(!gc_core::is_enabled());
        assert_eq!(gc_core::threshold(), (5, 6, 7));
        gc_core::enable();
        assert!(gc_core::is_enabled());
        gc_core::set_threshold(2000, 10, 10);
        assert_eq!(gc_core::threshold(), (2000, 10, 10));
    });
}

/// Registers a callback recording the generation of each collection.
fn record_generations() -> (Rc<RefCell<Vec<usize>>>, gc_core::CallbackId) {
    let gens: Rc<RefCell<Vec<usize>>> = Rc::default();
    let id = gc_core::add_callback({
        let gens = gens.clone();
        move |phase, info| {
            if phase == Phase::Start {
                gens.borrow_mut().push(info.generation);
            }
        }
    });
    (gens, id)
}

#[test]
fn automatic_collection_runs_when_count_exceeds_threshold0() {
    isolated(|| {
        let log = new_log();
        gc_core::set_threshold(10, 10, 10);
        let (gens, _) = record_generations();
        let mut keep = Vec::new();
        for i in 0..10 {
            keep.push(node(&log, i));
        }
        assert_eq!(count(), (10, 0, 0));
        assert!(gens.borrow().is_empty(), "10 does not exceed 10");
        keep.push(node(&log, 10));
        assert_eq!(*gens.borrow(), [0]);
        assert_eq!(count(), (0, 1, 0));

        // Deallocations count against allocations.
        for i in 0..10 {
            drop(node(&log, 100 + i));
        }
        assert_eq!(count(), (0, 1, 0));
        assert_eq!(*gens.borrow(), [0]);

        // Untracked allocations do not count.
        for i in 0..100 {
            drop(Gc::new(i));
        }
        assert_eq!(count(), (0, 1, 0));

        // Disabled, or t0 == 0: never automatic.
        gc_core::disable();
        for i in 0..50 {
            keep.push(node(&log, 200 + i));
        }
        assert_eq!(count(), (50, 1, 0));
        gc_core::enable();
        gc_core::set_threshold(0, 10, 10);
        for i in 0..50 {
            keep.push(node(&log, 300 + i));
        }
        assert_eq!(count(), (100, 1, 0));
        assert_eq!(*gens.borrow(), [0]);
        assert!(log.len() == 10, "only the dropped ones");
    });
}

#[test]
fn a_program_that_only_builds_pays_young_steps_only() {
    isolated(|| {
        let log = new_log();
        gc_core::set_threshold(10, 10, 10);
        let (gens, _) = record_generations();
        // Handles are moved into the structure, never dropped: no object
        // loses a reference, so nothing is a candidate.
        let mut head = node(&log, 0);
        for i in 1..20_000 {
            let n = node(&log, i);
            n.edges.borrow_mut().push(head);
            head = n;
        }
        assert!(gens.borrow().iter().all(|&g| g == 0), "{:?}", gens.borrow());
        assert!(gens.borrow().len() > 1_000, "young steps ran");
        assert_eq!(stats()[1].collections + stats()[2].collections, 0);
        assert!(log.is_empty());
        // The list is in generation 2, unexamined.
        assert!(gc_core::debug::objects(gc_core::debug::Scope::Generation(2)).len() >= 19_990);
        drop(head);
        assert_eq!(log.len(), 20_000, "freed by counting");
    });
}

#[test]
fn an_old_cycle_that_loses_its_last_outside_reference_is_found_by_an_old_step() {
    isolated(|| {
        let log = new_log();
        let (a, b) = (node(&log, 1), node(&log, 2));
        link(&a, &b);
        link(&b, &a);
        assert_eq!(collect(), 0); // both old, examined, watched
        gc_core::set_threshold(10, 10, 10);
        let (gens, _) = record_generations();
        drop(b); // a decrement that leaves a count: b becomes a candidate
        drop(a);
        assert_eq!(
            gc_core::debug::objects(gc_core::debug::Scope::Generation(2)).len(),
            2
        );
        let keep: Vec<_> = (0..11).map(|i| node(&log, 100 + i)).collect();
        assert!(gens.borrow().contains(&1), "{:?}", gens.borrow());
        assert_eq!(gc_tests::kit::sorted(&log), [1, 2]);
        drop(keep);
    });
}

#[test]
fn a_cycle_through_a_young_member_and_old_members_is_found_automatically() {
    isolated(|| {
        let log = new_log();
        // `old` is examined and watched; its only handle then moves into a
        // young object, and the young object's own handle is dropped, so no
        // old object is ever decremented.
        let old = node(&log, 1);
        assert_eq!(collect(), 0);
        gc_core::set_threshold(10, 10, 10);
        let young = node(&log, 2);
        let young2 = young.clone();
        old.edges.borrow_mut().push(young2); // old -> young (moved)
        young.edges.borrow_mut().push(old); // young -> old (moved)
        drop(young); // the young member loses its last outside reference
        assert!(log.is_empty());
        let keep: Vec<_> = (0..40).map(|i| node(&log, 100 + i)).collect();
        assert_eq!(
            gc_tests::kit::sorted(&log),
            [1, 2],
            "found without a full collection"
        );
        assert_eq!(stats()[2].collections, 1, "only the explicit one");
        drop(keep);
    });
}

#[test]
fn count_tracks_allocations_and_young_collections() {
    isolated(|| {
        let log = new_log();
        assert_eq!(count(), (0, 0, 0));
        let a = node(&log, 1);
        assert_eq!(count(), (1, 0, 0));
        let leaf = Gc::new(String::from("untracked"));
        assert_eq!(count(), (1, 0, 0));
        let b = node(&log, 2);
        assert_eq!(count(), (2, 0, 0));
        drop(b);
        assert_eq!(count(), (1, 0, 0));
        collect_generation(0);
        assert_eq!(count(), (0, 1, 0));
        collect_generation(0);
        assert_eq!(count(), (0, 2, 0));
        collect_generation(1);
        assert_eq!(count(), (0, 0, 1));
        let c = node(&log, 3);
        assert_eq!(count(), (1, 0, 1));
        collect();
        assert_eq!(count(), (0, 0, 0));
        drop((a, c, leaf));
    });
}

#[test]
fn stats_count_collections_and_collected_per_generation() {
    isolated(|| {
        let log = new_log();
        assert_eq!(stats(), [GenerationStats::default(); 3]);
        let cycles = |n: u32| {
            for i in 0..n {
                let a = node(&log, i);
                link(&a, &a);
            }
        };
        cycles(3);
        assert_eq!(collect_generation(0), 3);
        cycles(2);
        assert_eq!(collect_generation(1), 2);
        cycles(1);
        assert_eq!(collect(), 1);
        assert_eq!(collect(), 0);
        let s = stats();
        assert_eq!(
            [s[0].collections, s[1].collections, s[2].collections],
            [1, 1, 2]
        );
        assert_eq!([s[0].collected, s[1].collected, s[2].collected], [3, 2, 1]);
        for g in &s {
            assert!(g.total_pause >= g.max_pause);
        }
        assert!(format!("{:?}", s[0]).contains("collections"));
    });
}

#[test]
fn freeze_moves_everything_out_of_collections() {
    isolated(|| {
        let log = new_log();
        let live = node(&log, 1);
        let g = node(&log, 2);
        link(&g, &g);
        drop(g);
        assert_eq!(tracked_count(), 2);
        assert_eq!(freeze_count(), 0);
        freeze();
        assert_eq!(freeze_count(), 2);
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0, "frozen garbage is not examined");
        assert!(log.is_empty());

        // New objects are collected as usual.
        let h = node(&log, 3);
        link(&h, &h);
        drop(h);
        assert_eq!(collect(), 1);
        assert_eq!(log.events(), [3]);

        // A frozen object freed by counting leaves the frozen set.
        let extra = node(&log, 4);
        freeze();
        assert_eq!(freeze_count(), 3);
        drop(extra);
        assert_eq!(freeze_count(), 2);
        assert_eq!(log.events(), [3, 4]);

        unfreeze();
        assert_eq!(freeze_count(), 0);
        assert_eq!(tracked_count(), 2);
        assert_eq!(collect(), 1);
        assert_eq!(log.events(), [3, 4, 2]);
        assert_eq!(live.id, 1);
    });
}

#[test]
fn callbacks_see_start_and_stop_of_every_collection() {
    type Event = (u8, Phase, usize, usize, usize);
    isolated(|| {
        let log = new_log();
        let events: Rc<RefCell<Vec<Event>>> = Rc::default();
        let add = |tag: u8| {
            let events = events.clone();
            gc_core::add_callback(move |phase, info: &CollectInfo| {
                events.borrow_mut().push((
                    tag,
                    phase,
                    info.generation,
                    info.collected,
                    info.resurrected,
                ));
            })
        };
        let one = add(1);
        let two = add(2);
        assert_ne!(one, two);
        let a = node(&log, 1);
        let b = node(&log, 2);
        link(&a, &b);
        link(&b, &a);
        drop((a, b));
        assert_eq!(collect_generation(1), 2);
        assert_eq!(
            *events.borrow(),
            [
                (1, Phase::Start, 1, 0, 0),
                (2, Phase::Start, 1, 0, 0),
                (1, Phase::Stop, 1, 2, 0),
                (2, Phase::Stop, 1, 2, 0),
            ]
        );
        events.borrow_mut().clear();
        assert!(gc_core::remove_callback(one));
        assert!(!gc_core::remove_callback(one));
        assert_eq!(collect(), 0);
        assert_eq!(
            *events.borrow(),
            [(2, Phase::Start, 2, 0, 0), (2, Phase::Stop, 2, 0, 0)]
        );
        assert!(gc_core::remove_callback(two));
        events.borrow_mut().clear();
        collect();
        assert!(events.borrow().is_empty());

        // Automatic collections call them too; info is Debug.
        let text: Rc<RefCell<Vec<String>>> = Rc::default();
        let id = gc_core::add_callback({
            let text = text.clone();
            move |phase, info| text.borrow_mut().push(format!("{phase:?} {info:?}"))
        });
        gc_core::set_threshold(5, 10, 10);
        let keep: Vec<_> = (0..6).map(|i| node(&log, 10 + i)).collect();
        assert_eq!(text.borrow().len(), 2);
        assert!(text.borrow()[0].starts_with("Start"));
        assert!(text.borrow()[1].starts_with("Stop"));
        assert!(text.borrow()[1].contains("generation: 0"));
        gc_core::remove_callback(id);
        drop(keep);
    });
}

#[test]
fn callbacks_may_add_and_remove_callbacks() {
    isolated(|| {
        let calls = Rc::new(Cell::new(0));
        let self_id: Rc<Cell<Option<gc_core::CallbackId>>> = Rc::default();
        let id = gc_core::add_callback({
            let (calls, self_id) = (calls.clone(), self_id.clone());
            move |phase, _| {
                calls.set(calls.get() + 1);
                if phase == Phase::Stop {
                    // Removes itself, and registers a no-op.
                    gc_core::remove_callback(self_id.get().unwrap());
                    gc_core::add_callback(|_, _| {});
                }
            }
        });
        self_id.set(Some(id));
        collect();
        collect();
        assert_eq!(calls.get(), 2);
    });
}

#[test]
fn tracked_count_and_is_tracked() {
    isolated(|| {
        let log = new_log();
        // Untracked: values that can never hold a Gc.
        let untracked = (
            Gc::new(1_i32),
            Gc::new(2.5_f64),
            Gc::new(()),
            Gc::new(String::from("s")),
            Gc::new(vec![1_u8, 2]),
            Gc::new(Some((3_u64, [1_i8; 2]))),
            Gc::new(Leaf {
                id: 1,
                log: log.clone(),
            }),
            Gc::new(Gc::downgrade(&node(&log, 99))),
            Gc::new(Rc::new(node(&log, 98))),
            Gc::new(RefCell::new(Cell::new(5_u8))),
        );
        assert_eq!(tracked_count(), 1, "the node behind the Rc");
        assert!(!Gc::is_tracked(&untracked.0));
        assert!(!Gc::is_tracked(&untracked.1));
        assert!(!Gc::is_tracked(&untracked.2));
        assert!(!Gc::is_tracked(&untracked.3));
        assert!(!Gc::is_tracked(&untracked.4));
        assert!(!Gc::is_tracked(&untracked.5));
        assert!(!Gc::is_tracked(&untracked.6));
        assert!(!Gc::is_tracked(&untracked.7), "a weak edge is not an edge");
        assert!(!Gc::is_tracked(&untracked.8), "Rc is never traced");
        assert!(!Gc::is_tracked(&untracked.9));
        let s: Gc<str> = Gc::from("str");
        let bytes: Gc<[u8]> = Gc::from(vec![1, 2, 3]);
        assert!(!Gc::is_tracked(&s));
        assert!(!Gc::is_tracked(&bytes));

        // Tracked: values that may hold one.
        let n = node(&log, 1);
        let tracked = (
            Gc::new(n.clone()),
            Gc::new(vec![n.clone()]),
            Gc::new(RefCell::new(None::<Gc<i32>>)),
            Gc::new(Some(n.clone())),
            Gc::new((1_u8, n.clone())),
            Gc::new(Vec::<Gc<i32>>::new()),
        );
        let slice: Gc<[Gc<Node>]> = Gc::from(vec![n.clone()]);
        assert!(Gc::is_tracked(&n));
        assert!(Gc::is_tracked(&tracked.0));
        assert!(Gc::is_tracked(&tracked.1));
        assert!(Gc::is_tracked(&tracked.2));
        assert!(Gc::is_tracked(&tracked.3));
        assert!(Gc::is_tracked(&tracked.4));
        assert!(Gc::is_tracked(&tracked.5), "empty now, but may hold a Gc");
        assert!(Gc::is_tracked(&slice));
        assert_eq!(tracked_count(), 1 + 1 + 6 + 1);
        assert!(Gc::is_tracked(&Gc::new(DFin {
            id: 5,
            log: log.clone(),
            next: RefCell::new(None)
        })));

        drop(tracked);
        drop(slice);
        assert_eq!(tracked_count(), 2);
        drop(n);
        assert_eq!(tracked_count(), 1);
        drop(untracked);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn automatic_collection_keeps_a_cycle_loop_bounded() {
    isolated(|| {
        #[derive(Trace)]
        struct Cyc {
            next: RefCell<Option<Gc<Cyc>>>,
            drops: Rc<Cell<usize>>,
        }
        impl Drop for Cyc {
            fn drop(&mut self) {
                self.drops.set(self.drops.get() + 1);
            }
        }
        let drops = Rc::new(Cell::new(0));
        let mut max_live = 0;
        for _ in 0..200_000 {
            let a = Gc::new(Cyc {
                next: RefCell::new(None),
                drops: drops.clone(),
            });
            let b = Gc::new(Cyc {
                next: RefCell::new(Some(a.clone())),
                drops: drops.clone(),
            });
            *a.next.borrow_mut() = Some(b);
            drop(a);
            max_live = max_live.max(tracked_count());
        }
        assert!(max_live < 50_000, "{max_live} live tracked objects");
        assert!(drops.get() >= 400_000 - 50_000);
        collect();
        assert_eq!(drops.get(), 400_000);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn garbage_accumulates_while_disabled() {
    isolated(|| {
        let log = new_log();
        gc_core::disable();
        for i in 0..3_000 {
            let a = node(&log, i);
            link(&a, &a);
        }
        assert_eq!(tracked_count(), 3_000);
        assert_eq!(count(), (3_000, 0, 0));
        assert!(log.is_empty());
        assert_eq!(collect(), 3_000);
        assert_eq!(log.len(), 3_000);
        gc_core::enable();
    });
}
