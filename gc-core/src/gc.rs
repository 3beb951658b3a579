//! [`Gc<T>`]: a single-threaded reference-counted pointer whose cycles are
//! collected.

mod convert;
mod counts;
mod ownership;
mod raw;
#[cfg(feature = "serde")]
mod serde;
#[cfg(test)]
mod tests;
mod traits;

pub(crate) use counts::{inc_strong, inc_strong_of, new_flags};

use core::alloc::Layout;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};

use crate::Weak;
use crate::collector::heap;
use crate::gc_box::{
    self, GcBox, HeadPtr, VTable, alloc_block, counts, head_of, headful_layout, init_head,
    init_inline_head,
};
use crate::header::{Flag, Flags, LOC_NONE};
use crate::trace::{Trace, Tracer, is_tracked_type, is_trusted_type};

/// A single-threaded reference-counted pointer, like [`Rc`](std::rc::Rc),
/// whose reference cycles are found and freed by a cycle collector.
///
/// Cloning a `Gc` adds a strong count; dropping one takes it away, and when
/// the last handle goes the value is dropped and its memory freed at once,
/// exactly as with `Rc`. Values that reference each other in a cycle keep
/// their counts above zero forever; the collector ([`collect`](crate::collect),
/// or automatically as objects are allocated) finds such cycles and frees
/// them too.
///
/// `Gc<T>` is neither `Send` nor `Sync`: each thread has its own heap.
///
/// # Dead handles
///
/// When the collector frees cyclic garbage it first marks all of it dead,
/// then drops the values one by one. A `Drop` impl that reaches a `Gc` of the
/// same garbage (its value dropped already, or about to be) holds a *dead
/// handle*: dereferencing it panics, [`Gc::try_deref`] returns `None`, and
/// [`Gc::is_dead`] returns `true`. (Were the value still readable, the
/// `Drop` could keep a reference to it past its drop.) The memory of a dead value stays
/// allocated until the last handle to it is gone, so a dead handle is never
/// dangling. Outside `Drop` impls of cyclic garbage (and wrong `Trace` impls)
/// no handle is ever dead.
///
/// # Compared with `Rc`
///
/// Everything `Rc` and `rc::Weak` offer on stable Rust, `Gc` and [`Weak`]
/// offer too, with the same meaning:
///
/// | `Rc` / `rc::Weak` | `Gc` / `Weak` | notes |
/// |---|---|---|
/// | `Rc::new` | [`Gc::new`] | needs `T: Trace + 'static` |
/// | `Rc::new_cyclic` | [`Gc::new_cyclic`] | |
/// | `Rc::pin` | [`Gc::pin`] | |
/// | `Rc::try_unwrap`, `Rc::into_inner` | [`Gc::try_unwrap`], [`Gc::into_inner`] | the value leaves unfinalized |
/// | `Rc::unwrap_or_clone` | [`Gc::unwrap_or_clone`] | |
/// | `Rc::get_mut`, `Rc::make_mut` | [`Gc::get_mut`], [`Gc::make_mut`] | the collector never looks at a value while its `&mut` lives |
/// | `Rc::strong_count`, `Rc::weak_count` | [`Gc::strong_count`], [`Gc::weak_count`] | |
/// | `Rc::ptr_eq`, `Rc::as_ptr` | [`Gc::ptr_eq`], [`Gc::as_ptr`] | |
/// | `Rc::downgrade` | [`Gc::downgrade`] | |
/// | `Rc::into_raw`, `Rc::from_raw` | [`Gc::into_raw`], [`Gc::from_raw`] | `from_raw` is `unsafe`, as in `Rc` |
/// | `Rc::increment_strong_count`, `Rc::decrement_strong_count` | [`Gc::increment_strong_count`], [`Gc::decrement_strong_count`] | `unsafe`, as in `Rc` |
/// | unsizing coercion `Rc<T>` → `Rc<dyn Trait>` | [`Gc::unsize`] | stable Rust has no `CoerceUnsized` for user types |
/// | `From<T>`, `From<Box<T>>`, `From<&str>`, `From<String>`, `From<Vec<T>>`, `From<&[T]>`, `FromIterator` | the same | `Gc<dyn Trait>` comes from `Box<dyn Trait>` |
/// | `Default`, `Clone`, `Deref`, `AsRef`, `Borrow`, `Debug`, `Display`, `Pointer`, `PartialEq`, `Eq`, `PartialOrd`, `Ord`, `Hash`, `Unpin` | the same | `Debug`/`Display` print `<dead Gc>` for a dead handle |
/// | `Weak::new`, `upgrade`, `strong_count`, `weak_count`, `ptr_eq`, `as_ptr`, `into_raw`, `from_raw`, `Clone`, `Default`, `Debug` | the same | `upgrade` also fails for garbage the collector found |
/// | `Rc::new_uninit`, `new_uninit_slice`, `assume_init` | none | a tracked value must be initialised whenever a collection can run |
/// | `Rc<dyn Any>::downcast` | none | `dyn Any` is not `Trace`; downcast the value instead |
/// | `serde`'s `rc` feature | feature `serde` | sharing and cycles are not preserved, as with `Rc` |
///
/// Added by `Gc`: [`Gc::is_tracked`], [`Gc::is_dead`], [`Gc::try_deref`].
///
/// # Examples
///
/// ```
/// use gc_core::Gc;
///
/// let a = Gc::new(String::from("shared"));
/// let b = a.clone();
/// assert_eq!(Gc::strong_count(&a), 2);
/// assert!(Gc::ptr_eq(&a, &b));
/// drop(b);
/// assert_eq!(Gc::strong_count(&a), 1);
/// assert_eq!(*a, "shared");
/// ```
pub struct Gc<T: ?Sized> {
    ptr: NonNull<GcBox<T>>,
    _owns: PhantomData<GcBox<T>>,
}

/// The panic of `Deref` on a dead handle.
#[cold]
#[inline(never)]
#[track_caller]
fn dead_handle() -> ! {
    panic!(
        "Gc: dereferenced a dead handle: the cycle collector found this value to be garbage \
         and dropped it, or is dropping it (a `Drop` impl of cyclic garbage reached it); \
         use `Gc::try_deref` to check"
    )
}

impl<T: Trace + 'static> Gc<T> {
    /// Puts `value` in a new `Gc`.
    ///
    /// If `T` can hold a `Gc` (see [`Gc::is_tracked`]), the new object is
    /// tracked by the cycle collector, and the allocation may run an
    /// automatic collection.
    ///
    /// # Panics
    ///
    /// If an automatic collection runs and a `Drop`, finalizer or `trace` of
    /// some *other* object panics, that panic is resumed here after the
    /// collection finished (the new `Gc` is dropped during unwinding).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let five = Gc::new(5);
    /// assert_eq!(*five, 5);
    /// ```
    #[inline]
    #[must_use]
    pub fn new(value: T) -> Gc<T> {
        let tracked = is_tracked_type::<T>();
        let finalizer = value.finalizer().is_some();
        if !tracked && !finalizer {
            let layout = Layout::new::<GcBox<T>>();
            let slab = crate::collector::slab(heap::heap());
            // SAFETY: a `GcBox<T>` holds at least its 8-byte counts, so the
            // layout is not zero-sized (`alloc_block`'s contract; I1 needs
            // the counts).
            let block = unsafe { alloc_block(slab, layout) }.cast::<GcBox<T>>();
            // SAFETY: `block` is a fresh allocation of a `GcBox<T>`; the box
            // is head-less, as its counts say (I3).
            unsafe { block.write(GcBox::new(1, 1, false, value)) };
            // SAFETY: the box is allocated and initialised (I1, I2), and its
            // one strong count goes to this handle.
            return unsafe { Gc::from_inner(block) };
        }
        let flags =
            new_flags(tracked, finalizer).set_to(Flag::Trusted, tracked && is_trusted_type::<T>());
        if let Some(size) = gc_box::typed_block::<T>() {
            // The usual case: one visit to the heap for the block and the
            // list.
            return heap::with_heap(|h| {
                let key = VTable::sized::<T>().key();
                // SAFETY: `size` (`typed_block`) is a head and a `GcBox<T>`,
                // at least 16 bytes and served; it is the same for every
                // call with this type's key; `init_head` below writes the
                // flags word before the slab is used again (P2).
                let block = unsafe { crate::collector::slab(h).alloc_typed(key, size) };
                // SAFETY: a typed slab block of `size` bytes, 8-aligned (P2):
                // the head, then the box (the non-`INLINE` layout of I3).
                let obj = unsafe { init_head(block, flags) };
                // SAFETY: the box follows the 8-byte head inside the block
                // (I3).
                let b = unsafe { block.add(8) }.cast::<GcBox<T>>();
                // SAFETY: `b` is the block's box, aligned for `GcBox<T>`
                // (I3); its counts say it has a head.
                unsafe { b.write(GcBox::new(1, 1, true, value)) };
                // The handle exists before the automatic collection that
                // `track` may run: if that collection passes on a panic, the
                // handle is dropped, and the value with it.
                // SAFETY: the box is allocated and initialised (I1, I2), and
                // its one strong count goes to this handle.
                let gc = unsafe { Gc::from_inner(b) };
                if tracked {
                    // SAFETY: a new, initialised (I2), unlisted object with
                    // `TRACKABLE` set.
                    unsafe { crate::collector::track(h, obj) };
                }
                gc
            });
        }
        let (obj, b) = Self::alloc_headful(flags);
        // SAFETY: `b` is the new block's box, aligned for `GcBox<T>` (I3).
        unsafe { b.write(GcBox::new(1, 1, true, value)) };
        // SAFETY: the box is allocated and initialised (I1, I2), and its one
        // strong count goes to this handle.
        let gc = unsafe { Gc::from_inner(b) };
        if tracked {
            // SAFETY: a new, initialised (I2), unlisted object with
            // `TRACKABLE` set.
            unsafe { crate::collector::track_new(obj) };
        }
        gc
    }

    /// Builds a value that holds a [`Weak`] to itself, as
    /// [`Rc::new_cyclic`](std::rc::Rc::new_cyclic): `data_fn` gets a `Weak`
    /// that cannot be upgraded until `new_cyclic` returns.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `data_fn` (nothing leaks), and like [`Gc::new`] a
    /// panic of an automatic collection.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Me {
    ///     me: Weak<Me>,
    /// }
    ///
    /// let m = Gc::new_cyclic(|w| {
    ///     assert!(w.upgrade().is_none());
    ///     Me { me: w.clone() }
    /// });
    /// assert!(Gc::ptr_eq(&m.me.upgrade().unwrap(), &m));
    /// ```
    pub fn new_cyclic<F: FnOnce(&Weak<T>) -> T>(data_fn: F) -> Gc<T> {
        let tracked = is_tracked_type::<T>();
        // Always head-ful, so that a `Weak` made during construction can
        // free the block (through the vtable's static layout) if `data_fn`
        // panics before the value exists.
        let (obj, b) = Self::alloc_headful(Flags::at(LOC_NONE));
        // SAFETY: the box starts at `b`, 4-aligned and writable (I3); strong
        // 0 means "no value yet" (I2), and the single weak count belongs to
        // `weak` below.
        unsafe { gc_box::init_counts(b.cast(), 0, 1, true) };
        // SAFETY: the box is allocated (I1), and its one weak count goes to
        // this `Weak`.
        let weak = unsafe { Weak::from_inner(b) };
        let value = data_fn(&weak);
        let flags = new_flags(tracked, value.finalizer().is_some())
            .set_to(Flag::Trusted, tracked && is_trusted_type::<T>());
        // SAFETY: the box is allocated (`weak` holds it, I1).
        let v = unsafe { gc_box::value_ptr(b.as_ptr()) };
        // SAFETY: the value field is allocated and not yet initialised;
        // nothing reads it while the strong count is zero (I2: the value is
        // published below).
        unsafe { v.write(value) };
        obj.set_flags(flags.set_to(Flag::Inline, obj.has(Flag::Inline)));
        // SAFETY: allocated (`weak` holds it, I1); this publishes the value
        // with one strong handle (the count was zero, nothing else can have
        // changed it: S4 names this increment).
        unsafe { counts(b) }.inc_strong_checked();
        // `weak`'s count becomes the one all strong handles hold together.
        core::mem::forget(weak);
        // SAFETY: the box is allocated and initialised (I1, I2), and the
        // strong count just added goes to this handle.
        let gc = unsafe { Gc::from_inner(b) };
        if tracked {
            // SAFETY: a new, initialised (I2), unlisted object with
            // `TRACKABLE` set.
            unsafe { crate::collector::track_new(obj) };
        }
        gc
    }

    /// A pinned `Gc`, as [`Rc::pin`](std::rc::Rc::pin): the value never moves,
    /// and its memory is not reused before its `Drop` ran.
    ///
    /// A `Pin<Gc<T>>` gives out only `&T`, but [`debug::objects_of`] and
    /// [`Garbage::downcast`] can hand out a plain `Gc<T>` to the same value.
    /// Through such a handle the value stays pinned for good:
    /// [`Gc::try_unwrap`] and [`Gc::into_inner`] fail, [`Gc::unwrap_or_clone`]
    /// clones, [`Gc::get_mut`] returns `None` and [`Gc::make_mut`] clones, as
    /// if another handle existed, even after the `Pin` is dropped.
    ///
    /// [`debug::objects_of`]: crate::debug::objects_of
    /// [`Garbage::downcast`]: crate::debug::Garbage::downcast
    ///
    /// # Panics
    ///
    /// Like [`Gc::new`], resumes a panic of an automatic collection.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{debug, Gc, Trace};
    /// use std::cell::RefCell;
    /// use std::marker::PhantomPinned;
    ///
    /// #[derive(Trace)]
    /// struct Node {
    ///     next: RefCell<Option<Gc<Node>>>,
    ///     _pin: PhantomPinned,
    /// }
    ///
    /// let p = Gc::pin(Node { next: RefCell::new(None), _pin: PhantomPinned });
    /// assert!(p.next.borrow().is_none());
    ///
    /// // A plain handle to the pinned value cannot move it out.
    /// let mut g = debug::objects_of::<Node>(debug::Scope::All).pop().unwrap();
    /// drop(p);
    /// assert_eq!(Gc::strong_count(&g), 1);
    /// assert!(Gc::get_mut(&mut g).is_none());
    /// assert!(Gc::into_inner(g).is_none()); // the value is dropped in place
    /// ```
    #[must_use]
    pub fn pin(value: T) -> core::pin::Pin<Gc<T>> {
        let gc = Gc::new(value);
        if let Some(obj) = Gc::obj(&gc) {
            // Before any code can move the value: until `Gc::new` returned,
            // another handle (taken by code an automatic collection ran)
            // would have made the count at least two, and no move-out works
            // then.
            obj.set_flag(Flag::Pinned, true);
        }
        // SAFETY: the value never moves and its memory is not reused before
        // it is dropped in place: a `Pin<Gc<T>>` gives out only `&T`, and a
        // plain `Gc<T>` to the value (from `debug::objects_of` or
        // `Garbage::downcast`, which only reach head-ful objects) finds
        // `PINNED` set, so `try_unwrap`, `get_mut` and `make_mut` refuse to
        // move or borrow it mutably. The block is freed only after the value
        // was dropped in place (I1, I2).
        unsafe { core::pin::Pin::new_unchecked(gc) }
    }

    /// Allocates a head-ful block with the head written and the box
    /// uninitialised: from the type's slab pool when the slab serves it,
    /// with an inline vtable otherwise. The caller initialises the box and
    /// lists the object.
    #[inline]
    fn alloc_headful(flags: Flags) -> (HeadPtr, NonNull<GcBox<T>>) {
        if let Some(size) = gc_box::typed_block::<T>() {
            let key = VTable::sized::<T>().key();
            let block = heap::with_heap(|h| {
                // SAFETY: `size` (`typed_block`) is a head and a `GcBox<T>`,
                // at least 16 bytes and served; it is the same for every
                // call with this type's key; `init_head` below writes the
                // flags word before the slab is used again (P2).
                unsafe { crate::collector::slab(h).alloc_typed(key, size) }
            });
            // SAFETY: a typed slab block of `size` bytes, 8-aligned (P2): the
            // head, then the box (the non-`INLINE` layout of I3).
            let obj = unsafe { init_head(block, flags) };
            // SAFETY: the box follows the 8-byte head inside the block (I3).
            let b = unsafe { block.add(8) }.cast::<GcBox<T>>();
            return (obj, b);
        }
        let (layout, offset) = headful_layout(Layout::new::<GcBox<T>>(), false);
        let slab = crate::collector::slab(heap::heap());
        // SAFETY: a head-ful block holds a vtable, a head and the counts (the
        // `INLINE` layout of I3), so its layout is not zero-sized.
        let block = unsafe { alloc_block(slab, layout) };
        // SAFETY: `offset` is within the new block (`headful_layout`, I3).
        let b = unsafe { block.add(offset) };
        // SAFETY: `offset >= 16`, so the head's 8 bytes and the vtable's 8
        // before it are inside the block (the `INLINE` layout of I3).
        let head = unsafe { b.sub(8) };
        // SAFETY: the head and vtable are 8-aligned, writable, part of the
        // new block and followed by the box (I3).
        let obj = unsafe { init_inline_head(head, VTable::sized::<T>(), flags) };
        (obj, b.cast::<GcBox<T>>())
    }
}

impl<T: ?Sized> Gc<T> {
    /// The handle that owns one strong count of the box at `ptr`.
    ///
    /// # Safety
    ///
    /// - `ptr` points to an allocated `GcBox<T>` (I1) whose value is
    ///   initialised (I2), or is dead (a value moved out or dropped by the
    ///   collector: the handle is then a dead one);
    /// - the caller hands the new `Gc` one strong count that it owns (a new
    ///   box's first count, or one it just added), which the `Gc` gives back
    ///   when it is dropped.
    #[inline]
    pub(crate) unsafe fn from_inner(ptr: NonNull<GcBox<T>>) -> Self {
        Gc {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn counts(&self) -> &gc_box::Counts {
        // SAFETY: a handle's strong count keeps its block allocated (I1).
        unsafe { counts(self.ptr) }
    }

    /// The address of the object's box (its identity).
    #[inline]
    pub(crate) fn box_addr(this: &Self) -> usize {
        this.ptr.as_ptr().cast::<u8>().addr()
    }

    /// The collector header, if the object has one.
    #[inline]
    pub(crate) fn obj(this: &Self) -> Option<HeadPtr> {
        if this.counts().has_head() {
            // SAFETY: the block is allocated (the handle, I1) and has a head
            // (I3); the `HeadPtr` is used while the caller borrows the handle
            // or holds a count (I9).
            Some(unsafe { head_of(this.ptr) })
        } else {
            None
        }
    }

    /// The number of strong handles (`Gc`s) to this value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// # drop(b);
    /// ```
    #[inline]
    #[must_use]
    pub fn strong_count(this: &Self) -> usize {
        this.counts().strong_count() as usize
    }

    /// The number of [`Weak`] handles to this value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(Gc::weak_count(&a), 1);
    /// # drop(w);
    /// ```
    #[inline]
    #[must_use]
    pub fn weak_count(this: &Self) -> usize {
        (this.counts().weak_count() - 1) as usize
    }

    /// Whether two handles point to the same allocation (like
    /// [`ptr::eq`], ignoring any metadata).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(5);
    /// let b = a.clone();
    /// let c = Gc::new(5);
    /// assert!(Gc::ptr_eq(&a, &b));
    /// assert!(!Gc::ptr_eq(&a, &c));
    /// ```
    #[inline]
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// A raw pointer to the value. It stays valid while a handle lives
    /// (and, for a dead handle, points to the dropped value: do not read it).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(7);
    /// let p = Gc::as_ptr(&a);
    /// assert_eq!(unsafe { *p }, 7);
    /// assert_eq!(p, &*a as *const i32);
    /// ```
    #[inline]
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: the block is allocated (I1); the projection creates no
        // reference.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }

    /// Creates a [`Weak`] handle to this value.
    ///
    /// # Panics
    ///
    /// Panics if the value already has `2^31 - 1` weak handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(3);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(w.upgrade().as_deref(), Some(&3));
    /// drop(a);
    /// assert!(w.upgrade().is_none());
    /// ```
    #[must_use = "the Weak is dropped at once otherwise"]
    pub fn downgrade(this: &Self) -> Weak<T> {
        this.counts().inc_weak();
        // SAFETY: the handle keeps the box allocated (I1), and the weak count
        // just added goes to the `Weak`.
        unsafe { Weak::from_inner(this.ptr) }
    }

    /// Whether the cycle collector currently tracks this object (Python's
    /// `gc.is_tracked`).
    ///
    /// Values whose type can never hold a `Gc` (numbers, strings, structs of
    /// such fields) are not tracked: reference counting alone frees them and
    /// collections never visit them.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// use std::cell::RefCell;
    ///
    /// assert!(!Gc::is_tracked(&Gc::new(1)));
    /// assert!(!Gc::is_tracked(&Gc::new(String::from("leaf"))));
    /// assert!(Gc::is_tracked(&Gc::new(RefCell::new(Vec::<Gc<i32>>::new()))));
    /// ```
    #[must_use]
    pub fn is_tracked(this: &Self) -> bool {
        Gc::obj(this).is_some_and(|obj| {
            let f = obj.flags();
            f.has(Flag::Trackable) && f.loc() != LOC_NONE
        })
    }

    /// Whether this is a dead handle: the cycle collector found the value
    /// to be garbage and dropped it, or is dropping it (see
    /// [Dead handles](Gc#dead-handles)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// assert!(!Gc::is_dead(&Gc::new(1)));
    /// ```
    #[inline]
    #[must_use]
    pub fn is_dead(this: &Self) -> bool {
        this.counts().is_dead()
    }

    /// The value, or `None` for a dead handle (see
    /// [Dead handles](Gc#dead-handles)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(1);
    /// assert_eq!(Gc::try_deref(&a), Some(&1));
    /// ```
    #[inline]
    #[must_use]
    pub fn try_deref(this: &Self) -> Option<&T> {
        if Gc::is_dead(this) {
            None
        } else {
            // SAFETY: the value is initialised (not dead, I2) and only shared
            // references to it are handed out while no `&mut` exists (a
            // `&mut` from `get_mut` borrows this handle mutably).
            Some(unsafe { &(*this.ptr.as_ptr()).value })
        }
    }

    /// A mutable reference to the value, if this is the only handle (no
    /// other `Gc` and no `Weak`), as [`Rc::get_mut`](std::rc::Rc::get_mut).
    ///
    /// While the reference lives, the collector does not look at the value;
    /// the object rejoins the collector's lists when the handle is cloned or
    /// found inside another traced value.
    ///
    /// Returns `None` for a value made by [`Gc::pin`] (reached through
    /// [`debug::objects_of`](crate::debug::objects_of) or
    /// [`Garbage::downcast`](crate::debug::Garbage::downcast)): it is pinned
    /// for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let mut x = Gc::new(3);
    /// *Gc::get_mut(&mut x).unwrap() = 4;
    /// assert_eq!(*x, 4);
    ///
    /// let y = x.clone();
    /// assert!(Gc::get_mut(&mut x).is_none());
    /// # drop(y);
    /// ```
    #[must_use]
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        let c = this.counts();
        if !c.is_unique_live() || c.weak_count() != 1 {
            return None;
        }
        if let Some(obj) = Gc::obj(this) {
            if obj.has(Flag::Pinned) {
                return None;
            }
            heap::detach(obj);
        }
        // SAFETY: this is the only handle and no `Weak` exists, so no other
        // reference to the value can be made while `this` is mutably
        // borrowed; the collector skips detached values (I5).
        Some(unsafe { &mut (*this.ptr.as_ptr()).value })
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
        if self.counts().is_dead() {
            dead_handle();
        }
        // SAFETY: the value is initialised (not dead, I2) and no `&mut`
        // exists while this handle is shared.
        unsafe { &(*self.ptr.as_ptr()).value }
    }
}

impl<T: Trace + ?Sized> Trace for Gc<T> {
    /// Reports the strong edge to this handle's object.
    #[expect(
        clippy::inline_always,
        reason = "the edge path of every collection: a call here costs a prologue per handle (callgrind, big_cycle)"
    )]
    #[inline(always)]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match Gc::obj(self) {
            // SAFETY: `obj` is the head of the object this handle points to
            // (`Gc::obj`, I3), so the edge is a real handle to it (S3).
            Some(obj) => unsafe { tracer.visit(obj, self) },
            None => tracer.visit_leaf(self.counts(), core::any::type_name::<T>),
        }
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

/// Debug check used by tests: the weak word has the head bit exactly when
/// there is a head.
#[cfg(test)]
pub(crate) fn has_head<T: ?Sized>(g: &Gc<T>) -> bool {
    g.counts().has_head()
}
