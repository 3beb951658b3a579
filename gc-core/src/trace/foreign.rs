//! `Trace` for other crates' containers, each behind a cargo feature of the
//! same name (all off by default):
//!
//! | feature | types | how they are traced |
//! |---|---|---|
//! | `hashbrown` | `HashMap<K, V, S>`, `HashSet<T, S>`, `HashTable<T>` | per element, as std's `HashMap` |
//! | `indexmap` | `IndexMap<K, V, S>`, `IndexSet<T, S>`, `map::Slice<K, V>`, `set::Slice<T>` | the entries' buffer, which the map owns alone |
//! | `smallvec` | `SmallVec<A>` | inline: the elements lie in its own bytes; spilled: its heap buffer, owned alone |
//! | `arrayvec` | `ArrayVec<T, CAP>`; `ArrayString<CAP>` (leaf) | the elements lie in its own bytes |
//! | `thin-vec` | `ThinVec<T>` | its heap buffer, owned alone, as `Vec` |
//! | `slotmap` | `SlotMap`, `DenseSlotMap`, `HopSlotMap`, `SecondaryMap`, `SparseSecondaryMap`; `KeyData`, `DefaultKey` (leaves) | per value (keys are `Copy`, so they never hold a `Gc`) |
//! | `either` | `Either<L, R>` | inline, as `Result` |
//! | `imbl` | `GenericVector`, `GenericHashMap`, `GenericHashSet`, `GenericOrdMap`, `GenericOrdSet` (and so `Vector`, `HashMap`, `HashSet`, `OrdMap`, `OrdSet`) | **not traced**, as `Rc` |
//! | `rpds` | `List`, `Vector`, `Stack`, `Queue`, `HashTrieMap`, `HashTrieSet`, `RedBlackTreeMap`, `RedBlackTreeSet` (and their `…Sync` forms) | **not traced**, as `Rc` |
//!
//! Each impl vouches for a buffer only when the container lies in memory
//! the traced value owns and owns that buffer alone, as the std impls do; a
//! container is tracked exactly when its elements' type may hold a `Gc`.
//!
//! The persistent collections of `imbl` and `rpds` share their nodes between
//! versions (a clone is cheap because it shares them, as an `Rc` does), so
//! no value owns them alone: like `Rc`, they report nothing and are
//! untracked. A `Gc` inside one counts as referenced from outside: a cycle
//! through it leaks (it is never freed early). Break such cycles by hand, or
//! use one of the owned containers above.

// The macros are `impls.rs`'s. No impl here answers `__gc_trusted`: each
// keeps the default (`None`, always safe), hence `untrusted`.

// Not every feature uses it.
#![allow(unused_macros, reason = "used only by some features")]

/// `per_element!` for maps whose iterator yields `(&K, &V)` pairs: the key
/// and the value are each vouched for.
macro_rules! per_entry {
    (
        $trust:ident;
        $($(#[$m:meta])* [$($g:tt)*] $t:ty => |$x:ident| $iter:expr, tracked: $($e:ty)|+;)*
    ) => {$(
        $crate::trace::impls::per_element! {
            @each ((k, v)) [k, v] $trust $(#[$m])* [$($g)*] $t => |$x| $iter, tracked: $($e)|+
        }
    )*};
}

// --- hashbrown ---------------------------------------------------------------

#[cfg(feature = "hashbrown")]
mod hashbrown_impls {
    use crate::trace::Trace;
    use crate::trace::impls::per_element;

    per_element! {
        untrusted;
        /// Each element is vouched for as owned (the table is the set's
        /// alone) when the set lies in owned memory. With the `hashbrown`
        /// feature.
        [T: Trace, S] hashbrown::HashSet<T, S> => |s| s.iter(), tracked: T;
        /// As for `HashSet`. With the `hashbrown` feature.
        [T: Trace] hashbrown::HashTable<T> => |t| t.iter(), tracked: T;
    }

    per_entry! {
        untrusted;
        /// Each key and value is vouched for as owned (the table is the
        /// map's alone) when the map lies in owned memory. With the
        /// `hashbrown` feature.
        [K: Trace, V: Trace, S] hashbrown::HashMap<K, V, S> => |m| m.iter(), tracked: K | V;
    }
}

// --- indexmap ----------------------------------------------------------------

#[cfg(feature = "indexmap")]
mod indexmap_impls {
    use crate::trace::Trace;
    use crate::trace::impls::wrapper;

    wrapper! {
        untrusted;
        /// The entries (one buffer, owned by the map alone) are vouched for as
        /// owned when the map lies in owned memory. With the `indexmap` feature.
        [K: Trace, V: Trace, S] indexmap::IndexMap<K, V, S> => |m, tracer| {
            let owned = tracer.owns(m);
            tracer.trace_vouched(owned, m.as_slice());
        }, tracked: K | V;
        /// As for `IndexMap`. With the `indexmap` feature.
        [T: Trace, S] indexmap::IndexSet<T, S> => |s, tracer| {
            let owned = tracer.owns(s);
            tracer.trace_vouched(owned, s.as_slice());
        }, tracked: T;
        /// As for a slice `[T]`: its entries count where the slice lies in owned
        /// memory (inside an `IndexMap`, a `Box`). With the `indexmap` feature.
        [K: Trace, V: Trace] indexmap::map::Slice<K, V> => |s, tracer| {
            for (k, v) in s {
                k.trace(tracer);
                v.trace(tracer);
            }
        };
        /// As for a slice `[T]`. With the `indexmap` feature.
        [T: Trace] indexmap::set::Slice<T> => |s, tracer| {
            for x in s {
                x.trace(tracer);
            }
        };
    }
}

// --- smallvec ----------------------------------------------------------------

#[cfg(feature = "smallvec")]
mod smallvec_impls {
    use crate::trace::Trace;
    use crate::trace::impls::wrapper;

    wrapper! {
        untrusted;
        /// Inline, the elements lie in the `SmallVec`'s own bytes; spilled, its
        /// heap buffer (owned alone) is vouched for as owned when the `SmallVec`
        /// lies in owned memory, as a `Vec`'s. With the `smallvec` feature.
        [A: smallvec::Array] smallvec::SmallVec<A> where [A::Item: Trace] => |v, tracer| {
            if v.spilled() {
                tracer.trace_buffer(v, v.as_slice());
            } else {
                for x in v.as_slice() {
                    x.trace(tracer);
                }
            }
        }, tracked: A::Item;
    }
}

// --- arrayvec ----------------------------------------------------------------

#[cfg(feature = "arrayvec")]
mod arrayvec_impls {
    use crate::trace::impls::leaf;
    use crate::trace::{Trace, Tracer};

    /// The elements lie in the `ArrayVec`'s own bytes, as an array's. With
    /// the `arrayvec` feature.
    impl<T: Trace, const CAP: usize> Trace for arrayvec::ArrayVec<T, CAP> {
        #[inline]
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
            for x in self.as_slice() {
                x.trace(tracer);
            }
        }
        #[inline]
        fn __gc_tracked(budget: &mut u32) -> bool {
            CAP != 0 && T::__gc_tracked(budget)
        }
    }

    leaf! {
        untrusted;
        /// Text: never holds a `Gc`. With the `arrayvec` feature.
        [const CAP: usize] arrayvec::ArrayString<CAP>,
    }
}

// --- thin-vec ----------------------------------------------------------------

#[cfg(feature = "thin-vec")]
mod thin_vec_impls {
    use crate::trace::Trace;
    use crate::trace::impls::wrapper;

    wrapper! {
        untrusted;
        /// The heap buffer (header and elements, owned alone) is vouched for as
        /// owned when the `ThinVec` lies in owned memory, as a `Vec`'s. With the
        /// `thin-vec` feature.
        [T: Trace] thin_vec::ThinVec<T> =>
            |v, tracer| tracer.trace_buffer(v, v.as_slice()), tracked: T;
    }
}

// --- slotmap -----------------------------------------------------------------

#[cfg(feature = "slotmap")]
mod slotmap_impls {
    use slotmap::Key;

    use crate::trace::Trace;
    use crate::trace::impls::{leaf, per_element};

    // Keys are `Copy`, and a `Gc` is not, so a key never holds one: only the
    // values are traced, and `K` needs no `Trace` bound.
    per_element! {
        untrusted;
        /// Each value is vouched for as owned (the slots are the map's alone)
        /// when the map lies in owned memory. With the `slotmap` feature.
        [K: Key, V: Trace] slotmap::SlotMap<K, V> => |m| m.values(), tracked: V;
        /// As for `SlotMap`. With the `slotmap` feature.
        [K: Key, V: Trace] slotmap::DenseSlotMap<K, V> => |m| m.values(), tracked: V;
        /// As for `SlotMap`. With the `slotmap` feature.
        #[expect(deprecated, reason = "`HopSlotMap` is deprecated, not gone: its users still need `Trace`")]
        [K: Key, V: Trace] slotmap::HopSlotMap<K, V> => |m| m.values(), tracked: V;
        /// As for `SlotMap`. With the `slotmap` feature.
        [K: Key, V: Trace] slotmap::SecondaryMap<K, V> => |m| m.values(), tracked: V;
        /// As for `SlotMap`. With the `slotmap` feature.
        [K: Key, V: Trace, S: core::hash::BuildHasher] slotmap::SparseSecondaryMap<K, V, S> =>
            |m| m.values(), tracked: V;
    }

    leaf! {
        untrusted;
        /// A key: never holds a `Gc`. With the `slotmap` feature.
        [] slotmap::KeyData,
        /// A key: never holds a `Gc`. With the `slotmap` feature.
        [] slotmap::DefaultKey,
    }
}

// --- either ------------------------------------------------------------------

#[cfg(feature = "either")]
mod either_impls {
    use crate::trace::Trace;
    use crate::trace::impls::wrapper;

    wrapper! {
        untrusted;
        /// Inline, as `Result`. With the `either` feature.
        [L: Trace, R: Trace] either::Either<L, R> => |e, tracer| match e {
            either::Either::Left(l) => l.trace(tracer),
            either::Either::Right(r) => r.trace(tracer),
        }, tracked: L | R;
    }
}

// --- imbl: persistent, shared between versions --------------------------------

// The nodes of these collections are shared between versions: a clone, or a
// version derived from another, shares them through reference-counted
// pointers, as an `Rc` shares its value. No value owns them alone, so they
// are treated exactly as `Rc` is (`shared!`): nothing is reported, and they
// are untracked. A `Gc` inside one counts as referenced from outside: a cycle
// through it leaks (until broken by hand), and nothing is ever freed early.
#[cfg(feature = "imbl")]
mod imbl_impls {
    use imbl::shared_ptr::SharedPointerKind;

    use crate::trace::impls::shared;

    shared! {
        untrusted;
        /// Nodes shared between versions, as an `Rc`'s value: not traced, so
        /// a `Gc` inside counts as referenced from outside (a cycle through
        /// it leaks). With the `imbl` feature.
        [A, P: SharedPointerKind] imbl::GenericVector<A, P>,
        /// Shared as `GenericVector`: not traced. With the `imbl` feature.
        [K, V, S, P: SharedPointerKind] imbl::GenericHashMap<K, V, S, P>,
        /// Shared as `GenericVector`: not traced. With the `imbl` feature.
        [A, S, P: SharedPointerKind] imbl::GenericHashSet<A, S, P>,
        /// Shared as `GenericVector`: not traced. With the `imbl` feature.
        [K, V, P: SharedPointerKind] imbl::GenericOrdMap<K, V, P>,
        /// Shared as `GenericVector`: not traced. With the `imbl` feature.
        [A, P: SharedPointerKind] imbl::GenericOrdSet<A, P>,
    }
}

// --- rpds: persistent, shared between versions --------------------------------

// Shared between versions as `imbl`'s collections are, and for the same
// reason treated as `Rc` is: not traced, untracked, cycles through them leak.
#[cfg(feature = "rpds")]
mod rpds_impls {
    use archery::SharedPointerKind;
    use core::hash::{BuildHasher, Hash};

    use crate::trace::impls::shared;

    shared! {
        untrusted;
        /// Nodes shared between versions, as an `Rc`'s value: not traced, so
        /// a `Gc` inside counts as referenced from outside (a cycle through
        /// it leaks). With the `rpds` feature.
        [T, P: SharedPointerKind] rpds::List<T, P>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [T, P: SharedPointerKind] rpds::Vector<T, P>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [T, P: SharedPointerKind] rpds::Stack<T, P>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [T, P: SharedPointerKind] rpds::Queue<T, P>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [K, V, P: SharedPointerKind, H: BuildHasher] rpds::HashTrieMap<K, V, P, H>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [T: Eq + Hash, P: SharedPointerKind, H: BuildHasher + Clone] rpds::HashTrieSet<T, P, H>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [K, V, P: SharedPointerKind] rpds::RedBlackTreeMap<K, V, P>,
        /// Shared as `List`: not traced. With the `rpds` feature.
        [T: Ord, P: SharedPointerKind] rpds::RedBlackTreeSet<T, P>,
    }
}
