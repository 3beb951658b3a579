//! [`List`]: a vector of objects owned by the thread's heap, with a closed
//! set of operations.
//!
//! # Safety
//!
//! **L1 (the `List` argument)**: a `List` lives in the thread-local heap, so
//! only its thread reaches it (`Heap` is not `Sync`). Each operation below
//! borrows the vector mutably for its own duration only, takes no callback,
//! runs no user code while it does (it calls nothing but `Vec`'s methods and
//! the `HeadPtr` head getters and setters, which run no user code either)
//! and hands out no reference into the vector. So no two borrows of the
//! vector ever overlap, whoever calls what. (What the objects in each list
//! are is the heap's business: invariants I4 and I8.)

use core::cell::UnsafeCell;
use core::mem::ManuallyDrop;

use crate::gc_box::HeadPtr;
use crate::header::{Flag, Loc};

/// A vector of objects that only the owning thread touches, never while user
/// code runs. Without drop glue (the heap has none): its owner frees the
/// buffer with [`List::take`].
pub(crate) struct List(ManuallyDrop<UnsafeCell<Vec<HeadPtr>>>);

impl List {
    pub(crate) const fn new() -> Self {
        List(ManuallyDrop::new(UnsafeCell::new(Vec::new())))
    }

    /// The one place the vector is borrowed; private, so every borrow is one
    /// of the operations below (see the module's *Safety*, L1).
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut Vec<HeadPtr>) -> R) -> R {
        // SAFETY: L1: thread-local, and each operation's closure runs no user
        // code and does not re-enter, so this is the only reference to the
        // vector while it lives.
        f(unsafe { &mut *self.0.get() })
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.with(|v| v.len())
    }

    /// The whole vector, leaving the list empty (and without a buffer).
    pub(crate) fn take(&self) -> Vec<HeadPtr> {
        self.with(core::mem::take)
    }

    pub(crate) fn pop(&self) -> Option<HeadPtr> {
        self.with(Vec::pop)
    }

    /// Puts `rest` in front of what the list holds now (entries pushed
    /// since it was taken stay after them).
    pub(crate) fn put_back(&self, mut rest: Vec<HeadPtr>) {
        self.with(|v| {
            rest.extend_from_slice(v);
            core::mem::swap(v, &mut rest);
        });
    }

    pub(crate) fn to_vec(&self) -> Vec<HeadPtr> {
        self.with(|v| v.clone())
    }

    pub(crate) fn push(&self, obj: HeadPtr) {
        self.with(|v| v.push(obj));
    }

    /// Pushes `obj` and sets its index to its position, growing the buffer
    /// if needed.
    ///
    /// # Panics
    ///
    /// Panics if the list already holds `u32::MAX` objects.
    pub(crate) fn push_indexed(&self, obj: HeadPtr) {
        self.with(|v| {
            assert!(
                v.len() < u32::MAX as usize,
                "Gc: more than u32::MAX tracked objects in one generation"
            );
            if v.len() == v.capacity() {
                v.reserve(v.len().max(64));
            }
            obj.set_index(v.len());
            v.push(obj);
        });
    }

    /// [`List::push_indexed`] when the buffer has room; `false`, doing
    /// nothing, when it would have to grow.
    #[inline]
    pub(crate) fn try_push_indexed(&self, obj: HeadPtr) -> bool {
        self.with(|v| {
            if v.len() == v.capacity() {
                return false;
            }
            obj.set_index(v.len());
            v.push(obj);
            true
        })
    }

    /// Removes the object at `idx` (which must be `obj`), moving the last
    /// one into its place and fixing that one's index.
    #[inline]
    pub(crate) fn swap_remove_indexed(&self, obj: HeadPtr, idx: usize) {
        self.with(|v| {
            debug_assert_eq!(v[idx], obj, "invariant I4");
            let last = v.pop().expect("a listed object is in its list");
            if idx < v.len() {
                v[idx] = last;
                last.set_index(idx);
            }
        });
    }

    /// Appends `objs` (only the `INLINE` ones when `inline_only`: typed slab
    /// objects of generation 2 and the permanent one are in no vector, I4),
    /// setting the location of every one of them to `loc`, marking each
    /// `WATCHED` (its next decrement makes it a candidate, I10) and setting
    /// the index of each appended one; returns how many were not appended.
    pub(crate) fn append_located(&self, objs: &[HeadPtr], loc: Loc, inline_only: bool) -> usize {
        self.with(|v| {
            let mut skipped = 0;
            v.reserve(objs.len());
            for &obj in objs {
                obj.set_loc(loc);
                obj.counts().set_watched(true);
                if !inline_only || obj.has(Flag::Inline) {
                    obj.set_index(v.len());
                    v.push(obj);
                } else {
                    skipped += 1;
                }
            }
            skipped
        })
    }

    /// Removes the objects with `flag` set, keeping the order of the rest
    /// and fixing the index of each one that moved (invariant I4); returns
    /// the removed ones, their locations left for the caller to set.
    pub(crate) fn extract_flagged(&self, flag: Flag) -> Vec<HeadPtr> {
        self.with(|v| {
            let mut out = Vec::new();
            let mut keep = 0;
            for i in 0..v.len() {
                let obj = v[i];
                if obj.has(flag) {
                    out.push(obj);
                } else {
                    if keep != i {
                        v[keep] = obj;
                        obj.set_index(keep);
                    }
                    keep += 1;
                }
            }
            v.truncate(keep);
            out
        })
    }

    /// Takes `buf`'s buffer for this list when it is larger, keeping the
    /// list's contents in the same order (so the indices stay right,
    /// invariant I4). `buf` must be empty.
    pub(crate) fn adopt_buffer(&self, mut buf: Vec<HeadPtr>) {
        debug_assert!(buf.is_empty());
        self.with(|v| {
            if buf.capacity() > v.capacity() {
                buf.extend_from_slice(v);
                core::mem::swap(v, &mut buf);
            }
        });
    }
}
