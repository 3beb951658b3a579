//! Checked changes to a box's header words: the one way to add a strong
//! count, and the head flag of values made by [`Gc::pin`](crate::Gc::pin).
//!
//! # Strong counts
//!
//! The count lives in the low 30 bits of `strong` (`COUNT_MASK`); above it
//! sit the `DEAD` and `DETACHED` flags. A count that grew past the mask would
//! carry into them: a live value would read as dead, or a later collection
//! would free a block that handles still point to. So every increment goes
//! through [`inc_strong_checked`] or [`inc_strong_collector`], and neither
//! ever lets the count wrap:
//!
//! - Handles (`Gc`, `debug::Garbage`) and the counts the crate holds on a
//!   user's behalf (`debug`'s snapshots) stop at `MAX_HANDLES`
//!   (`COUNT_MASK - 1`): [`inc_strong_checked`] panics *before* changing the
//!   count, so the caller sees a panic and nothing else changed.
//! - That leaves one value spare, for the collector's own count on an
//!   object it examines (`scan::partition`) or on a detached object it found
//!   through an edge (`Tracer::visit_outside`). No object holds both at
//!   once: the first is for objects of the working set, the second for
//!   detached ones, which are in no set (and `DISCOVERED` lets the tracer
//!   take it once, until `retrack` gives it back at the end of the
//!   collection). So the spare is enough: [`inc_strong_collector`] finds the
//!   count at most `MAX_HANDLES`, and aborts if it ever is not, rather than
//!   wrap.

use crate::gc_box::{COUNT_MASK, Counts, MAX_HANDLES};

/// Head flag: the value was made by `Gc::pin` and must never move. Set once,
/// right after the object is created, and never cleared while the block
/// lives (a reused block gets a fresh head). `try_unwrap`, `into_inner`,
/// `unwrap_or_clone`, `get_mut` and `make_mut` treat a pinned value as if
/// another handle existed, whoever holds the handle (`debug::objects_of` and
/// `debug::Garbage::downcast` hand out plain `Gc`s to it).
///
/// Only head-ful objects carry it: a head-less pinned value can be reached
/// only through its `Pin<Gc<T>>`, which never gives out a plain `Gc`.
pub(crate) const PINNED: u32 = 1 << 14;

/// Adds one strong count for a new handle, or for a count held on a user's
/// behalf.
///
/// # Panics
///
/// Panics, before changing anything, if the object already has
/// `MAX_HANDLES` counts.
#[inline]
pub(crate) fn inc_strong_checked(c: &Counts) {
    let s = c.strong();
    if s & COUNT_MASK >= MAX_HANDLES {
        strong_overflow();
    }
    c.set_strong(s + 1);
}

#[cold]
#[inline(never)]
fn strong_overflow() -> ! {
    panic!("Gc: too many handles to one value (strong count overflow)")
}

/// Adds the collector's own strong count, which may take the one value kept
/// spare above `MAX_HANDLES` (see the module docs).
///
/// Aborts the process if the count is already past `MAX_HANDLES`: the
/// collector cannot unwind from the middle of its bookkeeping, and a count
/// must never wrap. Every other increment stops at `MAX_HANDLES`, so this
/// does not happen.
#[inline]
pub(crate) fn inc_strong_collector(c: &Counts) {
    let s = c.strong();
    if s & COUNT_MASK > MAX_HANDLES {
        collector_overflow();
    }
    c.set_strong(s + 1);
}

#[cold]
#[inline(never)]
fn collector_overflow() -> ! {
    eprintln!("Gc: strong count overflow in the collector; aborting");
    std::process::abort()
}
