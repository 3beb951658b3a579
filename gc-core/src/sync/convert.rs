//! Conversions into [`Gc`] from unsized sources (`Box<T>`, `Vec<T>`,
//! `&[T]`, iterators, `&str`, `String`), as for `Arc` and the thread-local
//! [`gc_core::Gc`](crate::Gc).
//!
//! Each moves (or copies) the value bitwise into a block with a prefix
//! (`boxed` Y4), so that the collector and the last handle can trace, drop
//! and free it from a thin header pointer: the same block the value's
//! handles name by its unsized type.

use core::alloc::Layout;
use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};

use super::boxed::{FINALIZED, HeaderPtr, SyncBox, allocate_unsized};
use super::gc::{Gc, list_new};
use crate::trace::{Trace, is_tracked_type};

/// The address of the value in the block `b`.
///
/// # Safety
///
/// `b` is allocated (Y1).
unsafe fn value_ptr<U: ?Sized>(b: NonNull<SyncBox<U>>) -> *mut U {
    // SAFETY: the caller's contract; the projection makes no reference.
    unsafe { &raw mut (*b.as_ptr()).value }
}

/// Publishes a block from [`allocate_unsized`] whose value is now written:
/// marks it finalized if the value has no finalizer, lists it if tracked,
/// and returns its handle, running an automatic collection if one is due.
///
/// # Safety
///
/// `b` came from `allocate_unsized::<U>(.., tracked)` with this `tracked`,
/// its value is initialised (Y2) and nothing else refers to it; its one
/// strong count goes to the returned handle.
unsafe fn publish<U: ?Sized>(b: NonNull<SyncBox<U>>, tracked: bool, finalizer: bool) -> Gc<U> {
    let h: HeaderPtr = b.cast();
    // SAFETY: allocated just now (Y1).
    let hd = unsafe { h.as_ref() };
    if !finalizer {
        hd.set_state(FINALIZED);
    }
    let due = tracked && list_new(h);
    // SAFETY: the block's one strong count, on an initialised value (this
    // fn's Safety, Y2).
    let this = unsafe { Gc::from_block(b) };
    if due {
        // After the handle exists, so that a panic from the collection (a
        // `Drop` or finalizer of other garbage) drops it.
        super::collect();
    }
    this
}

impl<T: Trace + Send + Sync + ?Sized + 'static> From<Box<T>> for Gc<T> {
    /// Moves a boxed value, sized or not, into a new `Gc`: this is how a
    /// `Gc<dyn Trait>` or a `Gc<[T]>` of a length known only at run time is
    /// made (stable Rust has no unsizing coercion for user pointers).
    ///
    /// `T` must be `Send + Sync`, as for [`Gc::new`]: the collector may
    /// trace and drop the value on any thread. So a trait object is named
    /// `dyn Trait + Send + Sync`, unless `Send + Sync` are supertraits of
    /// `Trait` (as below); either way the handle is `Send + Sync` too.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Trace;
    /// use gc_core::sync::Gc;
    ///
    /// trait Shape: Trace + Send + Sync {
    ///     fn area(&self) -> u32;
    /// }
    ///
    /// #[derive(Trace)]
    /// struct Square(u32);
    /// impl Shape for Square {
    ///     fn area(&self) -> u32 {
    ///         self.0 * self.0
    ///     }
    /// }
    ///
    /// let s: Gc<dyn Shape> = Gc::from(Box::new(Square(3)) as Box<dyn Shape>);
    /// assert_eq!(s.area(), 9);
    /// let v: Gc<[u32]> = Gc::from(vec![1, 2, 3].into_boxed_slice());
    /// assert_eq!(v.len(), 3);
    /// std::thread::spawn(move || assert_eq!(s.area() + v[2], 12)).join().unwrap();
    /// ```
    fn from(value: Box<T>) -> Self {
        // Ask the value, not the `Box` (which is `Trace` too).
        let inner: &T = &value;
        let value_layout = Layout::for_value(inner);
        let tracked = inner.__gc_tracked_dyn();
        let finalizer = inner.finalizer().is_some();
        // Nothing is taken from the `Box` until the block exists: a panic
        // up to here leaves the caller's value to unwind.
        let b = allocate_unsized::<T>(inner, value_layout, tracked);
        let raw: *mut T = Box::into_raw(value);
        // SAFETY: the block is allocated (Y1).
        let dst = unsafe { value_ptr(b) }.cast::<u8>();
        let src = raw.cast::<u8>().cast_const();
        // SAFETY: the block has room for `value_layout` at its value, whose
        // metadata is the `Box`'s; the two are distinct allocations.
        unsafe { ptr::copy_nonoverlapping(src, dst, value_layout.size()) };
        // SAFETY: `ManuallyDrop<T>` is `repr(transparent)`: the `Box`
        // allocated `raw` with this layout. The value moved out bitwise, so
        // only the allocation (none for a zero size) is freed.
        drop(unsafe { Box::from_raw(raw as *mut ManuallyDrop<T>) });
        // SAFETY: the new block with `tracked`, its value now initialised
        // (Y2), unpublished.
        unsafe { publish(b, tracked, finalizer) }
    }
}

impl<T: Trace + Send + Sync + 'static> From<Vec<T>> for Gc<[T]> {
    /// Moves the elements of a `Vec` into a new `Gc<[T]>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// let g: Gc<[i32]> = Gc::from(vec![1, 2, 3]);
    /// assert_eq!(&*g, &[1, 2, 3]);
    /// ```
    fn from(mut v: Vec<T>) -> Self {
        let len = v.len();
        let value_layout = Layout::for_value(v.as_slice());
        let tracked = is_tracked_type::<T>();
        let finalizer = Trace::finalizer(v.as_slice()).is_some();
        let b = allocate_unsized::<[T]>(
            ptr::slice_from_raw_parts(v.as_ptr(), len),
            value_layout,
            tracked,
        );
        // SAFETY: the block is allocated (Y1).
        let dst = unsafe { value_ptr(b) }.cast::<T>();
        // SAFETY: the block has room for `len` elements at its value (its
        // metadata is `len`), in a different allocation from the `Vec`'s.
        unsafe { ptr::copy_nonoverlapping(v.as_ptr(), dst, len) };
        // SAFETY: the elements moved out bitwise; the `Vec` must not drop
        // them (0 is within its capacity). It frees its buffer only.
        unsafe { v.set_len(0) };
        drop(v);
        // SAFETY: the new block with `tracked`, its value now initialised
        // (Y2), unpublished.
        unsafe { publish(b, tracked, finalizer) }
    }
}

impl<T: Trace + Send + Sync + Clone + 'static> From<&[T]> for Gc<[T]> {
    /// Clones the elements into a new `Gc<[T]>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// let g: Gc<[u8]> = Gc::from(&b"abc"[..]);
    /// assert_eq!(&*g, b"abc");
    /// ```
    fn from(v: &[T]) -> Self {
        Gc::from(v.to_vec())
    }
}

impl<T: Trace + Send + Sync + 'static> FromIterator<T> for Gc<[T]> {
    /// Collects an iterator into a new `Gc<[T]>`. A panic of the iterator
    /// drops what it yielded, before anything is allocated in the heap.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// let g: Gc<[u32]> = (1..=3).collect();
    /// assert_eq!(&*g, &[1, 2, 3]);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Gc::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl From<&str> for Gc<str> {
    /// Copies a string slice into a new `Gc<str>` (untracked: it holds no
    /// `Gc`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// let s: Gc<str> = Gc::from("hello");
    /// assert_eq!(&*s, "hello");
    /// ```
    fn from(s: &str) -> Self {
        let b = allocate_unsized::<str>(s, Layout::for_value(s), false);
        // SAFETY: the block is allocated (Y1).
        let dst = unsafe { value_ptr(b) }.cast::<u8>();
        // SAFETY: the block has room for `s.len()` bytes at its value (its
        // metadata is `s`'s), in a new allocation.
        unsafe { ptr::copy_nonoverlapping(s.as_ptr(), dst, s.len()) };
        // SAFETY: the new untracked block, its value now initialised (Y2),
        // unpublished; a `str` has no finalizer.
        unsafe { publish(b, false, false) }
    }
}

impl From<String> for Gc<str> {
    /// Copies a `String` into a new `Gc<str>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// let s: Gc<str> = Gc::from(String::from("hi"));
    /// assert_eq!(&*s, "hi");
    /// ```
    fn from(s: String) -> Self {
        Gc::from(s.as_str())
    }
}
