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
//!   allocated (sized), whatever unsized type a handle now names it by.

use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
#[cfg(not(gc_tsan))]
use std::sync::atomic::fence;
use std::sync::atomic::{AtomicPtr, AtomicU32};

use super::counts::Counts;
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

struct VTables<T>(T);

impl<T: Trace + Send + Sync + 'static> VTables<T> {
    const VTABLE: VTable = VTable {
        trace: trace_value::<T>,
        finalize: finalize_value::<T>,
        drop_value: drop_value::<T>,
        dealloc: dealloc_block::<T>,
    };
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
    let state = if tracked { TRACKED | LISTED } else { 0 };
    let b = Box::new(SyncBox {
        header: Header {
            counts: strong,
            weak: AtomicU32::new(1 + u32::from(tracked)),
            state: AtomicU32::new(state),
            pos: AtomicU32::new(0),
            owner: AtomicPtr::new(core::ptr::null_mut()),
            vtable: &VTables::<T>::VTABLE,
        },
        value: MaybeUninit::<T>::uninit(),
    });
    NonNull::from(Box::leak(b))
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
