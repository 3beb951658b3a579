//! BENCHMARKS.md: the run, every allocator's tables, the anchor, the
//! method, the machine and the versions.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::{Report, sections};
use crate::anchor::Anchor;
use crate::workloads::{N, YOUNG_RING, YOUNG_RINGS};
use crate::{Alloc, RunInfo};

/// The standard output of `program args`, or why it could not run.
fn cmd(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_string())
        .unwrap_or_else(|e| format!("({program}: {e})"))
}

/// `name version` of the contenders' crates, from bench/Cargo.lock.
fn lock_versions(root: &Path) -> Vec<(String, String)> {
    let lock = std::fs::read_to_string(root.join("bench/Cargo.lock")).unwrap_or_default();
    let wanted = [
        "gc-core",
        "gc",
        "gc_derive",
        "bacon_rajan_cc",
        "rust-cc",
        "rust-cc-derive",
        "dumpster",
        "dumpster_derive",
        "gcmodule",
        "gcmodule_derive",
        "mimalloc",
        "libmimalloc-sys",
    ];
    let mut out = Vec::new();
    let mut nm = String::new();
    for line in lock.lines() {
        if let Some(v) = line.strip_prefix("name = ") {
            nm = v.trim_matches('"').to_string();
        } else if let Some(v) = line.strip_prefix("version = ")
            && wanted.contains(&nm.as_str())
        {
            out.push((nm.clone(), v.trim_matches('"').to_string()));
        }
    }
    out.sort_by_key(|(n, _)| wanted.iter().position(|w| *w == n).unwrap_or(99));
    out
}

/// BENCHMARKS.md: the run, every allocator's tables, the anchor, the
/// method, the machine and the versions.
pub fn markdown(
    reps: &[(Alloc, Report)],
    anchor: Option<&Anchor>,
    info: &RunInfo,
    root: &Path,
) -> String {
    let mut s = String::new();
    let date = cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    // BENCH_GC_CORE_REV names the gc-core revision when the run was built
    // from a snapshot outside the repository.
    let (git, dirty) = match std::env::var("BENCH_GC_CORE_REV") {
        Ok(rev) => (rev, false),
        Err(_) => (
            cmd(
                "git",
                &[
                    "-C",
                    &root.display().to_string(),
                    "rev-parse",
                    "--short",
                    "HEAD",
                ],
            ),
            !cmd(
                "git",
                &[
                    "-C",
                    &root.display().to_string(),
                    "status",
                    "--porcelain",
                    "--",
                    "gc-core",
                    "gc-derive",
                ],
            )
            .is_empty(),
        ),
    };
    let _ = writeln!(
        s,
        "# Benchmarks\n\n\
         gc-core against `std::rc::Rc` (`std::sync::Arc` for the thread-safe `sync_*` rows) and the peer crates on the same workloads, in one run, on one machine. \
         This file and [`bench/ratios.svg`](bench/ratios.svg) are written by the benchmark itself; do not edit by hand.\n\n\
         ```sh\ncargo run --release --manifest-path bench/Cargo.toml\n```\n\n\
         Run of {date}, gc-core at commit `{git}`{}; {} rounds; whole run {:.0} s. Every workload runs twice: \
         with the system allocator, then with mimalloc as the global allocator (one section each below; the chart \
         shows both, each group twice).\n",
        if dirty {
            " plus uncommitted changes to gc-core".to_string()
        } else if std::env::var_os("BENCH_GC_CORE_REV").is_some() {
            format!(
                " (run as `bench/snapshot.sh {git}`: the same benchmark, built against gc-core as committed at `{git}` \
                 rather than the working tree)"
            )
        } else {
            String::new()
        },
        info.rounds,
        info.wall.as_secs_f64()
    );
    let _ = writeln!(s, "![ratios](bench/ratios.svg)\n");
    let _ = writeln!(s, "{}", sections(reps, anchor, &info.skipped));
    let _ = writeln!(
        s,
        "## Method\n\n\
         - Every contender × workload runs in its own child process (the bench binary re-executed with \
         `--child WORKLOAD CONTENDER ITERS`), on a thread with an 8 MiB stack like a main thread, so a stack overflow \
         (Rust's guard page: \"has overflowed its stack\", SIGABRT) is reported as **overflow** instead of ending the run. \
         A contender that fails a workload is not run again in later rounds (overflows are deterministic).\n\
         - {} rounds. In each round every contender runs once, in an order rotated per round, and each of its runs is \
         paired with an Rc run right next to it (Rc first in even rounds, second in odd ones). Inside a child, the fast \
         workloads run one untimed warm-up iteration and then 5–11 timed ones (the child reports their median). The tables \
         show medians over rounds (Rc's over all its runs). Every ratio is a median of ratios taken close together in time: \
         contender ÷ its paired Rc run; contender ÷ the fastest peer of the same round; 1M-live ÷ no-live within one child. \
         That cancels slow drifts in machine speed, so a ratio can differ from the quotient of the two medians shown; \
         the ratio is the figure to use. Ratio cells give the median and, in parentheses, the smallest and largest \
         of the per-round ratios.\n\
         - Noise: this is a 2-vCPU virtual machine on a shared host. Its speed changes in steps that `/proc/stat` does not \
         show (host contention): while this benchmark was being written, gc-core's `alloc_drop` child alternated between \
         about 29.5 and 42 ns per node within minutes, in a VM otherwise idle, while Rc's stayed at 16.5; a ratio can move \
         by a third between runs. The ranges show it; \
         instruction counts do not move and are the stable reference: when valgrind is installed (and without \
         `--no-callgrind`), the run also counts Rc's and gc-core's instructions per op on the three acyclic workloads under \
         callgrind, one child each (shown under the first table and in the targets). Verdicts use the times.\n\
         - Load gating: the machine is shared. A pair (or a lone run) during which other processes kept more than {:.2} \
         cores busy (from `/proc/stat`, minus the benchmark's own CPU time) is run again after waiting up to 10 s for \
         quiet, at most {} times, and only while the whole run is under {} s.\n\
         - Shapes are the same for everyone: `Node` = `i64` + a cell of `Option<ptr>`; the big ring uses `i64` + two such cells; \
         leaves are `i64`. Each crate uses its own pointer, its own `Trace`, and std's `RefCell` except rust-gc, \
         whose std `RefCell` is not `Trace` (it uses `GcCell`, same size).\n\
         - Automatic collection is left at each crate's default for `alloc_drop`, `alloc_drop_leaf`, `clone_drop` and \
         `memory*` (that is what users pay), and switched off for `cycles`, `big_cycle`, `deep_list` and `young_with_old_heap`, \
         where a collection in the middle of a phase would move work between phases: gc-core `disable()`; rust-gc \
         `configure(threshold = usize::MAX)` (feature `unstable-config`); rust-cc `config::set_auto_collect(false)`; \
         dumpster `set_collect_condition(never)`; bacon_rajan_cc and gcmodule have none.\n\
         - Collection calls: gc-core `collect()` (`collect_generation(0)` for the young collection); rust-gc `force_collect()`; \
         bacon_rajan_cc `collect_cycles()`; rust-cc `collect_cycles()`; dumpster `unsync::collect()`; gcmodule \
         `collect_thread_cycles()`. `Rc` leaks cycles, so its collect phases are n/a; its build and drop phases are timed.\n\
         - rust-gc frees nothing when a handle is dropped; its `alloc_drop` times include the automatic collections that \
         reclaim the chains, and its `deep_list` drop time includes the `force_collect()` that frees the list.\n\
         - `young_with_old_heap`: in one child, {YOUNG_RINGS} rings of {YOUNG_RING} are built, their handles dropped, \
         and the collection timed, {} times per phase after one untimed warm-up, in three phases: no live objects; {N} live \
         nodes, allocated and settled by one full collection (for gc-core: moved to the oldest generation; for the peers: \
         candidate buffers emptied); none again (the live nodes dropped and collected). The phases sit milliseconds apart, \
         so the machine's speed drifts cancel out.\n\
         - Memory: `VmHWM` after allocating minus `VmRSS` before, divided by {N}; the `Vec` of handles is allocated \
         and its pages touched before the baseline. glibc malloc adds 8 bytes per block and rounds to 16, minimum 32.\n\
         - bacon_rajan_cc and gcmodule get hand-written `Trace` impls (bacon's derive is for syn 0.11; gcmodule's derive \
         recurses forever on recursive types, its docs say to write the impl by hand). gcmodule is built with its \
         `sync` feature, for `ThreadedCc` on the `sync_*` rows; the feature leaves its single-threaded `Cc` as it was (the \
         same instructions per op under callgrind on `alloc_drop`, `clone_drop` and `cycles` with and without it).\n\
         - Allocators: the system allocator is glibc malloc; mimalloc is the `mimalloc` crate as \
         `#[global_allocator]` (cargo feature `mimalloc` of the bench crate). The parent runs its own binary for \
         one and builds the other with `cargo build --release [--features mimalloc] --target-dir bench/target/ALLOC`. \
         gc-core allocates its small blocks from its own slabs, whose 62-page (3.9 MiB) chunks come from the global allocator. \
         Load gating's re-run budget applies to each allocator's pass.\n\
         - `grow`, `grow_cyclic` and `churn` run for Rc and gc-core only: the SPEC rows compare gc-core with Rc, and \
         these shapes are not written for the peers. Automatic collection is on (each crate's default), as in a \
         program that never calls `collect()`. Rc leaks `churn`'s replaced rings: \"what the same code costs without \
         a collector\". `churn`'s pause and tracked-object verdicts use gc-core's median over rounds, except \
         tracked ÷ live, which counts its worst round (\"at all times\").\n\
         - The `sync_*` rows compare thread-safe pointers with `std::sync::Arc`, each run paired with an Arc run \
         next to it as the other rows are with Rc: gc-core's `sync::Gc`, `dumpster::sync::Gc`, and gcmodule's \
         `ThreadedCc`, all in one process-wide `ThreadedObjectSpace` (values reached through `borrow()`, which \
         takes the space's collector lock for reading, as every drop does). The cell is std's `Mutex` for everyone. \
         Clone + drop leaves automatic collection at each crate's default; `sync_cycles` switches it off (gc-core \
         `sync::disable()`, dumpster `sync::set_collect_condition(never)`; gcmodule has none) and counts, by the \
         nodes' own drop, the rings each collection freed: a collection that frees fewer than all of them reports \
         no time. In the threaded rows the threads are started once per child and released together by a barrier \
         for each iteration; each notes its own start and finish, and the iteration takes from the first start to \
         the last finish.\n\
         - The bench crate is its own workspace (`bench/Cargo.toml`), built with `[profile.release] debug = 1`.\n",
        info.rounds,
        crate::GATE_CORES,
        crate::GATE_RETRIES,
        crate::GATE_BUDGET.as_secs(),
        crate::JOBS
            .iter()
            .find(|j| j.0 == "young_with_old_heap")
            .map_or(0, |j| j.1),
    );
    let _ = writeln!(s, "## Machine\n");
    let _ = writeln!(
        s,
        "Load average before the run: {}; after: {}. During the run, processes other than the benchmark kept \
         {:.2} cores busy on average (from `/proc/stat`, minus the benchmark's own CPU time), out of {}. \
         Of {} pairs (or lone runs), {} were re-run because of that load, and {} were kept although it was above {:.2} cores.\n",
        info.load_before,
        info.load_after,
        info.others_cores,
        std::thread::available_parallelism().map_or(0, usize::from),
        info.units,
        info.reruns,
        info.loaded,
        crate::GATE_CORES,
    );
    let _ = writeln!(
        s,
        "| allocator | workload | other processes' busy cores while it ran |\n|---|---|---:|"
    );
    for (alloc, job, busy) in &info.job_load {
        let _ = writeln!(s, "| {} | `{job}` | {busy:.2} |", alloc.key());
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "```text\n$ uname -a\n{}\n$ rustc --version\n{}\n$ lscpu\n{}\n```\n",
        cmd("uname", &["-a"]),
        cmd("rustc", &["--version"]),
        cmd("lscpu", &[])
    );
    let _ = writeln!(
        s,
        "## Versions (from bench/Cargo.lock)\n\n| crate | version |\n|---|---|"
    );
    for (n, v) in lock_versions(root) {
        let _ = writeln!(s, "| {n} | {v} |");
    }
    s.push('\n');
    if let Ok(p) = std::fs::read_to_string(root.join("bench/profiles.md")) {
        let _ = writeln!(s, "{}", p.trim_end());
    }
    s
}
