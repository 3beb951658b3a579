//! The CPython anchor: `bench/cpython_anchor.py`, run once by the parent
//! when `python3` is on PATH, and its table. CPython is an anchor (what
//! the same programs cost in the runtime gc-core's API comes from), not a
//! contender: no ratio or target uses it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::num;
use crate::workloads::BATCH;

/// The whole script (every workload, collector on and off) may take this long.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// The rows of the table: (workload, metric, what it is).
const ROWS: [(&str, &str, &str); 8] = [
    ("grow", "ns_1m", "ns per node, 1,000,000 nodes"),
    ("grow", "ns_4m", "ns per node, 4,000,000 nodes"),
    ("grow_cyclic", "ns_1m", "ns per node, 1,000,000 nodes"),
    ("grow_cyclic", "ns_4m", "ns per node, 4,000,000 nodes"),
    ("churn", "ns", "ns per step"),
    ("churn", "max_batch_ms", "longest batch (ms)"),
    ("churn", "p999_batch_ms", "99.9th-percentile batch (ms)"),
    ("churn", "tracked_over_live", "most tracked objects ÷ live"),
];

/// What the script printed, or why it printed nothing usable.
#[derive(Debug, Default)]
pub struct Anchor {
    /// CPython's `major.minor.micro`.
    pub version: String,
    /// `(workload, "on" | "off", metric) -> value`.
    figures: BTreeMap<(String, String, String), f64>,
    /// Why figures are missing (no python3, a failure, the timeout).
    pub fail: Option<String>,
}

/// Runs the script on `jobs` (the selected live-heap jobs).
pub fn run(jobs: &[&str]) -> Anchor {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cpython_anchor.py");
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        return Anchor {
            fail: Some("python3 is not on PATH".into()),
            ..Anchor::default()
        };
    }
    eprintln!("CPython anchor: {} {}", script.display(), jobs.join(" "));
    let t = Instant::now();
    let (out, fail) = run_script(&script, jobs);
    eprintln!("CPython anchor: {:.1} s", t.elapsed().as_secs_f64());
    let mut anchor = parse(&out);
    anchor.fail = fail;
    anchor
}

/// Runs the script in its own process group (it starts one interpreter
/// per workload and mode), killing the group after [`TIMEOUT`]; returns
/// its standard output and the failure, if any.
fn run_script(script: &Path, jobs: &[&str]) -> (String, Option<String>) {
    use std::os::unix::process::CommandExt;
    let child = Command::new("python3")
        .arg(script)
        .args(jobs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (String::new(), Some(format!("could not start python3: {e}"))),
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if start.elapsed() > TIMEOUT => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return (String::new(), Some(format!("wait: {e}"))),
        }
    };
    if status.is_none() {
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
    }
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let fail = match status {
        None => Some(format!("timed out after {} s", TIMEOUT.as_secs())),
        Some(s) if !s.success() => Some(format!("failed ({s})")),
        Some(_) => None,
    };
    (out, fail)
}

/// Parses the script's `WORKLOAD<TAB>MODE<TAB>METRIC<TAB>VALUE` lines.
fn parse(out: &str) -> Anchor {
    let mut a = Anchor::default();
    for line in out.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[..] {
            ["python", _, "version", v] => a.version = v.to_string(),
            [w, mode, m, v] => {
                if let Ok(v) = v.parse() {
                    a.figures.insert((w.into(), mode.into(), m.into()), v);
                }
            }
            _ => {}
        }
    }
    a
}

impl Anchor {
    /// One figure, as a table cell.
    fn cell(&self, workload: &str, mode: &str, metric: &str) -> String {
        let key = (workload.to_string(), mode.to_string(), metric.to_string());
        self.figures.get(&key).map_or("–".into(), |v| num(*v))
    }

    /// The "not a contender" table (Markdown).
    pub fn table(&self) -> String {
        let mut s = String::new();
        if self.version.is_empty() {
            let why = self.fail.as_deref().unwrap_or("it printed nothing");
            let _ = writeln!(
                s,
                "## Anchor (CPython), not a contender\n\nNot run: {why}.\n"
            );
            return s;
        }
        let minor = self
            .version
            .rsplit_once('.')
            .map_or(&*self.version, |x| x.0);
        let _ = writeln!(
            s,
            "## Anchor (CPython {minor}), not a contender\n\n\
             `bench/cpython_anchor.py`: the same live-heap workloads in CPython {}, each in a fresh interpreter, \
             with the cycle collector on (CPython's default thresholds) and off (`gc.disable()`); nodes are \
             `__slots__` classes with the same fields. Batches are {BATCH} steps. Tracked objects are \
             `len(gc.get_objects())` minus the interpreter's own, sampled (untimed) every 16th batch with the \
             collector on and at the end with it off (nothing is freed then). What the same programs cost in \
             the runtime whose API gc-core follows; no ratio or target uses these figures.\n",
            self.version,
        );
        if let Some(e) = &self.fail {
            let _ = writeln!(
                s,
                "**{e}**: the figures it printed before that are shown.\n"
            );
        }
        let _ = writeln!(
            s,
            "| workload | figure | gc on | gc off |\n|---|---|---:|---:|"
        );
        for (w, m, what) in ROWS {
            let (on, off) = (self.cell(w, "on", m), self.cell(w, "off", m));
            if on != "–" || off != "–" {
                let _ = writeln!(s, "| `{w}` | {what} | {on} | {off} |");
            }
        }
        s
    }
}
