//! The `sync_*` workloads, generic over [`SyncContender`]: clone + drop on
//! one thread and on several (each thread on its own object, or all on one
//! shared object), and the collection of garbage rings. Like the others,
//! they run in a child process and print `metric value` lines.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use crate::sync_contenders::{
    GC_CORE_SYNC, RINGS_FREED, SYNC_CONTENDERS, SyncContender, arc, dumpster_sync, gcmodule_sync,
};
use crate::workloads::{N, RING, RINGS};

/// The `sync_*` jobs: (key, threads, each thread on its own object).
/// `sync_cycles` is the one with no threads (0).
pub const SYNC_SHAPES: [(&str, usize, bool); 6] = [
    ("sync_clone_drop", 1, true),
    ("sync_clone_drop_2t_own", 2, true),
    ("sync_clone_drop_4t_own", 4, true),
    ("sync_clone_drop_2t_shared", 2, false),
    ("sync_clone_drop_4t_shared", 4, false),
    ("sync_cycles", 0, true),
];

/// Whether `job` is one of the `sync_*` jobs (run for the
/// [`SYNC_CONTENDERS`], paired with `Arc`).
pub fn is_sync(job: &str) -> bool {
    job.starts_with("sync_")
}

/// The contenders run on a `sync_*` job besides `Arc` (gc-core only in a
/// build with it).
pub fn contenders() -> Vec<&'static str> {
    SYNC_CONTENDERS
        .iter()
        .map(|c| c.0)
        .filter(|c| *c != "arc" && (*c != "gc-core" || GC_CORE_SYNC))
        .collect()
}

fn emit(metric: &str, value: f64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{metric} {value}");
    let _ = out.flush();
}

fn ns_per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

/// Runs a `sync_*` job in the child.
pub fn dispatch(job: &str, who: &str, iters: usize) {
    match who {
        "arc" => run::<arc::C>(job, iters),
        #[cfg(feature = "gc-core-sync")]
        "gc-core" => run::<crate::sync_contenders::gc_core_sync::C>(job, iters),
        #[cfg(not(feature = "gc-core-sync"))]
        "gc-core" => panic!("built without gc-core's sync::Gc (bench feature `gc-core-sync`)"),
        "dumpster" => run::<dumpster_sync::C>(job, iters),
        "gcmodule" => run::<gcmodule_sync::C>(job, iters),
        _ => panic!("unknown sync contender {who}"),
    }
}

fn run<C: SyncContender>(job: &str, iters: usize) {
    if job == "sync_cycles" {
        return cycles::<C>(iters);
    }
    let &(_, threads, own) = SYNC_SHAPES
        .iter()
        .find(|s| s.0 == job)
        .unwrap_or_else(|| panic!("unknown workload {job}"));
    if threads == 1 {
        clone_drop::<C>(iters);
    } else {
        clone_drop_threads::<C>(threads, own, iters);
    }
}

/// `sync_clone_drop`: clone a handle to a (tracked) node and drop the
/// clone, on one thread; ns per clone+drop pair. Automatic collection is
/// left at the crate's default.
fn clone_drop<C: SyncContender>(iters: usize) {
    let h = C::node(1, None);
    for it in 0..=iters {
        let t = Instant::now();
        for _ in 0..N {
            let c = black_box(h.clone());
            drop(c);
        }
        let d = t.elapsed();
        if it > 0 {
            emit("ns", ns_per(d, N));
        }
    }
}

/// `sync_clone_drop_{2,4}t_{own,shared}`: `threads` threads, each doing
/// [`N`] clone+drop pairs per iteration, all at once: on a node each
/// thread allocated itself (`own`), or all on one node (`shared`; each
/// thread clones its own handle to it first, untimed). The threads start
/// each iteration together at a barrier; each notes when it started and
/// finished its pairs, and the iteration's time is from the first start
/// to the last finish, ÷ `N`: the ns per pair each thread saw while all
/// ran (with more threads than cores, it includes the time a thread
/// waits for a core). Automatic collection is left at the crate's default.
fn clone_drop_threads<C: SyncContender>(threads: usize, own: bool, iters: usize) {
    let start = Barrier::new(threads + 1);
    let end = Barrier::new(threads + 1);
    let spans = Mutex::new(Vec::with_capacity(threads));
    let shared = (!own).then(|| C::node(1, None));
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (start, end, spans, shared) = (&start, &end, &spans, shared.as_ref());
            s.spawn(move || {
                let h = shared.map_or_else(|| C::node(1, None), Clone::clone);
                for _ in 0..=iters {
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..N {
                        let c = black_box(h.clone());
                        drop(c);
                    }
                    let span = (t, Instant::now());
                    spans.lock().unwrap().push(span);
                    end.wait();
                }
            });
        }
        for it in 0..=iters {
            start.wait();
            end.wait();
            let mut spans = spans.lock().unwrap();
            let first = spans.iter().map(|s| s.0).min().expect("a span per thread");
            let last = spans.iter().map(|s| s.1).max().expect("a span per thread");
            spans.clear();
            if it > 0 {
                emit("ns", ns_per(last - first, N));
            }
        }
    });
}

/// Builds `rings` rings of `len` nodes; returns one handle per ring. The
/// first node of each has `v == 0` (its drop counts the ring as freed).
fn build_rings<C: SyncContender>(rings: usize, len: usize, out: &mut Vec<C::Node>) {
    for _ in 0..rings {
        let first = C::node(0, None);
        let mut last = first.clone();
        for i in 1..len as i64 {
            last = C::node(i, Some(last));
        }
        C::set_next(&first, Some(last));
        out.push(first);
    }
}

/// `sync_cycles`: 100,000 rings of 10 on one thread — build, drop the
/// handles, collect; each phase in ns per object, automatic collection
/// off. The collect phase only counts if it freed every ring: the rings'
/// drops are counted ([`RINGS_FREED`]), `rings_freed` reports them, and a
/// collection that left some alive (or a drop phase that freed some)
/// ends the child with an error instead of a `collect` figure.
fn cycles<C: SyncContender>(iters: usize) {
    C::set_auto(false);
    for _ in 0..iters {
        let mut rings = Vec::with_capacity(RINGS);
        let t = Instant::now();
        build_rings::<C>(RINGS, RING, &mut rings);
        emit("build", ns_per(t.elapsed(), RINGS * RING));
        RINGS_FREED.store(0, Ordering::Relaxed);
        let t = Instant::now();
        drop(rings);
        emit("drop", ns_per(t.elapsed(), RINGS * RING));
        if !C::COLLECTS {
            continue;
        }
        let early = RINGS_FREED.swap(0, Ordering::Relaxed);
        let t = Instant::now();
        let n = C::collect();
        let d = t.elapsed();
        let freed = RINGS_FREED.load(Ordering::Relaxed);
        emit("rings_freed", freed as f64);
        if early != 0 || freed != RINGS {
            eprintln!(
                "sync_cycles: {early} rings freed by the drops, {freed} of {RINGS} by collect()"
            );
            std::process::exit(4);
        }
        emit("collect", ns_per(d, RINGS * RING));
        if let Some(n) = n {
            emit("collected", n as f64);
        }
    }
}
