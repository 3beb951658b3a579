//! Conversions into [`Gc`]: from a value, and from unsized sources
//! (`Box<T>`, `&str`, `String`, `Vec<T>`, `&[T]`, iterators), as for `Rc`.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use super::Gc;
use crate::collector::heap;
use crate::gc::new_flags;
use crate::gc_box::{
    Counts, GcBox, HeadPtr, VTable, alloc_block, headful_layout, init_counts, init_inline_head,
    set_data_ptr, value_ptr, write_slot,
};
use crate::header::{Flag, Flags};
use crate::trace::{Trace, is_tracked_type};

impl<T: Trace + 'static> From<T> for Gc<T> {
    /// Puts `value` in a new `Gc`, as [`Gc::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<i32> = 5.into();
    /// assert_eq!(*g, 5);
    /// ```
    fn from(value: T) -> Self {
        Gc::new(value)
    }
}

impl<T: Trace + Default + 'static> Default for Gc<T> {
    /// A `Gc` of `T::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<Vec<i32>> = Gc::default();
    /// assert!(g.is_empty());
    /// ```
    fn default() -> Self {
        Gc::new(T::default())
    }
}

/// A new, uninitialised box for an unsized value of `value_layout`: returns
/// the box's address and its head, if it gets one (with a slot).
fn alloc_unsized<T: Trace + ?Sized + 'static>(
    value_layout: Layout,
    flags: Option<Flags>,
) -> (NonNull<u8>, Option<HeadPtr>) {
    let (box_layout, _) = Layout::new::<Counts>()
        .extend(value_layout)
        .unwrap_or_else(|_| panic!("Gc: value too large to allocate"));
    let box_layout = box_layout.pad_to_align();
    let slab = crate::collector::slab(heap::heap());
    match flags {
        None => {
            // SAFETY: the box layout holds at least the 8-byte counts, so it
            // is not zero-sized.
            let b = unsafe { alloc_block(slab, box_layout) };
            // SAFETY: `b` is the start of a new box-sized block, 8-aligned
            // and writable; head-less, as the counts say (I3).
            unsafe { init_counts(b, 1, 1, false) };
            (b, None)
        }
        Some(flags) => {
            let (layout, offset) = headful_layout(box_layout, true);
            // SAFETY: a head-ful layout holds a slot, a vtable, a head and the
            // counts (I3), so it is not zero-sized.
            let block = unsafe { alloc_block(slab, layout) };
            // SAFETY: `offset` is inside the block (`headful_layout`, I3).
            let b = unsafe { block.add(offset) };
            // SAFETY: `offset >= 32`: the head is the 8 bytes before the box,
            // after the vtable and the slot (the slot layout of I3).
            let head = unsafe { b.sub(8) };
            // SAFETY: the head and vtable are 8-aligned, writable, in the new
            // block, and followed by the box (I3).
            let obj = unsafe { init_inline_head(head, VTable::slot::<T>(), flags) };
            // SAFETY: `b` starts the box, 8-aligned and writable (I3); its
            // counts say it has a head.
            unsafe { init_counts(b, 1, 1, true) };
            (b, Some(obj))
        }
    }
}

/// Replaces the address of the fat pointer `fat`, keeping its metadata.
fn with_addr<T: ?Sized>(fat: *mut GcBox<T>, addr: NonNull<u8>) -> NonNull<GcBox<T>> {
    let p = set_data_ptr(fat, addr.as_ptr());
    debug_assert_eq!(p.cast::<u8>(), addr.as_ptr());
    // SAFETY: `p`'s address is `addr`'s, which is non-null.
    unsafe { NonNull::new_unchecked(p) }
}

/// Finishes an unsized box whose value is initialised: slot, listing.
///
/// # Safety
///
/// - `b` is a new box from [`alloc_unsized`] with its value initialised
///   (I2), and `obj` the head `alloc_unsized` returned for it;
/// - the box's one strong count goes to the returned handle.
unsafe fn finish<T: Trace + ?Sized + 'static>(obj: Option<HeadPtr>, b: NonNull<GcBox<T>>) -> Gc<T> {
    // The handle exists before an automatic collection can run (and pass on
    // a panic), so the value is never left without an owner.
    // SAFETY: the box is allocated and initialised (this fn's Safety, I1,
    // I2), and its one strong count goes to this handle.
    let gc = unsafe { Gc::from_inner(b) };
    if let Some(obj) = obj {
        // SAFETY: `alloc_unsized` allocated the block with a slot, and `b`
        // is its box, not yet published (this fn's Safety, I3).
        unsafe { write_slot(obj, b.as_ptr()) };
        if obj.has(Flag::Trackable) {
            // SAFETY: a new, initialised (I2), unlisted object with
            // `TRACKABLE` set, its slot now written (I3).
            unsafe { crate::collector::track_new(obj) };
        }
    }
    gc
}

fn headful_flags(tracked: bool, finalizer: bool) -> Option<Flags> {
    (tracked || finalizer).then(|| new_flags(tracked, finalizer))
}

impl<T: Trace + ?Sized + 'static> From<Box<T>> for Gc<T> {
    /// Moves a boxed value, sized or not, into a new `Gc`: this is how a
    /// `Gc<dyn Trait>` is made (stable Rust has no unsizing coercion for
    /// user pointers).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace};
    ///
    /// trait Shape: Trace {
    ///     fn area(&self) -> f64;
    /// }
    ///
    /// #[derive(Trace)]
    /// struct Square(f64);
    /// impl Shape for Square {
    ///     fn area(&self) -> f64 {
    ///         self.0 * self.0
    ///     }
    /// }
    ///
    /// let s: Gc<dyn Shape> = Gc::from(Box::new(Square(2.0)) as Box<dyn Shape>);
    /// assert_eq!(s.area(), 4.0);
    /// ```
    fn from(value: Box<T>) -> Self {
        // Ask the value, not the `Box` (which is `Trace` too).
        let inner: &T = &value;
        let value_layout = Layout::for_value(inner);
        let flags = headful_flags(inner.__gc_tracked_dyn(), inner.finalizer().is_some());
        let raw: *mut T = Box::into_raw(value);
        let (b, obj) = alloc_unsized::<T>(value_layout, flags);
        let fat = with_addr(raw as *mut GcBox<T>, b);
        // SAFETY: `fat` addresses the new, allocated box (I1); its metadata
        // came from the value, so the value field's offset and size match
        // `value_layout`.
        let dst = unsafe { value_ptr(fat.as_ptr()) }.cast::<u8>();
        // SAFETY: the box was allocated for `value_layout` after its counts,
        // so it has room for the value; the regions are distinct
        // allocations.
        unsafe { ptr::copy_nonoverlapping(raw.cast::<u8>(), dst, value_layout.size()) };
        if value_layout.size() != 0 {
            // SAFETY: the `Box` allocated `raw` with `value_layout`; its
            // value was moved out bitwise and is not dropped.
            unsafe { std::alloc::dealloc(raw.cast(), value_layout) };
        }
        // SAFETY: `fat` is the box `alloc_unsized` made, its value now
        // initialised (I2), and `obj` its head; the count goes to the handle.
        unsafe { finish(obj, fat) }
    }
}

impl<T: Trace + 'static> From<Vec<T>> for Gc<[T]> {
    /// Moves the elements of a `Vec` into a new `Gc<[T]>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<[i32]> = Gc::from(vec![1, 2, 3]);
    /// assert_eq!(&*g, &[1, 2, 3]);
    /// ```
    fn from(mut v: Vec<T>) -> Self {
        let len = v.len();
        let value_layout =
            Layout::array::<T>(len).unwrap_or_else(|_| panic!("Gc: value too large to allocate"));
        let (b, obj) =
            alloc_unsized::<[T]>(value_layout, headful_flags(is_tracked_type::<T>(), false));
        let fat = ptr::slice_from_raw_parts_mut(b.as_ptr().cast::<T>(), len) as *mut GcBox<[T]>;
        let fat = with_addr(fat, b);
        // SAFETY: `fat` is the new, allocated box (I1).
        let dst = unsafe { value_ptr(fat.as_ptr()) }.cast::<T>();
        // SAFETY: the box was allocated for `len` elements after its counts,
        // in a different allocation from the `Vec`'s.
        unsafe { ptr::copy_nonoverlapping(v.as_ptr(), dst, len) };
        // SAFETY: the elements were moved out bitwise; the `Vec` must not
        // drop them (0 is within its capacity).
        unsafe { v.set_len(0) };
        // SAFETY: `fat` is the box `alloc_unsized` made, its value now
        // initialised (I2), and `obj` its head; the count goes to the handle.
        unsafe { finish(obj, fat) }
    }
}

impl<T: Trace + Clone + 'static> From<&[T]> for Gc<[T]> {
    /// Clones the elements into a new `Gc<[T]>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<[u8]> = Gc::from(&b"abc"[..]);
    /// assert_eq!(&*g, b"abc");
    /// ```
    fn from(v: &[T]) -> Self {
        Gc::from(v.to_vec())
    }
}

impl<T: Trace + 'static> FromIterator<T> for Gc<[T]> {
    /// Collects an iterator into a new `Gc<[T]>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<[u32]> = (1..=3).collect();
    /// assert_eq!(&*g, &[1, 2, 3]);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Gc::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl From<&str> for Gc<str> {
    /// Copies a string slice into a new `Gc<str>` (untracked).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<str> = Gc::from("hello");
    /// assert_eq!(&*s, "hello");
    /// assert!(!Gc::is_tracked(&s));
    /// ```
    fn from(s: &str) -> Self {
        let len = s.len();
        let (b, _) = alloc_unsized::<str>(Layout::for_value(s), None);
        #[expect(
            clippy::cast_ptr_alignment,
            reason = "the address is replaced by the box's, which is aligned"
        )]
        let fat = ptr::slice_from_raw_parts_mut(b.as_ptr(), len) as *mut GcBox<str>;
        let fat = with_addr(fat, b);
        // SAFETY: `fat` is the new, allocated box (I1).
        let dst = unsafe { value_ptr(fat.as_ptr()) }.cast::<u8>();
        // SAFETY: the box was allocated for `len` bytes after its counts, in
        // a new allocation.
        unsafe { ptr::copy_nonoverlapping(s.as_ptr(), dst, len) };
        // SAFETY: the head-less box is allocated and its value initialised
        // (I1, I2); its one strong count goes to this handle.
        unsafe { Gc::from_inner(fat) }
    }
}

impl From<String> for Gc<str> {
    /// Copies a `String` into a new `Gc<str>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<str> = Gc::from(String::from("hi"));
    /// assert_eq!(&*s, "hi");
    /// ```
    fn from(s: String) -> Self {
        Gc::from(s.as_str())
    }
}
