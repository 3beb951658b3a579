//! The cycle collector frees cyclic garbage (SPEC.md, "The collector"):
//! cycles of every length and shape, across generations, and through every
//! std container, trait object and slice with a `Trace` impl.
//!
//! Every test runs its body on a fresh thread (`isolated`), so it starts with
//! an empty heap of its own: absolute counts are meaningful.

use gc_tests::isolated;
use gc_tests::kit::{Leaf, Log, Node, link, new_log, node, sorted};
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::rc::Rc;
use std::sync::{Mutex, RwLock};

use gc_core::{Gc, Trace, Weak, collect, collect_generation, tracked_count};

// --- cycles --------------------------------------------------------------------

#[test]
fn self_cycle_is_collected() {
    isolated(|| {
        let log = new_log();
        let a = node(&log, 1);
        link(&a, &a);
        assert_eq!(Gc::strong_count(&a), 2);
        assert_eq!(collect(), 0, "reachable: not garbage");
        drop(a);
        assert!(log.is_empty(), "counting alone cannot free a cycle");
        assert_eq!(tracked_count(), 1);
        assert_eq!(collect(), 1);
        assert_eq!(log.events(), [1]);
        assert_eq!(tracked_count(), 0);
        assert_eq!(collect(), 0);
    });
}

#[test]
fn two_cycle_is_collected() {
    isolated(|| {
        let log = new_log();
        let a = node(&log, 1);
        let b = node(&log, 2);
        link(&a, &b);
        link(&b, &a);
        drop(a);
        assert_eq!(collect(), 0, "b still holds the cycle from outside");
        assert!(log.is_empty());
        drop(b);
        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [1, 2]);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn ring_of_10_000_is_collected() {
    isolated(|| {
        let log = new_log();
        let first = node(&log, 0);
        let mut prev = first.clone();
        for i in 1..10_000 {
            let n = node(&log, i);
            link(&prev, &n);
            prev = n;
        }
        link(&prev, &first);
        drop(prev);
        assert_eq!(collect(), 0);
        assert!(log.is_empty());
        drop(first);
        assert_eq!(collect(), 10_000);
        assert_eq!(sorted(&log), (0..10_000).collect::<Vec<_>>());
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn reachable_cycles_are_intact_after_collection() {
    isolated(|| {
        let log = new_log();
        let root = node(&log, 0);
        let a = node(&log, 1);
        let b = node(&log, 2);
        link(&root, &a);
        link(&a, &b);
        link(&b, &a);
        let wa = Gc::downgrade(&a);
        drop((a, b));

        // A garbage cycle that points into the live one.
        let g1 = node(&log, 10);
        let g2 = node(&log, 11);
        link(&g1, &g2);
        link(&g2, &g1);
        link(&g2, &root.edges.borrow()[0]);
        drop((g1, g2));

        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [10, 11]);
        let a = wa.upgrade().expect("a survives");
        assert_eq!(a.id, 1);
        assert_eq!(Gc::strong_count(&a), 3, "root, b and the upgraded handle");
        let b = a.edges.borrow()[0].clone();
        assert_eq!(b.id, 2);
        assert!(Gc::ptr_eq(&b.edges.borrow()[0], &a));
        assert!(Gc::ptr_eq(&root.edges.borrow()[0], &a));
        assert!(!Gc::is_dead(&a) && !Gc::is_dead(&b));
        drop((a, b));

        // Collecting again (now old objects) changes nothing.
        assert_eq!(collect(), 0);
        assert_eq!(collect_generation(0), 0);
        assert_eq!(sorted(&log), [10, 11]);

        drop(root);
        assert_eq!(log.events(), [10, 11, 0], "root freed by counting");
        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [0, 1, 2, 10, 11]);
    });
}

#[test]
fn garbage_hanging_off_a_cycle_is_collected() {
    isolated(|| {
        let log = new_log();
        let a = node(&log, 1);
        let b = node(&log, 2);
        link(&a, &b);
        link(&b, &a);
        // b -> c -> d -> e, acyclic, each with an untracked leaf.
        let mut prev = b.clone();
        for id in 3..=5 {
            let n = node(&log, id);
            n.leaves.borrow_mut().push(Gc::new(Leaf {
                id: id + 100,
                log: log.clone(),
            }));
            link(&prev, &n);
            prev = n;
        }
        drop(prev);
        assert_eq!(tracked_count(), 5);
        drop((a, b));
        assert!(log.is_empty());
        // Only tracked objects are counted; the leaves go with their owners.
        assert_eq!(collect(), 5);
        assert_eq!(sorted(&log), [1, 2, 3, 4, 5, 103, 104, 105]);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn cycle_split_across_generations() {
    isolated(|| {
        let log = new_log();
        let old = node(&log, 1);
        assert_eq!(collect(), 0); // `old` is now in generation 2
        let young = node(&log, 2);
        link(&old, &young);
        link(&young, &old);
        drop((old, young));
        assert_eq!(
            collect_generation(0),
            0,
            "the young half is referenced from the unexamined old half"
        );
        assert_eq!(collect_generation(1), 0);
        assert!(log.is_empty());
        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [1, 2]);
    });
}

#[test]
fn survivors_move_up_one_generation() {
    isolated(|| {
        let log = new_log();
        let a = node(&log, 1);
        link(&a, &a);
        assert_eq!(collect_generation(0), 0); // a: generation 0 -> 1
        drop(a);
        assert_eq!(collect_generation(0), 0, "a is no longer young");
        assert_eq!(collect_generation(1), 1);
        assert_eq!(log.events(), [1]);

        let b = node(&log, 2);
        link(&b, &b);
        assert_eq!(collect_generation(0), 0); // -> 1
        assert_eq!(collect_generation(1), 0); // -> 2
        drop(b);
        assert_eq!(collect_generation(0), 0);
        assert_eq!(collect_generation(1), 0);
        assert_eq!(collect_generation(2), 1);
        assert_eq!(log.events(), [1, 2]);
    });
}

// --- containers ------------------------------------------------------------------

/// A node that can hold edges in every std container with a `Trace` impl.
#[derive(Trace)]
#[expect(clippy::linkedlist, reason = "LinkedList implements Trace: test it")]
struct Multi {
    id: u32,
    log: Log,
    vec: RefCell<Vec<Gc<Multi>>>,
    deque: RefCell<VecDeque<Gc<Multi>>>,
    list: RefCell<LinkedList<Gc<Multi>>>,
    heap: RefCell<BinaryHeap<Gc<Multi>>>,
    hash_values: RefCell<HashMap<u32, Gc<Multi>>>,
    hash_keys: RefCell<HashMap<Gc<Multi>, u32>>,
    hash_set: RefCell<HashSet<Gc<Multi>>>,
    btree_values: RefCell<BTreeMap<u32, Gc<Multi>>>,
    btree_keys: RefCell<BTreeMap<Gc<Multi>, u32>>,
    btree_set: RefCell<BTreeSet<Gc<Multi>>>,
    option: RefCell<Option<Gc<Multi>>>,
    boxed: RefCell<Option<Box<Gc<Multi>>>>,
    result_ok: RefCell<Result<Gc<Multi>, u32>>,
    result_err: RefCell<Result<u32, Gc<Multi>>>,
    tuple: RefCell<Option<(u32, String, Gc<Multi>)>>,
    array: RefCell<[Option<Gc<Multi>>; 3]>,
    once: OnceCell<Gc<Multi>>,
    mutex: Mutex<Option<Gc<Multi>>>,
    rwlock: RwLock<Option<Gc<Multi>>>,
    nested: RefCell<Vec<HashMap<String, Option<Gc<Multi>>>>>,
    boxed_slice: RefCell<Option<Box<[Gc<Multi>]>>>,
    pinned: RefCell<Option<std::pin::Pin<Box<Gc<Multi>>>>>,
    once_lock: std::sync::OnceLock<Gc<Multi>>,
    reverse: RefCell<Option<std::cmp::Reverse<Gc<Multi>>>>,
    cow: RefCell<Option<std::borrow::Cow<'static, [Gc<Multi>]>>>,
    rc: RefCell<Option<Rc<Gc<Multi>>>>,
    weak: RefCell<Option<Weak<Multi>>>,
}

gc_tests::by_id!(Multi);

impl Drop for Multi {
    fn drop(&mut self) {
        self.log.push(self.id);
    }
}

fn multi(log: &Log, id: u32) -> Gc<Multi> {
    Gc::new(Multi {
        id,
        log: log.clone(),
        vec: RefCell::default(),
        deque: RefCell::default(),
        list: RefCell::default(),
        heap: RefCell::default(),
        hash_values: RefCell::default(),
        hash_keys: RefCell::default(),
        hash_set: RefCell::default(),
        btree_values: RefCell::default(),
        btree_keys: RefCell::default(),
        btree_set: RefCell::default(),
        option: RefCell::default(),
        boxed: RefCell::default(),
        result_ok: RefCell::new(Err(0)),
        result_err: RefCell::new(Ok(0)),
        tuple: RefCell::default(),
        array: RefCell::default(),
        once: OnceCell::new(),
        mutex: Mutex::default(),
        rwlock: RwLock::default(),
        nested: RefCell::default(),
        boxed_slice: RefCell::default(),
        pinned: RefCell::default(),
        once_lock: std::sync::OnceLock::new(),
        reverse: RefCell::default(),
        cow: RefCell::default(),
        rc: RefCell::default(),
        weak: RefCell::default(),
    })
}

type Linker = fn(&Gc<Multi>, Gc<Multi>);

const CONTAINERS: [(&str, Linker); 25] = [
    ("Vec", |a, b| a.vec.borrow_mut().push(b)),
    ("VecDeque", |a, b| a.deque.borrow_mut().push_front(b)),
    ("LinkedList", |a, b| a.list.borrow_mut().push_back(b)),
    ("BinaryHeap", |a, b| a.heap.borrow_mut().push(b)),
    ("HashMap value", |a, b| {
        a.hash_values.borrow_mut().insert(1, b);
    }),
    ("HashMap key", |a, b| {
        a.hash_keys.borrow_mut().insert(b, 1);
    }),
    ("HashSet", |a, b| {
        a.hash_set.borrow_mut().insert(b);
    }),
    ("BTreeMap value", |a, b| {
        a.btree_values.borrow_mut().insert(1, b);
    }),
    ("BTreeMap key", |a, b| {
        a.btree_keys.borrow_mut().insert(b, 1);
    }),
    ("BTreeSet", |a, b| {
        a.btree_set.borrow_mut().insert(b);
    }),
    ("Option", |a, b| *a.option.borrow_mut() = Some(b)),
    ("Box", |a, b| *a.boxed.borrow_mut() = Some(Box::new(b))),
    ("Result::Ok", |a, b| *a.result_ok.borrow_mut() = Ok(b)),
    ("Result::Err", |a, b| *a.result_err.borrow_mut() = Err(b)),
    ("tuple", |a, b| {
        *a.tuple.borrow_mut() = Some((1, "x".into(), b));
    }),
    ("array", |a, b| a.array.borrow_mut()[2] = Some(b)),
    ("OnceCell", |a, b| {
        assert!(a.once.set(b).is_ok());
    }),
    ("Mutex", |a, b| *a.mutex.lock().unwrap() = Some(b)),
    ("RwLock", |a, b| *a.rwlock.write().unwrap() = Some(b)),
    ("nested", |a, b| {
        let mut m = HashMap::new();
        m.insert("k".to_owned(), Some(b));
        a.nested.borrow_mut().push(m);
    }),
    ("Box<[T]>", |a, b| {
        *a.boxed_slice.borrow_mut() = Some(vec![b].into_boxed_slice());
    }),
    ("Pin<Box<T>>", |a, b| {
        *a.pinned.borrow_mut() = Some(Box::pin(b));
    }),
    ("OnceLock", |a, b| {
        assert!(a.once_lock.set(b).is_ok());
    }),
    ("Reverse", |a, b| {
        *a.reverse.borrow_mut() = Some(std::cmp::Reverse(b));
    }),
    ("Cow", |a, b| {
        *a.cow.borrow_mut() = Some(std::borrow::Cow::Owned(vec![b]));
    }),
];

#[test]
fn cycles_through_every_std_container_are_collected() {
    isolated(|| {
        for (i, (name, linker)) in CONTAINERS.iter().enumerate() {
            let log = new_log();
            let base = u32::try_from(i).unwrap() * 10;
            // A self-cycle and a 2-cycle through this container.
            let s = multi(&log, base);
            linker(&s, s.clone());
            let a = multi(&log, base + 1);
            let b = multi(&log, base + 2);
            linker(&a, b.clone());
            linker(&b, a.clone());
            assert!(Gc::is_tracked(&s), "{name}");
            assert_eq!(Gc::strong_count(&s), 2, "{name}");
            drop((s, a, b));
            assert!(log.is_empty(), "{name}: freed without a collection");
            assert_eq!(collect(), 3, "{name}");
            assert_eq!(sorted(&log), [base, base + 1, base + 2], "{name}");
            assert_eq!(tracked_count(), 0, "{name}");
        }
    });
}

#[test]
fn cycle_through_rc_leaks_but_is_never_freed_early() {
    isolated(|| {
        let log = new_log();
        let a = multi(&log, 1);
        let b = multi(&log, 2);
        *a.rc.borrow_mut() = Some(Rc::new(b.clone()));
        *b.option.borrow_mut() = Some(a.clone());
        let wb = Gc::downgrade(&b);
        drop((a, b));
        // The edge behind the Rc is not traced: it counts as a root.
        assert_eq!(collect(), 0);
        assert_eq!(collect(), 0);
        assert!(log.is_empty());
        let b = wb.upgrade().expect("kept alive");
        let a = b.option.borrow().clone().unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        // Breaking the cycle by hand frees it by counting.
        *a.rc.borrow_mut() = None;
        drop(b);
        assert!(log.contains(2));
        drop(a);
        assert_eq!(sorted(&log), [1, 2]);
    });
}

#[test]
fn weak_edges_do_not_form_cycles() {
    isolated(|| {
        let log = new_log();
        let a = multi(&log, 1);
        *a.weak.borrow_mut() = Some(Gc::downgrade(&a));
        let b = multi(&log, 2);
        *b.weak.borrow_mut() = Some(Gc::downgrade(&a));
        *a.option.borrow_mut() = Some(b.clone());
        drop(b);
        drop(a);
        assert_eq!(log.events(), [1, 2], "freed by counting alone");
        assert_eq!(collect(), 0);
    });
}

trait Shape: Trace {
    fn id(&self) -> u32;
    fn set_next(&self, next: Gc<dyn Shape>);
}

#[derive(Trace)]
struct Circle {
    id: u32,
    log: Log,
    next: RefCell<Option<Gc<dyn Shape>>>,
    boxed: RefCell<Option<Box<dyn Shape>>>,
}

impl Drop for Circle {
    fn drop(&mut self) {
        self.log.push(self.id);
    }
}

impl Shape for Circle {
    fn id(&self) -> u32 {
        self.id
    }
    fn set_next(&self, next: Gc<dyn Shape>) {
        *self.next.borrow_mut() = Some(next);
    }
}

fn circle(log: &Log, id: u32) -> Gc<dyn Shape> {
    let b: Box<dyn Shape> = Box::new(Circle {
        id,
        log: log.clone(),
        next: RefCell::new(None),
        boxed: RefCell::new(None),
    });
    Gc::from(b)
}

#[derive(Trace)]
struct SliceHolder {
    id: u32,
    log: Log,
    slot: RefCell<Option<Gc<[Gc<SliceHolder>]>>>,
}

impl Drop for SliceHolder {
    fn drop(&mut self) {
        self.log.push(self.id);
    }
}

#[test]
fn cycles_through_trait_objects_and_slices_are_collected() {
    isolated(|| {
        let log = new_log();
        let a = circle(&log, 1);
        let b = circle(&log, 2);
        assert!(Gc::is_tracked(&a));
        a.set_next(b.clone());
        b.set_next(a.clone());
        assert_eq!(a.id() + b.id(), 3);
        drop((a, b));
        assert_eq!(collect(), 2);
        assert_eq!(sorted(&log), [1, 2]);

        // A slice `Gc<[Gc<T>]>` closing a cycle.
        let log = new_log();
        let h = Gc::new(SliceHolder {
            id: 1,
            log: log.clone(),
            slot: RefCell::new(None),
        });
        let s: Gc<[Gc<SliceHolder>]> = Gc::from(vec![h.clone(), h.clone()]);
        assert!(Gc::is_tracked(&s));
        *h.slot.borrow_mut() = Some(s);
        drop(h);
        assert_eq!(collect(), 2, "the holder and the slice");
        assert_eq!(log.events(), [1]);

        // `Gc<Gc<T>>` and `Gc<str>` as parts of a graph.
        let log = new_log();
        let inner = node(&log, 1);
        let outer: Gc<Gc<Node>> = Gc::new(inner.clone());
        assert!(Gc::is_tracked(&outer));
        let s: Gc<str> = Gc::from("text");
        assert!(!Gc::is_tracked(&s));
        assert_eq!(&*s, "text");
        drop(inner);
        assert!(log.is_empty());
        drop(outer);
        assert_eq!(log.events(), [1]);
    });
}
