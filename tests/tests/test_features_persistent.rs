//! gc-core's `imbl` and `rpds` features (`test_features.rs` has the owned
//! containers): a cycle through one of their shared (persistent)
//! collections is not collected, as documented, and is broken by hand.
//!
//! Each test runs on its own thread (`isolated`), so it has its own heap:
//! `collect()` counts only that test's garbage, and the counts asserted are
//! exact.
#![deny(warnings, clippy::pedantic)]

use std::cell::RefCell;

use gc_core::{Gc, Trace, collect};
use gc_tests::isolated;

// --- helpers -----------------------------------------------------------------

/// Builds two `N`s (ids 0 and 1) that point at each other through `link`, in
/// a container that shares its nodes (`imbl`, `rpds`), and drops every
/// handle: the container reports nothing, so the cycle is NOT collected
/// (the documented leak); `unlink` then breaks it by hand, which frees both.
///
/// The node types are tracked all the same: they name themselves inside a
/// container the derive cannot see into, so it answers "tracked" without
/// asking (`persistent_containers_are_untracked` checks the containers'
/// own answer).
fn two_cycle_leaks<N: Trace + 'static>(new: fn(u32) -> N, link: fn(&N, Gc<N>), unlink: fn(&N)) {
    let a = Gc::new(new(0));
    let b = Gc::new(new(1));
    link(&a, b.clone());
    link(&b, a.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    assert_eq!(collect(), 0, "a cycle through a shared collection leaks");
    let a = wa.upgrade().expect("the leaked cycle is still alive");
    assert!(wb.upgrade().is_some());
    unlink(&a); // drops the handle to `b`, which drops its handle to `a`
    drop(a);
    assert!(wa.upgrade().is_none());
    assert!(wb.upgrade().is_none());
}

// --- imbl: shared nodes, documented leak ---------------------------------------

#[derive(Trace)]
struct ImVec {
    v: RefCell<imbl::Vector<Gc<ImVec>>>,
}

#[derive(Trace)]
struct ImHashMap {
    m: RefCell<imbl::HashMap<u32, Gc<ImHashMap>>>,
}

#[derive(Trace)]
struct ImHashSet {
    id: u32,
    s: RefCell<imbl::HashSet<Gc<ImHashSet>>>,
}

#[derive(Trace)]
struct ImOrdMap {
    m: RefCell<imbl::OrdMap<u32, Gc<ImOrdMap>>>,
}

#[derive(Trace)]
struct ImOrdSet {
    id: u32,
    s: RefCell<imbl::OrdSet<Gc<ImOrdSet>>>,
}

gc_tests::by_id!(ImHashSet, ImOrdSet);

#[test]
fn imbl_vector_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| ImVec {
                v: RefCell::default(),
            },
            |n, to| n.v.borrow_mut().push_back(to),
            |n| n.v.borrow_mut().clear(),
        );
    });
}

#[test]
fn imbl_hash_map_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| ImHashMap {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(0, to);
            },
            |n| n.m.borrow_mut().clear(),
        );
    });
}

#[test]
fn imbl_hash_set_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |id| ImHashSet {
                id,
                s: RefCell::default(),
            },
            |n, to| {
                n.s.borrow_mut().insert(to);
            },
            |n| n.s.borrow_mut().clear(),
        );
    });
}

#[test]
fn imbl_ord_map_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| ImOrdMap {
                m: RefCell::default(),
            },
            |n, to| {
                n.m.borrow_mut().insert(0, to);
            },
            |n| n.m.borrow_mut().clear(),
        );
    });
}

#[test]
fn imbl_ord_set_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |id| ImOrdSet {
                id,
                s: RefCell::default(),
            },
            |n, to| {
                n.s.borrow_mut().insert(to);
            },
            |n| n.s.borrow_mut().clear(),
        );
    });
}

// --- rpds: shared nodes, documented leak ---------------------------------------

#[derive(Trace)]
struct RpList {
    l: RefCell<rpds::List<Gc<RpList>>>,
}

#[derive(Trace)]
struct RpVector {
    v: RefCell<rpds::Vector<Gc<RpVector>>>,
}

#[derive(Trace)]
struct RpStack {
    s: RefCell<rpds::Stack<Gc<RpStack>>>,
}

#[derive(Trace)]
struct RpQueue {
    q: RefCell<rpds::Queue<Gc<RpQueue>>>,
}

/// With the `Sync` (`Arc`-based) pointer kind.
#[derive(Trace)]
struct RpHashTrieMap {
    m: RefCell<rpds::HashTrieMapSync<u32, Gc<RpHashTrieMap>>>,
}

#[derive(Trace)]
struct RpHashTrieSet {
    id: u32,
    s: RefCell<rpds::HashTrieSet<Gc<RpHashTrieSet>>>,
}

#[derive(Trace)]
struct RpRedBlackTreeMap {
    m: RefCell<rpds::RedBlackTreeMap<u32, Gc<RpRedBlackTreeMap>>>,
}

#[derive(Trace)]
struct RpRedBlackTreeSet {
    id: u32,
    s: RefCell<rpds::RedBlackTreeSet<Gc<RpRedBlackTreeSet>>>,
}

gc_tests::by_id!(RpHashTrieSet, RpRedBlackTreeSet);

#[test]
fn rpds_list_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| RpList {
                l: RefCell::default(),
            },
            |n, to| n.l.borrow_mut().push_front_mut(to),
            |n| *n.l.borrow_mut() = rpds::List::new(),
        );
    });
}

#[test]
fn rpds_vector_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| RpVector {
                v: RefCell::default(),
            },
            |n, to| n.v.borrow_mut().push_back_mut(to),
            |n| *n.v.borrow_mut() = rpds::Vector::new(),
        );
    });
}

#[test]
fn rpds_stack_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| RpStack {
                s: RefCell::default(),
            },
            |n, to| n.s.borrow_mut().push_mut(to),
            |n| *n.s.borrow_mut() = rpds::Stack::new(),
        );
    });
}

#[test]
fn rpds_queue_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| RpQueue {
                q: RefCell::default(),
            },
            |n, to| n.q.borrow_mut().enqueue_mut(to),
            |n| *n.q.borrow_mut() = rpds::Queue::new(),
        );
    });
}

#[test]
fn rpds_hash_trie_map_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| RpHashTrieMap {
                m: RefCell::new(rpds::HashTrieMapSync::new_sync()),
            },
            |n, to| n.m.borrow_mut().insert_mut(0, to),
            |n| *n.m.borrow_mut() = rpds::HashTrieMapSync::new_sync(),
        );
    });
}

#[test]
fn rpds_hash_trie_set_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |id| RpHashTrieSet {
                id,
                s: RefCell::default(),
            },
            |n, to| n.s.borrow_mut().insert_mut(to),
            |n| *n.s.borrow_mut() = rpds::HashTrieSet::new(),
        );
    });
}

#[test]
fn rpds_red_black_tree_map_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |_| RpRedBlackTreeMap {
                m: RefCell::default(),
            },
            |n, to| n.m.borrow_mut().insert_mut(0, to),
            |n| *n.m.borrow_mut() = rpds::RedBlackTreeMap::new(),
        );
    });
}

#[test]
fn rpds_red_black_tree_set_cycle_leaks() {
    isolated(|| {
        two_cycle_leaks(
            |id| RpRedBlackTreeSet {
                id,
                s: RefCell::default(),
            },
            |n, to| n.s.borrow_mut().insert_mut(to),
            |n| *n.s.borrow_mut() = rpds::RedBlackTreeSet::new(),
        );
    });
}

/// The persistent containers answer "untracked" as `Rc` does, whatever they
/// hold, and so does a derived type whose fields are only such containers.
#[test]
fn persistent_containers_are_untracked() {
    #[derive(Trace)]
    struct Holder {
        v: RefCell<imbl::Vector<Gc<u32>>>,
        l: rpds::List<Gc<u32>>,
    }
    isolated(|| {
        let x = Gc::new(7);
        assert!(!Gc::is_tracked(&Gc::new(imbl::Vector::from(vec![
            x.clone()
        ]))));
        assert!(!Gc::is_tracked(&Gc::new(imbl::OrdMap::unit(0, x.clone()))));
        assert!(!Gc::is_tracked(&Gc::new(
            rpds::List::new().push_front(x.clone())
        )));
        assert!(!Gc::is_tracked(&Gc::new(
            rpds::HashTrieMapSync::new_sync().insert(0, x.clone())
        )));
        let h = Gc::new(Holder {
            v: RefCell::new(imbl::Vector::unit(x.clone())),
            l: rpds::List::new().push_front(x),
        });
        assert!(!Gc::is_tracked(&h));
        assert_eq!((h.v.borrow().len(), h.l.len()), (1, 1));
    });
}
