//! [`Weak`], the thread-safe weak handle.

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::boxed::{Header, HeaderPtr, SyncBox};
use super::gc::Gc;
use super::heap::op;
use crate::trace::{Trace, Tracer};

/// A weak handle to a [`sync::Gc`](Gc)'s value: it does not keep the value
/// alive, and [`Weak::upgrade`] returns `None` once the value is gone, or
/// once a collection found it to be garbage (weak handles are cleared
/// before finalizers run, as in Python), as
/// [`std::sync::Weak`].
///
/// # Examples
///
/// ```
/// use gc_core::sync::Gc;
///
/// let a = Gc::new(1);
/// let w = Gc::downgrade(&a);
/// assert_eq!(w.upgrade().as_deref(), Some(&1));
/// drop(a);
/// assert!(w.upgrade().is_none());
/// ```
pub struct Weak<T: ?Sized> {
    /// `None`: made by [`Weak::new`], pointing nowhere.
    ptr: Option<NonNull<SyncBox<T>>>,
    _owns: PhantomData<SyncBox<T>>,
}

// SAFETY: as `std::sync::Weak<T>`: an upgrade on any thread gives a `Gc<T>`.
unsafe impl<T: ?Sized + Send + Sync> Send for Weak<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for Weak<T> {}

impl<T> Weak<T> {
    /// A weak handle to nothing: `upgrade` always returns `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = gc_core::sync::Weak::<i32>::new();
    /// assert!(w.upgrade().is_none());
    /// ```
    #[must_use]
    pub const fn new() -> Weak<T> {
        Weak {
            ptr: None,
            _owns: PhantomData,
        }
    }
}

impl<T> Default for Weak<T> {
    fn default() -> Self {
        Weak::new()
    }
}

impl<T: ?Sized> Weak<T> {
    /// A `Weak` from a weak count the caller took on `b`.
    ///
    /// # Safety
    ///
    /// The caller gives the new handle one weak count of `b` (Y1).
    pub(crate) unsafe fn from_block(b: NonNull<SyncBox<T>>) -> Weak<T> {
        Weak {
            ptr: Some(b),
            _owns: PhantomData,
        }
    }

    fn header(&self) -> Option<&Header> {
        // SAFETY: this handle's weak count keeps the block allocated (Y1).
        self.ptr.map(|b| unsafe { &(*b.as_ptr()).header })
    }

    /// A strong handle, if the value is alive and was not found to be
    /// garbage.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// assert!(gc_core::sync::Gc::downgrade(&a).upgrade().is_some());
    /// ```
    #[must_use]
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let b = self.ptr?;
        let hd = self.header()?;
        if !op(|op| hd.counts.upgrade(&op.inside)) {
            return None;
        }
        // SAFETY: the strong count just taken (counts C1, C3: the value is
        // alive and not claimed).
        Some(unsafe { Gc::from_block(b) })
    }

    /// The number of strong handles (0 once the value is gone; racy, as
    /// [`std::sync::Weak::strong_count`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// let w = gc_core::sync::Gc::downgrade(&a);
    /// assert_eq!(w.strong_count(), 1);
    /// ```
    #[must_use]
    pub fn strong_count(&self) -> usize {
        self.header()
            .map_or(0, |h| h.counts.strong_count() as usize)
    }

    /// The number of weak handles (0 for [`Weak::new`]; racy).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// let w = gc_core::sync::Gc::downgrade(&a);
    /// assert_eq!(w.weak_count(), 1);
    /// ```
    #[must_use]
    pub fn weak_count(&self) -> usize {
        self.header().map_or(0, |h| h.weak_handles() as usize)
    }

    /// Whether both point to the same object (or both to nothing).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// let w = gc_core::sync::Gc::downgrade(&a);
    /// assert!(w.ptr_eq(&w.clone()));
    /// ```
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (self.ptr, other.ptr) {
            (Some(a), Some(b)) => core::ptr::addr_eq(a.as_ptr(), b.as_ptr()),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    fn clone(&self) -> Self {
        if let Some(h) = self.header() {
            h.inc_weak();
        }
        Weak {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        if let Some(b) = self.ptr {
            let h: HeaderPtr = b.cast();
            // SAFETY: this handle's weak count, given up once.
            unsafe { Header::release_weak(h) };
        }
    }
}

impl<T: ?Sized> core::fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("(Weak)")
    }
}

impl<T: ?Sized> Trace for Weak<T> {
    /// A weak handle is no edge.
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}

    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }

    fn __gc_trusted(_: &mut u32) -> Option<crate::trace::__GcTrusted> {
        crate::trace::trusted_if(&[])
    }
}
