//! Raw pointers to the value of a [`Gc`] or [`Weak`], as `Rc` offers them,
//! and conversion to an unsized handle (`Gc<dyn Trait>`).

use core::alloc::Layout;
use core::mem::{self, ManuallyDrop};
use core::ptr::{self, NonNull};

use super::Gc;
use crate::Weak;
use crate::gc_box::{Counts, GcBox, set_data_ptr};
use crate::trace::Trace;
use crate::trace::sealed::Internal;

/// The offset of the value in a `GcBox` whose value has alignment `align`.
fn value_offset(align: usize) -> usize {
    let value = Layout::from_size_align(0, align).expect("a valid alignment");
    Layout::new::<Counts>()
        .extend(value)
        .expect("a small layout")
        .1
}

/// The box of the value at `value`.
///
/// # Safety
///
/// - `value` was returned by [`Gc::into_raw`], [`Gc::as_ptr`],
///   [`Weak::into_raw`] or [`Weak::as_ptr`] (for a live allocation), possibly
///   after an unsizing coercion.
unsafe fn box_of_value<T: ?Sized>(value: *const T) -> NonNull<GcBox<T>> {
    // SAFETY: the caller guarantees `value` points into an allocated box
    // (this fn's Safety, I1); reading the alignment needs only the metadata
    // (a value dropped in place is read again only for its layout, I2).
    let align = mem::align_of_val(unsafe { &*value });
    let b = value.wrapping_byte_sub(value_offset(align)) as *mut GcBox<T>;
    // SAFETY: the box starts before its value, inside the same allocated
    // block (I1), so at a non-null address.
    unsafe { NonNull::new_unchecked(b) }
}

impl<T: ?Sized> Gc<T> {
    /// Consumes the handle, returning a pointer to the value, as
    /// [`Rc::into_raw`](std::rc::Rc::into_raw). The strong count is kept:
    /// turn the pointer back into a handle with [`Gc::from_raw`] to release
    /// it, or the value leaks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let x = Gc::new(String::from("hi"));
    /// let p = Gc::into_raw(x);
    /// assert_eq!(unsafe { &*p }, "hi");
    /// let x = unsafe { Gc::from_raw(p) };
    /// assert_eq!(&*x, "hi");
    /// ```
    #[must_use = "the value leaks unless the pointer is given back to `Gc::from_raw`"]
    pub fn into_raw(this: Self) -> *const T {
        let this = ManuallyDrop::new(this);
        Gc::as_ptr(&this)
    }

    /// Rebuilds a handle from a pointer returned by [`Gc::into_raw`], as
    /// [`Rc::from_raw`](std::rc::Rc::from_raw).
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by `Gc::<U>::into_raw` where `U` is `T`, or `U`
    ///   coerces to `T` by an unsizing coercion (e.g. `T = dyn Trait`);
    /// - each such pointer is given to `from_raw` at most once per
    ///   `into_raw` (or per [`Gc::increment_strong_count`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// use std::fmt::Display;
    ///
    /// let raw: *const i32 = Gc::into_raw(Gc::new(5));
    /// let p: *const dyn Display = raw; // an unsizing coercion
    /// let g: Gc<dyn Display> = unsafe { Gc::from_raw(p) };
    /// assert_eq!(g.to_string(), "5");
    /// ```
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        // SAFETY: the caller guarantees `ptr` came from `Gc::into_raw`, whose
        // strong count still keeps the box allocated (this fn's Safety, I1).
        let b = unsafe { box_of_value(ptr) };
        // SAFETY: that strong count, owned by the pointer (this fn's Safety),
        // goes to the handle; the box is allocated (I1) and its value
        // initialised or dead (I2).
        unsafe { Gc::from_inner(b) }
    }

    /// Adds one strong count to the value behind a pointer from
    /// [`Gc::into_raw`], as
    /// [`Rc::increment_strong_count`](std::rc::Rc::increment_strong_count).
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by [`Gc::into_raw`] and its strong count is still
    ///   held (the value is alive).
    ///
    /// # Panics
    ///
    /// Panics on strong count overflow, as `Clone` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let p = Gc::into_raw(Gc::new(1));
    /// unsafe {
    ///     Gc::increment_strong_count(p);
    ///     let a = Gc::from_raw(p);
    ///     assert_eq!(Gc::strong_count(&a), 2);
    ///     Gc::decrement_strong_count(p);
    ///     assert_eq!(Gc::strong_count(&a), 1);
    /// }
    /// ```
    pub unsafe fn increment_strong_count(ptr: *const T) {
        // SAFETY: the caller guarantees `ptr` came from `Gc::into_raw` and
        // its count is still held (this fn's Safety, I1); the `ManuallyDrop`
        // borrows that count without giving it back.
        let this = ManuallyDrop::new(unsafe { Gc::from_raw(ptr) });
        mem::forget(Gc::clone(&this));
    }

    /// Drops one strong count of the value behind a pointer from
    /// [`Gc::into_raw`], as
    /// [`Rc::decrement_strong_count`](std::rc::Rc::decrement_strong_count).
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by [`Gc::into_raw`], and the count it releases is
    ///   one held through that pointer.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(1);
    /// let p = Gc::into_raw(a.clone());
    /// unsafe { Gc::decrement_strong_count(p) };
    /// assert_eq!(Gc::strong_count(&a), 1);
    /// ```
    pub unsafe fn decrement_strong_count(ptr: *const T) {
        // SAFETY: the caller guarantees `ptr` came from `Gc::into_raw` and
        // owns the strong count it releases (this fn's Safety, I1).
        drop(unsafe { Gc::from_raw(ptr) });
    }

    /// Converts the handle to one of an unsized type the value coerces to,
    /// such as `Gc<dyn Trait>` (where `Trait` has `Trace` as a supertrait) or
    /// `Gc<[E]>` from `Gc<[E; N]>`: the safe, stable replacement for the
    /// unsizing coercion `Rc` gets from the compiler. Name the target type
    /// and pass the identity closure, `Gc::unsize::<dyn Trait>(gc, |x| x)`:
    /// the compiler inserts the coercion in the closure.
    ///
    /// The value's dynamic type must stay the same: `dyn Trait` (including
    /// upcasting one trait object to a supertrait's) and array-to-slice
    /// coercions qualify. Unsizing the last field of a struct
    /// (`S<[E; N]>` to `S<[E]>`) does not; build such a `Gc` from a
    /// `Box<S<[E]>>` with [`Gc::from`] instead.
    ///
    /// # Panics
    ///
    /// Panics if the handle is dead, or if `coerce` returns a reference to
    /// anything but the whole value itself: another value, a part of it (even
    /// a field at offset 0 with the value's size), or the value as another
    /// type.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace};
    ///
    /// trait Animal: Trace {
    ///     fn name(&self) -> String;
    /// }
    /// #[derive(Trace)]
    /// struct Dog;
    /// impl Animal for Dog {
    ///     fn name(&self) -> String {
    ///         "dog".into()
    ///     }
    /// }
    ///
    /// let dog = Gc::new(Dog);
    /// let animal = Gc::unsize::<dyn Animal>(dog.clone(), |x| x);
    /// assert_eq!(animal.name(), "dog");
    /// assert_eq!(Gc::strong_count(&dog), 2);
    ///
    /// let slice = Gc::unsize::<[u8]>(Gc::new([1, 2, 3]), |x| x);
    /// assert_eq!(&*slice, [1, 2, 3]);
    /// ```
    ///
    /// A field is not the value, even at the same address:
    ///
    /// ```should_panic
    /// use gc_core::{Gc, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Wrapper {
    ///     inner: Vec<u8>,
    /// }
    /// impl Drop for Wrapper {
    ///     fn drop(&mut self) {}
    /// }
    ///
    /// let w = Gc::new(Wrapper { inner: vec![1] });
    /// let _ = Gc::unsize::<Vec<u8>>(w, |w| &w.inner); // panics
    /// ```
    #[track_caller]
    pub fn unsize<U>(this: Self, coerce: impl FnOnce(&T) -> &U) -> Gc<U>
    where
        T: Trace + 'static,
        U: Trace + ?Sized + 'static,
    {
        let value: &T = &this;
        let target: &U = coerce(value);
        // The value's dynamic type (through the vtable for a trait object)
        // must not change, or the `Gc<U>` would drop (and `try_unwrap` move
        // out) something else than the value: for `[E; N]` to `[E]`, the
        // element type and count must not.
        let array = value.__gc_array(Internal);
        let same_type = array == target.__gc_array(Internal)
            && (array.is_some() || value.__gc_type_id(Internal) == target.__gc_type_id(Internal));
        assert!(
            same_type
                && ptr::addr_eq(value, target)
                && mem::size_of_val(value) == mem::size_of_val(target)
                && mem::align_of_val(value) == mem::align_of_val(target),
            "Gc::unsize: the closure must return the value itself (`|x| x`), not a part of it \
             or another value"
        );
        let target: *const U = target;
        let raw = Gc::into_raw(this);
        // Same address; `raw`'s provenance, `target`'s metadata.
        let target = set_data_ptr(target.cast_mut(), raw.cast::<u8>().cast_mut());
        // SAFETY: `target` points where `raw` does, with `raw`'s provenance,
        // and its metadata describes a value of the same dynamic type (the
        // same element type and count for a slice), size and alignment
        // there, so its box is the same box (still allocated by the count
        // `raw` holds, I1) and its vtables stay right (I3); the strong count
        // moves with it.
        unsafe { Gc::from_raw(target) }
    }
}

impl<T: ?Sized> Weak<T> {
    /// A pointer to the value, as [`std::rc::Weak::as_ptr`]. It is valid
    /// to read only while some `Gc` keeps the value alive; for
    /// [`Weak::new`] it dangles.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(5);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(w.as_ptr(), Gc::as_ptr(&a));
    /// ```
    #[must_use]
    pub fn as_ptr(&self) -> *const T {
        let b = self.inner_ptr();
        if self.is_dangling() {
            return b.as_ptr() as *const T;
        }
        // SAFETY: a `Weak` keeps the block allocated (I1); the projection
        // creates no reference.
        unsafe { crate::gc_box::value_ptr(b.as_ptr()) }
    }

    /// Consumes the `Weak`, returning a pointer to the value and keeping its
    /// weak count, as [`std::rc::Weak::into_raw`].
    ///
    /// A `Weak` that the collector cleared for good (its object was found to
    /// be garbage after the `Weak` was made, see [`Weak`]) cannot remember
    /// that in a bare pointer: it releases its weak count instead, and the
    /// pointer returned is the dangling one of [`Weak::new`] (with `T`'s
    /// metadata), so the `Weak` that [`Weak::from_raw`] rebuilds stays
    /// cleared.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Weak};
    ///
    /// let a = Gc::new(1);
    /// let p = Gc::downgrade(&a).into_raw();
    /// assert_eq!(p, Gc::as_ptr(&a));
    /// let w = unsafe { Weak::from_raw(p) };
    /// assert_eq!(*w.upgrade().unwrap(), 1);
    /// ```
    #[must_use = "the weak count leaks unless the pointer is given back to `Weak::from_raw`"]
    pub fn into_raw(self) -> *const T {
        let p = self.as_ptr();
        if self.is_cleared_for_good() {
            // Releases the weak count (freeing the block if it was the last
            // handle); `p` keeps only its metadata.
            drop(self);
            return set_data_ptr(p.cast_mut(), ptr::without_provenance_mut(usize::MAX));
        }
        mem::forget(self);
        p
    }

    /// Rebuilds a `Weak` from a pointer returned by [`Weak::into_raw`], as
    /// [`std::rc::Weak::from_raw`].
    ///
    /// # Safety
    ///
    /// - `ptr` was returned by `Weak::<U>::into_raw` where `U` is `T` or
    ///   coerces to it, and is given back at most once.
    ///
    /// A pointer from a `Weak` the collector had cleared is the dangling one
    /// of [`Weak::new`]: the `Weak` rebuilt from it never upgrades.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Weak;
    ///
    /// let p = Weak::<i32>::new().into_raw();
    /// let w = unsafe { Weak::from_raw(p) };
    /// assert!(w.upgrade().is_none());
    /// ```
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        if ptr.cast::<u8>().addr() == usize::MAX {
            // From `Weak::new`: the sentinel, not a box.
            // SAFETY: `usize::MAX` is not null.
            let sentinel = unsafe { NonNull::new_unchecked(ptr.cast_mut() as *mut GcBox<T>) };
            return Weak::sentinel(sentinel);
        }
        // SAFETY: the caller guarantees `ptr` came from `Weak::into_raw`, whose
        // kept weak count keeps the block allocated (this fn's Safety, I1).
        let b = unsafe { box_of_value(ptr) };
        // SAFETY: allocated (I1); the weak count the pointer kept goes to the
        // `Weak`.
        unsafe { Weak::from_inner(b) }
    }
}
