//! Type-erased operations on a head-ful object: one static [`VTable`] per
//! type and layout, reached through `HeadPtr`'s `unsafe fn` methods, each with
//! its contract.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use super::alloc::{free_block, headful_layout, typed_block};
use super::{GcBox, HeadPtr, value_ptr};
use crate::header::Flag;
use crate::slab::{Slab, TypeKey};
use crate::trace::{Trace, Tracer};

/// Type-erased operations on a head-ful object, one static table per type.
///
/// The `unsafe fn` fields are private and called only through the
/// `unsafe fn` methods on `HeadPtr` below, whose `# Safety` sections are
/// their contracts (plus: the vtable is the object's own, I3).
pub(crate) struct VTable {
    /// Reports the value's strong edges: [`HeadPtr::trace`].
    trace: unsafe fn(HeadPtr, &mut Tracer<'static>),
    /// Runs the value's finalizer, if it has one: [`HeadPtr::finalize`].
    finalize: unsafe fn(HeadPtr),
    /// Drops the value in place: [`HeadPtr::drop_value`].
    drop_value: unsafe fn(HeadPtr),
    /// Frees the block: [`HeadPtr::dealloc`].
    dealloc: unsafe fn(HeadPtr, &Slab),
    /// `std::any::type_name` of the value.
    type_name: fn() -> &'static str,
    /// `TypeId` of the value's type (for downcasting saved garbage).
    type_id: fn() -> core::any::TypeId,
    /// Size of the block in bytes (for the census): [`HeadPtr::block_size`].
    block_size: unsafe fn(HeadPtr) -> usize,
}

impl core::fmt::Debug for VTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VTable")
            .field("type_name", &(self.type_name)())
            .finish_non_exhaustive()
    }
}

/// Static vtables, one per type and layout.
struct VTables<T: ?Sized>(core::marker::PhantomData<T>);

impl<T: Trace + 'static> VTables<T> {
    const SIZED: VTable = VTable {
        trace: trace_sized::<T>,
        finalize: finalize_sized::<T>,
        drop_value: drop_sized::<T>,
        dealloc: dealloc_sized::<T>,
        type_name: core::any::type_name::<T>,
        type_id: core::any::TypeId::of::<T>,
        block_size: block_size_sized::<T>,
    };
}

impl<T: Trace + ?Sized + 'static> VTables<T> {
    const SLOT: VTable = VTable {
        trace: trace_slot::<T>,
        finalize: finalize_slot::<T>,
        drop_value: drop_slot::<T>,
        dealloc: dealloc_slot::<T>,
        type_name: core::any::type_name::<T>,
        type_id: core::any::TypeId::of::<T>,
        block_size: block_size_slot::<T>,
    };
}

impl VTable {
    /// The slab key of typed pages holding objects with this vtable.
    #[inline]
    pub(crate) fn key(&'static self) -> TypeKey {
        TypeKey::new(NonNull::from(self).cast())
    }

    /// The vtable a typed page's key names.
    ///
    /// # Safety
    ///
    /// - `key` came from [`VTable::key`] (a typed page's key does, I3).
    #[inline]
    pub(crate) unsafe fn from_key(key: TypeKey) -> &'static VTable {
        // SAFETY: the caller guarantees the key is the address of a
        // `&'static VTable` (this fn's Safety, I3).
        unsafe { key.get().cast::<VTable>().as_ref() }
    }

    /// The vtable of a head-ful `GcBox<T>` without a slot.
    pub(crate) fn sized<T: Trace + 'static>() -> &'static VTable {
        &VTables::<T>::SIZED
    }
    /// The vtable of a head-ful `GcBox<T>` with a slot.
    pub(crate) fn slot<T: Trace + ?Sized + 'static>() -> &'static VTable {
        &VTables::<T>::SLOT
    }
}

/// The value of an object, for the vtable functions.
///
/// # Safety
///
/// - `b` is the object's box, allocated (I1), its value initialised (I2)
///   and not exclusively borrowed (I5);
/// - the reference is not used after the value is dropped (for the
///   collector's trace, not before the tracing phase ends, S2).
#[inline]
unsafe fn value<'a, T: ?Sized>(b: *mut GcBox<T>) -> &'a T {
    // SAFETY: the caller guarantees an initialised value no `&mut` borrows
    // (this fn's Safety: I2, I5), in an allocated box (I1).
    unsafe { &(*b).value }
}

/// Traces the value `v` of the object being traced, whose bytes are its
/// owned region.
#[inline]
fn trace_value<T: Trace + ?Sized + 'static>(v: &'static T, tracer: &mut Tracer<'static>) {
    tracer.begin_object(v);
    v.trace(tracer);
}

/// `VTable::trace` for a head-ful `GcBox<T>` without a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::sized::<T>()`, so its box is a `GcBox<T>`
///   right after the head (I3);
/// - the contract of [`HeadPtr::trace`].
unsafe fn trace_sized<T: Trace + 'static>(obj: HeadPtr, tracer: &mut Tracer<'static>) {
    // SAFETY: the box is a `GcBox<T>` (this fn's Safety, I3); the caller
    // (`HeadPtr::trace`'s contract) guarantees it is allocated (I1), its
    // value initialised (I2), not exclusively borrowed (I5) and not dropped
    // before the tracer's phase ends and its guards are released (S2). That
    // is what `'static` stands for here: the tracer accepts the reference
    // only for the trace call and the phase.
    let v: &'static T = unsafe { value(obj.sized_box::<T>()) };
    trace_value(v, tracer);
}

/// `VTable::trace` for a head-ful `GcBox<T>` with a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::slot::<T>()`, so its slot holds its box
///   pointer (I3);
/// - the contract of [`HeadPtr::trace`].
unsafe fn trace_slot<T: Trace + ?Sized + 'static>(obj: HeadPtr, tracer: &mut Tracer<'static>) {
    // SAFETY: the block has a slot holding a `*mut GcBox<T>` (this fn's
    // Safety, I3).
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: `HeadPtr::trace`'s contract, as in `trace_sized`: allocated,
    // initialised, not exclusively borrowed, and kept until the tracing
    // phase ends (I1, I2, I5, S2).
    let v: &'static T = unsafe { value(b) };
    trace_value(v, tracer);
}

/// `VTable::finalize` for a head-ful `GcBox<T>` without a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::sized::<T>()` (I3);
/// - the contract of [`HeadPtr::finalize`].
unsafe fn finalize_sized<T: Trace>(obj: HeadPtr) {
    // SAFETY: the box is a `GcBox<T>` (I3), allocated, its value initialised
    // and not exclusively borrowed (`HeadPtr::finalize`'s contract: I1, I2,
    // I5); a shared reference is all a finalizer gets.
    if let Some(f) = unsafe { value(obj.sized_box::<T>()) }.finalizer() {
        f.finalize();
    }
}

/// `VTable::finalize` for a head-ful `GcBox<T>` with a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::slot::<T>()` (I3);
/// - the contract of [`HeadPtr::finalize`].
unsafe fn finalize_slot<T: Trace + ?Sized>(obj: HeadPtr) {
    // SAFETY: the block has a slot holding a `*mut GcBox<T>` (this fn's
    // Safety, I3).
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: `HeadPtr::finalize`'s contract, as in `finalize_sized` (I1,
    // I2, I5).
    if let Some(f) = unsafe { value(b) }.finalizer() {
        f.finalize();
    }
}

/// `VTable::drop_value` for a head-ful `GcBox<T>` without a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::sized::<T>()` (I3);
/// - the contract of [`HeadPtr::drop_value`].
unsafe fn drop_sized<T>(obj: HeadPtr) {
    // SAFETY: the box is a `GcBox<T>` (this fn's Safety, I3), allocated
    // (I1).
    let v = unsafe { value_ptr(obj.sized_box::<T>()) };
    // SAFETY: the value is initialised and dropped this once, and nothing
    // uses it afterwards (`HeadPtr::drop_value`'s contract: I2, S5).
    unsafe { ptr::drop_in_place(v) }
}

/// `VTable::drop_value` for a head-ful `GcBox<T>` with a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::slot::<T>()` (I3);
/// - the contract of [`HeadPtr::drop_value`].
unsafe fn drop_slot<T: ?Sized>(obj: HeadPtr) {
    // SAFETY: the block has a slot holding a `*mut GcBox<T>` (this fn's
    // Safety, I3).
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: `b` is the object's box, allocated (I1, `HeadPtr::drop_value`'s
    // contract).
    let v = unsafe { value_ptr(b) };
    // SAFETY: the value is initialised and dropped this once, and nothing
    // uses it afterwards (`HeadPtr::drop_value`'s contract: I2, S5).
    unsafe { ptr::drop_in_place(v) }
}

/// The start of the block whose box is `offset` bytes into it.
///
/// # Safety
///
/// - `obj` is `INLINE` and `offset` is the box offset its block was
///   allocated with (`headful_layout`, I3).
unsafe fn block_start(obj: HeadPtr, offset: usize) -> NonNull<u8> {
    // SAFETY: the box is `offset` bytes into the block (this fn's Safety,
    // I3), so this stays inside it.
    unsafe { obj.box_start().sub(offset) }
}

/// `VTable::dealloc` for a head-ful `GcBox<T>` without a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::sized::<T>()` (I3);
/// - the contract of [`HeadPtr::dealloc`].
unsafe fn dealloc_sized<T>(obj: HeadPtr, slab: &Slab) {
    if !obj.has(Flag::Inline) {
        // SAFETY: a non-`INLINE` object is a typed slab block starting at
        // its head (I3, I6), from this thread's slab; the caller frees it
        // once, when both counts are zero (`HeadPtr::dealloc`'s contract,
        // I1).
        unsafe { slab.free(obj.block()) };
        return;
    }
    let (layout, offset) = headful_layout(Layout::new::<GcBox<T>>(), false);
    // SAFETY: an `INLINE` sized block has the layout `headful_layout` gives
    // for `GcBox<T>`, with the box at `offset` (I3).
    let base = unsafe { block_start(obj, offset) };
    // SAFETY: the block was allocated with this layout from `slab` (I3), and
    // the caller frees it once, when both counts are zero
    // (`HeadPtr::dealloc`'s contract, I1).
    unsafe { free_block(slab, base, layout) }
}

/// The block layout of a slot-carrying object, and its box offset.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::slot::<T>()` (I3);
/// - its block is allocated (I1), and its value initialised or dropped in
///   place, with no `&mut` to it alive (only its metadata is read).
unsafe fn slot_layout<T: ?Sized>(obj: HeadPtr) -> (Layout, usize) {
    // SAFETY: the block has a slot holding a `*mut GcBox<T>` (this fn's
    // Safety, I3).
    let b = unsafe { obj.slot_box::<T>() };
    // SAFETY: computing the layout reads the pointer metadata only; the box
    // is allocated (I1), and its value initialised or dropped in place (I2:
    // only the layout is read again after the drop), with no `&mut` alive
    // (this fn's Safety).
    let box_layout = Layout::for_value(unsafe { &*b });
    headful_layout(box_layout, true)
}

/// `VTable::dealloc` for a head-ful `GcBox<T>` with a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::slot::<T>()` (I3);
/// - the contract of [`HeadPtr::dealloc`].
unsafe fn dealloc_slot<T: ?Sized>(obj: HeadPtr, slab: &Slab) {
    // SAFETY: the vtable is `SLOT` for `T` (this fn's Safety, I3); the block
    // is still allocated and the value was dropped (`HeadPtr::dealloc`'s
    // contract: I1, I2).
    let (layout, offset) = unsafe { slot_layout::<T>(obj) };
    // SAFETY: a slot block is `INLINE`, with the box at `offset` of the
    // layout `headful_layout` gives (I3).
    let base = unsafe { block_start(obj, offset) };
    // SAFETY: allocated with this layout from `slab` (I3); freed once, when
    // both counts are zero (`HeadPtr::dealloc`'s contract, I1).
    unsafe { free_block(slab, base, layout) }
}

/// `VTable::block_size` for a head-ful `GcBox<T>` without a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::sized::<T>()` (I3);
/// - the contract of [`HeadPtr::block_size`].
unsafe fn block_size_sized<T>(obj: HeadPtr) -> usize {
    match typed_block::<T>() {
        Some(size) if !obj.has(Flag::Inline) => crate::slab::block_size(size),
        _ => headful_layout(Layout::new::<GcBox<T>>(), false).0.size(),
    }
}

/// `VTable::block_size` for a head-ful `GcBox<T>` with a slot.
///
/// # Safety
///
/// - `obj`'s vtable is `VTable::slot::<T>()` (I3);
/// - the contract of [`HeadPtr::block_size`].
unsafe fn block_size_slot<T: ?Sized>(obj: HeadPtr) -> usize {
    // SAFETY: the vtable is `SLOT` for `T` (this fn's Safety, I3); the block
    // is allocated and its value initialised or dropped in place
    // (`HeadPtr::block_size`'s contract: I1, I2).
    unsafe { slot_layout::<T>(obj) }.0.size()
}

impl HeadPtr {
    /// Traces the object's value into `tracer` (its bytes are the owned
    /// region, soundness step S3).
    ///
    /// # Safety
    ///
    /// - The object is allocated (I1), its value initialised (I2) and not
    ///   exclusively borrowed (not detached, I5);
    /// - the value is not dropped before `tracer`'s phase ends (the
    ///   collector holds a count on it, I7, and drops nothing while it
    ///   traces), since the trace may keep borrows of it in `tracer` (S2).
    #[inline]
    pub(crate) unsafe fn trace(self, tracer: &mut Tracer<'static>) {
        let trace = self.vtable().trace;
        // SAFETY: the vtable is the object's own (I3), and the caller keeps
        // this fn's contract, which is the vtable function's (I1, I2, I5,
        // S2).
        unsafe { trace(self, tracer) }
    }

    /// Runs the value's finalizer, if it has one.
    ///
    /// # Safety
    ///
    /// - The object is allocated (I1) and its value initialised (I2); no
    ///   `&mut` to it exists (I5).
    #[inline]
    pub(crate) unsafe fn finalize(self) {
        let finalize = self.vtable().finalize;
        // SAFETY: the vtable is the object's own (I3), and the caller keeps
        // this fn's contract, which is the vtable function's (I1, I2, I5).
        unsafe { finalize(self) }
    }

    /// Drops the value in place (the block stays allocated).
    ///
    /// # Safety
    ///
    /// - The object is allocated (I1) and its value initialised (I2);
    /// - the value is dropped this once: the caller is the holder of its last
    ///   strong count or the collector disposing of garbage, and sets
    ///   `DEAD` (or no strong handle exists) so nothing reads it again (I2);
    /// - no reference into the value is used afterwards (soundness S5 for
    ///   garbage; no handle for a zero count).
    #[inline]
    pub(crate) unsafe fn drop_value(self) {
        let drop_value = self.vtable().drop_value;
        // SAFETY: the vtable is the object's own (I3), and the caller keeps
        // this fn's contract, which is the vtable function's (I1, I2, S5).
        unsafe { drop_value(self) }
    }

    /// Frees the block (to `slab` when it came from there).
    ///
    /// # Safety
    ///
    /// - Both counts are zero (no handle of either kind exists, I1), the
    ///   value was dropped (I2), and the block is freed this once;
    /// - `slab` is this thread's slab, the one the block came from (a `Gc`
    ///   never leaves its thread).
    #[inline]
    pub(crate) unsafe fn dealloc(self, slab: &Slab) {
        let dealloc = self.vtable().dealloc;
        // SAFETY: the vtable is the object's own (I3), and the caller keeps
        // this fn's contract, which is the vtable function's (I1, I2).
        unsafe { dealloc(self, slab) }
    }

    /// `std::any::type_name` of the value.
    #[inline]
    pub(crate) fn type_name(self) -> &'static str {
        (self.vtable().type_name)()
    }

    /// `TypeId` of the value's type.
    #[inline]
    pub(crate) fn type_id(self) -> core::any::TypeId {
        (self.vtable().type_id)()
    }

    /// The size of the object's block in bytes.
    ///
    /// # Safety
    ///
    /// - The object is allocated (I1); its value is initialised or was
    ///   dropped in place (only its layout is read, I2), and no `&mut` to it
    ///   is alive (I5).
    #[inline]
    pub(crate) unsafe fn block_size(self) -> usize {
        let block_size = self.vtable().block_size;
        // SAFETY: the vtable is the object's own (I3), and the caller keeps
        // this fn's contract, which is the vtable function's (I1, I2, I5).
        unsafe { block_size(self) }
    }
}
