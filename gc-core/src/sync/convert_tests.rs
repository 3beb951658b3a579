//! The conversions into `sync::Gc` from unsized sources (`sync/convert.rs`)
//! and the blocks with a prefix they make (`boxed` Y4): contents, cycles
//! through `dyn Trait` and slices collected, exact drop counts on the last
//! handle and on collection, zero sizes, large alignments, weak handles
//! outliving the value, and a panicking iterator.
#![allow(
    clippy::items_after_statements,
    reason = "each test takes the serial lock first, then declares its statics"
)]

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use super::tests::serial;
use super::{Gc, Weak, collect};
use crate::{Finalize, Trace, Tracer};

/// Counts its drops in `.0`.
#[derive(Debug)]
struct Counted(&'static AtomicUsize);

impl Trace for Counted {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}

    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

trait Shape: Trace + Send + Sync {
    fn area(&self) -> usize;

    /// The shape's link to another, if it has one.
    fn link(&self) -> Option<&Mutex<Option<Gc<dyn Shape>>>> {
        None
    }
}

/// A zero-sized value that counts its drops in [`ZST_DROPS`].
struct Zst;

static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);

impl Trace for Zst {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
}

impl Drop for Zst {
    fn drop(&mut self) {
        ZST_DROPS.fetch_add(1, SeqCst);
    }
}

/// A shape that may link to another shape, and counts its drops.
struct Square {
    side: usize,
    link: Mutex<Option<Gc<dyn Shape>>>,
    drops: &'static AtomicUsize,
}

impl Trace for Square {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.link.trace(tracer);
    }
}

impl Shape for Square {
    fn area(&self) -> usize {
        self.side * self.side
    }

    fn link(&self) -> Option<&Mutex<Option<Gc<dyn Shape>>>> {
        Some(&self.link)
    }
}

impl Drop for Square {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn boxed_square(side: usize, drops: &'static AtomicUsize) -> Box<dyn Shape> {
    Box::new(Square {
        side,
        link: Mutex::new(None),
        drops,
    })
}

/// Links `from` to `to`.
fn link(from: &Gc<dyn Shape>, to: &Gc<dyn Shape>) {
    *from.link().expect("a shape with a link").lock().unwrap() = Some(to.clone());
}

#[test]
fn convert_each_source_keeps_its_contents() {
    let _s = serial();
    let b: Gc<[u16]> = Gc::from(vec![1_u16, 2, 3].into_boxed_slice());
    assert_eq!(&*b, &[1, 2, 3]);
    let sized: Gc<u64> = Gc::from(Box::new(7_u64));
    assert_eq!(*sized, 7);
    let v: Gc<[String]> = Gc::from(vec![String::from("a"), String::from("bc")]);
    assert_eq!(
        v.iter().map(String::as_str).collect::<Vec<_>>(),
        ["a", "bc"]
    );
    let arr = [10_i32, 20, 30];
    let s: Gc<[i32]> = Gc::from(&arr[..]);
    assert_eq!(&*s, &arr);
    let it: Gc<[usize]> = (0..100).map(|i| i * i).collect();
    assert_eq!(it.len(), 100);
    assert_eq!(it[99], 99 * 99);
    let st: Gc<str> = Gc::from("hello, world");
    assert_eq!(&*st, "hello, world");
    let string: Gc<str> = Gc::from(String::from("héllo"));
    assert_eq!(&*string, "héllo");
    let bs: Gc<str> = Gc::from(String::from("boxed").into_boxed_str());
    assert_eq!(&*bs, "boxed");
    // The handles work as any: clones, weak handles, comparison, threads.
    let st2 = st.clone();
    assert!(Gc::ptr_eq(&st, &st2));
    assert_eq!(Gc::strong_count(&st), 2);
    assert_eq!(st, Gc::from("hello, world"));
    let w: Weak<[usize]> = Gc::downgrade(&it);
    let sum = std::thread::spawn(move || it.iter().sum::<usize>())
        .join()
        .unwrap();
    assert_eq!(sum, (0..100).map(|i| i * i).sum::<usize>());
    assert!(
        w.upgrade().is_none(),
        "the last handle dropped on the thread"
    );
    assert_eq!(collect(), 0);
}

#[test]
fn convert_a_boxed_dyn_cycle_is_collected_and_dropped_once() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let a: Gc<dyn Shape> = Gc::from(boxed_square(2, &DROPS));
    let b: Gc<dyn Shape> = Gc::from(boxed_square(3, &DROPS));
    assert_eq!((a.area(), b.area()), (4, 9));
    link(&a, &b);
    link(&b, &a);
    let w = Gc::downgrade(&a);
    drop(b);
    // Reachable from `a`: kept.
    assert_eq!(collect(), 0);
    assert_eq!(DROPS.load(SeqCst), 0);
    drop(a);
    assert_eq!(collect(), 2);
    assert_eq!(DROPS.load(SeqCst), 2);
    assert!(w.upgrade().is_none());
    // The weak handle outlives the values; dropping it frees the block.
    drop(w);
    assert_eq!(collect(), 0);
    assert_eq!(DROPS.load(SeqCst), 2);

    // A self-loop, collected on another thread.
    let c: Gc<dyn Shape> = Gc::from(boxed_square(4, &DROPS));
    link(&c, &c);
    std::thread::spawn(move || drop(c)).join().unwrap();
    assert_eq!(std::thread::spawn(collect).join().unwrap(), 1);
    assert_eq!(DROPS.load(SeqCst), 3);
}

/// A slice of cells that may hold a [`Holder`].
type Cells = Gc<[Mutex<Option<Gc<Holder>>>]>;

/// What a slice's elements point to: a holder of the slice.
struct Holder {
    slice: Mutex<Option<Cells>>,
    drops: &'static AtomicUsize,
}

impl Trace for Holder {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.slice.trace(tracer);
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

/// An element of a slice that points to a slice of its own kind.
struct Elem {
    next: Mutex<Option<Gc<[Elem]>>>,
    drops: &'static AtomicUsize,
}

impl Trace for Elem {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

impl Drop for Elem {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn elems(n: usize, drops: &'static AtomicUsize) -> Vec<Elem> {
    (0..n)
        .map(|_| Elem {
            next: Mutex::new(None),
            drops,
        })
        .collect()
}

#[test]
fn convert_a_slice_of_mutex_handles_in_a_cycle_is_collected() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let holder = Gc::new(Holder {
        slice: Mutex::new(None),
        drops: &DROPS,
    });
    let slice: Cells = (0..3)
        .map(|i| Mutex::new((i != 1).then(|| holder.clone())))
        .collect();
    *holder.slice.lock().unwrap() = Some(slice.clone());
    assert_eq!(Gc::strong_count(&holder), 3);
    drop(holder);
    assert_eq!(collect(), 0, "the slice is still held");
    drop(slice);
    assert_eq!(collect(), 2);
    assert_eq!(DROPS.load(SeqCst), 1);

    // Two slices of elements pointing at each other, made from a `Vec` and
    // from a `Box<[T]>`: every element dropped once.
    static ELEMS: AtomicUsize = AtomicUsize::new(0);
    let x: Gc<[Elem]> = Gc::from(elems(4, &ELEMS));
    let y: Gc<[Elem]> = Gc::from(elems(3, &ELEMS).into_boxed_slice());
    *x[3].next.lock().unwrap() = Some(y.clone());
    *y[0].next.lock().unwrap() = Some(x.clone());
    drop((x, y));
    assert_eq!(collect(), 2);
    assert_eq!(ELEMS.load(SeqCst), 7);
}

#[test]
fn convert_zero_length_slices_and_zero_sized_values() {
    let _s = serial();
    let zst_drops = ZST_DROPS.load(SeqCst);
    let empty: Gc<[u8]> = Gc::from(Vec::new());
    assert!(empty.is_empty());
    let empty_str: Gc<str> = Gc::from("");
    assert_eq!(&*empty_str, "");
    let empty_box: Gc<[Zst]> = Gc::from(Vec::<Zst>::new().into_boxed_slice());
    assert!(empty_box.is_empty());
    let empty_iter: Gc<[Elem]> = core::iter::empty().collect();
    assert!(empty_iter.is_empty());
    let units: Gc<[()]> = Gc::from(vec![(); 5]);
    assert_eq!(units.len(), 5);
    // Zero-sized elements with a `Drop`: each dropped once.
    let zsts: Gc<[Zst]> = (0..6).map(|_| Zst).collect();
    assert_eq!(zsts.len(), 6);
    let zsts_box: Gc<[Zst]> = Gc::from(vec![Zst, Zst].into_boxed_slice());
    let zst_dyn: Gc<dyn Trace + Send + Sync> =
        Gc::from(Box::new(Zst) as Box<dyn Trace + Send + Sync>);
    // A zero-sized value behind a trait object.
    struct Unit;
    impl Trace for Unit {
        fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    }
    impl Shape for Unit {
        fn area(&self) -> usize {
            0
        }
    }
    let unit: Gc<dyn Shape> = Gc::from(Box::new(Unit) as Box<dyn Shape>);
    assert_eq!(unit.area(), 0);
    assert_eq!(ZST_DROPS.load(SeqCst), zst_drops);
    drop((zsts, zsts_box));
    assert_eq!(ZST_DROPS.load(SeqCst), zst_drops + 8);
    drop(zst_dyn);
    assert_eq!(ZST_DROPS.load(SeqCst), zst_drops + 9);
    drop((empty, empty_str, empty_box, empty_iter, units, unit));
    assert_eq!(collect(), 0);
    assert_eq!(ZST_DROPS.load(SeqCst), zst_drops + 9);
}

#[test]
fn convert_a_boxed_slice_drops_its_elements_once_by_count_and_by_collection() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    // On the last handle's drop.
    let v: Vec<Counted> = (0..5).map(|_| Counted(&DROPS)).collect();
    let g: Gc<[Counted]> = Gc::from(v.into_boxed_slice());
    let g2 = g.clone();
    drop(g);
    assert_eq!(DROPS.load(SeqCst), 0);
    let w = Gc::downgrade(&g2);
    std::thread::spawn(move || drop(g2)).join().unwrap();
    assert_eq!(DROPS.load(SeqCst), 5);
    assert!(w.upgrade().is_none());
    drop(w);

    // On collection: a boxed slice in a cycle through its own element.
    static ELEMS: AtomicUsize = AtomicUsize::new(0);
    let c: Gc<[Elem]> = Gc::from(elems(5, &ELEMS).into_boxed_slice());
    *c[2].next.lock().unwrap() = Some(c.clone());
    let w = Gc::downgrade(&c);
    drop(c);
    assert_eq!(ELEMS.load(SeqCst), 0);
    assert_eq!(collect(), 1);
    assert_eq!(ELEMS.load(SeqCst), 5);
    assert!(w.upgrade().is_none());
    drop(w);
    assert_eq!(collect(), 0);
    assert_eq!(ELEMS.load(SeqCst), 5);
}

/// A value aligned to 64 that may link to a shape.
#[repr(align(64))]
struct Aligned {
    bytes: [u8; 3],
    link: Mutex<Option<Gc<dyn Shape>>>,
    drops: &'static AtomicUsize,
}

impl Trace for Aligned {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.link.trace(tracer);
    }
}

impl Shape for Aligned {
    fn area(&self) -> usize {
        self.bytes.iter().map(|&b| usize::from(b)).sum()
    }

    fn link(&self) -> Option<&Mutex<Option<Gc<dyn Shape>>>> {
        Some(&self.link)
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn convert_values_aligned_to_16_and_more() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let a: Gc<dyn Shape> = Gc::from(Box::new(Aligned {
        bytes: [1, 2, 3],
        link: Mutex::new(None),
        drops: &DROPS,
    }) as Box<dyn Shape>);
    assert_eq!(Gc::as_ptr(&a).cast::<u8>() as usize % 64, 0);
    assert_eq!(a.area(), 6);
    // A cycle through the aligned value, collected (freed with its layout).
    link(&a, &a);
    drop(a);
    assert_eq!(collect(), 1);
    assert_eq!(DROPS.load(SeqCst), 1);

    // Slices of 16- and 32-aligned elements.
    #[repr(align(32))]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct A32(u8);
    impl Trace for A32 {
        fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    }
    let wide: Gc<[u128]> = Gc::from(vec![u128::MAX, 1, 2]);
    assert_eq!(
        Gc::as_ptr(&wide).cast::<u8>() as usize % core::mem::align_of::<u128>(),
        0
    );
    assert_eq!(&*wide, &[u128::MAX, 1, 2]);
    let a32: Gc<[A32]> = Gc::from(&[A32(1), A32(2)][..]);
    assert_eq!(Gc::as_ptr(&a32).cast::<u8>() as usize % 32, 0);
    assert_eq!(&*a32, &[A32(1), A32(2)]);
    let boxed: Gc<A32> = Gc::from(Box::new(A32(9)));
    assert_eq!(Gc::as_ptr(&boxed) as usize % 32, 0);
    assert_eq!(*boxed, A32(9));
}

#[test]
fn convert_a_panicking_iterator_leaves_nothing_behind() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static ELEMS: AtomicUsize = AtomicUsize::new(0);
    let p = panic::catch_unwind(|| {
        let _: Gc<[Counted]> = (0..10)
            .map(|i| {
                assert!(i < 4, "the iterator fails");
                Counted(&DROPS)
            })
            .collect();
    });
    assert!(p.is_err());
    assert_eq!(DROPS.load(SeqCst), 4, "what it yielded is dropped once");
    // Tracked elements too: nothing reaches the heap.
    let p = panic::catch_unwind(AssertUnwindSafe(|| {
        let _: Gc<[Elem]> = (0..10)
            .map(|i| {
                assert!(i < 3, "the iterator fails");
                Elem {
                    next: Mutex::new(None),
                    drops: &ELEMS,
                }
            })
            .collect();
    }));
    assert!(p.is_err());
    assert_eq!(ELEMS.load(SeqCst), 3);
    assert_eq!(collect(), 0);
    // The heap still works.
    let g: Gc<[Counted]> = (0..2).map(|_| Counted(&DROPS)).collect();
    drop(g);
    assert_eq!(DROPS.load(SeqCst), 6);
}

/// A finalizable shape: counts its finalizer's runs and its drops.
struct Fin {
    runs: &'static AtomicUsize,
    link: Mutex<Option<Gc<dyn Shape>>>,
}

impl Trace for Fin {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.link.trace(tracer);
    }

    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for Fin {
    fn finalize(&self) {
        self.runs.fetch_add(1, SeqCst);
    }
}

impl Shape for Fin {
    fn area(&self) -> usize {
        1
    }

    fn link(&self) -> Option<&Mutex<Option<Gc<dyn Shape>>>> {
        Some(&self.link)
    }
}

#[test]
fn convert_a_boxed_value_keeps_its_finalizer() {
    let _s = serial();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let f: Gc<dyn Shape> = Gc::from(Box::new(Fin {
        runs: &RUNS,
        link: Mutex::new(None),
    }) as Box<dyn Shape>);
    drop(f);
    assert_eq!(RUNS.load(SeqCst), 1, "finalized on its last handle's drop");
    let f: Gc<dyn Shape> = Gc::from(Box::new(Fin {
        runs: &RUNS,
        link: Mutex::new(None),
    }) as Box<dyn Shape>);
    link(&f, &f);
    drop(f);
    assert_eq!(collect(), 1);
    assert_eq!(RUNS.load(SeqCst), 2, "finalized once by the collector");
}

#[test]
fn convert_a_sized_box_unwraps_and_unsizes() {
    let _s = serial();
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    // A sized value through `From<Box<T>>`: moved out, the block freed
    // without dropping it.
    let g: Gc<Counted> = Gc::from(Box::new(Counted(&DROPS)));
    let other = g.clone();
    let w = Gc::downgrade(&g);
    let g = Gc::try_unwrap(g).unwrap_err();
    drop(other);
    let value = Gc::try_unwrap(g).ok().unwrap();
    assert!(w.upgrade().is_none());
    drop(w);
    assert_eq!(DROPS.load(SeqCst), 0);
    drop(value);
    assert_eq!(DROPS.load(SeqCst), 1);
    // An array through `From<Box<T>>`, then named as a slice.
    let arr: Gc<[Counted; 3]> = Gc::from(Box::new([
        Counted(&DROPS),
        Counted(&DROPS),
        Counted(&DROPS),
    ]));
    let s: Gc<[Counted]> = Gc::unsize::<[Counted]>(arr, |x| x);
    assert_eq!(s.len(), 3);
    drop(s);
    assert_eq!(DROPS.load(SeqCst), 4);
    // `make_mut` and `get_mut` on one.
    let mut m: Gc<u32> = Gc::from(Box::new(1));
    *Gc::get_mut(&mut m).unwrap() += 1;
    let other = m.clone();
    *Gc::make_mut(&mut m) += 1;
    assert_eq!((*m, *other), (3, 2));
}

/// A boxed value that can hold no handle is not listed for the collector,
/// sized or not; one that can is.
#[test]
fn convert_untracked_values_are_not_listed() {
    let _s = serial();
    collect();
    let before = super::tracked_count();
    let leaves = (
        Gc::<i64>::from(Box::new(5_i64)),
        Gc::<[u8]>::from(vec![1_u8, 2].into_boxed_slice()),
        Gc::<str>::from(Box::<str>::from("x")),
    );
    // `tracked_count` is what the last collection kept.
    collect();
    assert_eq!(super::tracked_count(), before);
    let handles: Box<[Option<Gc<i64>>]> = vec![None].into_boxed_slice();
    let tracked = Gc::<[Option<Gc<i64>>]>::from(handles);
    collect();
    assert_eq!(super::tracked_count(), before + 1);
    drop((leaves, tracked));
}
