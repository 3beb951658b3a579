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
use core::ops::{BitOr, BitOrAssign};
use std::any::TypeId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{self, AssertUnwindSafe};

use crate::collector::heap::{self, Heap, with_heap};
use crate::gc::inc_strong_of;
use crate::gc_box::Obj;
use crate::trace::{Mode, Tracer};
use crate::{Gc, Trace};

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
    pub(crate) fn of_obj(obj: Obj) -> Self {
        ObjectInfo {
            id: ObjectId(obj.box_addr()),
            type_name: (obj.vtable().type_name)(),
            strong_count: obj.strong_count() as usize,
            tracked: true,
        }
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
struct Pinned(Vec<Obj>);

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
            heap::release_held(obj);
        }
    }
}

/// What tracing one object reported.
#[derive(Default)]
struct Edges {
    to: Vec<ObjectInfo>,
    leaves: Vec<(usize, &'static str, u32)>,
    unreadable: bool,
}

/// Traces `obj` in `Collect` mode. Detached objects (their value may be
/// exclusively borrowed) and panicking traces report nothing.
fn edges_of(obj: Obj) -> Edges {
    if obj.counts().is_detached() {
        return Edges {
            unreadable: true,
            ..Edges::default()
        };
    }
    let mut tracer = Tracer::new(Mode::Collect, u32::MAX);
    tracer.current = Some(obj);
    let trace = obj.vtable().trace;
    // SAFETY: the object is pinned (allocated, I1), listed so its value is
    // initialised (I2), and not detached (I5).
    let r = panic::catch_unwind(AssertUnwindSafe(|| unsafe { trace(obj, &mut tracer) }));
    Edges {
        to: tracer.edges,
        leaves: tracer.leaf_edges,
        unreadable: tracer.unreadable || r.is_err(),
    }
}

/// The tracked objects in `scope` (Python's `gc.get_objects()`).
///
/// # Panics
///
/// Panics for `Scope::Generation(g)` with `g > 2`.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let a = Gc::new(RefCell::new(Vec::<Gc<i32>>::new()));
/// let young = debug::objects(debug::Scope::Generation(0));
/// assert!(young.iter().any(|o| o.id == debug::ObjectId::of(&a)));
/// ```
#[must_use]
pub fn objects(scope: Scope) -> Vec<ObjectInfo> {
    let lists = scope.lists();
    with_heap(|h| {
        lists
            .flat_map(|l| h.objects_in(l))
            .map(ObjectInfo::of_obj)
            .collect()
    })
}

/// Handles to the live tracked objects in `scope` whose value is a `T`
/// (Python's `gc.get_objects()`, filtered by type): the way to get hold of
/// objects a [`census`] shows are piling up.
///
/// Objects that a collection is examining right now, and values that
/// [`Gc::get_mut`] may be borrowing mutably, are left out. A value made by
/// [`Gc::pin`] stays pinned: the handles returned cannot move it out (see
/// [`Gc::pin`]).
///
/// # Panics
///
/// Panics for `Scope::Generation(g)` with `g > 2`, and if one of the objects
/// already has the most strong handles it can have (`2^30 - 2`, see
/// [`Gc::clone`](Gc#method.clone)); every count is then left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Session {
///     user: String,
///     peer: RefCell<Option<Gc<Session>>>,
/// }
///
/// let s = Gc::new(Session { user: "ada".into(), peer: RefCell::new(None) });
/// *s.peer.borrow_mut() = Some(s.clone());
/// drop(s); // leaked in a cycle, until the next collection
/// let found = debug::objects_of::<Session>(debug::Scope::All);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].user, "ada");
/// # found[0].peer.borrow_mut().take();
/// ```
#[must_use]
pub fn objects_of<T: 'static>(scope: Scope) -> Vec<Gc<T>> {
    let lists = scope.lists();
    let want = TypeId::of::<T>();
    with_heap(|h| {
        lists
            .flat_map(|l| h.objects_in(l))
            .filter(|o| (o.vtable().type_id)() == want && !o.counts().is_detached())
            .map(|obj| {
                // On a panic, the handles made so far are dropped.
                inc_strong_of(obj);
                // The type was just checked: sized values' boxes start right
                // after the head, whatever their allocation; the count is
                // taken.
                Gc::from_inner(obj.typed_box::<T>())
            })
            .collect()
    })
}

/// `std::any::type_name` without module paths:
/// `core::cell::RefCell<alloc::vec::Vec<app::Node>>` becomes
/// `RefCell<Vec<Node>>`. Used for the labels of the DOT pictures.
///
/// # Examples
///
/// ```
/// use gc_core::debug::short_type_name;
/// assert_eq!(
///     short_type_name("core::cell::RefCell<alloc::vec::Vec<app::Node>>"),
///     "RefCell<Vec<Node>>"
/// );
/// assert_eq!(short_type_name("(i32, &str)"), "(i32, &str)");
/// ```
#[must_use]
pub fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a path segment: keep only the last one
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}

/// How one type's count changed between two censuses (see [`growth`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Growth {
    /// `std::any::type_name` of the values.
    pub type_name: &'static str,
    /// Objects now.
    pub count: usize,
    /// Change since the earlier census (negative: fewer).
    pub delta: isize,
}

/// The types whose tracked-object count changed since `before` (an earlier
/// [`census`]), most grown first, as objgraph's `show_growth`: the first step
/// of a leak hunt.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let before = debug::census(debug::Scope::All);
/// let leak: Vec<_> = (0..3).map(|_| Gc::new(RefCell::new(Vec::<Gc<u8>>::new()))).collect();
/// let growth = debug::growth(&before, debug::Scope::All);
/// assert_eq!(growth[0].delta, 3);
/// assert!(growth[0].type_name.contains("RefCell"));
/// # drop(leak);
/// ```
#[must_use]
pub fn growth(before: &[CensusEntry], scope: Scope) -> Vec<Growth> {
    let now = census(scope);
    let old: HashMap<&str, usize> = before.iter().map(|e| (e.type_name, e.count)).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out: Vec<Growth> = Vec::new();
    for e in &now {
        seen.insert(e.type_name);
        let was = old.get(e.type_name).copied().unwrap_or(0);
        if was != e.count {
            out.push(Growth {
                type_name: e.type_name,
                count: e.count,
                delta: signed(e.count) - signed(was),
            });
        }
    }
    for e in before.iter().filter(|e| !seen.contains(e.type_name)) {
        out.push(Growth {
            type_name: e.type_name,
            count: 0,
            delta: -signed(e.count),
        });
    }
    out.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.type_name.cmp(b.type_name)));
    out
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

/// One line of a [`census`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CensusEntry {
    /// `std::any::type_name` of the values.
    pub type_name: &'static str,
    /// Number of live tracked objects of this type.
    pub count: usize,
    /// Bytes their blocks take (header included).
    pub bytes: usize,
}

/// Live tracked objects grouped by type, most numerous first (then by
/// bytes, then by name).
///
/// # Panics
///
/// Panics for `Scope::Generation(g)` with `g > 2`.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Vec<Gc<Node>>>);
///
/// let nodes: Vec<_> = (0..3).map(|_| Gc::new(Node(RefCell::new(vec![])))).collect();
/// let census = debug::census(debug::Scope::All);
/// let line = census.iter().find(|e| e.type_name.ends_with("Node")).unwrap();
/// assert_eq!(line.count, 3);
/// # drop(nodes);
/// ```
#[must_use]
pub fn census(scope: Scope) -> Vec<CensusEntry> {
    let lists = scope.lists();
    let mut by_type: HashMap<TypeId, CensusEntry> = HashMap::new();
    with_heap(|h| {
        for l in lists {
            for obj in h.objects_in(l) {
                let vt = obj.vtable();
                // SAFETY: listed objects are allocated; the size needs only
                // the vtable (and the slot's metadata).
                let size = unsafe { (vt.block_size)(obj) };
                let e = by_type.entry((vt.type_id)()).or_insert(CensusEntry {
                    type_name: (vt.type_name)(),
                    count: 0,
                    bytes: 0,
                });
                e.count += 1;
                e.bytes += size;
            }
        }
    });
    let mut v: Vec<CensusEntry> = by_type.into_values().collect();
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.bytes.cmp(&a.bytes))
            .then(a.type_name.cmp(b.type_name))
    });
    v
}

/// The objects `gc`'s value refers to with strong edges (Python's
/// `gc.get_referents`), in trace order, tracked or not. A dead handle has
/// none.
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
    let mut tracer = Tracer::new(Mode::Collect, u32::MAX);
    // A panicking trace reports what it reported before the panic.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| value.trace(&mut tracer)));
    let mut out: Vec<ObjectInfo> = core::mem::take(&mut tracer.edges);
    out.extend(
        tracer
            .leaf_edges
            .iter()
            .map(|&(addr, name, strong)| ObjectInfo {
                id: ObjectId(addr),
                type_name: name,
                strong_count: strong as usize,
                tracked: false,
            }),
    );
    out
}

/// The tracked objects (generations 0–2, not frozen ones) whose value holds a
/// strong edge to `gc`'s object (Python's `gc.get_referrers`).
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^30 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
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
            let e = edges_of(obj);
            if e.to.iter().any(|t| t.id.0 == target) || e.leaves.iter().any(|l| l.0 == target) {
                let mut info = ObjectInfo::of_obj(obj);
                info.strong_count -= 1; // not counting the scan's own count
                out.push(info);
            }
        }
        out
    })
}

/// The graph of the tracked heap (generations 0–2), pinned while it lives.
struct Graph {
    pinned: Pinned,
    index: HashMap<usize, usize>,
    edges: Vec<Edges>,
    /// Objects with references from outside the graph (or unreadable).
    roots: Vec<bool>,
}

impl Graph {
    /// Builds the graph. `ignore` is the box address of a handle the caller
    /// holds outside the heap, which is not counted as a reason for its
    /// object to be alive; neither are the counts held by the garbage that
    /// [`DebugFlags::SAVE_ALL`] kept.
    fn build(h: &Heap, ignore: Option<usize>) -> Graph {
        let pinned = Pinned::new(h, 0..3);
        let index: HashMap<usize, usize> = pinned
            .0
            .iter()
            .enumerate()
            .map(|(i, o)| (o.box_addr(), i))
            .collect();
        let edges: Vec<Edges> = pinned.0.iter().map(|&o| edges_of(o)).collect();
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
            .flat_map(|e| e.to.iter().map(|t| t.id.0))
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

    fn info(&self, i: usize) -> ObjectInfo {
        let mut info = ObjectInfo::of_obj(self.pinned.0[i]);
        info.strong_count -= 1;
        info
    }

    fn successors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges[i]
            .to
            .iter()
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
/// have (`2^30 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
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
            let hit_leaf = g.edges[i].leaves.iter().find(|l| l.0 == target);
            if tracked_target == Some(i) || hit_leaf.is_some() {
                let mut chain = vec![];
                if let Some(&(addr, name, strong)) = hit_leaf {
                    chain.push(ObjectInfo {
                        id: ObjectId(addr),
                        type_name: name,
                        strong_count: strong as usize,
                        tracked: false,
                    });
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

/// Which part of the heap a DOT picture shows.
#[derive(Clone, Copy)]
enum View {
    All,
    From(usize),
    To(usize),
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Which nodes of `g` a view shows.
fn visible(g: &Graph, view: View) -> Vec<bool> {
    let n = g.pinned.0.len();
    let mut seen = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    match view {
        View::All => return vec![true; n],
        View::From(addr) => {
            if let Some(&s) = g.index.get(&addr) {
                seen[s] = true;
                stack.push(s);
            }
            while let Some(i) = stack.pop() {
                for j in g.successors(i) {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        View::To(addr) => {
            let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
            for i in 0..n {
                for j in g.successors(i) {
                    preds[j].push(i);
                }
            }
            if let Some(&t) = g.index.get(&addr) {
                seen[t] = true;
                stack.push(t);
            } else {
                // An untracked target: start from its referrers.
                for (i, e) in g.edges.iter().enumerate() {
                    if e.leaves.iter().any(|l| l.0 == addr) {
                        seen[i] = true;
                        stack.push(i);
                    }
                }
            }
            while let Some(i) = stack.pop() {
                for &p in &preds[i] {
                    if !seen[p] {
                        seen[p] = true;
                        stack.push(p);
                    }
                }
            }
        }
    }
    seen
}

fn dot(view: View) -> String {
    use fmt::Write as _;
    let ignore = match view {
        View::All => None,
        View::From(a) | View::To(a) => Some(a),
    };
    with_heap(|h| {
        let g = Graph::build(h, ignore);
        let saved: HashSet<usize> = h.saved.to_vec().iter().map(|o| o.box_addr()).collect();
        let show = visible(&g, view);
        let shown = || (0..show.len()).filter(|&i| show[i]);
        let mut out = String::from(
            "digraph heap {\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n",
        );
        for i in shown() {
            let info = g.info(i);
            let mut attrs = String::new();
            if g.roots[i] {
                attrs.push_str(", penwidth=2, color=\"#1f5fbf\", peripheries=2");
            }
            if saved.contains(&info.id.0) {
                attrs.push_str(", style=filled, fillcolor=\"#f4b4b4\"");
            }
            let _ = writeln!(
                out,
                "  \"o{:x}\" [label=\"{}\\n{} (strong {}){}\", tooltip=\"{}\"{}];",
                info.id.0,
                escape(&short_type_name(info.type_name)),
                info.id,
                info.strong_count,
                if g.roots[i] { "\\nroot" } else { "" },
                escape(info.type_name),
                attrs
            );
        }
        let mut extra: HashSet<usize> = HashSet::new();
        for i in shown() {
            let from = g.pinned.0[i].box_addr();
            for t in &g.edges[i].to {
                let to = t.id.0;
                if g.index.get(&to).is_some_and(|&j| !show[j]) {
                    continue;
                }
                let _ = writeln!(out, "  \"o{from:x}\" -> \"o{to:x}\";");
                if !g.index.contains_key(&to) && extra.insert(to) {
                    let _ = writeln!(
                        out,
                        "  \"o{to:x}\" [label=\"{}\\n#{to:x} (outside the scan)\", style=dashed];",
                        escape(&short_type_name(t.type_name))
                    );
                }
            }
            for &(addr, name, strong) in &g.edges[i].leaves {
                if extra.insert(addr) {
                    let _ = writeln!(
                        out,
                        "  \"o{addr:x}\" [label=\"{}\\n#{addr:x} (strong {strong}, untracked)\", shape=ellipse, color=gray];",
                        escape(&short_type_name(name))
                    );
                }
                let _ = writeln!(out, "  \"o{from:x}\" -> \"o{addr:x}\" [color=gray];");
            }
        }
        out.push_str("}\n");
        out
    })
}

/// A Graphviz DOT picture of the whole tracked heap (generations 0–2):
/// nodes are labelled with type name, id and strong count; objects referenced
/// from outside (roots) have a double blue border; garbage kept by
/// [`DebugFlags::SAVE_ALL`] is filled red; untracked objects they point to
/// are grey ellipses. Render it with `dot -Tsvg`.
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^30 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let a = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// let text = debug::dot_heap();
/// assert!(text.starts_with("digraph heap {"));
/// assert!(text.contains(&format!("\"o{:x}\"", debug::ObjectId::of(&a).as_usize())));
/// ```
#[must_use]
pub fn dot_heap() -> String {
    dot(View::All)
}

/// A DOT picture of the part of the tracked heap reachable from `gc`'s
/// object (see [`dot_heap`] for the notation).
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^30 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let inner = Gc::new(RefCell::new(Vec::<Gc<i32>>::new()));
/// let outer = Gc::new(RefCell::new(vec![inner.clone()]));
/// let text = debug::dot_from(&outer);
/// let edge = format!(
///     "\"o{:x}\" -> \"o{:x}\"",
///     debug::ObjectId::of(&outer).as_usize(),
///     debug::ObjectId::of(&inner).as_usize()
/// );
/// assert!(text.contains(&edge));
/// ```
#[must_use]
pub fn dot_from<T: ?Sized>(gc: &Gc<T>) -> String {
    dot(View::From(ObjectId::of(gc).0))
}

/// A DOT picture of the objects whose references lead to `gc`'s object:
/// what keeps it alive (see [`dot_heap`] for the notation).
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^30 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let x = Gc::new(RefCell::new(Vec::<Gc<i32>>::new()));
/// let holder = Gc::new(RefCell::new(vec![x.clone()]));
/// let text = debug::dot_to(&x);
/// assert!(text.contains(&format!("o{:x}", debug::ObjectId::of(&holder).as_usize())));
/// ```
#[must_use]
pub fn dot_to<T: ?Sized>(gc: &Gc<T>) -> String {
    dot(View::To(ObjectId::of(gc).0))
}

/// Debugging options of the collector (Python's `gc.DEBUG_*` flags).
///
/// # Examples
///
/// ```
/// use gc_core::debug::{self, DebugFlags};
///
/// debug::set_debug(DebugFlags::STATS | DebugFlags::SAVE_ALL);
/// assert!(debug::debug_flags().contains(DebugFlags::SAVE_ALL));
/// debug::set_debug(DebugFlags::empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DebugFlags(u32);

impl DebugFlags {
    /// Print statistics to stderr at the start and end of each collection
    /// (`DEBUG_STATS`).
    pub const STATS: DebugFlags = DebugFlags(1);
    /// Print each collectable object found to stderr (`DEBUG_COLLECTABLE`).
    pub const COLLECTABLE: DebugFlags = DebugFlags(2);
    /// Keep cyclic garbage instead of dropping it: see [`garbage`]
    /// (`DEBUG_SAVEALL`). Weak references to it are still cleared and its
    /// finalizers still run, as in Python.
    pub const SAVE_ALL: DebugFlags = DebugFlags(32);
    /// `COLLECTABLE | SAVE_ALL` (`DEBUG_LEAK`).
    pub const LEAK: DebugFlags = DebugFlags(2 | 32);

    /// No flags.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::DebugFlags;
    /// assert_eq!(DebugFlags::empty().bits(), 0);
    /// ```
    #[must_use]
    pub const fn empty() -> DebugFlags {
        DebugFlags(0)
    }

    /// The flags as bits (Python's values).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::DebugFlags;
    /// assert_eq!(DebugFlags::LEAK.bits(), 34);
    /// ```
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::DebugFlags;
    /// assert!(DebugFlags::LEAK.contains(DebugFlags::SAVE_ALL));
    /// assert!(!DebugFlags::STATS.contains(DebugFlags::SAVE_ALL));
    /// ```
    #[must_use]
    pub const fn contains(self, other: DebugFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for DebugFlags {
    type Output = DebugFlags;
    fn bitor(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DebugFlags {
    fn bitor_assign(&mut self, rhs: DebugFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for DebugFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(1, "STATS"), (2, "COLLECTABLE"), (32, "SAVE_ALL")];
        let set: Vec<&str> = names
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect();
        write!(f, "DebugFlags({})", set.join(" | "))
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
    with_heap(|h| h.debug.set(flags.0));
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
    with_heap(|h| DebugFlags(h.debug.get()))
}

/// A type-erased strong handle to an object kept by
/// [`DebugFlags::SAVE_ALL`].
pub struct Garbage {
    obj: Obj,
}

impl Garbage {
    /// Its id (see [`Garbage::downcast`] for an example).
    #[must_use]
    pub fn id(&self) -> ObjectId {
        ObjectId(self.obj.box_addr())
    }

    /// `std::any::type_name` of its value (see [`Garbage::downcast`] for
    /// an example).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        (self.obj.vtable().type_name)()
    }

    /// Whether its value is a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::{self, DebugFlags};
    /// use gc_core::Gc;
    /// use std::cell::RefCell;
    ///
    /// type Cyclic = RefCell<Vec<Gc<RefCell<Vec<u8>>>>>;
    /// debug::set_debug(DebugFlags::SAVE_ALL);
    /// let a = Gc::new(RefCell::new(None::<Gc<dyn gc_core::Trace>>));
    /// *a.borrow_mut() = Some(Gc::unsize::<dyn gc_core::Trace>(a.clone(), |x| x));
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// let saved = debug::garbage();
    /// assert!(saved[0].is::<RefCell<Option<Gc<dyn gc_core::Trace>>>>());
    /// assert!(!saved[0].is::<Cyclic>());
    /// drop(saved);
    /// debug::set_debug(DebugFlags::empty());
    /// debug::release_garbage();
    /// # gc_core::collect();
    /// ```
    #[must_use]
    pub fn is<T: 'static>(&self) -> bool {
        (self.obj.vtable().type_id)() == TypeId::of::<T>()
    }

    /// A `Gc<T>` to the object, if its value is a `T`.
    ///
    /// A value made by [`Gc::pin`] stays pinned: the handle cannot move it
    /// out (see [`Gc::pin`]).
    ///
    /// # Panics
    ///
    /// Panics, before changing any count, if the object already has the most
    /// strong handles it can have (`2^30 - 2`, see
    /// [`Gc::clone`](Gc#method.clone)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::{self, DebugFlags};
    /// use gc_core::{Gc, Trace};
    /// use std::cell::RefCell;
    ///
    /// #[derive(Trace)]
    /// struct Node(RefCell<Option<Gc<Node>>>, u32);
    ///
    /// debug::set_debug(DebugFlags::SAVE_ALL);
    /// let a = Gc::new(Node(RefCell::new(None), 7));
    /// *a.0.borrow_mut() = Some(a.clone());
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// let saved = debug::garbage();
    /// assert_eq!(saved.len(), 1);
    /// assert!(saved[0].type_name().ends_with("Node"));
    /// let node: Gc<Node> = saved[0].downcast().unwrap();
    /// assert_eq!(node.1, 7);
    /// drop((saved, node));
    /// debug::set_debug(DebugFlags::empty());
    /// assert_eq!(debug::release_garbage(), 1);
    /// assert_eq!(gc_core::collect(), 1); // now it is freed
    /// ```
    #[must_use]
    pub fn downcast<T: 'static>(&self) -> Option<Gc<T>> {
        if !self.is::<T>() {
            return None;
        }
        inc_strong_of(self.obj);
        // Sized values' boxes start right after the head, whatever their
        // allocation; the type was just checked, and the count taken.
        Some(Gc::from_inner(self.obj.typed_box::<T>()))
    }
}

impl Clone for Garbage {
    /// Another handle to the same object (its strong count + 1).
    ///
    /// # Panics
    ///
    /// Panics, before changing the count, if the object already has the
    /// most strong handles it can have (`2^30 - 2`, see
    /// [`Gc::clone`](Gc#method.clone)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::{self, DebugFlags};
    /// use gc_core::Gc;
    /// use std::cell::RefCell;
    ///
    /// type Node = RefCell<Option<Gc<dyn gc_core::Trace>>>;
    /// debug::set_debug(DebugFlags::SAVE_ALL);
    /// let a: Gc<Node> = Gc::new(RefCell::new(None));
    /// *a.borrow_mut() = Some(Gc::unsize::<dyn gc_core::Trace>(a.clone(), |x| x));
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// let saved = debug::garbage();
    /// let copy = saved[0].clone();
    /// assert_eq!(copy.id(), saved[0].id());
    /// let node: Gc<Node> = copy.downcast().unwrap();
    /// assert_eq!(Gc::strong_count(&node), 5); // cycle, saved list, 2 Garbage, node
    /// drop((saved, copy, node));
    /// debug::set_debug(DebugFlags::empty());
    /// debug::release_garbage();
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    fn clone(&self) -> Self {
        inc_strong_of(self.obj);
        Garbage { obj: self.obj }
    }
}

impl Drop for Garbage {
    fn drop(&mut self) {
        heap::release_held(self.obj);
    }
}

impl fmt::Debug for Garbage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} {}>", self.type_name(), self.id())
    }
}

/// Handles to the garbage kept so far by [`DebugFlags::SAVE_ALL`] (Python's
/// `gc.garbage`). The objects stay saved until [`release_garbage`].
///
/// # Panics
///
/// Panics if one of the objects already has the most strong handles it can
/// have (`2^30 - 2`, see [`Gc::clone`](Gc#method.clone)); every count is
/// then left as it was.
///
/// # Examples
///
/// ```
/// assert!(gc_core::debug::garbage().is_empty());
/// ```
#[must_use]
pub fn garbage() -> Vec<Garbage> {
    with_heap(|h| {
        h.saved
            .to_vec()
            .into_iter()
            .map(|obj| {
                // On a panic, the handles made so far are dropped.
                inc_strong_of(obj);
                Garbage { obj }
            })
            .collect()
    })
}

/// Lets go of the garbage kept by [`DebugFlags::SAVE_ALL`] and returns how
/// many objects were saved. If it is still garbage, the next collection
/// frees it (unless `SAVE_ALL` is still on, which keeps it again).
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::debug::release_garbage(), 0);
/// ```
pub fn release_garbage() -> usize {
    let saved = with_heap(release_saved);
    let n = saved.len();
    drop(saved);
    n
}

/// The types whose `trace` reported handles that the collector ignored,
/// with how many such edges each reported since the thread started, most
/// first.
///
/// The collector counts a reported handle only when it lies in memory the
/// traced value owns: the value's own bytes, or a container buffer that this
/// crate's `Box`, `Vec`, `HashMap`, ... impls vouch for. A handle reported
/// from anywhere else (elements reached by iterating a container by hand, a
/// thread-local, another object, an `Rc` shared with outside code) is
/// ignored and its target kept, so a cycle through it leaks. This names the
/// types whose traces do that (only edges to objects the collection was
/// examining are counted; see
/// [`GenerationStats::rejected`](crate::GenerationStats)).
///
/// # Examples
///
/// ```
/// use gc_core::{Gc, Trace, Tracer, debug};
/// use std::cell::RefCell;
///
/// struct ByHand(RefCell<Vec<Gc<ByHand>>>);
///
/// impl Trace for ByHand {
///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
///         if let Some(items) = tracer.borrow(&self.0) {
///             for item in items {
///                 item.trace(tracer); // wrong: call `items.trace(tracer)`
///             }
///         }
///     }
/// }
///
/// let a = Gc::new(ByHand(RefCell::new(vec![])));
/// a.0.borrow_mut().push(a.clone());
/// drop(a);
/// assert_eq!(gc_core::collect(), 0); // the cycle leaks...
/// let rejected = debug::rejected_edges();
/// assert!(rejected.iter().any(|(name, n)| name.ends_with("ByHand") && *n >= 1)); // ...and says why
/// ```
#[must_use]
pub fn rejected_edges() -> Vec<(&'static str, usize)> {
    with_heap(crate::collector::rejected_by)
}

/// Takes the saved garbage as handles (dropping them releases it).
pub(crate) fn release_saved(h: &Heap) -> Vec<Garbage> {
    h.saved
        .take()
        .into_iter()
        .map(|obj| Garbage { obj })
        .collect()
}

#[cfg(test)]
mod tests;
