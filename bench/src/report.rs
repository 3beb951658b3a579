//! Tables (stdout and BENCHMARKS.md), the SPEC targets, and the chart data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::workloads::{N, RING, RINGS, YOUNG_RING, YOUNG_RINGS};
use crate::{CONTENDERS, PEERS, Results, Run, RunInfo, median};

/// What a ratio is taken against, round by round.
#[derive(Clone, Copy)]
pub enum Base {
    Rc,
    FastestPeer,
}

pub struct Report<'a> {
    r: &'a Results,
    /// Instructions per operation under callgrind: `(job, contender)`.
    ir: BTreeMap<(String, String), f64>,
}

/// One group of bars in the chart.
pub struct Group {
    pub title: String,
    /// gc-core's target, drawn as a dashed line.
    pub target: Option<f64>,
    pub bars: Vec<(String, Result<f64, String>)>,
}

pub fn name(key: &str) -> &'static str {
    CONTENDERS.iter().find(|c| c.0 == key).map_or("?", |c| c.1)
}

pub fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ratio_str(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |x| format!("{x:.2}×"))
}

fn cell(v: &Result<f64, String>) -> String {
    match v {
        Ok(x) => num(*x),
        Err(e) => format!("**{e}**"),
    }
}

impl<'a> Report<'a> {
    pub fn new(r: &'a Results, ir: BTreeMap<(String, String), f64>) -> Self {
        Report { r, ir }
    }

    /// gc-core's instructions per op ÷ Rc's, if counted.
    fn ir_ratio(&self, job: &str) -> Option<(f64, f64, f64)> {
        let g = *self.ir.get(&(job.to_string(), "gc-core".to_string()))?;
        let r = *self.ir.get(&(job.to_string(), "rc".to_string()))?;
        Some((g / r, g, r))
    }

    /// All runs of `who` in `job` (for Rc: its runs paired with every other
    /// contender).
    fn runs(&self, job: &str, who: &str) -> Vec<&Run> {
        let Some(m) = self.r.get(job) else { return Vec::new() };
        if who == "rc" {
            m.iter().filter(|(k, _)| k.starts_with("rc~")).flat_map(|(_, v)| v.iter()).collect()
        } else {
            m.get(who).map_or_else(Vec::new, |v| v.iter().collect())
        }
    }

    /// The value of `metric` in round `round`, if that run produced it
    /// (not for Rc, whose runs are per partner).
    fn at(&self, job: &str, who: &str, metric: &str, round: usize) -> Option<f64> {
        self.r.get(job)?.get(who)?.get(round)?.metrics.get(metric).copied()
    }

    /// Median over rounds, or why there is none.
    pub fn value(&self, job: &str, who: &str, metric: &str) -> Result<f64, String> {
        let runs = self.runs(job, who);
        if runs.is_empty() {
            return Err("not run".into());
        }
        if who == "rc" && metric == "collect" {
            return Err("n/a (leaks)".into());
        }
        let mut v: Vec<f64> = runs.iter().filter_map(|r| r.metrics.get(metric).copied()).collect();
        if v.len() < runs.len() || v.is_empty() {
            return Err(runs.iter().find_map(|r| r.fail.clone()).unwrap_or_else(|| "missing".into()));
        }
        Ok(median(&mut v))
    }

    fn rounds(&self, job: &str) -> usize {
        self.r.get(job).map_or(0, |m| m.values().map(Vec::len).max().unwrap_or(0))
    }

    /// Median over rounds of `who / base`: against Rc, within each pair of
    /// adjacent runs; against the fastest peer, within each round.
    pub fn ratio(&self, job: &str, who: &str, metric: &str, base: Base) -> Option<f64> {
        let mut v = self.ratios(job, who, metric, base)?;
        Some(median(&mut v))
    }

    /// The smallest and largest of those ratios.
    fn ratio_range(&self, job: &str, who: &str, metric: &str, base: Base) -> Option<(f64, f64)> {
        let v = self.ratios(job, who, metric, base)?;
        Some((v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(0.0, f64::max)))
    }

    /// A ratio cell: median, and the range over rounds when it is wide.
    fn ratio_cell(&self, job: &str, who: &str, metric: &str, base: Base) -> String {
        match (self.ratio(job, who, metric, base), self.ratio_range(job, who, metric, base)) {
            (Some(m), Some((lo, hi))) if hi - lo >= 0.01 => format!("{m:.2}× ({lo:.2}–{hi:.2})"),
            (Some(m), _) => format!("{m:.2}×"),
            _ => "–".into(),
        }
    }

    /// The per-round (or per-pair) ratios of `who / base`.
    fn ratios(&self, job: &str, who: &str, metric: &str, base: Base) -> Option<Vec<f64>> {
        self.value(job, who, metric).ok()?;
        let v: Vec<f64> = match base {
            Base::Rc if who == "rc" => vec![1.0],
            Base::Rc => {
                let rc = self.r.get(job)?.get(&format!("rc~{who}"))?;
                let mine = self.r.get(job)?.get(who)?;
                mine.iter()
                    .zip(rc)
                    .filter_map(|(a, b)| Some(a.metrics.get(metric)? / b.metrics.get(metric)?))
                    .collect()
            }
            Base::FastestPeer => (0..self.rounds(job))
                .filter_map(|r| {
                    let best = PEERS.iter().filter_map(|p| self.at(job, p, metric, r)).min_by(f64::total_cmp)?;
                    Some(self.at(job, who, metric, r)? / best)
                })
                .collect(),
        };
        if v.is_empty() { None } else { Some(v) }
    }

    /// The fastest peer of `metric` (by median), for the table captions.
    fn fastest_peer(&self, job: &str, metric: &str) -> Option<(&'static str, f64)> {
        PEERS
            .iter()
            .filter_map(|p| self.value(job, p, metric).ok().map(|v| (name(p), v)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// `young_with_old_heap`: median over rounds of (1M live) / (none).
    pub fn young_ratio(&self, who: &str) -> Result<f64, String> {
        let mut v = self.young_ratios(who)?;
        Ok(median(&mut v))
    }

    fn young_ratios(&self, who: &str) -> Result<Vec<f64>, String> {
        let j = "young_with_old_heap";
        self.value(j, who, "old")?;
        self.value(j, who, "empty")?;
        let v: Vec<f64> =
            (0..self.rounds(j)).filter_map(|r| Some(self.at(j, who, "old", r)? / self.at(j, who, "empty", r)?)).collect();
        if v.is_empty() { Err("missing".into()) } else { Ok(v) }
    }

    fn young_cell(&self, who: &str) -> String {
        match (self.young_ratio(who), self.young_ratios(who)) {
            (Ok(m), Ok(v)) => {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(0.0, f64::max);
                format!("{m:.2}× ({lo:.2}–{hi:.2})")
            }
            (Err(e), _) | (_, Err(e)) => format!("**{e}**"),
        }
    }

    fn has(&self, job: &str) -> bool {
        self.r.contains_key(job)
    }

    pub fn tables(&self) -> String {
        let mut s = String::new();
        if self.has("alloc_drop") || self.has("alloc_drop_leaf") || self.has("clone_drop") {
            let _ = writeln!(
                s,
                "### Acyclic costs (ns per op; × Rc = median of the ratios to the Rc run next to each run)\n\n\
                 `alloc_drop`: chains of 8 nodes (`i64` + cell of `Option<ptr>`), ns per node; \
                 `alloc_drop_leaf`: `i64` values, ns per value; `clone_drop`: clone + drop of a handle to a node, ns per pair. N = {N}.\n"
            );
            let _ = writeln!(s, "| contender | alloc_drop | × Rc | alloc_drop_leaf | × Rc | clone_drop | × Rc |");
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
            for (k, n) in CONTENDERS {
                let mut row = format!("| {n} |");
                for job in ["alloc_drop", "alloc_drop_leaf", "clone_drop"] {
                    let v = self.value(job, k, "ns");
                    let _ = write!(row, " {} | {} |", cell(&v), self.ratio_cell(job, k, "ns", Base::Rc));
                }
                let _ = writeln!(s, "{row}");
            }
            s.push('\n');
            if !self.ir.is_empty() {
                let _ = writeln!(
                    s,
                    "Instructions per op under callgrind (deterministic; one child each, warm-up and timed pass counted):\n\n\
                     | workload | Rc | gc-core | gc-core ÷ Rc |\n|---|---:|---:|---:|"
                );
                for job in ["alloc_drop", "alloc_drop_leaf", "clone_drop"] {
                    if let Some((q, g, r)) = self.ir_ratio(job) {
                        let _ = writeln!(s, "| `{job}` | {r:.1} | {g:.1} | {q:.2}× |");
                    }
                }
                s.push('\n');
            }
        }
        if self.has("cycles") {
            let fp = self.fastest_peer("cycles", "collect");
            let _ = writeln!(
                s,
                "### cycles: {RINGS} rings of {RING} (ns per object; automatic collection off)\n\n\
                 Fastest peer's collect phase: {}. `returned` is what `collect()` reported, where the crate reports it.\n",
                fp.map_or("none".into(), |(n, v)| format!("{n}, {} ns/object", num(v)))
            );
            let _ = writeln!(s, "| contender | build | × Rc | drop | × Rc | collect | × fastest peer | returned |");
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
            for (k, n) in CONTENDERS {
                let _ = writeln!(
                    s,
                    "| {n} | {} | {} | {} | {} | {} | {} | {} |",
                    cell(&self.value("cycles", k, "build")),
                    ratio_str(self.ratio("cycles", k, "build", Base::Rc)),
                    cell(&self.value("cycles", k, "drop")),
                    ratio_str(self.ratio("cycles", k, "drop", Base::Rc)),
                    cell(&self.value("cycles", k, "collect")),
                    self.ratio_cell("cycles", k, "collect", Base::FastestPeer),
                    self.value("cycles", k, "collected").map_or("–".into(), |x| format!("{x:.0}")),
                );
            }
            s.push('\n');
        }
        if self.has("big_cycle") {
            let fp = self.fastest_peer("big_cycle", "collect");
            let _ = writeln!(
                s,
                "### big_cycle: one doubly linked ring of {N} (ms; automatic collection off)\n\n\
                 Fastest peer that completes: {}.\n",
                fp.map_or("none".into(), |(n, v)| format!("{n}, {} ms", num(v)))
            );
            let _ = writeln!(s, "| contender | build | drop | collect | × fastest peer | returned |");
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
            for (k, n) in CONTENDERS {
                let _ = writeln!(
                    s,
                    "| {n} | {} | {} | {} | {} | {} |",
                    cell(&self.value("big_cycle", k, "build")),
                    cell(&self.value("big_cycle", k, "drop")),
                    cell(&self.value("big_cycle", k, "collect")),
                    self.ratio_cell("big_cycle", k, "collect", Base::FastestPeer),
                    self.value("big_cycle", k, "collected").map_or("–".into(), |x| format!("{x:.0}")),
                );
            }
            s.push('\n');
        }
        if self.has("deep_list") {
            let _ = writeln!(s, "### deep_list: drop the head of an acyclic list of {N} (8 MiB stack)\n");
            let _ = writeln!(s, "| contender | result | drop (ms) | build (ms) |");
            let _ = writeln!(s, "|---|---|---:|---:|");
            for (k, n) in CONTENDERS {
                let d = self.value("deep_list", k, "drop");
                let res = match &d {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("**{e}**"),
                };
                let _ = writeln!(
                    s,
                    "| {n} | {res} | {} | {} |",
                    d.map_or("–".into(), num),
                    cell(&self.value("deep_list", k, "build"))
                );
            }
            s.push('\n');
        }
        if self.has("young_with_old_heap") {
            let _ = writeln!(
                s,
                "### young_with_old_heap: collect {YOUNG_RINGS} garbage rings of {YOUNG_RING} (ms)\n\n\
                 With {N} live nodes (settled by one full collection first) vs none. gc-core: `collect_generation(0)`; \
                 peers: their only collect. One child measures no live objects, then {N} live, then none again; ratio = median over rounds of each child's ratio.\n"
            );
            let _ = writeln!(s, "| contender | no live objects | {N} live | ratio |");
            let _ = writeln!(s, "|---|---:|---:|---:|");
            for (k, n) in CONTENDERS.iter().filter(|c| c.0 != "rc") {
                let _ = writeln!(
                    s,
                    "| {n} | {} | {} | {} |",
                    cell(&self.value("young_with_old_heap", k, "empty")),
                    cell(&self.value("young_with_old_heap", k, "old")),
                    self.young_cell(k),
                );
            }
            s.push('\n');
        }
        if self.has("memory") || self.has("memory_leaf") {
            let _ = writeln!(
                s,
                "### memory: peak RSS growth per live object ({N} live; bytes)\n\n\
                 `memory`: nodes (`i64` + cell of `Option<ptr>`, 24-byte payload with `RefCell`); `memory_leaf`: `i64` values. \
                 The vector holding the handles is excluded.\n"
            );
            let _ = writeln!(s, "| contender | memory | × Rc | memory_leaf | × Rc |");
            let _ = writeln!(s, "|---|---:|---:|---:|---:|");
            for (k, n) in CONTENDERS {
                let _ = writeln!(
                    s,
                    "| {n} | {} | {} | {} | {} |",
                    cell(&self.value("memory", k, "bytes")),
                    ratio_str(self.ratio("memory", k, "bytes", Base::Rc)),
                    cell(&self.value("memory_leaf", k, "bytes")),
                    ratio_str(self.ratio("memory_leaf", k, "bytes", Base::Rc)),
                );
            }
            s.push('\n');
        }
        if let Some(t) = self.targets() {
            let _ = writeln!(s, "### SPEC performance contract: gc-core\n");
            let _ = writeln!(s, "| workload | target | measured | result |");
            let _ = writeln!(s, "|---|---|---|---|");
            for (w, target, measured, pass) in t {
                let _ = writeln!(s, "| {w} | {target} | {measured} | {} |", if pass { "pass" } else { "**MISS**" });
            }
            s.push('\n');
        }
        s
    }

    /// The SPEC targets for gc-core: (workload, target, measured, pass).
    /// `None` unless every job ran.
    pub fn targets(&self) -> Option<Vec<(String, String, String, bool)>> {
        if crate::JOBS.iter().any(|j| !self.has(j.0)) {
            return None;
        }
        let g = "gc-core";
        let mut t = Vec::new();
        let mut vs_rc = |job: &str, limit: f64| {
            let r = self.ratio(job, g, "ns", Base::Rc);
            let measured = match (self.value(job, g, "ns"), self.value(job, "rc", "ns"), r) {
                (Ok(a), Ok(b), Some(_)) => format!(
                    "{} ({} vs {} ns){}",
                    self.ratio_cell(job, g, "ns", Base::Rc),
                    num(a),
                    num(b),
                    self.ir_ratio(job).map_or(String::new(), |(q, _, _)| format!("; instructions {q:.2}×"))
                ),
                (Err(e), _, _) => e,
                _ => "–".into(),
            };
            let pass = r.is_some_and(|r| r <= limit);
            let measured = match self.ir_ratio(job) {
                Some((q, _, _)) if pass && q > limit => format!("{measured} — passes on time, not on instructions"),
                Some((q, _, _)) if !pass && q <= limit => format!("{measured} — misses on time, not on instructions"),
                _ => measured,
            };
            t.push((format!("`{job}`"), format!("≤ {limit:.2}× Rc"), measured, pass));
        };
        vs_rc("alloc_drop", 1.10);
        vs_rc("alloc_drop_leaf", 1.05);
        vs_rc("clone_drop", 1.05);
        for (job, unit) in [("cycles", "ns/object"), ("big_cycle", "ms")] {
            let r = self.ratio(job, g, "collect", Base::FastestPeer);
            let fp = self.fastest_peer(job, "collect");
            let measured = match (self.value(job, g, "collect"), fp, r) {
                (Ok(a), Some((pn, pv)), Some(_)) => {
                    format!("{} ({} vs {pn} {} {unit})", self.ratio_cell(job, g, "collect", Base::FastestPeer), num(a), num(pv))
                }
                (Err(e), _, _) => e,
                _ => "–".into(),
            };
            let what = if job == "big_cycle" { "collected, ≤ 0.50× fastest peer" } else { "collect ≤ 0.50× fastest peer" };
            t.push((format!("`{job}`"), what.into(), measured, r.is_some_and(|r| r <= 0.5)));
        }
        let d = self.value("deep_list", g, "drop");
        t.push((
            "`deep_list`".into(),
            "no overflow".into(),
            d.as_ref().map_or_else(|e| e.clone(), |ms| format!("ok ({} ms)", num(*ms))),
            d.is_ok(),
        ));
        let y = self.young_ratio(g);
        t.push((
            "`young_with_old_heap`".into(),
            "≤ 1.20×".into(),
            self.young_cell(g),
            y.is_ok_and(|r| r <= 1.2),
        ));
        let m = self.value("memory", g, "bytes");
        t.push((
            "`memory`".into(),
            "≤ 56 B/node".into(),
            m.as_ref().map_or_else(|e| e.clone(), |b| format!("{} B", num(*b))),
            m.is_ok_and(|b| b <= 56.0),
        ));
        let (ml, mr) = (self.value("memory_leaf", g, "bytes"), self.value("memory_leaf", "rc", "bytes"));
        let measured = match (&ml, &mr) {
            (Ok(a), Ok(b)) => format!("{} B vs Rc {} B", num(*a), num(*b)),
            _ => "–".into(),
        };
        // "= Rc": no more than Rc, within 1 byte of measurement noise.
        let pass = matches!((&ml, &mr), (Ok(a), Ok(b)) if *a <= *b + 1.0);
        t.push(("`memory_leaf`".into(), "= Rc".into(), measured, pass));
        Some(t)
    }

    pub fn chart_groups(&self) -> Vec<Group> {
        let mut gs = Vec::new();
        let not_rc = || CONTENDERS.iter().filter(|c| c.0 != "rc");
        for (job, metric, title, target) in [
            ("alloc_drop", "ns", "alloc_drop (× Rc)", Some(1.10)),
            ("alloc_drop_leaf", "ns", "alloc_drop_leaf (× Rc)", Some(1.05)),
            ("clone_drop", "ns", "clone_drop (× Rc)", Some(1.05)),
        ] {
            gs.push(Group {
                title: title.into(),
                target,
                bars: not_rc()
                    .map(|(k, n)| (n.to_string(), self.ratio(job, k, metric, Base::Rc).ok_or_else(|| self.value(job, k, metric).err().unwrap_or_default())))
                    .collect(),
            });
        }
        for (job, title) in [("cycles", "cycles collect (× fastest peer)"), ("big_cycle", "big_cycle collect (× fastest peer)")] {
            gs.push(Group {
                title: title.into(),
                target: Some(0.5),
                bars: not_rc()
                    .map(|(k, n)| {
                        (n.to_string(), self.ratio(job, k, "collect", Base::FastestPeer).ok_or_else(|| self.value(job, k, "collect").err().unwrap_or_default()))
                    })
                    .collect(),
            });
        }
        gs.push(Group {
            title: "young_with_old_heap (1M live ÷ none)".into(),
            target: Some(1.2),
            bars: not_rc().map(|(k, n)| (n.to_string(), self.young_ratio(k))).collect(),
        });
        let rc_mem = self.value("memory", "rc", "bytes").ok();
        for (job, title, target) in [
            ("memory", "memory per node (× Rc)", rc_mem.map(|b| 56.0 / b)),
            ("memory_leaf", "memory per leaf value (× Rc)", Some(1.0)),
        ] {
            gs.push(Group {
                title: title.into(),
                target,
                bars: not_rc()
                    .map(|(k, n)| (n.to_string(), self.ratio(job, k, "bytes", Base::Rc).ok_or_else(|| self.value(job, k, "bytes").err().unwrap_or_default())))
                    .collect(),
            });
        }
        gs
    }
}

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
    let wanted = ["gc-core", "gc", "gc_derive", "bacon_rajan_cc", "rust-cc", "rust-cc-derive", "dumpster", "dumpster_derive", "gcmodule", "gcmodule_derive"];
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

pub fn markdown(rep: &Report, info: &RunInfo, root: &Path) -> String {
    let mut s = String::new();
    let date = cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    // BENCH_GC_CORE_REV names the gc-core revision when the run was built
    // from a snapshot outside the repository.
    let (git, dirty) = match std::env::var("BENCH_GC_CORE_REV") {
        Ok(rev) => (rev, false),
        Err(_) => (
            cmd("git", &["-C", &root.display().to_string(), "rev-parse", "--short", "HEAD"]),
            !cmd("git", &["-C", &root.display().to_string(), "status", "--porcelain", "--", "gc-core", "gc-derive"]).is_empty(),
        ),
    };
    let _ = writeln!(
        s,
        "# Benchmarks\n\n\
         gc-core against `std::rc::Rc` and the peer crates on the same workloads, in one run, on one machine. \
         This file and [`bench/ratios.svg`](bench/ratios.svg) are written by the benchmark itself; do not edit by hand.\n\n\
         ```sh\ncargo run --release --manifest-path bench/Cargo.toml\n```\n\n\
         Run of {date}, gc-core at commit `{git}`{}; {} rounds; whole run {:.0} s.\n",
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
    let _ = writeln!(s, "{}", rep.tables());
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
         recurses forever on recursive types, its docs say to write the impl by hand). gcmodule is built without its \
         default `sync` feature (only the single-threaded `Cc` is used).\n\
         - The bench crate is its own workspace (`bench/Cargo.toml`), built with `[profile.release] debug = 1`.\n",
        info.rounds,
        crate::GATE_CORES,
        crate::GATE_RETRIES,
        crate::GATE_BUDGET.as_secs(),
        crate::JOBS.iter().find(|j| j.0 == "young_with_old_heap").map_or(0, |j| j.1),
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
    let _ = writeln!(s, "| workload | other processes' busy cores while it ran |\n|---|---:|");
    for (job, busy) in &info.job_load {
        let _ = writeln!(s, "| `{job}` | {busy:.2} |");
    }
    s.push('\n');
    let _ = writeln!(s, "```text\n$ uname -a\n{}\n$ rustc --version\n{}\n$ lscpu\n{}\n```\n", cmd("uname", &["-a"]), cmd("rustc", &["--version"]), cmd("lscpu", &[]));
    let _ = writeln!(s, "## Versions (from bench/Cargo.lock)\n\n| crate | version |\n|---|---|");
    for (n, v) in lock_versions(root) {
        let _ = writeln!(s, "| {n} | {v} |");
    }
    s.push('\n');
    if let Ok(p) = std::fs::read_to_string(root.join("bench/profiles.md")) {
        let _ = writeln!(s, "{}", p.trim_end());
    }
    s
}
