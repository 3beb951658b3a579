//! `Trace` for the standard library's types, grouped by std module.
//!
//! Leaf types (those that can never hold a `Gc`) answer `false` to
//! `__gc_tracked`, so values built only from them are untracked: freed by
//! reference counting alone and never visited by the collector.

use core::any::TypeId;

use super::sealed::Internal;
use super::{__GcTrusted, Trace, Tracer, is_tracked_type};

/// One `Trace` impl, the template of every macro below (and of those in
/// `foreign.rs`):
///
/// ```text
/// trace_impl! {
///     trusted /// docs
///     [generics] Type where [bounds]
///         => #[fn attrs] |this, tracer| body, tracked: A | B
/// }
/// ```
///
/// `trace` binds `self` to `this` and the tracer to `tracer`, then runs
/// `body`; without the closure it does nothing. With `tracked:`, the type is
/// tracked exactly when one of the listed types is (none listed: never) and,
/// when the first word is `trusted`, trusted exactly when every listed type
/// is: list every type whose `trace` the body runs, and say `trusted` only
/// when the body runs nothing else. `untrusted` keeps the default answer
/// (`None`). Without `tracked:` (unsized types) both keep their defaults.
macro_rules! trace_impl {
    (@methods $trust:ident;) => {
        #[inline]
        fn __gc_tracked(_: &mut u32) -> bool {
            false
        }
        fn __gc_tracked_dyn(&self) -> bool {
            false
        }
        $crate::trace::impls::trace_impl!(@trusted $trust _ []);
    };
    (@methods $trust:ident; $($e:ty)|+) => {
        #[inline]
        fn __gc_tracked(budget: &mut u32) -> bool {
            false $(|| <$e as $crate::trace::Trace>::__gc_tracked(budget))+
        }
        fn __gc_tracked_dyn(&self) -> bool {
            $crate::trace::is_tracked_type::<Self>()
        }
        $crate::trace::impls::trace_impl!(
            @trusted $trust budget [$(<$e as $crate::trace::Trace>::__gc_trusted(budget)),+]
        );
    };
    (@trusted trusted $b:tt [$($answer:expr),*]) => {
        #[inline]
        fn __gc_trusted($b: &mut u32) -> Option<$crate::trace::__GcTrusted> {
            $crate::trace::trusted_if(&[$($answer),*])
        }
    };
    (@trusted untrusted $($rest:tt)*) => {};
    (@trace [$(#[$fm:meta])*]) => {
        $(#[$fm])*
        fn trace(&self, _: &mut $crate::trace::Tracer<'_>) {}
    };
    (@trace [$(#[$fm:meta])*] |$x:pat_param, $tr:pat_param| $body:expr) => {
        $(#[$fm])*
        fn trace<'a>(&'a self, $tr: &mut $crate::trace::Tracer<'a>) {
            let $x = self;
            $body
        }
    };
    (
        $trust:ident $(#[$m:meta])* [$($g:tt)*] $t:ty $(where [$($w:tt)*])?
            => $(#[$fm:meta])* $(|$x:pat_param, $tr:pat_param| $body:expr)?
            $(, tracked: $($e:ty)|*)?
    ) => {
        $(#[$m])*
        impl<$($g)*> $crate::trace::Trace for $t $(where $($w)*)? {
            $crate::trace::impls::trace_impl!(@trace [$(#[$fm])*] $(|$x, $tr| $body)?);
            $($crate::trace::impls::trace_impl!(@methods $trust; $($e)|*);)?
        }
    };
}

/// `Trace` for sized types that can never hold a `Gc`: `leaf! { trusted;
/// [generics] Type, ... }` (or `untrusted;`, see `trace_impl!`).
macro_rules! leaf {
    ($trust:ident; $($(#[$m:meta])* [$($g:tt)*] $t:ty),* $(,)?) => {$(
        $crate::trace::impls::trace_impl! {
            $trust $(#[$m])* [$($g)*] $t => #[inline], tracked:
        }
    )*};
}

/// `Trace` for types that share their contents with other owners, or point
/// without owning: nothing is reported, so a `Gc` behind one counts as
/// referenced from outside (it can leak in a cycle, never be freed early).
/// Written as `leaf!` is, and expands as it does.
macro_rules! shared {
    ($($input:tt)*) => {
        $crate::trace::impls::leaf! { $($input)* }
    };
}

/// `Trace` for unsized types that can never hold a `Gc`.
macro_rules! unsized_leaf {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::trace::Trace for $t {
            #[inline]
            fn trace(&self, _: &mut $crate::trace::Tracer<'_>) {}
            fn __gc_tracked_dyn(&self) -> bool {
                false
            }
        }
    )*};
}

/// `Trace` for containers whose elements live in heap memory the container
/// owns alone: each element is vouched for as owned when the container
/// itself lies in owned memory (`Tracer::trace_vouched`). `per_element! {
/// trusted; [generics] Type => |this| elements, tracked: A | B; ... }`.
///
/// The `@each (pattern) [names]` form binds each item to `pattern` and
/// vouches for each of `names` (`per_entry!` in `foreign.rs`).
macro_rules! per_element {
    (
        $trust:ident;
        $($(#[$m:meta])* [$($g:tt)*] $t:ty => |$x:ident| $iter:expr, tracked: $($e:ty)|+;)*
    ) => {$(
        $crate::trace::impls::per_element! {
            @each (item) [item] $trust $(#[$m])* [$($g)*] $t => |$x| $iter, tracked: $($e)|+
        }
    )*};
    (
        @each ($p:pat) [$($v:ident),+] $trust:ident $(#[$m:meta])* [$($g:tt)*] $t:ty
            => |$x:ident| $iter:expr, tracked: $($e:ty)|+
    ) => {
        $crate::trace::impls::trace_impl! {
            $trust $(#[$m])* [$($g)*] $t => #[inline] |this, tracer| {
                let owned = tracer.owns(this);
                let $x = this;
                for $p in $iter {
                    $(tracer.trace_vouched(owned, $v);)+
                }
            }, tracked: $($e)|+
        }
    };
}

/// `Trace` for types whose `trace` only traces values inside them:
/// `wrapper! { trusted; [generics] Type => |this, tracer| body, tracked: T;
/// ... }`, with `trace` inlined (see `trace_impl!`; no `tracked:` for an
/// unsized type).
macro_rules! wrapper {
    (
        $trust:ident;
        $(
            $(#[$m:meta])* [$($g:tt)*] $t:ty $(where [$($w:tt)*])?
                => |$x:pat_param, $tr:pat_param| $body:expr $(, tracked: $($e:ty)|+)?;
        )*
    ) => {$(
        $crate::trace::impls::trace_impl! {
            $trust $(#[$m])* [$($g)*] $t $(where [$($w)*])?
                // A wrapper's trace is a few instructions around its
                // contents': always inlined, so that the edge path of a
                // collection makes no call per cell (callgrind, big_cycle).
                => #[inline(always)] |$x, $tr| $body $(, tracked: $($e)|+)?
        }
    )*};
}

// The macros `foreign.rs` uses (some only under some features).
#[allow(unused_imports, reason = "some are used only under some features")]
pub(crate) use {leaf, per_element, shared, trace_impl, wrapper};

// --- core primitives -------------------------------------------------------

leaf! {
    trusted;
    [] bool, [] char, [] (),
    [] u8, [] u16, [] u32, [] u64, [] u128, [] usize,
    [] i8, [] i16, [] i32, [] i64, [] i128, [] isize,
    [] f32, [] f64,
}

unsized_leaf!(str);

// --- core::num, core::cmp, core::ops, core::time, core::any ----------------

leaf! {
    trusted;
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

// Each trace below only traces the values inside: trusted when their types are.
wrapper! {
    trusted;
    [T: Trace] core::num::Wrapping<T> => |x, tracer| x.0.trace(tracer), tracked: T;
    [T: Trace] core::cmp::Reverse<T> => |x, tracer| x.0.trace(tracer), tracked: T;
    [T: Trace] core::ops::Range<T> => |r, tracer| {
        r.start.trace(tracer);
        r.end.trace(tracer);
    }, tracked: T;
    [T: Trace] core::ops::RangeInclusive<T> => |r, tracer| {
        r.start().trace(tracer);
        r.end().trace(tracer);
    }, tracked: T;
    [T: Trace] core::ops::Bound<T> => |b, tracer| match b {
        core::ops::Bound::Included(x) | core::ops::Bound::Excluded(x) => x.trace(tracer),
        core::ops::Bound::Unbounded => {}
    }, tracked: T;
}

// --- core::marker, core::mem, references -----------------------------------

shared! {
    trusted;
    /// `PhantomData` owns nothing.
    [T: ?Sized] core::marker::PhantomData<T>,
    /// A shared reference does not own its target.
    ['a, T: ?Sized] &'a T,
}

// --- Option, Result, tuples, arrays, slices ---------------------------------

wrapper! {
    trusted;
    [T: Trace] core::mem::ManuallyDrop<T> => |x, tracer| (**x).trace(tracer), tracked: T;
    [T: Trace] Option<T> => |o, tracer| {
        if let Some(x) = o {
            x.trace(tracer);
        }
    }, tracked: T;
    [T: Trace, E: Trace] Result<T, E> => |r, tracer| match r {
        Ok(x) => x.trace(tracer),
        Err(e) => e.trace(tracer),
    }, tracked: T | E;
}

macro_rules! tuple {
    ($($name:ident . $idx:tt),+) => {
        wrapper! {
            trusted;
            [$($name: Trace),+] ($($name,)+) => |x, tracer| {
                $(x.$idx.trace(tracer);)+
            }, tracked: $($name)|+;
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
    fn __gc_tracked_dyn(&self) -> bool {
        is_tracked_type::<T>()
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

wrapper! {
    trusted;
    /// As for `Box<T>`.
    [T: Trace] core::pin::Pin<Box<T>> => |b, tracer| {
        let owned = tracer.owns(b);
        tracer.trace_vouched(owned, b.as_ref().get_ref());
    }, tracked: T;
}

leaf! {
    trusted;
    [] String,
    [] std::ffi::OsString,
    [] std::ffi::CString,
    [] std::path::PathBuf,
}

unsized_leaf!(std::ffi::OsStr, std::ffi::CStr, std::path::Path);

wrapper! {
    trusted;
    [B] std::borrow::Cow<'_, B> where [B: ToOwned + ?Sized, B::Owned: Trace] => |c, tracer| {
        if let std::borrow::Cow::Owned(x) = c {
            x.trace(tracer);
        }
    }, tracked: B::Owned;
    /// The buffer is vouched for as owned when the `Vec` itself lies in owned
    /// memory.
    [T: Trace] Vec<T> => |v, tracer| tracer.trace_buffer(v, v.as_slice()), tracked: T;
    /// As for `Vec<T>`, for both halves of the ring buffer.
    [T: Trace] std::collections::VecDeque<T> => |v, tracer| {
        let (front, back) = v.as_slices();
        tracer.trace_buffer(v, front);
        tracer.trace_buffer(v, back);
    }, tracked: T;
    /// As for `Vec<T>`.
    [T: Trace] std::collections::BinaryHeap<T> =>
        |h, tracer| tracer.trace_buffer(h, h.as_slice()), tracked: T;
}

per_element! {
    trusted;
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
    trusted;
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

/// The values a traced `Cell` may hold: `Copy` ones, which can never hold a
/// `Gc` (`Gc` is not `Copy`). A bound of its own so that a `Cell` of a
/// non-`Copy` value gets an error that says what to use instead.
#[diagnostic::on_unimplemented(
    message = "a `Cell<{Self}>` cannot be traced: `{Self}` is not `Copy`",
    label = "not `Copy`, so it may hold a `Gc` that a `Cell` cannot report",
    note = "use `RefCell<{Self}>` for a value that holds a `Gc`: its `Trace` impl reports what is inside"
)]
pub trait CellValue: Copy {}

#[diagnostic::do_not_recommend]
impl<T: Copy> CellValue for T {}

leaf! {
    trusted;
    /// A `Copy` value can never hold a `Gc` (`Gc` is not `Copy`), so nothing is
    /// read.
    [T: CellValue] core::cell::Cell<T>,
}

wrapper! {
    trusted;
    /// A mutably borrowed `RefCell` is not read: its owner is kept alive for that
    /// collection (see [`Tracer::mark_unreadable`]). Otherwise the shared borrow
    /// is held until the collector has traced every object it examines, so
    /// nothing reported from inside can move meanwhile.
    [T: Trace] core::cell::RefCell<T> => |c, tracer| match c.try_borrow() {
        Ok(guard) => tracer.trace_borrowed(guard),
        Err(_) => tracer.mark_unreadable(),
    }, tracked: T;
    /// Write-once: a set value is never handed back through `&self`.
    [T: Trace] core::cell::OnceCell<T> => |c, tracer| {
        if let Some(x) = c.get() {
            x.trace(tracer);
        }
    }, tracked: T;
    /// Write-once, as `OnceCell`.
    [T: Trace] std::sync::OnceLock<T> => |c, tracer| {
        if let Some(x) = c.get() {
            x.trace(tracer);
        }
    }, tracked: T;
}

/// `Trace` for a lock taken with `$try_lock` (not inlined): held as a
/// `RefCell`'s borrow is, read when poisoned, not read when taken elsewhere.
macro_rules! lock {
    ($($(#[$m:meta])* $lock:ident => $try_lock:ident;)*) => {$(
        trace_impl! {
            trusted $(#[$m])* [T: Trace] std::sync::$lock<T> => |l, tracer| match l.$try_lock() {
                Ok(guard) => tracer.trace_locked(guard),
                Err(std::sync::TryLockError::Poisoned(p)) => tracer.trace_locked(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => tracer.mark_unreadable(),
            }, tracked: T
        }
    )*};
}

lock! {
    /// A `Mutex` locked elsewhere is not read: its owner is kept alive for that
    /// collection. A poisoned one is read. The lock is held as a `RefCell`'s
    /// borrow is.
    Mutex => try_lock;
    /// A write-locked `RwLock` is not read: its owner is kept alive for that
    /// collection. A poisoned one is read. The read lock is held as a
    /// `RefCell`'s borrow is.
    RwLock => try_read;
}

// --- std::sync::atomic, std::time, std::net, misc ---------------------------

leaf! {
    trusted;
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
