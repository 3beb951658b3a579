//! The block of a thread-safe object: a [`Header`] then the value, the
//! vtable that lets the collector handle it without its type, and the one
//! place that allocates and frees such blocks.
//!
//! # Invariants
//!
//! - **Y1 (allocated).** A block stays allocated while its `weak` word is
//!   not zero. That word counts the `Weak` handles, plus one for all the
//!   strong handles together until the value is dropped (or moved out),
//!   plus one while a list holds the block (`listed`). Whoever takes it to
//!   zero frees the block.
//! - **Y2 (value).** The value is initialised from construction until the
//!   handle that takes the strong count to zero drops it, or until the
//!   collector drops it after condemning it (counts C1, C3); `DROPPED` is
//!   set once it is gone, just before the strong handles' weak share goes.
//! - **Y3 (type).** `vtable` is the vtable of the value's type as it was
//!   allocated, whatever unsized type a handle now names it by: for a
//!   block from [`allocate_uninit::<T>`] (a `Box<SyncBox<T>>`), the sized
//!   vtable of `T`; for one from [`allocate_unsized::<U>`], the unsized
//!   vtable of `U`, whose functions find the value through the block's
//!   prefix (Y4).
//! - **Y4 (prefix).** A block from [`allocate_unsized::<U>`] is one
//!   allocation of the global allocator holding a [`Prefix<U>`] that ends
//!   where the header starts, then the `SyncBox<U>`. The prefix is written
//!   before the block is published and never changed: `layout` is the
//!   allocation's layout, with the header at offset
//!   [`header_offset`]`(size_of::<Prefix<U>>(), layout.align())`, and
//!   `block` points to the header, with the value's metadata (a length or a
//!   vtable) and the provenance of the whole allocation. The layout is
//!   stored, not recomputed from `block`, so that freeing never reads the
//!   metadata through a reference to a dropped value.
//!
//! Only unsized blocks have a prefix (24 or 32 bytes); a sized block is
//! its header and value, nothing more.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{self, MaybeUninit};
use core::ptr::NonNull;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::alloc;
#[cfg(not(gc_tsan))]
use std::sync::atomic::fence;
use std::sync::atomic::{AtomicPtr, AtomicU32};

use super::counts::Counts;
use crate::gc_box::set_data_ptr;
use crate::trace::{Trace, Tracer};

/// The weak word while `get_mut` checks the strong count (no `Weak` can be
/// made meanwhile).
const WEAK_LOCKED: u32 = u32::MAX;

/// The object's type has `Gc`s in it: it is listed and traced.
pub(crate) const TRACKED: u32 = 1;
/// The value's finalizer ran (or it has none to run).
pub(crate) const FINALIZED: u32 = 1 << 1;
/// The value is gone (dropped or moved out) and the strong handles' weak
/// share with it, or about to go (Y1, Y2): a pause takes a listed object
/// with this set out of its list.
pub(crate) const DROPPED: u32 = 1 << 2;
/// A list holds the block, and the list's weak count with it (Y1).
pub(crate) const LISTED: u32 = 1 << 3;

/// What every block starts with.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Header {
    /// The strong count and the collection flags (see `counts`).
    pub(crate) counts: Counts,
    /// Y1.
    weak: AtomicU32,
    /// `TRACKED`, `FINALIZED`, `DROPPED`.
    state: AtomicU32,
    /// Its index in the list that holds it (`heap` owns it).
    pos: AtomicU32,
    /// The thread whose nursery holds it; null: the shared list (`heap`
    /// owns it).
    owner: AtomicPtr<()>,
    /// Y3.
    vtable: &'static VTable,
}

/// A block: the header, then the value.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct SyncBox<T: ?Sized> {
    pub(crate) header: Header,
    pub(crate) value: T,
}

/// A pointer to a block's header, as the collector and the lists hold it.
pub(crate) type HeaderPtr = NonNull<Header>;

/// The operations on a value whose type only its vtable knows (Y3).
#[derive(Debug)]
pub(crate) struct VTable {
    trace: for<'a> unsafe fn(HeaderPtr, &mut Tracer<'a>),
    finalize: unsafe fn(HeaderPtr),
    drop_value: unsafe fn(HeaderPtr),
    dealloc: unsafe fn(HeaderPtr),
}

/// Static vtables, one per type (and kind of block).
struct VTables<T: ?Sized>(PhantomData<T>);

impl<T: Trace + Send + Sync + 'static> VTables<T> {
    /// For a block from `allocate_uninit::<T>` (Y3).
    const VTABLE: VTable = VTable {
        trace: trace_value::<T>,
        finalize: finalize_value::<T>,
        drop_value: drop_value::<T>,
        dealloc: dealloc_block::<T>,
    };
}

impl<U: Trace + Send + Sync + ?Sized + 'static> VTables<U> {
    /// For a block from `allocate_unsized::<U>` (Y3, Y4).
    const UNSIZED: VTable = VTable {
        trace: trace_unsized::<U>,
        finalize: finalize_unsized::<U>,
        drop_value: drop_unsized::<U>,
        dealloc: dealloc_unsized::<U>,
    };
}

/// What an unsized block holds right before its header (Y4): what the
/// collector and the last handle need to reach a value whose type only the
/// vtable knows, from a thin [`HeaderPtr`].
#[repr(C)]
struct Prefix<U: ?Sized> {
    /// The layout of the whole allocation.
    layout: Layout,
    /// The header, with the value's metadata.
    block: *mut SyncBox<U>,
}

/// The offset of the header in an unsized block whose prefix takes
/// `prefix` bytes and whose alignment is `align` (Y4): the prefix ends
/// where the header starts, and the header is aligned for the whole box.
const fn header_offset(prefix: usize, align: usize) -> usize {
    prefix.next_multiple_of(align)
}

/// The prefix of the unsized block at `h`.
///
/// # Safety
///
/// The block came from `allocate_unsized::<U>` (Y3: its vtable is
/// `UNSIZED` for `U`) and is allocated (Y1).
unsafe fn prefix<U: ?Sized>(h: HeaderPtr) -> *const Prefix<U> {
    // SAFETY: the prefix ends where the header starts, in the same
    // allocation (Y4); `h` has that allocation's provenance (it was made
    // from the block pointer `allocate_unsized` returned).
    unsafe { h.cast::<u8>().sub(mem::size_of::<Prefix<U>>()) }
        .cast::<Prefix<U>>()
        .as_ptr()
}

/// The block at `h` with its value's metadata.
///
/// # Safety
///
/// As [`prefix`].
unsafe fn unsized_block<U: ?Sized>(h: HeaderPtr) -> *mut SyncBox<U> {
    // SAFETY: the caller's contract; the prefix was written before the
    // block was published and is never written again (Y4), so this read
    // races with nothing.
    let p = unsafe { prefix::<U>(h) };
    // SAFETY: as above: `p` is aligned (a multiple of 8 before the
    // header, which is aligned to at least 8) and initialised.
    unsafe { (*p).block }
}

/// # Safety
///
/// As [`Header::trace`], for a block from `allocate_unsized::<U>`.
unsafe fn trace_unsized<'a, U: Trace + ?Sized + 'static>(h: HeaderPtr, tracer: &mut Tracer<'a>) {
    // SAFETY: the vtable is `UNSIZED` for `U` (Y3), so the block has a
    // prefix (Y4), and it is allocated (`Header::trace`'s contract, Y1).
    let b = unsafe { unsized_block::<U>(h) };
    // SAFETY: `Header::trace`'s contract: initialised, not detached, and
    // the value outlives the tracing phase; `b` carries its metadata (Y4).
    let v: &'a U = unsafe { &(*b).value };
    tracer.begin_object(v);
    v.trace(tracer);
}

/// # Safety
///
/// As [`Header::finalize`], for a block from `allocate_unsized::<U>`.
unsafe fn finalize_unsized<U: Trace + ?Sized + 'static>(h: HeaderPtr) {
    // SAFETY: as in `trace_unsized` (Y3, Y4, Y1).
    let b = unsafe { unsized_block::<U>(h) };
    // SAFETY: `Header::finalize`'s contract: allocated and initialised
    // (Y1, Y2); a shared reference is all a finalizer gets.
    let v: &U = unsafe { &(*b).value };
    if let Some(f) = v.finalizer() {
        f.finalize();
    }
}

/// # Safety
///
/// As [`Header::drop_value`], for a block from `allocate_unsized::<U>`.
unsafe fn drop_unsized<U: ?Sized>(h: HeaderPtr) {
    // SAFETY: as in `trace_unsized` (Y3, Y4, Y1).
    let b = unsafe { unsized_block::<U>(h) };
    // SAFETY: the block is allocated (Y1); the projection makes no
    // reference.
    let v = unsafe { &raw mut (*b).value };
    // SAFETY: `Header::drop_value`'s contract: the caller owns the
    // initialised value and drops it once (Y2).
    unsafe { core::ptr::drop_in_place(v) }
}

/// # Safety
///
/// As [`Header::release_weak`]'s call, for a block from
/// `allocate_unsized::<U>`.
unsafe fn dealloc_unsized<U: ?Sized>(h: HeaderPtr) {
    // SAFETY: the vtable is `UNSIZED` for `U` (Y3), so the block has a
    // prefix (Y4); it is still allocated (the last weak count, Y1).
    let p = unsafe { prefix::<U>(h) };
    // SAFETY: as above; the prefix is initialised and never written after
    // publication (Y4). Only the layout is read, not the dropped value.
    let layout = unsafe { (*p).layout };
    let offset = header_offset(mem::size_of::<Prefix<U>>(), layout.align());
    // SAFETY: the header is `offset` bytes into the allocation (Y4).
    let base = unsafe { h.cast::<u8>().sub(offset) };
    // SAFETY: `base` and `layout` are the global allocator's allocation
    // and its layout (Y4); the last weak count is gone, so nothing refers
    // to the block any more (Y1), and the value is gone (Y2).
    unsafe { alloc::dealloc(base.as_ptr(), layout) }
}

/// The value of the block at `h`, allocated as a `SyncBox<T>` (Y3).
///
/// # Safety
///
/// The block is allocated (Y1) as a `SyncBox<T>` and its value
/// initialised (Y2), and no `&mut` to it exists for `'a`.
unsafe fn value<'a, T>(h: HeaderPtr) -> &'a T {
    // SAFETY: the caller's contract.
    unsafe { &(*h.cast::<SyncBox<T>>().as_ptr()).value }
}

/// # Safety
///
/// As [`Header::trace`].
unsafe fn trace_value<'a, T: Trace + 'static>(h: HeaderPtr, tracer: &mut Tracer<'a>) {
    // SAFETY: `Header::trace`'s contract: allocated, initialised, not
    // detached, and the value outlives the tracing phase.
    let v: &'a T = unsafe { value(h) };
    tracer.begin_object(v);
    v.trace(tracer);
}

/// # Safety
///
/// As [`Header::finalize`].
unsafe fn finalize_value<T: Trace + 'static>(h: HeaderPtr) {
    // SAFETY: `Header::finalize`'s contract.
    let v: &T = unsafe { value(h) };
    if let Some(f) = v.finalizer() {
        f.finalize();
    }
}

/// # Safety
///
/// As [`Header::drop_value`].
unsafe fn drop_value<T>(h: HeaderPtr) {
    // SAFETY: `Header::drop_value`'s contract: the caller owns the
    // initialised value and drops it once (Y2).
    let v = unsafe { &raw mut (*h.cast::<SyncBox<T>>().as_ptr()).value };
    // SAFETY: as above.
    unsafe { core::ptr::drop_in_place(v) }
}

/// # Safety
///
/// As [`Header::release_weak`].
unsafe fn dealloc_block<T>(h: HeaderPtr) {
    // SAFETY: the block was allocated by `Box::new` as a `SyncBox<T>` (Y3)
    // and its value is gone (Y2): freeing it as `MaybeUninit` drops nothing.
    drop(unsafe { Box::from_raw(h.cast::<SyncBox<MaybeUninit<T>>>().as_ptr()) });
}

/// Allocates a block for a value of type `T`, not yet written, with
/// `strong` as its counts and the strong handles' weak share; a `tracked`
/// block also has the list's share (the caller lists it before publishing
/// it). The caller sets `FINALIZED` if the value has no finalizer.
pub(crate) fn allocate_uninit<T: Trace + Send + Sync + 'static>(
    strong: Counts,
    tracked: bool,
) -> NonNull<SyncBox<MaybeUninit<T>>> {
    let b = Box::new(SyncBox {
        header: Header::new(strong, tracked, &VTables::<T>::VTABLE),
        value: MaybeUninit::<T>::uninit(),
    });
    NonNull::from(Box::leak(b))
}

/// The panic of a value too large for a block.
#[cold]
#[inline(never)]
#[track_caller]
fn too_large() -> ! {
    panic!("sync::Gc: value too large to allocate")
}

/// Allocates a block for a value of `U`, sized or not, not yet written:
/// its layout is `value_layout` and its metadata (length or vtable) that of
/// `meta`, whose address is not used. The counts are one strong handle,
/// with the strong handles' weak share; a `tracked` block also has the
/// list's (as [`allocate_uninit`]). The block has a prefix (Y4).
///
/// The caller writes the value through the returned pointer (at
/// `&raw mut (*b).value`, `value_layout.size()` bytes), sets `FINALIZED`
/// if the value has no finalizer, and lists a tracked block before
/// publishing it.
///
/// # Panics
///
/// Panics, allocating nothing, if the block's size overflows `isize`.
pub(crate) fn allocate_unsized<U: Trace + Send + Sync + ?Sized + 'static>(
    meta: *const U,
    value_layout: Layout,
    tracked: bool,
) -> NonNull<SyncBox<U>> {
    // `SyncBox<U>` is `repr(C)`: the header, then the value at the next
    // multiple of its alignment.
    let (box_layout, value_offset) = Layout::new::<Header>()
        .extend(value_layout)
        .unwrap_or_else(|_| too_large());
    let box_layout = box_layout.pad_to_align();
    let offset = header_offset(mem::size_of::<Prefix<U>>(), box_layout.align());
    let size = offset
        .checked_add(box_layout.size())
        .unwrap_or_else(|| too_large());
    let layout = Layout::from_size_align(size, box_layout.align()).unwrap_or_else(|_| too_large());
    // SAFETY: the layout holds at least a header, so it is not zero-sized.
    let base = unsafe { alloc::alloc(layout) };
    let Some(base) = NonNull::new(base) else {
        alloc::handle_alloc_error(layout)
    };
    // SAFETY: `offset + size_of::<Header>() <= size`: the header is in the
    // allocation.
    let h = unsafe { base.add(offset) };
    // The allocation's address and provenance, `meta`'s metadata.
    let b = set_data_ptr(meta.cast_mut() as *mut SyncBox<U>, h.as_ptr());
    // SAFETY: `set_data_ptr` gave `b` the address of `h`, which is not null.
    let b = unsafe { NonNull::new_unchecked(b) };
    let header = Header::new(Counts::new(), tracked, &VTables::<U>::UNSIZED);
    // SAFETY: `h` is in the new allocation, aligned for the box (hence for
    // the header), with room for the header; nothing else refers to it.
    unsafe { h.cast::<Header>().write(header) };
    // SAFETY: the prefix is the `size_of::<Prefix<U>>() <= offset` bytes
    // before the header, in the allocation and 8-aligned (`offset` and the
    // prefix's size are multiples of 8).
    let p = unsafe { h.sub(mem::size_of::<Prefix<U>>()) }.cast::<Prefix<U>>();
    let prefix = Prefix {
        layout,
        block: b.as_ptr(),
    };
    // SAFETY: as above: fresh, writable, aligned memory; this writes the
    // prefix of Y4 before anything can read it.
    unsafe { p.write(prefix) };
    // SAFETY: the block is allocated; the projection makes no reference.
    let value = unsafe { &raw mut (*b.as_ptr()).value };
    // SAFETY: as above.
    let expected = unsafe { h.add(value_offset) };
    debug_assert_eq!(value.cast::<u8>(), expected.as_ptr());
    b
}

/// Writes the value into a block from [`allocate_uninit`].
///
/// # Safety
///
/// `b` came from `allocate_uninit::<T>`, its value is not written yet, and
/// no strong handle to it exists (nothing reads the value meanwhile).
pub(crate) unsafe fn write_value<T>(
    b: NonNull<SyncBox<MaybeUninit<T>>>,
    value: T,
) -> NonNull<SyncBox<T>> {
    // SAFETY: the caller's contract: the block is allocated and nobody else
    // reads or writes its value.
    let slot = unsafe { &mut (*b.as_ptr()).value };
    slot.write(value);
    b.cast()
}

impl Header {
    /// The header of a new block: `strong` as its counts, the strong
    /// handles' weak share, and the list's if `tracked` (Y1).
    fn new(strong: Counts, tracked: bool, vtable: &'static VTable) -> Header {
        let state = if tracked { TRACKED | LISTED } else { 0 };
        Header {
            counts: strong,
            weak: AtomicU32::new(1 + u32::from(tracked)),
            state: AtomicU32::new(state),
            pos: AtomicU32::new(0),
            owner: AtomicPtr::new(core::ptr::null_mut()),
            vtable,
        }
    }

    /// Whether the object is listed and traced.
    #[inline]
    pub(crate) fn tracked(&self) -> bool {
        self.state.load(Relaxed) & TRACKED != 0
    }

    /// The state bits (`TRACKED`, `FINALIZED`, `DROPPED`).
    pub(crate) fn state(&self) -> u32 {
        self.state.load(Acquire)
    }

    /// Sets state bits; `Release`, so that what happened before (a value's
    /// drop, for `DROPPED`) happens before a reader's `Acquire`.
    pub(crate) fn set_state(&self, bits: u32) {
        self.state.fetch_or(bits, Release);
    }

    /// Clears state bits (`LISTED`, when a list lets the block go).
    pub(crate) fn clear_state(&self, bits: u32) {
        self.state.fetch_and(!bits, Relaxed);
    }

    /// The list position (owned by `heap`).
    pub(crate) fn pos(&self) -> usize {
        self.pos.load(Relaxed) as usize
    }

    /// Sets the list position (owned by `heap`).
    ///
    /// # Panics
    ///
    /// Panics past `u32::MAX` listed objects.
    pub(crate) fn set_pos(&self, pos: usize) {
        let pos = u32::try_from(pos).expect("sync::Gc: more than u32::MAX tracked objects");
        self.pos.store(pos, Relaxed);
    }

    /// The thread whose nursery holds it, or null (owned by `heap`).
    pub(crate) fn owner(&self) -> *mut () {
        self.owner.load(Relaxed)
    }

    /// Sets the owner (owned by `heap`).
    pub(crate) fn set_owner(&self, owner: *mut ()) {
        self.owner.store(owner, Relaxed);
    }

    /// One weak count more (a `Weak` handle). Waits while `get_mut` holds
    /// the weak word locked (it does for a few instructions, inside the
    /// gate, and only when the caller's strong handle is not the only one,
    /// so the lock is released at once).
    ///
    /// # Panics
    ///
    /// Panics, changing nothing, past `u32::MAX / 2` weak handles.
    pub(crate) fn inc_weak(&self) {
        let mut w = self.weak.load(Relaxed);
        loop {
            if w == WEAK_LOCKED {
                core::hint::spin_loop();
                w = self.weak.load(Relaxed);
                continue;
            }
            assert!(w < u32::MAX / 2, "sync::Weak: too many weak handles");
            match self.weak.compare_exchange_weak(w, w + 1, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(now) => w = now,
            }
        }
    }

    /// The weak word's value when only the strong handles' share and the
    /// list's (if listed) are in it: no `Weak` handle.
    fn shares(&self) -> u32 {
        1 + u32::from(self.state() & LISTED != 0)
    }

    /// Inside the gate, for `get_mut`: locks the weak word if no `Weak`
    /// handle exists, so that none can be made until [`Header::unlock_weak`]
    /// (as `Arc::get_mut` does). `false` if a `Weak` exists.
    pub(crate) fn lock_weak(&self) -> bool {
        self.weak
            .compare_exchange(self.shares(), WEAK_LOCKED, Acquire, Relaxed)
            .is_ok()
    }

    /// Undoes [`Header::lock_weak`].
    pub(crate) fn unlock_weak(&self) {
        self.weak.store(self.shares(), Release);
    }

    /// The number of `Weak` handles, not counting the strong handles' and
    /// the list's shares (Y1); racy, as `Arc::weak_count`.
    pub(crate) fn weak_handles(&self) -> u32 {
        let w = self.weak.load(Relaxed);
        if w == WEAK_LOCKED {
            return 0;
        }
        let st = self.state();
        let strong = u32::from(st & DROPPED == 0);
        let listed = u32::from(st & LISTED != 0);
        w.saturating_sub(strong + listed)
    }

    /// Traces the value.
    ///
    /// # Safety
    ///
    /// The block is allocated (Y1), its value initialised (Y2) and not
    /// detached (counts C5), and both stay so until the tracing phase of
    /// `tracer` ends (the collector's pause).
    pub(crate) unsafe fn trace(h: HeaderPtr, tracer: &mut Tracer<'_>) {
        // SAFETY: the block is allocated (the caller's contract, Y1).
        let f = unsafe { h.as_ref() }.vtable.trace;
        // SAFETY: the caller's contract; the vtable is the value's (Y3).
        unsafe { f(h, tracer) }
    }

    /// Runs the value's finalizer, if it has one.
    ///
    /// # Safety
    ///
    /// The block is allocated (Y1) and its value initialised (Y2) for the
    /// whole call.
    pub(crate) unsafe fn finalize(h: HeaderPtr) {
        // SAFETY: the block is allocated (the caller's contract, Y1).
        let f = unsafe { h.as_ref() }.vtable.finalize;
        // SAFETY: the caller's contract; the vtable is the value's (Y3).
        unsafe { f(h) }
    }

    /// Drops the value in place.
    ///
    /// # Safety
    ///
    /// The caller owns the value (a last handle, or the collector after
    /// condemning it) and it is initialised; it is dropped once (Y2).
    pub(crate) unsafe fn drop_value(h: HeaderPtr) {
        // SAFETY: the block is allocated (the caller's contract, Y1).
        let f = unsafe { h.as_ref() }.vtable.drop_value;
        // SAFETY: the caller's contract; the vtable is the value's (Y3).
        unsafe { f(h) }
    }

    /// Gives up one weak count (Y1), freeing the block if it was the last.
    ///
    /// # Safety
    ///
    /// The caller holds that weak count, and does not use `h` afterwards.
    pub(crate) unsafe fn release_weak(h: HeaderPtr) {
        // SAFETY: the caller holds a weak count, so the block is allocated.
        let hd = unsafe { h.as_ref() };
        if hd.weak.fetch_sub(1, Release) != 1 {
            return;
        }
        // Every other use of the block happens before it is freed (as in
        // `Arc`).
        #[cfg(not(gc_tsan))]
        fence(Acquire);
        // `ThreadSanitizer` does not model fences (see `gate::acquire`).
        #[cfg(gc_tsan)]
        hd.weak.load(Acquire);
        let dealloc = hd.vtable.dealloc;
        // SAFETY: that was the last weak count: nothing else refers to the
        // block (Y1), and the value is gone (Y2: the strong share was
        // released after it).
        unsafe { dealloc(h) }
    }
}
