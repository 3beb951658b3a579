//! Heap introspection: "why is this still alive?", answered in one call.
//!
//! Python users reach for `gc.get_objects()`, `gc.get_referrers()`,
//! `gc.set_debug(gc.DEBUG_SAVEALL)` and objgraph's pictures when memory
//! grows. This module offers the same on this thread's heap:
//!
//! | Python | here |
//! |---|---|
//! | `gc.get_objects(generation)` | [`objects`], [`objects_of`] |
//! | objgraph's `show_most_common_types`, `show_growth` | [`census`], [`growth`] |
//! | `gc.get_referents(obj)`, `gc.get_referrers(obj)` | [`referents`], [`referrers`] |
//! | objgraph's `find_backref_chain` | [`path_to`] |
//! | objgraph's `show_refs`, `show_backrefs` | [`dot_heap`], [`dot_from`], [`dot_to`] |
//! | `gc.set_debug`, `gc.get_debug` | [`set_debug`], [`debug_flags`] |
//! | `gc.garbage` under `DEBUG_SAVEALL` | [`garbage`], [`release_garbage`] |
//!
//! Objects are named by an [`ObjectId`] (the address of the object's block,
//! stable while it lives) and their type name (`std::any::type_name`).
//!
//! Nothing here costs anything until it is called: no per-object memory, no
//! work on allocation, drop or collection (beyond one flag test per
//! collection). The scans trace every tracked object, so they take time
//! proportional to the heap: they are debugging tools.
//!
//! # Examples
//!
//! ```
//! use gc_core::{debug, Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace)]
//! struct Node(RefCell<Option<Gc<Node>>>);
//!
//! let root = Gc::new(Node(RefCell::new(None)));
//! let leaf = Gc::new(Node(RefCell::new(None)));
//! *root.0.borrow_mut() = Some(leaf.clone());
//! drop(leaf.clone());
//!
//! // Who refers to `leaf`?
//! let who = debug::referrers(&leaf);
//! assert_eq!(who.len(), 1);
//! assert_eq!(who[0].id, debug::ObjectId::of(&root));
//!
//! // And what keeps it alive? (Here: a local handle to `leaf` itself.)
//! let path = debug::path_to(&leaf).unwrap();
//! assert_eq!(path.last().unwrap().id, debug::ObjectId::of(&leaf));
//! ```

use core::fmt;
use std::panic::{self, AssertUnwindSafe};

use crate::Gc;
use crate::collector::heap::{Heap, with_heap};
use crate::collector::release;
use crate::gc::inc_strong_of;
use crate::gc_box::HeadPtr;
use crate::trace::{Mode, Tracer};

mod census;
mod dot;
mod garbage;
mod graph;

pub use crate::collector::DebugFlags;
pub use census::{CensusEntry, Growth, census, growth, objects, objects_of};
pub use dot::{dot_from, dot_heap, dot_to, short_type_name};
pub use garbage::{Garbage, garbage, rejected_edges, release_garbage};
pub use graph::{path_to, referents, referrers};

/// Identifies an object: the address of its block, stable while it lives
/// (a later object may reuse it).
///
/// # Examples
///
/// ```
/// use gc_core::{debug::ObjectId, Gc};
///
/// let a = Gc::new(1);
/// let b = a.clone();
/// assert_eq!(ObjectId::of(&a), ObjectId::of(&b));
/// assert_ne!(ObjectId::of(&a), ObjectId::of(&Gc::new(1)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(usize);

impl ObjectId {
    /// The id of `gc`'s object.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{debug::ObjectId, Gc};
    /// let a = Gc::new(String::from("x"));
    /// assert_eq!(ObjectId::of(&a), ObjectId::of(&a.clone()));
    /// ```
    #[must_use]
    pub fn of<T: ?Sized>(gc: &Gc<T>) -> ObjectId {
        ObjectId(Gc::box_addr(gc))
    }

    /// The id as a number (the block's address).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{debug::ObjectId, Gc};
    /// assert_ne!(ObjectId::of(&Gc::new(1)).as_usize(), 0);
    /// ```
    #[must_use]
    pub fn as_usize(self) -> usize {
        self.0
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:x}", self.0)
    }
}

impl fmt::Display for ObjectId {
    /// Formats as `#` and the address in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:x}", self.0)
    }
}

/// One object, as the scans report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Its id.
    pub id: ObjectId,
    /// `std::any::type_name` of its value.
    pub type_name: &'static str,
    /// Its strong count when it was scanned.
    pub strong_count: usize,
    /// Whether the cycle collector tracks it.
    pub tracked: bool,
}

impl ObjectInfo {
    /// The head-ful object `obj`, as it is now.
    fn of_obj(obj: HeadPtr) -> Self {
        ObjectInfo {
            id: ObjectId(obj.box_addr()),
            type_name: obj.type_name(),
            strong_count: obj.strong_count() as usize,
            tracked: true,
        }
    }

    /// The edges `tracer` recorded in `Mode::Inspect`, in the order they
    /// were reported.
    fn recorded(tracer: &mut Tracer<'_>) -> Vec<ObjectInfo> {
        core::mem::take(&mut tracer.edges)
            .into_iter()
            .map(|e| ObjectInfo {
                id: ObjectId(e.addr),
                type_name: e.type_name,
                strong_count: e.strong as usize,
                tracked: e.tracked,
            })
            .collect()
    }
}

/// Which tracked objects a scan looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Generations 0, 1 and 2 (not the frozen objects), as Python's
    /// `gc.get_objects()`.
    All,
    /// One generation, 0, 1 or 2.
    Generation(usize),
    /// The permanent generation of [`freeze`](crate::freeze).
    Frozen,
}

impl Scope {
    fn lists(self) -> core::ops::Range<u32> {
        match self {
            Scope::All => 0..3,
            Scope::Generation(g) => {
                assert!(
                    g <= 2,
                    "gc_core::debug: generation must be 0, 1 or 2, got {g}"
                );
                #[expect(clippy::cast_possible_truncation, reason = "checked above")]
                let g = g as u32;
                g..g + 1
            }
            Scope::Frozen => 3..4,
        }
    }
}

/// Holds one strong count on each object of a snapshot, so that user code
/// run by a scan (`trace`) cannot free them under it.
struct Pinned(Vec<HeadPtr>);

impl Pinned {
    /// # Panics
    ///
    /// Panics if an object already has the most strong counts it can have;
    /// the counts taken before are given back.
    fn new(h: &Heap, lists: core::ops::Range<u32>) -> Pinned {
        let mut objs = Vec::new();
        for l in lists {
            objs.extend(h.objects_in(l));
        }
        let mut pinned = Pinned(Vec::with_capacity(objs.len()));
        for obj in objs {
            inc_strong_of(obj);
            pinned.0.push(obj);
        }
        pinned
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        for &obj in &self.0 {
            // SAFETY: `Pinned::new` took one strong count on each object
            // (I7), given back once, here.
            unsafe { release::release_held(obj) };
        }
    }
}

/// What tracing one object reported.
#[derive(Default)]
struct Edges {
    /// Every strong edge, to tracked and untracked objects, in trace order.
    to: Vec<ObjectInfo>,
    unreadable: bool,
}

impl Edges {
    /// The edges to head-ful objects (the ones the collector can track).
    fn tracked(&self) -> impl Iterator<Item = &ObjectInfo> {
        self.to.iter().filter(|e| e.tracked)
    }

    /// The edges to head-less (untracked) objects.
    fn untracked(&self) -> impl Iterator<Item = &ObjectInfo> {
        self.to.iter().filter(|e| !e.tracked)
    }
}

/// Traces `obj` in `Collect` mode. Detached objects (their value may be
/// exclusively borrowed) and panicking traces report nothing.
///
/// # Safety
///
/// - `obj` is an object of a live [`Pinned`] snapshot: taken from a
///   generation list (I4) and holding the snapshot's count (I7), so it is
///   allocated and its value initialised (I2) while the snapshot lives.
unsafe fn edges_of(obj: HeadPtr) -> Edges {
    if obj.counts().is_detached() {
        return Edges {
            unreadable: true,
            ..Edges::default()
        };
    }
    let mut tracer = Tracer::new(Mode::Inspect, u32::MAX);
    tracer.current = Some(obj);
    // SAFETY: the snapshot's count keeps the object allocated and its value
    // from being dropped until the tracer is gone (this fn's Safety: I7, I1,
    // I2); it is not detached (checked above, I5).
    let r = panic::catch_unwind(AssertUnwindSafe(|| unsafe { obj.trace(&mut tracer) }));
    Edges {
        to: ObjectInfo::recorded(&mut tracer),
        unreadable: tracer.unreadable || r.is_err(),
    }
}

/// Sets this thread's debug flags (Python's `gc.set_debug`).
///
/// # Examples
///
/// ```
/// use gc_core::debug::{self, DebugFlags};
///
/// debug::set_debug(DebugFlags::STATS);
/// gc_core::collect(); // prints "gc: collecting generation 2..." etc. to stderr
/// debug::set_debug(DebugFlags::empty());
/// ```
pub fn set_debug(flags: DebugFlags) {
    with_heap(|h| flags.set_on(h));
}

/// This thread's debug flags (Python's `gc.get_debug`).
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::debug::debug_flags(), gc_core::debug::DebugFlags::empty());
/// ```
#[must_use]
pub fn debug_flags() -> DebugFlags {
    with_heap(DebugFlags::of)
}

#[cfg(test)]
mod tests;
