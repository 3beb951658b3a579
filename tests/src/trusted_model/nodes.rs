//! The heap side: the three node types (`T`, `B`, `U`), the handles to
//! them, and the log of what user code did, replayed into the model.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::debug::ObjectId;
use gc_core::{Gc, Trace, Tracer, Weak};

use super::PAD;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    T,
    B,
    U,
}

/// What an armed `U` trace does, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum UAct {
    /// Pops its last edge and drops it.
    Pop,
    /// Moves the last edge of the first node its edges lead to that is not
    /// dead (not being examined), has a free cell and an edge, to its own
    /// end.
    Steal,
    /// Allocates a `T` and pushes an edge to it.
    Alloc,
}

/// What happened on the heap, replayed into the model.
#[derive(Debug)]
pub(super) enum Ev {
    /// A node with this id is about to be allocated.
    Created(usize, Kind),
    /// A node's `Drop` ran.
    Dropped(usize),
    /// `U` `.0`'s trace popped its last edge.
    Popped(usize),
    /// `U` `u`'s trace moved the last edge of node `from` to its end.
    Moved { u: usize, from: usize },
    /// `U` `u`'s trace pushed an edge to node `to` (just allocated).
    Pushed { u: usize, to: usize },
}

/// State shared by the nodes of one case.
#[derive(Default)]
pub(super) struct Ctx {
    next_id: Cell<usize>,
    pub(super) events: RefCell<Vec<Ev>>,
    /// Drops by id.
    drops: RefCell<Vec<u32>>,
    /// Each node's `ObjectId`, by id.
    pub(super) addrs: RefCell<Vec<usize>>,
    /// Checks that failed inside user code.
    pub(super) violations: RefCell<Vec<String>>,
}

impl Ctx {
    fn log(&self, ev: Ev) {
        self.events.borrow_mut().push(ev);
    }

    fn violation(&self, what: String) {
        self.violations.borrow_mut().push(what);
    }

    pub(super) fn drops_of(&self, id: usize) -> u32 {
        self.drops.borrow().get(id).copied().unwrap_or(0)
    }
}

/// The payload check word of node `id`.
pub(super) fn checksum(id: usize) -> u64 {
    0x7a5c_0ffe_e15d_ead5 ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A trusted node: derived over std fields (a `Drop` impl and a skipped
/// field do not change that).
#[derive(Trace)]
pub(super) struct T {
    id: usize,
    check: u64,
    edges: RefCell<Vec<Edge>>,
    #[gc(skip)]
    ctx: Rc<Ctx>,
}

/// A trusted node too large for a slab block.
#[derive(Trace)]
pub(super) struct B {
    id: usize,
    check: u64,
    edges: RefCell<Vec<Edge>>,
    #[gc(skip)]
    ctx: Rc<Ctx>,
    pad: [u64; PAD],
}

/// An untrusted node: its `Trace` is written by hand.
pub(super) struct U {
    id: usize,
    check: u64,
    edges: RefCell<Vec<Edge>>,
    pub(super) act: Cell<Option<UAct>>,
    ctx: Rc<Ctx>,
}

/// A handle to a node of any type (an edge, a root, a temporary).
#[derive(Trace, Clone)]
pub(super) enum Edge {
    T(Gc<T>),
    B(Gc<B>),
    U(Gc<U>),
}

pub(super) enum WeakEdge {
    T(Weak<T>),
    B(Weak<B>),
    U(Weak<U>),
}

/// A node's value, read through a handle that is not dead.
pub(super) struct View<'a> {
    pub(super) id: usize,
    pub(super) check: u64,
    pub(super) edges: &'a RefCell<Vec<Edge>>,
}

/// `$body` for the handle `$g` inside `$e`, whatever its node type.
macro_rules! each {
    ($e:expr, $g:ident => $body:expr) => {
        match $e {
            Edge::T($g) => $body,
            Edge::B($g) => $body,
            Edge::U($g) => $body,
        }
    };
}

impl Edge {
    pub(super) fn view(&self) -> Option<View<'_>> {
        each!(self, g => Gc::try_deref(g).map(|n| View {
            id: n.id,
            check: n.check,
            edges: &n.edges,
        }))
    }

    fn addr(&self) -> usize {
        each!(self, g => ObjectId::of(g).as_usize())
    }

    pub(super) fn is_tracked(&self) -> bool {
        each!(self, g => Gc::is_tracked(g))
    }

    pub(super) fn strong_count(&self) -> usize {
        each!(self, g => Gc::strong_count(g))
    }

    pub(super) fn downgrade(&self) -> WeakEdge {
        match self {
            Edge::T(g) => WeakEdge::T(Gc::downgrade(g)),
            Edge::B(g) => WeakEdge::B(Gc::downgrade(g)),
            Edge::U(g) => WeakEdge::U(Gc::downgrade(g)),
        }
    }
}

impl WeakEdge {
    pub(super) fn upgrade(&self) -> Option<Edge> {
        match self {
            WeakEdge::T(w) => w.upgrade().map(Edge::T),
            WeakEdge::B(w) => w.upgrade().map(Edge::B),
            WeakEdge::U(w) => w.upgrade().map(Edge::U),
        }
    }

    pub(super) fn strong_count(&self) -> usize {
        match self {
            WeakEdge::T(w) => w.strong_count(),
            WeakEdge::B(w) => w.strong_count(),
            WeakEdge::U(w) => w.strong_count(),
        }
    }
}

impl Trace for U {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(act) = self.act.take() {
            self.act(act);
        }
        self.edges.trace(tracer);
    }
}

impl U {
    fn act(&self, act: UAct) {
        match act {
            UAct::Pop => {
                let e = self.edges.borrow_mut().pop();
                if e.is_some() {
                    self.ctx.log(Ev::Popped(self.id));
                }
                drop(e);
            }
            UAct::Steal => {
                let stolen = {
                    let mine = self.edges.borrow();
                    mine.iter().filter_map(Edge::view).find_map(|v| {
                        let e = v.edges.try_borrow_mut().ok()?.pop()?;
                        Some((v.id, e))
                    })
                };
                if let Some((from, e)) = stolen {
                    self.ctx.log(Ev::Moved { u: self.id, from });
                    self.edges.borrow_mut().push(e);
                }
            }
            UAct::Alloc => {
                let (to, e) = new_node(&self.ctx, Kind::T);
                self.ctx.log(Ev::Pushed { u: self.id, to });
                self.edges.borrow_mut().push(e);
            }
        }
    }
}

/// Every node's `Drop`: counts it, and checks the value and its edges: an
/// edge is a dead handle (garbage dropped together) or leads to an intact
/// node not dropped.
fn on_drop(ctx: &Ctx, id: usize, check: u64, edges: &[Edge]) {
    if check != checksum(id) {
        ctx.violation(format!(
            "node {id}'s payload was corrupted when it was dropped"
        ));
    }
    let n = {
        let mut d = ctx.drops.borrow_mut();
        if d.len() <= id {
            d.resize(id + 1, 0);
        }
        d[id] += 1;
        d[id]
    };
    if n > 1 {
        ctx.violation(format!("node {id} was dropped {n} times"));
    }
    for e in edges {
        if let Some(v) = e.view()
            && (v.check != checksum(v.id) || ctx.drops_of(v.id) != 0)
        {
            ctx.violation(format!(
                "node {id}, dropped, holds a live handle to node {}, which was dropped or is \
                 corrupted",
                v.id
            ));
        }
    }
    ctx.log(Ev::Dropped(id));
}

impl Drop for T {
    fn drop(&mut self) {
        on_drop(&self.ctx, self.id, self.check, self.edges.get_mut());
    }
}

impl Drop for B {
    fn drop(&mut self) {
        on_drop(&self.ctx, self.id, self.check, self.edges.get_mut());
    }
}

impl Drop for U {
    fn drop(&mut self) {
        on_drop(&self.ctx, self.id, self.check, self.edges.get_mut());
    }
}

/// Allocates a node of `kind` with no edges.
pub(super) fn new_node(ctx: &Rc<Ctx>, kind: Kind) -> (usize, Edge) {
    let id = ctx.next_id.get();
    ctx.next_id.set(id + 1);
    ctx.log(Ev::Created(id, kind));
    let (check, edges, ctx2) = (checksum(id), RefCell::new(Vec::new()), ctx.clone());
    let e = match kind {
        Kind::T => Edge::T(Gc::new(T {
            id,
            check,
            edges,
            ctx: ctx2,
        })),
        Kind::B => Edge::B(Gc::new(B {
            id,
            check,
            edges,
            ctx: ctx2,
            pad: [0; PAD],
        })),
        Kind::U => Edge::U(Gc::new(U {
            id,
            check,
            edges,
            act: Cell::new(None),
            ctx: ctx2,
        })),
    };
    let mut a = ctx.addrs.borrow_mut();
    if a.len() <= id {
        a.resize(id + 1, 0);
    }
    a[id] = e.addr();
    (id, e)
}

/// Whether each node type is trusted, as `(name, trusted)` for `T`, `B`,
/// `Edge` and `U`: what the hidden method the collector asks when it
/// allocates says, with the budget it uses.
#[must_use]
pub fn node_types_trusted() -> [(&'static str, bool); 4] {
    [
        ("T", <T as Trace>::__gc_trusted(&mut 64).is_some()),
        ("B", <B as Trace>::__gc_trusted(&mut 64).is_some()),
        ("Edge", <Edge as Trace>::__gc_trusted(&mut 64).is_some()),
        ("U", <U as Trace>::__gc_trusted(&mut 64).is_some()),
    ]
}
