//! Heap introspection on known graphs. Each test runs on a fresh thread, so
//! it sees a fresh heap.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, HashSet};

use super::{
    DebugFlags, ObjectId, Scope, census, debug_flags, dot_from, dot_heap, dot_to, garbage, growth,
    objects, objects_of, path_to, referents, referrers, release_garbage, set_debug,
    short_type_name,
};
use crate::{Gc, Trace, Tracer, collect, collect_generation, freeze, unfreeze};

fn fresh(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(f).join().expect("test thread");
}

struct Node {
    name: &'static str,
    edges: RefCell<Vec<Gc<Node>>>,
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.edges.trace(tracer);
    }
}

fn node(name: &'static str) -> Gc<Node> {
    Gc::new(Node {
        name,
        edges: RefCell::new(Vec::new()),
    })
}

fn link(a: &Gc<Node>, b: &Gc<Node>) {
    a.edges.borrow_mut().push(b.clone());
}

struct Other(RefCell<Option<Gc<Node>>>);

impl Trace for Other {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
}

fn ids(v: &[super::ObjectInfo]) -> BTreeSet<ObjectId> {
    v.iter().map(|o| o.id).collect()
}

#[test]
fn census_counts_exactly() {
    fresh(|| {
        let nodes: Vec<_> = (0..5).map(|_| node("n")).collect();
        let others: Vec<_> = (0..2).map(|_| Gc::new(Other(RefCell::new(None)))).collect();
        let _leaf = Gc::new(7_u64); // untracked: not in the census
        let c = census(Scope::All);
        assert_eq!(c.len(), 2);
        assert!(c[0].type_name.ends_with("Node"));
        assert_eq!((c[0].count, c[1].count), (5, 2));
        assert!(c[1].type_name.ends_with("Other"));
        assert_eq!(c[0].bytes, 5 * (c[0].bytes / 5));
        assert!(c[0].bytes / 5 >= core::mem::size_of::<Node>() + 16);
        // By generation: all young; after a young collection, all in gen 1.
        assert_eq!(
            census(Scope::Generation(0))
                .iter()
                .map(|e| e.count)
                .sum::<usize>(),
            7
        );
        collect_generation(0);
        assert!(census(Scope::Generation(0)).is_empty());
        assert_eq!(
            census(Scope::Generation(1))
                .iter()
                .map(|e| e.count)
                .sum::<usize>(),
            7
        );
        freeze();
        assert!(census(Scope::All).is_empty());
        assert_eq!(
            census(Scope::Frozen).iter().map(|e| e.count).sum::<usize>(),
            7
        );
        assert_eq!(objects(Scope::Frozen).len(), 7);
        unfreeze();
        drop((nodes, others));
        assert!(census(Scope::All).is_empty());
    });
}

#[test]
fn referents_and_referrers_exact_sets() {
    fresh(|| {
        let a = node("a");
        let b = node("b");
        let c = node("c");
        let leaf = Gc::new(String::from("leaf"));
        link(&a, &b);
        link(&a, &c);
        link(&b, &c);
        link(&c, &a);
        let holder = Gc::new(RefCell::new(vec![leaf.clone()]));
        let id = ObjectId::of;
        assert_eq!(ids(&referents(&a)), BTreeSet::from([id(&b), id(&c)]));
        assert_eq!(ids(&referents(&c)), BTreeSet::from([id(&a)]));
        assert_eq!(ids(&referrers(&c)), BTreeSet::from([id(&a), id(&b)]));
        assert_eq!(ids(&referrers(&a)), BTreeSet::from([id(&c)]));
        // Untracked objects are reported too.
        let r = referents(&holder);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].id, ObjectId::of(&leaf));
        assert!(!r[0].tracked);
        assert_eq!(r[0].strong_count, 2);
        assert!(r[0].type_name.contains("String"));
        assert_eq!(
            ids(&referrers(&leaf)),
            BTreeSet::from([ObjectId::of(&holder)])
        );
        // Counts reported do not include the scan's own.
        let who = referrers(&b);
        assert_eq!(who.len(), 1);
        assert_eq!(who[0].strong_count, Gc::strong_count(&a));
        for x in [&a, &b, &c] {
            x.edges.borrow_mut().clear();
        }
    });
}

#[test]
fn path_to_finds_the_shortest_chain() {
    fresh(|| {
        // root -> x -> y -> target, and root -> z -> target (shorter).
        let root = node("root");
        let x = node("x");
        let y = node("y");
        let z = node("z");
        let target = node("target");
        link(&root, &x);
        link(&x, &y);
        link(&y, &target);
        link(&root, &z);
        link(&z, &target);
        let expect = vec![ObjectId::of(&root), ObjectId::of(&z), ObjectId::of(&target)];
        drop((x, y, z));
        let path = path_to(&target).unwrap();
        assert_eq!(path.iter().map(|o| o.id).collect::<Vec<_>>(), expect);
        assert_eq!(path[1].type_name, core::any::type_name::<Node>());
        // Held directly from outside: the chain is the object alone.
        let again = target.clone();
        assert_eq!(path_to(&target).unwrap().len(), 1);
        drop(again);
        // Garbage kept only by our handle: no chain.
        root.edges.borrow_mut().clear();
        let lonely = node("lonely");
        link(&lonely, &lonely);
        assert!(path_to(&lonely).is_none());
        lonely.edges.borrow_mut().clear();
        drop(target);
    });
}

#[test]
fn path_to_an_untracked_object() {
    fresh(|| {
        let root = Gc::new(RefCell::new(Vec::<Gc<String>>::new()));
        let s = Gc::new(String::from("x"));
        root.borrow_mut().push(s.clone());
        let want = [ObjectId::of(&root), ObjectId::of(&s)];
        let path = path_to(&s).unwrap();
        assert_eq!(path.iter().map(|o| o.id).collect::<Vec<_>>(), want);
        assert!(!path[1].tracked);
    });
}

/// A minimal DOT reader: the graph's node ids, and its edges, checking the
/// statement syntax this module writes.
fn parse_dot(text: &str) -> (HashSet<String>, HashSet<(String, String)>) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("digraph heap {"));
    assert_eq!(text.lines().last(), Some("}"));
    let mut nodes = HashSet::new();
    let mut edges = HashSet::new();
    let quoted = |s: &str| -> (String, usize) {
        assert!(s.starts_with('"'), "a quoted id: {s}");
        let end = s[1..].find('"').expect("closing quote") + 1;
        (s[1..end].to_string(), end + 1)
    };
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line == "}" || line.starts_with("node [") {
            continue;
        }
        assert!(line.ends_with(';'), "statement ends with ';': {line}");
        let (a, rest) = quoted(line);
        let rest = line[rest..].trim_start();
        if let Some(rest) = rest.strip_prefix("->") {
            let (b, _) = quoted(rest.trim_start());
            edges.insert((a, b));
        } else {
            assert!(rest.starts_with('['), "attributes: {line}");
            // Balanced quotes inside the attribute list.
            let unescaped = rest.replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "{line}");
            nodes.insert(a);
        }
    }
    for (a, b) in &edges {
        assert!(
            nodes.contains(a) && nodes.contains(b),
            "edge {a} -> {b} has nodes"
        );
    }
    (nodes, edges)
}

fn dot_id<T: ?Sized>(g: &Gc<T>) -> String {
    format!("o{:x}", ObjectId::of(g).as_usize())
}

#[test]
#[expect(clippy::many_single_char_names, reason = "graph nodes a to d")]
fn dot_pictures_are_well_formed() {
    fresh(|| {
        let a = node("a\"quoted\"");
        let b = node("b");
        let c = node("c");
        let d = node("d");
        link(&a, &b);
        link(&b, &c);
        link(&c, &b);
        link(&d, &c);
        let (nodes, edges) = parse_dot(&dot_heap());
        assert_eq!(nodes, [&a, &b, &c, &d].map(dot_id).into_iter().collect());
        let e = |x: &Gc<Node>, y: &Gc<Node>| (dot_id(x), dot_id(y));
        assert_eq!(
            edges,
            HashSet::from([e(&a, &b), e(&b, &c), e(&c, &b), e(&d, &c)])
        );
        // Reachable from b: b and c only.
        let (nodes, _) = parse_dot(&dot_from(&b));
        assert_eq!(nodes, [&b, &c].map(dot_id).into_iter().collect());
        // Leading to b: a, b, c, d.
        let (nodes, _) = parse_dot(&dot_to(&b));
        assert_eq!(nodes, [&a, &b, &c, &d].map(dot_id).into_iter().collect());
        // Roots are marked: all four are held by locals here.
        assert_eq!(dot_heap().matches("peripheries=2").count(), 4);
        drop(d);
        assert_eq!(dot_heap().matches("peripheries=2").count(), 3);
        for x in [&a, &b, &c] {
            x.edges.borrow_mut().clear();
        }
    });
}

#[test]
fn save_all_keeps_garbage_for_inspection() {
    fresh(|| {
        set_debug(DebugFlags::SAVE_ALL);
        assert_eq!(debug_flags(), DebugFlags::SAVE_ALL);
        let a = node("a");
        let b = node("b");
        link(&a, &b);
        link(&b, &a);
        let w = Gc::downgrade(&a);
        let keep = node("kept");
        drop((a, b));
        assert_eq!(collect(), 2);
        // Python's DEBUG_SAVEALL clears weak references but keeps the objects.
        assert!(w.upgrade().is_none());
        let saved = garbage();
        assert_eq!(saved.len(), 2);
        let mut names: Vec<&str> = saved
            .iter()
            .map(|g| g.downcast::<Node>().unwrap().name)
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b"]);
        assert!(saved[0].downcast::<Other>().is_none());
        assert!(saved.iter().all(super::Garbage::is::<Node>));
        // Saved garbage is drawn filled; our handles from `garbage()` make
        // it a root, the saved list itself does not.
        let text = dot_heap();
        assert_eq!(text.matches("fillcolor").count(), 2);
        assert_eq!(text.matches("peripheries=2").count(), 3);
        parse_dot(&text);
        drop(saved);
        let text = dot_heap();
        assert_eq!(text.matches("fillcolor").count(), 2);
        assert_eq!(text.matches("peripheries=2").count(), 1, "only `keep`");
        // Saved again by the next collection while SAVE_ALL is on.
        assert_eq!(collect(), 0);
        set_debug(DebugFlags::empty());
        assert_eq!(release_garbage(), 2);
        assert_eq!(collect(), 2);
        assert!(garbage().is_empty());
        drop(keep);
    });
}

#[test]
fn census_by_type_is_sorted() {
    fresh(|| {
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        for _ in 0..3 {
            keep.push(Box::new(node("n")));
        }
        for _ in 0..4 {
            keep.push(Box::new(Gc::new(Other(RefCell::new(None)))));
        }
        let c = census(Scope::All);
        let counts: HashMap<&str, usize> = c.iter().map(|e| (e.type_name, e.count)).collect();
        assert_eq!(counts[core::any::type_name::<Other>()], 4);
        assert_eq!(counts[core::any::type_name::<Node>()], 3);
        assert!(c.windows(2).all(|w| w[0].count >= w[1].count));
    });
}

#[test]
fn objects_of_finds_leaked_values_by_type() {
    fresh(|| {
        let a = node("a");
        link(&a, &a);
        let b = node("b");
        let _other = Gc::new(Other(RefCell::new(None)));
        drop(a);
        let mut names: Vec<&str> = objects_of::<Node>(Scope::All)
            .iter()
            .map(|n| n.name)
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(objects_of::<Other>(Scope::All).len(), 1);
        assert!(objects_of::<String>(Scope::All).is_empty());
        // The handles are real: the leaked cycle can be broken through one.
        for n in objects_of::<Node>(Scope::All) {
            n.edges.borrow_mut().clear();
        }
        assert_eq!(
            collect(),
            0,
            "`a` was freed by counting once its self-edge went"
        );
        assert_eq!(objects_of::<Node>(Scope::All).len(), 1);
        drop(b);
    });
}

#[test]
fn growth_reports_changes_by_type() {
    fresh(|| {
        let keep: Vec<_> = (0..2).map(|_| Gc::new(Other(RefCell::new(None)))).collect();
        let before = census(Scope::All);
        let more: Vec<_> = (0..5).map(|_| node("n")).collect();
        drop(keep);
        let g = growth(&before, Scope::All);
        assert_eq!(g.len(), 2);
        assert!(g[0].type_name.ends_with("Node"));
        assert_eq!((g[0].count, g[0].delta), (5, 5));
        assert!(g[1].type_name.ends_with("Other"));
        assert_eq!((g[1].count, g[1].delta), (0, -2));
        drop(more);
    });
}

#[test]
fn short_names() {
    assert_eq!(short_type_name("a::b::C<d::E, f::G<h::I>>"), "C<E, G<I>>");
    assert_eq!(short_type_name("[std::string::String; 3]"), "[String; 3]");
    assert_eq!(short_type_name("dyn app::Shape"), "dyn Shape");
}

#[test]
fn pictures_of_one_object_do_not_count_the_callers_handle() {
    fresh(|| {
        let a = node("a");
        let b = node("b");
        link(&a, &b);
        let id_b = dot_id(&b);
        // `b` is held only through `a` and the handle we pass.
        let text = dot_to(&b);
        let b_line = text
            .lines()
            .find(|l| l.contains(&format!("\"{id_b}\" [")))
            .unwrap();
        assert!(!b_line.contains("peripheries=2"), "{b_line}");
        assert!(dot_from(&b).lines().any(|l| l.contains(&id_b)));
        a.edges.borrow_mut().clear();
    });
}

/// Reports the handle it holds the first time, and drops it (the last one)
/// while tracing the second time. (Reporting a handle it then drops does
/// not compile: a reported handle is borrowed for the whole trace.)
struct Dropper(RefCell<Option<Gc<Node>>>, Cell<bool>);

impl Trace for Dropper {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if self.1.replace(true) {
            if let Ok(mut slot) = self.0.try_borrow_mut() {
                drop(slot.take());
            }
        } else {
            self.0.trace(tracer);
        }
    }
}

/// Makes a tracked object and drops it while tracing.
struct Maker;

impl Trace for Maker {
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {
        drop(node("made"));
    }
}

#[test]
fn scans_survive_traces_that_free_what_they_report() {
    fresh(|| {
        let d = Gc::new(Dropper(
            RefCell::new(Some(node("dropped"))),
            Cell::new(false),
        ));
        let r = referents(&d);
        assert_eq!(r.len(), 1);
        assert_eq!(short_type_name(r[0].type_name), "Node");
        assert_eq!(r[0].strong_count, 1);
        assert!(referents(&d).is_empty(), "dropped by the second trace");
        assert!(d.0.borrow().is_none());

        let holder = Gc::new(RefCell::new(vec![Gc::new(Maker)]));
        let dot = dot_heap();
        assert!(dot.contains(&ObjectId::of(&holder).to_string()), "{dot}");
        assert!(!dot_from(&holder).is_empty());
        drop(holder);
    });
}
