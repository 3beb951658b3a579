//! Graphviz DOT pictures of the tracked heap (objgraph's `show_refs` and
//! `show_backrefs`), and the short type names they are labelled with.

use core::fmt;
use std::collections::HashSet;

use super::ObjectId;
use super::graph::Graph;
use crate::Gc;
use crate::collector::heap::with_heap;

/// Which part of the heap a DOT picture shows.
#[derive(Clone, Copy)]
enum View {
    All,
    From(usize),
    To(usize),
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Which nodes of `g` a view shows.
fn visible(g: &Graph, view: View) -> Vec<bool> {
    let n = g.pinned.0.len();
    let mut seen = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    match view {
        View::All => return vec![true; n],
        View::From(addr) => {
            if let Some(&s) = g.index.get(&addr) {
                seen[s] = true;
                stack.push(s);
            }
            while let Some(i) = stack.pop() {
                for j in g.successors(i) {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        View::To(addr) => {
            let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
            for i in 0..n {
                for j in g.successors(i) {
                    preds[j].push(i);
                }
            }
            if let Some(&t) = g.index.get(&addr) {
                seen[t] = true;
                stack.push(t);
            } else {
                // An untracked target: start from its referrers.
                for (i, e) in g.edges.iter().enumerate() {
                    if e.untracked().any(|l| l.id.0 == addr) {
                        seen[i] = true;
                        stack.push(i);
                    }
                }
            }
            while let Some(i) = stack.pop() {
                for &p in &preds[i] {
                    if !seen[p] {
                        seen[p] = true;
                        stack.push(p);
                    }
                }
            }
        }
    }
    seen
}

fn dot(view: View) -> String {
    use fmt::Write as _;
    let ignore = match view {
        View::All => None,
        View::From(a) | View::To(a) => Some(a),
    };
    with_heap(|h| {
        let g = Graph::build(h, ignore);
        let saved: HashSet<usize> = h.saved.to_vec().iter().map(|o| o.box_addr()).collect();
        let show = visible(&g, view);
        let shown = || (0..show.len()).filter(|&i| show[i]);
        let mut out = String::from(
            "digraph heap {\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n",
        );
        for i in shown() {
            let info = g.info(i);
            let mut attrs = String::new();
            if g.roots[i] {
                attrs.push_str(", penwidth=2, color=\"#1f5fbf\", peripheries=2");
            }
            if saved.contains(&info.id.0) {
                attrs.push_str(", style=filled, fillcolor=\"#f4b4b4\"");
            }
            let _ = writeln!(
                out,
                "  \"o{:x}\" [label=\"{}\\n{} (strong {}){}\", tooltip=\"{}\"{}];",
                info.id.0,
                escape(&short_type_name(info.type_name)),
                info.id,
                info.strong_count,
                if g.roots[i] { "\\nroot" } else { "" },
                escape(info.type_name),
                attrs
            );
        }
        let mut extra: HashSet<usize> = HashSet::new();
        for i in shown() {
            let from = g.pinned.0[i].box_addr();
            for t in g.edges[i].tracked() {
                let to = t.id.0;
                if g.index.get(&to).is_some_and(|&j| !show[j]) {
                    continue;
                }
                let _ = writeln!(out, "  \"o{from:x}\" -> \"o{to:x}\";");
                if !g.index.contains_key(&to) && extra.insert(to) {
                    let _ = writeln!(
                        out,
                        "  \"o{to:x}\" [label=\"{}\\n#{to:x} (outside the scan)\", style=dashed];",
                        escape(&short_type_name(t.type_name))
                    );
                }
            }
            for leaf in g.edges[i].untracked() {
                let (addr, strong) = (leaf.id.0, leaf.strong_count);
                if extra.insert(addr) {
                    let _ = writeln!(
                        out,
                        "  \"o{addr:x}\" [label=\"{}\\n#{addr:x} (strong {strong}, untracked)\", shape=ellipse, color=gray];",
                        escape(&short_type_name(leaf.type_name))
                    );
                }
                let _ = writeln!(out, "  \"o{from:x}\" -> \"o{addr:x}\" [color=gray];");
            }
        }
        out.push_str("}\n");
        out
    })
}

/// A Graphviz DOT picture of the whole tracked heap (generations 0–2):
/// nodes are labelled with type name, id and strong count; objects referenced
/// from outside (roots) have a double blue border; garbage kept by
/// [`DebugFlags::SAVE_ALL`] is filled red; untracked objects they point to
/// are grey ellipses. Render it with `dot -Tsvg`.
///
/// [`DebugFlags::SAVE_ALL`]: super::DebugFlags::SAVE_ALL
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^28 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let a = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// let text = debug::dot_heap();
/// assert!(text.starts_with("digraph heap {"));
/// assert!(text.contains(&format!("\"o{:x}\"", debug::ObjectId::of(&a).as_usize())));
/// ```
#[must_use]
pub fn dot_heap() -> String {
    dot(View::All)
}

/// A DOT picture of the part of the tracked heap reachable from `gc`'s
/// object (see [`dot_heap`] for the notation).
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^28 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let inner = Gc::new(RefCell::new(Vec::<Gc<i32>>::new()));
/// let outer = Gc::new(RefCell::new(vec![inner.clone()]));
/// let text = debug::dot_from(&outer);
/// let edge = format!(
///     "\"o{:x}\" -> \"o{:x}\"",
///     debug::ObjectId::of(&outer).as_usize(),
///     debug::ObjectId::of(&inner).as_usize()
/// );
/// assert!(text.contains(&edge));
/// ```
#[must_use]
pub fn dot_from<T: ?Sized>(gc: &Gc<T>) -> String {
    dot(View::From(ObjectId::of(gc).0))
}

/// A DOT picture of the objects whose references lead to `gc`'s object:
/// what keeps it alive (see [`dot_heap`] for the notation).
///
/// # Panics
///
/// Panics if a tracked object already has the most strong handles it can
/// have (`2^28 - 2`, see [`Gc::clone`](Gc#method.clone)): the scan holds one
/// count on each object while it runs. Every count is left as it was.
///
/// # Examples
///
/// ```
/// use gc_core::{debug, Gc};
/// use std::cell::RefCell;
///
/// let x = Gc::new(RefCell::new(Vec::<Gc<i32>>::new()));
/// let holder = Gc::new(RefCell::new(vec![x.clone()]));
/// let text = debug::dot_to(&x);
/// assert!(text.contains(&format!("o{:x}", debug::ObjectId::of(&holder).as_usize())));
/// ```
#[must_use]
pub fn dot_to<T: ?Sized>(gc: &Gc<T>) -> String {
    dot(View::To(ObjectId::of(gc).0))
}

/// `std::any::type_name` without module paths:
/// `core::cell::RefCell<alloc::vec::Vec<app::Node>>` becomes
/// `RefCell<Vec<Node>>`. Used for the labels of the DOT pictures.
///
/// # Examples
///
/// ```
/// use gc_core::debug::short_type_name;
/// assert_eq!(
///     short_type_name("core::cell::RefCell<alloc::vec::Vec<app::Node>>"),
///     "RefCell<Vec<Node>>"
/// );
/// assert_eq!(short_type_name("(i32, &str)"), "(i32, &str)");
/// ```
#[must_use]
pub fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a path segment: keep only the last one
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}
