//! Tables (stdout and BENCHMARKS.md), the SPEC targets, and the chart data.
//! The live-heap jobs' part is in `report/live.rs`, the `sync_*` jobs' in
//! `report/sync.rs`, BENCHMARKS.md's frame (run, method, machine,
//! versions) in `report/markdown.rs`.

mod live;
mod markdown;
mod sync;

pub use markdown::markdown;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::anchor::Anchor;
use crate::workloads::{N, RING, RINGS, YOUNG_RING, YOUNG_RINGS};
use crate::{Alloc, CONTENDERS, PEERS, Results, Run, median};

/// One row of the targets table: (workload, target, measured, pass).
pub type Row = (String, String, String, bool);

/// What a ratio is taken against, round by round.
#[derive(Clone, Copy)]
pub enum Base {
    Rc,
    /// The `sync_*` jobs' baseline, paired like Rc.
    Arc,
    FastestPeer,
    /// One named contender, within each round.
    Of(&'static str),
}

pub struct Report<'a> {
    r: &'a Results,
    /// Instructions per operation under callgrind: `(job, contender)`.
    ir: BTreeMap<(String, String), f64>,
    /// The global allocator of the runs (SPEC's alloc row differs).
    alloc: Alloc,
}

/// SPEC's targets (the performance contract, revised for issue 16).
pub mod spec {
    /// `alloc_drop` with the system allocator, × Rc.
    pub const ALLOC_SYSTEM: f64 = 1.00;
    /// `alloc_drop` with mimalloc, × Rc.
    pub const ALLOC_MIMALLOC: f64 = 1.05;
    /// `alloc_drop_leaf` and `clone_drop`, × Rc.
    pub const REST: f64 = 1.00;
    /// `cycles` and `big_cycle` collect, × the fastest peer.
    pub const CYCLES: f64 = 0.33;
    /// `young_with_old_heap`: 1,000,000 live ÷ none.
    pub const YOUNG: f64 = 1.10;
    /// Bytes per live node (= Rc).
    pub const MEMORY: f64 = 48.0;
    /// Bytes per pointer-free value, × Rc.
    pub const MEMORY_LEAF: f64 = 0.6;
    /// `sync_clone_drop`, × Arc.
    pub const SYNC_CLONE: f64 = 1.00;
    /// `sync_clone_drop_2t_own`, × Arc.
    pub const SYNC_CLONE_2T: f64 = 1.10;
    /// `sync_cycles` collect, × `dumpster::sync`.
    pub const SYNC_CYCLES: f64 = 0.50;
}

/// One group of bars in the chart.
pub struct Group {
    pub title: String,
    /// gc-core's target, drawn as a dashed line.
    pub target: Option<f64>,
    /// What the values are: "×" for ratios, " ms" for durations.
    pub unit: &'static str,
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
    pub fn new(r: &'a Results, ir: BTreeMap<(String, String), f64>, alloc: Alloc) -> Self {
        Report { r, ir, alloc }
    }

    /// SPEC's `alloc_drop` target for this report's allocator.
    fn alloc_target(&self) -> f64 {
        match self.alloc {
            Alloc::System => spec::ALLOC_SYSTEM,
            Alloc::Mimalloc => spec::ALLOC_MIMALLOC,
        }
    }

    /// gc-core's instructions per op ÷ Rc's, if counted.
    fn ir_ratio(&self, job: &str) -> Option<(f64, f64, f64)> {
        let g = *self.ir.get(&(job.to_string(), "gc-core".to_string()))?;
        let r = *self.ir.get(&(job.to_string(), "rc".to_string()))?;
        Some((g / r, g, r))
    }

    /// All runs of `who` in `job` (for Rc and Arc: their runs paired with
    /// every other contender).
    fn runs(&self, job: &str, who: &str) -> Vec<&Run> {
        let Some(m) = self.r.get(job) else {
            return Vec::new();
        };
        if who == "rc" || who == "arc" {
            let prefix = format!("{who}~");
            m.iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .flat_map(|(_, v)| v.iter())
                .collect()
        } else {
            m.get(who).map_or_else(Vec::new, |v| v.iter().collect())
        }
    }

    /// The value of `metric` in round `round`, if that run produced it
    /// (not for Rc, whose runs are per partner).
    fn at(&self, job: &str, who: &str, metric: &str, round: usize) -> Option<f64> {
        self.r
            .get(job)?
            .get(who)?
            .get(round)?
            .metrics
            .get(metric)
            .copied()
    }

    /// Median over rounds, or why there is none.
    pub fn value(&self, job: &str, who: &str, metric: &str) -> Result<f64, String> {
        let runs = self.runs(job, who);
        if runs.is_empty() {
            return Err("not run".into());
        }
        if (who == "rc" || who == "arc") && metric == "collect" {
            return Err("n/a (leaks)".into());
        }
        let mut v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.metrics.get(metric).copied())
            .collect();
        if v.len() < runs.len() || v.is_empty() {
            return Err(runs
                .iter()
                .find_map(|r| r.fail.clone())
                .unwrap_or_else(|| "missing".into()));
        }
        Ok(median(&mut v))
    }

    fn rounds(&self, job: &str) -> usize {
        self.r
            .get(job)
            .map_or(0, |m| m.values().map(Vec::len).max().unwrap_or(0))
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
        Some((
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(0.0, f64::max),
        ))
    }

    /// A ratio cell: median, and the range over rounds when it is wide.
    fn ratio_cell(&self, job: &str, who: &str, metric: &str, base: Base) -> String {
        match (
            self.ratio(job, who, metric, base),
            self.ratio_range(job, who, metric, base),
        ) {
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
            Base::Arc if who == "arc" => vec![1.0],
            Base::Rc | Base::Arc => {
                let base = if matches!(base, Base::Rc) {
                    "rc"
                } else {
                    "arc"
                };
                let rc = self.r.get(job)?.get(&format!("{base}~{who}"))?;
                let mine = self.r.get(job)?.get(who)?;
                mine.iter()
                    .zip(rc)
                    .filter_map(|(a, b)| Some(a.metrics.get(metric)? / b.metrics.get(metric)?))
                    .collect()
            }
            Base::FastestPeer => (0..self.rounds(job))
                .filter_map(|r| {
                    let best = PEERS
                        .iter()
                        .filter_map(|p| self.at(job, p, metric, r))
                        .min_by(f64::total_cmp)?;
                    Some(self.at(job, who, metric, r)? / best)
                })
                .collect(),
            Base::Of(peer) => (0..self.rounds(job))
                .filter_map(|r| {
                    Some(self.at(job, who, metric, r)? / self.at(job, peer, metric, r)?)
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
        let v: Vec<f64> = (0..self.rounds(j))
            .filter_map(|r| Some(self.at(j, who, "old", r)? / self.at(j, who, "empty", r)?))
            .collect();
        if v.is_empty() {
            Err("missing".into())
        } else {
            Ok(v)
        }
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
            let _ = writeln!(
                s,
                "| contender | alloc_drop | × Rc | alloc_drop_leaf | × Rc | clone_drop | × Rc |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
            for (k, n) in CONTENDERS {
                let mut row = format!("| {n} |");
                for job in ["alloc_drop", "alloc_drop_leaf", "clone_drop"] {
                    let v = self.value(job, k, "ns");
                    let _ = write!(
                        row,
                        " {} | {} |",
                        cell(&v),
                        self.ratio_cell(job, k, "ns", Base::Rc)
                    );
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
            let _ = writeln!(
                s,
                "| contender | build | × Rc | drop | × Rc | collect | × fastest peer | returned |"
            );
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
                    self.value("cycles", k, "collected")
                        .map_or("–".into(), |x| format!("{x:.0}")),
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
            let _ = writeln!(
                s,
                "| contender | build | drop | collect | × fastest peer | returned |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
            for (k, n) in CONTENDERS {
                let _ = writeln!(
                    s,
                    "| {n} | {} | {} | {} | {} | {} |",
                    cell(&self.value("big_cycle", k, "build")),
                    cell(&self.value("big_cycle", k, "drop")),
                    cell(&self.value("big_cycle", k, "collect")),
                    self.ratio_cell("big_cycle", k, "collect", Base::FastestPeer),
                    self.value("big_cycle", k, "collected")
                        .map_or("–".into(), |x| format!("{x:.0}")),
                );
            }
            s.push('\n');
        }
        if self.has("deep_list") {
            let _ = writeln!(
                s,
                "### deep_list: drop the head of an acyclic list of {N} (8 MiB stack)\n"
            );
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
        self.grow_table(&mut s);
        self.churn_table(&mut s);
        self.sync_tables(&mut s);
        if let Some(t) = self.targets() {
            let _ = writeln!(s, "### SPEC performance contract: gc-core\n");
            let _ = writeln!(s, "| workload | target | measured | result |");
            let _ = writeln!(s, "|---|---|---|---|");
            for (w, target, measured, pass) in t {
                let _ = writeln!(
                    s,
                    "| {w} | {target} | {measured} | {} |",
                    if pass { "pass" } else { "**MISS**" }
                );
            }
            s.push('\n');
        }
        s
    }

    /// The SPEC targets for gc-core: (workload, target, measured, pass),
    /// for the jobs that ran; `None` if none of them did.
    pub fn targets(&self) -> Option<Vec<Row>> {
        let g = "gc-core";
        let mut t = Vec::new();
        let mut vs_rc = |job: &str, limit: f64| {
            if !self.has(job) {
                return;
            }
            let r = self.ratio(job, g, "ns", Base::Rc);
            let measured = match (self.value(job, g, "ns"), self.value(job, "rc", "ns"), r) {
                (Ok(a), Ok(b), Some(_)) => format!(
                    "{} ({} vs {} ns){}",
                    self.ratio_cell(job, g, "ns", Base::Rc),
                    num(a),
                    num(b),
                    self.ir_ratio(job)
                        .map_or(String::new(), |(q, _, _)| format!("; instructions {q:.2}×"))
                ),
                (Err(e), _, _) => e,
                _ => "–".into(),
            };
            let pass = r.is_some_and(|r| r <= limit);
            let measured = match self.ir_ratio(job) {
                Some((q, _, _)) if pass && q > limit => {
                    format!("{measured} — passes on time, not on instructions")
                }
                Some((q, _, _)) if !pass && q <= limit => {
                    format!("{measured} — misses on time, not on instructions")
                }
                _ => measured,
            };
            t.push((
                format!("`{job}`"),
                format!("≤ {limit:.2}× Rc"),
                measured,
                pass,
            ));
        };
        vs_rc("alloc_drop", self.alloc_target());
        vs_rc("alloc_drop_leaf", spec::REST);
        vs_rc("clone_drop", spec::REST);
        for (job, unit) in [("cycles", "ns/object"), ("big_cycle", "ms")] {
            if !self.has(job) {
                continue;
            }
            let r = self.ratio(job, g, "collect", Base::FastestPeer);
            let fp = self.fastest_peer(job, "collect");
            let measured = match (self.value(job, g, "collect"), fp, r) {
                (Ok(a), Some((pn, pv)), Some(_)) => {
                    format!(
                        "{} ({} vs {pn} {} {unit})",
                        self.ratio_cell(job, g, "collect", Base::FastestPeer),
                        num(a),
                        num(pv)
                    )
                }
                (Err(e), _, _) => e,
                _ => "–".into(),
            };
            let what = if job == "big_cycle" {
                format!("collected, ≤ {:.2}× fastest peer", spec::CYCLES)
            } else {
                format!("collect ≤ {:.2}× fastest peer", spec::CYCLES)
            };
            t.push((
                format!("`{job}`"),
                what,
                measured,
                r.is_some_and(|r| r <= spec::CYCLES),
            ));
        }
        if self.has("deep_list") {
            t.push(self.deep_list_row());
        }
        if self.has("young_with_old_heap") {
            let y = self.young_ratio(g);
            t.push((
                "`young_with_old_heap`".into(),
                format!("≤ {:.2}×", spec::YOUNG),
                self.young_cell(g),
                y.is_ok_and(|r| r <= spec::YOUNG),
            ));
        }
        if self.has("memory") {
            let m = self.value("memory", g, "bytes");
            t.push((
                "`memory`".into(),
                format!("≤ {} B/node (= Rc)", spec::MEMORY),
                m.as_ref()
                    .map_or_else(|e| e.clone(), |b| format!("{} B", num(*b))),
                m.is_ok_and(|b| b <= spec::MEMORY),
            ));
        }
        if self.has("memory_leaf") {
            t.push(self.memory_leaf_row());
        }
        t.extend(self.live_targets());
        t.extend(self.sync_targets());
        (!t.is_empty()).then_some(t)
    }

    /// `deep_list`: gc-core drops the list without overflowing its stack.
    fn deep_list_row(&self) -> Row {
        let d = self.value("deep_list", "gc-core", "drop");
        (
            "`deep_list`".into(),
            "no overflow".into(),
            d.as_ref()
                .map_or_else(|e| e.clone(), |ms| format!("ok ({} ms)", num(*ms))),
            d.is_ok(),
        )
    }

    /// `memory_leaf`: no more bytes per value than Rc.
    fn memory_leaf_row(&self) -> Row {
        let (ml, mr) = (
            self.value("memory_leaf", "gc-core", "bytes"),
            self.value("memory_leaf", "rc", "bytes"),
        );
        let measured = match (&ml, &mr) {
            (Ok(a), Ok(b)) => format!("{} B vs Rc {} B", num(*a), num(*b)),
            _ => "–".into(),
        };
        let pass = matches!((&ml, &mr), (Ok(a), Ok(b)) if *a <= *b * spec::MEMORY_LEAF);
        (
            "`memory_leaf`".into(),
            format!("≤ {:.1}× Rc", spec::MEMORY_LEAF),
            measured,
            pass,
        )
    }

    pub fn chart_groups(&self) -> Vec<Group> {
        let mut gs = Vec::new();
        let not_rc = || CONTENDERS.iter().filter(|c| c.0 != "rc");
        for (job, metric, title, target) in [
            (
                "alloc_drop",
                "ns",
                "alloc_drop (× Rc)",
                Some(self.alloc_target()),
            ),
            (
                "alloc_drop_leaf",
                "ns",
                "alloc_drop_leaf (× Rc)",
                Some(spec::REST),
            ),
            ("clone_drop", "ns", "clone_drop (× Rc)", Some(spec::REST)),
        ] {
            gs.push(Group {
                title: title.into(),
                target,
                unit: "×",
                bars: not_rc()
                    .map(|(k, n)| {
                        (
                            n.to_string(),
                            self.ratio(job, k, metric, Base::Rc).ok_or_else(|| {
                                self.value(job, k, metric).err().unwrap_or_default()
                            }),
                        )
                    })
                    .collect(),
            });
        }
        for (job, title) in [
            ("cycles", "cycles collect (× fastest peer)"),
            ("big_cycle", "big_cycle collect (× fastest peer)"),
        ] {
            gs.push(Group {
                title: title.into(),
                target: Some(spec::CYCLES),
                unit: "×",
                bars: not_rc()
                    .map(|(k, n)| {
                        (
                            n.to_string(),
                            self.ratio(job, k, "collect", Base::FastestPeer)
                                .ok_or_else(|| {
                                    self.value(job, k, "collect").err().unwrap_or_default()
                                }),
                        )
                    })
                    .collect(),
            });
        }
        gs.push(Group {
            title: "young_with_old_heap (1M live ÷ none)".into(),
            target: Some(spec::YOUNG),
            unit: "×",
            bars: not_rc()
                .map(|(k, n)| (n.to_string(), self.young_ratio(k)))
                .collect(),
        });
        let rc_mem = self.value("memory", "rc", "bytes").ok();
        for (job, title, target) in [
            (
                "memory",
                "memory per node (× Rc)",
                rc_mem.map(|b| spec::MEMORY / b),
            ),
            (
                "memory_leaf",
                "memory per leaf value (× Rc)",
                Some(spec::MEMORY_LEAF),
            ),
        ] {
            gs.push(Group {
                title: title.into(),
                target,
                unit: "×",
                bars: not_rc()
                    .map(|(k, n)| {
                        (
                            n.to_string(),
                            self.ratio(job, k, "bytes", Base::Rc).ok_or_else(|| {
                                self.value(job, k, "bytes").err().unwrap_or_default()
                            }),
                        )
                    })
                    .collect(),
            });
        }
        gs.extend(self.live_groups());
        gs.extend(self.sync_groups());
        gs
    }
}

/// Every allocator's chart groups, each workload's next to each other.
pub fn chart_groups(reps: &[(Alloc, Report)]) -> Vec<Group> {
    let mut per: Vec<_> = reps
        .iter()
        .map(|(a, r)| {
            let mut gs = r.chart_groups();
            if reps.len() > 1 {
                for g in &mut gs {
                    g.title = format!("{}, {}", g.title, a.key());
                }
            }
            gs.into_iter()
        })
        .collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        out.extend(per.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return out;
        }
    }
}

/// Every allocator's tables, then the anchor's (stdout and BENCHMARKS.md).
pub fn sections(
    reps: &[(Alloc, Report)],
    anchor: Option<&Anchor>,
    skipped: &[(Alloc, String)],
) -> String {
    let mut s = String::new();
    for (a, r) in reps {
        let _ = writeln!(s, "## {}\n\n{}", a.title(), r.tables());
    }
    for (a, e) in skipped {
        let _ = writeln!(s, "## {}\n\n**not run**: {e}\n", a.title());
    }
    if let Some(a) = anchor {
        let _ = writeln!(s, "{}", a.table());
    }
    s
}
