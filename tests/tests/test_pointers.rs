//! `Gc` and `Weak` as pointers (SPEC.md, "Pointers"): reference counts,
//! weak references, dead handles seen by the drops of cyclic garbage, and
//! the rest of the pointer API (`get_mut`, formatting, comparison, `unsize`).
//!
//! Every test runs its body on a fresh thread (`isolated`), so it starts with
//! an empty heap of its own: absolute counts are meaningful.

use gc_tests::kit::{
    Leaf, Log, Node, Probe, dropped, finalized, link, new_log, node, plink, probe, sorted,
};
use gc_tests::{expect_panic, isolated, message};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use gc_core::{Gc, Trace, Weak, collect, tracked_count};

// --- counting ----------------------------------------------------------------

#[test]
fn refcount_walkthrough() {
    isolated(|| {
        let log = new_log();
        let a = node(&log, 1);
        assert_eq!(Gc::strong_count(&a), 1);
        assert_eq!(Gc::weak_count(&a), 0);
        assert_eq!(tracked_count(), 1);

        let b = a.clone();
        assert_eq!(Gc::strong_count(&a), 2);
        assert!(Gc::ptr_eq(&a, &b));
        assert_eq!(Gc::as_ptr(&a), Gc::as_ptr(&b));
        assert_eq!(Gc::as_ptr(&a), std::ptr::from_ref::<Node>(&a));

        let mut c = b.clone();
        assert_eq!(Gc::strong_count(&a), 3);
        assert!(Gc::ptr_eq(&c, &a));
        let d = node(&log, 2);
        assert!(!Gc::ptr_eq(&a, &d));
        c = d.clone(); // the old handle in `c` is dropped
        assert_eq!(Gc::strong_count(&a), 2);
        assert_eq!(Gc::strong_count(&d), 2);
        assert!(Gc::ptr_eq(&c, &d));

        // An edge is a handle too.
        link(&d, &a);
        assert_eq!(Gc::strong_count(&a), 3);

        drop(b);
        assert_eq!(Gc::strong_count(&a), 2);
        drop(a);
        assert!(log.is_empty(), "`d` still refers to node 1");

        drop(c);
        assert!(log.is_empty());
        // The last handle: 2 is dropped at once, and with it its edge to 1.
        drop(d);
        assert_eq!(log.events(), [2, 1]);
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0, "counting freed everything");
    });
}

#[test]
fn values_are_dropped_once_when_last_handle_goes() {
    isolated(|| {
        let log = new_log();
        let leaf = Gc::new(Leaf {
            id: 7,
            log: log.clone(),
        });
        assert!(!Gc::is_tracked(&leaf));
        assert_eq!(tracked_count(), 0);
        let leaf2 = leaf.clone();
        drop(leaf);
        assert!(log.is_empty());
        drop(leaf2);
        assert_eq!(log.events(), [7]);

        // A chain: each value dropped exactly once, outermost first.
        let n1 = node(&log, 1);
        let n2 = node(&log, 2);
        let n3 = node(&log, 3);
        link(&n1, &n2);
        link(&n2, &n3);
        n3.leaves.borrow_mut().push(Gc::new(Leaf {
            id: 4,
            log: log.clone(),
        }));
        drop((n2, n3));
        assert_eq!(log.events(), [7]);
        drop(n1);
        assert_eq!(log.events(), [7, 1, 2, 3, 4]);
        assert_eq!(tracked_count(), 0);
    });
}

// --- weak references ---------------------------------------------------------------

#[test]
fn weak_api_follows_rc() {
    isolated(|| {
        let empty: Weak<Node> = Weak::new();
        assert!(empty.upgrade().is_none());
        assert_eq!(empty.strong_count(), 0);
        assert_eq!(empty.weak_count(), 0);
        assert!(Weak::<Node>::default().upgrade().is_none());
        assert!(format!("{empty:?}").contains("Weak"));

        let log = new_log();
        let a = node(&log, 1);
        let w = Gc::downgrade(&a);
        let w2 = w.clone();
        assert!(w.ptr_eq(&w2));
        assert!(!w.ptr_eq(&empty));
        assert_eq!(Gc::weak_count(&a), 2);
        assert_eq!(w.weak_count(), 2);
        assert_eq!(w.strong_count(), 1);
        let up = w.upgrade().unwrap();
        assert!(Gc::ptr_eq(&up, &a));
        assert_eq!(w.strong_count(), 2);
        drop((up, a));
        assert_eq!(log.events(), [1], "a weak does not keep the value alive");
        assert!(w.upgrade().is_none());
        assert_eq!(w.strong_count(), 0);
        assert_eq!(w.weak_count(), 0);
        drop(w);
        drop(w2); // the memory is freed with the last weak

        // Weak to an untracked value.
        let leaf = Gc::new(5_u64);
        let wl = Gc::downgrade(&leaf);
        assert_eq!(wl.upgrade().as_deref(), Some(&5));
        drop(leaf);
        assert!(wl.upgrade().is_none());
    });
}

#[test]
fn weak_refs_to_garbage_are_cleared_before_finalizers_run() {
    isolated(|| {
        let log = new_log();
        let weaks: Rc<RefCell<Vec<Weak<Probe>>>> = Rc::default();
        let seen: Rc<RefCell<Vec<bool>>> = Rc::default();
        let mut ring = Vec::new();
        for id in 1..=3 {
            let (weaks, seen) = (weaks.clone(), seen.clone());
            ring.push(
                probe(&log, id)
                    .on_finalize(move |_| {
                        for w in weaks.borrow().iter() {
                            seen.borrow_mut().push(w.upgrade().is_some());
                        }
                    })
                    .build(),
            );
        }
        // A garbage member without a finalizer.
        ring.push(probe(&log, 4).build());
        for i in 0..4 {
            plink(&ring[i], &ring[(i + 1) % 4]);
            weaks.borrow_mut().push(Gc::downgrade(&ring[i]));
        }
        drop(ring);
        assert_eq!(collect(), 4);
        assert_eq!(*seen.borrow(), [false; 12]);
        assert_eq!(finalized(&log), [1, 2, 3]);
        assert_eq!(dropped(&log), [1, 2, 3, 4]);
        for w in weaks.borrow().iter() {
            assert!(w.upgrade().is_none());
            assert_eq!(w.strong_count(), 0);
        }
    });
}

// --- dead handles ------------------------------------------------------------------

type Seen = (u32, bool, Option<u32>, Result<u32, String>);

#[derive(Trace)]
struct Peer {
    id: u32,
    log: Log,
    other: RefCell<Option<Gc<Peer>>>,
    seen: Rc<RefCell<Vec<Seen>>>,
    stash: Rc<RefCell<Vec<Gc<Peer>>>>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(o) = self.other.borrow().as_ref() {
            let dead = Gc::is_dead(o);
            let via_try = Gc::try_deref(o).map(|p| p.id);
            let via_deref =
                panic::catch_unwind(AssertUnwindSafe(|| o.id)).map_err(|p| message(&*p));
            self.seen
                .borrow_mut()
                .push((self.id, dead, via_try, via_deref));
            // Keeps a handle past the collection: it must stay valid memory.
            self.stash.borrow_mut().push(o.clone());
        }
        self.log.push(self.id);
    }
}

#[test]
fn drop_of_cyclic_garbage_sees_dead_handles() {
    isolated(|| {
        let log = new_log();
        let seen: Rc<RefCell<Vec<Seen>>> = Rc::default();
        let stash: Rc<RefCell<Vec<Gc<Peer>>>> = Rc::default();
        let mk = |id| {
            Gc::new(Peer {
                id,
                log: log.clone(),
                other: RefCell::new(None),
                seen: seen.clone(),
                stash: stash.clone(),
            })
        };
        let a = mk(1);
        let b = mk(2);
        *a.other.borrow_mut() = Some(b.clone());
        *b.other.borrow_mut() = Some(a.clone());
        drop((a, b));
        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [1, 2]);

        let seen = seen.borrow().clone();
        assert_eq!(seen.len(), 2);
        // All the garbage is dead before the first value is dropped: each
        // `Drop` sees a dead handle, so none can borrow a value dropped after
        // it.
        for (_, dead, via_try, via_deref) in &seen {
            assert!(*dead, "{seen:?}");
            assert_eq!(*via_try, None);
            let msg = via_deref.clone().unwrap_err();
            assert!(msg.contains("dead handle"), "panic message: {msg}");
        }

        // Handles kept past the collection are dead, and valid memory.
        let kept = std::mem::take(&mut *stash.borrow_mut());
        assert_eq!(kept.len(), 2);
        for h in &kept {
            assert!(Gc::is_dead(h));
            assert!(Gc::try_deref(h).is_none());
            assert_eq!(Gc::strong_count(h), 1);
            assert!(Gc::downgrade(h).upgrade().is_none());
            let msg = expect_panic(|| h.id);
            assert!(msg.contains("dead handle"), "panic message: {msg}");
            let copy = h.clone();
            assert!(Gc::is_dead(&copy));
        }
        drop(kept);
        assert_eq!(sorted(&log), [1, 2], "never dropped twice");
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
    });
}

// --- the rest of the pointer API ---------------------------------------------------

#[test]
fn get_mut_while_collecting_and_rejoining() {
    isolated(|| {
        let log = new_log();
        let mut a = node(&log, 1);
        {
            let m = Gc::get_mut(&mut a).expect("unique");
            // A collection while the &mut lives must not look at the value.
            assert_eq!(collect(), 0);
            m.id = 2;
            m.edges.get_mut().clear();
        }
        assert_eq!(a.id, 2);
        link(&a, &a); // clone: the object rejoins the collector
        assert!(Gc::get_mut(&mut a).is_none());
        assert!(Gc::is_tracked(&a));
        drop(a);
        assert_eq!(collect(), 1);
        assert_eq!(log.events(), [2]);

        // A weak handle also forbids get_mut.
        let mut b = node(&log, 3);
        let w = Gc::downgrade(&b);
        assert!(Gc::get_mut(&mut b).is_none());
        drop(w);
        assert!(Gc::get_mut(&mut b).is_some());
        let c = node(&log, 4);
        // Moved (not cloned) into a traced value: the next trace finds it and
        // it rejoins the collector.
        c.edges.borrow_mut().push(b);
        link(&c, &c);
        assert_eq!(collect(), 0);
        assert_eq!(tracked_count(), 2);
        drop(c);
        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [2, 3, 4]);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn formatting_and_comparison_delegate_like_rc() {
    use std::borrow::Borrow;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    isolated(|| {
        let a = Gc::new(5_i32);
        let b = Gc::new(7_i32);
        assert_eq!(format!("{a:?} {a}"), "5 5");
        assert!(a < b && a != b && a == Gc::new(5));
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Less);
        let hash = |x: &dyn Fn(&mut DefaultHasher)| {
            let mut s = DefaultHasher::new();
            x(&mut s);
            s.finish()
        };
        assert_eq!(hash(&|s| a.hash(s)), hash(&|s| 5_i32.hash(s)));
        assert_eq!(
            format!("{a:p}"),
            format!("{:p}", Gc::as_ptr(&a)),
            "Pointer formats the value's address"
        );
        let empty: Gc<Vec<u8>> = Gc::default();
        assert!(empty.is_empty());
        let nine: Gc<i32> = Gc::from(9);
        assert_eq!(*nine, 9);
        let r: &i32 = nine.as_ref();
        assert_eq!(*r, 9);
        let bo: &i32 = nine.borrow();
        assert_eq!(*bo, 9);
        let s: Gc<str> = Gc::from(String::from("abc"));
        assert_eq!(format!("{s}"), "abc");
    });
}

/// A `Drop` type whose only field sits at offset 0 with the type's size.
#[derive(Trace)]
struct Wrapper {
    inner: Vec<u32>,
}

impl Drop for Wrapper {
    fn drop(&mut self) {
        self.inner.clear();
        WRAPPER_DROPS.with(|d| d.set(d.get() + 1));
    }
}

thread_local!(static WRAPPER_DROPS: Cell<usize> = const { Cell::new(0) });

trait Named: Trace {
    fn name(&self) -> &'static str;
}

impl Named for Wrapper {
    fn name(&self) -> &'static str {
        "wrapper"
    }
}

impl Named for Vec<u32> {
    fn name(&self) -> &'static str {
        "vec"
    }
}

#[test]
fn unsize_takes_the_value_itself_only() {
    isolated(|| {
        let g = Gc::new(Wrapper {
            inner: vec![1, 2, 3],
        });
        // A field with the value's address and size is not the value: the
        // `Gc` would skip `Wrapper::drop`, and `try_unwrap` would move the
        // field out of a `Drop` type.
        let m = expect_panic(|| Gc::unsize::<Vec<u32>>(g.clone(), |w| &w.inner));
        assert!(
            m.contains("the closure must return the value itself"),
            "{m}"
        );
        let m = expect_panic(|| Gc::unsize::<dyn Named>(g.clone(), |w| &w.inner));
        assert!(
            m.contains("the closure must return the value itself"),
            "{m}"
        );
        assert_eq!(Gc::strong_count(&g), 1);
        assert_eq!(WRAPPER_DROPS.with(Cell::get), 0);

        // The value itself, to a trait object: dropped as a `Wrapper`.
        let n = Gc::unsize::<dyn Named>(g, |x| x);
        assert_eq!(n.name(), "wrapper");
        drop(n);
        assert_eq!(WRAPPER_DROPS.with(Cell::get), 1);

        // An array to a slice.
        let s = Gc::unsize::<[u32]>(Gc::new([4, 5]), |x| x);
        assert_eq!(&*s, [4, 5]);
    });
}
