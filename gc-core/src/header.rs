//! The header words of every heap block, as typed words with named
//! operations: the two counts at the start of every box ([`Counts`]) and the
//! flags word of a head-ful object's head ([`Flags`]). No other module
//! touches a mask; this is the bottom layer of the crate.
//!
//! ```text
//! strong: u32  [31 FLAGGED][30 DEAD][29 WATCHED][28 DETACHED][27..0 count]
//! weak:   u32  [31 HAS_HEAD][30..0 weak count, +1 for all strong handles together]
//! flags:  u32  [31..19 free][18 ESCAPES][17 WAS_CANDIDATE][16 QUEUED][15 LOST][14 PINNED]
//!              [13..12 EPOCH][11 INLINE][10 DISCOVERED][9 TRACKABLE][8 WEAK_DEAD][7 PENDING][6 CLEARED][5 HAS_FINALIZER]
//!              [4 FINALIZED][3 TRUSTED][2..0 LOC]
//! LOC:         0 GEN0 · 1 GEN1 · 2 GEN2 · 3 PERM · 4 WORK · 5 GARBAGE · 6 NONE · 7 FREE (slab)
//! ```
//!
//! - The flags of `strong` sit above the count, and `FLAGGED` (the sign
//!   bit) is set exactly when one of them is, so the single compare
//!   `strong < MAX_HANDLES` of the clone fast path sends every overflow,
//!   dead, detached and watched object to the slow path
//!   ([`Counts::try_inc_fast`]), and the sign of the decremented word, the
//!   one test of the drop fast path (as `Rc`'s test for zero), sends a
//!   count reaching zero and every flagged object there
//!   ([`Counts::dec_fast`]): a `WATCHED` object's first decrement is how
//!   the collector learns that it lost a reference (a *candidate*, see
//!   `collector::candidates`).
//! - `HAS_HEAD` never changes after allocation (invariant I3); neither do
//!   `INLINE`, `TRACKABLE`, `TRUSTED` and `HAS_FINALIZER` once the object is published,
//!   and `PINNED` once `Gc::pin` set it (invariant I6).
//!
//! # Strong counts
//!
//! A count that grew past its mask would carry into the flags: a live value
//! would read as dead, or a later collection would free a block that handles
//! still point to. So every increment goes through
//! [`Counts::inc_strong_checked`] (via `gc::inc_strong`, for handles and
//! the counts `debug` holds on a user's behalf) or
//! [`Counts::inc_strong_collector`], and neither lets the count wrap:
//!
//! - handles stop at `MAX_HANDLES` (`COUNT_MASK - 1`): the increment panics
//!   *before* changing the count;
//! - that leaves one value spare, for the collector's own count on an object
//!   it examines (`scan::partition`) or on a detached object it found
//!   through an edge (`Tracer::visit_outside`). No object takes both at once
//!   (working-set objects are never detached), so the spare is enough; the
//!   collector's increment aborts rather than wrap if it ever is not.

use core::cell::Cell;

/// Bits of `strong` that hold the count.
const COUNT_MASK: u32 = (1 << 28) - 1;
/// The most strong handles one object can have; one more is kept for the
/// collector's own reference while it examines the object.
pub(crate) const MAX_HANDLES: u32 = COUNT_MASK - 1;
/// `strong` flag: the value was dropped by the cycle collector, or the
/// object is being examined (a dead handle).
const DEAD: u32 = 1 << 30;
/// `strong` flag: `get_mut` took the object out of the collector's lists.
const DETACHED: u32 = 1 << 28;
/// `strong`: set exactly when one of the three flags is (the sign bit, so
/// that a flagged word is negative as an `i32`).
const FLAGGED: u32 = 1 << 31;
/// The three flags of `strong`.
const STRONG_FLAGS: u32 = DEAD | DETACHED | WATCHED;
/// `strong` flag: the object is tracked and was not decremented since the
/// collector last examined it (or since it was made): its next decrement
/// that leaves a count takes the slow path, which makes it a candidate.
const WATCHED: u32 = 1 << 29;

/// Bits of `weak` that hold the count.
const WEAK_MASK: u32 = (1 << 31) - 1;
/// `weak` flag: a head precedes the box (invariant I3).
const HAS_HEAD: u32 = 1 << 31;

const _: () = assert!(COUNT_MASK & (STRONG_FLAGS | FLAGGED) == 0 && STRONG_FLAGS & FLAGGED == 0);
const _: () = assert!(DEAD & DETACHED == 0 && (DEAD | DETACHED) & WATCHED == 0);
const _: () = assert!(WEAK_MASK & HAS_HEAD == 0);
const _: () = assert!(MAX_HANDLES < COUNT_MASK && COUNT_MASK < DETACHED);

/// The two counts at the start of every box.
#[repr(C)]
pub(crate) struct Counts {
    strong: Cell<u32>,
    weak: Cell<u32>,
}

const _: () = assert!(core::mem::size_of::<Counts>() == 8);

impl Counts {
    /// Counts for a new box: `strong` handles, `weak` weak counts (the one
    /// all strong handles hold together included), and whether a head
    /// precedes the box.
    #[inline]
    pub(crate) const fn new(strong: u32, weak: u32, head: bool) -> Counts {
        Counts {
            strong: Cell::new(strong),
            weak: Cell::new(if head { weak | HAS_HEAD } else { weak }),
        }
    }

    /// The number of strong counts (handles, plus the collector's own).
    #[inline]
    pub(crate) fn strong_count(&self) -> u32 {
        self.strong.get() & COUNT_MASK
    }

    /// Whether one flag of `strong` is set.
    #[inline]
    fn strong_flag(&self, flag: u32) -> bool {
        self.strong.get() & flag != 0
    }

    /// Sets or clears one flag of `strong`, and `FLAGGED` with it.
    #[inline]
    fn set_strong_flag(&self, flag: u32, on: bool) {
        let s = self.strong.get();
        let s = if on { s | flag } else { s & !flag };
        self.strong.set(if s & STRONG_FLAGS != 0 {
            s | FLAGGED
        } else {
            s & !FLAGGED
        });
    }

    /// The value was dropped by the collector, or is being examined
    /// (`DEAD`); [`Counts::set_dead`] marks it, or makes it live again.
    #[inline]
    pub(crate) fn is_dead(&self) -> bool {
        self.strong_flag(DEAD)
    }

    #[inline]
    pub(crate) fn set_dead(&self, dead: bool) {
        self.set_strong_flag(DEAD, dead);
    }

    /// `get_mut` may have handed out a `&mut` (`DETACHED`, invariant I5);
    /// [`Counts::set_detached`] marks it, or attaches it again.
    #[inline]
    pub(crate) fn is_detached(&self) -> bool {
        self.strong_flag(DETACHED)
    }

    #[inline]
    pub(crate) fn set_detached(&self, detached: bool) {
        self.set_strong_flag(DETACHED, detached);
    }

    /// The next decrement that leaves a count makes the object a candidate
    /// (`WATCHED`); [`Counts::set_watched`] sets or clears it.
    #[inline]
    pub(crate) fn is_watched(&self) -> bool {
        self.strong_flag(WATCHED)
    }

    #[inline]
    pub(crate) fn set_watched(&self, watched: bool) {
        self.set_strong_flag(WATCHED, watched);
    }

    /// Exactly one strong count, and the value not dead: the caller's handle
    /// is the only one.
    #[inline]
    pub(crate) fn is_unique_live(&self) -> bool {
        self.strong.get() & (COUNT_MASK | DEAD) == 1
    }

    /// The clone fast path: adds one strong count and returns `true` when no
    /// flag is set and the count is below the limit (one compare); returns
    /// `false`, changing nothing, otherwise. (A `WATCHED` object's clone
    /// takes the slow path too, until its first drop clears the flag.)
    #[inline]
    pub(crate) fn try_inc_fast(&self) -> bool {
        let s = self.strong.get();
        if s < MAX_HANDLES {
            self.strong.set(s + 1);
            true
        } else {
            false
        }
    }

    /// The drop fast path: takes one strong count away and returns `true`
    /// when a count is left and no flag is set (one test: the word stays
    /// positive). Returns `false` when the caller must look further: the
    /// count reached zero, or a flag is set (`FLAGGED`, the sign bit, with
    /// `WATCHED`: a candidate now; `DEAD` or `DETACHED`, which need nothing
    /// more while a count is left).
    #[inline]
    pub(crate) fn dec_fast(&self) -> bool {
        let s = self.strong.get();
        debug_assert!(s & COUNT_MASK != 0, "strong count underflow");
        // The count is at least one, so nothing borrows from the flags.
        let s = s.wrapping_sub(1);
        self.strong.set(s);
        s.cast_signed() > 0
    }

    /// Adds one strong count for a new handle, or for a count held on a
    /// user's behalf.
    ///
    /// # Panics
    ///
    /// Panics, before changing anything, if the object already has
    /// `MAX_HANDLES` counts.
    #[inline]
    pub(crate) fn inc_strong_checked(&self) {
        let s = self.strong.get();
        if s & COUNT_MASK >= MAX_HANDLES {
            strong_overflow();
        }
        self.strong.set(s + 1);
    }

    /// Adds the collector's own strong count, which may take the one value
    /// kept spare above `MAX_HANDLES` (see the module docs).
    ///
    /// Aborts the process if the count is already past `MAX_HANDLES`: the
    /// collector cannot unwind from the middle of its bookkeeping, and a
    /// count must never wrap. Every other increment stops at `MAX_HANDLES`,
    /// so this does not happen.
    #[inline]
    pub(crate) fn inc_strong_collector(&self) {
        let s = self.strong.get();
        if s & COUNT_MASK > MAX_HANDLES {
            collector_overflow();
        }
        self.strong.set(s + 1);
    }

    /// [`Counts::inc_strong_collector`] and [`Counts::set_dead`] in one
    /// store, as an object enters an examined set; returns the count before.
    #[inline]
    pub(crate) fn enter_set(&self) -> u32 {
        let s = self.strong.get();
        if s & COUNT_MASK > MAX_HANDLES {
            collector_overflow();
        }
        self.strong.set((s + 1) | DEAD | FLAGGED);
        s & COUNT_MASK
    }

    /// Takes one strong count away and returns how many are left.
    #[inline]
    pub(crate) fn dec_strong(&self) -> u32 {
        let s = self.strong.get() - 1;
        debug_assert!(s & COUNT_MASK != COUNT_MASK, "strong count underflow");
        self.strong.set(s);
        s & COUNT_MASK
    }

    /// The weak count, including the one all strong handles hold together
    /// while any exists.
    #[inline]
    pub(crate) fn weak_count(&self) -> u32 {
        self.weak.get() & WEAK_MASK
    }

    /// Adds one weak count.
    ///
    /// # Panics
    ///
    /// Panics, before changing anything, if the weak count is at its limit.
    #[inline]
    pub(crate) fn inc_weak(&self) {
        let w = self.weak.get();
        assert!(
            w & WEAK_MASK < WEAK_MASK,
            "Gc: too many Weak handles to one value"
        );
        self.weak.set(w + 1);
    }

    /// Takes one weak count away and returns how many are left.
    #[inline]
    pub(crate) fn dec_weak(&self) -> u32 {
        let w = self.weak.get() - 1;
        self.weak.set(w);
        w & WEAK_MASK
    }

    /// A head precedes the box (invariant I3).
    #[inline]
    pub(crate) fn has_head(&self) -> bool {
        self.weak.get() & HAS_HEAD != 0
    }
}

#[cold]
#[inline(never)]
fn strong_overflow() -> ! {
    panic!("Gc: too many handles to one value (strong count overflow)")
}

#[cold]
#[inline(never)]
fn collector_overflow() -> ! {
    eprintln!("Gc: strong count overflow in the collector; aborting");
    std::process::abort()
}

/// Where a head-ful object is: which list, set or state (the `LOC` field).
pub(crate) type Loc = u32;
/// Generation 0 (the young generation).
pub(crate) const LOC_GEN0: Loc = 0;
/// Generation 1.
pub(crate) const LOC_GEN1: Loc = 1;
/// Generation 2 (the old generation).
pub(crate) const LOC_GEN2: Loc = 2;
/// The permanent generation (`freeze`).
pub(crate) const LOC_PERM: Loc = 3;
/// In the set a collection is examining.
pub(crate) const LOC_WORK: Loc = 4;
/// Found to be garbage; the collector holds one strong count on it.
pub(crate) const LOC_GARBAGE: Loc = 5;
/// In no list: untracked type with a finalizer, dead, detached, or created
/// after the heap was torn down.
pub(crate) const LOC_NONE: Loc = 6;
/// Not an object: a free block of a typed slab page (written by the slab).
pub(crate) const LOC_FREE: Loc = 7;

const LOC_MASK: u32 = 0b111;
const _: () = assert!(LOC_FREE == LOC_MASK && LOC_FREE == crate::slab::FREE_TAG);

/// One bit of the flags word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Flag {
    /// The type's `trace` is trusted (`Trace::__gc_trusted`): it runs no
    /// user code, so the collector traces the object after all others and
    /// need not hold its cells' borrows (I6).
    Trusted = 1 << 3,
    /// `Finalize::finalize` already ran (at most once per object).
    Finalized = 1 << 4,
    /// The type has a finalizer (never changes after publication, I6).
    HasFinalizer = 1 << 5,
    /// The collector found the object to be garbage: `Weak::upgrade` fails.
    Cleared = 1 << 6,
    /// The count reached zero while the collector was examining the object;
    /// the free waits in the heap's pending list.
    Pending = 1 << 7,
    /// The weak epoch ran out (found to be garbage four times): no `Weak` to
    /// it upgrades any more.
    WeakDead = 1 << 8,
    /// The type can hold a `Gc` and belongs in the collector's lists (I6).
    Trackable = 1 << 9,
    /// A collection found a strong edge to this detached object; it may be
    /// put back in the lists when that collection ends (see `Gc::get_mut`).
    Discovered = 1 << 10,
    /// The vtable is stored in the 8 bytes before the head (the object is
    /// not in a typed slab page; I6).
    Inline = 1 << 11,
    /// Made by `Gc::pin`: no API moves the value out or hands out `&mut`
    /// (set once, right after creation; I6).
    Pinned = 1 << 14,
    /// A young object that lost a reference (a decrement left a count) since
    /// it was made: a candidate for the next automatic collection.
    Lost = 1 << 15,
    /// The object is in the heap's candidate queue, which keeps its block
    /// allocated (not its value) until the entry is taken out.
    Queued = 1 << 16,
    /// Meaningful only for a member of the set a collection examines: it
    /// was a candidate when it entered the set (`Lost` is cleared then, so
    /// that a decrement during the analysis sets it anew).
    WasCandidate = 1 << 17,
    /// Meaningful only for a member of the set a collection examines, when
    /// the collection notes escapes: a counted edge of its value reached a
    /// tracked object outside the set.
    Escapes = 1 << 18,
}

/// Two bits: how many times the collector cleared this object's weak
/// references (mod 4). A `Weak` remembers the epoch it was made in, so the
/// ones cleared stay cleared even if the object is resurrected, while new
/// ones work.
const EPOCH_SHIFT: u32 = 12;
const EPOCH_MASK: u32 = 0b11 << EPOCH_SHIFT;

const ALL_FLAGS: [Flag; 14] = [
    Flag::Trusted,
    Flag::Finalized,
    Flag::HasFinalizer,
    Flag::Cleared,
    Flag::Pending,
    Flag::WeakDead,
    Flag::Trackable,
    Flag::Discovered,
    Flag::Inline,
    Flag::Pinned,
    Flag::Lost,
    Flag::Queued,
    Flag::WasCandidate,
    Flag::Escapes,
];

const _: () = {
    let mut used = LOC_MASK | EPOCH_MASK;
    assert!(LOC_MASK & EPOCH_MASK == 0);
    let mut i = 0;
    while i < ALL_FLAGS.len() {
        let bit = ALL_FLAGS[i] as u32;
        assert!(
            bit.is_power_of_two() && used & bit == 0,
            "flag bits overlap"
        );
        used |= bit;
        i += 1;
    }
};

/// The flags word of a head: location, weak epoch and [`Flag`] bits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub(crate) struct Flags(u32);

impl Flags {
    /// Flags with location `loc` and no bit set.
    #[inline]
    pub(crate) const fn at(loc: Loc) -> Flags {
        debug_assert!(loc <= LOC_MASK);
        Flags(loc)
    }

    /// The location.
    #[inline]
    pub(crate) const fn loc(self) -> Loc {
        self.0 & LOC_MASK
    }

    /// These flags with location `loc`.
    #[inline]
    #[must_use]
    pub(crate) const fn with_loc(self, loc: Loc) -> Flags {
        debug_assert!(loc <= LOC_MASK);
        Flags((self.0 & !LOC_MASK) | loc)
    }

    /// Whether `flag` is set.
    #[inline]
    pub(crate) const fn has(self, flag: Flag) -> bool {
        self.0 & flag as u32 != 0
    }

    /// These flags with `flag` set.
    #[inline]
    #[must_use]
    pub(crate) const fn with(self, flag: Flag) -> Flags {
        Flags(self.0 | flag as u32)
    }

    /// These flags with `flag` cleared.
    #[inline]
    #[must_use]
    pub(crate) const fn without(self, flag: Flag) -> Flags {
        Flags(self.0 & !(flag as u32))
    }

    /// These flags with `flag` set or cleared.
    #[inline]
    #[must_use]
    pub(crate) const fn set_to(self, flag: Flag, on: bool) -> Flags {
        if on {
            self.with(flag)
        } else {
            self.without(flag)
        }
    }

    /// The weak epoch (0 to 3).
    #[inline]
    pub(crate) const fn epoch(self) -> u32 {
        (self.0 & EPOCH_MASK) >> EPOCH_SHIFT
    }

    /// These flags after the collector found the object to be garbage:
    /// `Cleared` set, and a new weak epoch, so that the `Weak`s made so far
    /// never upgrade again, even if the object is resurrected; when the
    /// epochs run out, `WeakDead` (no `Weak` to it upgrades again).
    #[inline]
    #[must_use]
    pub(crate) const fn cleared_anew(self) -> Flags {
        let f = if self.0 & EPOCH_MASK == EPOCH_MASK {
            self.0 | Flag::WeakDead as u32
        } else {
            (self.0 & !EPOCH_MASK) | ((self.0 + (1 << EPOCH_SHIFT)) & EPOCH_MASK)
        };
        Flags(f | Flag::Cleared as u32)
    }

    /// Whether a `Weak` made in epoch `epoch` may still upgrade through
    /// these flags (not `WeakDead`, and the epoch unchanged); `Cleared`
    /// also fails when `strict`.
    #[inline]
    pub(crate) const fn weak_valid(self, epoch: u32, strict: bool) -> bool {
        let fail = if strict {
            Flag::Cleared as u32 | Flag::WeakDead as u32
        } else {
            Flag::WeakDead as u32
        };
        self.0 & fail == 0 && self.epoch() == epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_advance_then_die() {
        let mut f = Flags::at(LOC_GEN0);
        for e in 1..4 {
            f = f.cleared_anew();
            assert_eq!(f.epoch(), e);
            assert!(f.has(Flag::Cleared) && !f.has(Flag::WeakDead));
        }
        f = f.cleared_anew();
        assert!(f.has(Flag::WeakDead));
        assert!(!f.weak_valid(3, false));
        assert_eq!(f.loc(), LOC_GEN0);
    }

    #[test]
    fn counts_stop_before_the_flags() {
        let c = Counts::new(MAX_HANDLES - 1, 1, true);
        assert!(c.try_inc_fast());
        assert_eq!(c.strong_count(), MAX_HANDLES);
        assert!(!c.try_inc_fast(), "the fast path stops at the limit");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.inc_strong_checked()));
        assert!(r.is_err());
        assert_eq!(c.strong_count(), MAX_HANDLES);
        assert!(!c.is_dead() && !c.is_detached());
        c.inc_strong_collector();
        assert_eq!(c.strong_count(), COUNT_MASK);
        assert!(!c.is_dead() && !c.is_detached() && c.has_head());
        c.set_dead(true);
        assert!(!c.try_inc_fast());
        assert_eq!(c.dec_strong(), COUNT_MASK - 1);
        assert!(c.is_dead());
    }

    #[test]
    fn the_drop_fast_path_stops_at_zero_and_at_every_flag() {
        let c = Counts::new(3, 1, true);
        assert!(c.dec_fast(), "3 -> 2: fast");
        c.set_watched(true);
        assert!(
            !c.try_inc_fast(),
            "a watched object clones on the slow path"
        );
        c.inc_strong_checked();
        assert_eq!(c.strong_count(), 3);
        assert!(!c.dec_fast(), "a watched object's decrement is slow");
        assert_eq!(c.strong_count(), 2);
        c.set_watched(false);
        assert!(c.dec_fast(), "2 -> 1: fast");
        assert!(!c.dec_fast(), "1 -> 0: slow");
        assert_eq!(c.strong_count(), 0);
        let d = Counts::new(2, 1, true);
        d.set_dead(true);
        assert!(!d.dec_fast(), "dead: slow");
        let e = Counts::new(MAX_HANDLES, 1, true);
        e.inc_strong_collector();
        assert!(e.dec_fast(), "from the collector's spare count: fast");
        assert_eq!(e.strong_count(), MAX_HANDLES);
    }
}
