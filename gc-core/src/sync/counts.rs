//! The counts of a thread-safe box: changed only inside the gate (an
//! [`Inside`] proves it), read by a collection only while the graph is
//! stopped (a [`Stopped`] proves it).
//!
//! ```text
//! strong: u32  [31 DEAD][30 CLEARED][29 DETACHED][28 free][27..0 count]
//! ```
//!
//! - **C1 (a zero count is final).** A count reaches zero only by the last
//!   handle's drop, which then owns the value (it drops it after leaving
//!   the gate). Nothing raises a zero count again (`new_cyclic`'s first
//!   handle, [`Counts::init`], is no handle's last): [`Counts::upgrade`]
//!   fails on it, and a pause skips such an object (it never reads a value
//!   another thread may be dropping: issue 18's "objects already dying
//!   when the pause starts").
//! - **C2 (what a pause sees).** Every count change is inside the gate, so
//!   during a pause no count changes, and each operation that changed one
//!   happens before the pause (gate G2): relaxed loads read settled counts.
//! - **C3 (claimed, condemned).** A pause that judges an object garbage
//!   *claims* it: marks it `CLEARED` and takes one count for the collector,
//!   in one store before the pause ends. An upgrade after the pause sees
//!   the flag and fails, so no new strong handle reaches the value the
//!   collector then finalizes or drops; an upgrade before the pause raised
//!   the count, which the pause saw (C2). A pause that confirms the claim
//!   *condemns* it: `DEAD`, after which its handles are dead (a `Deref`
//!   panics) and the collector drops the value; the handle that drops the
//!   count to zero then finds `DEAD` and leaves the value alone.
//! - **C5 (detached).** `DETACHED` is set, inside the gate, only on an
//!   object with one handle, by `get_mut`, which then hands out `&mut` to
//!   the value: a pause never traces a detached value. Any later operation
//!   through that handle (a clone, a downgrade) proves the `&mut` ended, and
//!   clears it; so does a pause that finds the handle in a value it traced
//!   (reading it there shows nothing else borrows it mutably).
//! - **C4 (no overflow).** An increment that finds the count at
//!   [`MAX_HANDLES`] or above undoes itself and reports failure; the
//!   headroom above it (2^27 counts) exceeds any number of threads racing
//!   there, so the flags are never reached.

#[cfg(loom)]
use loom::sync::atomic::AtomicU32;
#[cfg(all(loom, not(gc_tsan)))]
use loom::sync::atomic::fence;
#[cfg(not(loom))]
use std::sync::atomic::AtomicU32;
#[cfg(all(not(loom), not(gc_tsan)))]
use std::sync::atomic::fence;

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
/// `get_mut` lent the value out mutably (C5).
const DETACHED: u32 = 1 << 29;
/// The bits of an increment's old word that send it to the slow path: the
/// limit (C4) or `DETACHED` (C5).
const UNUSUAL: u32 = MAX_HANDLES | DETACHED;

const _: () = assert!(
    COUNT_MASK & (DEAD | CLEARED | DETACHED) == 0
        && MAX_HANDLES < COUNT_MASK
        && MAX_HANDLES.is_power_of_two()
        && (MAX_HANDLES << 1) > COUNT_MASK
);

/// The strong count of a thread-safe box, and its collection flags.
#[derive(Debug)]
pub(crate) struct Counts {
    strong: AtomicU32,
}

/// An acquire fence after the read-modify-write of `word` that decided; see
/// `gate::acquire` for the `gc_tsan` build.
#[inline]
fn acquire(word: &AtomicU32) {
    #[cfg(not(gc_tsan))]
    {
        let _ = word;
        fence(Acquire);
    }
    #[cfg(gc_tsan)]
    word.load(Acquire);
}

impl Counts {
    /// The counts of a new object: one handle.
    pub(crate) fn new() -> Counts {
        Counts {
            strong: AtomicU32::new(1),
        }
    }

    /// The counts of an object under construction (`new_cyclic`): no strong
    /// handle yet, so an upgrade fails (C1); [`Counts::init`] gives it its
    /// first.
    pub(crate) fn new_uninit() -> Counts {
        Counts {
            strong: AtomicU32::new(0),
        }
    }

    /// The first strong handle of an object from [`Counts::new_uninit`]:
    /// the one exception to C1 (no strong handle existed before, so nobody
    /// owned a value to drop), made before the object is listed, so no pause
    /// reads its count yet (C2 holds for listed objects). Other threads may
    /// hold a `Weak` to it already (see the store's ordering).
    pub(crate) fn init(&self) {
        // `Release`: a `Weak` from `new_cyclic` may be on another thread
        // already; its `upgrade` reads this with `Acquire`, so the value's
        // write happens before its reads.
        self.strong.store(1, Release);
    }

    /// One more strong handle. `false`, changing nothing, at the limit
    /// (C4): the caller panics once it has left the gate. Clears `DETACHED`
    /// (C5): a handle being cloned is not mutably borrowed.
    #[inline]
    pub(crate) fn inc_strong(&self, _: &Inside<'_>) -> bool {
        let old = self.strong.fetch_add(1, Relaxed);
        if old & UNUSUAL != 0 {
            return self.inc_unusual(old);
        }
        true
    }

    #[cold]
    fn inc_unusual(&self, old: u32) -> bool {
        if old & DETACHED != 0 {
            self.strong.fetch_and(!DETACHED, Relaxed);
        }
        if old & COUNT_MASK >= MAX_HANDLES {
            self.strong.fetch_sub(1, Relaxed);
            return false;
        }
        true
    }

    /// Inside the gate, on an object whose only handle the caller borrows
    /// mutably: if it is the only one (no other strong handle, not claimed
    /// by a collection, not dead), marks it `DETACHED` (C5) and returns
    /// `true`; the caller may then lend the value out mutably.
    pub(crate) fn detach(&self, _: &Inside<'_>) -> bool {
        let s = self.strong.load(Relaxed);
        if s & (COUNT_MASK | DEAD) != 1 {
            return false;
        }
        self.strong.fetch_or(DETACHED, Relaxed);
        // The other handles' last uses happen before the `&mut` (as in
        // `Arc::get_mut`).
        acquire(&self.strong);
        true
    }

    /// Clears `DETACHED` (C5): the handle `get_mut` borrowed is in use again.
    pub(crate) fn attach(&self, _: &Inside<'_>) {
        self.strong.fetch_and(!DETACHED, Relaxed);
    }

    /// Whether `get_mut` lent the value out (C5), read during a pause.
    pub(crate) fn is_detached<L>(&self, _: &Stopped<'_, L>) -> bool {
        self.strong.load(Relaxed) & DETACHED != 0
    }

    /// During a pause, for an object found through a handle in a traced
    /// value: its `&mut` has ended (C5).
    pub(crate) fn attach_stopped<L>(&self, _: &Stopped<'_, L>) {
        self.strong.fetch_and(!DETACHED, Relaxed);
    }

    /// Inside the gate: takes the only strong handle (`try_unwrap`), leaving
    /// the count at zero (C1), if there is exactly one and no collection
    /// claimed the object.
    pub(crate) fn take_unique(&self, _: &Inside<'_>) -> bool {
        let ok = self
            .strong
            .fetch_update(Relaxed, Relaxed, |s| {
                (s & (COUNT_MASK | DEAD) == 1).then_some(s & CLEARED)
            })
            .is_ok();
        if ok {
            acquire(&self.strong);
        }
        ok
    }

    /// The strong count now, for `strong_count`: exact only when no other
    /// thread changes it (as `Arc::strong_count`).
    pub(crate) fn strong_count(&self) -> u32 {
        self.strong.load(Relaxed) & COUNT_MASK
    }

    /// One strong handle less. `true` if it was the last: the caller now
    /// owns the value and drops it after leaving the gate (C1).
    #[inline]
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
        acquire(&self.strong);
        true
    }

    /// A strong handle from a weak one: fails on a zero count (C1), on a
    /// condemned object (C3) and at the limit (C4).
    #[inline]
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
    pub(crate) fn count<L>(&self, _: &Stopped<'_, L>) -> u32 {
        self.strong.load(Relaxed) & COUNT_MASK
    }

    /// Whether a collection condemned the object (its handles are dead).
    #[inline]
    pub(crate) fn is_dead(&self) -> bool {
        self.strong.load(Acquire) & DEAD != 0
    }

    /// Whether a collection cleared the object's weak references.
    #[cfg(test)]
    pub(crate) fn is_cleared(&self) -> bool {
        self.strong.load(Acquire) & CLEARED != 0
    }

    /// During a pause: the object is garbage. Weak references cleared, and
    /// one count for the collector, which keeps the value until it drops
    /// it (C3).
    ///
    /// # Panics
    ///
    /// Panics if the object's count is zero: a dying object is never
    /// claimed (C1).
    pub(crate) fn claim<L>(&self, stopped: &Stopped<'_, L>) {
        assert!(
            self.count(stopped) != 0,
            "sync::Counts: a dying object claimed"
        );
        // C2: nothing else changes the word during the pause.
        let s = self.strong.load(Relaxed);
        self.strong.store((s + 1) | CLEARED, Release);
    }

    /// During a pause: a claimed object is confirmed garbage. Its handles
    /// are dead from now on (C3).
    pub(crate) fn condemn<L>(&self, _: &Stopped<'_, L>) {
        self.strong.fetch_or(DEAD, Release);
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
