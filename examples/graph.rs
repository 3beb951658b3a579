//! A random directed graph under churn, with automatic collection.
//!
//! The program keeps 1,000 vertices in variables (its roots). Each step it
//! adds an edge from a root to a vertex found by a short random walk,
//! removes an edge of a root, or replaces a root by a fresh vertex. A vertex
//! that is no longer a root lives on while some path from a root reaches it;
//! once none does, it is garbage, often part of a cycle. Reference counting
//! frees the acyclic garbage at once; the generational collector, triggered
//! automatically by allocations, frees the cycles. Every second the program
//! prints the live objects, how the dead ones were freed, and the collections
//! run and their pauses (measured with a collection callback, Python's
//! `gc.callbacks`).
//!
//! Run it with `cargo run --release --example graph` (or pass the number of
//! seconds, 1 to 4: `cargo run --example graph -- 1`).

#![deny(warnings)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gc_core::{Gc, Phase, Trace};
use gc_examples::Rng;

const ROOTS: usize = 1_000;
const MAX_EDGES: usize = 3;

thread_local! {
    /// Vertices dropped so far, by counting or by the collector.
    static FREED: Cell<u64> = const { Cell::new(0) };
}

/// A vertex with its outgoing edges.
#[derive(Trace)]
struct Vertex {
    id: u64,
    edges: RefCell<Vec<Gc<Vertex>>>,
}

impl Drop for Vertex {
    fn drop(&mut self) {
        FREED.with(|f| f.set(f.get() + 1));
    }
}

/// What the collection callback saw during the current second.
#[derive(Default)]
struct Pauses {
    young: usize,
    older: usize,
    collected: usize,
    total: Duration,
    max: Duration,
}

/// A vertex reached by a random walk of up to 2 steps from a random root.
fn random_vertex(roots: &[Gc<Vertex>], rng: &mut Rng) -> Gc<Vertex> {
    let mut v = roots[rng.below(roots.len())].clone();
    for _ in 0..rng.below(3) {
        let next = {
            let edges = v.edges.borrow();
            if edges.is_empty() {
                break;
            }
            edges[rng.below(edges.len())].clone()
        };
        v = next;
    }
    v
}

/// One step of churn.
fn step(roots: &mut [Gc<Vertex>], rng: &mut Rng, new_vertex: &mut impl FnMut() -> Gc<Vertex>) {
    let i = rng.below(roots.len());
    match rng.below(100) {
        // Add an edge from a root.
        0..=44 => {
            let to = random_vertex(roots, rng);
            let mut edges = roots[i].edges.borrow_mut();
            if edges.len() < MAX_EDGES {
                edges.push(to);
            }
        }
        // Remove an edge of a root.
        45..=79 => {
            let mut edges = roots[i].edges.borrow_mut();
            if !edges.is_empty() {
                let e = rng.below(edges.len());
                edges.swap_remove(e);
            }
        }
        // Replace a root by a new vertex: the old one lives on only while
        // some path from a root still reaches it.
        _ => roots[i] = new_vertex(),
    }
}

fn seconds_from_args() -> u32 {
    match std::env::args().nth(1).map(|s| s.parse::<u32>()) {
        None => 3,
        Some(Ok(s @ 1..=4)) => s,
        Some(_) => {
            eprintln!("usage: graph [SECONDS]  (1 to 4; default 3)");
            std::process::exit(2);
        }
    }
}

fn main() {
    let seconds = seconds_from_args();
    let mut rng = Rng::new(0x5EED);
    let mut created: u64 = 0;
    let mut new_vertex = || {
        created += 1;
        Gc::new(Vertex {
            id: created,
            edges: RefCell::new(Vec::new()),
        })
    };
    let mut roots: Vec<Gc<Vertex>> = (0..ROOTS).map(|_| new_vertex()).collect();

    // Python's `gc.callbacks`: record every automatic collection's pause.
    let pauses = Rc::new(RefCell::new(Pauses::default()));
    let sink = Rc::clone(&pauses);
    let callback = gc_core::add_callback(move |phase, info| {
        if phase == Phase::Stop {
            let mut p = sink.borrow_mut();
            if info.generation == 0 {
                p.young += 1;
            } else {
                p.older += 1;
            }
            p.collected += info.collected;
            p.total += info.pause;
            p.max = p.max.max(info.pause);
        }
    });

    println!(
        "{ROOTS} roots, up to {MAX_EDGES} edges per vertex, thresholds {:?}, {seconds} s",
        gc_core::threshold()
    );
    let start = Instant::now();
    let mut steps: u64 = 0;
    for second in 1..=seconds {
        let freed_before = FREED.with(Cell::get);
        let mut steps_this_second = 0u64;
        while start.elapsed() < Duration::from_secs(u64::from(second)) {
            for _ in 0..1_000 {
                step(&mut roots, &mut rng, &mut new_vertex);
            }
            steps_this_second += 1_000;
        }
        steps += steps_this_second;
        let p = pauses.take();
        let freed = FREED.with(Cell::get) - freed_before;
        let by_collector = u64::try_from(p.collected).unwrap_or(u64::MAX);
        println!(
            "second {second}: {} live tracked objects after {} steps; freed {} by counting + {} by \
             the collector; {} collections ({} young + {} older), paused {:.1} ms (max {:.2} ms)",
            gc_core::tracked_count(),
            steps_this_second,
            freed.saturating_sub(by_collector),
            by_collector,
            p.young + p.older,
            p.young,
            p.older,
            p.total.as_secs_f64() * 1e3,
            p.max.as_secs_f64() * 1e3,
        );
    }
    gc_core::remove_callback(callback);

    let stats = gc_core::stats();
    println!(
        "{steps} steps, {} vertices created; collections per generation: {}, {}, {}",
        created, stats[0].collections, stats[1].collections, stats[2].collections,
    );
    let sample = &roots[0];
    println!(
        "root 0 is vertex {} with {} edges",
        sample.id,
        sample.edges.borrow().len()
    );
    drop(roots);
    let reclaimed = gc_core::collect();
    println!(
        "dropped the roots: collect() reclaimed {reclaimed} cyclic leftovers; tracked_count() = {}",
        gc_core::tracked_count()
    );
}
