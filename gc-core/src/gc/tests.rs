//! `Gc`/`Weak` against `Rc`'s documented behaviour, plus the collector cases
//! each function meets. These run under Miri too.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::{Finalize, Gc, Trace, Tracer, Weak, collect};

/// Drop counter.
#[derive(Clone, Default)]
struct Drops(Rc<Cell<usize>>);

impl Drops {
    fn get(&self) -> usize {
        self.0.get()
    }
    fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
}

#[derive(Clone)]
struct Counted {
    drops: Drops,
    next: RefCell<Option<Gc<Counted>>>,
}

impl Trace for Counted {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.bump();
    }
}

fn counted(d: &Drops) -> Gc<Counted> {
    Gc::new(Counted {
        drops: d.clone(),
        next: RefCell::new(None),
    })
}

#[test]
fn try_unwrap_like_rc() {
    let x = Gc::new(3);
    assert_eq!(Gc::try_unwrap(x), Ok(3));
    let x = Gc::new(4);
    let y = x.clone();
    let x = Gc::try_unwrap(x).unwrap_err();
    assert_eq!(*x, 4);
    drop(y);
    assert_eq!(Gc::try_unwrap(x), Ok(4));
}

#[test]
fn try_unwrap_tracked_value_and_weak() {
    let d = Drops::default();
    let a = counted(&d);
    let w = Gc::downgrade(&a);
    let before = crate::tracked_count();
    let v = Gc::try_unwrap(a).ok().unwrap();
    assert_eq!(crate::tracked_count(), before - 1);
    assert!(w.upgrade().is_none());
    assert_eq!(d.get(), 0, "the value moved out, not dropped");
    drop(v);
    assert_eq!(d.get(), 1);
    drop(w);
}

#[test]
fn try_unwrap_fails_in_live_cycle() {
    let d = Drops::default();
    let a = counted(&d);
    *a.next.borrow_mut() = Some(a.clone());
    let a = Gc::try_unwrap(a).err().expect("shared by the cycle");
    drop(a);
    assert_eq!(collect(), 1);
    assert_eq!(d.get(), 1);
}

#[test]
fn into_inner_like_rc() {
    let x = Gc::new(3);
    assert_eq!(Gc::into_inner(x), Some(3));
    let x = Gc::new(String::from("s"));
    let y = x.clone();
    assert_eq!(Gc::into_inner(x), None);
    assert_eq!(Gc::into_inner(y).as_deref(), Some("s"));
}

#[test]
fn unwrap_or_clone_like_rc() {
    let a = Gc::new(vec![1]);
    let b = a.clone();
    assert_eq!(Gc::unwrap_or_clone(a), vec![1]);
    assert_eq!(Gc::strong_count(&b), 1);
    assert_eq!(Gc::unwrap_or_clone(b), vec![1]);
}

#[test]
fn get_mut_like_rc() {
    let mut x = Gc::new(3);
    *Gc::get_mut(&mut x).unwrap() = 4;
    assert_eq!(*x, 4);
    let y = x.clone();
    assert!(Gc::get_mut(&mut x).is_none());
    drop(y);
    let w = Gc::downgrade(&x);
    assert!(
        Gc::get_mut(&mut x).is_none(),
        "a Weak makes it shared, as in Rc"
    );
    drop(w);
    assert!(Gc::get_mut(&mut x).is_some());
}

#[test]
fn get_mut_while_collecting_under_miri() {
    // The SPEC's Miri case: a collection runs while a `&mut T` from
    // `get_mut` is alive, and must not create a `&T` to that value.
    let d = Drops::default();
    let mut a = counted(&d);
    let other = counted(&d);
    *other.next.borrow_mut() = Some(other.clone()); // garbage to find
    drop(other);
    let m = Gc::get_mut(&mut a).unwrap();
    assert_eq!(collect(), 1);
    *m.next.get_mut() = None;
    m.drops.bump();
    assert_eq!(d.get(), 2);
    drop(a);
    assert_eq!(d.get(), 3);
}

#[test]
fn make_mut_like_rc() {
    let mut data = Gc::new(5);
    *Gc::make_mut(&mut data) += 1;
    let mut other = data.clone();
    *Gc::make_mut(&mut data) += 1;
    *Gc::make_mut(&mut data) += 1;
    *Gc::make_mut(&mut other) *= 2;
    assert_eq!(*data, 8);
    assert_eq!(*other, 12);

    // Only weak handles: the value moves, the Weak disassociates.
    let mut data = Gc::new(75);
    let weak = Gc::downgrade(&data);
    assert_eq!(*data, 75);
    assert_eq!(*weak.upgrade().unwrap(), 75);
    *Gc::make_mut(&mut data) += 1;
    assert_eq!(*data, 76);
    assert!(weak.upgrade().is_none());
}

#[test]
fn make_mut_tracked_clones_when_shared() {
    let d = Drops::default();
    let mut a = counted(&d);
    let b = a.clone();
    let m = Gc::make_mut(&mut a);
    *m.next.get_mut() = Some(b.clone());
    assert!(!Gc::ptr_eq(&a, &b));
    drop((a, b));
    assert_eq!(d.get(), 2, "the clone and the original");
}

#[test]
fn new_cyclic_like_rc() {
    struct Gadget {
        me: Weak<Gadget>,
    }
    impl Trace for Gadget {
        fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    }
    let g = Gc::new_cyclic(|me| {
        assert!(me.upgrade().is_none());
        Gadget { me: me.clone() }
    });
    assert!(Gc::ptr_eq(&g.me.upgrade().unwrap(), &g));
    assert_eq!(Gc::weak_count(&g), 1);
    let w = Gc::downgrade(&g);
    drop(g);
    assert!(w.upgrade().is_none());
}

#[test]
fn new_cyclic_strong_self_reference_is_collected() {
    let d = Drops::default();
    let g = Gc::new_cyclic(|me: &Weak<Counted>| {
        assert!(me.upgrade().is_none());
        Counted {
            drops: d.clone(),
            next: RefCell::new(None),
        }
    });
    assert!(Gc::is_tracked(&g));
    *g.next.borrow_mut() = Some(g.clone());
    drop(g);
    assert_eq!(d.get(), 0);
    assert_eq!(collect(), 1);
    assert_eq!(d.get(), 1);
}

#[test]
fn new_cyclic_panic_frees_block() {
    let stash: Rc<RefCell<Option<Weak<Counted>>>> = Rc::default();
    let s = stash.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        Gc::new_cyclic(|me: &Weak<Counted>| -> Counted {
            *s.borrow_mut() = Some(me.clone());
            panic!("no value");
        })
    }));
    assert!(r.is_err());
    let w = stash.borrow_mut().take().unwrap();
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    drop(w);
}

#[test]
fn raw_round_trips() {
    let x = Gc::new(String::from("hello"));
    let x_ptr = Gc::into_raw(x);
    // SAFETY: from `into_raw`, given back once.
    let x = unsafe { Gc::from_raw(x_ptr) };
    assert_eq!(&*x, "hello");

    let a = Gc::new(5_u8);
    let p = Gc::into_raw(a.clone());
    // SAFETY: `p` holds a count.
    unsafe { Gc::increment_strong_count(p) };
    assert_eq!(Gc::strong_count(&a), 3);
    // SAFETY: releases one of the two counts held through `p`.
    unsafe { Gc::decrement_strong_count(p) };
    // SAFETY: releases the other.
    unsafe { Gc::decrement_strong_count(p) };
    assert_eq!(Gc::strong_count(&a), 1);

    let w = Gc::downgrade(&a);
    let wp = w.into_raw();
    assert_eq!(wp, Gc::as_ptr(&a));
    // SAFETY: from `Weak::into_raw`, given back once.
    let w = unsafe { Weak::from_raw(wp) };
    assert_eq!(*w.upgrade().unwrap(), 5);
    drop(a);
    assert!(w.upgrade().is_none());
    let wp = w.into_raw();
    // SAFETY: from `Weak::into_raw`, given back once; the block is still
    // allocated for the weak count it kept (I1).
    drop(unsafe { Weak::from_raw(wp) });
}

#[test]
fn raw_tracked_value_round_trip_and_collect() {
    let d = Drops::default();
    let a = counted(&d);
    *a.next.borrow_mut() = Some(a.clone());
    let p = Gc::into_raw(a);
    // SAFETY: from `into_raw`, given back once.
    let a = unsafe { Gc::from_raw(p) };
    drop(a);
    assert_eq!(collect(), 1);
}

trait Shape: Trace {
    fn sides(&self) -> u32;
}

struct Poly {
    sides: u32,
    next: RefCell<Option<Gc<dyn Shape>>>,
    drops: Drops,
}

impl Trace for Poly {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

impl Shape for Poly {
    fn sides(&self) -> u32 {
        self.sides
    }
}

impl Drop for Poly {
    fn drop(&mut self) {
        self.drops.bump();
    }
}

#[test]
fn dyn_ring_is_collected() {
    let d = Drops::default();
    let n = 5;
    let shapes: Vec<Gc<dyn Shape>> = (0..n)
        .map(|i| {
            let p = Poly {
                sides: i + 3,
                next: RefCell::new(None),
                drops: d.clone(),
            };
            if i % 2 == 0 {
                Gc::from(Box::new(p) as Box<dyn Shape>)
            } else {
                Gc::unsize::<dyn Shape>(Gc::new(p), |x| x)
            }
        })
        .collect();
    assert_eq!(
        shapes.iter().map(|s| s.sides()).sum::<u32>(),
        3 + 4 + 5 + 6 + 7
    );
    // Link them in a ring through the trait objects. Reach `Poly`'s field
    // by rebuilding each as the concrete type is not possible, so build the
    // ring with a second set whose `next` we can reach.
    let polys: Vec<Gc<Poly>> = (0..n)
        .map(|i| {
            Gc::new(Poly {
                sides: i,
                next: RefCell::new(None),
                drops: d.clone(),
            })
        })
        .collect();
    for i in 0..n as usize {
        let next = Gc::unsize::<dyn Shape>(polys[(i + 1) % n as usize].clone(), |x| x);
        *polys[i].next.borrow_mut() = Some(next);
    }
    drop(polys);
    drop(shapes);
    assert_eq!(
        d.get(),
        n as usize,
        "the unlinked shapes are freed by counting"
    );
    assert_eq!(collect(), n as usize);
    assert_eq!(d.get(), 2 * n as usize);
}

#[test]
#[should_panic(expected = "the closure must return the value itself")]
fn unsize_rejects_other_references() {
    #[allow(dead_code, reason = "only the layout matters")]
    struct Two(u64, u64);
    impl Trace for Two {
        fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    }
    let g = Gc::new(Two(1, 2));
    let _ = Gc::unsize::<u64>(g, |t| &t.1);
}

#[test]
fn pin_like_rc() {
    let p = Gc::pin(5);
    assert_eq!(*p, 5);
    let q = p.clone();
    assert_eq!(*q, 5);
}

#[test]
fn unsized_slices_and_strs() {
    let s: Gc<str> = Gc::from("abc");
    let s2 = s.clone();
    assert_eq!(&*s2, "abc");
    let v: Gc<[u32]> = (1..=4).collect();
    assert_eq!(v.iter().sum::<u32>(), 10);
    let e: Gc<[String]> = Gc::from(Vec::<String>::new());
    assert!(e.is_empty());
    let w = Gc::downgrade(&v);
    drop(v);
    assert!(w.upgrade().is_none());
    drop(w);
    let tracked: Gc<[Gc<u8>]> = Gc::from(&[Gc::new(1_u8)][..]);
    assert!(Gc::is_tracked(&tracked));
}

struct Fin(Drops);

impl Trace for Fin {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for Fin {
    fn finalize(&self) {
        self.0.bump();
    }
}

#[test]
fn finalizer_runs_once_on_refcount_free_and_not_after_try_unwrap() {
    let d = Drops::default();
    drop(Gc::new(Fin(d.clone())));
    assert_eq!(d.get(), 1);
    let v = Gc::try_unwrap(Gc::new(Fin(d.clone()))).ok().unwrap();
    assert_eq!(d.get(), 1, "moving the value out does not finalize it");
    drop(v);
    let b: Gc<dyn Trace> = Gc::from(Box::new(Fin(d.clone())) as Box<dyn Trace>);
    drop(b);
    assert_eq!(d.get(), 2, "finalizer of a trait object");
}

#[test]
fn weak_new_and_counts() {
    let w: Weak<u8> = Weak::new();
    assert_eq!(w.strong_count(), 0);
    assert_eq!(w.weak_count(), 0);
    assert!(w.upgrade().is_none());
    let w2 = w.clone();
    assert!(w.ptr_eq(&w2));
    let a = Gc::new(1_u8);
    let wa = Gc::downgrade(&a);
    assert_eq!((wa.strong_count(), wa.weak_count()), (1, 1));
    assert!(!wa.ptr_eq(&w));
}

thread_local!(static PHOENIXES: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) });

/// A self-cycle whose finalizer resurrects it (stores a clone of itself).
struct Phoenix {
    me: RefCell<Option<Gc<Phoenix>>>,
}

impl Trace for Phoenix {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        if let Some(me) = self.me.borrow().as_ref() {
            PHOENIXES.with(|p| p.borrow_mut().push(me.clone()));
        }
    }
}

/// A self-cycle, found to be garbage once and resurrected by its finalizer
/// (so its weak epoch is 1), and a `Weak` made before the collection.
fn resurrected_phoenix() -> (Gc<Phoenix>, Weak<Phoenix>) {
    let a = Gc::new(Phoenix {
        me: RefCell::new(None),
    });
    *a.me.borrow_mut() = Some(a.clone());
    let old = Gc::downgrade(&a);
    drop(a);
    collect();
    let a = PHOENIXES
        .with(|p| p.borrow_mut().pop())
        .expect("resurrected");
    assert!(old.upgrade().is_none(), "cleared when found to be garbage");
    (a, old)
}

/// Breaks the phoenix's self-cycle so that it is freed by counting.
fn bury(a: Gc<Phoenix>) {
    let me = a.me.borrow_mut().take();
    drop(me);
    drop(a);
}

#[test]
fn weak_clone_after_resurrection_counts_the_right_word() {
    let (a, old) = resurrected_phoenix();
    let w = Gc::downgrade(&a); // tagged with epoch 1
    assert_eq!(Gc::weak_count(&a), 2);
    let w2 = w.clone();
    assert_eq!(Gc::weak_count(&a), 3);
    assert_eq!(w2.weak_count(), 3);
    assert!(Gc::ptr_eq(&w2.upgrade().unwrap(), &a));
    assert!(old.clone().upgrade().is_none(), "a clone stays cleared");
    drop((w, w2, old));
    assert_eq!(Gc::weak_count(&a), 0);
    bury(a);
}

/// An untracked (head-less) value whose `Drop` panics.
struct PanicOnDrop(Drops);

impl Trace for PanicOnDrop {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.bump();
        panic!("PanicOnDrop");
    }
}

#[test]
fn headless_drop_panic_still_frees_the_block() {
    let d = Drops::default();
    // Without a `Weak`: Miri's leak check sees the block if it is not freed.
    let g = Gc::new(PanicOnDrop(d.clone()));
    assert!(!super::has_head(&g));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g)));
    assert!(r.is_err(), "the panic of `Drop` propagates");
    assert_eq!(d.get(), 1);

    // With a `Weak` across the panic: the strong handles' weak count is gone.
    let g = Gc::new(PanicOnDrop(d.clone()));
    let w = Gc::downgrade(&g);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(g)));
    assert!(r.is_err(), "the panic of `Drop` propagates");
    assert_eq!(d.get(), 2);
    assert!(w.upgrade().is_none());
    assert_eq!((w.strong_count(), w.weak_count()), (0, 0));
    // SAFETY: `w` keeps the block allocated (I1).
    let weak = unsafe { crate::gc_box::counts(w.inner_ptr()) }.weak_count();
    assert_eq!(weak, 1, "only `w` holds the block");
    drop(w); // frees the block
}

thread_local!(static OUTER_DROPS: Cell<usize> = const { Cell::new(0) });

/// A `Drop` type whose only field is at offset 0 and as large as the type.
struct Outer {
    inner: Vec<u8>,
}

impl Trace for Outer {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }
}

impl Drop for Outer {
    fn drop(&mut self) {
        OUTER_DROPS.with(|d| d.set(d.get() + 1));
    }
}

/// `Gc::unsize(gc, coerce)`, with its panic caught.
fn try_unsize<T: Trace + ?Sized + 'static, U: Trace + ?Sized + 'static>(
    gc: Gc<T>,
    coerce: impl FnOnce(&T) -> &U,
) -> Option<Gc<U>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Gc::unsize(gc, coerce))).ok()
}

#[test]
fn unsize_rejects_a_same_sized_field_at_offset_zero() {
    assert_eq!(size_of::<Outer>(), size_of::<Vec<u8>>());
    let g = Gc::new(Outer {
        inner: vec![1, 2, 3],
    });
    // As the field's own type: `try_unwrap` would move it out of a `Drop`
    // type, and dropping the `Gc` would skip `Outer::drop`.
    assert!(try_unsize::<Outer, Vec<u8>>(g.clone(), |o| &o.inner).is_none());
    // As a trait object of the field's type.
    assert!(try_unsize::<Outer, dyn Trace>(g.clone(), |o| &o.inner).is_none());
    assert_eq!(Gc::strong_count(&g), 1, "the rejected handles were dropped");
    assert_eq!(OUTER_DROPS.with(Cell::get), 0);
    // The value itself is accepted, and dropped as an `Outer`.
    let d = Gc::unsize::<dyn Trace>(g, |x| x);
    drop(d);
    assert_eq!(OUTER_DROPS.with(Cell::get), 1);
}

trait Sub: Trace {}
impl Sub for Counted {}
impl Sub for u8 {}

#[repr(align(64))]
struct OverAligned;

impl Trace for OverAligned {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }
}

#[test]
fn unsize_accepts_the_value_itself() {
    // Tracked, to a trait object, then upcast to a supertrait object.
    let drops = Drops::default();
    let node = counted(&drops);
    assert!(Gc::is_tracked(&node));
    let sub = Gc::unsize::<dyn Sub>(node.clone(), |x| x);
    let any = Gc::unsize::<dyn Trace>(sub, |x| x);
    assert!(Gc::is_tracked(&any));
    assert_eq!(Gc::strong_count(&node), 2);
    drop((node, any));
    assert_eq!(drops.get(), 1);
    // Untracked, to a trait object.
    let byte = Gc::unsize::<dyn Sub>(Gc::new(7_u8), |x| x);
    assert!(!Gc::is_tracked(&byte));
    // Over-aligned zero-sized value.
    let zst = Gc::unsize::<dyn Trace>(Gc::new(OverAligned), |x| x);
    assert_eq!(Gc::as_ptr(&zst).cast::<u8>().addr() % 64, 0);
    // Array to slice, and slice to itself.
    let nums = Gc::unsize::<[u32]>(Gc::new([1, 2, 3]), |x| x);
    assert_eq!(&*nums, [1, 2, 3]);
    let nums = Gc::unsize::<[u32]>(nums, |x| x);
    assert_eq!(nums.len(), 3);
    let units = Gc::unsize::<[()]>(Gc::new([(); 4]), |x| x);
    assert_eq!(units.len(), 4);
    let handles = Gc::unsize::<[Gc<u8>]>(Gc::new([Gc::new(1_u8)]), |x| x);
    assert!(Gc::is_tracked(&handles));
}

#[test]
fn unsize_rejects_a_shorter_slice() {
    // Zero-sized elements: the size check alone would pass.
    let e = Gc::new([(); 4]);
    assert!(try_unsize::<[(); 4], [()]>(e.clone(), |x| &x[..2]).is_none());
    let s = Gc::unsize::<[()]>(e, |x| x);
    assert!(try_unsize::<[()], [()]>(s.clone(), |x| &x[1..]).is_none());
    assert_eq!(Gc::strong_count(&s), 1);
}

#[test]
fn weak_cleared_by_a_collection_stays_cleared_through_raw() {
    let a = Gc::new(Phoenix {
        me: RefCell::new(None),
    });
    *a.me.borrow_mut() = Some(a.clone());
    let old = Gc::downgrade(&a);
    let old_last = Gc::downgrade(&a);
    let old_dyn: Weak<dyn Trace> = Gc::downgrade(&Gc::unsize::<dyn Trace>(a.clone(), |x| x));
    drop(a);
    collect();
    let a = PHOENIXES
        .with(|p| p.borrow_mut().pop())
        .expect("resurrected");
    assert!(old.upgrade().is_none() && old_dyn.upgrade().is_none());
    assert_eq!(Gc::weak_count(&a), 3);

    let p = old.into_raw();
    assert_eq!(Gc::weak_count(&a), 2, "the cleared Weak released its count");
    // SAFETY: from `Weak::into_raw`, given back once.
    let back = unsafe { Weak::from_raw(p) };
    assert!(back.upgrade().is_none(), "still cleared");
    assert!(back.ptr_eq(&Weak::new()));
    drop(back);

    let p = old_dyn.into_raw();
    assert_eq!(Gc::weak_count(&a), 1);
    // SAFETY: from `Weak::into_raw`, given back once.
    let back = unsafe { Weak::from_raw(p) };
    assert!(back.upgrade().is_none(), "still cleared");
    drop(back);

    // A `Weak` made after the resurrection round-trips to the object.
    let p = Gc::downgrade(&a).into_raw();
    assert_eq!(p, Gc::as_ptr(&a));
    // SAFETY: from `Weak::into_raw`, given back once.
    let w = unsafe { Weak::from_raw(p) };
    assert!(Gc::ptr_eq(&w.upgrade().unwrap(), &a));
    drop(w);

    // A cleared `Weak` that outlives its object frees the block in
    // `into_raw`.
    bury(a);
    let p = old_last.into_raw();
    assert_eq!(p.addr(), usize::MAX);
    // SAFETY: from `Weak::into_raw`, given back once.
    drop(unsafe { Weak::from_raw(p) });
}

/// A boxed value that can hold no `Gc` (a number, a slice of numbers, a
/// `str`) is not tracked, sized or not; one that can is.
#[test]
fn boxed_values_are_tracked_only_if_they_can_hold_a_gc() {
    assert!(!Gc::is_tracked(&Gc::<i64>::from(Box::new(5_i64))));
    assert!(!Gc::is_tracked(&Gc::<[u8]>::from(
        vec![1_u8, 2].into_boxed_slice()
    )));
    assert!(!Gc::is_tracked(&Gc::<str>::from(Box::<str>::from("x"))));
    let handles: Box<[Option<Gc<i64>>]> = vec![None].into_boxed_slice();
    assert!(Gc::is_tracked(&Gc::<[Option<Gc<i64>>]>::from(handles)));
}
