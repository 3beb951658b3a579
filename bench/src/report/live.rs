//! The live-heap jobs (`grow`, `grow_cyclic`, `churn`): their tables,
//! SPEC targets and chart groups, for Rc and gc-core.

use std::fmt::Write as _;

use super::{Base, Group, Report, Row, cell, num};
use crate::CONTENDERS;
use crate::workloads::{BATCH, CHURN_RING, CHURN_RINGS, CHURN_STEPS, GROW_SIZES};

impl Report<'_> {
    /// The smallest and largest value of `metric` over rounds.
    fn extremes(&self, job: &str, who: &str, metric: &str) -> Option<(f64, f64)> {
        let v: Vec<f64> = self
            .runs(job, who)
            .iter()
            .filter_map(|r| r.metrics.get(metric).copied())
            .collect();
        let lo = v.iter().copied().reduce(f64::min)?;
        Some((lo, v.iter().copied().fold(lo, f64::max)))
    }

    /// The median over rounds, and the range when it is wide; "–" for a
    /// figure the contender does not have.
    fn spread_cell(&self, job: &str, who: &str, metric: &str) -> String {
        match (
            self.value(job, who, metric),
            self.extremes(job, who, metric),
        ) {
            (Ok(m), Some((lo, hi))) if hi - lo > 0.01 * m.abs() => {
                format!("{} ({}–{})", num(m), num(lo), num(hi))
            }
            (Ok(m), _) => num(m),
            (Err(e), _) if e == "missing" => "–".into(),
            (Err(e), _) => format!("**{e}**"),
        }
    }

    /// gc-core ÷ Rc as a chart bar, or why there is none.
    fn rc_bar(&self, job: &str, metric: &str) -> Result<f64, String> {
        self.ratio(job, "gc-core", metric, Base::Rc)
            .ok_or_else(|| self.value(job, "gc-core", metric).err().unwrap_or_default())
    }

    /// The contenders that ran any of `jobs`.
    fn ran(&self, jobs: &[&str]) -> Vec<(&'static str, &'static str)> {
        CONTENDERS
            .iter()
            .copied()
            .filter(|(k, _)| jobs.iter().any(|j| !self.runs(j, k).is_empty()))
            .collect()
    }

    /// `grow` and `grow_cyclic`: ns per node and × Rc, for both sizes.
    pub(super) fn grow_table(&self, s: &mut String) {
        let jobs: Vec<&str> = ["grow", "grow_cyclic"]
            .into_iter()
            .filter(|j| self.has(j))
            .collect();
        if jobs.is_empty() {
            return;
        }
        let builds = crate::JOBS
            .iter()
            .find(|j| j.0 == "grow")
            .map_or(0, |j| j.1);
        let _ = writeln!(
            s,
            "### grow, grow_cyclic: build a live list (ns per node; automatic collection on)\n\n\
             `grow`: singly linked, `{{ value: i64, next: Option<ptr> }}`, each step \
             `head = Some(Ptr::new(Node {{ value: i, next: head.take() }}))`. `grow_cyclic`: doubly linked, \
             `{{ value: i64, prev, next: RefCell<Option<ptr>> }}`, every node in a cycle with its neighbours; each \
             step moves the tail into the new node's `prev` and sets the previous node's `next` to a clone of the \
             new node. Handles are moved, never cloned and dropped. The list is alive when the timer stops and is \
             freed untimed (Rc: unlinked node by node, its cycles broken by hand; gc-core: dropped, then \
             `collect()`). Each child builds each size {builds} times and reports the median.\n"
        );
        let mut head = String::from("| contender |");
        let mut rule = String::from("|---|");
        for job in &jobs {
            for (n, _) in GROW_SIZES {
                let _ = write!(head, " `{job}` {}M | × Rc |", n / 1_000_000);
                rule.push_str("---:|---:|");
            }
        }
        let _ = writeln!(s, "{head}\n{rule}");
        for (k, name) in self.ran(&jobs) {
            let mut row = format!("| {name} |");
            for job in &jobs {
                for (_, tag) in GROW_SIZES {
                    let m = format!("ns_{tag}");
                    let v = self.value(job, k, &m);
                    let _ = write!(
                        row,
                        " {} | {} |",
                        cell(&v),
                        self.ratio_cell(job, k, &m, Base::Rc)
                    );
                }
            }
            let _ = writeln!(s, "{row}");
        }
        s.push('\n');
    }

    /// `churn`: time per step, the batches, the tracked objects.
    pub(super) fn churn_table(&self, s: &mut String) {
        if !self.has("churn") {
            return;
        }
        let _ = writeln!(
            s,
            "### churn: {CHURN_RINGS} rings of {CHURN_RING} live, {CHURN_STEPS} steps each replacing a random ring \
             (automatic collection on)\n\n\
             Each step replaces `vec[rng() % {CHURN_RINGS}]` (xorshift, one seed for all) with a new ring, built \
             the way `cycles` builds its rings; Rc leaks every replaced ring. The program times each batch of \
             {BATCH} steps: ns per step is their sum ÷ {CHURN_STEPS}; a child's longest and 99.9th-percentile \
             batch bound the longest pause it saw (plus {BATCH} steps of work: see Rc's). Tracked ÷ live: the \
             most `tracked_count()` seen after any batch ÷ {}. Longest collection: the longest `max_pause` in \
             `gc_core::stats()` over the child, the building of the rings included. Cells: median over rounds \
             (range).\n",
            CHURN_RINGS * CHURN_RING
        );
        let _ = writeln!(
            s,
            "| contender | ns per step | × Rc | longest batch (ms) | p99.9 batch (ms) | most tracked ÷ live | \
             longest collection (ms) |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for (k, name) in self.ran(&["churn"]) {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} | {} |",
                self.spread_cell("churn", k, "ns"),
                self.ratio_cell("churn", k, "ns", Base::Rc),
                self.spread_cell("churn", k, "max_batch_ms"),
                self.spread_cell("churn", k, "p999_batch_ms"),
                self.spread_cell("churn", k, "tracked_over_live"),
                self.spread_cell("churn", k, "gc_max_pause_ms"),
            );
        }
        s.push('\n');
    }

    /// The targets of the live-heap jobs that ran.
    pub(super) fn live_targets(&self) -> Vec<Row> {
        let mut t = Vec::new();
        for job in ["grow", "grow_cyclic"].into_iter().filter(|j| self.has(j)) {
            for (n, tag) in GROW_SIZES {
                let label = format!("`{job}` {}M", n / 1_000_000);
                t.push(self.rc_row(&label, job, &format!("ns_{tag}"), 1.3, "ns/node"));
            }
        }
        if self.has("churn") {
            t.push(self.rc_row("`churn`", "churn", "ns", 2.0, "ns/step"));
            t.push(self.own_row("`churn` longest batch", "max_batch_ms", (2.0, " ms"), false));
            t.push(self.own_row("`churn` p99.9 batch", "p999_batch_ms", (1.0, " ms"), false));
            t.push(self.own_row(
                "`churn` tracked ÷ live",
                "tracked_over_live",
                (1.5, "×"),
                true,
            ));
        }
        t
    }

    /// "≤ `limit` × Rc" on `metric`, within each pair.
    fn rc_row(&self, label: &str, job: &str, metric: &str, limit: f64, unit: &str) -> Row {
        let g = "gc-core";
        let r = self.ratio(job, g, metric, Base::Rc);
        let measured = match (self.value(job, g, metric), self.value(job, "rc", metric), r) {
            (Ok(a), Ok(b), Some(_)) => format!(
                "{} ({} vs {} {unit})",
                self.ratio_cell(job, g, metric, Base::Rc),
                num(a),
                num(b)
            ),
            (Err(e), _, _) => e,
            _ => "–".into(),
        };
        let target = format!("≤ {limit:.2}× Rc");
        (
            label.into(),
            target,
            measured,
            r.is_some_and(|r| r <= limit),
        )
    }

    /// "≤ `limit`" on gc-core's own `churn` figure: its median over rounds,
    /// or its worst round if `worst`.
    fn own_row(&self, label: &str, metric: &str, (limit, unit): (f64, &str), worst: bool) -> Row {
        let (job, g) = ("churn", "gc-core");
        let v = if worst {
            self.value(job, g, metric).and_then(|_| {
                self.extremes(job, g, metric)
                    .map(|x| x.1)
                    .ok_or_else(|| "missing".into())
            })
        } else {
            self.value(job, g, metric)
        };
        let measured = match &v {
            Ok(x) if worst => format!(
                "{}{unit} (worst round of {})",
                num(*x),
                self.runs(job, g).len()
            ),
            Ok(_) => format!("{}{unit}", self.spread_cell(job, g, metric)),
            Err(e) => e.clone(),
        };
        let target = if worst {
            format!("≤ {limit}{unit} live at all times")
        } else {
            format!("≤ {limit}{unit}")
        };
        (label.into(), target, measured, v.is_ok_and(|x| x <= limit))
    }

    /// The chart groups of the live-heap jobs that ran.
    pub(super) fn live_groups(&self) -> Vec<Group> {
        let mut gs = Vec::new();
        for job in ["grow", "grow_cyclic"].into_iter().filter(|j| self.has(j)) {
            for (n, tag) in GROW_SIZES {
                gs.push(Group {
                    title: format!("{job} {}M (× Rc)", n / 1_000_000),
                    target: Some(1.3),
                    unit: "×",
                    bars: vec![("gc-core".into(), self.rc_bar(job, &format!("ns_{tag}")))],
                });
            }
        }
        if !self.has("churn") {
            return gs;
        }
        gs.push(Group {
            title: "churn (× Rc)".into(),
            target: Some(2.0),
            unit: "×",
            bars: vec![("gc-core".into(), self.rc_bar("churn", "ns"))],
        });
        for (metric, title, target) in [
            ("max_batch_ms", "churn longest batch (ms)", 2.0),
            ("p999_batch_ms", "churn p99.9 batch (ms)", 1.0),
        ] {
            gs.push(Group {
                title: title.into(),
                target: Some(target),
                unit: " ms",
                bars: self
                    .ran(&["churn"])
                    .into_iter()
                    .map(|(k, n)| (n.to_string(), self.value("churn", k, metric)))
                    .collect(),
            });
        }
        gs.push(Group {
            title: "churn most tracked ÷ live".into(),
            target: Some(1.5),
            unit: "×",
            bars: vec![(
                "gc-core".into(),
                self.extremes("churn", "gc-core", "tracked_over_live")
                    .map(|x| x.1)
                    .ok_or_else(|| "missing".to_string()),
            )],
        });
        gs
    }
}
