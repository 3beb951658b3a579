//! `#[derive(Trace)]`, part 2: the `#[gc(crate = "...")]` and
//! `#[gc(finalize)]` options, which types the derive works out to be
//! untracked, trait objects and unsized types, and the hygiene of the
//! generated code (`test_derive.rs` has the rest).
//!
//! Each test runs on its own thread, so it has its own heap: `collect()`
//! counts only that test's garbage, and the counts asserted are exact.
#![deny(warnings, clippy::pedantic)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::rc::Rc;

use gc_core::{Finalize, Gc, Trace, Weak, collect};

// --- helpers -----------------------------------------------------------------

/// Compiles only if `T: Trace`.
fn assert_trace<T: Trace + ?Sized>() {}

fn tracked<T: Trace + 'static>(value: T) -> bool {
    Gc::is_tracked(&Gc::new(value))
}

// --- #[gc(crate = "...")] ----------------------------------------------------

mod reexport {
    pub(crate) use gc_core as my_gc;
}

#[derive(reexport::my_gc::Trace)]
#[gc(crate = "reexport::my_gc")]
struct ViaReexport {
    next: RefCell<Option<reexport::my_gc::Gc<ViaReexport>>>,
}

/// A stand-in for `gc_core` that records the derive's calls into it.
mod spy {
    use std::cell::Cell;

    pub(crate) use gc_core::{__GcTrusted, __gc_tracked_of, Finalize, Trace, Tracer};

    thread_local! {
        pub(crate) static SPENT: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn __gc_spend(budget: &mut u32) -> bool {
        SPENT.with(|s| s.set(s.get() + 1));
        gc_core::__gc_spend(budget)
    }
}

#[derive(Trace)]
#[gc(crate = "spy", finalize)]
struct Spied<T> {
    value: T,
}

impl<T> Finalize for Spied<T> {
    fn finalize(&self) {}
}

#[test]
fn crate_path_is_used_for_every_item() {
    let a = Gc::new(ViaReexport {
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(collect(), 1);

    assert_eq!(spy::SPENT.with(Cell::get), 0);
    assert!(!tracked(Spied { value: 1 }));
    assert_ne!(spy::SPENT.with(Cell::get), 0);
}

// --- #[gc(finalize)] ---------------------------------------------------------

thread_local! {
    static FINALIZED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Resource {
    name: &'static str,
    peer: RefCell<Option<Gc<Resource>>>,
}

impl Finalize for Resource {
    fn finalize(&self) {
        FINALIZED.with(|f| f.borrow_mut().push(self.name.to_owned()));
    }
}

#[derive(Trace)]
#[gc(finalize)]
enum Leaf {
    A,
}

impl Finalize for Leaf {
    fn finalize(&self) {
        FINALIZED.with(|f| f.borrow_mut().push(String::from("leaf")));
    }
}

#[test]
fn finalize_runs_once_on_counting_and_on_collection() {
    drop(Gc::new(Leaf::A));
    let a = Gc::new(Resource {
        name: "a",
        peer: RefCell::new(None),
    });
    let b = Gc::new(Resource {
        name: "b",
        peer: RefCell::new(Some(a.clone())),
    });
    *a.peer.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(collect(), 2);
    let mut log = FINALIZED.with(RefCell::take);
    log.sort();
    assert_eq!(log, ["a", "b", "leaf"]);
}

// --- untracked inference -----------------------------------------------------

#[derive(Trace)]
struct Plain {
    a: i64,
    s: String,
    v: Vec<u8>,
}

#[derive(Trace)]
enum Expr {
    Lit(i64),
    Add(Box<Expr>, Box<Expr>),
    Neg(Box<Self>),
    Call(String, Vec<Expr>),
}

#[derive(Trace)]
struct L<T> {
    v: T,
    next: Option<Box<L<T>>>,
}

#[derive(Trace)]
struct SelfRef {
    next: RefCell<Option<Gc<Self>>>,
}

/// Every std wrapper around the type itself.
#[derive(Trace)]
#[allow(dead_code, reason = "only the type is examined")]
struct Wrapped {
    a: Option<Box<Wrapped>>,
    b: Vec<Wrapped>,
    c: HashMap<String, Box<Wrapped>>,
    d: BTreeMap<u8, (Wrapped, [Box<Wrapped>; 2])>,
    e: Result<Box<Wrapped>, Box<[Wrapped]>>,
    f: RefCell<Option<Box<Self>>>,
    g: Rc<Wrapped>,
    h: Weak<Wrapped>,
    i: PhantomData<Wrapped>,
    j: &'static Wrapped,
    k: Box<str>,
    l: Box<[u64]>,
    m: Option<Box<Option<Box<i32>>>>,
}

/// `Box<dyn ..>` may hold anything.
#[derive(Trace)]
struct Dynamic {
    f: Box<dyn Shape2>,
}

/// A polymorphic recursion: `L2<Gc<u8>>` is another type than `L2<T>`.
#[derive(Trace)]
struct L2<T> {
    v: T,
    other: Option<Box<L2<Gc<u8>>>>,
}

#[derive(Trace)]
struct MutualA {
    b: Option<Box<MutualB>>,
}

#[derive(Trace)]
struct MutualB {
    a: Option<Box<MutualA>>,
    n: u8,
}

#[test]
fn leaf_types_are_untracked() {
    assert!(!tracked(Plain {
        a: 1,
        s: String::new(),
        v: vec![1],
    }));
    assert!(!tracked(Expr::Add(
        Box::new(Expr::Lit(1)),
        Box::new(Expr::Lit(2))
    )));
    assert!(!tracked(Expr::Call(
        String::new(),
        vec![Expr::Neg(Box::new(Expr::Lit(0)))]
    )));
    assert!(!tracked(L { v: 1, next: None }));
}

#[test]
fn types_that_may_hold_a_gc_are_tracked() {
    assert!(tracked(L {
        v: Gc::new(1),
        next: None,
    }));
    assert!(tracked(SelfRef {
        next: RefCell::new(None),
    }));
    assert!(tracked(L2 { v: 1, other: None }));
    assert!(tracked(Dynamic {
        f: Box::new(Square(1)),
    }));
}

#[test]
fn the_type_itself_behind_std_wrappers_is_not_a_reason_to_track() {
    fn assert_untracked<T: Trace>() {
        let mut budget = 64;
        assert!(!T::__gc_tracked(&mut budget));
    }
    assert_untracked::<Wrapped>();
    assert_untracked::<Expr>();
    assert_untracked::<L<u8>>();
}

#[test]
fn mutually_recursive_types_stay_finite_and_conservative() {
    // Each asks the other until the budget runs out: then "tracked".
    assert!(tracked(MutualA { b: None }));
    assert!(tracked(MutualB { a: None, n: 0 }));
}

// --- trait objects and unsized types -----------------------------------------

trait Shape2: Trace {
    fn area(&self) -> u32;
}

#[derive(Trace)]
struct Square(u32);

impl Shape2 for Square {
    fn area(&self) -> u32 {
        self.0 * self.0
    }
}

#[derive(Trace)]
struct Ring {
    next: RefCell<Option<Gc<dyn Shape2>>>,
}

impl Shape2 for Ring {
    fn area(&self) -> u32 {
        0
    }
}

/// An unsized struct: its last field is a slice.
#[derive(Trace)]
struct Tail<T: ?Sized> {
    head: u8,
    tail: T,
}

#[derive(Trace)]
struct Slot(RefCell<Option<Gc<Tail<[Slot]>>>>);

#[derive(Trace)]
struct Bytes {
    len: usize,
    data: [u8],
}

#[test]
fn trait_objects_keep_the_answer_of_their_type() {
    let square: Gc<dyn Shape2> = Gc::from(Box::new(Square(3)) as Box<dyn Shape2>);
    assert_eq!(square.area(), 9);
    assert!(!Gc::is_tracked(&square));

    let ring: Gc<dyn Shape2> = Gc::from(Box::new(Ring {
        next: RefCell::new(None),
    }) as Box<dyn Shape2>);
    assert!(Gc::is_tracked(&ring));
}

#[test]
fn a_cycle_through_an_unsized_value_is_collected() {
    assert_trace::<Bytes>();
    let boxed: Box<Tail<[Slot]>> = Box::new(Tail {
        head: 1,
        tail: [Slot(RefCell::new(None)), Slot(RefCell::new(None))],
    });
    let tail: Gc<Tail<[Slot]>> = Gc::from(boxed);
    assert_eq!(tail.head, 1);
    assert!(Gc::is_tracked(&tail));
    *tail.tail[1].0.borrow_mut() = Some(tail.clone());
    drop(tail);
    assert_eq!(collect(), 1);
}

// --- hygiene -------------------------------------------------------------------

/// A module that shadows every name the generated code could use.
mod shadowing {
    #![allow(dead_code, non_camel_case_types, reason = "names that shadow std's")]

    use std::cell::RefCell;

    pub(crate) trait Trace {}
    pub(crate) struct Tracer;
    pub(crate) struct Option;
    pub(crate) struct Some;
    pub(crate) struct Result;
    pub(crate) struct Finalize;
    pub(crate) struct bool;
    pub(crate) struct u32;
    pub(crate) fn __gc_spend() {}
    pub(crate) fn __gc_tracked_of() {}
    pub(crate) mod core {}
    pub(crate) mod gc_core {}

    #[derive(::gc_core::Trace)]
    pub(crate) struct Fields {
        pub(crate) __tracer: RefCell<std::option::Option<::gc_core::Gc<Fields>>>,
        pub(crate) __budget: std::option::Option<Box<Fields>>,
        pub(crate) self_: ::gc_core::Gc<i64>,
        pub(crate) __self_0: std::primitive::u32,
    }

    #[derive(::gc_core::Trace)]
    #[gc(finalize)]
    pub(crate) enum Variants<T> {
        A(T, ::gc_core::Gc<T>),
        B {
            __tracer: T,
            __self_0: std::vec::Vec<Variants<T>>,
        },
    }

    impl<T> ::gc_core::Finalize for Variants<T> {
        fn finalize(&self) {}
    }
}

macro_rules! node_type {
    ($name:ident, $next:ty) => {
        #[derive(Trace)]
        struct $name {
            next: $next,
        }
    };
}

node_type!(FromMacro, RefCell<Option<Gc<FromMacro>>>);

#[test]
fn generated_code_is_hygienic() {
    let a = Gc::new(shadowing::Fields {
        __tracer: RefCell::new(None),
        __budget: None,
        self_: Gc::new(1),
        __self_0: 0,
    });
    *a.__tracer.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(collect(), 1);
    assert!(tracked(shadowing::Variants::A(1, Gc::new(1))));
    assert!(matches!(
        shadowing::Variants::<u8>::B {
            __tracer: 1,
            __self_0: Vec::new()
        },
        shadowing::Variants::B { .. }
    ));

    let m = Gc::new(FromMacro {
        next: RefCell::new(None),
    });
    *m.next.borrow_mut() = Some(m.clone());
    drop(m);
    assert_eq!(collect(), 1);
}
