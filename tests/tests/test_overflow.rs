//! SPEC "Safety": every strong-count increment is overflow-checked, on every
//! path (`Clone`, `Weak::upgrade`, the `debug` module, the collector). At the
//! limit a new handle panics before the count changes, so the count never
//! carries into the flag bits above it (which would make a later collection
//! free a block that handles still point to).
//!
//! Each test drives one object's count to the limit by cloning and
//! forgetting handles, 2^28 times: about 7 s per test in a debug build and
//! 0.15 s in a release build on a 2-core machine, days under Miri, so the
//! file is native-only.
#![cfg(not(miri))]

use gc_core::debug::{self, DebugFlags, Scope};
use gc_core::{Gc, Trace, collect};
use gc_tests::{isolated, message};
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

/// The most strong handles one value can have (`Gc`'s `Clone` docs).
const LIMIT: usize = (1 << 28) - 2;

/// The panic message of a strong count that would overflow.
const OVERFLOW: &str = "Gc: too many handles to one value (strong count overflow)";

/// A tracked value (it can hold a `Gc`), so that the collector and the
/// `debug` scans see it.
#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[gc(skip)]
    id: u32,
}

fn node(id: u32) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
        id,
    })
}

/// Clones `g` and forgets the clones until its value has `LIMIT` handles.
fn fill<T: ?Sized>(g: &Gc<T>) {
    for _ in Gc::strong_count(g)..LIMIT {
        std::mem::forget(g.clone());
    }
    assert_eq!(Gc::strong_count(g), LIMIT);
}

/// Runs `f`, expecting the overflow panic.
fn expect_overflow<R>(f: impl FnOnce() -> R) {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected the strong count overflow panic"),
        Err(p) => assert_eq!(message(&*p), OVERFLOW),
    }
}

#[test]
fn clone_at_the_limit_panics_and_the_count_does_not_wrap() {
    isolated(|| {
        let g = node(1);
        // In a cycle with itself, so that collections analyse it.
        *g.next.borrow_mut() = Some(g.clone());
        let weak = Gc::downgrade(&g);
        fill(&g);

        expect_overflow(|| g.clone());
        assert_eq!(Gc::strong_count(&g), LIMIT);
        // `Weak::upgrade` makes a handle the same way.
        expect_overflow(|| weak.upgrade());
        assert_eq!(Gc::strong_count(&g), LIMIT);
        assert!(!Gc::is_dead(&g));
        assert_eq!(g.id, 1);

        // A collection takes its own count on the object (the one value kept
        // spare above the limit) and gives it back: nothing is freed,
        // nothing is marked dead.
        assert_eq!(collect(), 0);
        assert_eq!(Gc::strong_count(&g), LIMIT);
        assert!(!Gc::is_dead(&g));
        assert!(Gc::is_tracked(&g));
        assert_eq!(g.id, 1);
        assert!(Gc::ptr_eq(g.next.borrow().as_ref().unwrap(), &g));
        expect_overflow(|| weak.upgrade());

        // One handle fewer, and cloning works again, up to the limit.
        drop(g.next.borrow_mut().take());
        assert_eq!(Gc::strong_count(&g), LIMIT - 1);
        let again = weak.upgrade().unwrap();
        assert_eq!(Gc::strong_count(&g), LIMIT);
        expect_overflow(|| again.clone());
        assert_eq!(collect(), 0);
        assert_eq!(Gc::strong_count(&g), LIMIT);
        assert_eq!(again.id, 1);
    });
}

#[test]
fn debug_scans_at_the_limit_panic_before_changing_any_count() {
    isolated(|| {
        // `first` comes before `full` in the scan, so its count is taken
        // when `full`'s is refused: it must be given back.
        let first = node(1);
        let full = node(2);
        let last = node(3);
        let spare = Gc::into_raw(full.clone());
        fill(&full);
        let counts = || {
            [
                Gc::strong_count(&first),
                Gc::strong_count(&full),
                Gc::strong_count(&last),
            ]
        };
        assert_eq!(counts(), [1, LIMIT, 1]);

        expect_overflow(|| debug::objects_of::<Node>(Scope::All));
        assert_eq!(counts(), [1, LIMIT, 1]);
        expect_overflow(|| debug::objects_of::<Node>(Scope::Generation(0)));
        assert_eq!(counts(), [1, LIMIT, 1]);
        // The scans that hold a count on every object while user `trace`
        // code runs refuse the same way.
        expect_overflow(|| debug::referrers(&first));
        expect_overflow(|| debug::path_to(&last));
        expect_overflow(debug::dot_heap);
        expect_overflow(|| debug::dot_from(&first));
        expect_overflow(|| debug::dot_to(&full));
        assert_eq!(counts(), [1, LIMIT, 1]);
        // Scans that take no count still work.
        assert_eq!(debug::objects(Scope::All).len(), 3);
        assert_eq!(debug::census(Scope::All)[0].count, 3);
        assert!(!Gc::is_dead(&full));
        assert_eq!(collect(), 0);
        assert_eq!(counts(), [1, LIMIT, 1]);

        // One handle fewer, and `objects_of` works again.
        // SAFETY: `spare` came from `Gc::into_raw` and is given back once.
        drop(unsafe { Gc::from_raw(spare) });
        let found = debug::objects_of::<Node>(Scope::All);
        let mut ids: Vec<u32> = found.iter().map(|g| g.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(counts(), [2, LIMIT, 2]);
        expect_overflow(|| debug::objects_of::<Node>(Scope::All));
        drop(found);
        assert_eq!(counts(), [1, LIMIT - 1, 1]);
        assert_eq!(full.id, 2);
    });
}

#[test]
fn saved_garbage_at_the_limit_panics_before_changing_any_count() {
    isolated(|| {
        debug::set_debug(DebugFlags::SAVE_ALL);
        let x = node(7);
        *x.next.borrow_mut() = Some(x.clone());
        drop(x);
        assert_eq!(collect(), 1);
        let saved = debug::garbage();
        assert_eq!(saved.len(), 1);
        let g: Gc<Node> = saved[0].downcast().unwrap();
        fill(&g);

        expect_overflow(debug::garbage);
        assert_eq!(Gc::strong_count(&g), LIMIT);
        expect_overflow(|| saved[0].clone());
        assert_eq!(Gc::strong_count(&g), LIMIT);
        expect_overflow(|| saved[0].downcast::<Node>());
        assert_eq!(Gc::strong_count(&g), LIMIT);
        // The wrong type is refused before any count is taken.
        assert!(saved[0].downcast::<u8>().is_none());
        assert_eq!(Gc::strong_count(&g), LIMIT);
        assert!(!Gc::is_dead(&g));
        assert_eq!(g.id, 7);

        // A collection, with the object saved and at the limit, changes
        // nothing.
        assert_eq!(collect(), 0);
        assert_eq!(Gc::strong_count(&g), LIMIT);

        debug::set_debug(DebugFlags::empty());
        drop(saved);
        assert_eq!(debug::release_garbage(), 1);
        // The saved list's count and the `Garbage`'s are gone.
        assert_eq!(Gc::strong_count(&g), LIMIT - 2);
        assert_eq!(collect(), 0);
        assert_eq!(Gc::strong_count(&g), LIMIT - 2);
        assert!(!Gc::is_dead(&g));
        assert_eq!(g.id, 7);
    });
}
