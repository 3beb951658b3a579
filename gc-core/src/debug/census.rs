//! What is on the heap: the tracked objects, and how many of each type
//! (Python's `gc.get_objects()`, objgraph's `show_most_common_types` and
//! `show_growth`).

use std::any::TypeId;
use std::collections::{HashMap, HashSet};

use super::{ObjectInfo, Scope};
use crate::Gc;
use crate::collector::heap::with_heap;
use crate::gc::inc_strong_of;

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
/// already has the most strong handles it can have (`2^28 - 2`, see
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
            .filter(|o| o.type_id() == want && !o.counts().is_detached())
            .map(|obj| {
                // On a panic, the handles made so far are dropped.
                inc_strong_of(obj);
                // SAFETY: the type was just checked, and every box starts
                // right after its head (I3), so this is the object's
                // `GcBox<T>`; a listed object is allocated and initialised
                // (I4), and the count just taken goes to the handle.
                unsafe { Gc::from_inner(obj.typed_box::<T>()) }
            })
            .collect()
    })
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
                // SAFETY: listed objects are allocated, initialised and not
                // detached (I4), and no user code runs while this loop reads
                // them; the size needs only the vtable (and the slot's
                // metadata).
                let size = unsafe { obj.block_size() };
                let e = by_type.entry(obj.type_id()).or_insert(CensusEntry {
                    type_name: obj.type_name(),
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
