//! The counts of a thread-safe box: changed only inside the gate (an
//! [`Inside`] proves it), read by a collection only while the graph is
//! stopped (a [`Stopped`] proves it).
//!
//! ```text
//! strong: u32  [31 DEAD][30 CLEARED][29..28 free][27..0 count]
//! ```
//!
//! - **C1 (a zero count is final).** A count reaches zero only by the last
//!   handle's drop, which then owns the value (it drops it after leaving
//!   the gate). Nothing raises a zero count again: [`Counts::upgrade`]
//!   fails on it, and a pause skips such an object (it never reads a value
//!   another thread may be dropping: issue 18's "objects already dying
//!   when the pause starts").
//! - **C2 (what a pause sees).** Every count change is inside the gate, so
//!   during a pause no count changes, and each operation that changed one
//!   happens before the pause (gate G2): relaxed loads read settled counts.
//! - **C3 (condemned).** A pause that judges an object garbage marks it
//!   `DEAD` and `CLEARED` and takes one count for the collector, all in
//!   one store before the pause ends. An upgrade after the pause sees the
//!   flags and fails, so no new strong handle reaches the value the
//!   collector then drops; an upgrade before the pause raised the count,
//!   which the pause saw (C2).
//! - **C4 (no overflow).** An increment that finds the count at
//!   [`MAX_HANDLES`] or above undoes itself and reports failure; the
//!   headroom above it (2^27 counts) exceeds any number of threads racing
//!   there, so the flags are never reached.

#[cfg(loom)]
use loom::sync::atomic::{AtomicU32, fence};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU32, fence};

use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::gate::{Inside, Stopped};

/// Bits of `strong` that hold the count.
const COUNT_MASK: u32 = (1 << 28) - 1;
/// The most strong counts an object can have (C4).
pub(crate) const MAX_HANDLES: u32 = 1 << 27;
/// A collection judged the object garbage: its handles are dead (C3).
const DEAD: u32 = 1 << 31;
/// A collection cleared the object's weak references (C3).
const CLEARED: u32 = 1 << 30;

const _: () = assert!(COUNT_MASK & (DEAD | CLEARED) == 0 && MAX_HANDLES < COUNT_MASK);

/// The strong count of a thread-safe box, and its collection flags.
#[derive(Debug)]
pub(crate) struct Counts {
    strong: AtomicU32,
}

impl Counts {
    /// The counts of a new object: one handle.
    pub(crate) fn new() -> Counts {
        Counts {
            strong: AtomicU32::new(1),
        }
    }

    /// One more strong handle. `false`, changing nothing, at the limit
    /// (C4): the caller panics once it has left the gate.
    pub(crate) fn inc_strong(&self, _: &Inside<'_>) -> bool {
        let old = self.strong.fetch_add(1, Relaxed);
        if old & COUNT_MASK >= MAX_HANDLES {
            self.strong.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    /// One strong handle less. `true` if it was the last: the caller now
    /// owns the value and drops it after leaving the gate (C1).
    pub(crate) fn dec_strong(&self, _: &Inside<'_>) -> bool {
        let old = self.strong.fetch_sub(1, Release);
        debug_assert!(
            old & COUNT_MASK != 0,
            "sync::Counts: strong count underflow"
        );
        if old & COUNT_MASK != 1 {
            return false;
        }
        // Every other handle's last use happens before the value is dropped
        // (as in `Arc::drop`).
        fence(Acquire);
        true
    }

    /// A strong handle from a weak one: fails on a zero count (C1), on a
    /// condemned object (C3) and at the limit (C4).
    pub(crate) fn upgrade(&self, _: &Inside<'_>) -> bool {
        let mut s = self.strong.load(Relaxed);
        loop {
            let count = s & COUNT_MASK;
            if count == 0 || s & (DEAD | CLEARED) != 0 || count >= MAX_HANDLES {
                return false;
            }
            match self
                .strong
                .compare_exchange_weak(s, s + 1, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// The strong count, read during a pause (C2). Zero: the object is
    /// being dropped by another thread; the pause must not read it (C1).
    pub(crate) fn count(&self, _: &Stopped<'_>) -> u32 {
        self.strong.load(Relaxed) & COUNT_MASK
    }

    /// Whether a collection condemned the object (its handles are dead).
    pub(crate) fn is_dead(&self) -> bool {
        self.strong.load(Acquire) & DEAD != 0
    }

    /// During a pause: the object is garbage. Dead, weak references
    /// cleared, and one count for the collector, which keeps the value
    /// until it drops it (C3).
    ///
    /// # Panics
    ///
    /// Panics if the object's count is zero: a dying object is never
    /// condemned (C1).
    pub(crate) fn condemn(&self, stopped: &Stopped<'_>) {
        assert!(
            self.count(stopped) != 0,
            "sync::Counts: a dying object condemned"
        );
        // C2: nothing else changes the word during the pause.
        let s = self.strong.load(Relaxed);
        self.strong.store((s + 1) | DEAD | CLEARED, Release);
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
