//! `gc_core::sync` on the shared heap: handles are `Send + Sync`; PEP 442
//! finalizers and resurrection; dead handles; `new_cyclic`, `get_mut`,
//! `make_mut`, `try_unwrap`; `Gc<dyn Trait>` and `unsize`; `Gc<[T]>`,
//! `Gc<str>` and `Gc<dyn Trait>` from `Box`, `Vec`, slices, iterators and
//! strings, sent across threads; the
//! configuration and statistics; `Drop` and finalizers that allocate,
//! collect or panic during a collection.
//!
//! The cross-thread behaviour (cycles built on several threads, cells
//! locked elsewhere, blocked threads, churn, thread exit, races) is in
//! `test_sync_threads.rs`, stack safety in `test_sync_stack.rs`.
//!
//! The tests of one binary share the one process-wide heap, so each takes
//! [`serial`] first: no other test's collection frees (or is still freeing)
//! its garbage while it counts drops. Every assertion is on the test's own
//! drop and finalizer counters, never on a timing.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use gc_core::sync::{self, Gc, Weak, collect};
use gc_core::{Finalize, Trace};

/// Serialises this file's tests (they share the heap), and starts each with
/// no garbage left over.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let g = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    while collect() != 0 {}
    g
}

/// A generous bound for something that must not block: the tests fail
/// after it instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `collect()` on a helper thread and returns its result, or fails the
/// test if it does not return within [`PATIENCE`] (a deadlock).
fn collect_elsewhere() -> usize {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(collect()).unwrap());
    rx.recv_timeout(PATIENCE)
        .expect("sync::collect() did not return: it waits for a lock or a thread")
}

/// The message of a caught panic.
fn message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// A node of the shared heap that counts its drops.
#[derive(Trace)]
struct Node {
    value: usize,
    next: Mutex<Option<Gc<Node>>>,
    #[gc(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn node(value: usize, drops: &'static AtomicUsize) -> Gc<Node> {
    Gc::new(Node {
        value,
        next: Mutex::new(None),
        drops,
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    *from.next.lock().unwrap() = Some(to.clone());
}

/// A ring of `n` nodes valued `0..n`: all its members.
fn ring(n: usize, drops: &'static AtomicUsize) -> Vec<Gc<Node>> {
    let nodes: Vec<Gc<Node>> = (0..n).map(|i| node(i, drops)).collect();
    for i in 0..n {
        link(&nodes[i], &nodes[(i + 1) % n]);
    }
    nodes
}

fn assert_send_sync<T: Send + Sync>() {}

trait Shape: Trace + Send + Sync {
    fn area(&self) -> usize;

    fn link(&self) -> Option<&Mutex<Option<Gc<dyn Shape>>>> {
        None
    }
}

#[test]
fn handles_are_send_and_sync() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    assert_send_sync::<Gc<Node>>();
    assert_send_sync::<Weak<Node>>();
    assert_send_sync::<Gc<i32>>();
    assert_send_sync::<Gc<dyn Shape>>();
    assert_send_sync::<Weak<dyn Shape>>();
    assert_send_sync::<Gc<[u8]>>();
    assert_send_sync::<Gc<Mutex<Vec<Gc<Node>>>>>();

    // And they work on the threads they are sent to.
    let _s = serial();
    let a = node(7, &DROPS);
    let w = Gc::downgrade(&a);
    let (a2, w2) = (a.clone(), w.clone());
    let seen = std::thread::spawn(move || (a2.value, w2.upgrade().map(|g| g.value)))
        .join()
        .unwrap();
    assert_eq!(seen, (7, Some(7)));
    std::thread::scope(|s| {
        s.spawn(|| assert_eq!(a.value, 7)); // `&Gc` crosses too (`Sync`)
    });
    drop(a);
    assert_eq!(DROPS.load(SeqCst), 1, "freed by counting");
    assert!(w.upgrade().is_none());
}

/// What the finalizers of one test saw.
struct FinLog {
    finalized: AtomicUsize,
    drops: AtomicUsize,
    /// A finalizer that saw a dropped, dead or wrong member, or an uncleared
    /// weak handle.
    wrong: AtomicUsize,
}

impl FinLog {
    const fn new() -> FinLog {
        FinLog {
            finalized: AtomicUsize::new(0),
            drops: AtomicUsize::new(0),
            wrong: AtomicUsize::new(0),
        }
    }
}

/// A finalizable node (`#[gc(finalize)]`): its finalizer checks that the
/// rest of the garbage is intact and that weak handles are already cleared.
#[derive(Trace)]
#[gc(finalize)]
struct Fin {
    name: usize,
    ring: usize,
    peer: Mutex<Option<Gc<Fin>>>,
    peer_weak: Mutex<Weak<Fin>>,
    #[gc(skip)]
    log: &'static FinLog,
    #[gc(skip)]
    resurrect_into: Option<&'static Mutex<Option<Gc<Fin>>>>,
}

impl Finalize for Fin {
    fn finalize(&self) {
        let log = self.log;
        log.finalized.fetch_add(1, SeqCst);
        let peer = self.peer.lock().unwrap().clone();
        let intact = log.drops.load(SeqCst) == 0
            && peer.as_ref().is_some_and(|p| {
                !Gc::is_dead(p)
                    && Gc::try_deref(p).is_some()
                    // Reads a field of another member through its handle.
                    && p.name == (self.name + 1) % self.ring
                    && p.peer.lock().unwrap().is_some()
            });
        let cleared = self.peer_weak.lock().unwrap().upgrade().is_none();
        if !intact || !cleared {
            log.wrong.fetch_add(1, SeqCst);
        }
        if let Some(into) = self.resurrect_into {
            let mut slot = into.lock().unwrap();
            if slot.is_none() {
                *slot = peer;
            }
        }
    }
}

impl Drop for Fin {
    fn drop(&mut self) {
        self.log.drops.fetch_add(1, SeqCst);
    }
}

fn fin_ring(
    n: usize,
    log: &'static FinLog,
    resurrect_into: Option<&'static Mutex<Option<Gc<Fin>>>>,
) -> Vec<Gc<Fin>> {
    let nodes: Vec<Gc<Fin>> = (0..n)
        .map(|name| {
            Gc::new(Fin {
                name,
                ring: n,
                peer: Mutex::new(None),
                peer_weak: Mutex::new(Weak::new()),
                log,
                resurrect_into: if name == 0 { resurrect_into } else { None },
            })
        })
        .collect();
    for i in 0..n {
        let peer = &nodes[(i + 1) % n];
        *nodes[i].peer.lock().unwrap() = Some(peer.clone());
        *nodes[i].peer_weak.lock().unwrap() = Gc::downgrade(peer);
    }
    nodes
}

#[test]
fn finalizers_see_intact_garbage_and_cleared_weak_handles() {
    static LOG: FinLog = FinLog::new();
    let _s = serial();
    let nodes = fin_ring(4, &LOG, None);
    let weaks: Vec<Weak<Fin>> = nodes.iter().map(Gc::downgrade).collect();
    // Built here, collected on another thread.
    drop(nodes);
    collect_elsewhere();
    assert_eq!(LOG.finalized.load(SeqCst), 4, "each finalized once");
    assert_eq!(LOG.wrong.load(SeqCst), 0, "garbage intact, weaks cleared");
    assert_eq!(LOG.drops.load(SeqCst), 4);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    collect();
    assert_eq!(LOG.finalized.load(SeqCst), 4);
}

#[test]
fn a_finalizer_freed_by_counting_runs_once_before_drop() {
    static LOG: FinLog = FinLog::new();
    let _s = serial();
    let nodes = fin_ring(2, &LOG, None);
    // Break the ring: then counting frees it, finalizer first.
    *nodes[1].peer.lock().unwrap() = None;
    let w = Gc::downgrade(&nodes[0]);
    drop(nodes);
    assert_eq!(LOG.finalized.load(SeqCst), 2);
    assert_eq!(LOG.drops.load(SeqCst), 2);
    assert!(w.upgrade().is_none());
    collect();
    assert_eq!(LOG.finalized.load(SeqCst), 2);
}

#[test]
fn a_resurrecting_finalizer_keeps_the_cycle_and_runs_once() {
    static LOG: FinLog = FinLog::new();
    static SAVED: Mutex<Option<Gc<Fin>>> = Mutex::new(None);
    let _s = serial();
    let nodes = fin_ring(3, &LOG, Some(&SAVED));
    drop(nodes);
    collect_elsewhere();
    assert_eq!(LOG.finalized.load(SeqCst), 3, "every member finalized");
    assert_eq!(LOG.wrong.load(SeqCst), 0);
    assert_eq!(LOG.drops.load(SeqCst), 0, "resurrected: nothing dropped");

    // The whole ring survived unharmed.
    let saved = SAVED.lock().unwrap().clone().expect("resurrected");
    let mut at = saved.clone();
    let mut names = Vec::new();
    for _ in 0..3 {
        assert!(!Gc::is_dead(&at));
        names.push(at.name);
        let next = at.peer.lock().unwrap().clone().unwrap();
        at = next;
    }
    assert!(Gc::ptr_eq(&at, &saved));
    assert_eq!(names, [1, 2, 0]);
    drop((at, saved));
    for _ in 0..2 {
        collect_elsewhere();
        assert_eq!(LOG.drops.load(SeqCst), 0, "still reachable from SAVED");
    }

    // Unreachable again: collected, without finalizing a second time.
    *SAVED.lock().unwrap() = None;
    collect_elsewhere();
    assert_eq!(LOG.drops.load(SeqCst), 3);
    assert_eq!(LOG.finalized.load(SeqCst), 3, "finalized once in its life");
    assert!(SAVED.lock().unwrap().is_none());
}

/// What the `Drop`s of [`Stasher`]s saw and kept.
struct Stash {
    handles: Mutex<Vec<Gc<Stasher>>>,
    dead_in_drop: AtomicUsize,
    drops: AtomicUsize,
}

/// A node whose `Drop` stashes a clone of its handle to the next node.
#[derive(Trace)]
struct Stasher {
    next: Mutex<Option<Gc<Stasher>>>,
    #[gc(skip)]
    stash: &'static Stash,
}

impl Drop for Stasher {
    fn drop(&mut self) {
        let next = self
            .next
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(next) = next {
            if Gc::is_dead(&next) && Gc::try_deref(&next).is_none() {
                self.stash.dead_in_drop.fetch_add(1, SeqCst);
            }
            self.stash.handles.lock().unwrap().push(next);
        }
        self.stash.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_drop_of_cyclic_garbage_sees_dead_handles() {
    static STASH: Stash = Stash {
        handles: Mutex::new(Vec::new()),
        dead_in_drop: AtomicUsize::new(0),
        drops: AtomicUsize::new(0),
    };
    let _s = serial();
    let nodes: Vec<Gc<Stasher>> = (0..3)
        .map(|_| {
            Gc::new(Stasher {
                next: Mutex::new(None),
                stash: &STASH,
            })
        })
        .collect();
    for i in 0..3 {
        *nodes[i].next.lock().unwrap() = Some(nodes[(i + 1) % 3].clone());
    }
    let w = Gc::downgrade(&nodes[0]);
    drop(nodes);
    collect_elsewhere();
    assert_eq!(STASH.drops.load(SeqCst), 3);
    assert_eq!(STASH.dead_in_drop.load(SeqCst), 3, "all marked dead first");
    assert!(w.upgrade().is_none());

    let stashed = std::mem::take(&mut *STASH.handles.lock().unwrap());
    assert_eq!(stashed.len(), 3);
    for h in &stashed {
        assert!(Gc::is_dead(h));
        assert!(Gc::try_deref(h).is_none());
        let p = panic::catch_unwind(AssertUnwindSafe(|| h.next.lock().is_ok()))
            .expect_err("deref of a dead handle panics");
        assert!(message(&*p).contains("dead handle"), "{}", message(&*p));
        // A clone of a dead handle is dead too.
        assert!(Gc::is_dead(&h.clone()));
    }
    // Dropped on another thread; the memory goes with the last of them.
    std::thread::spawn(move || drop(stashed)).join().unwrap();
    collect();
    assert_eq!(STASH.drops.load(SeqCst), 3, "nothing dropped twice");
    drop(w);
}

#[test]
fn new_cyclic_hands_out_a_weak_that_upgrades_once_built() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    #[derive(Trace)]
    struct Me {
        this: Weak<Me>,
        strong: Mutex<Option<Gc<Me>>>,
        #[gc(skip)]
        drops: &'static AtomicUsize,
    }
    impl Drop for Me {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
        }
    }
    let _s = serial();
    let me = Gc::new_cyclic(|w| {
        assert!(w.upgrade().is_none(), "not built yet");
        // Nor on another thread.
        std::thread::scope(|s| {
            s.spawn(|| assert!(w.upgrade().is_none()));
        });
        Me {
            this: w.clone(),
            strong: Mutex::new(None),
            drops: &DROPS,
        }
    });
    assert!(Gc::ptr_eq(&me.this.upgrade().unwrap(), &me));
    let from_thread = {
        let w = me.this.clone();
        std::thread::spawn(move || w.upgrade().is_some())
            .join()
            .unwrap()
    };
    assert!(from_thread);
    assert_eq!((Gc::strong_count(&me), Gc::weak_count(&me)), (1, 1));
    // A self-cycle through a strong handle, collected like any other.
    *me.strong.lock().unwrap() = Some(me.clone());
    let w = me.this.clone();
    drop(me);
    collect_elsewhere();
    assert_eq!(DROPS.load(SeqCst), 1);
    assert!(w.upgrade().is_none());

    // A panic in `data_fn` leaks nothing and leaves the heap working.
    let r = panic::catch_unwind(|| {
        Gc::<Me>::new_cyclic(|_| panic!("data_fn panics (expected)"));
    });
    assert!(r.is_err());
    collect();
}

#[derive(Trace, Clone, Debug)]
struct Doc {
    words: Vec<u32>,
    link: Option<Gc<Doc>>,
}

#[test]
fn get_mut_needs_the_only_handle_and_make_mut_clones_when_shared() {
    let _s = serial();
    let mut a = Gc::new(Doc {
        words: vec![1],
        link: None,
    });
    Gc::get_mut(&mut a).unwrap().words.push(2);
    let b = a.clone();
    assert!(Gc::get_mut(&mut a).is_none(), "another strong handle");
    drop(b);
    let w = Gc::downgrade(&a);
    assert!(Gc::get_mut(&mut a).is_none(), "a weak handle");
    drop(w);
    assert!(Gc::get_mut(&mut a).is_some());

    // make_mut: unique, in place; shared, a clone (the other handle keeps
    // the old value).
    let before = Gc::as_ptr(&a);
    Gc::make_mut(&mut a).words.push(3);
    assert_eq!(Gc::as_ptr(&a), before, "unique: no clone");
    let shared = a.clone();
    Gc::make_mut(&mut a).words.push(4);
    assert!(!Gc::ptr_eq(&a, &shared));
    assert_eq!(
        (&a.words[..], &shared.words[..]),
        (&[1, 2, 3, 4][..], &[1, 2, 3][..])
    );
    // With only a weak handle: a clone too, and the weak one then dangles.
    let w = Gc::downgrade(&a);
    Gc::make_mut(&mut a).words.clear();
    assert!(w.upgrade().is_none());
    assert!(a.words.is_empty());

    // try_unwrap: fails while shared, gives the value back when unique.
    let b = a.clone();
    let a = Gc::try_unwrap(a).unwrap_err();
    drop(b);
    assert_eq!(Gc::try_unwrap(a).ok().map(|d| d.words), Some(Vec::new()));
    drop(shared);
}

#[test]
fn a_collection_on_another_thread_leaves_a_get_mut_borrow_alone() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let other = ring(2, &DROPS);
    let mut a = node(0, &DROPS);
    link(&a, &other[0]);
    drop(other); // garbage only if `a`'s edge is not seen
    let m = Gc::get_mut(&mut a).expect("the only handle");
    std::thread::scope(|s| {
        let collector = s.spawn(collect);
        // Writes through the `&mut` while the collection runs (Miri
        // reports a collection that reads the value meanwhile).
        for i in 0..100 {
            m.value = i;
        }
        collector.join().unwrap();
    });
    m.value += 1;
    assert_eq!(DROPS.load(SeqCst), 0, "kept through the borrowed value");
    let into = m.next.get_mut().unwrap().take().unwrap();
    assert_eq!(a.value, 100);
    drop(a);
    drop(into);
    collect();
    assert_eq!(DROPS.load(SeqCst), 3);
}

/// A square that links to any shape.
#[derive(Trace)]
struct Square {
    side: usize,
    link: Mutex<Option<Gc<dyn Shape>>>,
    #[gc(skip)]
    drops: &'static AtomicUsize,
}

impl Shape for Square {
    fn area(&self) -> usize {
        self.side * self.side
    }

    fn link(&self) -> Option<&Mutex<Option<Gc<dyn Shape>>>> {
        Some(&self.link)
    }
}

impl Drop for Square {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_dyn_trait_cycle_is_collected() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let square = |side| {
        Gc::new(Square {
            side,
            link: Mutex::new(None),
            drops: &DROPS,
        })
    };
    let (a, b) = (square(2), square(3));
    let da: Gc<dyn Shape> = Gc::unsize::<dyn Shape>(a.clone(), |x| x);
    let db: Gc<dyn Shape> = Gc::unsize::<dyn Shape>(b.clone(), |x| x);
    assert_eq!((da.area(), db.area()), (4, 9));
    assert!(std::ptr::addr_eq(Gc::as_ptr(&da), Gc::as_ptr(&a)));
    *a.link.lock().unwrap() = Some(db.clone());
    *b.link.lock().unwrap() = Some(da.clone());
    let w: Weak<dyn Shape> = Gc::downgrade(&da);
    let areas = std::thread::spawn(move || (da.area(), db.area()))
        .join()
        .unwrap();
    assert_eq!(areas, (4, 9));
    assert_eq!(w.upgrade().map(|s| s.area()), Some(4));
    drop((a, b));
    collect_elsewhere();
    assert_eq!(DROPS.load(SeqCst), 2);
    assert!(w.upgrade().is_none());

    // A slice of handles, through `unsize` too.
    let parts: [Gc<dyn Shape>; 2] = [
        Gc::unsize::<dyn Shape>(square(4), |x| x),
        Gc::unsize::<dyn Shape>(square(5), |x| x),
    ];
    let s: Gc<[Gc<dyn Shape>]> = Gc::unsize::<[Gc<dyn Shape>]>(Gc::new(parts), |x| x);
    assert_eq!(s.iter().map(|x| x.area()).sum::<usize>(), 41);
    drop(s);
    assert_eq!(DROPS.load(SeqCst), 4);
}

#[test]
fn unsize_to_a_field_panics() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    #[derive(Trace)]
    struct Pair {
        first: Square,
        second: u64,
    }
    let _s = serial();
    let pair = Gc::new(Pair {
        first: Square {
            side: 1,
            link: Mutex::new(None),
            drops: &DROPS,
        },
        second: 2,
    });
    let p = panic::catch_unwind(AssertUnwindSafe(|| {
        let _: Gc<dyn Shape> = Gc::unsize(pair.clone(), |p: &Pair| -> &dyn Shape { &p.first });
    }))
    .expect_err("a field is not the value");
    assert!(
        message(&*p).contains("must return the value itself"),
        "{}",
        message(&*p)
    );
    let p = panic::catch_unwind(AssertUnwindSafe(|| {
        let _: Gc<u64> = Gc::unsize(pair.clone(), |p| &p.second);
    }))
    .expect_err("a field is not the value");
    assert!(message(&*p).contains("must return the value itself"));
    // The handles given to the failed calls were released, nothing more.
    assert_eq!(Gc::strong_count(&pair), 1);
    assert_eq!(pair.second, 2);
    drop(pair);
    assert_eq!(DROPS.load(SeqCst), 1);
}

/// A trait without `Send + Sync` supertraits: its objects are named
/// `dyn Named + Send + Sync` to cross threads.
trait Named: Trace {
    fn name(&self) -> String;
}

#[derive(Trace)]
struct Label(String);

impl Named for Label {
    fn name(&self) -> String {
        self.0.clone()
    }
}

#[test]
fn conversions_from_box_vec_and_str_cross_threads() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    assert_send_sync::<Gc<dyn Named + Send + Sync>>();
    assert_send_sync::<Gc<str>>();
    let square = |side| -> Box<dyn Shape> {
        Box::new(Square {
            side,
            link: Mutex::new(None),
            drops: &DROPS,
        })
    };

    // A slice of runtime length and a trait object, sent to a thread that
    // reads them and drops its handles.
    let sides: Gc<[usize]> = (1..=4).collect();
    let label: Gc<dyn Named + Send + Sync> =
        Gc::from(Box::new(Label("gc".into())) as Box<dyn Named + Send + Sync>);
    let text: Gc<str> = Gc::from(String::from("text"));
    let (s2, l2, t2) = (sides.clone(), label.clone(), text.clone());
    let seen = std::thread::spawn(move || (s2.iter().sum::<usize>(), l2.name(), t2.len()))
        .join()
        .unwrap();
    assert_eq!(seen, (10, "gc".to_owned(), 4));
    assert_eq!(Gc::strong_count(&sides), 1);

    // A slice of shapes made from boxes, sent through a channel; two of
    // them in a cycle, whose last handles go on that thread.
    let shapes: Gc<[Gc<dyn Shape>]> = Gc::from(vec![Gc::from(square(2)), Gc::from(square(3))]);
    *shapes[0].link().unwrap().lock().unwrap() = Some(shapes[1].clone());
    *shapes[1].link().unwrap().lock().unwrap() = Some(shapes[0].clone());
    let w: Weak<dyn Shape> = Gc::downgrade(&shapes[0]);
    let (tx, rx) = mpsc::channel::<Gc<[Gc<dyn Shape>]>>();
    let area = std::thread::spawn(move || {
        let shapes = rx.recv().unwrap();
        shapes.iter().map(|s| s.area()).sum::<usize>()
    });
    tx.send(shapes).unwrap();
    assert_eq!(area.join().unwrap(), 13);
    assert_eq!(DROPS.load(SeqCst), 0, "the cycle keeps both");
    assert_eq!(collect_elsewhere(), 2);
    assert_eq!(DROPS.load(SeqCst), 2);
    assert!(w.upgrade().is_none());
}

/// Restores the shared heap's automatic collection settings.
struct Settings(usize, bool);

impl Settings {
    fn save() -> Settings {
        Settings(sync::threshold(), sync::is_enabled())
    }
}

impl Drop for Settings {
    fn drop(&mut self) {
        sync::set_threshold(self.0);
        if self.1 {
            sync::enable();
        } else {
            sync::disable();
        }
    }
}

/// Tracked allocations that certainly reach the shared count (threads add
/// theirs 256 at a time).
const FLUSHES: usize = 2 * 256;

#[test]
fn automatic_collection_follows_enable_disable_and_the_threshold() {
    static RING: AtomicUsize = AtomicUsize::new(0);
    static CHAFF: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let _restore = Settings::save();
    sync::set_threshold(0);
    assert_eq!(sync::threshold(), 1, "0 means 1");
    sync::disable();
    assert!(!sync::is_enabled());
    drop(ring(3, &RING));
    for i in 0..FLUSHES {
        drop(node(i, &CHAFF)); // tracked, freed at once
    }
    assert!(sync::count() >= 256, "allocations are counted");
    assert_eq!(RING.load(SeqCst), 0, "disabled: no automatic collection");
    sync::enable();
    for i in 0..FLUSHES {
        drop(node(i, &CHAFF));
    }
    assert_eq!(
        RING.load(SeqCst),
        3,
        "enabled: collected past the threshold"
    );
    assert_eq!(CHAFF.load(SeqCst), 2 * FLUSHES);
    sync::set_threshold(50_000);
    assert_eq!(sync::threshold(), 50_000);
}

#[test]
fn stats_count_and_tracked_count_describe_the_collections() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let _restore = Settings::save();
    sync::disable();
    let base = sync::tracked_count();
    let before = sync::stats();
    let live = ring(5, &DROPS);
    drop(ring(4, &DROPS));
    assert_eq!(collect(), 4);
    let after = sync::stats();
    assert_eq!(after.collections, before.collections + 1);
    assert_eq!(after.collected, before.collected + 4);
    assert!(after.max_pause <= after.total_pause);
    assert_eq!(sync::count(), 0, "reset by the collection");
    assert_eq!(sync::tracked_count(), base + 5, "the live ring");
    drop(live);
    collect();
    assert_eq!(sync::tracked_count(), base);
    assert_eq!(DROPS.load(SeqCst), 9);
}

/// A node whose `Drop` and finalizer do what the SPEC allows during a
/// collection: allocate, clone, drop, call `collect()` (which returns 0),
/// or panic.
#[derive(Trace)]
#[gc(finalize)]
struct Busy {
    next: Mutex<Option<Gc<Busy>>>,
    panic_in_drop: bool,
    panic_in_finalize: bool,
    #[gc(skip)]
    log: &'static BusyLog,
}

struct BusyLog {
    drops: AtomicUsize,
    nested: AtomicUsize,
    nested_nonzero: AtomicUsize,
    made: AtomicUsize,
}

impl BusyLog {
    const fn new() -> BusyLog {
        BusyLog {
            drops: AtomicUsize::new(0),
            nested: AtomicUsize::new(0),
            nested_nonzero: AtomicUsize::new(0),
            made: AtomicUsize::new(0),
        }
    }

    /// Allocates a garbage cycle and calls `collect()`.
    fn busy(&'static self) {
        let n = node(0, &self.made);
        link(&n, &n.clone());
        drop(n);
        self.nested.fetch_add(1, SeqCst);
        if collect() != 0 {
            self.nested_nonzero.fetch_add(1, SeqCst);
        }
    }
}

impl Finalize for Busy {
    fn finalize(&self) {
        self.log.busy();
        assert!(!self.panic_in_finalize, "finalize panics (expected)");
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.log.drops.fetch_add(1, SeqCst);
        self.log.busy();
        assert!(!self.panic_in_drop, "Drop panics (expected)");
    }
}

fn busy_ring(n: usize, log: &'static BusyLog, panic_at: Option<(usize, bool)>) -> Vec<Gc<Busy>> {
    let nodes: Vec<Gc<Busy>> = (0..n)
        .map(|i| {
            Gc::new(Busy {
                next: Mutex::new(None),
                panic_in_drop: panic_at == Some((i, true)),
                panic_in_finalize: panic_at == Some((i, false)),
                log,
            })
        })
        .collect();
    for i in 0..n {
        *nodes[i].next.lock().unwrap() = Some(nodes[(i + 1) % n].clone());
    }
    nodes
}

#[test]
fn drops_and_finalizers_may_allocate_and_collect_during_a_collection() {
    static LOG: BusyLog = BusyLog::new();
    let _s = serial();
    drop(busy_ring(3, &LOG, None));
    collect_elsewhere();
    assert_eq!(LOG.drops.load(SeqCst), 3);
    assert_eq!(LOG.nested.load(SeqCst), 6, "3 finalizers, 3 drops");
    assert_eq!(
        LOG.nested_nonzero.load(SeqCst),
        0,
        "a nested collect() returns 0"
    );
    // What they made is ordinary garbage, for the next collection.
    collect();
    assert_eq!(LOG.made.load(SeqCst), 6);
}

#[test]
fn a_panic_in_drop_or_finalize_reaches_collect_and_later_collections_work() {
    static LOG: BusyLog = BusyLog::new();
    static LATER: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    for in_drop in [true, false] {
        drop(busy_ring(3, &LOG, Some((1, in_drop))));
        let p = panic::catch_unwind(collect).expect_err("the panic reaches the caller");
        assert!(message(&*p).contains("panics (expected)"));
        // Later collections work (what the panicking one left is kept or
        // leaks; nothing is dropped twice).
        drop(ring(2, &LATER));
        while collect() != 0 {}
        assert!(LATER.load(SeqCst) == 2 || LATER.load(SeqCst) == 4);
        assert!(LOG.drops.load(SeqCst) <= 6);
    }
    assert_eq!(LATER.load(SeqCst), 4);
}
