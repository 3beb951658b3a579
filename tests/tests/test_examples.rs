//! Builds and runs every example program (`examples/`) and checks the key
//! lines of its output; checks that the README's quick start is the
//! `quick_start` example verbatim and that the output the README shows for
//! the demo is what `tour` prints.
//!
//! The examples are built by a nested `cargo build` into a target directory
//! of their own (under `CARGO_TARGET_TMPDIR`): the `cargo test` running this
//! file holds the lock of the main target directory until the tests finish,
//! so a nested cargo using it would wait forever. The first run builds the
//! dependencies once more; later runs only relink what changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (this package is `tests/`).
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// Builds all examples once; returns the directory of their binaries.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("examples");
        let out = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "gc-examples", "--examples"])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(workspace())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the examples failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("debug").join("examples")
    })
}

/// Runs example `name` with `args` in a scratch directory of its own, checks
/// that it exits with 0, and returns its standard output.
fn run(name: &str, args: &[&str]) -> String {
    let exe = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let cwd = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("run-{name}"));
    // Start empty, so that files left by an earlier run cannot pass for new ones.
    let _ = std::fs::remove_dir_all(&cwd);
    std::fs::create_dir_all(&cwd).expect("scratch directory");
    let out = Command::new(&exe)
        .args(args)
        .current_dir(&cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Asserts that each of `expected` occurs in `output`, in this order (each
/// after the end of the previous match).
#[track_caller]
fn assert_in_order(output: &str, expected: &[&str]) {
    let mut rest = output;
    for want in expected {
        match rest.find(want) {
            Some(i) => rest = &rest[i + want.len()..],
            None => panic!("expected {want:?} (after the previous match) in:\n{output}"),
        }
    }
}

/// The first fenced block of `lang` after the line containing `marker`.
fn fenced_block<'a>(text: &'a str, marker: &str, lang: &str) -> &'a str {
    let start = text.find(marker).expect("marker in the README");
    let fence = format!("```{lang}\n");
    let body = start + text[start..].find(&fence).expect("a fenced block") + fence.len();
    let len = text[body..].find("```").expect("a closing fence");
    &text[body..body + len]
}

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).expect("README.md")
}

#[test]
#[cfg_attr(miri, ignore)]
fn tour() {
    let out = run("tour", &[]);
    // The blog's six steps, with the real counts.
    assert_in_order(
        &out,
        &[
            "step 1   a = 10       strong_count = 1\n",
            "step 2   b = a        strong_count = 2\n",
            "step 3   c = b        strong_count = 3\n",
            "step 4   a = 5        strong_count = 2 ",
            "step 5   b = None     strong_count = 1 ",
            "step 6   del c        strong_count = 0   -> freed at once (dropped so far: [10])",
            "\"a reference count of 20\"",
        ],
    );
    // A cycle survives counting, and `collect()` frees it.
    assert_in_order(
        &out,
        &[
            "x -> y -> x      strong counts: x = 2, y = 2",
            "after dropping both handles: nodes dropped = 0, weak.upgrade() is Some: still alive",
            "collect() reclaimed 2 objects: nodes dropped = 2, weak.upgrade() is None: gone",
        ],
    );
    // Automatic collection, freeze, finalizers and weak references.
    assert_in_order(
        &out,
        &[
            "threshold() = (2000, 10, 10)",
            "count() in the middle of the loop = (",
            "stats()[0]: ",
            "tracked_count() = 0\n",
            "freeze(): freeze_count() = 1000, tracked_count() = 0",
            "unfreeze(): freeze_count() = 0, tracked_count() = 1000",
            "dropped them (no cycles): tracked_count() = 0",
            "  finalize(): closing solo\n",
            "a <-> b, and a weak reference to a: upgrade() = Some(\"a\")",
            "finalize(): closing ",
            "finalize(): closing ",
            "collect() reclaimed 2; the weak reference was cleared first: upgrade() = None",
        ],
    );
    // Automatic collections ran: neither 0 nor all of the 30,000 nodes
    // were still waiting when the loop ended.
    let freed_line = out
        .lines()
        .find(|l| l.starts_with("made 15000 garbage cycles"))
        .expect("the automatic collection line");
    assert!(
        !freed_line.ends_with(": 0 nodes freed so far"),
        "{freed_line}"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn doubly_linked_list() {
    let out = run("doubly_linked_list", &[]);
    assert_in_order(
        &out,
        &[
            "built:            [1, 4, 2, 3, 5] (len 5)",
            "removed 4:        [1, 2, 3, 5] (len 4)",
            "backwards:        [5, 3, 2, 1]",
            "strong_count = 3",
            "tracked objects:  4",
            "list dropped:     4 nodes still tracked",
            "collect():        reclaimed 4; tracked objects left: 0",
            "200000 nodes:     sum of values = 19999900000",
            "reclaimed 200000 in ",
            "tracked objects left: 0",
            "no leaks: tracked_count() is back to 0",
        ],
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn graph() {
    let out = run("graph", &["1"]);
    assert_in_order(
        &out,
        &[
            "1000 roots, up to 3 edges per vertex, thresholds (2000, 10, 10), 1 s",
            "second 1: ",
            " live tracked objects after ",
            " by the collector; ",
            " collections (",
            "dropped the roots: collect() reclaimed ",
            "; tracked_count() = 0",
        ],
    );
    // The collector did run automatically, and freed something.
    let line = out
        .lines()
        .find(|l| l.starts_with("second 1: "))
        .expect("the per-second line");
    assert!(!line.contains(" + 0 by the collector"), "{line}");
    assert!(!line.contains("; 0 collections"), "{line}");
}

#[test]
#[cfg_attr(miri, ignore)]
fn interpreter() {
    let out = run("interpreter", &[]);
    assert_in_order(
        &out,
        &[
            ">>> print(gc.is_tracked(s), gc.is_tracked([]))\n    False True",
            ">>> print(l)\n    [1, 'two', [...]]",
            ">>> print(d)\n    {'list': [1, 'two', [...]], 'self': {...}}",
            ">>> print(refcount(l))\n    3",
            ">>> print(a.peer.peer.name)\n    a",
            ">>> print(gc.tracked())\n    4",
            ">>> print(gc.collect())\n",
            "__del__ of Node ",
            "__del__ of Node ",
            "\n    4\n",
            ">>> print(gc.tracked())\n    0",
        ],
    );
    assert!(out.contains("__del__ of Node 'a' (its peer 'b' is still intact)"));
    assert!(out.contains("__del__ of Node 'b' (its peer 'a' is still intact)"));
}

#[test]
#[cfg_attr(miri, ignore)]
fn parent_child() {
    let out = run("parent_child", &[]);
    assert_in_order(
        &out,
        &[
            "== 1. With Rc and Weak (today) ==",
            "path of ok:                 window > dialog > ok",
            "dropped the window, kept ok (say, in a click handler): 4 widgets dropped",
            "path of ok:                 ok   <- its parents are gone",
            "dropped ok too:             5 widgets dropped",
            "dropped both: 0 dropped (leaked for good)",
            "== 2. With Gc: strong parent pointers, no Weak ==",
            "path of ok:                 window > dialog > ok",
            "moved ok to the toolbar:    window > toolbar > ok",
            "dropped the window, kept ok: 0 widgets dropped; path of ok: window > toolbar > ok",
            "dropped ok too:             0 widgets dropped, 5 still tracked",
            "collect():                  reclaimed 5; 5 widgets dropped, 0 still tracked",
        ],
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn leak_hunt() {
    let out = run("leak_hunt", &[]);
    assert_in_order(
        &out,
        &[
            "after batch 1 (200 requests): 402 tracked objects; growth: Request: 201 (+200), Response: 201 (+200)",
            "after batch 3 (200 requests): 1202 tracked objects; growth: Request: 601 (+200), Response: 601 (+200)",
            "referrers(request): [Response #",
            "referents(request): [Response #",
            "path_to(request): None",
            "for contrast, the latest request: path_to = Response #",
            " -> Request #",
            "collect() found 1198 objects of cyclic garbage and kept them: {\"Request\": 599, \"Response\": 599}",
            "which points back to it: true",
            "release_garbage() let go of 1198; collect() then freed 1198",
            "wrote leak.dot: 5 Request <-> Response cycles",
            "collect() = 4",
            "after batch 3 (200 requests): 6 tracked objects; growth: none",
            "upgrade() = None",
        ],
    );
    // The picture: well-formed DOT with the 10 objects and their 10 edges.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-leak_hunt");
    let dot = std::fs::read_to_string(dir.join("leak.dot")).expect("leak.dot was written");
    assert!(dot.starts_with("digraph heap {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    assert_eq!(dot.matches("label=\"Request\\n").count(), 5, "{dot}");
    assert_eq!(dot.matches("label=\"Response\\n").count(), 5, "{dot}");
    assert_eq!(
        dot.matches("tooltip=\"leak_hunt::Request\"").count(),
        5,
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), 10, "{dot}");
    assert_eq!(dot.matches("\\nroot\"").count(), 3, "{dot}");
    // With Graphviz installed, the example renders it too.
    let graphviz = Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if graphviz {
        assert!(out.contains("rendered leak.svg with Graphviz"), "{out}");
        let svg = std::fs::read_to_string(dir.join("leak.svg")).expect("leak.svg was written");
        assert!(svg.contains("<svg"), "{svg}");
    } else {
        assert!(out.contains("Graphviz `dot` is not installed"), "{out}");
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn observer() {
    let out = run("observer", &[]);
    assert_in_order(
        &out,
        &[
            "built \"settings\": 3 widgets, 6 listeners, tracked_count() = 3",
            "clicked ok twice, cancel once: ok.clicks = 2, cancel.clicks = 1",
            "on_close listener:           clicks per button: ok 2, cancel 1",
            "window log:                  ok clicked at (10, 20)",
            "window log:                  ok clicked at (12, 20)",
            "window log:                  cancel clicked at (40, 20)",
            "window log:                  settings closing",
            "strong counts:               window = 4, ok = 4, cancel = 4",
            "dropped the window:          collect() reclaimed 0 ",
            "clicked ok once more:        window log ends with Some(\"ok clicked at (1, 1)\")",
            "dropped ok and cancel too:   0 widgets dropped, 3 still tracked",
            "collect():                   reclaimed 3; 3 widgets dropped, 0 still tracked",
            "weak handle to the window:   upgrade() is None: gone",
        ],
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn work_pool() {
    let out = run("work_pool", &[]);
    assert_in_order(
        &out,
        &[
            "4 workers, 30 rounds; each round, every worker builds a task of 6 nodes",
            "parent links (Weak):     r0.w2.n1 < r0.w2.n0 < project",
            "round 10: collect() while the workers build: freed 72",
            "round 20: collect() while the workers build: freed 96",
            "after the last round: collect() freed 72; an abandoned task is gone: true",
            "dropped the project:     collect() freed 240 (the kept rounds)",
            "nodes created:           721",
            "freed by counting:       241 ",
            "freed by the collector:  480 ",
            "collect() returned 480 in all",
            "longest collection:      stats().max_pause = ",
            "every node was freed exactly once",
        ],
    );
}

// --- The README ----------------------------------------------------------------

#[test]
#[cfg_attr(miri, ignore)]
fn quick_start_is_the_readme_s() {
    let source = std::fs::read_to_string(workspace().join("examples/quick_start.rs"))
        .expect("examples/quick_start.rs");
    let code = &source[source.find("use ").expect("a `use` line")..];
    let readme = readme();
    assert_eq!(
        fenced_block(&readme, "## Quick start", "rust"),
        code,
        "the README's quick start and examples/quick_start.rs (from its first `use`) differ"
    );
    let out = run("quick_start", &[]);
    assert_eq!(out, "a: strong_count = 2\ncollect() freed 2 objects\n");
}

#[test]
#[cfg_attr(miri, ignore)]
fn readme_shows_what_the_tour_prints() {
    let readme = readme();
    assert!(readme.contains("\ncargo run --example tour\n"));
    assert!(readme.contains("\ncargo test --workspace\n"));
    let shown = fenced_block(&readme, "<!-- tour output", "text");
    let lines: Vec<&str> = shown.lines().filter(|l| l.trim() != "...").collect();
    assert!(lines.len() > 5, "the README shows the tour's output");
    let out = run("tour", &[]);
    let with_newlines: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
    let expected: Vec<&str> = with_newlines.iter().map(String::as_str).collect();
    assert_in_order(&out, &expected);
}
