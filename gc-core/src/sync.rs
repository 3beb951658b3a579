//! Thread-safe cycle-collected pointers: [`Gc`] and [`Weak`] are `Send +
//! Sync` (when the value is), like [`Arc`](std::sync::Arc), and share one
//! process-wide heap, collected by [`collect`] and automatically.
//!
//! ```
//! use gc_core::Trace;
//! use gc_core::sync::Gc;
//! use std::sync::Mutex;
//!
//! #[derive(Trace)]
//! struct Node {
//!     peer: Mutex<Option<Gc<Node>>>,
//! }
//!
//! let a = Gc::new(Node { peer: Mutex::new(None) });
//! let b = Gc::new(Node { peer: Mutex::new(Some(a.clone())) });
//! *a.peer.lock().unwrap() = Some(b.clone());
//! // The cycle crosses threads and is freed wherever it ends up.
//! std::thread::spawn(move || drop(b)).join().unwrap();
//! drop(a);
//! assert_eq!(gc_core::sync::collect(), 2);
//! ```
//!
//! # How it differs from the thread-local heap
//!
//! - **Mutation through `std::sync` cells.** `Mutex`, `RwLock` and
//!   `OnceLock` are the cells. The collector only ever *tries* to lock
//!   them, and holds what it locked until its analysis ends; a cell it
//!   cannot lock (another thread holds it) keeps its owner alive for that
//!   collection, so there is never a deadlock. A poisoned lock is read.
//! - **Stop the graph, not the world.** A collection stops only the
//!   threads that are inside a `sync::Gc` operation at that moment (a few
//!   counter updates each, no user code) and those that start one during
//!   its pause; a thread blocked in I/O, sleeping or computing is never
//!   waited for. The pause covers the analysis; finalizers and drops run
//!   after it, on the collecting thread.
//! - **One generation.** Every collection examines the whole shared heap;
//!   automatic ones run after [`threshold`] tracked allocations and at
//!   least a quarter of the survivors of the last one, so their cost stays
//!   proportional to allocation. [`stats`] reports their durations.
//! - **Costs.** Each clone or drop is an atomic update inside the gate (a
//!   thread-local slot written twice and a fence). No counter shared by all
//!   threads is touched per operation; threads add allocations to the
//!   shared count 256 at a time.
//! - A `sync::Gc` inside a thread-local [`gc_core::Gc`](crate::Gc) is a
//!   root of neither heap (like an `Arc`); a thread-local `Gc` cannot go
//!   into a `sync::Gc` (it is not `Send`).
//!
//! # Soundness
//!
//! The crate docs' step S7 carries the argument: the gate (G1-G4, in
//! `sync/gate.rs`), the counts (C1-C5, `sync/counts.rs`), the blocks
//! (Y1-Y4, `sync/boxed.rs`) and the lists (H1-H4, `sync/heap.rs`).

// Under loom only the protocol (`gate`, `counts`) is built, for its models.
#[cfg(not(loom))]
mod boxed;
#[cfg(not(loom))]
mod collect;
#[cfg(not(loom))]
mod convert;
pub(crate) mod counts;
pub(crate) mod gate;
#[cfg(not(loom))]
mod gc;
#[cfg(not(loom))]
mod heap;
#[cfg(not(loom))]
mod release;
#[cfg(not(loom))]
mod stats;
#[cfg(not(loom))]
mod traits;
#[cfg(not(loom))]
mod weak;

#[cfg(not(loom))]
pub use gc::Gc;
#[cfg(not(loom))]
pub use stats::{
    count, disable, enable, is_enabled, set_threshold, stats, threshold, tracked_count,
};
#[cfg(not(loom))]
pub use weak::Weak;

/// Runs a full collection of the thread-safe heap on this thread and
/// returns the number of objects it freed (as Python's `gc.collect()`).
///
/// Other threads wait only if they start a `sync::Gc` operation during one
/// of its pauses; finalizers and the garbage's `Drop` run on this thread
/// after the pauses. A call from inside a collection (a `trace`,
/// finalizer or `Drop` it runs) returns 0, as does one from a thread whose
/// thread-locals are already destroyed.
///
/// # Panics
///
/// A panic of a `trace`, finalizer or `Drop` the collection runs reaches
/// the caller; the collection then frees nothing more (nothing unsound is
/// left behind: the objects it had not freed are kept, or leak).
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::sync::collect(), 0);
/// ```
#[expect(
    clippy::must_use_candidate,
    reason = "called for its effect, like Python's `gc.collect()`"
)]
#[cfg(not(loom))]
pub fn collect() -> usize {
    collect::collect()
}

/// Runs `f` under loom, with the preemption bound that keeps the models of
/// `gate` and `counts` small enough for CI.
#[cfg(loom)]
pub(crate) fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}
#[cfg(all(test, not(loom)))]
mod convert_tests;
#[cfg(all(test, not(loom)))]
mod tests;
