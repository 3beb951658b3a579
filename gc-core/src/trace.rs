//! The [`Trace`] trait, the [`Tracer`] it reports to, and [`Finalize`].
//!
//! # What a wrong `Trace` impl can do
//!
//! The collector uses what `trace` reports to decide which objects are
//! *garbage*. It counts a reported handle only when the handle lies in
//! memory that the traced value owns (its own bytes, or a buffer that one
//! of this crate's container impls vouches for), holds every cell borrow a
//! trace takes until it has traced the whole examined set, and traces each
//! object once. So a wrong impl can only make it keep too much:
//!
//! - an edge not reported makes its target look referenced from outside, so
//!   it is kept alive (a leak);
//! - a handle the value does not own (in a thread-local, a leaked box,
//!   another object, an `Rc`, a foreign buffer nobody vouched for) is
//!   ignored: its target is kept, as if the edge were not reported, and the
//!   rejected edge is counted ([`GenerationStats::rejected`](crate::GenerationStats));
//! - a handle reported twice, a trace that leaves a region open (a caught
//!   panic), a handle cloned from an object being examined: the analysis
//!   keeps everything it examined (a leak, until a later collection finds
//!   the traces sound).
//!
//! Memory is freed only when no handle remains (the counts say so, not the
//! trace), so no handle ever dangles. The crate docs' *Soundness* section
//! carries the whole argument.

mod foreign;
mod impls;
mod tracer;

pub use tracer::Tracer;
pub(crate) use tracer::{DONE, KEEP, Mode, member_flags};

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
/// or write it by hand, calling `trace` on each field. The lifetime ties
/// the tracer to `self`: only handles borrowed from `self` for as long as
/// `self` is can be reported.
///
/// ```
/// use gc_core::{Gc, Trace, Tracer};
/// use std::cell::RefCell;
///
/// struct Pair(Gc<i32>, RefCell<Vec<Gc<i32>>>, u64);
///
/// impl Trace for Pair {
///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
///         self.0.trace(tracer);
///         self.1.trace(tracer); // the whole cell, never `self.1.borrow()`
///         // `u64` holds no `Gc`: nothing to report.
///     }
/// }
///
/// let p = Gc::new(Pair(Gc::new(1), RefCell::new(vec![]), 7));
/// assert_eq!(*p.0, 1);
/// ```
///
/// # Correctness
///
/// A correct impl calls `trace` on every field that may hold a `Gc`, and on
/// whole containers and cells, never on elements it reached by iterating a
/// container or through its own `borrow()`:
///
/// - the collector counts a reported handle only if it lies in memory the
///   value owns: the value's own bytes, or a buffer vouched for by this
///   crate's impls for `Box`, `Vec`, `VecDeque`, `HashMap` and the other
///   containers (each vouches only when it lies in owned memory itself).
///   Elements reached by hand (`for x in &self.vec { x.trace(t) }`) lie in a
///   buffer nobody vouched for, so they are ignored: their targets leak, and
///   [`GenerationStats::rejected`](crate::GenerationStats) and
///   [`debug::rejected_edges`](crate::debug::rejected_edges) say which type
///   reported them. A foreign container's elements can be vouched for with
///   the unsafe [`Tracer::trace_owned`];
/// - a cell's contents are reported through the cell's own impl (or
///   [`Tracer::borrow`], [`Tracer::lock`], [`Tracer::read`]), which keeps the
///   borrow until the collector has traced every object it examines. A
///   `trace` that reports through its own temporary `borrow()` does not
///   compile (the guard does not live for `'a`);
/// - a `Gc` left out is treated as referenced from outside: its target
///   leaks (it stays alive);
/// - a `Gc` reported twice, or a handle cloned from an object the collector
///   is examining: the collector keeps everything it examined this time;
/// - a `trace` that dereferences a `Gc` it reports, or mutably borrows a cell
///   that another object's trace has reported, panics while the collector
///   examines those objects (they are marked dead, the cell is borrowed): the
///   collector keeps everything and the panic reaches the caller of
///   `collect` (or of the `Gc::new` that started an automatic collection).
///   Do not read through handles in `trace`.
///
/// None of this can cause undefined behaviour; see the crate docs'
/// *Soundness* section.
///
/// # Do not read through handles in `trace`
///
/// While a collection examines an object, the object is marked dead, so a
/// `trace` that dereferences a `Gc` it owns (`if child.active { ... }`)
/// panics inside the collection: the collector keeps everything it
/// examined that time, the cycle is not freed, and the panic surfaces from
/// the `collect()` or the `Gc::new` that started the collection. Reading
/// through handles cannot be allowed (a handle read there could be to an
/// object about to be judged garbage); decide what to report from `self`'s
/// own fields instead.
///
/// Values shared through [`Rc`](std::rc::Rc) or [`Arc`](std::sync::Arc) are
/// not traced: another owner may hold them, so a `Gc` behind one counts as
/// referenced from outside.
///
/// # Migrating from `fn trace<'a>(&'a self, tracer: &mut Tracer<'a>)`
///
/// Spell out the lifetime: `fn trace<'a>(&'a self, tracer: &mut Tracer<'a>)`.
/// An impl that reports nothing may keep the short form. A body that called
/// `self.cell.borrow().trace(tracer)` calls `self.cell.trace(tracer)` (or
/// `tracer.borrow(&self.cell)`); a `with` function of the derive gets the
/// same signature: `fn f<'a>(field: &'a Field, tracer: &mut Tracer<'a>)`.
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
    note = "in a derived type, a field that holds no `Gc` can be skipped with `#[gc(skip)]`, and a foreign type traced with `#[gc(with = \"path\")]`",
    note = "closures cannot be traced: store a `gc_core::Closure` (state that holds the `Gc`s, code that captures none), or a `Box<dyn gc_core::Callback<E>>`"
)]
pub trait Trace {
    /// Reports every [`Gc`](crate::Gc) directly owned by `self`, by calling
    /// [`Trace::trace`] on each field.
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>);

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
    ///     fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
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

    /// Whether this type's `trace` is *trusted*: it runs nothing but the
    /// `trace` of other trusted types and this crate's own code (no user
    /// code, so it cannot move a handle). The collector traces objects of
    /// trusted types after all others and need not hold their cells'
    /// borrows (soundness step S2). The default is `None` (not trusted),
    /// which is always safe. Not part of the public API: the derive
    /// generates it; `budget` works as for [`Trace::__gc_tracked`] (an
    /// exhausted budget answers `None`).
    #[doc(hidden)]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted>
    where
        Self: Sized,
    {
        let _ = budget;
        None
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

/// Proof that a type's `trace` is trusted (see [`Trace::__gc_trusted`]).
/// Not part of the public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct __GcTrusted(());

impl __GcTrusted {
    /// Vouches that a `Trace` impl is trusted.
    ///
    /// # Safety
    ///
    /// - The impl's `trace` runs no code but calls of `Trace::trace` on
    ///   values whose types' `__gc_trusted` returned `Some`, and this
    ///   crate's own code: no user code, no cell mutation, no drop.
    #[doc(hidden)]
    #[must_use]
    pub const unsafe fn __new() -> __GcTrusted {
        __GcTrusted(())
    }
}

/// `Some` when every one of `answers` is: the trust of a type whose `trace`
/// only traces values of those types. Used by the crate's impls.
#[inline]
pub(crate) fn trusted_if(answers: &[Option<__GcTrusted>]) -> Option<__GcTrusted> {
    if answers.iter().all(Option::is_some) {
        // SAFETY: the token's contract (trusted traces, soundness step S2):
        // the callers' traces only call `trace` on values of the types whose
        // answers these are (see each caller).
        Some(unsafe { __GcTrusted::__new() })
    } else {
        None
    }
}

/// `__gc_trusted` of `T` with a fresh budget.
#[inline]
pub(crate) fn is_trusted_type<T: Trace>() -> bool {
    let mut budget = TRACKED_BUDGET;
    T::__gc_trusted(&mut budget).is_some()
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
