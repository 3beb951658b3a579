//! `gc_core::sync` across threads: cycles built on several threads and
//! collected on another; reachable cycles kept while other threads drop
//! handles; a `Mutex` or `RwLock` locked by another thread during a
//! collection (no deadlock; kept, then collected once released) and
//! poisoned locks; a thread blocked on a channel or computing never delays
//! a collection; four threads churning cycles lose nothing; thread exit,
//! also from a late thread-local destructor; `try_unwrap` and
//! `Weak::upgrade` racing.
//!
//! As in `test_sync.rs`, each test takes [`serial`] first (the tests share
//! the process-wide heap), and asserts on its own drop counters, never on
//! a timing. A test that would hang on a collection that waits for a
//! blocked thread fails after [`PATIENCE`] instead.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError, RwLock, mpsc};
use std::thread;
use std::time::Duration;

use gc_core::Trace;
use gc_core::sync::{self, Gc, Weak, collect};

/// Serialises this file's tests (they share the heap), and starts each with
/// no garbage left over.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let g = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    while collect() != 0 {}
    g
}

/// A generous bound for something that must not block.
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `collect()` on a helper thread and returns its result, or fails the
/// test if it does not return within [`PATIENCE`] (a deadlock).
fn collect_elsewhere() -> usize {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(collect()).unwrap());
    rx.recv_timeout(PATIENCE)
        .expect("sync::collect() did not return: it waits for a lock or a thread")
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

fn next(n: &Gc<Node>) -> Gc<Node> {
    n.next.lock().unwrap().clone().expect("linked")
}

/// A ring of `n` nodes valued `0..n`: all its members.
fn ring(n: usize, drops: &'static AtomicUsize) -> Vec<Gc<Node>> {
    let nodes: Vec<Gc<Node>> = (0..n).map(|i| node(i, drops)).collect();
    for i in 0..n {
        link(&nodes[i], &nodes[(i + 1) % n]);
    }
    nodes
}

/// Walks the ring from `start` (valued 0): `n` steps, values in order, and
/// back at `start`.
fn assert_ring(start: &Gc<Node>, n: usize) {
    let mut at = start.clone();
    for i in 0..n {
        assert!(!Gc::is_dead(&at));
        assert_eq!(at.value, i);
        at = next(&at);
    }
    assert!(Gc::ptr_eq(&at, start), "the ring closes");
}

#[test]
fn a_cycle_built_across_threads_is_collected_on_a_third() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    const THREADS: usize = 4;
    let _s = serial();
    // Thread i makes node i and links node i - 1 to it; the last closes
    // the ring. Each sends back a weak handle to its node.
    let (weak_tx, weak_rx) = mpsc::channel::<(usize, Weak<Node>)>();
    let mut passed: Option<(Gc<Node>, Gc<Node>)> = None;
    for i in 0..THREADS {
        let weak_tx = weak_tx.clone();
        passed = thread::spawn(move || {
            let mine = node(i, &DROPS);
            weak_tx.send((i, Gc::downgrade(&mine))).unwrap();
            let (first, last) = match passed {
                None => (mine.clone(), mine),
                Some((first, last)) => {
                    link(&last, &mine);
                    (first, mine)
                }
            };
            if i == THREADS - 1 {
                link(&last, &first);
                None
            } else {
                Some((first, last))
            }
        })
        .join()
        .unwrap();
    }
    drop(weak_tx);
    let mut weaks: Vec<(usize, Weak<Node>)> = weak_rx.iter().collect();
    weaks.sort_by_key(|w| w.0);
    let first = weaks[0]
        .1
        .upgrade()
        .expect("not collected: none collected yet");
    assert_ring(&first, THREADS);
    drop(first);
    assert_eq!(DROPS.load(SeqCst), 0);

    let freed = thread::spawn(collect).join().unwrap();
    assert_eq!(freed, THREADS);
    assert_eq!(DROPS.load(SeqCst), THREADS);
    assert!(weaks.iter().all(|(_, w)| w.upgrade().is_none()), "cleared");
}

#[test]
fn a_reachable_cycle_survives_while_other_threads_drop_their_handles() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    const N: usize = 8;
    let _s = serial();
    let rounds = if cfg!(miri) { 3 } else { 200 };
    let nodes = ring(N, &DROPS);
    let head = nodes[0].clone();
    let weaks: Vec<Weak<Node>> = nodes.iter().map(Gc::downgrade).collect();
    let start = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..3)
        .map(|t| {
            let mut mine = nodes.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for k in 0..rounds {
                    for h in &mine {
                        let c = h.clone();
                        assert_eq!(next(&c).value, (c.value + 1) % N);
                        drop(c);
                    }
                    if k % 8 == t {
                        collect();
                    }
                    // Give handles up, a few at a time.
                    if k % (rounds / N + 1) == 0 && !mine.is_empty() {
                        mine.remove(k % mine.len());
                    }
                }
                drop(mine);
                collect();
            })
        })
        .collect();
    drop(nodes);
    start.wait();
    for _ in 0..rounds {
        collect();
        assert!(weaks.iter().all(|w| w.upgrade().is_some()));
    }
    for w in workers {
        w.join().unwrap();
    }
    collect();
    assert_eq!(DROPS.load(SeqCst), 0, "reachable from `head`");
    assert_ring(&head, N);
    drop(head);
    collect();
    assert_eq!(DROPS.load(SeqCst), N);
}

#[test]
fn a_mutex_locked_elsewhere_keeps_its_cycle_without_deadlock() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let nodes = ring(3, &DROPS);
    let held = nodes[1].clone();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut guard = held.next.lock().unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        // What the collections left alone under the lock is intact; then
        // the edge is moved (to a node made here) before the lock goes.
        let to = guard.take().unwrap();
        assert_eq!((to.value, next(&to).value), (2, 0));
        let extra = node(3, &DROPS);
        link(&extra, &to);
        *guard = Some(extra);
        drop(guard);
        drop(held);
    });
    locked_rx.recv().unwrap();
    drop(nodes);
    for _ in 0..3 {
        collect_elsewhere();
        assert_eq!(DROPS.load(SeqCst), 0, "kept while locked");
    }
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    collect_elsewhere();
    assert_eq!(DROPS.load(SeqCst), 4, "collected once released");
}

#[derive(Trace)]
struct RwNode {
    value: usize,
    next: RwLock<Option<Gc<RwNode>>>,
    #[gc(skip)]
    drops: &'static AtomicUsize,
}

impl Drop for RwNode {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn rw_ring(n: usize, drops: &'static AtomicUsize) -> Vec<Gc<RwNode>> {
    let nodes: Vec<Gc<RwNode>> = (0..n)
        .map(|value| {
            Gc::new(RwNode {
                value,
                next: RwLock::new(None),
                drops,
            })
        })
        .collect();
    for i in 0..n {
        *nodes[i].next.write().unwrap() = Some(nodes[(i + 1) % n].clone());
    }
    nodes
}

#[test]
fn an_rwlock_write_locked_elsewhere_keeps_its_cycle_without_deadlock() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let nodes = rw_ring(2, &DROPS);
    let held = nodes[0].clone();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let mut guard = held.next.write().unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        // Written under the lock while collections ran: still intact.
        let to = guard.take().unwrap();
        assert_eq!(to.value, 1);
        *guard = Some(to);
        drop(guard);
        drop(held);
    });
    locked_rx.recv().unwrap();
    drop(nodes);
    collect_elsewhere();
    collect_elsewhere();
    assert_eq!(DROPS.load(SeqCst), 0, "kept while write-locked");
    release_tx.send(()).unwrap();
    t.join().unwrap();
    collect_elsewhere();
    assert_eq!(DROPS.load(SeqCst), 2, "collected once released");
}

#[test]
fn poisoned_locks_are_read_and_their_cycles_collected() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static RW_DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let nodes = ring(2, &DROPS);
    let held = nodes[0].clone();
    let r = std::thread::spawn(move || {
        let _guard = held.next.lock().unwrap();
        panic!("poisons the mutex (expected)");
    })
    .join();
    assert!(r.is_err());
    assert!(nodes[0].next.is_poisoned());

    let rw = rw_ring(3, &RW_DROPS);
    let held = rw[2].clone();
    let r = std::thread::spawn(move || {
        let _guard = held.next.write().unwrap();
        panic!("poisons the rwlock (expected)");
    })
    .join();
    assert!(r.is_err());
    assert!(rw[2].next.is_poisoned());

    drop((nodes, rw));
    collect_elsewhere();
    assert_eq!(DROPS.load(SeqCst), 2);
    assert_eq!(RW_DROPS.load(SeqCst), 3);
}

#[test]
fn a_blocked_or_busy_thread_holding_handles_does_not_delay_collect() {
    static HELD: AtomicUsize = AtomicUsize::new(0);
    static GARBAGE: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (unblock_tx, unblock_rx) = mpsc::channel::<()>();
    let stop = Arc::new(AtomicBool::new(false));

    // Blocked on a channel, holding handles, with new (unmerged) garbage.
    let ready = ready_tx.clone();
    let blocked = thread::spawn(move || {
        let held = ring(3, &HELD);
        drop(ring(4, &GARBAGE));
        ready.send(()).unwrap();
        unblock_rx.recv().unwrap();
        assert_ring(&held[0], 3);
    });
    // Computing without touching a handle, holding some.
    let busy = {
        let stop = stop.clone();
        thread::spawn(move || {
            let held = ring(2, &HELD);
            drop(ring(5, &GARBAGE));
            ready_tx.send(()).unwrap();
            let mut x = 0_u64;
            while !stop.load(SeqCst) {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                thread::yield_now();
            }
            assert_ring(&held[0], 2);
            x
        })
    };
    ready_rx.recv().unwrap();
    ready_rx.recv().unwrap();

    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || done_tx.send(collect()).unwrap());
    let done = done_rx.recv_timeout(PATIENCE);
    // Unblock both before judging, so that a failure does not hang.
    let _ = unblock_tx.send(());
    stop.store(true, SeqCst);
    done.expect("sync::collect() waited for a blocked or busy thread");
    assert_eq!(GARBAGE.load(SeqCst), 9, "their garbage was collected");
    assert_eq!(HELD.load(SeqCst), 0, "what they hold was kept");
    blocked.join().unwrap();
    busy.join().unwrap();
    while collect() != 0 {}
    assert_eq!(HELD.load(SeqCst), 5);
}

/// The churn's rounds per thread, and the most nodes it creates.
const ROUNDS: usize = if cfg!(miri) { 64 } else { 3_000 };
const MAX_NODES: usize = 4 * ROUNDS * 8;

/// Set once per churn node as it drops.
static DROPPED: [AtomicBool; MAX_NODES] = [const { AtomicBool::new(false) }; MAX_NODES];
static CREATED: AtomicUsize = AtomicUsize::new(0);
static CHURN_DROPS: AtomicUsize = AtomicUsize::new(0);
static TWICE: AtomicUsize = AtomicUsize::new(0);

/// A member of a churned ring: `pos` of `len`; `extra` links it to a ring of
/// another thread.
#[derive(Trace)]
struct CNode {
    id: usize,
    pos: usize,
    len: usize,
    next: Mutex<Option<Gc<CNode>>>,
    extra: Mutex<Option<Gc<CNode>>>,
}

impl Drop for CNode {
    fn drop(&mut self) {
        if DROPPED[self.id].swap(true, SeqCst) {
            TWICE.fetch_add(1, SeqCst);
        }
        CHURN_DROPS.fetch_add(1, SeqCst);
    }
}

fn churn_ring(len: usize) -> Vec<Gc<CNode>> {
    let nodes: Vec<Gc<CNode>> = (0..len)
        .map(|pos| {
            Gc::new(CNode {
                id: CREATED.fetch_add(1, SeqCst),
                pos,
                len,
                next: Mutex::new(None),
                extra: Mutex::new(None),
            })
        })
        .collect();
    for i in 0..len {
        *nodes[i].next.lock().unwrap() = Some(nodes[(i + 1) % len].clone());
    }
    nodes
}

/// Walks a churned ring from any member: intact and closed.
fn check_churn_ring(start: &Gc<CNode>) {
    let mut at = start.clone();
    for i in 0..start.len {
        assert!(!Gc::is_dead(&at));
        assert_eq!(at.pos, (start.pos + i) % start.len);
        let n = at.next.lock().unwrap().clone().expect("ring intact");
        at = n;
    }
    assert!(Gc::ptr_eq(&at, start));
}

/// Restores the shared heap's automatic collection settings.
struct Settings(usize, bool);

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

#[test]
fn four_threads_churning_cycles_lose_nothing() {
    static EXPLICIT: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let _restore = Settings(sync::threshold(), sync::is_enabled());
    sync::set_threshold(if cfg!(miri) { 4 } else { 64 });
    sync::enable();
    let before = sync::stats().collections;
    let pool: Arc<Mutex<Vec<Gc<CNode>>>> = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4_u64)
        .map(|t| {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut rng =
                    0x9E37_79B9_7F4A_7C15_u64 ^ (t + 1).wrapping_mul(0xD134_2543_DE82_EF95);
                let mut roll = move |n: usize| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    usize::try_from(rng % n as u64).unwrap()
                };
                let mut kept: Vec<Gc<CNode>> = Vec::new();
                let mut weaks: Vec<(Weak<CNode>, usize)> = Vec::new();
                for i in 0..ROUNDS {
                    let members = churn_ring(1 + roll(8));
                    match roll(6) {
                        // Garbage cycles, for the collector.
                        0 | 1 => {}
                        // Kept for a while.
                        2 => kept.push(members[roll(members.len())].clone()),
                        // Broken first: freed by counting.
                        3 => *members[members.len() - 1].next.lock().unwrap() = None,
                        // Shared with the other threads.
                        4 => pool.lock().unwrap().push(members[0].clone()),
                        // Watched through a weak handle.
                        _ => weaks.push((Gc::downgrade(&members[0]), members[0].id)),
                    }
                    drop(members);
                    if roll(4) == 0 && !kept.is_empty() {
                        // Link a kept ring to another thread's: a cycle
                        // across threads, or garbage shared by two.
                        let k = &kept[roll(kept.len())];
                        let other = {
                            let mut p = pool.lock().unwrap();
                            let n = p.len();
                            if n == 0 {
                                None
                            } else {
                                Some(p.swap_remove(roll(n)))
                            }
                        };
                        if let Some(other) = other {
                            check_churn_ring(&other);
                            *other.extra.lock().unwrap() = Some(k.clone());
                            *k.extra.lock().unwrap() = Some(other);
                        }
                    }
                    if kept.len() > 24 || (roll(5) == 0 && !kept.is_empty()) {
                        let k = kept.swap_remove(roll(kept.len()));
                        check_churn_ring(&k);
                    }
                    if let Some((w, id)) = weaks.pop()
                        && let Some(g) = w.upgrade()
                    {
                        assert_eq!(g.id, id, "a weak handle upgrades to its own value");
                        check_churn_ring(&g);
                    }
                    if i % 97 == 0 {
                        EXPLICIT.fetch_add(1, SeqCst);
                        collect();
                    }
                }
                // Some kept handles go with the thread.
                kept.truncate(kept.len() / 2);
                kept
            })
        })
        .collect();
    let mut survivors = Vec::new();
    for t in threads {
        survivors.extend(t.join().unwrap());
    }
    let ran = sync::stats().collections - before;
    assert!(ran > EXPLICIT.load(SeqCst), "automatic collections ran too");
    for s in &survivors {
        check_churn_ring(s);
    }
    drop(survivors);
    pool.lock().unwrap().clear();
    while collect() != 0 {}
    let created = CREATED.load(SeqCst);
    assert!(created > 0 && created <= MAX_NODES);
    assert_eq!(TWICE.load(SeqCst), 0, "a node dropped twice");
    assert_eq!(CHURN_DROPS.load(SeqCst), created, "every node dropped once");
    assert!(DROPPED[..created].iter().all(|d| d.load(SeqCst)));
}

#[test]
fn a_thread_hands_its_garbage_over_when_it_exits() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static RACING: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let n = if cfg!(miri) { 2 } else { 50 };
    // Threads that build garbage cycles and exit, some while others collect.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || {
                let mut weaks = Vec::new();
                for _ in 0..n {
                    let r = ring(1 + t, &DROPS);
                    weaks.push(Gc::downgrade(&r[0]));
                }
                if t % 2 == 0 {
                    collect();
                }
                weaks
            })
        })
        .collect();
    let weaks: Vec<Weak<Node>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let total = n * (1 + 2 + 3 + 4);
    collect();
    assert_eq!(DROPS.load(SeqCst), total);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));

    // Exiting in the middle of other threads' collections.
    let stop = Arc::new(AtomicBool::new(false));
    let collector = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                collect();
                thread::yield_now();
            }
        })
    };
    for _ in 0..n {
        thread::spawn(|| drop(ring(3, &RACING))).join().unwrap();
    }
    stop.store(true, SeqCst);
    collector.join().unwrap();
    while collect() != 0 {}
    assert_eq!(RACING.load(SeqCst), 3 * n);
}

#[test]
fn a_handle_dropped_by_a_late_thread_local_destructor() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static MADE_LATE: AtomicUsize = AtomicUsize::new(0);
    /// Allocates, clones and drops handles in its `Drop`.
    #[derive(Trace)]
    struct Busy(Mutex<Option<Gc<Node>>>);
    impl Drop for Busy {
        fn drop(&mut self) {
            let n = node(100, &DROPS);
            link(&n, &n);
            let m = n.clone();
            drop((n, m)); // a new garbage cycle, from a late destructor
            MADE_LATE.fetch_add(1, SeqCst);
        }
    }
    thread_local! {
        // First touched before any gc-core use on the thread, so destroyed
        // after gc-core's own thread-locals.
        static LATE: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
        static LATE_BUSY: RefCell<Option<Gc<Busy>>> = const { RefCell::new(None) };
    }
    let _s = serial();
    let weak = thread::spawn(|| {
        LATE.with(|l| assert!(l.borrow().is_empty()));
        LATE_BUSY.with(|l| assert!(l.borrow().is_none()));
        let r = ring(4, &DROPS);
        let w = Gc::downgrade(&r[0]);
        // An acyclic list of 10, freed by counting at teardown.
        let mut head = node(10, &DROPS);
        for i in 11..20 {
            let n = node(i, &DROPS);
            link(&n, &head);
            head = n;
        }
        // The only handle to a `Busy`, dropped at teardown too.
        let busy = Gc::new(Busy(Mutex::new(None)));
        let inner = node(20, &DROPS);
        *busy.0.lock().unwrap() = Some(inner);
        LATE.with(|l| l.borrow_mut().extend([r[0].clone(), head]));
        LATE_BUSY.with(|l| *l.borrow_mut() = Some(busy));
        drop(r);
        w
    })
    .join()
    .expect("the late destructors do not panic");
    assert_eq!(MADE_LATE.load(SeqCst), 1);
    assert_eq!(
        DROPS.load(SeqCst),
        11,
        "the list and the Busy's node, by counting"
    );
    while collect() != 0 {}
    assert_eq!(
        DROPS.load(SeqCst),
        16,
        "the ring and the late cycle, collected"
    );
    assert!(weak.upgrade().is_none());
}

#[test]
fn try_unwrap_from_two_threads_never_succeeds_twice() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let rounds = if cfg!(miri) { 4 } else { 500 };
    for round in 0..rounds {
        // Tracked (a `Node`) on even rounds, untracked on odd ones.
        let tracked = round % 2 == 0;
        let a = if tracked {
            Some(node(round, &DROPS))
        } else {
            None
        };
        let u = Gc::new(Counted(round, &DROPS));
        let start = Arc::new(Barrier::new(3));
        let race = |h: Option<Gc<Node>>, v: Gc<Counted>, start: Arc<Barrier>| {
            thread::spawn(move || {
                start.wait();
                let mut ok = 0;
                if let Some(h) = h {
                    match Gc::try_unwrap(h) {
                        Ok(n) => {
                            assert_eq!(n.value, round);
                            ok += 1;
                        }
                        Err(h) => drop(h),
                    }
                }
                match Gc::try_unwrap(v) {
                    Ok(c) => {
                        assert_eq!(c.0, round);
                        ok += 10;
                    }
                    Err(v) => drop(v),
                }
                ok
            })
        };
        let t1 = race(a.clone(), u.clone(), start.clone());
        let t2 = race(a, u, start.clone());
        start.wait();
        if round % 3 == 0 {
            collect();
        }
        let ok = t1.join().unwrap() + t2.join().unwrap();
        assert!(ok % 10 <= 1 && ok / 10 <= 1, "both succeeded: {ok}");
        let expected = rounds_dropped(round);
        assert_eq!(
            DROPS.load(SeqCst),
            expected,
            "dropped once, however it went"
        );
    }
}

/// Drops counted after round `round` of the `try_unwrap` race: one untracked
/// value a round, and a node on even rounds.
fn rounds_dropped(round: usize) -> usize {
    (round + 1) + round / 2 + 1
}

/// An untracked value that counts its drops.
#[derive(Trace)]
struct Counted(usize, #[gc(skip)] &'static AtomicUsize);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

#[test]
fn weak_upgrade_racing_with_collect_or_the_last_drop_never_sees_a_freed_value() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let _s = serial();
    let rounds = if cfg!(miri) { 3 } else { 100 };
    for round in 0..rounds {
        // A garbage ring of 2, upgraded on one thread while another collects.
        let w = {
            let r = ring(2, &DROPS);
            Gc::downgrade(&r[0])
        };
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..50 {
                    let Some(g) = w.upgrade() else { break };
                    assert!(!Gc::is_dead(&g));
                    assert_eq!((g.value, next(&g).value), (0, 1));
                    drop(g);
                    thread::yield_now();
                }
            });
            s.spawn(|| {
                while DROPS.load(SeqCst) < 3 * round + 2 {
                    collect();
                    thread::yield_now();
                }
            });
        });
        assert!(w.upgrade().is_none());

        // An acyclic node, upgraded while its last handle drops elsewhere.
        let a = node(7, &DROPS);
        let w = Gc::downgrade(&a);
        let start = Barrier::new(2);
        thread::scope(|s| {
            s.spawn(|| {
                start.wait();
                drop(a);
            });
            s.spawn(|| {
                start.wait();
                while let Some(g) = w.upgrade() {
                    assert_eq!(g.value, 7);
                }
            });
        });
        assert!(w.upgrade().is_none());
        assert_eq!(DROPS.load(SeqCst), 3 * (round + 1));
    }
}
