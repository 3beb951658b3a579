//! Soak test (issue 5; not run in CI): random churn over more than a million
//! live objects with automatic collection on, printing once a second the
//! elapsed time, the live tracked objects, the collections so far and the
//! resident set size. Memory must plateau.
//!
//! ```text
//! cargo run --release -p gc-tests --bin soak -- [seconds (60)] [slots (250000)]
//! ```
//!
//! The heap is a table of slots, each holding the root of a small structure:
//! a single node, a list, or a ring (cyclic: only the collector frees it).
//! Every step replaces a random slot's structure, so the old one becomes
//! garbage; new nodes also link into random other slots (so garbage is
//! sometimes still referenced, and cycles span slots), some nodes have
//! finalizers, some edges are cut, and `Weak`s are taken and upgraded.
//! Nothing calls `collect()`: all of it is left to automatic collection.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use gc_core::{Finalize, Gc, Trace, Weak};

#[derive(Trace)]
#[gc(finalize)]
struct Node {
    id: u64,
    payload: [u64; 2],
    finalizable: bool,
    edges: RefCell<Vec<Gc<Node>>>,
}

thread_local! {
    static FINALIZED: Cell<u64> = const { Cell::new(0) };
}

impl Finalize for Node {
    fn finalize(&self) {
        if self.finalizable {
            FINALIZED.with(|f| f.set(f.get() + 1));
        }
    }
}

/// xorshift64*: no dependencies needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("fits")
    }
}

struct Soak {
    rng: Rng,
    slots: Vec<Gc<Node>>,
    weaks: Vec<Weak<Node>>,
    next_id: u64,
    allocated: u64,
}

impl Soak {
    fn node(&mut self) -> Gc<Node> {
        let id = self.next_id;
        self.next_id += 1;
        self.allocated += 1;
        Gc::new(Node {
            id,
            payload: [id, !id],
            finalizable: self.rng.below(8) == 0,
            edges: RefCell::new(Vec::new()),
        })
    }

    /// A new structure of 1 to 8 nodes: a single node, a list or a ring.
    fn structure(&mut self) -> Gc<Node> {
        let len = 1 + self.rng.below(8);
        let head = self.node();
        let mut tail = head.clone();
        for _ in 1..len {
            let n = self.node();
            tail.edges.borrow_mut().push(n.clone());
            tail = n;
        }
        if self.rng.below(2) == 0 {
            // A ring: garbage only the collector can free.
            tail.edges.borrow_mut().push(head.clone());
        }
        if !self.slots.is_empty() && self.rng.below(4) == 0 {
            // A link into another slot's structure.
            let other = self.slots[self.rng.below(self.slots.len())].clone();
            tail.edges.borrow_mut().push(other);
        }
        head
    }

    fn step(&mut self) {
        let i = self.rng.below(self.slots.len());
        match self.rng.below(16) {
            0 => {
                // Cut the edges of a slot's root (breaks chains of links).
                let cut = std::mem::take(&mut *self.slots[i].edges.borrow_mut());
                drop(cut);
            }
            1 => {
                let w = Gc::downgrade(&self.slots[i]);
                if self.weaks.len() < 4096 {
                    self.weaks.push(w);
                } else {
                    let j = self.rng.below(self.weaks.len());
                    self.weaks[j] = w;
                }
            }
            2 if !self.weaks.is_empty() => {
                let j = self.rng.below(self.weaks.len());
                if let Some(g) = self.weaks[j].upgrade() {
                    assert_eq!(g.payload, [g.id, !g.id], "a live node is intact");
                }
            }
            _ => {
                let s = self.structure();
                let old = std::mem::replace(&mut self.slots[i], s);
                assert_eq!(old.payload, [old.id, !old.id], "a live node is intact");
                drop(old);
            }
        }
    }
}

/// Resident set size in KiB, from `/proc/self/status` (0 if unavailable).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn collections() -> (usize, usize) {
    let stats = gc_core::stats();
    (
        stats.iter().map(|s| s.collections).sum(),
        stats.iter().map(|s| s.collected).sum(),
    )
}

/// The longest pause of any collection so far, in milliseconds.
fn longest_pause_ms() -> f64 {
    gc_core::stats()
        .iter()
        .map(|s| s.max_pause.as_secs_f64() * 1e3)
        .fold(0.0, f64::max)
}

#[expect(clippy::cast_precision_loss, reason = "display only")]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(60, |a| a.parse().expect("seconds"));
    let slot_count: usize = args.next().map_or(250_000, |a| a.parse().expect("slots"));

    let mut soak = Soak {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        slots: Vec::with_capacity(slot_count),
        weaks: Vec::new(),
        next_id: 0,
        allocated: 0,
    };
    let start = Instant::now();
    for _ in 0..slot_count {
        let s = soak.structure();
        soak.slots.push(s);
    }
    println!(
        "built {slot_count} slots in {:.1?}: {} live tracked objects, {:.1} MiB RSS; \
         thresholds {:?}, automatic collection {}",
        start.elapsed(),
        gc_core::tracked_count(),
        mib(rss_kib()),
        gc_core::threshold(),
        if gc_core::is_enabled() { "on" } else { "off" },
    );
    println!(
        "{:>4}  {:>10}  {:>11}  {:>12}  {:>12}  {:>9}  {:>13}",
        "t(s)", "live", "collections", "collected", "allocated", "RSS(MiB)", "max pause(ms)"
    );

    let start = Instant::now();
    let mut rss = Vec::new();
    let mut tick = 1;
    while tick <= seconds {
        for _ in 0..1000 {
            soak.step();
        }
        if start.elapsed() >= Duration::from_secs(tick) {
            let (runs, collected) = collections();
            let r = rss_kib();
            rss.push(r);
            println!(
                "{tick:>4}  {:>10}  {runs:>11}  {collected:>12}  {:>12}  {:>9.1}  {:>13.2}",
                gc_core::tracked_count(),
                soak.allocated,
                mib(r),
                longest_pause_ms()
            );
            tick += 1;
        }
    }

    // Plateau: the peak of the last half against the peak of the first.
    let half = rss.len() / 2;
    let first = rss[..half].iter().copied().max().unwrap_or(0);
    let last = rss[half..].iter().copied().max().unwrap_or(0);
    println!(
        "RSS peak: first half {:.1} MiB, second half {:.1} MiB; finalizers run: {}; \
         longest pause {:.2} ms",
        mib(first),
        mib(last),
        FINALIZED.with(Cell::get),
        longest_pause_ms()
    );
    drop(soak);
    let freed = gc_core::collect();
    println!(
        "after dropping everything: collect() freed {freed}, {} tracked objects left",
        gc_core::tracked_count()
    );
    if last > first + first / 10 {
        println!("RSS kept growing (more than 10% after the first half)");
        std::process::exit(1);
    }
}
