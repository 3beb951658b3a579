//! The [`Trace`] trait, the [`Tracer`] it reports to, and [`Finalize`].
//!
//! # What a wrong `Trace` impl can do
//!
//! The collector uses what `trace` reports to decide which objects are
//! *garbage*, and guards each way a wrong report could hurt:
//!
//! - an edge not reported makes its target look referenced from outside, so
//!   it is kept alive (a leak);
//! - the analysis checks that the traces are consistent, and drops nothing
//!   (a leak) when they are not: a handle reported twice by one `trace`
//!   (handles are told apart by address), an object whose edges differ
//!   between the two times it is traced (compared by an 18-bit checksum), a cell readable the first time and borrowed the second, a
//!   handle cloned from an object being examined (those are all marked dead
//!   while examined, so `Clone` notices);
//! - memory is freed only when no handle remains (the counts say so, not the
//!   trace), so no handle ever dangles; objects whose count reaches zero
//!   while the collector looks at them are freed only after it has finished.
//!
//! What no check can see is a `trace` that reports a handle its value does
//! not own (kept in a thread-local, a leaked box, another object, or an `Rc`
//! shared with code outside the heap), or that moves a handle as it reports
//! it: to the
//! collector that looks like a handle inside the garbage, so its target can
//! be dropped while that handle is still in use.
//! Derive `Trace` with `#[derive(Trace)]` and none of this matters.

mod impls;

use crate::collector::{KEEP, UNREAD};
use crate::gc_box::{COUNT_MASK, DETACHED, DISCOVERED, LOC_MASK, LOC_NONE, Obj, REACHABLE};

/// A type whose values can be stored in a [`Gc`](crate::Gc), reporting the
/// `Gc` pointers they own so the cycle collector can find reference cycles.
///
/// `trace` must call [`Trace::trace`] on every field that may hold a `Gc`
/// (the `Gc`'s own impl reports the edge). Derive it:
///
/// ```
/// use gc_core::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node {
///     name: String,
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { name: "a".into(), next: RefCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone()); // a cycle
/// drop(a);
/// assert_eq!(gc_core::collect(), 1);
/// ```
///
/// or write it by hand, visiting each field:
///
/// ```
/// use gc_core::{Gc, Trace, Tracer};
///
/// struct Pair(Gc<i32>, Option<Gc<i32>>, u64);
///
/// impl Trace for Pair {
///     fn trace(&self, tracer: &mut Tracer) {
///         self.0.trace(tracer);
///         self.1.trace(tracer);
///         // `u64` holds no `Gc`: nothing to report.
///     }
/// }
///
/// let p = Gc::new(Pair(Gc::new(1), None, 7));
/// assert_eq!(*p.0, 1);
/// ```
///
/// # Correctness
///
/// A correct impl reports each `Gc` the value owns exactly once, the same way
/// every time it is called, and does not create, clone, drop or move `Gc`s.
///
/// What a wrong impl leads to:
///
/// - a `Gc` left out is treated as referenced from outside: its target
///   leaks (it stays alive);
/// - a `Gc` reported twice, a trace that changes from one call to the next,
///   one that clones the handles it reports, or one that reads a cell once
///   and finds it borrowed the next time: the collector notices (it tells
///   handles apart by address, traces every surviving object twice and
///   compares checksums of the edges, and counts the handles made while it
///   works), drops nothing
///   and keeps the objects (a leak, until a later collection finds the
///   traces consistent);
/// - a trace that reports a `Gc` its value does *not* own — one kept in a
///   thread-local, in a leaked box, in another object, or behind an `Rc` or
///   `Arc` that code outside the heap shares — or that moves a handle while reporting it can
///   pass those checks, and its target can be dropped while that outside
///   handle, or a reference taken from it, is still in use. Never report a
///   handle that another owner can reach, and never move one in `trace`.
///   (That is why this crate's impls for `Rc` and `Arc` report nothing.)
///
/// Memory is freed only when the counts say no handle remains, and objects
/// whose count reaches zero while the collector looks at them are freed only
/// after it has finished, so no wrong impl makes a `Gc` dangle.
///
/// Values shared through [`Rc`](std::rc::Rc) or [`Arc`](std::sync::Arc) are
/// not traced: another owner may hold them, so a `Gc` behind one counts as
/// referenced from outside.
///
/// # Finalizers
///
/// A hand-written impl opts into finalization by implementing [`Finalize`]
/// and overriding [`Trace::finalizer`] to return `Some(self)`; the derive does
/// this for `#[gc(finalize)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Trace`",
    label = "`{Self}` cannot be traced",
    note = "derive it with `#[derive(Trace)]` or implement it by hand",
    note = "in a derived type, a field that holds no `Gc` can be skipped with `#[gc(skip)]`, and a foreign type traced with `#[gc(with = \"path\")]`"
)]
pub trait Trace {
    /// Reports every [`Gc`](crate::Gc) directly owned by `self`, by calling
    /// [`Trace::trace`] on each field.
    fn trace(&self, tracer: &mut Tracer);

    /// This value's finalizer, if it has one. The default has none.
    ///
    /// Override it to return `Some(self)` in a type that implements
    /// [`Finalize`]: the collector then calls [`Finalize::finalize`] once,
    /// before the value is dropped (see [`Finalize`] for when).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Finalize, Gc, Trace, Tracer};
    /// use std::cell::Cell;
    ///
    /// thread_local!(static FINALIZED: Cell<u32> = const { Cell::new(0) });
    ///
    /// struct Resource;
    /// impl Finalize for Resource {
    ///     fn finalize(&self) {
    ///         FINALIZED.with(|f| f.set(f.get() + 1));
    ///     }
    /// }
    /// impl Trace for Resource {
    ///     fn trace(&self, _: &mut Tracer) {}
    ///     fn finalizer(&self) -> Option<&dyn Finalize> {
    ///         Some(self)
    ///     }
    /// }
    ///
    /// drop(Gc::new(Resource));
    /// assert_eq!(FINALIZED.with(Cell::get), 1);
    /// ```
    fn finalizer(&self) -> Option<&dyn Finalize> {
        None
    }

    /// Whether values of this type may hold a `Gc` (and so must be tracked by
    /// the cycle collector). `budget` bounds the work on recursive types: an
    /// impl that recurses into other types spends one unit and answers `true`
    /// (conservatively) when none is left.
    ///
    /// Answering `false` for a type that does hold a `Gc` only leaks cycles
    /// through it. Not part of the public API: the derive generates it.
    #[doc(hidden)]
    fn __gc_tracked(budget: &mut u32) -> bool
    where
        Self: Sized,
    {
        let _ = budget;
        true
    }

    /// [`Trace::__gc_tracked`] for the value's own type, callable on a trait
    /// object (used when a `Box<dyn Trait>` becomes a `Gc<dyn Trait>`).
    /// Not part of the public API: the derive generates it.
    #[doc(hidden)]
    fn __gc_tracked_dyn(&self) -> bool {
        true
    }

    /// The `TypeId` of the value's own type, callable on a trait object
    /// (used by `Gc::unsize` to check that the closure returned the value
    /// itself). Sealed: it takes a token only this crate can name, so it can
    /// be neither overridden nor called elsewhere.
    #[doc(hidden)]
    fn __gc_type_id(&self, _: sealed::Internal) -> core::any::TypeId
    where
        Self: 'static,
    {
        core::any::TypeId::of::<Self>()
    }

    /// For an array `[E; N]` or a slice `[E]`: `E`'s `TypeId` and the
    /// number of elements; `None` for every other type. Lets `Gc::unsize`
    /// accept the array-to-slice coercion. Sealed like `__gc_type_id`.
    #[doc(hidden)]
    fn __gc_array(&self, _: sealed::Internal) -> Option<(core::any::TypeId, usize)>
    where
        Self: 'static,
    {
        None
    }
}

/// The token of the sealed hidden methods of [`Trace`].
pub(crate) mod sealed {
    /// Only gc-core can name this type (its module is private), so only
    /// gc-core can override or call the `Trace` methods that take it.
    #[derive(Clone, Copy, Debug)]
    pub struct Internal;
}

/// Cleanup that runs before a value is dropped, with all of its cyclic
/// garbage still intact (as Python's `__del__` under PEP 442).
///
/// Opt in with `#[derive(Trace)]` and `#[gc(finalize)]`, or by overriding
/// [`Trace::finalizer`] in a hand-written impl.
///
/// `finalize` runs at most once per object:
///
/// - when the object's last handle is dropped, just before its `Drop`; the
///   strong count is already zero then, so the object cannot be resurrected;
/// - when the collector finds the object in cyclic garbage: all the garbage is
///   finalized while every value is still intact, and weak references to it
///   already fail to upgrade. A finalizer may store a clone of a `Gc` it can
///   reach somewhere reachable; the objects it resurrects that way, and all
///   they reach, survive unharmed (and are not finalized again).
///
/// # Examples
///
/// ```
/// use gc_core::{Finalize, Gc, Trace};
/// use std::cell::{Cell, RefCell};
///
/// thread_local!(static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) });
///
/// #[derive(Trace)]
/// #[gc(finalize)]
/// struct File {
///     name: String,
///     peer: RefCell<Option<Gc<File>>>,
/// }
///
/// impl Finalize for File {
///     fn finalize(&self) {
///         // Every object of the cycle is still intact here.
///         let peer = self.peer.borrow().as_ref().map(|p| p.name.clone());
///         LOG.with(|l| l.borrow_mut().push(format!("{} (peer {peer:?})", self.name)));
///     }
/// }
///
/// let a = Gc::new(File { name: "a".into(), peer: RefCell::new(None) });
/// let b = Gc::new(File { name: "b".into(), peer: RefCell::new(Some(a.clone())) });
/// *a.peer.borrow_mut() = Some(b.clone());
/// drop((a, b));
/// assert_eq!(gc_core::collect(), 2);
/// let mut log = LOG.with(|l| l.take());
/// log.sort();
/// assert_eq!(log, ["a (peer Some(\"b\"))", "b (peer Some(\"a\"))"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Finalize`",
    note = "`#[gc(finalize)]` needs an `impl Finalize for {Self}`; implement it or remove the option"
)]
pub trait Finalize {
    /// Runs the finalizer.
    fn finalize(&self);
}

/// What a [`Tracer`] does with the edges reported to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Trial deletion: subtract one from the scratch count of each target in
    /// the examined set.
    Subtract,
    /// Marking: move each not-yet-reached target in the set to the reached
    /// part of the working vector.
    Mark,
    /// Record every head-ful target (heap introspection).
    Collect,
}

/// Receives the edges a [`Trace`] impl reports.
///
/// Users never create one: the collector passes it to [`Trace::trace`], and
/// impls hand it on to their fields.
pub struct Tracer {
    pub(crate) mode: Mode,
    /// The location (`LOC_WORK` or `LOC_GARBAGE`) of the set being examined.
    pub(crate) set_loc: u32,
    /// The object whose value is being traced, if any.
    pub(crate) current: Option<Obj>,
    /// `Subtract`: scratch counts, indexed like `work`.
    pub(crate) refs: Vec<u32>,
    /// The examined set; each member's head index is its position here.
    pub(crate) work: Vec<Obj>,
    /// `Mark`: `work[..reached]` is proven reachable.
    pub(crate) reached: usize,
    /// Detached objects found through an edge (see `Gc::get_mut`).
    pub(crate) discovered: Vec<Obj>,
    /// `Collect`: the recorded edges, read when reported (the `trace` that
    /// reports an edge may drop the handle right after, so no `Obj` is kept).
    pub(crate) edges: Vec<crate::debug::ObjectInfo>,
    /// `Collect`: edges to head-less (untracked) objects: box address, type
    /// name and strong count.
    pub(crate) leaf_edges: Vec<(usize, &'static str, u32)>,
    /// `Collect`: the traced value reported an unreadable part. `Subtract`
    /// and `Mark`: the traces contradict each other (see `scan`), so the
    /// analysis cannot be trusted and nothing may be dropped.
    pub(crate) unreadable: bool,
    /// `Subtract`, `Mark`: a checksum of the in-set edges the current object
    /// reported.
    pub(crate) sum: u64,
    /// `Subtract`: the addresses of the in-set handles the current object
    /// reported, to find one reported twice.
    pub(crate) seen: Vec<usize>,
}

impl core::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tracer")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    pub(crate) fn new(mode: Mode, set_loc: u32) -> Self {
        Tracer {
            mode,
            set_loc,
            current: None,
            refs: Vec::new(),
            work: Vec::new(),
            reached: 0,
            discovered: Vec::new(),
            edges: Vec::new(),
            leaf_edges: Vec::new(),
            unreadable: false,
            sum: 0,
            seen: Vec::new(),
        }
    }

    /// Tells the collector that part of the value being traced cannot be
    /// read right now, for example a `RefCell` that is mutably borrowed.
    ///
    /// The object being traced is then treated as reachable for this
    /// collection (the `Gc`s in the unread part are not reported, so their
    /// targets stay alive too); a later collection examines it again. The
    /// `Trace` impls of `RefCell`, `Mutex` and `RwLock` call it; a custom
    /// cell type should too.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Tracer};
    /// use std::cell::RefCell;
    ///
    /// struct MyCell(RefCell<Option<Gc<MyCell>>>);
    ///
    /// impl Trace for MyCell {
    ///     fn trace(&self, tracer: &mut Tracer) {
    ///         match self.0.try_borrow() {
    ///             Ok(inner) => inner.trace(tracer),
    ///             Err(_) => tracer.mark_unreadable(),
    ///         }
    ///     }
    /// }
    ///
    /// let a = Gc::new(MyCell(RefCell::new(None)));
    /// *a.0.borrow_mut() = Some(a.clone());
    /// let guard = a.0.borrow_mut(); // the collector cannot read `a` now
    /// assert_eq!(gc_core::collect(), 0);
    /// drop(guard);
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    pub fn mark_unreadable(&mut self) {
        match self.mode {
            Mode::Subtract => {
                if let Some(obj) = self.current {
                    self.refs[obj.index()] = UNREAD;
                }
            }
            // An object unread when subtracting is unread again: its edges
            // were never subtracted, so skipping them is right.
            Mode::Mark
                if self
                    .current
                    .is_some_and(|obj| self.refs[obj.index()] == UNREAD) => {}
            // Otherwise the part was read when subtracting but not now: what
            // it holds would look unreferenced. Nothing may be dropped this
            // time.
            Mode::Collect | Mode::Mark => self.unreadable = true,
        }
    }

    /// Reports a strong edge to the head-ful object `obj`, through the
    /// handle at address `handle`.
    #[inline]
    pub(crate) fn visit(&mut self, obj: Obj, handle: usize) {
        let f = obj.flags();
        if f & LOC_MASK != self.set_loc {
            self.visit_outside(obj, f);
            return;
        }
        match self.mode {
            Mode::Subtract => {
                self.sum = self.sum.wrapping_add(edge_sum(obj, handle));
                let r = &mut self.refs[obj.index()];
                if *r == 0 {
                    // Reported more often than it is referenced: keep it.
                    *r = KEEP;
                } else if *r < UNREAD {
                    *r -= 1;
                }
                self.seen.push(handle);
            }
            Mode::Mark => {
                self.sum = self.sum.wrapping_add(edge_sum(obj, handle));
                if f & REACHABLE == 0 {
                    obj.set_flags(f | REACHABLE);
                    self.move_to_reached(obj);
                }
            }
            Mode::Collect => self.edges.push(crate::debug::ObjectInfo::of_obj(obj)),
        }
    }

    /// Reports a strong edge to a head-less object whose counts are at
    /// `counts`: only heap introspection records those.
    #[inline]
    pub(crate) fn visit_leaf(
        &mut self,
        counts: &crate::gc_box::Counts,
        type_name: fn() -> &'static str,
    ) {
        if self.mode == Mode::Collect {
            let addr = core::ptr::from_ref(counts).addr();
            self.leaf_edges
                .push((addr, type_name(), counts.strong() & COUNT_MASK));
        }
    }

    #[cold]
    fn visit_outside(&mut self, obj: Obj, f: u32) {
        if self.mode == Mode::Collect {
            self.edges.push(crate::debug::ObjectInfo::of_obj(obj));
            return;
        }
        // A strong edge to a detached object proves that the handle `get_mut`
        // borrowed has since been moved into a traced value, so the `&mut`
        // it gave out has ended (invariant I5).
        if f & LOC_MASK == LOC_NONE
            && obj.counts().strong() & DETACHED != 0
            && obj.counts().strong() & COUNT_MASK != 0
            && f & DISCOVERED == 0
        {
            obj.set_flags(f | DISCOVERED);
            // Held until `retrack`: user code (`Drop`, finalizers) runs before
            // then and may drop the handle that reached it.
            let c = obj.counts();
            c.set_strong(c.strong() + 1);
            self.discovered.push(obj);
        }
    }

    /// Swaps `obj` into `work[self.reached]` and extends the reached part.
    fn move_to_reached(&mut self, obj: Obj) {
        let p = obj.index();
        let r = self.reached;
        debug_assert!(p >= r, "a reached object is never moved again");
        let other = self.work[r];
        self.work.swap(p, r);
        other.set_index(p);
        obj.set_index(r);
        self.reached = r + 1;
    }
}

/// The checksum of one in-set edge: the handle's address and its target,
/// mixed so that different edge sets are unlikely to sum alike.
#[inline]
fn edge_sum(obj: Obj, handle: usize) -> u64 {
    let h = (handle as u64) ^ (obj.head_addr() as u64).rotate_left(32);
    h.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The budget given to [`Trace::__gc_tracked`] for one type.
const TRACKED_BUDGET: u32 = 64;

/// Whether values of `T` may hold a `Gc` and must be tracked.
#[inline]
pub(crate) fn is_tracked_type<T: Trace>() -> bool {
    let mut budget = TRACKED_BUDGET;
    T::__gc_tracked(&mut budget)
}

/// [`Trace::__gc_tracked`] of `T` with a fresh budget. Used by derived
/// `__gc_tracked_dyn` impls.
#[doc(hidden)]
#[inline]
#[must_use]
pub fn __gc_tracked_of<T: Trace>() -> bool {
    is_tracked_type::<T>()
}

/// Spends one unit of a [`Trace::__gc_tracked`] budget; `false` when none is
/// left (the caller then answers `true`). Used by derived impls.
#[doc(hidden)]
#[inline]
pub fn __gc_spend(budget: &mut u32) -> bool {
    if *budget == 0 {
        false
    } else {
        *budget -= 1;
        true
    }
}
