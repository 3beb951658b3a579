//! gc-core against `std::rc::Rc` and the peer crates.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml` runs every
//! contender × workload, each in a child process (this binary re-executed
//! with `--child WORKLOAD CONTENDER ITERS`), prints the tables and writes
//! `BENCHMARKS.md` and `bench/ratios.svg`. Every job runs twice, under
//! the system allocator and under mimalloc (a second child binary, built
//! with the `mimalloc` feature); `bench/cpython_anchor.py` adds CPython's
//! figures for the live-heap jobs. See bench/README.md.

mod anchor;
mod contenders;
mod report;
mod svg;
mod sync_contenders;
mod sync_workloads;
mod workloads;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contenders::{Contender, Live, bacon, dumpster_, gc_core_, gcmodule_, rc, rust_cc_, rust_gc};

/// mimalloc as the global allocator (cargo feature `mimalloc`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The global allocator a child binary runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alloc {
    /// The system allocator (glibc malloc here).
    System,
    /// mimalloc, through the `mimalloc` feature.
    Mimalloc,
}

impl Alloc {
    /// Both, in report order.
    pub const ALL: [Alloc; 2] = [Alloc::System, Alloc::Mimalloc];

    /// The key on the command line (`--alloc`) and in `last-run.tsv`.
    pub fn key(self) -> &'static str {
        match self {
            Alloc::System => "system",
            Alloc::Mimalloc => "mimalloc",
        }
    }

    /// The section title in the report.
    pub fn title(self) -> &'static str {
        match self {
            Alloc::System => "System allocator",
            Alloc::Mimalloc => "mimalloc",
        }
    }

    /// The allocator this binary was built with.
    fn this() -> Alloc {
        if cfg!(feature = "mimalloc") {
            Alloc::Mimalloc
        } else {
            Alloc::System
        }
    }
}

/// (key on the command line, name in the tables).
pub const CONTENDERS: [(&str, &str); 7] = [
    ("rc", "Rc"),
    ("gc-core", "gc-core"),
    ("gc", "gc"),
    ("bacon", "bacon_rajan_cc"),
    ("rust-cc", "rust-cc"),
    ("dumpster", "dumpster"),
    ("gcmodule", "gcmodule"),
];
/// The peers (for "fastest peer").
pub const PEERS: [&str; 5] = ["gc", "bacon", "rust-cc", "dumpster", "gcmodule"];

/// A job: (key, in-child timed iterations per phase). The `sync_*` jobs
/// run for the thread-safe contenders, paired with `Arc` (see
/// [`sync_workloads`]).
pub const JOBS: [(&str, usize); 18] = [
    ("alloc_drop", 5),
    ("alloc_drop_leaf", 5),
    ("clone_drop", 9),
    ("cycles", 1),
    ("big_cycle", 1),
    ("deep_list", 1),
    ("young_with_old_heap", 11),
    ("memory", 1),
    ("memory_leaf", 1),
    ("grow", 3),
    ("grow_cyclic", 3),
    ("churn", 1),
    ("sync_clone_drop", 9),
    ("sync_clone_drop_2t_own", 5),
    ("sync_clone_drop_4t_own", 5),
    ("sync_clone_drop_2t_shared", 5),
    ("sync_clone_drop_4t_shared", 5),
    ("sync_cycles", 1),
];
/// The live-heap jobs, run for Rc and gc-core only (the SPEC rows compare
/// gc-core with Rc; see [`contenders::Live`]).
pub const LIVE_JOBS: [&str; 3] = ["grow", "grow_cyclic", "churn"];

/// The outcome of one child run: in-child medians of each metric, and the
/// failure, if it died (metrics printed before it died are kept).
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub metrics: BTreeMap<String, f64>,
    pub fail: Option<String>,
}

/// Every run: `[job][contender] -> runs by round` (a contender that fails
/// is not run again in later rounds: stack overflows are deterministic).
/// Rc's runs are kept per partner: `rc~gc-core` holds the Rc runs paired
/// with gc-core's, one per round (`arc~gc-core` for the `sync_*` jobs).
pub type Results = BTreeMap<String, BTreeMap<String, Vec<Run>>>;

fn child_main(args: &[String]) -> ! {
    let job = args[0].clone();
    let who = args[1].clone();
    let iters: usize = args[2].parse().expect("iters");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    // The workload runs on a thread with an 8 MiB stack, like a main thread.
    // The main thread exits the process when it is done, without waiting
    // for thread-local teardown (which would free leaked structures).
    std::thread::Builder::new()
        .name(format!("{job}/{who}"))
        .stack_size(8 << 20)
        .spawn(move || {
            dispatch(&job, &who, iters);
            let _ = tx.send(());
            loop {
                std::thread::park();
            }
        })
        .expect("spawn worker");
    match rx.recv() {
        Ok(()) => std::process::exit(0),
        Err(_) => std::process::exit(3),
    }
}

fn run_job<C: Contender>(job: &str, iters: usize) {
    match job {
        "alloc_drop" => workloads::alloc_drop::<C>(iters),
        "alloc_drop_leaf" => workloads::alloc_drop_leaf::<C>(iters),
        "clone_drop" => workloads::clone_drop::<C>(iters),
        "cycles" => workloads::cycles::<C>(iters),
        "big_cycle" => workloads::big_cycle::<C>(),
        "deep_list" => workloads::deep_list::<C>(),
        "young_with_old_heap" => workloads::young::<C>(iters),
        "memory" => workloads::memory::<C>(false),
        "memory_leaf" => workloads::memory::<C>(true),
        _ => panic!("unknown workload {job}"),
    }
}

/// Runs `job` for a contender that has the live-heap shapes too.
fn run_live<C: Live>(job: &str, iters: usize) {
    match job {
        "grow" => workloads::grow::<C>(iters),
        "grow_cyclic" => workloads::grow_cyclic::<C>(iters),
        "churn" => workloads::churn::<C>(iters),
        _ => run_job::<C>(job, iters),
    }
}

fn dispatch(job: &str, who: &str, iters: usize) {
    match who {
        _ if sync_workloads::is_sync(job) => sync_workloads::dispatch(job, who, iters),
        "rc" => run_live::<rc::C>(job, iters),
        "gc-core" => run_live::<gc_core_::C>(job, iters),
        _ if LIVE_JOBS.contains(&job) => panic!("{job} runs for rc and gc-core only"),
        "gc" => run_job::<rust_gc::C>(job, iters),
        "bacon" => run_job::<bacon::C>(job, iters),
        "rust-cc" => run_job::<rust_cc_::C>(job, iters),
        "dumpster" => run_job::<dumpster_::C>(job, iters),
        "gcmodule" => run_job::<gcmodule_::C>(job, iters),
        _ => panic!("unknown contender {who}"),
    }
}

pub fn median(v: &mut [f64]) -> f64 {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs one child to completion (or `timeout`) and parses its lines.
fn run_child(exe: &Path, job: &str, who: &str, iters: usize, timeout: Duration) -> Run {
    let mut child = Command::new(exe)
        .args(["--child", job, who, &iters.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait child") {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            timed_out = true;
            break child.wait().expect("wait child");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).ok();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once(' ')
            && let Ok(v) = v.parse::<f64>()
        {
            values.entry(k.to_string()).or_default().push(v);
        }
    }
    let metrics = values
        .into_iter()
        .map(|(k, mut v)| (k, median(&mut v)))
        .collect();
    let fail = if timed_out {
        Some("timeout".to_string())
    } else if status.success() {
        None
    } else if err.contains("has overflowed its stack") {
        Some("overflow".to_string())
    } else {
        use std::os::unix::process::ExitStatusExt;
        let why = match status.signal() {
            Some(sig) => format!("crash (signal {sig})"),
            None => format!("failed (exit {})", status.code().unwrap_or(-1)),
        };
        eprintln!("  {job}/{who}: {why}: {}", err.lines().last().unwrap_or(""));
        Some(why)
    };
    Run { metrics, fail }
}

/// Instructions per operation of one child under callgrind: one warm-up and
/// one timed pass of `N` operations, so the count is divided by `2 N`
/// (process start-up adds well under one instruction per operation).
fn instructions_per_op(exe: &Path, job: &str, who: &str) -> Option<f64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["--child", job, who, "1"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("Collected :"))?;
    let n: f64 = line.rsplit(':').next()?.trim().parse().ok()?;
    Some(n / (2 * workloads::N) as f64)
}

/// Busy CPU time of the whole machine, and of this process and its children, in ticks.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    let me = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" : state is field 3; utime..cstime are 14..17.
    let rest = me.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let g: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let mine = g.get(11..15).map(|s| s.iter().sum()).unwrap_or(0);
    (total - idle, mine)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The figures of the whole run that the report's Machine section shows.
pub struct RunInfo {
    pub rounds: usize,
    pub wall: Duration,
    pub load_before: String,
    pub load_after: String,
    /// Average number of cores kept busy by other processes during the run.
    pub others_cores: f64,
    /// The same, per allocator and job.
    pub job_load: Vec<(Alloc, String, f64)>,
    /// Allocators that were asked for but not run, and why.
    pub skipped: Vec<(Alloc, String)>,
    /// Load gating: pairs re-run, pairs kept under load, pairs in all.
    pub reruns: usize,
    pub loaded: usize,
    pub units: usize,
}

/// Other processes may keep at most this many cores busy during a pair.
pub const GATE_CORES: f64 = 0.25;
/// How often a loaded pair is re-run.
pub const GATE_RETRIES: usize = 2;
/// No re-runs once one allocator's pass has taken this long.
pub const GATE_BUDGET: Duration = Duration::from_secs(150);

/// Runs pairs, re-running a pair during which other processes were busy.
struct Gate {
    /// The child binary.
    exe: PathBuf,
    deadline: Instant,
    reruns: usize,
    loaded: usize,
    units: usize,
}

/// Cores kept busy by other processes between two `cpu_ticks()` samples.
fn others_busy(a: (u64, u64), b: (u64, u64), secs: f64) -> f64 {
    (b.0 - a.0).saturating_sub(b.1 - a.1) as f64 / 100.0 / secs.max(1e-3)
}

/// Waits (at most `max`) until other processes leave the machine idle for
/// two half-second windows in a row.
fn wait_quiet(max: Duration) {
    let start = Instant::now();
    let mut quiet = 0;
    while start.elapsed() < max && quiet < 2 {
        let a = cpu_ticks();
        std::thread::sleep(Duration::from_millis(500));
        let load = others_busy(a, cpu_ticks(), 0.5);
        quiet = if load < GATE_CORES { quiet + 1 } else { 0 };
    }
}

impl Gate {
    /// One contender run and (if `paired`) the Rc run next to it.
    /// Runs `main`, with `partner` (job, contender) right next to it:
    /// before it if `partner_first`, after it otherwise.
    fn run_pair(
        &mut self,
        main: (&str, &str),
        partner: Option<(&str, &str)>,
        iters: usize,
        partner_first: bool,
    ) -> (Option<Run>, Run) {
        self.units += 1;
        let timeout = Duration::from_secs(60);
        let mut attempt = 0;
        loop {
            let a = cpu_ticks();
            let t = Instant::now();
            let p1 = partner
                .filter(|_| partner_first)
                .map(|(j, w)| run_child(&self.exe, j, w, iters, timeout));
            let run = run_child(&self.exe, main.0, main.1, iters, timeout);
            let p2 = partner
                .filter(|_| !partner_first)
                .map(|(j, w)| run_child(&self.exe, j, w, iters, timeout));
            let load = others_busy(a, cpu_ticks(), t.elapsed().as_secs_f64());
            if load <= GATE_CORES
                || run.fail.is_some()
                || attempt >= GATE_RETRIES
                || Instant::now() > self.deadline
            {
                if load > GATE_CORES {
                    self.loaded += 1;
                }
                return (p1.or(p2), run);
            }
            attempt += 1;
            self.reruns += 1;
            wait_quiet(Duration::from_secs(10));
        }
    }
}

/// The parent's command line.
struct Opts {
    rounds: usize,
    only: Option<Vec<String>>,
    write: bool,
    callgrind: bool,
    anchor: bool,
    allocs: Vec<Alloc>,
}

/// The `--help` text.
fn usage() -> String {
    format!(
        "usage: bench [--rounds N] [--only JOB,JOB] [--alloc system|mimalloc|both] [--no-write]\n             \
         [--no-callgrind] [--no-anchor]\n       bench --child JOB CONTENDER ITERS\n\
         jobs: {}\ncontenders: {} (grow, grow_cyclic, churn: rc and gc-core only; sync_*: {})",
        JOBS.map(|j| j.0).join(", "),
        CONTENDERS.map(|c| c.0).join(", "),
        sync_contenders::SYNC_CONTENDERS.map(|c| c.0).join(", ")
    )
}

impl Opts {
    /// Parses the parent's arguments; prints the usage and exits on `--help`.
    fn parse(args: &[String]) -> Opts {
        let mut o = Opts {
            rounds: 5,
            only: None,
            write: true,
            callgrind: true,
            anchor: true,
            allocs: Alloc::ALL.to_vec(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .unwrap_or_else(|| panic!("{a} needs a value"))
                    .as_str()
            };
            match a.as_str() {
                "--rounds" => o.rounds = value().parse().expect("--rounds N"),
                "--only" => o.only = Some(value().split(',').map(str::to_string).collect()),
                "--alloc" => {
                    o.allocs = match value() {
                        "both" => Alloc::ALL.to_vec(),
                        v => vec![
                            Alloc::ALL
                                .into_iter()
                                .find(|x| x.key() == v)
                                .unwrap_or_else(|| {
                                    panic!("--alloc {v}: expected system, mimalloc or both")
                                }),
                        ],
                    }
                }
                "--no-write" => o.write = false,
                "--no-callgrind" => o.callgrind = false,
                "--no-anchor" => o.anchor = false,
                "-h" | "--help" => {
                    println!("{}", usage());
                    std::process::exit(0);
                }
                a => panic!("unknown argument {a} (try --help)"),
            }
        }
        o
    }

    /// Whether `job` is to run.
    fn selected(&self, job: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|x| x == job))
    }

    /// A run that leaves BENCHMARKS.md alone even without `--no-write`.
    fn partial(&self) -> bool {
        self.only.is_some() || self.allocs.len() < Alloc::ALL.len()
    }
}

/// The child binary for `alloc`: this one if it was built with that
/// allocator, otherwise the other build, which it makes with cargo (in
/// `<target>/<alloc>`, next to this binary's profile directory).
fn child_exe(alloc: Alloc) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    if alloc == Alloc::this() {
        return Ok(me);
    }
    let target = me
        .parent()
        .and_then(Path::parent)
        .ok_or("no target directory")?
        .join(alloc.key());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    // This binary's features, but for the allocator.
    let mut features = Vec::new();
    if alloc == Alloc::Mimalloc {
        features.push("mimalloc");
    }
    if sync_contenders::GC_CORE_SYNC {
        features.push("gc-core-sync");
    }
    cmd.args(["--no-default-features", "--features", &features.join(",")]);
    eprintln!(
        "building the {} child binary in {}",
        alloc.key(),
        target.display()
    );
    let status = cmd.stdin(Stdio::null()).stdout(Stdio::null()).status();
    match status {
        Ok(s) if s.success() => Ok(target.join("release/bench")),
        Ok(s) => Err(format!("`cargo build --release` for it failed ({s})")),
        Err(e) => Err(format!("could not run cargo: {e}")),
    }
}

/// What one pass over the selected jobs, with one allocator, measured.
struct Suite {
    results: Results,
    /// Instructions per op under callgrind: `(job, contender)`.
    instr: BTreeMap<(String, String), f64>,
    /// Other processes' busy cores per job.
    job_load: Vec<(String, f64)>,
    gate: Gate,
}

/// The baseline of `job`, the partner in every pair: Rc, or Arc for the
/// `sync_*` jobs.
pub fn baseline(job: &str) -> &'static str {
    if sync_workloads::is_sync(job) {
        "arc"
    } else {
        "rc"
    }
}

/// The contenders run on `job` besides its baseline.
fn contenders_of(job: &str) -> Vec<&'static str> {
    if sync_workloads::is_sync(job) {
        return sync_workloads::contenders();
    }
    if LIVE_JOBS.contains(&job) {
        return vec!["gc-core"];
    }
    CONTENDERS
        .iter()
        .map(|c| c.0)
        .filter(|c| *c != "rc")
        .collect()
}

/// All rounds of one job; returns the cores other processes kept busy.
fn run_rounds(
    gate: &mut Gate,
    results: &mut Results,
    job: &str,
    iters: usize,
    rounds: usize,
) -> f64 {
    let tj = Instant::now();
    let (jb0, jm0) = cpu_ticks();
    let young = job == "young_with_old_heap";
    let others = contenders_of(job);
    for r in 0..rounds {
        // Rotate the order each round so no contender always runs first.
        // Each contender's run is paired with an Rc (for `sync_*`: Arc)
        // run right next to it (Rc first in even rounds, second in odd
        // ones); the ratio to Rc is taken within each pair.
        // `young_with_old_heap` needs no partner: its child measures both
        // sides.
        for k in 0..others.len() {
            let who = others[(k + r) % others.len()];
            let per = results.entry(job.to_string()).or_default();
            if per
                .get(who)
                .and_then(|v| v.last())
                .is_some_and(|x: &Run| x.fail.is_some())
            {
                continue;
            }
            let base = baseline(job);
            let partner = (!young).then_some((job, base));
            let (rc, run) = gate.run_pair((job, who), partner, iters, r % 2 == 0);
            per.entry(who.to_string()).or_default().push(run);
            if let Some(rc) = rc {
                per.entry(format!("{base}~{who}")).or_default().push(rc);
            }
        }
    }
    let (jb1, jm1) = cpu_ticks();
    let secs = tj.elapsed().as_secs_f64();
    let busy = (jb1 - jb0).saturating_sub(jm1 - jm0) as f64 / 100.0 / secs;
    eprintln!("  {job}: {secs:.1} s; other processes kept {busy:.2} cores busy");
    busy
}

/// Instruction counts (deterministic, unlike the times on a shared VM)
/// for the acyclic workloads, Rc and gc-core, if valgrind is installed.
fn count_instructions(exe: &Path, results: &Results) -> BTreeMap<(String, String), f64> {
    let mut instr = BTreeMap::new();
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !valgrind {
        return instr;
    }
    let tc = Instant::now();
    for job in ["alloc_drop", "alloc_drop_leaf", "clone_drop"] {
        if !results.contains_key(job) {
            continue;
        }
        for who in ["rc", "gc-core"] {
            if let Some(ir) = instructions_per_op(exe, job, who) {
                instr.insert((job.to_string(), who.to_string()), ir);
            }
        }
    }
    eprintln!("callgrind: {:.1} s", tc.elapsed().as_secs_f64());
    instr
}

/// Every selected job, all rounds, with the child binary `exe`.
fn run_suite(exe: &Path, alloc: Alloc, opts: &Opts) -> Suite {
    eprintln!("{}: {}", alloc.title(), exe.display());
    let mut gate = Gate {
        exe: exe.to_path_buf(),
        deadline: Instant::now() + GATE_BUDGET,
        reruns: 0,
        loaded: 0,
        units: 0,
    };
    let mut results = Results::new();
    let mut job_load = Vec::new();
    for (job, iters) in JOBS {
        if opts.selected(job) {
            let busy = run_rounds(&mut gate, &mut results, job, iters, opts.rounds);
            job_load.push((job.to_string(), busy));
        }
    }
    let instr = if opts.callgrind {
        count_instructions(exe, &results)
    } else {
        BTreeMap::new()
    };
    Suite {
        results,
        instr,
        job_load,
        gate,
    }
}

/// Every round's in-child medians, for inspection (not part of the report).
fn raw_tsv(suites: &[(Alloc, Suite)]) -> String {
    let mut raw = String::from("alloc\tjob\tcontender\tround\tmetric\tvalue\tfail\n");
    for (alloc, suite) in suites {
        for (job, per) in &suite.results {
            for (who, runs) in per {
                for (r, run) in runs.iter().enumerate() {
                    for (m, v) in &run.metrics {
                        let fail = run.fail.as_deref().unwrap_or("");
                        let _ =
                            writeln!(raw, "{}\t{job}\t{who}\t{r}\t{m}\t{v}\t{fail}", alloc.key());
                    }
                }
            }
        }
    }
    raw
}

/// The repository root: where BENCHMARKS.md goes (bench/ holds the chart,
/// Cargo.lock and profiles.md). `BENCH_OUT_DIR` overrides it, for a run
/// built from a snapshot of gc-core elsewhere.
fn out_root() -> PathBuf {
    let root = std::env::var_os("BENCH_OUT_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    );
    root.canonicalize().unwrap_or(root)
}

/// The Machine section's figures, from the samples taken around the run.
fn run_info(
    opts: &Opts,
    suites: &[(Alloc, Suite)],
    skipped: Vec<(Alloc, String)>,
    start: (Instant, String, (u64, u64)),
) -> RunInfo {
    let (t0, load_before, (busy0, mine0)) = start;
    let (busy1, mine1) = cpu_ticks();
    let wall = t0.elapsed();
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let others =
        (busy1 - busy0).saturating_sub(mine1 - mine0) as f64 / ticks_per_s / wall.as_secs_f64();
    let gates = suites.iter().map(|(_, s)| &s.gate);
    RunInfo {
        rounds: opts.rounds,
        wall,
        load_before,
        load_after: loadavg(),
        others_cores: others,
        job_load: suites
            .iter()
            .flat_map(|(a, s)| s.job_load.iter().map(|(j, b)| (*a, j.clone(), *b)))
            .collect(),
        skipped,
        reruns: gates.clone().map(|g| g.reruns).sum(),
        loaded: gates.clone().map(|g| g.loaded).sum(),
        units: gates.map(|g| g.units).sum(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child_main(&args[1..]);
    }
    let opts = Opts::parse(&args);
    let start = (Instant::now(), loadavg(), cpu_ticks());
    eprintln!(
        "load before: {}; {} rounds; N = {}",
        start.1,
        opts.rounds,
        workloads::N
    );
    let mut suites = Vec::new();
    let mut skipped = Vec::new();
    for &alloc in &opts.allocs {
        match child_exe(alloc) {
            Ok(exe) => suites.push((alloc, run_suite(&exe, alloc, &opts))),
            Err(e) => {
                eprintln!("{}: not run: {e}", alloc.title());
                skipped.push((alloc, e));
            }
        }
    }
    let live: Vec<&str> = LIVE_JOBS.into_iter().filter(|j| opts.selected(j)).collect();
    let anchor = (opts.anchor && !live.is_empty()).then(|| anchor::run(&live));
    let info = run_info(&opts, &suites, skipped, start);
    eprintln!(
        "{} runs or pairs; {} re-run because other processes were busy; {} kept although they were",
        info.units, info.reruns, info.loaded
    );
    eprintln!(
        "total: {:.1} s; load after: {}; other processes kept {:.2} cores busy on average",
        info.wall.as_secs_f64(),
        info.load_after,
        info.others_cores
    );
    let root = out_root();
    let _ = std::fs::create_dir_all(root.join("bench/target"));
    let raw_path = root.join("bench/target/last-run.tsv");
    if std::fs::write(&raw_path, raw_tsv(&suites)).is_ok() {
        eprintln!("raw per-round results: {}", raw_path.display());
    }
    let reps: Vec<(Alloc, report::Report)> = suites
        .iter()
        .map(|(a, s)| (*a, report::Report::new(&s.results, s.instr.clone(), *a)))
        .collect();
    println!(
        "{}",
        report::sections(&reps, anchor.as_ref(), &info.skipped)
    );
    if opts.write && !opts.partial() {
        let svg = svg::chart(&report::chart_groups(&reps));
        std::fs::write(root.join("bench/ratios.svg"), svg).expect("write bench/ratios.svg");
        let md = report::markdown(&reps, anchor.as_ref(), &info, &root);
        std::fs::write(root.join("BENCHMARKS.md"), md).expect("write BENCHMARKS.md");
        eprintln!(
            "wrote {} and {}",
            root.join("bench/ratios.svg").display(),
            root.join("BENCHMARKS.md").display()
        );
    }
}
