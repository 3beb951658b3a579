//! One module per contender: the same node shapes, built with each crate's
//! own pointer, cell and `Trace` machinery.
//!
//! - `Node`: `i64` + a cell of `Option<ptr>` (singly linked; 24-byte payload).
//! - `Node2`: `i64` + two such cells (doubly linked ring).
//! - `Leaf`: a pointer-free `i64`.
//!
//! [`Live`] adds the shapes of the live-heap workloads (`grow`,
//! `grow_cyclic`, `churn`), for Rc and gc-core only.

#![allow(
    dead_code,
    reason = "the `v` and `value` payload fields are written, never read"
)]

/// What every workload needs from a contender.
pub trait Contender {
    /// Handle to a singly linked node.
    type Node: Clone;
    /// Handle to a doubly linked node.
    type Node2: Clone;
    /// Handle to a pointer-free value.
    type Leaf;
    /// Whether the crate reclaims cycles at all (`Rc` does not).
    const COLLECTS: bool = true;
    fn node(v: i64, next: Option<Self::Node>) -> Self::Node;
    fn set_next(n: &Self::Node, next: Option<Self::Node>);
    fn node2(v: i64) -> Self::Node2;
    /// `a.next = b; b.prev = a`.
    fn link2(a: &Self::Node2, b: &Self::Node2);
    fn leaf(v: i64) -> Self::Leaf;
    /// A full collection (the crate's normal "collect cycles"); the number
    /// of objects reclaimed, where the crate reports it.
    fn collect() -> Option<usize> {
        None
    }
    /// The collection used for `young_with_old_heap` (default: `collect`).
    fn young_collect() -> Option<usize> {
        Self::collect()
    }
    /// Automatic collection on/off (no-op for crates without it).
    fn set_auto(_on: bool) {}
    /// Work that the crate needs after dropping garbage to actually free it
    /// (only rust-gc, which frees nothing on drop).
    fn reclaim_after_drop() {}
}

/// The shapes of the live-heap workloads (`grow`, `grow_cyclic`, `churn`),
/// for Rc and gc-core (the peers are not run on them). Every constructor
/// takes the handles it links to by value: they are moved into the new
/// node, never cloned and dropped.
pub trait Live: Contender {
    /// Handle to a `grow` node: `{ value: i64, next: Option<ptr> }`.
    type List;
    /// Handle to a `grow_cyclic` node:
    /// `{ value: i64, prev: RefCell<Option<ptr>>, next: RefCell<Option<ptr>> }`.
    type Dlist: Clone;
    /// Handle to a `churn` ring node: `{ next: RefCell<Option<ptr>> }`.
    type Ring: Clone;
    /// `Ptr::new(Node { value, next })`.
    fn list(value: i64, next: Option<Self::List>) -> Self::List;
    /// The first node of a doubly linked list (no `prev`, no `next`).
    fn dlist_first(value: i64) -> Self::Dlist;
    /// One `grow_cyclic` step: `let node = Ptr::new(Node { value, prev:
    /// RefCell::new(Some(tail)), next: RefCell::new(None) })`, then the
    /// previous node's `next` is set to `Some(node.clone())` through
    /// `node.prev.borrow()`; returns `node`, the new tail.
    fn dlist_push(value: i64, tail: Self::Dlist) -> Self::Dlist;
    /// `Ptr::new(Node { next: RefCell::new(next) })`.
    fn ring(next: Option<Self::Ring>) -> Self::Ring;
    /// `*first.next.borrow_mut() = Some(last)`: closes a ring.
    fn ring_close(first: &Self::Ring, last: Self::Ring);
    /// Frees a `grow` list (untimed). Rc unlinks it node by node: its
    /// recursive drop would overflow the stack.
    fn list_free(head: Option<Self::List>);
    /// Frees a `grow_cyclic` list (untimed). Rc breaks its cycles node by
    /// node; gc-core drops the handles and collects.
    fn dlist_free(head: Self::Dlist, tail: Self::Dlist);
    /// Tracked objects (gc-core's `tracked_count()`); `None` for Rc.
    fn tracked() -> Option<usize> {
        None
    }
    /// The longest collection the crate reports, in ms; `None` for Rc.
    fn max_pause_ms() -> Option<f64> {
        None
    }
}

pub mod rc {
    use std::cell::RefCell;
    use std::rc::Rc;

    pub struct Node {
        pub v: i64,
        pub next: RefCell<Option<Rc<Node>>>,
    }
    pub struct Node2 {
        pub v: i64,
        pub next: RefCell<Option<Rc<Node2>>>,
        pub prev: RefCell<Option<Rc<Node2>>>,
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Rc<Node>;
        type Node2 = Rc<Node2>;
        type Leaf = Rc<i64>;
        const COLLECTS: bool = false;
        #[inline]
        fn node(v: i64, next: Option<Rc<Node>>) -> Rc<Node> {
            Rc::new(Node {
                v,
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Rc<Node>, next: Option<Rc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Rc<Node2> {
            Rc::new(Node2 {
                v,
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Rc<Node2>, b: &Rc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Rc<i64> {
            Rc::new(v)
        }
    }
    /// `grow`: `{ value, next: Option<Rc> }`.
    pub struct List {
        pub value: i64,
        pub next: Option<Rc<List>>,
    }
    /// `grow_cyclic`: doubly linked.
    pub struct Dlist {
        pub value: i64,
        pub prev: RefCell<Option<Rc<Dlist>>>,
        pub next: RefCell<Option<Rc<Dlist>>>,
    }
    /// `churn`: a ring node.
    pub struct Ring {
        pub next: RefCell<Option<Rc<Ring>>>,
    }

    impl super::Live for C {
        type List = Rc<List>;
        type Dlist = Rc<Dlist>;
        type Ring = Rc<Ring>;
        #[inline]
        fn list(value: i64, next: Option<Rc<List>>) -> Rc<List> {
            Rc::new(List { value, next })
        }
        #[inline]
        fn dlist_first(value: i64) -> Rc<Dlist> {
            Rc::new(Dlist {
                value,
                prev: RefCell::new(None),
                next: RefCell::new(None),
            })
        }
        #[inline]
        fn dlist_push(value: i64, tail: Rc<Dlist>) -> Rc<Dlist> {
            let node = Rc::new(Dlist {
                value,
                prev: RefCell::new(Some(tail)),
                next: RefCell::new(None),
            });
            if let Some(prev) = node.prev.borrow().as_ref() {
                *prev.next.borrow_mut() = Some(node.clone());
            }
            node
        }
        #[inline]
        fn ring(next: Option<Rc<Ring>>) -> Rc<Ring> {
            Rc::new(Ring {
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn ring_close(first: &Rc<Ring>, last: Rc<Ring>) {
            *first.next.borrow_mut() = Some(last);
        }
        fn list_free(mut head: Option<Rc<List>>) {
            while let Some(node) = head {
                head = Rc::try_unwrap(node).ok().and_then(|n| n.next);
            }
        }
        fn dlist_free(head: Rc<Dlist>, tail: Rc<Dlist>) {
            drop(tail);
            let mut cur = Some(head);
            // Each turn frees the node before `node`: its `next` was taken
            // in the turn before, and taking `node.prev` drops its last handle.
            while let Some(node) = cur {
                cur = node.next.borrow_mut().take();
                node.prev.borrow_mut().take();
            }
        }
    }
}

pub mod gc_core_ {
    use gc_core::{Gc, Trace};
    use std::cell::RefCell;

    #[derive(Trace)]
    pub struct Node {
        pub v: i64,
        pub next: RefCell<Option<Gc<Node>>>,
    }
    #[derive(Trace)]
    pub struct Node2 {
        pub v: i64,
        pub next: RefCell<Option<Gc<Node2>>>,
        pub prev: RefCell<Option<Gc<Node2>>>,
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Gc<Node>;
        type Node2 = Gc<Node2>;
        type Leaf = Gc<i64>;
        #[inline]
        fn node(v: i64, next: Option<Gc<Node>>) -> Gc<Node> {
            Gc::new(Node {
                v,
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Gc<Node>, next: Option<Gc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Gc<Node2> {
            Gc::new(Node2 {
                v,
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Gc<Node2>, b: &Gc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Gc<i64> {
            Gc::new(v)
        }
        fn collect() -> Option<usize> {
            Some(gc_core::collect())
        }
        fn young_collect() -> Option<usize> {
            Some(gc_core::collect_generation(0))
        }
        fn set_auto(on: bool) {
            if on {
                gc_core::enable()
            } else {
                gc_core::disable()
            }
        }
    }
    /// `grow`: `{ value, next: Option<Gc> }`.
    #[derive(Trace)]
    pub struct List {
        pub value: i64,
        pub next: Option<Gc<List>>,
    }
    /// `grow_cyclic`: doubly linked.
    #[derive(Trace)]
    pub struct Dlist {
        pub value: i64,
        pub prev: RefCell<Option<Gc<Dlist>>>,
        pub next: RefCell<Option<Gc<Dlist>>>,
    }
    /// `churn`: a ring node.
    #[derive(Trace)]
    pub struct Ring {
        pub next: RefCell<Option<Gc<Ring>>>,
    }

    impl super::Live for C {
        type List = Gc<List>;
        type Dlist = Gc<Dlist>;
        type Ring = Gc<Ring>;
        #[inline]
        fn list(value: i64, next: Option<Gc<List>>) -> Gc<List> {
            Gc::new(List { value, next })
        }
        #[inline]
        fn dlist_first(value: i64) -> Gc<Dlist> {
            Gc::new(Dlist {
                value,
                prev: RefCell::new(None),
                next: RefCell::new(None),
            })
        }
        #[inline]
        fn dlist_push(value: i64, tail: Gc<Dlist>) -> Gc<Dlist> {
            let node = Gc::new(Dlist {
                value,
                prev: RefCell::new(Some(tail)),
                next: RefCell::new(None),
            });
            if let Some(prev) = node.prev.borrow().as_ref() {
                *prev.next.borrow_mut() = Some(node.clone());
            }
            node
        }
        #[inline]
        fn ring(next: Option<Gc<Ring>>) -> Gc<Ring> {
            Gc::new(Ring {
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn ring_close(first: &Gc<Ring>, last: Gc<Ring>) {
            *first.next.borrow_mut() = Some(last);
        }
        fn list_free(head: Option<Gc<List>>) {
            drop(head);
            gc_core::collect();
        }
        fn dlist_free(head: Gc<Dlist>, tail: Gc<Dlist>) {
            drop((head, tail));
            gc_core::collect();
        }
        fn tracked() -> Option<usize> {
            Some(gc_core::tracked_count())
        }
        fn max_pause_ms() -> Option<f64> {
            let stats = gc_core::stats();
            let longest = stats.iter().map(|g| g.max_pause).max().unwrap_or_default();
            Some(longest.as_secs_f64() * 1e3)
        }
    }
}

/// rust-gc: mark-and-sweep with root counts; `GcCell` replaces `RefCell`
/// (std's `RefCell` is not `Trace` there). Nothing is freed on drop: memory
/// comes back at the next (automatic or forced) collection.
#[allow(
    non_local_definitions,
    reason = "gc_derive 0.5 (synstructure 0.12) emits its impls inside a const"
)]
pub mod rust_gc {
    use gc::{Finalize, Gc, GcCell, Trace};

    #[derive(Trace, Finalize)]
    pub struct Node {
        pub v: i64,
        pub next: GcCell<Option<Gc<Node>>>,
    }
    #[derive(Trace, Finalize)]
    pub struct Node2 {
        pub v: i64,
        pub next: GcCell<Option<Gc<Node2>>>,
        pub prev: GcCell<Option<Gc<Node2>>>,
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Gc<Node>;
        type Node2 = Gc<Node2>;
        type Leaf = Gc<i64>;
        #[inline]
        fn node(v: i64, next: Option<Gc<Node>>) -> Gc<Node> {
            Gc::new(Node {
                v,
                next: GcCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Gc<Node>, next: Option<Gc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Gc<Node2> {
            Gc::new(Node2 {
                v,
                next: GcCell::new(None),
                prev: GcCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Gc<Node2>, b: &Gc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Gc<i64> {
            Gc::new(v)
        }
        fn collect() -> Option<usize> {
            gc::force_collect();
            None
        }
        fn set_auto(on: bool) {
            // `threshold` is the byte count that triggers a collection in
            // `Gc::new`; the default is 100 and grows by itself.
            gc::configure(|c| c.threshold = if on { 100 } else { usize::MAX });
        }
        fn reclaim_after_drop() {
            gc::force_collect();
        }
    }
}

/// bacon_rajan_cc: synchronous Bacon–Rajan; no automatic collection. Its
/// derive is not published for syn 2, so `Trace` is written by hand.
pub mod bacon {
    use bacon_rajan_cc::{Cc, Trace, Tracer};
    use std::cell::RefCell;

    pub struct Node {
        pub v: i64,
        pub next: RefCell<Option<Cc<Node>>>,
    }
    impl Trace for Node {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
        }
    }
    pub struct Node2 {
        pub v: i64,
        pub next: RefCell<Option<Cc<Node2>>>,
        pub prev: RefCell<Option<Cc<Node2>>>,
    }
    impl Trace for Node2 {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
            self.prev.trace(tracer);
        }
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Cc<Node>;
        type Node2 = Cc<Node2>;
        type Leaf = Cc<i64>;
        #[inline]
        fn node(v: i64, next: Option<Cc<Node>>) -> Cc<Node> {
            Cc::new(Node {
                v,
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Cc<Node>, next: Option<Cc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Cc<Node2> {
            Cc::new(Node2 {
                v,
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Cc<Node2>, b: &Cc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Cc<i64> {
            Cc::new(v)
        }
        fn collect() -> Option<usize> {
            bacon_rajan_cc::collect_cycles();
            None
        }
    }
}

/// rust-cc: trial deletion over a candidate list; automatic collection
/// (feature `auto-collect`, default) is checked in `Cc::new`.
pub mod rust_cc_ {
    use rust_cc::{Cc, Finalize, Trace};
    use std::cell::RefCell;

    #[derive(Trace, Finalize)]
    pub struct Node {
        pub v: i64,
        pub next: RefCell<Option<Cc<Node>>>,
    }
    #[derive(Trace, Finalize)]
    pub struct Node2 {
        pub v: i64,
        pub next: RefCell<Option<Cc<Node2>>>,
        pub prev: RefCell<Option<Cc<Node2>>>,
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Cc<Node>;
        type Node2 = Cc<Node2>;
        type Leaf = Cc<i64>;
        #[inline]
        fn node(v: i64, next: Option<Cc<Node>>) -> Cc<Node> {
            Cc::new(Node {
                v,
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Cc<Node>, next: Option<Cc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Cc<Node2> {
            Cc::new(Node2 {
                v,
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Cc<Node2>, b: &Cc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Cc<i64> {
            Cc::new(v)
        }
        fn collect() -> Option<usize> {
            rust_cc::collect_cycles();
            None
        }
        fn set_auto(on: bool) {
            rust_cc::config::config(|c| c.set_auto_collect(on)).expect("rust-cc config");
        }
    }
}

/// dumpster (unsync): dirty set + trial deletion; the collect condition is
/// checked on every drop.
pub mod dumpster_ {
    use dumpster::Trace;
    use dumpster::unsync::{CollectInfo, Gc};
    use std::cell::RefCell;

    #[derive(Trace)]
    pub struct Node {
        pub v: i64,
        pub next: RefCell<Option<Gc<Node>>>,
    }
    #[derive(Trace)]
    pub struct Node2 {
        pub v: i64,
        pub next: RefCell<Option<Gc<Node2>>>,
        pub prev: RefCell<Option<Gc<Node2>>>,
    }

    fn never(_: &CollectInfo) -> bool {
        false
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Gc<Node>;
        type Node2 = Gc<Node2>;
        type Leaf = Gc<i64>;
        #[inline]
        fn node(v: i64, next: Option<Gc<Node>>) -> Gc<Node> {
            Gc::new(Node {
                v,
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Gc<Node>, next: Option<Gc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Gc<Node2> {
            Gc::new(Node2 {
                v,
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Gc<Node2>, b: &Gc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Gc<i64> {
            Gc::new(v)
        }
        fn collect() -> Option<usize> {
            dumpster::unsync::collect();
            None
        }
        fn set_auto(on: bool) {
            dumpster::unsync::set_collect_condition(if on {
                dumpster::unsync::default_collect_condition
            } else {
                never
            });
        }
    }
}

/// gcmodule: CPython-3.8-style, one list of all tracked objects; no
/// automatic collection. Its derive recurses forever on recursive types
/// (`is_type_tracked`), so `Trace` is written by hand, as its docs say.
pub mod gcmodule_ {
    use gcmodule::{Cc, Trace, Tracer};
    use std::cell::RefCell;

    pub struct Node {
        pub v: i64,
        pub next: RefCell<Option<Cc<Node>>>,
    }
    impl Trace for Node {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }
    pub struct Node2 {
        pub v: i64,
        pub next: RefCell<Option<Cc<Node2>>>,
        pub prev: RefCell<Option<Cc<Node2>>>,
    }
    impl Trace for Node2 {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
            self.prev.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    pub struct C;
    impl super::Contender for C {
        type Node = Cc<Node>;
        type Node2 = Cc<Node2>;
        type Leaf = Cc<i64>;
        #[inline]
        fn node(v: i64, next: Option<Cc<Node>>) -> Cc<Node> {
            Cc::new(Node {
                v,
                next: RefCell::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Cc<Node>, next: Option<Cc<Node>>) {
            *n.next.borrow_mut() = next;
        }
        #[inline]
        fn node2(v: i64) -> Cc<Node2> {
            Cc::new(Node2 {
                v,
                next: RefCell::new(None),
                prev: RefCell::new(None),
            })
        }
        #[inline]
        fn link2(a: &Cc<Node2>, b: &Cc<Node2>) {
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        #[inline]
        fn leaf(v: i64) -> Cc<i64> {
            Cc::new(v)
        }
        fn collect() -> Option<usize> {
            Some(gcmodule::collect_thread_cycles())
        }
    }
}
