//! `#[derive(Trace)]`, part 1: every field kind, every item shape and the
//! `#[gc(skip)]`, `#[gc(with = "...")]` and `#[gc(bound = "...")]` options
//! trace what they should (`test_derive_expansion.rs` has the rest).
//!
//! Each test runs on its own thread, so it has its own heap: `collect()`
//! counts only that test's garbage, and the counts asserted are exact.
#![deny(warnings, clippy::pedantic)]

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Mutex;

use gc_core::{Gc, Trace, Tracer, Weak, collect};

// --- helpers -----------------------------------------------------------------

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

/// Counts its drops in `DROPS` (per thread).
#[derive(Trace, Default)]
struct Probe;

impl Drop for Probe {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

fn drops() -> usize {
    DROPS.with(Cell::get)
}

/// Compiles only if `T: Trace`.
fn assert_trace<T: Trace + ?Sized>() {}

/// A type that does not implement `Trace`.
struct NotTrace;

fn tracked<T: Trace + 'static>(value: T) -> bool {
    Gc::is_tracked(&Gc::new(value))
}

// --- every field kind ----------------------------------------------------------

/// A derived generic type, used as a field.
#[derive(Trace, Default)]
struct Holder<T> {
    inner: RefCell<T>,
}

/// One node of a ring whose every link goes through a different kind of
/// field: if any kind were not traced, its target would look referenced from
/// outside and the whole ring would survive.
#[derive(Trace, Default)]
struct Hub {
    probe: Probe,
    direct: RefCell<Option<Gc<Hub>>>,
    boxed: RefCell<Option<Box<Gc<Hub>>>>,
    list: RefCell<Vec<Gc<Hub>>>,
    deque: RefCell<VecDeque<Gc<Hub>>>,
    map: RefCell<HashMap<u8, Gc<Hub>>>,
    btree: RefCell<BTreeMap<Gc<i32>, Gc<Hub>>>,
    pair: RefCell<Option<(u8, Gc<Hub>)>>,
    array: RefCell<[Option<Gc<Hub>>; 2]>,
    once: OnceCell<Gc<Hub>>,
    result: RefCell<Option<Result<u8, Gc<Hub>>>>,
    generic: Holder<Option<Gc<Hub>>>,
    mutex: Mutex<Option<Gc<Hub>>>,
    weak: RefCell<Weak<Hub>>,
    shared: Option<Rc<u8>>,
}

type Link = fn(&Hub, Gc<Hub>);

#[test]
fn a_ring_through_every_field_kind_is_collected() {
    let links: [Link; 13] = [
        |h, n| *h.direct.borrow_mut() = Some(n),
        |h, n| *h.boxed.borrow_mut() = Some(Box::new(n)),
        |h, n| h.list.borrow_mut().push(n),
        |h, n| h.deque.borrow_mut().push_back(n),
        |h, n| drop(h.map.borrow_mut().insert(7, n)),
        |h, n| drop(h.btree.borrow_mut().insert(Gc::new(1), n)),
        |h, n| *h.pair.borrow_mut() = Some((1, n)),
        |h, n| h.array.borrow_mut()[1] = Some(n),
        |h, n| assert!(h.once.set(n).is_ok()),
        |h, n| *h.result.borrow_mut() = Some(Err(n)),
        |h, n| *h.generic.inner.borrow_mut() = Some(n),
        |h, n| *h.mutex.lock().unwrap() = Some(n),
        // Weak edges are not strong edges: the ring is closed by `direct`.
        |h, n| {
            *h.weak.borrow_mut() = Gc::downgrade(&n);
            *h.direct.borrow_mut() = Some(n);
        },
    ];
    let nodes: Vec<Gc<Hub>> = (0..links.len())
        .map(|_| {
            Gc::new(Hub {
                shared: Some(Rc::new(0)),
                ..Hub::default()
            })
        })
        .collect();
    assert!(Gc::is_tracked(&nodes[0]));
    for (i, link) in links.iter().enumerate() {
        link(&nodes[i], nodes[(i + 1) % nodes.len()].clone());
    }
    let weak = Gc::downgrade(&nodes[0]);
    drop(nodes);
    assert_eq!(collect(), links.len());
    assert_eq!(drops(), links.len());
    assert!(weak.upgrade().is_none());
}

// --- every item shape ----------------------------------------------------------

#[derive(Trace)]
struct Tuple(Probe, RefCell<Option<Gc<Tuple>>>);

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct EmptyNamed {}

#[derive(Trace)]
struct EmptyTuple();

#[derive(Trace)]
enum Void {}

#[derive(Trace)]
enum Shape {
    Unit,
    EmptyNamed {},
    EmptyTuple(),
    Tuple(Probe, RefCell<Option<Gc<Shape>>>),
    Named {
        probe: Probe,
        next: RefCell<Option<Gc<Shape>>>,
    },
    Many(RefCell<Vec<Gc<Shape>>>),
}

#[test]
fn tuple_struct_cycle_is_collected() {
    let a = Gc::new(Tuple(Probe, RefCell::new(None)));
    let b = Gc::new(Tuple(Probe, RefCell::new(Some(a.clone()))));
    *a.1.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(collect(), 2);
    assert_eq!(drops(), 2);
}

#[test]
fn fieldless_structs_and_empty_enums_are_untracked() {
    assert!(!tracked(Unit));
    assert!(!tracked(EmptyNamed {}));
    assert!(!tracked(EmptyTuple()));
    assert!(!tracked(Option::<Void>::None));
    assert_trace::<Void>();
}

#[test]
fn a_cycle_through_every_variant_shape_is_collected() {
    let tuple = Gc::new(Shape::Tuple(Probe, RefCell::new(None)));
    let named = Gc::new(Shape::Named {
        probe: Probe,
        next: RefCell::new(Some(tuple.clone())),
    });
    let many = Gc::new(Shape::Many(RefCell::new(vec![
        named,
        Gc::new(Shape::Unit),
        Gc::new(Shape::EmptyNamed {}),
        Gc::new(Shape::EmptyTuple()),
    ])));
    let Shape::Tuple(_, next) = &*tuple else {
        unreachable!()
    };
    *next.borrow_mut() = Some(many);
    drop(tuple);
    // The 3 nodes of the cycle and the 3 fieldless nodes only it reached.
    assert_eq!(collect(), 6);
    assert_eq!(drops(), 2);
}

// --- #[gc(skip)] -------------------------------------------------------------

/// Field 0 is skipped; field 2 is traced. Tuple indices must be those of the
/// declaration, not of the traced fields (dumpster PR #85).
#[derive(Trace)]
struct Indexed(
    #[gc(skip, leak)] RefCell<Option<Gc<Indexed>>>,
    Probe,
    RefCell<Option<Gc<Indexed>>>,
);

#[derive(Trace)]
#[allow(dead_code, reason = "skipped fields are not read by anything")]
enum IndexedEnum {
    V(
        #[gc(skip, leak)] RefCell<Option<Gc<IndexedEnum>>>,
        RefCell<Option<Gc<IndexedEnum>>>,
    ),
    W {
        #[gc(skip, leak)]
        hidden: RefCell<Option<Gc<IndexedEnum>>>,
        #[gc(skip)]
        raw: NotTrace,
        seen: RefCell<Option<Gc<IndexedEnum>>>,
    },
}

#[derive(Trace)]
#[allow(dead_code, reason = "skipped fields are not read by anything")]
struct SkipsAll {
    #[gc(skip)]
    raw: NotTrace,
    #[gc(skip, leak)]
    hidden: Option<Gc<i32>>,
    count: u32,
}

#[test]
fn a_cycle_through_a_traced_field_after_a_skipped_one_is_collected() {
    let a = Gc::new(Indexed(RefCell::new(None), Probe, RefCell::new(None)));
    *a.2.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(collect(), 1);
    assert_eq!(drops(), 1);
}

#[test]
fn a_cycle_through_a_skipped_field_is_not_traced() {
    let a = Gc::new(Indexed(RefCell::new(None), Probe, RefCell::new(None)));
    *a.0.borrow_mut() = Some(a.clone());
    let weak = Gc::downgrade(&a);
    drop(a);
    // Not traced: the self-edge looks like an outside reference (a leak).
    assert_eq!(collect(), 0);
    let a = weak.upgrade().expect("kept alive");
    // Break the cycle by hand: freed by counting.
    drop(a.0.borrow_mut().take());
    drop(a);
    assert_eq!(drops(), 1);
    assert!(weak.upgrade().is_none());
}

#[test]
fn skipped_fields_in_enum_variants_keep_their_positions() {
    let v = Gc::new(IndexedEnum::V(RefCell::new(None), RefCell::new(None)));
    let w = Gc::new(IndexedEnum::W {
        hidden: RefCell::new(None),
        raw: NotTrace,
        seen: RefCell::new(Some(v.clone())),
    });
    let IndexedEnum::V(_, next) = &*v else {
        unreachable!()
    };
    *next.borrow_mut() = Some(w);
    drop(v);
    assert_eq!(collect(), 2);

    let w = Gc::new(IndexedEnum::W {
        hidden: RefCell::new(None),
        raw: NotTrace,
        seen: RefCell::new(None),
    });
    let IndexedEnum::W { hidden, .. } = &*w else {
        unreachable!()
    };
    *hidden.borrow_mut() = Some(w.clone());
    let weak = Gc::downgrade(&w);
    drop(w);
    assert_eq!(collect(), 0);
    let w = weak.upgrade().expect("a skipped field is not traced");
    let IndexedEnum::W { hidden, .. } = &*w else {
        unreachable!()
    };
    drop(hidden.borrow_mut().take());
}

#[test]
fn skipped_fields_need_no_trace_and_make_no_type_tracked() {
    let s = SkipsAll {
        raw: NotTrace,
        hidden: Some(Gc::new(1)),
        count: 0,
    };
    assert_eq!(s.count, 0);
    assert!(!tracked(s));
}

// --- #[gc(with = "...")] -----------------------------------------------------

thread_local! {
    static WITH_CALLS: Cell<usize> = const { Cell::new(0) };
}

/// A foreign type without a `Trace` impl.
struct Registry {
    items: Vec<Gc<Owner>>,
}

fn trace_registry<'a>(registry: &'a RefCell<Registry>, tracer: &mut Tracer<'a>) {
    WITH_CALLS.with(|c| c.set(c.get() + 1));
    // The borrow lasts the whole tracing phase; the `Vec` lies in the
    // traced value, so its impl vouches for its buffer.
    if let Some(registry) = tracer.borrow(registry) {
        registry.items.trace(tracer);
    }
}

mod tracers {
    use std::cell::RefCell;

    use gc_core::{Gc, Trace, Tracer};

    pub(crate) fn trace_all<'a, T: Trace>(items: &'a RefCell<Vec<Gc<T>>>, tracer: &mut Tracer<'a>) {
        items.trace(tracer);
    }

    pub(crate) fn trace_nothing<T>(_: &T, _: &mut Tracer<'_>) {}
}

#[derive(Trace)]
struct Owner {
    probe: Probe,
    #[gc(with = "trace_registry")]
    registry: RefCell<Registry>,
}

#[derive(Trace)]
struct WithTuple(
    #[gc(with = "tracers::trace_nothing")] u8,
    #[gc(with = "tracers::trace_all::<WithTuple>")] RefCell<Vec<Gc<WithTuple>>>,
);

#[derive(Trace)]
enum WithEnum {
    A(#[gc(with = "tracers::trace_all")] RefCell<Vec<Gc<WithEnum>>>),
    B {
        #[gc(with = "tracers::trace_nothing")]
        raw: NotTrace,
    },
}

#[test]
fn with_is_called_and_its_edges_count() {
    let a = Gc::new(Owner {
        probe: Probe,
        registry: RefCell::new(Registry { items: Vec::new() }),
    });
    let b = Gc::new(Owner {
        probe: Probe,
        registry: RefCell::new(Registry {
            items: vec![a.clone()],
        }),
    });
    a.registry.borrow_mut().items.push(b);
    drop(a);
    assert_eq!(collect(), 2);
    assert_eq!(drops(), 2);
    assert!(WITH_CALLS.with(Cell::get) >= 2);
}

#[test]
fn with_works_on_tuple_fields_and_variants() {
    let a = Gc::new(WithTuple(1, RefCell::new(Vec::new())));
    a.1.borrow_mut().push(a.clone());
    assert_eq!(a.0, 1);
    drop(a);
    assert_eq!(collect(), 1);

    let e = Gc::new(WithEnum::A(RefCell::new(Vec::new())));
    let WithEnum::A(items) = &*e else {
        unreachable!()
    };
    items.borrow_mut().push(e.clone());
    drop(e);
    assert_eq!(collect(), 1);
}

#[test]
fn a_with_field_makes_the_type_tracked() {
    // `with` may report anything, so the type is conservatively tracked.
    assert!(tracked(WithEnum::B { raw: NotTrace }));
}

// --- bounds ------------------------------------------------------------------

/// `Rc<T>` is `Trace` for any `T`: the inferred `T: Trace` is replaced by
/// nothing.
#[derive(Trace)]
#[gc(bound = "")]
struct Shared<T> {
    rc: Rc<T>,
}

/// An explicit bound list, with a where-clause of the type's own kept.
#[derive(Trace)]
#[gc(bound = "T: Trace, U: Trace")]
struct Explicit<T, U>
where
    T: Clone,
{
    t: T,
    u: Option<U>,
}

/// `PhantomData<T>` needs no bound.
#[derive(Trace)]
struct Tagged<T> {
    _marker: PhantomData<T>,
    value: u8,
}

/// An associated type gets its own bound.
#[derive(Trace)]
struct ByIter<I: Iterator> {
    item: RefCell<Option<I::Item>>,
    _iter: PhantomData<I>,
}

/// Lifetimes, const generics and parameter defaults.
#[derive(Trace)]
struct Generic<'a, T: ?Sized + 'a, U = u8, const N: usize = 2> {
    borrowed: &'a T,
    items: [U; N],
}

/// A recursive generic type: the bound is `T: Trace`, not a cyclic bound on
/// the field type.
#[derive(Trace)]
struct List<T> {
    head: T,
    next: RefCell<Option<Gc<List<T>>>>,
}

#[test]
fn bound_replaces_the_inferred_bounds() {
    assert_trace::<Shared<NotTrace>>();
    assert!(!tracked(Shared {
        rc: Rc::new(NotTrace)
    }));
    assert_trace::<Explicit<u8, Gc<u8>>>();
    let e = Explicit {
        t: 1_u8,
        u: Some(Gc::new(2)),
    };
    assert_eq!(e.t, 1);
    assert!(tracked(e));
}

#[test]
fn phantom_data_needs_no_bound() {
    assert_trace::<Tagged<NotTrace>>();
    assert!(!tracked(Tagged::<NotTrace> {
        _marker: PhantomData,
        value: 0,
    }));
}

#[test]
fn associated_types_are_traced() {
    #[derive(Trace)]
    struct Node {
        link: ByIter<std::vec::IntoIter<Gc<Node>>>,
    }
    let a = Gc::new(Node {
        link: ByIter {
            item: RefCell::new(None),
            _iter: PhantomData,
        },
    });
    *a.link.item.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(collect(), 1);
}

#[test]
fn lifetimes_const_generics_and_defaults_are_kept() {
    assert_trace::<Generic<'static, str>>();
    assert_trace::<Generic<'static, [u8], Gc<i32>, 4>>();
    let g: Generic<'static, str> = Generic {
        borrowed: "x",
        items: [1, 2],
    };
    assert!(!tracked(g));
    assert!(tracked(Generic::<'static, u8, Gc<u8>, 1> {
        borrowed: &0,
        items: [Gc::new(1)],
    }));
}

#[test]
fn recursive_generic_types_compile_and_are_collected() {
    let a = Gc::new(List {
        head: String::from("a"),
        next: RefCell::new(None),
    });
    let b = Gc::new(List {
        head: String::from("b"),
        next: RefCell::new(Some(a.clone())),
    });
    *a.next.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(collect(), 2);
}
