//! SPEC "Safety": `Pin` holds. A value made by `Gc::pin` is never moved out
//! and its memory is not reused before its `Drop` ran, even through the
//! plain `Gc<T>` handles that `debug::objects_of` and `Garbage::downcast`
//! hand out: `try_unwrap` and `into_inner` fail, `unwrap_or_clone` and
//! `make_mut` clone, and `get_mut` returns `None`, as if another handle
//! existed, also once the `Pin` itself is gone.
//!
//! The pinned type is `!Unpin` and records, in its `Drop`, its address: a
//! value that was moved would be dropped somewhere else (or twice, or never).

use gc_core::debug::{self, DebugFlags, Scope};
use gc_core::{Gc, Trace, collect};
use gc_tests::isolated;
use std::cell::RefCell;
use std::marker::PhantomPinned;
use std::ptr;

thread_local! {
    /// `(id, address)` of every `Pinned` value dropped on this thread.
    static DROPS: RefCell<Vec<(u32, usize)>> = const { RefCell::new(Vec::new()) };
}

/// The addresses at which the value `id` was dropped, in order.
fn drops_of(id: u32) -> Vec<usize> {
    DROPS.with(|d| {
        d.borrow()
            .iter()
            .filter(|&&(i, _)| i == id)
            .map(|&(_, a)| a)
            .collect()
    })
}

/// Clones get `id + CLONE`.
const CLONE: u32 = 1000;

/// A `!Unpin` value that can be part of a cycle (so it is tracked, and
/// `debug` sees it).
#[derive(Trace)]
struct Pinned {
    me: RefCell<Option<Gc<Pinned>>>,
    id: u32,
    _pin: PhantomPinned,
}

impl Pinned {
    fn new(id: u32) -> Pinned {
        Pinned {
            me: RefCell::new(None),
            id,
            _pin: PhantomPinned,
        }
    }
}

impl Clone for Pinned {
    fn clone(&self) -> Self {
        Pinned::new(self.id + CLONE)
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let at = ptr::from_ref(self).addr();
        DROPS.with(|d| d.borrow_mut().push((self.id, at)));
    }
}

/// How the test gets a plain `Gc` to a pinned value.
#[derive(Clone, Copy, Debug)]
enum Source {
    ObjectsOf,
    Garbage,
}

/// Pins a new value `id`, gets a plain handle to it from `source`, and drops
/// the `Pin`: returns the handle (now the only one) and the value's address.
fn pinned(id: u32, source: Source) -> (Gc<Pinned>, usize) {
    let p = Gc::pin(Pinned::new(id));
    let at = ptr::from_ref::<Pinned>(&p).addr();
    let found = || {
        let mut v = debug::objects_of::<Pinned>(Scope::All);
        v.retain(|g| g.id == id);
        assert_eq!(v.len(), 1);
        v.pop().unwrap()
    };
    let g = match source {
        Source::ObjectsOf => {
            let g = found();
            assert_eq!(Gc::strong_count(&g), 2);
            drop(p);
            g
        }
        Source::Garbage => {
            // Make the value cyclic garbage (through a handle from
            // `objects_of`), let `SAVE_ALL` keep it, and take it back.
            debug::set_debug(DebugFlags::SAVE_ALL);
            *p.me.borrow_mut() = Some(found());
            drop(p);
            assert_eq!(collect(), 1);
            assert!(drops_of(id).is_empty(), "SAVE_ALL keeps the value");
            let saved = debug::garbage();
            assert_eq!(saved.len(), 1);
            let g: Gc<Pinned> = saved[0].downcast().unwrap();
            drop(saved);
            debug::set_debug(DebugFlags::empty());
            assert_eq!(debug::release_garbage(), 1);
            let edge = g.me.borrow_mut().take();
            drop(edge);
            g
        }
    };
    assert_eq!(ptr::from_ref::<Pinned>(&g).addr(), at);
    assert_eq!(Gc::strong_count(&g), 1);
    assert_eq!(Gc::weak_count(&g), 0);
    assert!(drops_of(id).is_empty());
    (g, at)
}

/// Runs `f` with a plain handle from each source, on a fresh heap each.
fn each_source(f: fn(Gc<Pinned>, usize, u32)) {
    for (id, source) in (1..).zip([Source::ObjectsOf, Source::Garbage]) {
        isolated(move || {
            let (g, at) = pinned(id, source);
            f(g, at, id);
        });
    }
}

#[test]
fn get_mut_refuses_a_pinned_value() {
    each_source(|mut g, at, id| {
        assert!(Gc::get_mut(&mut g).is_none());
        assert!(Gc::get_mut(&mut g).is_none());
        assert_eq!(g.id, id);
        assert!(drops_of(id).is_empty());
        drop(g);
        assert_eq!(drops_of(id), [at]);
    });
}

#[test]
fn try_unwrap_refuses_a_pinned_value() {
    each_source(|g, at, id| {
        let Err(g) = Gc::try_unwrap(g) else {
            panic!("try_unwrap moved a pinned value out");
        };
        assert_eq!(Gc::as_ptr(&g).addr(), at);
        assert_eq!(Gc::strong_count(&g), 1);
        assert!(!Gc::is_dead(&g));
        assert_eq!(g.id, id);
        assert!(drops_of(id).is_empty());
        drop(g);
        assert_eq!(drops_of(id), [at]);
    });
}

#[test]
fn into_inner_refuses_a_pinned_value_and_drops_it_in_place() {
    each_source(|g, at, id| {
        assert!(Gc::into_inner(g).is_none());
        // That was the last handle: the value was dropped where it was.
        assert_eq!(drops_of(id), [at]);
    });
}

#[test]
fn unwrap_or_clone_clones_a_pinned_value() {
    each_source(|g, at, id| {
        let v = Gc::unwrap_or_clone(g);
        assert_eq!(v.id, id + CLONE);
        assert_eq!(drops_of(id), [at]);
        drop(v);
        assert_eq!(drops_of(id), [at]);
        assert_eq!(drops_of(id + CLONE).len(), 1);
    });
}

#[test]
fn make_mut_clones_a_pinned_value() {
    each_source(|mut g, at, id| {
        let m = Gc::make_mut(&mut g);
        assert_eq!(m.id, id + CLONE);
        m.id += 1;
        assert_ne!(Gc::as_ptr(&g).addr(), at);
        // The handle moved to the clone; the pinned value lost its last
        // handle and was dropped where it was.
        assert_eq!(drops_of(id), [at]);
        assert_eq!(g.id, id + CLONE + 1);
        assert!(Gc::get_mut(&mut g).is_some(), "the clone is not pinned");
        drop(g);
        assert_eq!(drops_of(id), [at]);
        assert_eq!(drops_of(id + CLONE + 1).len(), 1);
    });
}

#[test]
fn a_pinned_value_is_not_reused_or_moved_before_its_drop() {
    each_source(|g, at, id| {
        // Allocate values of the same type (and so the same slab size
        // class), and collect, while only the plain handle keeps the value.
        let others: Vec<Gc<Pinned>> = (0..1000).map(|i| Gc::new(Pinned::new(100 + i))).collect();
        let pins: Vec<_> = (0..100).map(|i| Gc::pin(Pinned::new(2000 + i))).collect();
        assert_eq!(collect(), 0);
        assert!(others.iter().all(|o| Gc::as_ptr(o).addr() != at));
        assert!(pins.iter().all(|p| ptr::from_ref::<Pinned>(p).addr() != at));
        drop((others, pins));
        assert_eq!(collect(), 0);
        assert_eq!(Gc::as_ptr(&g).addr(), at);
        assert_eq!(g.id, id);
        assert!(drops_of(id).is_empty());

        // The value in a cycle again, then garbage: the collector drops it
        // once, in place.
        let Err(g2) = Gc::try_unwrap(g) else {
            panic!("try_unwrap moved a pinned value out");
        };
        *g2.me.borrow_mut() = Some(g2.clone());
        drop(g2);
        assert!(drops_of(id).is_empty());
        assert_eq!(collect(), 1);
        assert_eq!(drops_of(id), [at]);
    });
}

#[test]
fn unpinned_values_still_move() {
    isolated(|| {
        let a = Gc::new(Pinned::new(1));
        drop(a.clone());
        let g = debug::objects_of::<Pinned>(Scope::All).pop().unwrap();
        drop(a);
        let v = Gc::try_unwrap(g).ok().unwrap();
        assert_eq!(v.id, 1);
        assert!(drops_of(1).is_empty());
        drop(v);
        assert_eq!(drops_of(1).len(), 1);
    });
}
