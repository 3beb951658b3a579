//! Who refers to whom: the strong edges of one object, the objects that
//! refer to one (Python's `gc.get_referents`, `gc.get_referrers`), and the
//! shortest chain from a root (objgraph's `find_backref_chain`), over a
//! pinned graph of the tracked heap that the DOT pictures also draw.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};

use super::{Edges, ObjectId, ObjectInfo, Pinned, edges_of};
use crate::collector::heap::{Heap, with_heap};
use crate::trace::{Mode, Tracer};
use crate::{Gc, Trace};

/// The objects `gc`'s value refers to with strong edges (Python's
/// `gc.get_referents`): the tracked ones, then the untracked ones, each in
/// trace order. A dead handle has none.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
///
/// let a = Gc::new(1);
/// let pair = Gc::new((a.clone(), Some(a.clone())));
/// let r = debug::referents(&pair);
/// assert_eq!(r.len(), 2);
/// assert!(r.iter().all(|o| o.id == debug::ObjectId::of(&a) && !o.tracked));
/// ```
#[must_use]
pub fn referents<T: Trace + ?Sized>(gc: &Gc<T>) -> Vec<ObjectInfo> {
    let Some(value) = Gc::try_deref(gc) else {
        return Vec::new();
    };
    let mut tracer = Tracer::new(Mode::Inspect, u32::MAX);
    // A panicking trace reports what it reported before the panic.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| value.trace(&mut tracer)));
    let mut out = ObjectInfo::recorded(&mut tracer);
    // A stable sort: the order within each group stays the trace order.
    out.sort_by_key(|o| !o.tracked);
    out
}

/// The tracked objects (generations 0–2, not frozen ones) whose value holds a
/// strong edge to `gc`'s object (Python's `gc.get_referrers`).
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^28 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let x = Gc::new(5);
/// let holder = Gc::new(RefCell::new(vec![x.clone()]));
/// let who = debug::referrers(&x);
/// assert_eq!(who.iter().map(|o| o.id).collect::<Vec<_>>(), [debug::ObjectId::of(&holder)]);
/// ```
#[must_use]
pub fn referrers<T: ?Sized>(gc: &Gc<T>) -> Vec<ObjectInfo> {
    let target = ObjectId::of(gc).0;
    with_heap(|h| {
        let pinned = Pinned::new(h, 0..3);
        let mut out = Vec::new();
        for &obj in &pinned.0 {
            // SAFETY: an object of the live snapshot `pinned` (I4, I7).
            let e = unsafe { edges_of(obj) };
            if e.to.iter().any(|t| t.id.0 == target) {
                let mut info = ObjectInfo::of_obj(obj);
                info.strong_count -= 1; // not counting the scan's own count
                out.push(info);
            }
        }
        out
    })
}

/// The graph of the tracked heap (generations 0–2), pinned while it lives.
pub(super) struct Graph {
    /// The nodes.
    pub(super) pinned: Pinned,
    /// A node's position in `pinned`, by box address.
    pub(super) index: HashMap<usize, usize>,
    /// What each node's trace reported.
    pub(super) edges: Vec<Edges>,
    /// Objects with references from outside the graph (or unreadable).
    pub(super) roots: Vec<bool>,
}

impl Graph {
    /// Builds the graph. `ignore` is the box address of a handle the caller
    /// holds outside the heap, which is not counted as a reason for its
    /// object to be alive; neither are the counts held by the garbage that
    /// [`DebugFlags::SAVE_ALL`] kept.
    ///
    /// [`DebugFlags::SAVE_ALL`]: super::DebugFlags::SAVE_ALL
    pub(super) fn build(h: &Heap, ignore: Option<usize>) -> Graph {
        let pinned = Pinned::new(h, 0..3);
        let index: HashMap<usize, usize> = pinned
            .0
            .iter()
            .enumerate()
            .map(|(i, o)| (o.box_addr(), i))
            .collect();
        let edges: Vec<Edges> = pinned
            .0
            .iter()
            // SAFETY: objects of the live snapshot `pinned` (I4, I7).
            .map(|&o| unsafe { edges_of(o) })
            .collect();
        // Trial deletion: what the graph's own edges do not explain comes
        // from outside (minus the scan's own count).
        let mut refs: Vec<i64> = pinned
            .0
            .iter()
            .map(|o| i64::from(o.strong_count()) - 1)
            .collect();
        let saved = h.saved.to_vec();
        let not_reasons = edges
            .iter()
            .flat_map(|e| e.tracked().map(|t| t.id.0))
            .chain(saved.iter().map(|o| o.box_addr()))
            .chain(ignore);
        for addr in not_reasons {
            if let Some(&j) = index.get(&addr) {
                refs[j] -= 1;
            }
        }
        let roots = refs
            .iter()
            .zip(&edges)
            .map(|(&r, e)| r > 0 || e.unreadable)
            .collect();
        Graph {
            pinned,
            index,
            edges,
            roots,
        }
    }

    /// Node `i`, not counting the scan's own count.
    pub(super) fn info(&self, i: usize) -> ObjectInfo {
        let mut info = ObjectInfo::of_obj(self.pinned.0[i]);
        info.strong_count -= 1;
        info
    }

    /// The nodes node `i` has edges to.
    pub(super) fn successors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges[i]
            .tracked()
            .filter_map(|t| self.index.get(&t.id.0).copied())
    }
}

/// The shortest chain of strong references from an object referenced from
/// outside the tracked heap (a local variable, a `static`, an untracked or
/// frozen value, a borrowed cell...) to `gc`'s object: the answer to "what
/// keeps this alive?". The chain starts at that root and ends at `gc`.
///
/// The handle you pass is taken to be one you hold outside the heap (a
/// local variable) and is not counted as a reason: the question is what
/// *else* keeps the object alive. If something outside the heap refers to the
/// object directly, the chain is the object alone.
///
/// Returns `None` if no root reaches it: the object is cyclic garbage, kept
/// only by your handle, that the next collection would free once the handle
/// is gone.
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^28 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// let a = Gc::new(Node(RefCell::new(None)));
/// let b = Gc::new(Node(RefCell::new(None)));
/// let c = Gc::new(Node(RefCell::new(None)));
/// *a.0.borrow_mut() = Some(b.clone());
/// *b.0.borrow_mut() = Some(c.clone());
/// let ids = [&a, &b, &c].map(debug::ObjectId::of);
/// drop(b);
/// // `a` is held by a local; `b` and `c` only through `a`.
/// let chain: Vec<_> = debug::path_to(&c).unwrap().iter().map(|o| o.id).collect();
/// assert_eq!(chain, ids);
/// ```
#[must_use]
pub fn path_to<T: ?Sized>(gc: &Gc<T>) -> Option<Vec<ObjectInfo>> {
    let target = ObjectId::of(gc).0;
    with_heap(|h| {
        let g = Graph::build(h, Some(target));
        let tracked_target = g.index.get(&target).copied();
        if let Some(t) = tracked_target
            && g.roots[t]
        {
            return Some(vec![g.info(t)]);
        }
        let roots = &g.roots;
        let n = g.pinned.0.len();
        let mut prev = vec![usize::MAX; n];
        let mut seen = vec![false; n];
        let mut queue = VecDeque::new();
        for (i, &r) in roots.iter().enumerate() {
            if r {
                seen[i] = true;
                queue.push_back(i);
            }
        }
        while let Some(i) = queue.pop_front() {
            let hit_leaf = g.edges[i].untracked().find(|l| l.id.0 == target);
            if tracked_target == Some(i) || hit_leaf.is_some() {
                let mut chain = vec![];
                if let Some(&leaf) = hit_leaf {
                    chain.push(leaf);
                }
                let mut k = i;
                loop {
                    chain.push(g.info(k));
                    if prev[k] == usize::MAX {
                        break;
                    }
                    k = prev[k];
                }
                chain.reverse();
                return Some(chain);
            }
            for j in g.successors(i) {
                if !seen[j] {
                    seen[j] = true;
                    prev[j] = i;
                    queue.push_back(j);
                }
            }
        }
        None
    })
}
