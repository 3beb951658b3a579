//! `Trace` for the standard library's types, grouped by std module.
//!
//! Leaf types (those that can never hold a `Gc`) answer `false` to
//! `__gc_tracked`, so values built only from them are untracked: freed by
//! reference counting alone and never visited by the collector.

use core::any::TypeId;

use super::sealed::Internal;
use super::{__GcTrusted, Trace, Tracer, trusted_if};

/// `Trace` for sized types that can never hold a `Gc`.
macro_rules! leaf {
    ($($(#[$m:meta])* [$($g:tt)*] $t:ty),* $(,)?) => {$(
        $(#[$m])*
        impl<$($g)*> Trace for $t {
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
            #[inline]
            fn __gc_tracked(_: &mut u32) -> bool {
                false
            }
            #[inline]
            fn __gc_trusted(_: &mut u32) -> Option<__GcTrusted> {
                trusted_if(&[])
            }
        }
    )*};
}

/// `Trace` for unsized types that can never hold a `Gc`.
macro_rules! unsized_leaf {
    ($($t:ty),* $(,)?) => {$(
        impl Trace for $t {
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
        }
    )*};
}

/// `Trace` for containers whose elements live in heap memory the container
/// owns alone: each element is vouched for as owned when the container
/// itself lies in owned memory (`Tracer::trace_vouched`).
macro_rules! per_element {
    ($($(#[$m:meta])* [$($g:tt)*] $t:ty => |$x:ident| $iter:expr, tracked: $($e:ty)|+;)*) => {$(
        $(#[$m])*
        impl<$($g)*> Trace for $t {
            #[inline]
            fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
                let owned = tracer.owns(self);
                let $x = self;
                for item in $iter {
                    tracer.trace_vouched(owned, item);
                }
            }
            #[inline]
            fn __gc_tracked(budget: &mut u32) -> bool {
                false $(|| <$e as Trace>::__gc_tracked(budget))+
            }
            #[inline]
            fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
                // The trace only traces the elements.
                trusted_if(&[$(<$e as Trace>::__gc_trusted(budget)),+])
            }
        }
    )*};
}

/// `Trace` for types that share their contents with other owners, or point
/// without owning: nothing is reported, so a `Gc` behind one counts as
/// referenced from outside (it can leak in a cycle, never be freed early).
macro_rules! shared {
    ($($(#[$m:meta])* [$($g:tt)*] $t:ty),* $(,)?) => {$(
        $(#[$m])*
        impl<$($g)*> Trace for $t {
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
            #[inline]
            fn __gc_tracked(_: &mut u32) -> bool {
                false
            }
            #[inline]
            fn __gc_trusted(_: &mut u32) -> Option<__GcTrusted> {
                trusted_if(&[])
            }
        }
    )*};
}

// --- core primitives -------------------------------------------------------

leaf! {
    [] bool, [] char, [] (),
    [] u8, [] u16, [] u32, [] u64, [] u128, [] usize,
    [] i8, [] i16, [] i32, [] i64, [] i128, [] isize,
    [] f32, [] f64,
}

unsized_leaf!(str);

// --- core::num, core::cmp, core::ops, core::time, core::any ----------------

leaf! {
    [] core::num::NonZeroU8, [] core::num::NonZeroU16, [] core::num::NonZeroU32,
    [] core::num::NonZeroU64, [] core::num::NonZeroU128, [] core::num::NonZeroUsize,
    [] core::num::NonZeroI8, [] core::num::NonZeroI16, [] core::num::NonZeroI32,
    [] core::num::NonZeroI64, [] core::num::NonZeroI128, [] core::num::NonZeroIsize,
    [] core::cmp::Ordering,
    [] core::time::Duration,
    [] core::any::TypeId,
    [] core::ops::RangeFull,
    [] core::convert::Infallible,
    [] core::marker::PhantomPinned,
}

impl<T: Trace> Trace for core::num::Wrapping<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

impl<T: Trace> Trace for core::cmp::Reverse<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

impl<T: Trace> Trace for core::ops::Range<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.start.trace(tracer);
        self.end.trace(tracer);
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

impl<T: Trace> Trace for core::ops::RangeInclusive<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.start().trace(tracer);
        self.end().trace(tracer);
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

impl<T: Trace> Trace for core::ops::Bound<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self {
            core::ops::Bound::Included(x) | core::ops::Bound::Excluded(x) => x.trace(tracer),
            core::ops::Bound::Unbounded => {}
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

// --- core::marker, core::mem, references -----------------------------------

shared! {
    /// `PhantomData` owns nothing.
    [T: ?Sized] core::marker::PhantomData<T>,
    /// A shared reference does not own its target.
    ['a, T: ?Sized] &'a T,
}

impl<T: Trace> Trace for core::mem::ManuallyDrop<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        (**self).trace(tracer);
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

// --- Option, Result, tuples, arrays, slices ---------------------------------

impl<T: Trace> Trace for Option<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(x) = self {
            x.trace(tracer);
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

impl<T: Trace, E: Trace> Trace for Result<T, E> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self {
            Ok(x) => x.trace(tracer),
            Err(e) => e.trace(tracer),
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget) || E::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        trusted_if(&[T::__gc_trusted(budget), E::__gc_trusted(budget)])
    }
}

macro_rules! tuple {
    ($($name:ident . $idx:tt),+) => {
        impl<$($name: Trace),+> Trace for ($($name,)+) {
            #[inline]
            fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
                $(self.$idx.trace(tracer);)+
            }
            #[inline]
            fn __gc_tracked(budget: &mut u32) -> bool {
                false $(|| $name::__gc_tracked(budget))+
            }
            #[inline]
            fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
                trusted_if(&[$($name::__gc_trusted(budget)),+])
            }
        }
    };
}

tuple!(A.0);
tuple!(A.0, B.1);
tuple!(A.0, B.1, C.2);
tuple!(A.0, B.1, C.2, D.3);
tuple!(A.0, B.1, C.2, D.3, E.4);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10);
tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7, I.8, J.9, K.10, L.11);

impl<T: Trace, const N: usize> Trace for [T; N] {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        for x in self {
            x.trace(tracer);
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        N != 0 && T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
    fn __gc_array(&self, _: Internal) -> Option<(TypeId, usize)>
    where
        Self: 'static,
    {
        Some((TypeId::of::<T>(), N))
    }
}

impl<T: Trace> Trace for [T] {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        for x in self {
            x.trace(tracer);
        }
    }
    fn __gc_array(&self, _: Internal) -> Option<(TypeId, usize)>
    where
        Self: 'static,
    {
        Some((TypeId::of::<T>(), self.len()))
    }
}

// --- alloc: Box, String, collections ---------------------------------------

/// The box's contents are vouched for as owned when the box itself lies in
/// owned memory.
impl<T: Trace + ?Sized> Trace for Box<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let owned = tracer.owns(self);
        tracer.trace_vouched(owned, &**self);
    }
    // `T` may be unsized, so its answer cannot be asked here: a `Box` is
    // conservatively tracked (the derive handles `Box<Self>` itself).
}

/// As for `Box<T>`.
impl<T: Trace> Trace for core::pin::Pin<Box<T>> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let owned = tracer.owns(self);
        tracer.trace_vouched(owned, self.as_ref().get_ref());
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

leaf! {
    [] String,
    [] std::ffi::OsString,
    [] std::ffi::CString,
    [] std::path::PathBuf,
}

unsized_leaf!(std::ffi::OsStr, std::ffi::CStr, std::path::Path);

impl<B> Trace for std::borrow::Cow<'_, B>
where
    B: ToOwned + ?Sized,
    B::Owned: Trace,
{
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let std::borrow::Cow::Owned(x) = self {
            x.trace(tracer);
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        B::Owned::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        B::Owned::__gc_trusted(budget)
    }
}

/// The buffer is vouched for as owned when the `Vec` itself lies in owned
/// memory.
impl<T: Trace> Trace for Vec<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.trace_buffer(self, self.as_slice());
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

/// As for `Vec<T>`, for both halves of the ring buffer.
impl<T: Trace> Trace for std::collections::VecDeque<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let (front, back) = self.as_slices();
        tracer.trace_buffer(self, front);
        tracer.trace_buffer(self, back);
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

/// As for `Vec<T>`.
impl<T: Trace> Trace for std::collections::BinaryHeap<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.trace_buffer(self, self.as_slice());
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

per_element! {
    [T: Trace] std::collections::LinkedList<T> => |v| v, tracked: T;
    [T: Trace] std::collections::BTreeSet<T> => |v| v, tracked: T;
    [T: Trace, S] std::collections::HashSet<T, S> => |v| v, tracked: T;
    [K: Trace, V: Trace] std::collections::BTreeMap<K, V> =>
        |m| m.iter().flat_map(|(k, v)| [k as &dyn Trace, v as &dyn Trace]), tracked: K | V;
    [K: Trace, V: Trace, S] std::collections::HashMap<K, V, S> =>
        |m| m.iter().flat_map(|(k, v)| [k as &dyn Trace, v as &dyn Trace]), tracked: K | V;
}

// --- Rc, Arc and their Weaks: shared, never traced --------------------------

shared! {
    /// Another owner may share the value: a `Gc` behind an `Rc` is a root.
    [T: ?Sized] std::rc::Rc<T>,
    /// A weak edge is not a strong edge.
    [T: ?Sized] std::rc::Weak<T>,
    /// Another owner may share the value: a `Gc` behind an `Arc` is a root.
    [T: ?Sized] std::sync::Arc<T>,
    /// A weak edge is not a strong edge.
    [T: ?Sized] std::sync::Weak<T>,
}

// --- cells -------------------------------------------------------------------

/// A `Copy` value can never hold a `Gc` (`Gc` is not `Copy`), so nothing is
/// read.
impl<T: Copy> Trace for core::cell::Cell<T> {
    #[inline]
    fn trace(&self, _: &mut Tracer<'_>) {}
    #[inline]
    fn __gc_tracked(_: &mut u32) -> bool {
        false
    }
    #[inline]
    fn __gc_trusted(_: &mut u32) -> Option<__GcTrusted> {
        trusted_if(&[])
    }
}

/// A mutably borrowed `RefCell` is not read: its owner is kept alive for that
/// collection (see [`Tracer::mark_unreadable`]). Otherwise the shared borrow
/// is held until the collector has traced every object it examines, so
/// nothing reported from inside can move meanwhile.
impl<T: Trace> Trace for core::cell::RefCell<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self.try_borrow() {
            Ok(guard) => tracer.trace_borrowed(guard),
            Err(_) => tracer.mark_unreadable(),
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

/// Write-once: a set value is never handed back through `&self`.
impl<T: Trace> Trace for core::cell::OnceCell<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(x) = self.get() {
            x.trace(tracer);
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

/// Write-once, as `OnceCell`.
impl<T: Trace> Trace for std::sync::OnceLock<T> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(x) = self.get() {
            x.trace(tracer);
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

/// A `Mutex` locked elsewhere is not read: its owner is kept alive for that
/// collection. A poisoned one is read. The lock is held as a `RefCell`'s
/// borrow is.
impl<T: Trace> Trace for std::sync::Mutex<T> {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self.try_lock() {
            Ok(guard) => tracer.trace_locked(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => tracer.trace_locked(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => tracer.mark_unreadable(),
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

/// A write-locked `RwLock` is not read: its owner is kept alive for that
/// collection. A poisoned one is read. The read lock is held as a
/// `RefCell`'s borrow is.
impl<T: Trace> Trace for std::sync::RwLock<T> {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self.try_read() {
            Ok(guard) => tracer.trace_locked(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => tracer.trace_locked(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => tracer.mark_unreadable(),
        }
    }
    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        T::__gc_tracked(budget)
    }
    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        T::__gc_trusted(budget)
    }
}

// --- std::sync::atomic, std::time, std::net, misc ---------------------------

leaf! {
    [] std::sync::atomic::AtomicBool,
    [] std::sync::atomic::AtomicU8, [] std::sync::atomic::AtomicU16,
    [] std::sync::atomic::AtomicU32, [] std::sync::atomic::AtomicU64,
    [] std::sync::atomic::AtomicUsize,
    [] std::sync::atomic::AtomicI8, [] std::sync::atomic::AtomicI16,
    [] std::sync::atomic::AtomicI32, [] std::sync::atomic::AtomicI64,
    [] std::sync::atomic::AtomicIsize,
    [] std::time::Instant,
    [] std::time::SystemTime,
    [] std::net::IpAddr, [] std::net::Ipv4Addr, [] std::net::Ipv6Addr,
    [] std::net::SocketAddr, [] std::net::SocketAddrV4, [] std::net::SocketAddrV6,
    [] std::thread::ThreadId,
    [] std::fs::File,
    [] std::collections::hash_map::RandomState,
    [] std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>,
    [] std::collections::hash_map::DefaultHasher,
    [] std::io::Error,
}
