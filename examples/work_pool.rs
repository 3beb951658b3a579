//! A pool of worker threads sharing one object graph, cycles and all, with
//! the thread-safe `gc_core::sync::Gc`.
//!
//! Each round, `main` asks every worker (over a `std::sync::mpsc` channel)
//! to build a *task*: a ring of nodes made on the worker's thread, with a
//! few extra back edges, and `sync::Weak` parent links to its head and to
//! the project node `main` made. `main` then has each worker link its
//! task's head to the next worker's, so the round's tasks form one cycle
//! through all the threads, and the round ends one of three ways:
//!
//! - **kept**: the project points at it (it lives until the project goes);
//! - **abandoned**: `main` drops its handles; the cycles keep themselves
//!   alive, and only the cycle collector can free them;
//! - **finished**: each worker unlinks its task's edges and drops it; with
//!   no cycle left, reference counting frees it at once (on whichever
//!   thread lets go of it last).
//!
//! `main` calls `sync::collect()` while the workers are building the next
//! round (a collection waits only for threads that are inside a `sync::Gc`
//! operation, a few counter updates each), and again at the end, while the
//! workers sit idle in `recv()`, where it does not wait for them at all.
//! The report counts the nodes freed by counting and by the collector (a
//! drop counter, `collect()`'s results, `sync::stats()`), and the program
//! panics unless every node was freed exactly once.
//!
//! Run it with `cargo run --example work_pool`.

#![deny(warnings)]

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread;

use gc_core::Trace;
use gc_core::sync::{self, Gc, Weak};
use gc_examples::Rng;

const WORKERS: usize = 4;
const ROUNDS: usize = 30;
/// Nodes in the task one worker builds in one round.
const TASK_NODES: usize = 6;
/// `main` collects at the start of every round that is a multiple of this.
const COLLECT_EVERY: usize = 10;

/// Nodes made so far; each node's `id` is its index here.
static CREATED: AtomicUsize = AtomicUsize::new(0);
/// How many times each node (by `id`) was dropped.
static DROPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A node of the shared graph: strong edges, a weak link to its parent.
#[derive(Trace)]
struct Node {
    id: usize,
    name: String,
    parent: Weak<Node>,
    edges: Mutex<Vec<Gc<Node>>>,
}

impl Node {
    fn new(name: String, parent: Weak<Node>) -> Gc<Node> {
        Gc::new(Node {
            id: CREATED.fetch_add(1, Relaxed),
            name,
            parent,
            edges: Mutex::new(Vec::new()),
        })
    }

    fn link(&self, to: Gc<Node>) {
        self.edges.lock().unwrap().push(to);
    }

    /// The first edge: the next node around the task's ring.
    fn next(&self) -> Gc<Node> {
        self.edges.lock().unwrap()[0].clone()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let mut drops = DROPS.lock().unwrap_or_else(PoisonError::into_inner);
        if drops.len() <= self.id {
            drops.resize(self.id + 1, 0);
        }
        drops[self.id] += 1;
    }
}

/// What `main` asks of a worker.
enum Job {
    /// Build a task for `round` under `project`, and send its head back.
    Build { round: usize, project: Weak<Node> },
    /// Add the edge `from -> to` (to another worker's task).
    Link { from: Gc<Node>, to: Gc<Node> },
    /// Unlink every edge of the task at this head, then drop it.
    Finish(Gc<Node>),
}

/// A worker's answer: the head it built, or "done".
enum Reply {
    Built(usize, Gc<Node>),
    Done,
}

fn worker(w: usize, jobs: &Receiver<Job>, replies: &Sender<Reply>) {
    for job in jobs {
        // Each arm drops the handles it received before the reply goes out.
        let reply = match job {
            Job::Build { round, project } => Reply::Built(w, build(w, round, project)),
            Job::Link { from, to } => {
                from.link(to);
                Reply::Done
            }
            Job::Finish(head) => {
                finish(head);
                Reply::Done
            }
        };
        replies.send(reply).expect("main waits for every reply");
    }
}

/// A ring `n0 -> n1 -> ... -> n0` made on this thread, plus random back
/// edges; `n0`'s parent is the project, the others' is `n0`.
fn build(w: usize, round: usize, project: Weak<Node>) -> Gc<Node> {
    let mut rng = Rng::new((round * WORKERS + w) as u64);
    let head = Node::new(format!("r{round}.w{w}.n0"), project);
    let mut nodes = vec![head.clone()];
    for i in 1..TASK_NODES {
        let n = Node::new(format!("r{round}.w{w}.n{i}"), Gc::downgrade(&head));
        nodes[i - 1].link(n.clone());
        nodes.push(n);
    }
    nodes[TASK_NODES - 1].link(head.clone());
    for i in 2..TASK_NODES {
        if rng.chance(50) {
            nodes[i].link(nodes[1 + rng.below(i - 1)].clone());
        }
    }
    head
}

/// Clears the edges of every node of the task at `head`, so nothing is
/// left of its cycles; dropping the handles then frees it by counting.
fn finish(head: Gc<Node>) {
    let mut nodes = vec![head];
    loop {
        let next = nodes[nodes.len() - 1].next();
        if Gc::ptr_eq(&next, &nodes[0]) {
            break;
        }
        nodes.push(next);
    }
    for n in &nodes {
        n.edges.lock().unwrap().clear();
    }
}

/// `node`'s name and those of its parents, following the weak links.
fn path(node: &Gc<Node>) -> String {
    let mut names = vec![node.name.clone()];
    let mut up = node.parent.upgrade();
    while let Some(p) = up {
        names.push(p.name.clone());
        up = p.parent.upgrade();
    }
    names.join(" < ")
}

/// Waits for one reply from each worker; returns the heads they built, by
/// worker.
fn gather(replies: &Receiver<Reply>) -> Vec<Gc<Node>> {
    let mut heads: Vec<Option<Gc<Node>>> = (0..WORKERS).map(|_| None).collect();
    for _ in 0..WORKERS {
        if let Reply::Built(w, head) = replies.recv().expect("workers are alive") {
            heads[w] = Some(head);
        }
    }
    heads.into_iter().flatten().collect()
}

fn main() {
    let before = sync::stats();
    let (reply_tx, replies) = mpsc::channel();
    let pool: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (jobs_tx, jobs) = mpsc::channel();
            let reply_tx = reply_tx.clone();
            let handle = thread::spawn(move || worker(w, &jobs, &reply_tx));
            (jobs_tx, handle)
        })
        .collect();
    let send = |w: usize, job: Job| pool[w].0.send(job).expect("the worker is alive");

    println!(
        "{WORKERS} workers, {ROUNDS} rounds; each round, every worker builds a task of \
         {TASK_NODES} nodes and the tasks are linked into one cycle through all {WORKERS} threads"
    );
    let project = Node::new("project".into(), Weak::new());
    let mut collected = 0;
    let mut abandoned = Weak::new();
    for round in 0..ROUNDS {
        for w in 0..WORKERS {
            let project = Gc::downgrade(&project);
            send(w, Job::Build { round, project });
        }
        if round > 0 && round % COLLECT_EVERY == 0 {
            let freed = sync::collect();
            collected += freed;
            println!("round {round}: collect() while the workers build: freed {freed}");
        }
        let heads = gather(&replies);
        if round == 0 {
            println!("parent links (Weak):     {}", path(&heads[2].next()));
        }
        for w in 0..WORKERS {
            let (from, to) = (heads[w].clone(), heads[(w + 1) % WORKERS].clone());
            send(w, Job::Link { from, to });
        }
        gather(&replies);
        match round % 3 {
            0 => project.link(heads[0].clone()),
            1 => abandoned = Gc::downgrade(&heads[1]),
            _ => {
                for (w, head) in heads.into_iter().enumerate() {
                    send(w, Job::Finish(head));
                }
                gather(&replies);
            }
        }
    }

    let freed = sync::collect();
    collected += freed;
    let gone = abandoned.upgrade().is_none();
    println!("after the last round: collect() freed {freed}; an abandoned task is gone: {gone}");
    drop(project);
    let freed = sync::collect();
    collected += freed;
    println!("dropped the project:     collect() freed {freed} (the kept rounds)");
    for (jobs, handle) in pool {
        drop(jobs);
        handle.join().expect("a worker panicked");
    }

    let stats = sync::stats();
    let created = CREATED.load(Relaxed);
    let drops = DROPS.lock().unwrap().clone();
    let dropped: usize = drops.iter().map(|&d| d as usize).sum();
    let by_collector = stats.collected - before.collected;
    let by_counting = dropped - by_collector;
    println!("nodes created:           {created}");
    println!("freed by counting:       {by_counting} (the finished tasks and the project)");
    println!(
        "freed by the collector:  {by_collector} (the kept and abandoned rounds; {} collections, \
         collect() returned {collected} in all)",
        stats.collections - before.collections
    );
    println!(
        "longest collection:      stats().max_pause = {:.2?}",
        stats.max_pause
    );

    let rounds = |kind: usize| (0..ROUNDS).filter(|r| r % 3 == kind).count();
    let per_round = WORKERS * TASK_NODES;
    assert_eq!(created, 1 + ROUNDS * per_round, "nodes created");
    assert_eq!(drops.len(), created, "some node was never dropped");
    let wrong: Vec<_> = (0..created).filter(|&i| drops[i] != 1).collect();
    assert!(
        wrong.is_empty(),
        "nodes not dropped exactly once: {wrong:?}"
    );
    assert_eq!(by_counting, 1 + rounds(2) * per_round, "freed by counting");
    assert_eq!(
        by_collector,
        (rounds(0) + rounds(1)) * per_round,
        "freed by the collector"
    );
    assert!(gone, "a weak handle to collected garbage still upgrades");
    assert_eq!(sync::tracked_count(), 0, "tracked objects survived");
    println!("every node was freed exactly once");
}
