//! A set of whole generations entered lazily (`scan::partition`): members
//! of every generation and kind of list, and the fall-back to entering
//! everything first when an untrusted member comes after trusted ones.

use std::cell::RefCell;

use super::{Drops, heap_lists_consistent, link, node, trusted};
use crate::header::{Flag, LOC_GEN1, LOC_GEN2};
use crate::{Gc, collect, collect_generation};

/// A trusted node that counts its drops.
#[derive(crate::Trace)]
struct T {
    next: RefCell<Vec<Gc<T>>>,
    big: RefCell<Option<Gc<Big>>>,
    #[gc(skip)]
    drops: Drops,
}

impl Drop for T {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

/// A trusted node too large for a slab block: kept in a generation list
/// even in generation 2 (an `INLINE` object).
#[derive(crate::Trace)]
struct Big {
    next: RefCell<Vec<Gc<T>>>,
    #[gc(skip)]
    _pad: [u64; 128],
}

fn t(d: &Drops) -> Gc<T> {
    Gc::new(T {
        next: RefCell::new(Vec::new()),
        big: RefCell::new(None),
        drops: d.clone(),
    })
}

fn point(a: &Gc<T>, b: &Gc<T>) {
    a.next.borrow_mut().push(b.clone());
}

/// The generation of `g`'s object, and whether it is `INLINE`.
fn place<V: ?Sized>(g: &Gc<V>) -> (u32, bool) {
    let obj = Gc::obj(g).unwrap();
    (obj.loc(), obj.has(Flag::Inline))
}

#[test]
fn cycles_through_every_generation_are_found() {
    let d = Drops::default();
    // Generation 2: `old` on a typed page (in no list; listed without the
    // slab), `big` listed.
    let old = t(&d);
    let big = Gc::new(Big {
        next: RefCell::new(Vec::new()),
        _pad: [0; 128],
    });
    assert!(trusted(&old) && trusted(&big));
    collect_generation(0);
    collect_generation(1);
    // Without the slab (`--cfg gc_system_alloc`) every object is `INLINE`,
    // so listed.
    let typed = !cfg!(gc_system_alloc);
    assert_eq!(
        place(&old),
        (LOC_GEN2, !typed),
        "typed, in no list (with the slab)"
    );
    assert_eq!(place(&big), (LOC_GEN2, true), "listed");
    // Generation 1: `middle`.
    let middle = t(&d);
    collect_generation(0);
    assert_eq!(Gc::obj(&middle).unwrap().loc(), LOC_GEN1);
    // Generation 0: `young`, and a live `shared` that the garbage points
    // to, made after `young` so that an edge reaches it before the loop.
    let young = t(&d);
    let shared = t(&d);
    // young -> middle -> old -> big -> young is garbage once the handles
    // go; each points to `shared` as well. A reachable ring r0 <-> r1
    // lives through it all.
    point(&young, &middle);
    point(&middle, &old);
    *old.big.borrow_mut() = Some(big.clone());
    big.next.borrow_mut().push(young.clone());
    for x in [&young, &middle, &old] {
        point(x, &shared);
    }
    big.next.borrow_mut().push(shared.clone());
    let r0 = t(&d);
    let r1 = t(&d);
    point(&r0, &r1);
    point(&r1, &r0);
    point(&r1, &young);
    drop((middle, old, big));
    // Held by r1 and `young`'s handle: nothing is garbage yet.
    assert_eq!(collect(), 0);
    heap_lists_consistent();
    drop(young);
    r1.next.borrow_mut().pop();
    assert_eq!(collect(), 4, "young, middle, old and big");
    assert_eq!(
        d.get(),
        3,
        "young, middle and old dropped; shared and the ring live"
    );
    assert_eq!(Gc::strong_count(&shared), 1);
    assert_eq!(Gc::strong_count(&r0), 2);
    heap_lists_consistent();
    drop((r0, r1));
    assert_eq!(collect(), 2);
    assert_eq!(d.get(), 5);
    drop(shared);
    assert_eq!(d.get(), 6);
}

#[test]
fn an_untrusted_member_after_trusted_ones_starts_over() {
    // Generation 0 in this order: `b` (trusted, garbage), `a` (trusted,
    // live through the handle kept here), `u` (hand-written trace). `b` is
    // traced, subtracting its edge to `a`, before `u` ends the lazy
    // attempt; the scratch counts must be taken anew, or `a` would look
    // referenced only by garbage.
    let d = Drops::default();
    let b = t(&d);
    let a = t(&d);
    let u = node(&d);
    assert!(!trusted(&u));
    point(&b, &a);
    link(&u, &u);
    let b_weak = Gc::downgrade(&b);
    // b -> a, and b in a cycle with itself.
    point(&b, &b);
    drop((b, u));
    assert_eq!(collect(), 2, "b and u");
    assert!(b_weak.upgrade().is_none());
    assert_eq!(d.get(), 2);
    assert_eq!(Gc::strong_count(&a), 1);
    heap_lists_consistent();
    drop(a);
    assert_eq!(d.get(), 3);
}

#[test]
fn a_trace_that_clones_after_the_fall_back_keeps_everything() {
    // The fall-back is the usual analysis: an untrusted trace that makes a
    // handle to a member still keeps the whole set.
    struct Cloner(RefCell<Option<Gc<T>>>, RefCell<Vec<Gc<T>>>);
    impl crate::Trace for Cloner {
        fn trace<'a>(&'a self, tracer: &mut crate::Tracer<'a>) {
            if let Some(x) = &*self.0.borrow() {
                self.1.borrow_mut().push(x.clone());
            }
            self.0.trace(tracer);
        }
    }
    let d = Drops::default();
    let first = t(&d);
    point(&first, &first);
    let cl = Gc::new(Cloner(
        RefCell::new(Some(first.clone())),
        RefCell::new(Vec::new()),
    ));
    drop(first);
    assert_eq!(
        collect(),
        0,
        "a handle made during the analysis keeps the set"
    );
    assert_eq!(d.get(), 0);
    let kept = cl.1.borrow_mut().pop().expect("the trace cloned one");
    drop(cl);
    assert_eq!(Gc::strong_count(&kept), 2, "its own edge and `kept`");
    drop(kept);
    assert!(collect() >= 1);
    assert_eq!(d.get(), 1);
}

/// Members with 255 edges or more keep their count out of line (`wide`):
/// the marking step must find every edge of each, before and after them.
#[test]
fn members_with_hundreds_of_edges_are_marked_through() {
    // Under Miri (70 s for all four) one wide case: the degree byte says
    // "see `wide`", which holds the count.
    let fans: &[usize] = if cfg!(miri) {
        &[256]
    } else {
        &[254, 255, 256, 700]
    };
    for &fan in fans {
        let d = Drops::default();
        // A reachable hub with `fan` children, each pointing back, then a
        // small node after it that only the last child reaches.
        let hub = t(&d);
        let kids: Vec<Gc<T>> = (0..fan).map(|_| t(&d)).collect();
        for k in &kids {
            point(&hub, k);
            point(k, &hub);
        }
        let tail = t(&d);
        point(kids.last().unwrap(), &tail);
        drop(kids);
        drop(tail);
        assert_eq!(collect(), 0, "fan {fan}: all reachable from `hub`");
        assert_eq!(d.get(), 0);
        heap_lists_consistent();
        // The same shape as garbage.
        drop(hub);
        assert_eq!(collect(), fan + 2, "fan {fan}: all garbage");
        assert_eq!(d.get(), fan + 2);
    }
}
