//! Python-style memory management for Rust.
//!
//! [`Gc<T>`] is a reference-counted pointer: like [`Rc`](std::rc::Rc), it
//! frees a value the moment its last handle is dropped. Unlike `Rc`, values
//! that reference each other in a cycle are not leaked: a generational cycle
//! detector, modelled on CPython's, finds reference cycles and frees them
//! too. Types take part by deriving [`Trace`]; no unsafe code is needed.
//!
//! ```
//! use gc_core::{Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace)]
//! struct Node {
//!     name: String,
//!     edges: RefCell<Vec<Gc<Node>>>,
//! }
//!
//! let a = Gc::new(Node { name: "a".into(), edges: RefCell::new(vec![]) });
//! let b = Gc::new(Node { name: "b".into(), edges: RefCell::new(vec![a.clone()]) });
//! a.edges.borrow_mut().push(b.clone()); // a <-> b: a cycle
//! assert_eq!(Gc::strong_count(&a), 2);
//!
//! drop((a, b)); // counting alone cannot free the cycle...
//! assert_eq!(gc_core::collect(), 2); // ...the collector does
//! ```
//!
//! # The model
//!
//! - **Counting.** Every `Gc` handle adds one to its value's strong count.
//!   At zero the value is finalized (if it has a [`Finalize`] impl), dropped
//!   and freed at once. Acyclic garbage never waits for a collection.
//!   Dropping a deep structure (a list of a million nodes) does not recurse
//!   deeply: past a fixed depth, frees are queued, as in CPython's
//!   "trashcan".
//! - **Tracking.** Values whose type can hold a `Gc` are *tracked*: the
//!   collector knows about them. Values that cannot (numbers, strings, or
//!   structs of such fields, as the derive works out at compile time) are
//!   untracked: they cost what an `Rc` costs and are never visited.
//! - **Generations.** New tracked objects start in generation 0. When tracked
//!   allocations minus deallocations exceed a threshold, a collection
//!   examines the young generation; survivors move up. Older generations are
//!   examined less and less often ([`threshold`]), and a full collection
//!   waits until the old generation has grown by a quarter, so a growing heap
//!   is never rescanned quadratically. [`freeze`] moves everything to a
//!   permanent generation that collections skip.
//! - **Finding cycles** (CPython's trial deletion). For the generations being
//!   collected: copy each object's strong count, subtract one for each
//!   reference found by tracing those objects, and what stays above zero is
//!   referenced from outside. Those objects, and everything they reach,
//!   survive; the rest is cyclic garbage.
//! - **Finalization order** (PEP 442). Weak references to the garbage are
//!   cleared first; then each garbage object's finalizer runs, once in its
//!   life, with all the garbage still intact; then the collector checks
//!   whether a finalizer resurrected anything (stored a clone of a garbage
//!   `Gc` somewhere reachable): resurrected objects and all they reach
//!   survive unharmed. The rest, all of it already marked dead, is dropped
//!   one value at a time and freed.
//! - **Dead handles.** While garbage values are dropped, a `Drop` impl may
//!   reach a `Gc` of the same garbage: that handle is *dead*, whether its
//!   value is already gone or about to go. Dereferencing it panics with a
//!   clear message, and [`Gc::try_deref`] returns `None`. Its memory is freed
//!   only when the last handle goes, so nothing ever dangles.
//!
//! ```text
//!  young gen ──┐
//!  (gen 1) ────┼─► copy counts ─► subtract inner edges ─► mark from survivors
//!  (gen 2) ────┘                                            │            │
//!                                      reachable: promote ◄─┘            ▼
//!                                                      garbage: clear weak refs
//!                                                               ─► finalize (once)
//!                                                               ─► re-check (resurrection)
//!                                                               ─► drop values, free
//! ```
//!
//! # Safety model
//!
//! No unsafe code is needed to use this crate, and nothing a safe user does
//! can cause undefined behaviour:
//!
//! - [`Trace`] is a safe trait. A wrong impl (a field left out, one reported
//!   twice, a trace that changes over time, clones handles, or hides a cell
//!   it read before) leaks, never more: the collector checks that its traces
//!   agree with each other and with the counts, and drops nothing when they
//!   do not. Memory is freed only when the counts say no handle remains, not
//!   when the trace says so. What no check can see is a `trace` that reports
//!   a handle its value does not own (one kept in a thread-local, a leaked
//!   box, another object, or an `Rc` shared with code outside the heap) or
//!   that moves
//!   handles as it reports them; see [`Trace`]'s *Correctness*.
//! - `Drop` impls are allowed on traced types; in cyclic garbage they see
//!   the other garbage through dead handles (a panic or `None`, never a
//!   dangling pointer).
//! - A panic in a `Drop`, finalizer or `trace` during a collection leaves the
//!   collector consistent; the panic reaches the caller once the collection
//!   has finished its bookkeeping.
//! - `Drop` impls and finalizers may allocate, clone, drop and call
//!   [`collect`] during a collection (a nested `collect` returns 0).
//! - A `RefCell` that is mutably borrowed while a collection runs is not
//!   read: its owner is kept alive for that collection.
//! - [`Gc::get_mut`] hands out a `&mut T`; while it lives no collection
//!   creates a reference to that value.
//! - Each thread has its own heap (`Gc` is neither `Send` nor `Sync`). When a
//!   thread exits, its remaining cyclic garbage is collected (a bounded
//!   number of times); a `Gc` dropped during or after thread-local teardown
//!   is handled safely.
//!
//! The unsafe code lives in a few internal modules; its invariants are
//! listed once, numbered, in the docs of the heap block's module, and every
//! `unsafe` block cites the one it relies on.
//!
//! # Features
//!
//! - `derive` (default): re-exports `#[derive(Trace)]` from `gc-derive`.
//!
//! # The `gc` module of Python, in Rust
//!
//! | Python | Rust |
//! |---|---|
//! | `gc.collect(generation=2)` | [`collect`], [`collect_generation`] |
//! | `gc.enable()`, `gc.disable()`, `gc.isenabled()` | [`enable`], [`disable`], [`is_enabled`] |
//! | `gc.get_threshold()`, `gc.set_threshold()` | [`threshold`], [`set_threshold`] |
//! | `gc.get_count()` | [`count`] |
//! | `gc.get_stats()` | [`stats`] |
//! | `gc.freeze()`, `gc.unfreeze()`, `gc.get_freeze_count()` | [`freeze`], [`unfreeze`], [`freeze_count`] |
//! | `len(gc.get_objects())` | [`tracked_count`] |
//! | `gc.is_tracked(obj)` | [`Gc::is_tracked`] |
//! | `gc.callbacks` | [`add_callback`], [`remove_callback`] |
//! | `__del__` | [`Finalize`] |
//! | `weakref.ref` | [`Weak`] |

// Lets the derive's `::gc_core` paths resolve inside this crate's own tests.
extern crate self as gc_core;

mod collector;
pub mod debug;
mod gc;
mod gc_box;
mod slab;
mod trace;
mod weak;

pub use collector::{
    CallbackId, CollectInfo, GenerationStats, Phase, add_callback, collect, collect_generation,
    count, disable, enable, freeze, freeze_count, is_enabled, remove_callback, set_threshold,
    stats, threshold, tracked_count, unfreeze,
};
pub use gc::Gc;
#[doc(hidden)]
pub use trace::{__gc_spend, __gc_tracked_of};
pub use trace::{Finalize, Trace, Tracer};
pub use weak::Weak;

#[cfg(feature = "derive")]
#[doc = include_str!("derive.md")]
pub use gc_derive::Trace;
