//! [`Weak<T>`]: a non-owning handle to a [`Gc`] value.

use core::alloc::Layout;
use core::fmt;
use core::ptr::{self, NonNull};

use crate::gc::{Gc, inc_strong};
use crate::gc_box::{CLEARED, COUNT_MASK, DEAD, GcBox, WEAK_MASK, counts, free_block, head_of};
use crate::trace::{Trace, Tracer};

/// A weak handle to a [`Gc`] value, like [`std::rc::Weak`]: it does not keep
/// the value alive, and [`Weak::upgrade`] gives a new `Gc` while the value
/// lives.
///
/// `upgrade` returns `None` once the last `Gc` is gone, and also for every
/// object the cycle collector has found to be garbage: weak references to
/// garbage are cleared before any finalizer runs (as CPython does), and stay
/// cleared even if a finalizer resurrects the object.
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
    ptr: NonNull<GcBox<T>>,
}

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
    pub(crate) fn from_inner(ptr: NonNull<GcBox<T>>) -> Self {
        Weak { ptr }
    }

    #[inline]
    pub(crate) fn inner_ptr(&self) -> NonNull<GcBox<T>> {
        self.ptr
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
        // SAFETY: a `Weak` keeps the block allocated (I1).
        let c = unsafe { counts(self.ptr) };
        let s = c.strong();
        if s & COUNT_MASK == 0 || s & DEAD != 0 {
            return None;
        }
        if c.has_head() {
            // SAFETY: allocated and head-ful (I3).
            let obj = unsafe { head_of(self.ptr) };
            if obj.flags() & CLEARED != 0 {
                return None;
            }
        }
        inc_strong(self.ptr);
        Some(Gc::from_inner(self.ptr))
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
        (unsafe { counts(self.ptr) }.strong() & COUNT_MASK) as usize
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
        let c = unsafe { counts(self.ptr) };
        if c.strong() & COUNT_MASK == 0 {
            0
        } else {
            ((c.weak() & WEAK_MASK) - 1) as usize
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
        ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
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
            // SAFETY: a `Weak` keeps the block allocated (I1).
            let c = unsafe { counts(self.ptr) };
            let w = c.weak();
            assert!(
                w & WEAK_MASK < WEAK_MASK,
                "Gc: too many Weak handles to one value"
            );
            c.set_weak(w + 1);
        }
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
        // SAFETY: a `Weak` keeps the block allocated (I1).
        let c = unsafe { counts(self.ptr) };
        let w = c.weak() - 1;
        c.set_weak(w);
        if w & WEAK_MASK != 0 {
            return;
        }
        // Both counts are zero: this was the last handle of any kind, and
        // the value was dropped when the strong count reached zero (I2).
        if c.has_head() {
            // SAFETY: head-ful (I3).
            let obj = unsafe { head_of(self.ptr) };
            let dealloc = obj.vtable().dealloc;
            // SAFETY: no handle remains; the block is freed once (I1).
            unsafe { dealloc(obj) };
        } else {
            // SAFETY: the value was dropped in place, which leaves a valid
            // value behind; only its metadata is read for the layout.
            let layout = Layout::for_value(unsafe { self.ptr.as_ref() });
            // SAFETY: no handle remains; allocated with this layout (I1).
            unsafe { free_block(self.ptr.cast(), layout) };
        }
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
    fn trace(&self, _: &mut Tracer) {}

    #[inline]
    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }
}
