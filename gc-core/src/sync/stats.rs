//! The shared heap's configuration and statistics, in the spirit of
//! Python's `gc` module (and of the thread-local heap's functions of the
//! same names).

use core::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::heap::HEAP;
use crate::GenerationStats;

/// What the collections of the shared heap did so far.
static STATS: Mutex<GenerationStats> = Mutex::new(GenerationStats {
    collections: 0,
    collected: 0,
    total_pause: Duration::ZERO,
    max_pause: Duration::ZERO,
    rejected: 0,
});

/// Adds one collection that freed `collected` objects in `took`.
pub(crate) fn record(collected: usize, took: Duration) {
    let mut s = STATS.lock().unwrap_or_else(PoisonError::into_inner);
    s.collections += 1;
    s.collected += collected;
    s.total_pause += took;
    s.max_pause = s.max_pause.max(took);
}

/// The statistics of the shared heap's collections: how many ran, how
/// many objects they freed, their total and longest duration (the whole
/// collection, of which other threads wait only for the pauses within,
/// and only if they touch a `sync::Gc` then).
///
/// # Examples
///
/// ```
/// let before = gc_core::sync::stats();
/// gc_core::sync::collect();
/// assert_eq!(gc_core::sync::stats().collections, before.collections + 1);
/// ```
#[must_use]
pub fn stats() -> GenerationStats {
    *STATS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Turns automatic collection of the shared heap on (the default).
///
/// # Examples
///
/// ```
/// gc_core::sync::disable();
/// assert!(!gc_core::sync::is_enabled());
/// gc_core::sync::enable();
/// assert!(gc_core::sync::is_enabled());
/// ```
pub fn enable() {
    HEAP.enabled.store(true, Relaxed);
}

/// Turns automatic collection of the shared heap off, for every thread;
/// [`collect`](super::collect) still runs one.
///
/// # Examples
///
/// ```
/// gc_core::sync::disable();
/// // ... build a large structure without pauses ...
/// gc_core::sync::enable();
/// ```
pub fn disable() {
    HEAP.enabled.store(false, Relaxed);
}

/// Whether automatic collection of the shared heap is on.
///
/// # Examples
///
/// ```
/// gc_core::sync::enable();
/// assert!(gc_core::sync::is_enabled());
/// ```
#[must_use]
pub fn is_enabled() -> bool {
    HEAP.enabled.load(Relaxed)
}

/// The allocation threshold of the shared heap: an automatic collection
/// runs once this many tracked objects (ones whose type can hold a `Gc`)
/// were allocated since the last collection, and at least a quarter as
/// many as survived it (so the cost of the full collections stays
/// proportional to allocation). Threads add their allocations to the count
/// 256 at a time. The default is 10,000.
///
/// # Examples
///
/// ```
/// assert!(gc_core::sync::threshold() > 0);
/// ```
#[must_use]
pub fn threshold() -> usize {
    HEAP.threshold.load(Relaxed)
}

/// Sets [`threshold`]; 0 means the same as 1.
///
/// # Examples
///
/// ```
/// let old = gc_core::sync::threshold();
/// gc_core::sync::set_threshold(50_000);
/// assert_eq!(gc_core::sync::threshold(), 50_000);
/// gc_core::sync::set_threshold(old);
/// ```
pub fn set_threshold(threshold: usize) {
    HEAP.threshold.store(threshold.max(1), Relaxed);
}

/// Tracked allocations counted since the last collection (as Python's
/// `gc.get_count()`, for the one generation; up to 255 per thread are not
/// yet counted).
///
/// # Examples
///
/// ```
/// let _ = gc_core::sync::count();
/// ```
#[must_use]
pub fn count() -> usize {
    HEAP.allocated.load(Relaxed)
}

/// Tracked objects that survived the last collection.
///
/// # Examples
///
/// ```
/// use gc_core::sync::Gc;
/// use std::sync::Mutex;
///
/// let keep = Gc::new(Mutex::new(None::<Gc<i32>>));
/// gc_core::sync::collect();
/// assert!(gc_core::sync::tracked_count() >= 1);
/// # drop(keep);
/// ```
#[must_use]
pub fn tracked_count() -> usize {
    HEAP.survivors.load(Relaxed)
}
