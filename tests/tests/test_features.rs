//! gc-core's foreign-container features (`hashbrown`, `indexmap`,
//! `smallvec`, `arrayvec`, `thin-vec`, `slotmap`, `either`; gc-tests turns
//! them all on): a cycle through each owned container, with
//! `#[derive(Trace)]` alone, is collected. A hand-written walk of a foreign
//! buffer is rejected unless it vouches with `Tracer::trace_owned`.
//! `test_features_persistent.rs` has `imbl` and `rpds`.
//!
//! Each test runs on its own thread (`isolated`), so it has its own heap:
//! `collect()` counts only that test's garbage, and the counts asserted are
//! exact.
#![deny(warnings, clippy::pedantic)]

use std::cell::RefCell;

use arrayvec::{ArrayString, ArrayVec};
use either::Either;
use gc_core::{Gc, Trace, Tracer, collect, stats};
use gc_tests::isolated;
use slotmap::{DefaultKey, DenseSlotMap, KeyData, SecondaryMap, SlotMap, SparseSecondaryMap};
use smallvec::SmallVec;
use thin_vec::ThinVec;

// --- helpers -----------------------------------------------------------------

/// Edges rejected so far by full collections on this thread.
fn rejected() -> usize {
    stats()[2].rejected
}

/// Builds two `N`s (ids 0 and 1) that point at each other through `link`,
/// drops every handle, and checks that one collection frees both, with no
/// edge rejected.
fn two_cycle_collected<N: Trace + 'static>(new: fn(u32) -> N, link: fn(&N, Gc<N>)) {
    let a = Gc::new(new(0));
    let b = Gc::new(new(1));
    assert!(Gc::is_tracked(&a), "a type holding `Gc`s must be tracked");
    link(&a, b.clone());
    link(&b, a.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    let before = rejected();
    drop((a, b));
    assert_eq!(collect(), 2);
    assert!(wa.upgrade().is_none());
    assert!(wb.upgrade().is_none());
    assert_eq!(rejected(), before, "no edge may be rejected");
}

// --- hashbrown -----------------------------------------------------------------

/// Both the keys and the values of the map hold `Gc`s.
#[derive(Trace)]
struct HbMap {
    id: u32,
    map: RefCell<hashbrown::HashMap<Gc<HbMap>, Gc<HbMap>>>,
}

#[derive(Trace)]
struct HbSet {
    id: u32,
    set: RefCell<hashbrown::HashSet<Gc<HbSet>>>,
}

#[derive(Trace)]
struct HbTable {
    table: RefCell<hashbrown::HashTable<Gc<HbTable>>>,
}

gc_tests::by_id!(HbMap, HbSet);

#[test]
fn hashbrown_map_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |id| HbMap {
                id,
                map: RefCell::default(),
            },
            |n, to| {
                n.map.borrow_mut().insert(to.clone(), to);
            },
        );
    });
}

#[test]
fn hashbrown_set_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |id| HbSet {
                id,
                set: RefCell::default(),
            },
            |n, to| {
                n.set.borrow_mut().insert(to);
            },
        );
    });
}

#[test]
fn hashbrown_table_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| HbTable {
                table: RefCell::new(hashbrown::HashTable::new()),
            },
            |n, to| {
                n.table.borrow_mut().insert_unique(7, to, |_| 7);
            },
        );
    });
}

// --- indexmap ------------------------------------------------------------------

/// Both the keys and the values of the map hold `Gc`s.
#[derive(Trace)]
struct IxMap {
    id: u32,
    map: RefCell<indexmap::IndexMap<Gc<IxMap>, Gc<IxMap>>>,
}

#[derive(Trace)]
struct IxSet {
    id: u32,
    set: RefCell<indexmap::IndexSet<Gc<IxSet>>>,
}

/// A boxed `map::Slice`: the `Box` vouches for it, the slice traces its
/// entries.
#[derive(Trace)]
struct IxBoxedSlice {
    entries: RefCell<Box<indexmap::map::Slice<u32, Gc<IxBoxedSlice>>>>,
}

gc_tests::by_id!(IxMap, IxSet);

#[test]
fn indexmap_map_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |id| IxMap {
                id,
                map: RefCell::default(),
            },
            |n, to| {
                n.map.borrow_mut().insert(to.clone(), to);
            },
        );
    });
}

#[test]
fn indexmap_set_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |id| IxSet {
                id,
                set: RefCell::default(),
            },
            |n, to| {
                n.set.borrow_mut().insert(to);
            },
        );
    });
}

#[test]
fn indexmap_boxed_slice_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| IxBoxedSlice {
                entries: RefCell::new(indexmap::IndexMap::new().into_boxed_slice()),
            },
            |n, to| {
                let map: indexmap::IndexMap<u32, Gc<IxBoxedSlice>> =
                    [(0, to)].into_iter().collect();
                *n.entries.borrow_mut() = map.into_boxed_slice();
            },
        );
    });
}

// --- smallvec ------------------------------------------------------------------

#[derive(Trace)]
struct Sv {
    v: RefCell<SmallVec<[Gc<Sv>; 2]>>,
}

#[test]
fn smallvec_inline_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Sv {
                v: RefCell::default(),
            },
            |n, to| {
                n.v.borrow_mut().push(to);
                assert!(!n.v.borrow().spilled());
            },
        );
    });
}

#[test]
fn smallvec_spilled_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Sv {
                v: RefCell::default(),
            },
            |n, to| {
                n.v.borrow_mut().extend([to.clone(), to.clone(), to]);
                assert!(n.v.borrow().spilled());
            },
        );
    });
}

#[test]
fn smallvec_of_leaves_is_untracked() {
    #[derive(Trace)]
    struct Leaves {
        v: RefCell<SmallVec<[u32; 4]>>,
    }
    isolated(|| {
        let l = Gc::new(Leaves {
            v: RefCell::default(),
        });
        l.v.borrow_mut().push(1);
        assert!(!Gc::is_tracked(&l));
    });
}

// --- arrayvec ------------------------------------------------------------------

#[derive(Trace)]
struct Av {
    v: RefCell<ArrayVec<Gc<Av>, 4>>,
}

#[test]
fn arrayvec_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Av {
                v: RefCell::default(),
            },
            |n, to| n.v.borrow_mut().push(to),
        );
    });
}

#[test]
fn arraystring_and_arrayvec_of_leaves_are_untracked() {
    #[derive(Trace)]
    struct Leaves {
        name: ArrayString<16>,
        v: ArrayVec<u32, 4>,
    }
    isolated(|| {
        let l = Gc::new(Leaves {
            name: ArrayString::from("leaf").unwrap(),
            v: ArrayVec::new(),
        });
        assert!(!Gc::is_tracked(&l));
        assert_eq!((l.name.as_str(), l.v.len()), ("leaf", 0));
    });
}

// --- thin-vec ------------------------------------------------------------------

#[derive(Trace)]
struct Tv {
    v: RefCell<ThinVec<Gc<Tv>>>,
}

#[test]
fn thin_vec_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Tv {
                v: RefCell::default(),
            },
            |n, to| n.v.borrow_mut().push(to),
        );
    });
}

// --- slotmap -------------------------------------------------------------------

#[derive(Trace)]
struct Sm {
    m: RefCell<SlotMap<DefaultKey, Gc<Sm>>>,
}

#[derive(Trace)]
struct Dsm {
    m: RefCell<DenseSlotMap<DefaultKey, Gc<Dsm>>>,
}

/// In a module of its own: the derive's impl names the deprecated type too.
mod hop {
    #![allow(deprecated, reason = "`HopSlotMap` is deprecated but still supported")]
    use super::{DefaultKey, Gc, RefCell, Trace};

    #[derive(Trace)]
    pub(super) struct Hsm {
        pub(super) m: RefCell<slotmap::HopSlotMap<DefaultKey, Gc<Hsm>>>,
    }
}
use hop::Hsm;

#[derive(Trace)]
struct Sec {
    m: RefCell<SecondaryMap<DefaultKey, Gc<Sec>>>,
}

#[derive(Trace)]
struct Ssec {
    m: RefCell<SparseSecondaryMap<DefaultKey, Gc<Ssec>>>,
}

/// A fresh key for the secondary maps.
fn some_key() -> DefaultKey {
    SlotMap::new().insert(())
}

#[test]
fn slotmap_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Sm {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(to);
            },
        );
    });
}

#[test]
fn dense_slotmap_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Dsm {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(to);
            },
        );
    });
}

#[test]
fn hop_slotmap_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Hsm {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(to);
            },
        );
    });
}

#[test]
fn secondary_map_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Sec {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(some_key(), to);
            },
        );
    });
}

#[test]
fn sparse_secondary_map_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |_| Ssec {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(some_key(), to);
            },
        );
    });
}

#[test]
fn slotmap_keys_are_leaves() {
    #[derive(Trace)]
    struct Keys {
        key: DefaultKey,
        data: KeyData,
        map: SlotMap<DefaultKey, u32>,
    }
    isolated(|| {
        let key = some_key();
        let k = Gc::new(Keys {
            key,
            data: slotmap::Key::data(&key),
            map: SlotMap::new(),
        });
        assert!(!Gc::is_tracked(&k));
        assert_eq!((k.key, k.map.len()), (key, 0));
        assert_eq!(k.data, slotmap::Key::data(&key));
    });
}

// --- either --------------------------------------------------------------------

/// An optional edge.
type Link<N> = Option<Gc<N>>;

/// Node 0 points to node 1 through `Left`, node 1 to node 0 through `Right`.
#[derive(Trace)]
struct Ei {
    id: u32,
    e: RefCell<Either<Link<Ei>, Link<Ei>>>,
}

#[test]
fn either_cycle_is_collected() {
    isolated(|| {
        two_cycle_collected(
            |id| Ei {
                id,
                e: RefCell::new(Either::Left(None)),
            },
            |n, to| {
                *n.e.borrow_mut() = if n.id == 0 {
                    Either::Left(Some(to))
                } else {
                    Either::Right(Some(to))
                };
            },
        );
    });
}

#[test]
fn either_of_leaves_is_untracked() {
    #[derive(Trace)]
    struct Leaves {
        e: Either<u32, String>,
    }
    isolated(|| {
        let l = Gc::new(Leaves {
            e: Either::Right("leaf".into()),
        });
        assert!(!Gc::is_tracked(&l));
        assert_eq!(l.e.as_ref().right().map(String::as_str), Some("leaf"));
    });
}

// --- hand-written walks of a foreign buffer --------------------------------------

/// Walks its spilled `SmallVec` by hand: the handles lie in a heap buffer
/// that nobody vouched for, so the collector ignores them.
#[derive(Default)]
struct ByHand {
    v: RefCell<SmallVec<[Gc<ByHand>; 1]>>,
}

impl Trace for ByHand {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(v) = tracer.borrow(&self.v) {
            for x in v {
                x.trace(tracer);
            }
        }
    }
}

/// The same walk, vouching for each element with `trace_owned`.
#[derive(Default)]
struct Vouched {
    v: RefCell<SmallVec<[Gc<Vouched>; 1]>>,
}

impl Trace for Vouched {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(v) = tracer.borrow(&self.v) {
            for x in v {
                // SAFETY: the elements belong to this node alone, and the
                // borrow taken by `Tracer::borrow` keeps them in place for
                // the whole tracing phase.
                unsafe { tracer.trace_owned(x) };
            }
        }
    }
}

#[test]
fn hand_walk_of_a_spilled_smallvec_is_rejected_and_leaks() {
    isolated(|| {
        let a = Gc::new(ByHand::default());
        a.v.borrow_mut().extend([a.clone(), a.clone()]);
        assert!(a.v.borrow().spilled());
        let w = Gc::downgrade(&a);
        let before = rejected();
        drop(a);
        assert_eq!(
            collect(),
            0,
            "the unvouched edges are ignored: the cycle leaks"
        );
        assert_eq!(rejected() - before, 2, "both handles are rejected");
        let a = w.upgrade().expect("kept alive");
        a.v.borrow_mut().clear();
        drop(a);
        assert!(w.upgrade().is_none());
    });
}

#[test]
fn hand_walk_with_trace_owned_is_collected() {
    isolated(|| {
        let a = Gc::new(Vouched::default());
        a.v.borrow_mut().extend([a.clone(), a.clone()]);
        assert!(a.v.borrow().spilled());
        let w = Gc::downgrade(&a);
        let before = rejected();
        drop(a);
        assert_eq!(collect(), 1);
        assert_eq!(rejected(), before);
        assert!(w.upgrade().is_none());
    });
}

/// Reports a `SmallVec` that lies outside its own value (in a leaked box),
/// through the `SmallVec`'s own impl: that impl vouches for nothing, inline
/// or spilled, because the `SmallVec` itself is not in owned memory.
struct Outside {
    v: RefCell<Option<&'static SmallVec<[Gc<Outside>; 2]>>>,
}

impl Trace for Outside {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(&Some(v)) = tracer.borrow(&self.v) {
            v.trace(tracer); // `SmallVec`'s impl (`v: &SmallVec`)
        }
    }
}

#[test]
fn smallvec_outside_owned_memory_is_not_vouched_for() {
    for handles in [1, 3] {
        isolated(move || {
            let a = Gc::new(Outside {
                v: RefCell::new(None),
            });
            let sv: SmallVec<[Gc<Outside>; 2]> = (0..handles).map(|_| a.clone()).collect();
            assert_eq!(sv.spilled(), handles > 2);
            let leaked: *mut SmallVec<[Gc<Outside>; 2]> = Box::into_raw(Box::new(sv));
            // SAFETY: `leaked` came from `Box::into_raw` and is freed only
            // below, after the last use of this reference.
            *a.v.borrow_mut() = Some(unsafe { &*leaked });
            let w = Gc::downgrade(&a);
            let before = rejected();
            drop(a);
            assert_eq!(collect(), 0);
            assert_eq!(rejected() - before, handles);
            let a = w.upgrade().expect("kept alive");
            *a.v.borrow_mut() = None;
            // SAFETY: from `Box::into_raw` above; the only reference to it
            // was just dropped, and the collector has finished with it.
            drop(unsafe { Box::from_raw(leaked) });
            drop(a);
            assert!(w.upgrade().is_none());
        });
    }
}
