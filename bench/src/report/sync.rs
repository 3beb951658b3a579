//! The `sync_*` jobs: their tables, SPEC targets and chart groups, for
//! `Arc` (the baseline), gc-core's `sync::Gc`, `dumpster::sync` and
//! gcmodule's `ThreadedCc`.

use std::fmt::Write as _;

use super::{Base, Group, Report, Row, cell, num, ratio_str, spec};
use crate::sync_contenders::{GC_CORE_SYNC, SYNC_CONTENDERS, sync_name};
use crate::sync_workloads::SYNC_SHAPES;
use crate::workloads::{N, RING, RINGS};

/// The clone + drop jobs and their column titles.
const CLONE_JOBS: [(&str, &str); 5] = [
    ("sync_clone_drop", "1 thread"),
    ("sync_clone_drop_2t_own", "2 threads, own"),
    ("sync_clone_drop_4t_own", "4 threads, own"),
    ("sync_clone_drop_2t_shared", "2 threads, shared"),
    ("sync_clone_drop_4t_shared", "4 threads, shared"),
];

/// What `sync_cycles`' collect is compared with (SPEC).
const CYCLES_BASE: &str = "dumpster";

impl Report<'_> {
    /// A note for the captions when gc-core's `sync::Gc` was not built in.
    fn gc_core_sync_note() -> &'static str {
        if GC_CORE_SYNC {
            ""
        } else {
            " gc-core's `sync::Gc` is not in this run: the bench was built without its feature `gc-core-sync` (default)."
        }
    }

    /// The `sync_*` tables of the jobs that ran.
    pub(super) fn sync_tables(&self, s: &mut String) {
        let jobs: Vec<(&str, &str)> = CLONE_JOBS
            .into_iter()
            .filter(|(j, _)| self.has(j))
            .collect();
        if !jobs.is_empty() {
            let _ = writeln!(
                s,
                "### sync clone + drop: thread-safe handles (ns per pair; × Arc = median of the ratios to the Arc run next to each run)\n\n\
                 Clone + drop of a handle to a node (`i64` + `Mutex<Option<ptr>>`), {N} pairs per thread per \
                 iteration, automatic collection at each crate's default. `own`: each thread allocates its own \
                 node and works on it alone; `shared`: every thread works on one node (each clones its own \
                 handle to it first, untimed). The threads are released together by a barrier for each \
                 iteration and each notes when it started and finished; ns per pair is the time from the \
                 first start to the last finish ÷ {N}, the time one pair took on each thread while all ran. With more threads than the machine's {} cores, that \
                 includes waiting for a core (perfect scaling on 4 threads here is 2× the 1-thread figure, for \
                 Arc too).{}\n",
                std::thread::available_parallelism().map_or(0, usize::from),
                Self::gc_core_sync_note()
            );
            let mut head = String::from("| contender |");
            let mut rule = String::from("|---|");
            for (_, title) in &jobs {
                let _ = write!(head, " {title} | × Arc |");
                rule.push_str("---:|---:|");
            }
            let _ = writeln!(s, "{head}\n{rule}");
            for (k, name) in SYNC_CONTENDERS {
                let mut row = format!("| {name} |");
                for (job, _) in &jobs {
                    let _ = write!(
                        row,
                        " {} | {} |",
                        cell(&self.value(job, k, "ns")),
                        self.ratio_cell(job, k, "ns", Base::Arc)
                    );
                }
                let _ = writeln!(s, "{row}");
            }
            s.push('\n');
        }
        if self.has("sync_cycles") {
            self.sync_cycles_table(s);
        }
    }

    /// `sync_cycles`: build, drop, collect, and what was freed.
    fn sync_cycles_table(&self, s: &mut String) {
        let j = "sync_cycles";
        let _ = writeln!(
            s,
            "### sync_cycles: {RINGS} garbage rings of {RING}, thread-safe handles (ns per object; automatic collection off)\n\n\
             One thread builds the rings (nodes `i64` + `Mutex<Option<ptr>>`), drops their handles and calls \
             the crate's full collection: gc-core `sync::collect()`, dumpster `sync::collect()`, gcmodule \
             `ThreadedObjectSpace::collect_cycles()` on the one space all its nodes live in. Arc leaks the \
             rings. `returned`: what the collection reported, where the crate reports it; `rings freed`: \
             rings whose nodes were dropped during the collection (counted by the nodes' own drop; a child \
             whose collection freed fewer than {RINGS}, or whose drop phase freed any, reports no collect \
             time). × dumpster::sync is taken within each round.{}\n",
            Self::gc_core_sync_note()
        );
        let _ = writeln!(
            s,
            "| contender | build | × Arc | drop | × Arc | collect | × dumpster::sync | returned | rings freed |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (k, name) in SYNC_CONTENDERS {
            let whole = |m: &str| {
                self.value(j, k, m)
                    .map_or("–".into(), |x| format!("{x:.0}"))
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&self.value(j, k, "build")),
                ratio_str(self.ratio(j, k, "build", Base::Arc)),
                cell(&self.value(j, k, "drop")),
                ratio_str(self.ratio(j, k, "drop", Base::Arc)),
                cell(&self.value(j, k, "collect")),
                self.ratio_cell(j, k, "collect", Base::Of(CYCLES_BASE)),
                whole("collected"),
                whole("rings_freed"),
            );
        }
        s.push('\n');
    }

    /// "≤ `limit` × Arc" on ns per pair, within each pair of runs.
    fn arc_row(&self, job: &str, limit: f64) -> Row {
        let g = "gc-core";
        let r = self.ratio(job, g, "ns", Base::Arc);
        let measured = match (self.value(job, g, "ns"), self.value(job, "arc", "ns"), r) {
            (Ok(a), Ok(b), Some(_)) => format!(
                "{} ({} vs {} ns)",
                self.ratio_cell(job, g, "ns", Base::Arc),
                num(a),
                num(b)
            ),
            (Err(e), _, _) => self.sync_missing(e),
            _ => "–".into(),
        };
        (
            format!("`{job}`"),
            format!("≤ {limit:.2}× Arc"),
            measured,
            r.is_some_and(|r| r <= limit),
        )
    }

    /// Why gc-core has no figure.
    fn sync_missing(&self, e: String) -> String {
        if GC_CORE_SYNC {
            e
        } else {
            "not run (bench built without feature `gc-core-sync`)".into()
        }
    }

    /// The targets of the `sync_*` jobs that ran.
    pub(super) fn sync_targets(&self) -> Vec<Row> {
        let mut t = Vec::new();
        for (job, limit) in [
            ("sync_clone_drop", spec::SYNC_CLONE),
            ("sync_clone_drop_2t_own", spec::SYNC_CLONE_2T),
        ] {
            if self.has(job) {
                t.push(self.arc_row(job, limit));
            }
        }
        let j = "sync_cycles";
        if self.has(j) {
            let g = "gc-core";
            let base = Base::Of(CYCLES_BASE);
            let r = self.ratio(j, g, "collect", base);
            let measured = match (
                self.value(j, g, "collect"),
                self.value(j, CYCLES_BASE, "collect"),
                r,
            ) {
                (Ok(a), Ok(b), Some(_)) => format!(
                    "{} ({} vs {} {} ns/object)",
                    self.ratio_cell(j, g, "collect", base),
                    num(a),
                    sync_name(CYCLES_BASE),
                    num(b)
                ),
                (Err(e), _, _) => self.sync_missing(e),
                (_, Err(e), _) => format!("{}: {e}", sync_name(CYCLES_BASE)),
                _ => "–".into(),
            };
            t.push((
                format!("`{j}`"),
                format!(
                    "collect ≤ {:.2}× {}",
                    spec::SYNC_CYCLES,
                    sync_name(CYCLES_BASE)
                ),
                measured,
                r.is_some_and(|r| r <= spec::SYNC_CYCLES),
            ));
        }
        t
    }

    /// The chart groups of the `sync_*` jobs that ran.
    pub(super) fn sync_groups(&self) -> Vec<Group> {
        let peers = || SYNC_CONTENDERS.iter().filter(|c| c.0 != "arc");
        let mut gs = Vec::new();
        for (job, _, _) in SYNC_SHAPES.iter().filter(|s| self.has(s.0)) {
            let (metric, base, title, target) = match *job {
                "sync_cycles" => (
                    "collect",
                    Base::Of(CYCLES_BASE),
                    format!("{job} collect (× {})", sync_name(CYCLES_BASE)),
                    Some(spec::SYNC_CYCLES),
                ),
                "sync_clone_drop" => (
                    "ns",
                    Base::Arc,
                    format!("{job} (× Arc)"),
                    Some(spec::SYNC_CLONE),
                ),
                "sync_clone_drop_2t_own" => (
                    "ns",
                    Base::Arc,
                    format!("{job} (× Arc)"),
                    Some(spec::SYNC_CLONE_2T),
                ),
                _ => ("ns", Base::Arc, format!("{job} (× Arc)"), None),
            };
            gs.push(Group {
                title,
                target,
                unit: "×",
                bars: peers()
                    .map(|(k, n)| {
                        (
                            n.to_string(),
                            self.ratio(job, k, metric, base).ok_or_else(|| {
                                self.value(job, k, metric).err().unwrap_or_default()
                            }),
                        )
                    })
                    .collect(),
            });
        }
        gs
    }
}
