//! [`Weak<T>`]: a non-owning handle to a [`Gc`] value.

use core::fmt;
use core::ptr::{self, NonNull};

use crate::gc::{Gc, inc_strong};
use crate::gc_box::{GcBox, counts, head_of};
use crate::trace::{Trace, Tracer};

/// A weak handle to a [`Gc`] value, like [`std::rc::Weak`]: it does not keep
/// the value alive, and [`Weak::upgrade`] gives a new `Gc` while the value
/// lives.
///
/// `upgrade` returns `None` once the last `Gc` is gone, and also for every
/// object the cycle collector has found to be garbage: weak references to
/// garbage are cleared before any finalizer runs (as CPython does). If a
/// finalizer resurrects the object, the `Weak`s cleared then stay cleared,
/// while new ones (made with [`Gc::downgrade`] afterwards) work; an object
/// found to be garbage (and resurrected) four times has no working `Weak`s
/// any more.
///
/// # Examples
///
/// ```
/// use gc_core::{Gc, Weak};
///
/// let strong = Gc::new(5);
/// let weak: Weak<i32> = Gc::downgrade(&strong);
/// assert_eq!(*weak.upgrade().unwrap(), 5);
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct Weak<T: ?Sized> {
    /// The box, or a dangling sentinel (`usize::MAX`) from [`Weak::new`].
    /// The two low bits (free: a box is at least 4-aligned) hold the weak
    /// epoch of the object when this `Weak` was made (see `EPOCH_MASK`).
    ptr: NonNull<GcBox<T>>,
}

/// The low bits of a `Weak`'s pointer that hold its epoch.
const TAG: usize = 0b11;

impl<T> Weak<T> {
    /// A `Weak` that points to nothing: `upgrade` always returns `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Weak;
    /// let w: Weak<i32> = Weak::new();
    /// assert!(w.upgrade().is_none());
    /// assert_eq!(w.strong_count(), 0);
    /// ```
    #[must_use]
    pub const fn new() -> Weak<T> {
        Weak {
            ptr: NonNull::without_provenance(core::num::NonZeroUsize::MAX),
        }
    }
}

impl<T: ?Sized> Weak<T> {
    /// A `Weak` to the box at `ptr`, made in the object's current epoch.
    ///
    /// # Safety
    ///
    /// - `ptr` points to an allocated box (I1);
    /// - the caller hands the new `Weak` one weak count that it owns (one it
    ///   just added, or one it owned already), which the `Weak` gives back
    ///   when it is dropped.
    pub(crate) unsafe fn from_inner(ptr: NonNull<GcBox<T>>) -> Self {
        // SAFETY: the caller guarantees the block is allocated (this fn's
        // Safety, I1).
        let c = unsafe { counts(ptr) };
        let epoch = if c.has_head() {
            // SAFETY: allocated (I1) and head-ful (I3); the `HeadPtr` lives
            // only in this call (I9).
            let obj = unsafe { head_of(ptr) };
            obj.flags().epoch() as usize
        } else {
            0
        };
        Weak {
            ptr: ptr.map_addr(|a| a | epoch),
        }
    }

    /// The `Weak::new` sentinel, rebuilt by `Weak::from_raw`.
    pub(crate) fn sentinel(ptr: NonNull<GcBox<T>>) -> Self {
        debug_assert_eq!(ptr.as_ptr().cast::<u8>().addr(), usize::MAX);
        Weak { ptr }
    }

    /// The box pointer without the epoch tag.
    #[inline]
    fn untagged(&self) -> NonNull<GcBox<T>> {
        // The sentinel keeps its bits: it is never dereferenced.
        if self.is_dangling() {
            return self.ptr;
        }
        self.ptr.map_addr(|a| {
            // SAFETY: a box address is non-zero and at least 4-aligned (its
            // `Counts`, `u32`s, come first), so clearing the two low bits
            // leaves it non-zero.
            unsafe { core::num::NonZeroUsize::new_unchecked(a.get() & !TAG) }
        })
    }

    /// The epoch this `Weak` was made in.
    #[inline]
    fn epoch(&self) -> u32 {
        #[expect(clippy::cast_possible_truncation, reason = "two bits")]
        let e = (self.ptr.as_ptr().cast::<u8>().addr() & TAG) as u32;
        e
    }

    #[inline]
    pub(crate) fn inner_ptr(&self) -> NonNull<GcBox<T>> {
        self.untagged()
    }

    /// Whether this `Weak` was cleared for good: the collector found its
    /// object to be garbage after it was made (a later epoch), or the
    /// object's epochs ran out. Such a `Weak` never upgrades again, even if
    /// the object was resurrected. (`CLEARED` alone is not enough: a `Weak`
    /// made by a finalizer in the current epoch upgrades again if its object
    /// is resurrected.)
    pub(crate) fn is_cleared_for_good(&self) -> bool {
        if self.is_dangling() {
            return false;
        }
        let b = self.untagged();
        // SAFETY: a `Weak` keeps the block allocated (I1).
        if !unsafe { counts(b) }.has_head() {
            return false;
        }
        // SAFETY: allocated (I1) and head-ful (I3); the `HeadPtr` is used at
        // once (I9).
        let f = unsafe { head_of(b) }.flags();
        !f.weak_valid(self.epoch(), false)
    }

    #[inline]
    pub(crate) fn is_dangling(&self) -> bool {
        self.ptr.as_ptr().cast::<u8>().addr() == usize::MAX
    }

    /// Returns a new `Gc` to the value, or `None` if it is gone or the
    /// collector found it to be garbage.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new("x");
    /// let w = Gc::downgrade(&a);
    /// assert!(Gc::ptr_eq(&w.upgrade().unwrap(), &a));
    /// ```
    #[must_use = "the Gc is dropped at once otherwise"]
    pub fn upgrade(&self) -> Option<Gc<T>> {
        if self.is_dangling() {
            return None;
        }
        let b = self.untagged();
        // SAFETY: a `Weak` keeps the block allocated (I1).
        let c = unsafe { counts(b) };
        if c.strong_count() == 0 || c.is_dead() {
            return None;
        }
        if c.has_head() {
            // SAFETY: allocated (I1) and head-ful (I3); the `HeadPtr` is used
            // at once (I9).
            let f = unsafe { head_of(b) }.flags();
            if !f.weak_valid(self.epoch(), true) {
                // Found to be garbage since this `Weak` was made.
                return None;
            }
        }
        // SAFETY: allocated (I1), and reached through this `Weak`: `get_mut`
        // hands out a `&mut` only while no `Weak` exists (I5).
        unsafe { inc_strong(b) };
        // SAFETY: allocated, the value live (not dead, strong count above
        // zero: I2), and the strong count just added goes to the handle.
        Some(unsafe { Gc::from_inner(b) })
    }

    /// The number of `Gc` handles to the value (0 for [`Weak::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(w.strong_count(), 1);
    /// drop(a);
    /// assert_eq!(w.strong_count(), 0);
    /// ```
    #[must_use]
    pub fn strong_count(&self) -> usize {
        if self.is_dangling() {
            return 0;
        }
        // SAFETY: a `Weak` keeps the block allocated (I1).
        unsafe { counts(self.untagged()) }.strong_count() as usize
    }

    /// The number of `Weak` handles to the value, or 0 once no `Gc` remains
    /// (as [`std::rc::Weak::weak_count`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// let w2 = w.clone();
    /// assert_eq!(w.weak_count(), 2);
    /// drop(a);
    /// assert_eq!(w2.weak_count(), 0);
    /// ```
    #[must_use]
    pub fn weak_count(&self) -> usize {
        if self.is_dangling() {
            return 0;
        }
        // SAFETY: a `Weak` keeps the block allocated (I1).
        let c = unsafe { counts(self.untagged()) };
        if c.strong_count() == 0 {
            0
        } else {
            (c.weak_count() - 1) as usize
        }
    }

    /// Whether two `Weak`s point to the same allocation (or are both from
    /// [`Weak::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Weak};
    /// let a = Gc::new(1);
    /// let w1 = Gc::downgrade(&a);
    /// let w2 = Gc::downgrade(&a);
    /// assert!(w1.ptr_eq(&w2));
    /// assert!(!w1.ptr_eq(&Weak::new()));
    /// ```
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        ptr::addr_eq(self.untagged().as_ptr(), other.untagged().as_ptr())
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    /// Another weak handle to the same value.
    ///
    /// # Panics
    ///
    /// Panics if the value already has `2^31 - 1` weak handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// let w2 = w.clone();
    /// assert!(w.ptr_eq(&w2));
    /// ```
    fn clone(&self) -> Self {
        if !self.is_dangling() {
            // SAFETY: a `Weak` keeps the block allocated (I1); the counts are
            // at the untagged box address, not at the epoch-tagged one.
            unsafe { counts(self.untagged()) }.inc_weak();
        }
        // The clone keeps the epoch tag: it was made in the same epoch.
        Weak { ptr: self.ptr }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    /// Drops this weak handle, freeing the memory if it was the last handle
    /// of any kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// drop(w);
    /// assert_eq!(Gc::weak_count(&a), 0);
    /// ```
    fn drop(&mut self) {
        if self.is_dangling() {
            return;
        }
        // SAFETY: a `Weak` keeps the block allocated (I1) and owns one weak
        // count, given back here once; the value is initialised or was
        // dropped in place (I2).
        unsafe { crate::collector::release::release_weak_count(self.untagged()) };
    }
}

impl<T> Default for Weak<T> {
    /// The same as [`Weak::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Weak;
    /// let w: Weak<u8> = Weak::default();
    /// assert!(w.upgrade().is_none());
    /// ```
    fn default() -> Self {
        Weak::new()
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    /// Prints `(Weak)`, as `std::rc::Weak` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Weak;
    /// assert_eq!(format!("{:?}", Weak::<i32>::new()), "(Weak)");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

impl<T: Trace + ?Sized> Trace for Weak<T> {
    /// A weak edge is not a strong edge: nothing is reported.
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}

    #[inline]
    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }

    /// Trusted: its trace does nothing.
    #[inline]
    fn __gc_trusted(_: &mut u32) -> Option<crate::trace::__GcTrusted> {
        crate::trace::trusted_if(&[])
    }
}
