//! [`Gc`], the thread-safe strong handle.

use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::ops::Deref;
use core::ptr::{self, NonNull};

use super::boxed::{DROPPED, FINALIZED, Header, HeaderPtr, SyncBox, allocate_uninit, write_value};
use super::counts::Counts;
use super::heap::{self, op};
use super::release::{drop_strong, moved_out};
use super::weak::Weak;
use crate::gc_box::set_data_ptr;
use crate::trace::{Trace, Tracer, is_tracked_type, sealed::Internal};

/// A thread-safe reference-counted pointer whose reference cycles are
/// collected: the `Send + Sync` counterpart of [`gc_core::Gc`](crate::Gc),
/// as [`Arc`](std::sync::Arc) is of [`Rc`](std::rc::Rc).
///
/// A value is freed the moment its last handle drops, on the thread that
/// drops it; values in reference cycles are freed by
/// [`sync::collect`](super::collect) or an automatic collection of the
/// one process-wide heap. Mutation goes through
/// [`Mutex`](std::sync::Mutex), [`RwLock`](std::sync::RwLock) or
/// [`OnceLock`](std::sync::OnceLock), which the collector only ever
/// *tries* to lock: one it cannot lock keeps its owner alive for that
/// collection.
///
/// ```
/// use gc_core::Trace;
/// use gc_core::sync::Gc;
/// use std::sync::Mutex;
///
/// #[derive(Trace)]
/// struct Node {
///     next: Mutex<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { next: Mutex::new(None) });
/// let b = Gc::new(Node { next: Mutex::new(Some(a.clone())) });
/// *a.next.lock().unwrap() = Some(b.clone()); // a cycle
/// std::thread::spawn(move || drop(b)).join().unwrap();
/// drop(a);
/// assert_eq!(gc_core::sync::collect(), 2);
/// ```
///
/// # Dead handles
///
/// A `Drop` impl of a value in a collected cycle may stash a handle to
/// another member of it; that handle is *dead* (its value is dropped or
/// being dropped): dereferencing it panics, [`Gc::try_deref`] returns
/// `None`, and its memory stays valid until it drops.
pub struct Gc<T: ?Sized> {
    ptr: NonNull<SyncBox<T>>,
    _owns: PhantomData<SyncBox<T>>,
}

// SAFETY: as `Arc<T>`: handles on several threads share `&T` (so `T: Sync`)
// and the last one drops `T` wherever it is (so `T: Send`); the counts are
// atomic and changed inside the gate.
unsafe impl<T: ?Sized + Send + Sync> Send for Gc<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for Gc<T> {}

/// The panic of `Deref` on a dead handle.
#[cold]
#[inline(never)]
#[track_caller]
fn dead_handle() -> ! {
    panic!(
        "sync::Gc: dereferenced a dead handle: the cycle collector found this value to be \
         garbage and dropped it, or is dropping it (a `Drop` impl of cyclic garbage reached \
         it); use `Gc::try_deref` to check"
    )
}

/// Panics at the handle limit (counts C4).
#[cold]
#[inline(never)]
#[track_caller]
fn too_many() -> ! {
    panic!("sync::Gc: too many strong handles (2^27) to one value")
}

impl<T: Trace + Send + Sync + 'static> Gc<T> {
    /// Puts `value` in a new `Gc`. If `T` can hold a `Gc`, the object is
    /// tracked by the cycle collector, and the allocation may run an
    /// automatic collection on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let five = gc_core::sync::Gc::new(5);
    /// assert_eq!(*five, 5);
    /// ```
    #[must_use]
    pub fn new(value: T) -> Gc<T> {
        let tracked = is_tracked_type::<T>();
        let finalizer = value.finalizer().is_some();
        let b = allocate_uninit::<T>(Counts::new(), tracked);
        // SAFETY: the block is fresh and ours; writing initialises it (Y2).
        let b = unsafe { write_value(b, value) };
        // SAFETY: allocated just now.
        let hd = unsafe { &(*b.as_ptr()).header };
        if !finalizer {
            hd.set_state(FINALIZED);
        }
        let due = tracked && list_new(b.cast());
        let this = Gc {
            ptr: b,
            _owns: PhantomData,
        };
        if due {
            // After the handle exists, so that a panic from the collection
            // (a `Drop` or finalizer of other garbage) drops it.
            super::collect();
        }
        this
    }

    /// A `Gc` whose value can hold a [`Weak`] to itself: `data_fn` gets the
    /// weak handle before the value exists (upgrading it returns `None`
    /// until `new_cyclic` returns), as [`Arc::new_cyclic`](std::sync::Arc::new_cyclic).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Trace;
    /// use gc_core::sync::{Gc, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Me {
    ///     me: Weak<Me>,
    /// }
    ///
    /// let me = Gc::new_cyclic(|w| {
    ///     assert!(w.upgrade().is_none());
    ///     Me { me: w.clone() }
    /// });
    /// assert!(Gc::ptr_eq(&me.me.upgrade().unwrap(), &me));
    /// ```
    pub fn new_cyclic<F: FnOnce(&Weak<T>) -> T>(data_fn: F) -> Gc<T> {
        let tracked = is_tracked_type::<T>();
        let b = allocate_uninit::<T>(Counts::new_uninit(), tracked);
        let h: HeaderPtr = b.cast();
        // SAFETY: allocated just now; this weak count is the `Weak`'s.
        unsafe { h.as_ref() }.inc_weak();
        // SAFETY: the weak count just taken, with the block's real type.
        let weak = unsafe { Weak::from_block(b.cast::<SyncBox<T>>()) };
        // Declared after `weak`, so dropped first if `data_fn` panics.
        let guard = Unfinished(h, tracked);
        let value = data_fn(&weak);
        mem::forget(guard);
        let finalizer = value.finalizer().is_some();
        // SAFETY: the block is ours; no strong handle exists yet, so
        // nothing reads the value (C1: upgrades fail on zero).
        let b = unsafe { write_value(b, value) };
        // SAFETY: allocated (the weak count above).
        let hd = unsafe { h.as_ref() };
        if !finalizer {
            hd.set_state(FINALIZED);
        }
        hd.counts.init();
        drop(weak);
        let due = tracked && list_new(h);
        let this = Gc {
            ptr: b,
            _owns: PhantomData,
        };
        if due {
            // After the handle exists, so that a panic from the collection
            // drops it.
            super::collect();
        }
        this
    }

    /// The value, if this is its only strong handle (weak handles then fail
    /// to upgrade), as [`Arc::try_unwrap`](std::sync::Arc::try_unwrap).
    /// Fails during a collection for an object the collection examines (a
    /// `trace` that unwraps).
    ///
    /// # Errors
    ///
    /// Returns `this` when other strong handles exist.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    ///
    /// let a = Gc::new(3);
    /// let b = a.clone();
    /// let a = Gc::try_unwrap(a).unwrap_err();
    /// drop(b);
    /// assert_eq!(Gc::try_unwrap(a), Ok(3));
    /// ```
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        let h = this.header_ptr();
        let hd = this.header();
        let taken = op(|op| {
            if !op.may_own(hd) || !hd.counts.take_unique(&op.inside) {
                return None;
            }
            Some(!hd.tracked() || op.unlist(h))
        });
        let Some(unlisted) = taken else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        // SAFETY: the strong share keeps the block allocated (Y1).
        let slot = unsafe { &raw const (*this.ptr.as_ptr()).value };
        // SAFETY: the count is zero by this thread (C1): the value is ours to
        // move out, once (Y2).
        let value = unsafe { ptr::read(slot) };
        // SAFETY: count taken to zero and value moved out, just now.
        unsafe { moved_out(h, unlisted) };
        Ok(value)
    }

    /// The value if this is its only strong handle, else a clone of it
    /// (as [`Arc::unwrap_or_clone`](std::sync::Arc::unwrap_or_clone)).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(String::from("x"));
    /// assert_eq!(gc_core::sync::Gc::unwrap_or_clone(a), "x");
    /// ```
    #[must_use]
    pub fn unwrap_or_clone(this: Self) -> T
    where
        T: Clone,
    {
        Gc::try_unwrap(this).unwrap_or_else(|g| (*g).clone())
    }

    /// A mutable reference to the value, cloning it into a new object first
    /// if other strong or weak handles exist (as
    /// [`Arc::make_mut`](std::sync::Arc::make_mut)).
    ///
    /// # Panics
    ///
    /// Never in practice: the panic it could reach says that a new object
    /// did not have exactly one handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    ///
    /// let mut a = Gc::new(1);
    /// let b = a.clone();
    /// *Gc::make_mut(&mut a) += 1;
    /// assert_eq!((*a, *b), (2, 1));
    /// ```
    pub fn make_mut(this: &mut Self) -> &mut T
    where
        T: Clone,
    {
        if Gc::get_mut(this).is_none() {
            *this = Gc::new((**this).clone());
        }
        Gc::get_mut(this).expect("sync::Gc::make_mut: a new object has one handle")
    }
}

/// Gives the strong share (and the list's) back if `new_cyclic`'s
/// `data_fn` panics; the `Weak` it was given gives its own back as it
/// unwinds.
struct Unfinished(HeaderPtr, bool);

impl Drop for Unfinished {
    fn drop(&mut self) {
        // SAFETY: allocated: this guard's shares keep it (Y1).
        unsafe { self.0.as_ref() }.set_state(DROPPED);
        if self.1 {
            // SAFETY: the list's share the block was allocated with (it was
            // never listed).
            unsafe { Header::release_weak(self.0) };
        }
        // SAFETY: the strong share; no value was written, so the block is
        // freed as uninitialised (Y2).
        unsafe { Header::release_weak(self.0) };
    }
}

/// Lists the new tracked object `h` in this thread's nursery (growing it
/// outside the gate, H4); `true` if an automatic collection is due (the
/// caller runs it once the handle exists).
pub(super) fn list_new(h: HeaderPtr) -> bool {
    loop {
        let listed = op(|op| {
            if op.has_room() {
                op.list(h);
                Ok(())
            } else {
                Err(op.capacity())
            }
        });
        match listed {
            Ok(()) => return heap::count_allocation(),
            Err(cap) => {
                let mut bigger = Vec::with_capacity((cap * 2).max(64));
                op(|op| op.grow_into(&mut bigger));
            }
        }
    }
}

impl<T: ?Sized> Gc<T> {
    /// A `Gc` from a strong count the caller took on `b`.
    ///
    /// # Safety
    ///
    /// The caller gives the new handle one strong count of `b`, whose value
    /// is initialised (Y2).
    pub(crate) unsafe fn from_block(b: NonNull<SyncBox<T>>) -> Gc<T> {
        Gc {
            ptr: b,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: this handle's strong count keeps the block allocated (Y1).
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    #[inline]
    fn header_ptr(&self) -> HeaderPtr {
        self.ptr.cast()
    }

    /// The number of strong handles (as [`Arc::strong_count`](std::sync::Arc::strong_count):
    /// other threads may change it at any moment).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// let _b = a.clone();
    /// assert_eq!(gc_core::sync::Gc::strong_count(&a), 2);
    /// ```
    #[must_use]
    pub fn strong_count(this: &Self) -> usize {
        this.header().counts.strong_count() as usize
    }

    /// The number of [`Weak`] handles (racy, as `strong_count`).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// let _w = gc_core::sync::Gc::downgrade(&a);
    /// assert_eq!(gc_core::sync::Gc::weak_count(&a), 1);
    /// ```
    #[must_use]
    pub fn weak_count(this: &Self) -> usize {
        this.header().weak_handles() as usize
    }

    /// Whether both handles point to the same object.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// let a = Gc::new(1);
    /// assert!(Gc::ptr_eq(&a, &a.clone()));
    /// assert!(!Gc::ptr_eq(&a, &Gc::new(1)));
    /// ```
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// A pointer to the value (valid while a strong handle lives).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(7);
    /// assert_eq!(unsafe { *gc_core::sync::Gc::as_ptr(&a) }, 7);
    /// ```
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: allocated (Y1); no reference is made.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }

    /// A [`Weak`] handle to the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// let w = gc_core::sync::Gc::downgrade(&a);
    /// assert_eq!(*w.upgrade().unwrap(), 1);
    /// ```
    #[must_use]
    pub fn downgrade(this: &Self) -> Weak<T> {
        let hd = this.header();
        hd.inc_weak();
        // A handle in use is not lent out mutably (C5).
        op(|op| hd.counts.attach(&op.inside));
        // SAFETY: the weak count just taken.
        unsafe { Weak::from_block(this.ptr) }
    }

    /// Whether this handle is dead (see [Dead handles](Gc#dead-handles)).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// assert!(!gc_core::sync::Gc::is_dead(&a));
    /// ```
    #[must_use]
    pub fn is_dead(this: &Self) -> bool {
        this.header().counts.is_dead()
    }

    /// The value, or `None` on a dead handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// assert_eq!(gc_core::sync::Gc::try_deref(&a), Some(&1));
    /// ```
    #[must_use]
    pub fn try_deref(this: &Self) -> Option<&T> {
        if Gc::is_dead(this) {
            return None;
        }
        // SAFETY: not dead, so initialised (Y2); shared, so no `&mut`.
        Some(unsafe { &(*this.ptr.as_ptr()).value })
    }

    /// A mutable reference to the value if this is its only handle (no
    /// other strong or weak one), as [`Arc::get_mut`](std::sync::Arc::get_mut).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::sync::Gc;
    ///
    /// let mut a = Gc::new(1);
    /// *Gc::get_mut(&mut a).unwrap() += 1;
    /// let b = a.clone();
    /// assert!(Gc::get_mut(&mut a).is_none());
    /// # drop(b);
    /// ```
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        let hd = this.header();
        let unique = op(|op| {
            // No `Weak` can be made while the strong count is checked
            // (as `Arc::get_mut`): another thread's last other handle
            // could otherwise downgrade and go in between.
            if !op.may_own(hd) || !hd.lock_weak() {
                return false;
            }
            let unique = hd.counts.detach(&op.inside);
            hd.unlock_weak();
            unique
        });
        // SAFETY: the only handle, mutably borrowed for as long as the
        // result; a pause does not trace a detached value (C5).
        unique.then(|| unsafe { &mut (*this.ptr.as_ptr()).value })
    }

    /// The same object, named by an unsized type: `Gc<dyn Trait>` or
    /// `Gc<[T]>`. `coerce` must return its argument itself (`|x| x`).
    /// For a value of a size known only at run time, `Gc::from` takes a
    /// `Box<dyn Trait>`, a `Box<[T]>`, a `Vec<T>`, a `&str` or an iterator.
    ///
    /// # Panics
    ///
    /// Panics if `coerce` returns anything but its argument.
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
    /// #[derive(Trace)]
    /// struct Square(u32);
    /// impl Shape for Square {
    ///     fn area(&self) -> u32 {
    ///         self.0 * self.0
    ///     }
    /// }
    ///
    /// let s = Gc::unsize::<dyn Shape>(Gc::new(Square(3)), |x| x);
    /// assert_eq!(s.area(), 9);
    /// let bytes = Gc::unsize::<[u8]>(Gc::new([1_u8, 2, 3]), |x| x);
    /// assert_eq!(bytes.len(), 3);
    /// ```
    #[track_caller]
    pub fn unsize<U>(this: Self, coerce: impl FnOnce(&T) -> &U) -> Gc<U>
    where
        T: Trace + Sized + 'static,
        U: Trace + ?Sized + 'static,
    {
        let value: &T = &this;
        let target: &U = coerce(value);
        // The value's dynamic type must not change (Y3), as for the
        // thread-local `Gc::unsize`.
        let array = value.__gc_array(Internal);
        let same_type = array == target.__gc_array(Internal)
            && (array.is_some() || value.__gc_type_id(Internal) == target.__gc_type_id(Internal));
        assert!(
            same_type
                && ptr::addr_eq(value, target)
                && mem::size_of_val(value) == mem::size_of_val(target)
                && mem::align_of_val(value) == mem::align_of_val(target),
            "sync::Gc::unsize: the closure must return the value itself (`|x| x`), not a part \
             of it or another value"
        );
        let target: *const U = target;
        let this = ManuallyDrop::new(this);
        // The block's address and provenance, `target`'s metadata; the value
        // sits at the same offset (same alignment).
        let b = set_data_ptr(target.cast_mut(), this.ptr.as_ptr().cast::<u8>()) as *mut SyncBox<U>;
        Gc {
            // SAFETY: `b` is the non-null block pointer with new metadata.
            ptr: unsafe { NonNull::new_unchecked(b) },
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Another handle to the same object.
    #[inline]
    fn clone(&self) -> Self {
        let counts = &self.header().counts;
        if !op(|op| counts.inc_strong(&op.inside)) {
            too_many();
        }
        Gc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle's strong count, given up once.
        unsafe { drop_strong(self.header_ptr()) };
    }
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    /// The value.
    ///
    /// # Panics
    ///
    /// Panics on a dead handle (see [Dead handles](Gc#dead-handles)).
    #[inline]
    #[track_caller]
    fn deref(&self) -> &T {
        if self.header().counts.is_dead() {
            dead_handle();
        }
        // SAFETY: not dead, so initialised (Y2); shared, so no `&mut`.
        unsafe { &(*self.ptr.as_ptr()).value }
    }
}

impl<T: ?Sized> Trace for Gc<T> {
    /// Reports the edge to the thread-safe heap's collector (the
    /// thread-local one does not see it: a root, like `Arc`).
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.visit_sync(self.ptr.as_ptr().cast_const().cast(), self);
    }

    #[inline]
    fn __gc_tracked(_: &mut u32) -> bool {
        true
    }

    /// Trusted: reporting the edge runs no user code.
    #[inline]
    fn __gc_trusted(_: &mut u32) -> Option<crate::trace::__GcTrusted> {
        crate::trace::trusted_if(&[])
    }
}

impl<T: ?Sized> Unpin for Gc<T> {}
