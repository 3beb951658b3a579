//! The workloads, generic over [`Contender`]. They run in a child process,
//! on a thread with an 8 MiB stack, and print `metric value` lines as they go
//! (so the phases finished before a stack overflow are still reported).

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::contenders::{Contender, Live};

/// Objects per workload.
pub const N: usize = 1_000_000;
/// `cycles`: rings × ring length.
pub const RINGS: usize = 100_000;
pub const RING: usize = 10;
/// `young_with_old_heap`: garbage rings × ring length per young collection.
pub const YOUNG_RINGS: usize = 10_000;
pub const YOUNG_RING: usize = 4;
/// `grow` and `grow_cyclic`: list lengths, and the suffix of their metrics.
pub const GROW_SIZES: [(usize, &str); 2] = [(1_000_000, "1m"), (4_000_000, "4m")];
/// `churn`: live rings × ring length (1,000,000 live objects).
pub const CHURN_RINGS: usize = 250_000;
pub const CHURN_RING: usize = 4;
/// `churn`: steps, each replacing one ring.
pub const CHURN_STEPS: usize = 1_000_000;
/// `churn`: steps per timed batch.
pub const BATCH: usize = 256;
/// `churn`: the xorshift seed, the same for every contender.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

fn emit(metric: &str, value: f64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{metric} {value}");
    let _ = out.flush();
}

fn ns_per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `alloc_drop`: chains of 8 nodes, built and dropped; ns per node.
pub fn alloc_drop<C: Contender>(iters: usize) {
    for it in 0..=iters {
        let t = Instant::now();
        for _ in 0..N / 8 {
            let mut head: Option<C::Node> = None;
            for i in 0..8 {
                head = Some(C::node(i, head));
            }
            drop(black_box(head));
        }
        let d = t.elapsed();
        if it > 0 {
            emit("ns", ns_per(d, N));
        }
    }
}

/// `alloc_drop_leaf`: pointer-free values, allocated and dropped; ns per value.
pub fn alloc_drop_leaf<C: Contender>(iters: usize) {
    for it in 0..=iters {
        let t = Instant::now();
        for i in 0..N as i64 {
            let x = C::leaf(i);
            drop(black_box(x));
        }
        let d = t.elapsed();
        if it > 0 {
            emit("ns", ns_per(d, N));
        }
    }
}

/// `clone_drop`: clone a handle to a (tracked) node and drop the clone; ns per
/// clone+drop pair.
pub fn clone_drop<C: Contender>(iters: usize) {
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

/// Builds `rings` rings of `len` nodes; returns one handle per ring.
fn build_rings<C: Contender>(rings: usize, len: usize, out: &mut Vec<C::Node>) {
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

/// `cycles`: 100,000 rings of 10 — build, drop the handles, collect; each
/// phase in ns per object. Automatic collection is off throughout.
pub fn cycles<C: Contender>(iters: usize) {
    C::set_auto(false);
    for _ in 0..iters {
        let mut rings = Vec::with_capacity(RINGS);
        let t = Instant::now();
        build_rings::<C>(RINGS, RING, &mut rings);
        emit("build", ns_per(t.elapsed(), RINGS * RING));
        let t = Instant::now();
        drop(rings);
        emit("drop", ns_per(t.elapsed(), RINGS * RING));
        if C::COLLECTS {
            let t = Instant::now();
            let n = C::collect();
            emit("collect", ns_per(t.elapsed(), RINGS * RING));
            if let Some(n) = n {
                emit("collected", n as f64);
            }
        }
    }
}

/// `big_cycle`: one doubly linked ring of 1,000,000 — build, drop, collect (ms).
pub fn big_cycle<C: Contender>() {
    C::set_auto(false);
    let t = Instant::now();
    let first = C::node2(0);
    let mut prev = first.clone();
    for i in 1..N as i64 {
        let n = C::node2(i);
        C::link2(&prev, &n);
        prev = n;
    }
    C::link2(&prev, &first);
    emit("build", ms(t.elapsed()));
    let t = Instant::now();
    drop(prev);
    drop(first);
    emit("drop", ms(t.elapsed()));
    if C::COLLECTS {
        let t = Instant::now();
        let n = C::collect();
        emit("collect", ms(t.elapsed()));
        if let Some(n) = n {
            emit("collected", n as f64);
        }
    }
}

/// `deep_list`: an acyclic singly linked list of 1,000,000; drop the head (ms).
/// For rust-gc, whose drop frees nothing, the timed drop includes the
/// collection that frees the list.
pub fn deep_list<C: Contender>() {
    C::set_auto(false);
    let t = Instant::now();
    let mut head: Option<C::Node> = None;
    for i in 0..N as i64 {
        head = Some(C::node(i, head));
    }
    emit("build", ms(t.elapsed()));
    let t = Instant::now();
    drop(head);
    C::reclaim_after_drop();
    emit("drop", ms(t.elapsed()));
}

/// `young_with_old_heap`: time the collection of 10,000 garbage rings of 4
/// (ms) with no live objects (`empty`), then with 1,000,000 live nodes
/// settled by one full collection (`old`), then with none again (`empty`):
/// the two measurements sit milliseconds apart in one process, so drifts in
/// machine speed cancel out. gc-core uses `collect_generation(0)`, the peers
/// their only collect. Automatic collection is off throughout; the first
/// iteration of each phase is an untimed warm-up.
pub fn young<C: Contender>(iters: usize) {
    C::set_auto(false);
    C::collect();
    let mut rings = Vec::with_capacity(YOUNG_RINGS);
    let mut phase = |metric: &str| {
        for it in 0..=iters {
            build_rings::<C>(YOUNG_RINGS, YOUNG_RING, &mut rings);
            rings.clear();
            let t = Instant::now();
            let n = C::young_collect();
            let d = t.elapsed();
            if it > 0 {
                emit(metric, ms(d));
                if let Some(n) = n {
                    emit("collected", n as f64);
                }
            }
        }
    };
    phase("empty");
    let live: Vec<C::Node> = (0..N as i64).map(|i| C::node(i, None)).collect();
    C::collect();
    phase("old");
    drop(black_box(live));
    C::collect();
    phase("empty");
}

/// Reads a `kB` field of /proc/self/status, in bytes.
fn proc_status(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix(field) {
            let kb: u64 = rest
                .trim_start_matches(':')
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .expect("kB");
            return kb * 1024;
        }
    }
    panic!("{field} not in /proc/self/status");
}

/// `memory` / `memory_leaf`: peak RSS growth per live object while 1,000,000
/// nodes (or leaf values) are alive. The vector of handles is allocated and
/// its pages touched before the baseline, so it is not counted.
pub fn memory<C: Contender>(leaf: bool) {
    fn run<T>(make: impl Fn(i64) -> T) {
        let mut v: Vec<T> = Vec::with_capacity(N);
        // SAFETY: fills the vector's spare capacity with bytes (no element
        // is read or created), only to fault its pages in. Not zeros: LLVM
        // would turn allocation + zeroing into a (lazy) zeroed allocation.
        unsafe { std::ptr::write_bytes(v.as_mut_ptr(), 0x5a, N) };
        black_box(v.as_mut_ptr());
        let base = proc_status("VmRSS");
        for i in 0..N as i64 {
            v.push(make(i));
        }
        let peak = proc_status("VmHWM");
        emit("bytes", (peak.saturating_sub(base)) as f64 / N as f64);
        black_box(&v);
        std::mem::forget(v);
    }
    if leaf {
        run(C::leaf);
    } else {
        run(|i| C::node(i, None));
    }
}

/// `grow`: builds a live singly linked list of 1,000,000, then of 4,000,000
/// nodes, automatic collection on; ns per node (`ns_1m`, `ns_4m`). Each step
/// is `head = Some(Ptr::new(Node { value: i, next: head.take() }))`: the old
/// head is moved into the new node, never cloned. The list stays alive
/// until the timer stops; it is freed untimed.
pub fn grow<C: Live>(iters: usize) {
    C::set_auto(true);
    for _ in 0..iters {
        for (n, tag) in GROW_SIZES {
            let t = Instant::now();
            let mut head: Option<C::List> = None;
            for i in 0..n as i64 {
                head = Some(C::list(i, head.take()));
            }
            black_box(&head);
            emit(&format!("ns_{tag}"), ns_per(t.elapsed(), n));
            C::list_free(head);
        }
    }
}

/// `grow_cyclic`: the same as a doubly linked list, every node in a cycle
/// with its neighbours; ns per node (`ns_1m`, `ns_4m`). Each step moves the
/// tail handle into the new node's `prev` and sets the previous node's
/// `next` to a clone of the new one (see [`Live::dlist_push`]); a `head`
/// handle keeps the first node. Freed untimed: Rc breaks the cycles by
/// hand, gc-core drops the handles and collects.
pub fn grow_cyclic<C: Live>(iters: usize) {
    C::set_auto(true);
    for _ in 0..iters {
        for (n, tag) in GROW_SIZES {
            let t = Instant::now();
            let head = C::dlist_first(0);
            let mut tail = head.clone();
            for i in 1..n as i64 {
                tail = C::dlist_push(i, tail);
            }
            black_box((&head, &tail));
            emit(&format!("ns_{tag}"), ns_per(t.elapsed(), n));
            C::dlist_free(head, tail);
        }
    }
}

/// One step of the xorshift64 generator.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// A `churn` ring of [`CHURN_RING`] nodes, each pointing to the next and
/// the last to the first; returns the first. The first node's handle is
/// cloned once, into the last node (which needs it); nothing is dropped.
fn churn_ring<C: Live>() -> C::Ring {
    let first = C::ring(None);
    let mut last = first.clone();
    for _ in 1..CHURN_RING {
        last = C::ring(Some(last));
    }
    C::ring_close(&first, last);
    first
}

/// The nearest-rank percentile `p` (0–1) of `v`, which it sorts.
fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    let rank = (p * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The steps of one `churn` pass: each batch's duration, and the most
/// tracked objects seen after a batch (if the crate counts them).
fn churn_steps<C: Live>(rings: &mut [C::Ring]) -> (Vec<Duration>, Option<usize>) {
    let mut rng = SEED;
    let mut batches = Vec::with_capacity(CHURN_STEPS.div_ceil(BATCH));
    let mut most = C::tracked();
    let mut done = 0;
    while done < CHURN_STEPS {
        let k = BATCH.min(CHURN_STEPS - done);
        let t = Instant::now();
        for _ in 0..k {
            let i = (xorshift(&mut rng) % rings.len() as u64) as usize;
            rings[i] = churn_ring::<C>();
        }
        batches.push(t.elapsed());
        done += k;
        most = most.max(C::tracked());
    }
    (batches, most)
}

/// `churn`: 250,000 rings of 4 in a `Vec` (1,000,000 live objects), then
/// 1,000,000 steps, each replacing `vec[rng() % 250,000]` with a new ring
/// (xorshift, one seed for all), automatic collection on. Emits ns per step
/// (`ns`, the sum of the batches), the longest and the 99.9th-percentile
/// batch of 256 steps (`max_batch_ms`, `p999_batch_ms`), and, where the
/// crate counts them, the most tracked objects seen after any batch ÷ live
/// objects (`tracked_over_live`) and its longest reported collection
/// (`gc_max_pause_ms`). Rc leaks every replaced ring.
pub fn churn<C: Live>(iters: usize) {
    C::set_auto(true);
    for _ in 0..iters {
        let mut rings: Vec<C::Ring> = (0..CHURN_RINGS).map(|_| churn_ring::<C>()).collect();
        let (mut batches, most) = churn_steps::<C>(&mut rings);
        let total: Duration = batches.iter().sum();
        emit("ns", ns_per(total, CHURN_STEPS));
        emit("max_batch_ms", ms(percentile(&mut batches, 1.0)));
        emit("p999_batch_ms", ms(percentile(&mut batches, 0.999)));
        if let Some(most) = most {
            emit(
                "tracked_over_live",
                most as f64 / (CHURN_RINGS * CHURN_RING) as f64,
            );
        }
        if let Some(p) = C::max_pause_ms() {
            emit("gc_max_pause_ms", p);
        }
        drop(rings);
        C::collect();
    }
}
