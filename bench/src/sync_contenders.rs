//! The thread-safe contenders of the `sync_*` workloads: `std::sync::Arc`
//! (the baseline), gc-core's `sync::Gc`, `dumpster::sync::Gc` and
//! gcmodule's `ThreadedCc`, each with the same node shape, built with the
//! crate's own pointer and `Trace` machinery and std's `Mutex` as the cell.
//!
//! - `Node`: a [`Tally`] (an `i64`) + `Mutex<Option<ptr>>` (singly linked;
//!   24-byte payload).

#![allow(dead_code, reason = "the `v` payload fields are written, never read")]

use std::sync::atomic::{AtomicUsize, Ordering};

/// What every `sync_*` workload needs from a contender. Handles are
/// `Send + Sync`: the threaded workloads clone them on several threads.
pub trait SyncContender {
    /// Handle to a singly linked node.
    type Node: Clone + Send + Sync + 'static;
    /// Whether the crate reclaims cycles at all (`Arc` does not).
    const COLLECTS: bool = true;
    /// `Ptr::new(Node { v: Tally(v), next: Mutex::new(next) })`.
    fn node(v: i64, next: Option<Self::Node>) -> Self::Node;
    /// `*n.next.lock().unwrap() = next`.
    fn set_next(n: &Self::Node, next: Option<Self::Node>);
    /// A full, synchronous collection of the crate's thread-safe heap; the
    /// number of objects reclaimed, where the crate reports it.
    fn collect() -> Option<usize> {
        None
    }
    /// Automatic collection on/off (no-op for crates without it).
    fn set_auto(_on: bool) {}
}

/// Rings whose first node (the one with `v == 0`) has been dropped: the
/// check that a collection really freed the garbage it was timed on.
pub static RINGS_FREED: AtomicUsize = AtomicUsize::new(0);

/// A node's payload: an `i64` that counts, when it is dropped with the
/// value 0, one freed ring in [`RINGS_FREED`] (each ring has one node with
/// `v == 0`; the other nodes only pay the comparison).
#[derive(dumpster::Trace)]
pub struct Tally(pub i64);

impl Drop for Tally {
    #[inline]
    fn drop(&mut self) {
        if self.0 == 0 {
            RINGS_FREED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl gcmodule::Trace for Tally {
    fn is_type_tracked() -> bool {
        false
    }
}

/// (key on the command line, name in the tables) of the `sync_*` jobs.
pub const SYNC_CONTENDERS: [(&str, &str); 4] = [
    ("arc", "Arc"),
    ("gc-core", "gc-core sync::Gc"),
    ("dumpster", "dumpster::sync"),
    ("gcmodule", "gcmodule ThreadedCc"),
];

/// Whether this binary has the gc-core `sync` contender (bench feature
/// `gc-core-sync`, default; off for a gc-core from before `sync`).
pub const GC_CORE_SYNC: bool = cfg!(feature = "gc-core-sync");

/// The name of a `sync_*` contender in the tables.
pub fn sync_name(key: &str) -> &'static str {
    SYNC_CONTENDERS
        .iter()
        .find(|c| c.0 == key)
        .map_or("?", |c| c.1)
}

/// `std::sync::Arc` + `std::sync::Mutex`: the baseline; leaks cycles.
pub mod arc {
    use super::Tally;
    use std::sync::{Arc, Mutex};

    pub struct Node {
        pub v: Tally,
        pub next: Mutex<Option<Arc<Node>>>,
    }

    pub struct C;
    impl super::SyncContender for C {
        type Node = Arc<Node>;
        const COLLECTS: bool = false;
        #[inline]
        fn node(v: i64, next: Option<Arc<Node>>) -> Arc<Node> {
            Arc::new(Node {
                v: Tally(v),
                next: Mutex::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Arc<Node>, next: Option<Arc<Node>>) {
            *n.next.lock().unwrap() = next;
        }
    }
}

/// gc-core's `sync::Gc`: one process-wide heap, `sync::collect()`.
#[cfg(feature = "gc-core-sync")]
pub mod gc_core_sync {
    use super::Tally;
    use gc_core::Trace;
    use gc_core::sync::Gc;
    use std::sync::Mutex;

    #[derive(Trace)]
    pub struct Node {
        #[gc(skip)]
        pub v: Tally,
        pub next: Mutex<Option<Gc<Node>>>,
    }

    pub struct C;
    impl super::SyncContender for C {
        type Node = Gc<Node>;
        #[inline]
        fn node(v: i64, next: Option<Gc<Node>>) -> Gc<Node> {
            Gc::new(Node {
                v: Tally(v),
                next: Mutex::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Gc<Node>, next: Option<Gc<Node>>) {
            *n.next.lock().unwrap() = next;
        }
        fn collect() -> Option<usize> {
            Some(gc_core::sync::collect())
        }
        fn set_auto(on: bool) {
            if on {
                gc_core::sync::enable();
            } else {
                gc_core::sync::disable();
            }
        }
    }
}

/// dumpster's `sync::Gc`: per-thread dirty sets delivered to a global
/// "garbage truck"; process-wide counts of existing and dropped `Gc`s are
/// updated, and the collect condition checked, on every drop.
pub mod dumpster_sync {
    use super::Tally;
    use dumpster::Trace;
    use dumpster::sync::{CollectInfo, Gc};
    use std::sync::Mutex;

    #[derive(Trace)]
    pub struct Node {
        pub v: Tally,
        pub next: Mutex<Option<Gc<Node>>>,
    }

    fn never(_: &CollectInfo) -> bool {
        false
    }

    pub struct C;
    impl super::SyncContender for C {
        type Node = Gc<Node>;
        #[inline]
        fn node(v: i64, next: Option<Gc<Node>>) -> Gc<Node> {
            Gc::new(Node {
                v: Tally(v),
                next: Mutex::new(next),
            })
        }
        #[inline]
        fn set_next(n: &Gc<Node>, next: Option<Gc<Node>>) {
            *n.next.lock().unwrap() = next;
        }
        fn collect() -> Option<usize> {
            dumpster::sync::collect();
            None
        }
        fn set_auto(on: bool) {
            dumpster::sync::set_collect_condition(if on {
                dumpster::sync::default_collect_condition
            } else {
                never
            });
        }
    }
}

/// gcmodule's `ThreadedCc` in one process-wide `ThreadedObjectSpace` (its
/// `sync` feature). Values are reached through `borrow()`, which takes the
/// space's collector lock for reading, as every drop does; creating a
/// tracked object locks the space's list. No automatic collection.
pub mod gcmodule_sync {
    use super::Tally;
    use gcmodule::{ThreadedCc, ThreadedObjectSpace, Trace, Tracer};
    use std::sync::{LazyLock, Mutex};

    /// The one space every `ThreadedCc` of the benchmark lives in.
    static SPACE: LazyLock<ThreadedObjectSpace> = LazyLock::new(ThreadedObjectSpace::default);

    pub struct Node {
        pub v: Tally,
        pub next: Mutex<Option<ThreadedCc<Node>>>,
    }
    // Written by hand, as for the unsync `Cc`: gcmodule's derive recurses
    // forever on recursive types.
    impl Trace for Node {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    pub struct C;
    impl super::SyncContender for C {
        type Node = ThreadedCc<Node>;
        #[inline]
        fn node(v: i64, next: Option<ThreadedCc<Node>>) -> ThreadedCc<Node> {
            SPACE.create(Node {
                v: Tally(v),
                next: Mutex::new(next),
            })
        }
        #[inline]
        fn set_next(n: &ThreadedCc<Node>, next: Option<ThreadedCc<Node>>) {
            *n.borrow().next.lock().unwrap() = next;
        }
        fn collect() -> Option<usize> {
            Some(SPACE.collect_cycles())
        }
    }
}
