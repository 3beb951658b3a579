//! Unit tests of the collector's internals. Behaviour tests live in the
//! workspace's `tests/` member.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::header::LOC_NONE;
use crate::{Finalize, Gc, Trace, Tracer, Weak, collect, collect_generation};

mod lazy;

/// Counts drops of values that carry one.
#[derive(Clone, Default)]
struct Drops(Rc<Cell<usize>>);

impl Drops {
    fn get(&self) -> usize {
        self.0.get()
    }
}

struct Node {
    drops: Drops,
    next: RefCell<Vec<Gc<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

fn node(d: &Drops) -> Gc<Node> {
    Gc::new(Node {
        drops: d.clone(),
        next: RefCell::new(Vec::new()),
    })
}

fn link(a: &Gc<Node>, b: &Gc<Node>) {
    a.next.borrow_mut().push(b.clone());
}

fn heap_lists_consistent() {
    super::heap::with_heap(super::heap::Heap::check_lists);
}

#[test]
fn self_cycle_and_two_cycle() {
    let d = Drops::default();
    let a = node(&d);
    link(&a, &a);
    drop(a);
    assert_eq!(d.get(), 0);
    assert_eq!(collect(), 1);
    assert_eq!(d.get(), 1);

    let a = node(&d);
    let b = node(&d);
    link(&a, &b);
    link(&b, &a);
    drop((a, b));
    assert_eq!(collect(), 2);
    assert_eq!(d.get(), 3);
    heap_lists_consistent();
}

#[test]
fn reachable_cycle_survives_and_promotes() {
    let d = Drops::default();
    let a = node(&d);
    let b = node(&d);
    link(&a, &b);
    link(&b, &a);
    assert_eq!(collect_generation(0), 0);
    assert_eq!(collect(), 0);
    assert_eq!(d.get(), 0);
    assert_eq!(a.next.borrow().len(), 1);
    heap_lists_consistent();
    drop(b);
    assert_eq!(collect(), 0);
    drop(a);
    assert_eq!(collect(), 2);
    assert_eq!(d.get(), 2);
}

#[test]
fn ring_of_ten_thousand() {
    let n = if cfg!(miri) { 200 } else { 10_000 };
    let d = Drops::default();
    let first = node(&d);
    let mut prev = first.clone();
    for _ in 1..n {
        let x = node(&d);
        link(&prev, &x);
        prev = x;
    }
    link(&prev, &first);
    drop((first, prev));
    assert_eq!(collect(), n);
    assert_eq!(d.get(), n);
}

#[test]
fn acyclic_chain_is_freed_by_counting_without_deep_recursion() {
    let n = if cfg!(miri) { 500 } else { 100_000 };
    let d = Drops::default();
    let before = crate::tracked_count();
    let mut head = node(&d);
    for _ in 1..n {
        let x = node(&d);
        link(&x, &head);
        head = x;
    }
    drop(head);
    assert_eq!(d.get(), n);
    assert_eq!(crate::tracked_count(), before);
}

#[test]
fn weak_cleared_for_garbage_and_upgrade_fails() {
    let d = Drops::default();
    let a = node(&d);
    link(&a, &a);
    let w: Weak<Node> = Gc::downgrade(&a);
    assert!(w.upgrade().is_some());
    drop(a);
    assert_eq!(collect(), 1);
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    drop(w);
}

struct Lazarus {
    me: RefCell<Option<Gc<Lazarus>>>,
    finalized: Rc<Cell<usize>>,
    stash: Rc<RefCell<Vec<Gc<Lazarus>>>>,
}

impl Trace for Lazarus {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for Lazarus {
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
        let me = self.me.borrow().clone();
        if let Some(me) = me {
            self.stash.borrow_mut().push(me);
        }
    }
}

#[test]
fn resurrection_once() {
    let finalized = Rc::new(Cell::new(0));
    let stash = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Lazarus {
        me: RefCell::new(None),
        finalized: finalized.clone(),
        stash: stash.clone(),
    });
    *a.me.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(collect(), 0, "resurrected objects are not counted");
    assert_eq!(finalized.get(), 1);
    assert_eq!(stash.borrow().len(), 1);
    let back = stash.borrow_mut().pop().unwrap();
    assert!(!Gc::is_dead(&back));
    assert!(Gc::ptr_eq(back.me.borrow().as_ref().unwrap(), &back));
    drop(back);
    assert_eq!(collect(), 1);
    assert_eq!(finalized.get(), 1, "a finalizer runs at most once");
}

struct Peek {
    other: RefCell<Option<Gc<Peek>>>,
    seen: Rc<RefCell<Vec<Option<bool>>>>,
}

impl Trace for Peek {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.other.trace(tracer);
    }
}

impl Drop for Peek {
    fn drop(&mut self) {
        let other = self.other.borrow();
        let o = other.as_ref().unwrap();
        self.seen
            .borrow_mut()
            .push(Gc::try_deref(o).map(|_| Gc::is_dead(o)));
    }
}

#[test]
fn dead_handles_in_drop() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Peek {
        other: RefCell::new(None),
        seen: seen.clone(),
    });
    let b = Gc::new(Peek {
        other: RefCell::new(Some(a.clone())),
        seen: seen.clone(),
    });
    *a.other.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(collect(), 2);
    let mut s = seen.borrow().clone();
    s.sort();
    // All the garbage is marked dead before any value is dropped: neither
    // `Drop` can borrow the other (it could keep that borrow past the
    // other's drop).
    assert_eq!(s, vec![None, None]);
}

#[test]
fn get_mut_detaches_and_clone_reattaches() {
    let d = Drops::default();
    let mut a = node(&d);
    assert!(Gc::is_tracked(&a));
    {
        let m = Gc::get_mut(&mut a).unwrap();
        assert_eq!(collect(), 0);
        m.next.get_mut().clear();
    }
    assert!(!Gc::is_tracked(&a));
    let b = a.clone();
    assert!(Gc::is_tracked(&a));
    link(&a, &b);
    drop((a, b));
    assert_eq!(collect(), 1);
    assert_eq!(d.get(), 1);
}

#[test]
fn get_mut_then_moved_into_cycle_is_discovered() {
    let d = Drops::default();
    let mut x = node(&d);
    let y = node(&d);
    Gc::get_mut(&mut x).unwrap().next.get_mut().push(y.clone());
    // Move the only handle of `x` into `y`: x <-> y.
    y.next.borrow_mut().push(x);
    drop(y);
    // The first collection discovers `x` through `y`'s edge; a later one
    // frees the cycle.
    collect();
    collect();
    assert_eq!(d.get(), 2);
}

/// A node whose cell can be made unreadable, as a forgotten `RefMut`
/// would make a `RefCell` (which would leak for good, upsetting Miri).
struct Shy {
    unreadable: Cell<bool>,
    next: RefCell<Option<Gc<Shy>>>,
    drops: Drops,
}

impl Trace for Shy {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if self.unreadable.get() {
            tracer.mark_unreadable();
        } else {
            self.next.trace(tracer);
        }
    }
}

impl Drop for Shy {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

#[test]
fn unreadable_value_keeps_owner_and_targets_alive() {
    let d = Drops::default();
    let mk = || {
        Gc::new(Shy {
            unreadable: Cell::new(false),
            next: RefCell::new(None),
            drops: d.clone(),
        })
    };
    let a = mk();
    let b = mk();
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    a.unreadable.set(true);
    let w = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(collect(), 0);
    assert_eq!(d.get(), 0);
    let a = w.upgrade().unwrap();
    a.unreadable.set(false);
    drop(a);
    assert_eq!(collect(), 2);
    assert_eq!(d.get(), 2);
}

#[test]
fn untracked_leaf_has_no_head() {
    let a = Gc::new(5_u64);
    assert!(!crate::gc::has_head(&a));
    assert!(!Gc::is_tracked(&a));
    let s: Gc<str> = Gc::from("abc");
    assert!(!crate::gc::has_head(&s));
    let n = node(&Drops::default());
    assert!(crate::gc::has_head(&n));
    let obj = Gc::obj(&n).unwrap();
    assert_ne!(obj.loc(), LOC_NONE);
}

#[test]
fn nested_collect_returns_zero() {
    struct Nest(RefCell<Option<Gc<Nest>>>, Rc<Cell<Option<usize>>>);
    impl Trace for Nest {
        fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
            self.0.trace(t);
        }
    }
    impl Drop for Nest {
        fn drop(&mut self) {
            self.1.set(Some(collect()));
            // Allocation during a collection.
            let fresh = Gc::new(RefCell::new(Vec::<Gc<i32>>::new()));
            drop(fresh);
        }
    }
    let out = Rc::new(Cell::new(None));
    let a = Gc::new(Nest(RefCell::new(None), out.clone()));
    *a.0.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(collect(), 1);
    assert_eq!(out.get(), Some(0));
}

#[test]
fn panicking_drop_during_collection() {
    struct Boom(RefCell<Option<Gc<Boom>>>);
    impl Trace for Boom {
        fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
            self.0.trace(t);
        }
    }
    impl Drop for Boom {
        fn drop(&mut self) {
            panic!("boom");
        }
    }
    let a = Gc::new(Boom(RefCell::new(None)));
    *a.0.borrow_mut() = Some(a.clone());
    drop(a);
    let r = std::panic::catch_unwind(collect);
    assert!(r.is_err());
    // The collector is usable again.
    let d = Drops::default();
    let b = node(&d);
    link(&b, &b);
    drop(b);
    assert_eq!(collect(), 1);
    heap_lists_consistent();
}

#[test]
fn unsized_values() {
    trait Shape: Trace {
        fn area(&self) -> u32;
    }
    struct Sq(u32, RefCell<Option<Gc<dyn Shape>>>);
    impl Trace for Sq {
        fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
            self.1.trace(t);
        }
    }
    impl Shape for Sq {
        fn area(&self) -> u32 {
            self.0 * self.0
        }
    }
    let v: Gc<[Gc<i32>]> = Gc::from(vec![Gc::new(1), Gc::new(2)]);
    assert_eq!(*v[1], 2);
    assert!(Gc::is_tracked(&v));
    let s: Gc<str> = Gc::from(String::from("hello"));
    assert_eq!(&*s, "hello");

    let sq: Gc<dyn Shape> = Gc::from(Box::new(Sq(3, RefCell::new(None))) as Box<dyn Shape>);
    assert_eq!(sq.area(), 9);
    assert!(Gc::is_tracked(&sq));
    // A self-cycle through the trait object.
    let sq2: Gc<Sq> = Gc::new(Sq(2, RefCell::new(None)));
    let as_dyn: Gc<dyn Shape> = Gc::from(Box::new(Sq(5, RefCell::new(None))) as Box<dyn Shape>);
    *sq2.1.borrow_mut() = Some(as_dyn);
    drop(sq2);
    drop(sq);
    assert_eq!(collect(), 0);
}

#[test]
#[expect(clippy::many_single_char_names, reason = "a, b, d, i, n")]
fn old_objects_are_counted_without_list_entries() {
    std::thread::spawn(|| {
        let d = Drops::default();
        let n = if cfg!(miri) { 40 } else { 4_000 };
        let mut keep: Vec<Gc<Node>> = (0..n).map(|_| node(&d)).collect();
        collect();
        heap_lists_consistent();
        assert_eq!(crate::tracked_count(), n);
        // Free every other old object by counting.
        let mut i = 0;
        keep.retain(|_| {
            i += 1;
            i % 2 == 0
        });
        assert_eq!(crate::tracked_count(), n / 2);
        heap_lists_consistent();
        crate::freeze();
        assert_eq!((crate::tracked_count(), crate::freeze_count()), (0, n / 2));
        heap_lists_consistent();
        keep.truncate(n / 4);
        assert_eq!(crate::freeze_count(), n / 4);
        crate::unfreeze();
        assert_eq!((crate::tracked_count(), crate::freeze_count()), (n / 4, 0));
        heap_lists_consistent();
        // Old cycles are still found.
        link(&keep[0], &keep[1]);
        link(&keep[1], &keep[0]);
        let (a, b) = (keep[0].clone(), keep[1].clone());
        keep.clear();
        assert_eq!(d.get(), n - 2);
        drop((a, b));
        assert_eq!(collect(), 2);
        assert_eq!(d.get(), n);
        heap_lists_consistent();
        assert_eq!(crate::tracked_count(), 0);
    })
    .join()
    .unwrap();
}

// --- wrong traces must not get a value dropped under a live borrow ------------

/// A `Trace` that misbehaves in one of several ways.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lie {
    /// Reports its edges twice.
    Twice,
    /// Clones one of its handles into itself before reporting.
    Grows,
    /// Reports, then hides its edges on the next call (unreadable).
    HidesLater,
    /// Reports its edges, then moves them to `STOLEN`.
    Moves,
}

thread_local! {
    static STOLEN: RefCell<Vec<Gc<Liar>>> = const { RefCell::new(Vec::new()) };
}

struct Liar {
    name: String,
    lie: Lie,
    calls: Cell<u32>,
    next: RefCell<Vec<Gc<Liar>>>,
    drops: Drops,
}

impl Trace for Liar {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let call = self.calls.get();
        self.calls.set(call + 1);
        match self.lie {
            Lie::Twice => {
                self.next.trace(tracer);
                self.next.trace(tracer);
            }
            Lie::Grows => {
                if let Ok(mut v) = self.next.try_borrow_mut()
                    && let Some(first) = v.first().cloned()
                {
                    v.push(first);
                }
                self.next.trace(tracer);
            }
            Lie::HidesLater => {
                if call == 0 {
                    self.next.trace(tracer);
                } else {
                    tracer.mark_unreadable();
                }
            }
            Lie::Moves => {
                self.next.trace(tracer);
                if call == 0 {
                    let taken = core::mem::take(&mut *self.next.borrow_mut());
                    STOLEN.with(|s| s.borrow_mut().extend(taken));
                }
            }
        }
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

fn liar(d: &Drops, lie: Lie, name: &str) -> Gc<Liar> {
    Gc::new(Liar {
        name: name.to_owned(),
        lie,
        calls: Cell::new(0),
        next: RefCell::new(Vec::new()),
        drops: d.clone(),
    })
}

#[test]
fn edge_reported_twice_never_drops_a_held_value() {
    let d = Drops::default();
    let a = liar(&d, Lie::Twice, "a");
    a.next.borrow_mut().push(a.clone());
    // Held across the collection: the value must stay intact.
    let name: &String = &a.name;
    assert_eq!(collect(), 0);
    assert_eq!(name, "a");
    assert!(!Gc::is_dead(&a));
    assert_eq!(d.get(), 0);
    drop(a.next.borrow_mut().pop());
    drop(a);
    assert_eq!(d.get(), 1);
}

#[test]
fn trace_that_clones_never_drops_a_held_value() {
    let d = Drops::default();
    let a = liar(&d, Lie::Grows, "a");
    a.next.borrow_mut().push(a.clone());
    let name: &String = &a.name;
    assert_eq!(collect(), 0);
    assert_eq!(name, "a");
    assert!(!Gc::is_dead(&a));
    drop(core::mem::take(&mut *a.next.borrow_mut()));
    drop(a);
    assert_eq!(d.get(), 1);
}

#[test]
fn value_unreadable_only_when_marking_keeps_everything() {
    let d = Drops::default();
    // `root` (held) -> `child`: the child's only handle is in `root`, whose
    // trace reports it when subtracting and hides it when marking.
    let root = liar(&d, Lie::HidesLater, "root");
    let child = liar(&d, Lie::Twice, "child");
    root.next.borrow_mut().push(child);
    {
        // A shared borrow (the trace can still read the cell) of the child.
        let kids = root.next.borrow();
        let child: &Liar = &kids[0];
        assert_eq!(collect(), 0);
        assert_eq!(child.name, "child");
        assert!(!Gc::is_dead(&kids[0]));
    }
    assert_eq!(d.get(), 0);
    drop(root);
    assert_eq!(d.get(), 2);
}

#[test]
fn trace_that_moves_a_handle_out_never_drops_a_held_value() {
    let d = Drops::default();
    // `root` (held) -> `child`; root's trace reports the child, then tries
    // to move the handle to a thread-local, out of the heap. The cell's
    // borrow is held for the whole tracing phase, so the move panics.
    let root = liar(&d, Lie::Moves, "root");
    let child = liar(&d, Lie::Twice, "child");
    root.next.borrow_mut().push(child);
    let r = std::panic::catch_unwind(collect);
    let msg = r.expect_err("the move panics");
    let msg = msg
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| msg.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default();
    assert!(msg.contains("already borrowed"), "{msg}");
    assert!(STOLEN.with(|s| s.borrow().is_empty()));
    assert_eq!(root.next.borrow()[0].name, "child");
    assert_eq!(collect(), 0);
    assert_eq!(d.get(), 0);
    drop(root);
    assert_eq!(d.get(), 2);
}

/// Over 512 bytes, so it is never in a slab page: a freed block is gone.
struct Big {
    cell: RefCell<Option<Gc<i32>>>,
    _pad: [u8; 600],
}

impl Trace for Big {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.cell.trace(tracer);
    }
}

struct Holder {
    me: RefCell<Option<Gc<Holder>>>,
    big: RefCell<Option<Gc<Big>>>,
}

impl Trace for Holder {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        self.big.trace(tracer);
    }
}

#[test]
fn detached_object_found_in_garbage_is_freed_safely() {
    let mut x = Gc::new(Big {
        cell: RefCell::new(None),
        _pad: [0; 600],
    });
    // Detached: `get_mut` took it out of the lists.
    let _ = Gc::get_mut(&mut x).unwrap();
    let p = Gc::new(Holder {
        me: RefCell::new(None),
        big: RefCell::new(Some(x)),
    });
    *p.me.borrow_mut() = Some(p.clone());
    drop(p);
    // The collector finds `x` through the garbage, whose drop then frees it.
    assert_eq!(collect(), 1);
    heap_lists_consistent();
}

/// A derived type whose traced fields are all trusted.
#[derive(crate::Trace)]
struct Derived {
    next: RefCell<Option<Gc<Derived>>>,
    #[gc(skip)]
    _label: String,
}

/// A derived type that holds a hand-written one.
#[derive(crate::Trace)]
struct HoldsHand(Node);

fn hand_trace<'a>(n: &'a RefCell<Vec<Gc<Node>>>, tracer: &mut Tracer<'a>) {
    n.trace(tracer);
}

/// A derived type with a field traced by a user function.
#[derive(crate::Trace)]
struct WithFn {
    #[gc(with = "hand_trace")]
    kids: RefCell<Vec<Gc<Node>>>,
}

fn trusted<T: ?Sized>(g: &Gc<T>) -> bool {
    Gc::obj(g).unwrap().has(crate::header::Flag::Trusted)
}

#[test]
fn only_traces_that_run_no_user_code_are_trusted() {
    let d = Drops::default();
    let derived = Gc::new(Derived {
        next: RefCell::new(None),
        _label: String::new(),
    });
    assert!(trusted(&derived), "derived, std fields only");
    assert!(trusted(&Gc::new(RefCell::new(vec![derived.clone()]))));
    assert!(!trusted(&node(&d)), "a hand-written trace");
    assert!(!trusted(&Gc::new(HoldsHand(Node {
        drops: d.clone(),
        next: RefCell::new(Vec::new()),
    }))));
    assert!(!trusted(&Gc::new(WithFn {
        kids: RefCell::new(Vec::new()),
    })));
    let boxed: Gc<dyn Trace> =
        Gc::from(Box::new(RefCell::new(Some(derived.clone()))) as Box<dyn Trace>);
    assert!(!trusted(&boxed), "unsized values are not asked");
}

#[test]
fn untrusted_traces_run_before_trusted_ones_keep_guards() {
    // A trusted cycle and a hand-written one in the same set: both are
    // collected (the untrusted part traced first, its guards held).
    let d = Drops::default();
    let a = Gc::new(Derived {
        next: RefCell::new(None),
        _label: String::new(),
    });
    *a.next.borrow_mut() = Some(a.clone());
    let n = node(&d);
    link(&n, &n);
    drop((a, n));
    assert_eq!(collect(), 2);
    assert_eq!(d.get(), 1);
}
