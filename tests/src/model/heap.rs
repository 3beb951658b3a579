//! The real side: nodes, handles, and the event log.

use std::cell::{Cell, OnceCell, RefCell};
use std::panic;
use std::rc::Rc;
use std::sync::Once;

use gc_core::{Finalize, Gc, Trace, Tracer, Weak};

use super::program::{Act, TraceAct};

/// The payload check word of node `id`.
pub(super) fn checksum(id: usize) -> u64 {
    0x5eed_cafe_f00d_d00d ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Where user code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Site {
    Drop,
    Finalize,
    Trace,
}

/// The payload of every injected panic.
pub(super) struct FaultPanic;

/// How a step ended.
#[derive(Clone, Debug)]
pub(super) enum Outcome {
    Returned,
    FaultPanic,
    OtherPanic(String),
}

/// One entry of the log. `id`s are node ids; indices are positions in the
/// roots, stash or weak vectors.
#[derive(Clone, Debug)]
pub(super) enum Ev {
    /// A node value was built (holding clones of `edges`) and is about to go
    /// into `Gc::new`, whose handle counts as one handle outside.
    New {
        id: usize,
        edges: Vec<usize>,
        fin: bool,
        c0: usize,
        enabled: bool,
        t0: usize,
    },
    /// `Gc::new` returned.
    Created(usize),
    /// A filler (a tracked value the model does not follow, allocated only
    /// to make automatic collections run) is about to go into `Gc::new`.
    Filler {
        c0: usize,
        enabled: bool,
        t0: usize,
    },
    /// Its `Gc::new` returned.
    FillerMade,
    /// A handle outside the heap was made by cloning.
    ExtInc(usize),
    /// A handle outside the heap is about to be dropped.
    ExtDec(usize),
    RootPush(usize),
    RootTake(usize),
    StashPush(usize),
    StashPop(usize),
    WeakPush(usize),
    WeakRemove(usize),
    Upgrade {
        idx: usize,
        got: bool,
    },
    Link {
        from: usize,
        to: usize,
    },
    /// An edge was taken out of `from`'s vector; its drop follows at once.
    Unlink {
        from: usize,
        idx: usize,
    },
    /// An edge is about to release its handle.
    EdgeDrop {
        from: usize,
        to: usize,
    },
    /// A cell could not be borrowed (`write`: mutably).
    CellBusy {
        id: usize,
        write: bool,
    },
    BorrowStart {
        id: usize,
        mutable: bool,
    },
    BorrowEnd(usize),
    Lock(usize),
    Unlock(usize),
    UnlockAll,
    Arm {
        id: usize,
        act: TraceAct,
    },
    DisarmAll,
    Freeze,
    Unfreeze,
    Enable,
    Disable,
    SetThreshold(usize, usize, usize),
    SetBudget(usize),
    /// `collect()` (2) or `collect_generation(g)` is about to be called.
    CollectCall(usize),
    /// It returned this (`None`: it panicked).
    CollectRet(Option<usize>),
    /// Collection callback, start.
    CollStart(usize),
    /// Collection callback, stop.
    CollStop {
        generation: usize,
        collected: usize,
        resurrected: usize,
    },
    Finalize(usize),
    /// The node's `trace` was called (by a collection examining it, or by
    /// PEP 442's re-check of the garbage).
    Trace(usize),
    DropStart(usize),
    /// The node's fields are dropped: all its edges are released.
    DropEnd(usize),
    TraceFault {
        id: usize,
        act: TraceAct,
    },
    PanicFired(usize, Site),
    PanicSuppressed(usize, Site),
    /// A check inside user code failed.
    Violation(String),
    OpEnd(Outcome),
}

/// State shared by the nodes of one case (each node holds an `Rc`).
#[derive(Default)]
pub(super) struct Ctx {
    pub(super) log: RefCell<Vec<Ev>>,
    pub(super) next_id: Cell<usize>,
    pub(super) stash: RefCell<Vec<H>>,
    pub(super) locked: RefCell<Vec<bool>>,
    pub(super) armed: RefCell<Vec<Option<TraceAct>>>,
    pub(super) faults_off: Cell<bool>,
    /// A `Weak` to every node that was created, by id.
    pub(super) weak: RefCell<Vec<Option<Weak<Node>>>>,
    pub(super) drops: RefCell<Vec<u32>>,
    pub(super) fins: RefCell<Vec<u32>>,
}

impl Ctx {
    pub(super) fn log(&self, ev: Ev) {
        self.log.borrow_mut().push(ev);
    }
}

pub(super) fn bump(counter: &RefCell<Vec<u32>>, id: usize) {
    let mut v = counter.borrow_mut();
    if v.len() <= id {
        v.resize(id + 1, 0);
    }
    v[id] += 1;
}

pub(super) fn flag(v: &RefCell<Vec<bool>>, id: usize) -> bool {
    v.borrow().get(id).copied().unwrap_or(false)
}

/// The test's node: a payload, edges, and the faults it was given.
pub(super) struct Node {
    pub(super) id: usize,
    pub(super) check: u64,
    pub(super) ctx: Rc<Ctx>,
    pub(super) me: OnceCell<Weak<Node>>,
    pub(super) fin: Option<Act>,
    pub(super) on_drop: Act,
    pub(super) edges: RefCell<Vec<Edge>>,
    /// Dropped last: logs that the edges are released.
    #[expect(dead_code, reason = "held for its drop")]
    pub(super) tail: Tail,
}

/// An edge: logs its release.
pub(super) struct Edge {
    pub(super) from: usize,
    pub(super) to_id: usize,
    pub(super) to: Gc<Node>,
    pub(super) ctx: Rc<Ctx>,
}

pub(super) struct Tail {
    pub(super) id: usize,
    pub(super) ctx: Rc<Ctx>,
}

/// A handle held outside the heap (a root, a stash entry, a temporary).
pub(super) struct H {
    pub(super) id: usize,
    pub(super) ctx: Rc<Ctx>,
    pub(super) g: Gc<Node>,
}

impl H {
    pub(super) fn clone_of(ctx: &Rc<Ctx>, id: usize, g: &Gc<Node>) -> H {
        let g = g.clone();
        ctx.log(Ev::ExtInc(id));
        H {
            id,
            ctx: ctx.clone(),
            g,
        }
    }
}

impl Drop for H {
    fn drop(&mut self) {
        self.ctx.log(Ev::ExtDec(self.id));
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.ctx.log(Ev::EdgeDrop {
            from: self.from,
            to: self.to_id,
        });
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.ctx.log(Ev::DropEnd(self.id));
    }
}

impl Trace for Edge {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.to.trace(tracer);
    }
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.ctx.log(Ev::Trace(self.id));
        let armed = self
            .ctx
            .armed
            .borrow_mut()
            .get_mut(self.id)
            .and_then(Option::take);
        if let Some(act) = armed
            && !self.ctx.faults_off.get()
        {
            self.ctx.log(Ev::TraceFault { id: self.id, act });
            match act {
                TraceAct::Panic => fault_panic(&self.ctx, self.id, Site::Trace),
                TraceAct::Alloc => drop(new_node(&self.ctx, None, Act::Nothing, Vec::new())),
                TraceAct::Collect => do_collect(&self.ctx, None),
            }
        }
        if flag(&self.ctx.locked, self.id) {
            tracer.mark_unreadable();
            return;
        }
        self.edges.trace(tracer);
    }

    fn finalizer(&self) -> Option<&dyn Finalize> {
        if self.fin.is_some() { Some(self) } else { None }
    }
}

impl Finalize for Node {
    fn finalize(&self) {
        self.ctx.log(Ev::Finalize(self.id));
        bump(&self.ctx.fins, self.id);
        self.self_check(Site::Finalize);
        if let Some(act) = self.fin {
            self.act(Site::Finalize, act);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.ctx.log(Ev::DropStart(self.id));
        bump(&self.ctx.drops, self.id);
        self.self_check(Site::Drop);
        self.act(Site::Drop, self.on_drop);
    }
}

impl Node {
    /// Checks, from inside `Drop` or a finalizer, that this value and what
    /// its edges reach are intact (in a finalizer all of it must be: PEP 442;
    /// in a `Drop` of cyclic garbage an edge may be a dead handle).
    pub(super) fn self_check(&self, site: Site) {
        let mut bad = Vec::new();
        if self.check != checksum(self.id) {
            bad.push("its payload is corrupted".to_owned());
        }
        if let Some(w) = self.me.get()
            && let Some(g) = w.upgrade()
        {
            // Dropping it could free the value a second time.
            std::mem::forget(g);
            bad.push("a Weak to itself still upgrades".to_owned());
        }
        match self.edges.try_borrow() {
            Err(_) => bad.push("its own cell is borrowed".to_owned()),
            Ok(edges) => {
                for e in edges.iter() {
                    match Gc::try_deref(&e.to) {
                        Some(t) if t.id == e.to_id && t.check == checksum(t.id) => {}
                        Some(_) => bad.push(format!("edge to node {} is corrupted", e.to_id)),
                        None if !Gc::is_dead(&e.to) => {
                            bad.push(format!("try_deref of node {} failed", e.to_id));
                        }
                        None if site == Site::Finalize => bad.push(format!(
                            "its edge to node {} is a dead handle in a finalizer",
                            e.to_id
                        )),
                        None => {}
                    }
                }
            }
        }
        for b in bad {
            self.ctx
                .log(Ev::Violation(format!("node {} in {site:?}: {b}", self.id)));
        }
    }

    pub(super) fn act(&self, site: Site, act: Act) {
        let ctx = &self.ctx;
        if ctx.faults_off.get() {
            return;
        }
        match act {
            Act::Nothing => {}
            Act::Panic => fault_panic(ctx, self.id, site),
            Act::Alloc => drop(new_node(ctx, None, Act::Nothing, Vec::new())),
            Act::Garbage => {
                let h = new_node(ctx, None, Act::Nothing, Vec::new());
                link(ctx, &h, &h);
                drop(h);
            }
            Act::Collect => do_collect(ctx, None),
            Act::Stash(k) => {
                let h = match self.edges.try_borrow() {
                    Ok(v) if !v.is_empty() => {
                        let e = &v[usize::from(k) % v.len()];
                        Some(H::clone_of(ctx, e.to_id, &e.to))
                    }
                    _ => None,
                };
                if let Some(h) = h {
                    let id = h.id;
                    ctx.stash.borrow_mut().push(h);
                    ctx.log(Ev::StashPush(id));
                }
            }
        }
    }
}

pub(super) fn fault_panic(ctx: &Ctx, id: usize, site: Site) {
    if std::thread::panicking() {
        ctx.log(Ev::PanicSuppressed(id, site));
    } else {
        ctx.log(Ev::PanicFired(id, site));
        panic::panic_any(FaultPanic);
    }
}

pub(super) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if p.is::<FaultPanic>() {
        "injected fault".to_owned()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// `collect()` (`generation == None`) or `collect_generation(generation)`, logged. A panic
/// is passed on, except the expected one of `collect_generation(3)`.
pub(super) fn do_collect(ctx: &Ctx, generation: Option<usize>) {
    ctx.log(Ev::CollectCall(generation.unwrap_or(2)));
    let r = panic::catch_unwind(|| match generation {
        None => gc_core::collect(),
        Some(g) => gc_core::collect_generation(g),
    });
    match r {
        Ok(n) => ctx.log(Ev::CollectRet(Some(n))),
        Err(p) => {
            ctx.log(Ev::CollectRet(None));
            if generation.is_some_and(|g| g > 2) {
                let msg = panic_message(&*p);
                if !msg.contains("generation must be 0, 1 or 2") {
                    ctx.log(Ev::Violation(format!(
                        "collect_generation(3) panicked with {msg:?}"
                    )));
                }
            } else if std::thread::panicking() {
                ctx.log(Ev::Violation(
                    "a collection run while unwinding panicked".to_owned(),
                ));
            } else {
                panic::resume_unwind(p);
            }
        }
    }
}

/// Allocates a node holding `edges` (handles already cloned).
pub(super) fn new_node(
    ctx: &Rc<Ctx>,
    fin: Option<Act>,
    on_drop: Act,
    edges: Vec<(usize, Gc<Node>)>,
) -> H {
    let id = ctx.next_id.get();
    ctx.next_id.set(id + 1);
    let edge_ids = edges.iter().map(|e| e.0).collect();
    let edges = edges
        .into_iter()
        .map(|(to_id, to)| Edge {
            from: id,
            to_id,
            to,
            ctx: ctx.clone(),
        })
        .collect();
    let c0 = gc_core::count().0;
    let enabled = gc_core::is_enabled();
    let t0 = gc_core::threshold().0;
    let node = Node {
        id,
        check: checksum(id),
        ctx: ctx.clone(),
        me: OnceCell::new(),
        fin,
        on_drop,
        edges: RefCell::new(edges),
        tail: Tail {
            id,
            ctx: ctx.clone(),
        },
    };
    ctx.log(Ev::New {
        id,
        edges: edge_ids,
        fin: fin.is_some(),
        c0,
        enabled,
        t0,
    });
    let g = Gc::new(node);
    ctx.log(Ev::Created(id));
    let _ = g.me.set(Gc::downgrade(&g));
    {
        let mut w = ctx.weak.borrow_mut();
        if w.len() <= id {
            w.resize_with(id + 1, || None);
        }
        w[id] = Some(Gc::downgrade(&g));
    }
    H {
        id,
        ctx: ctx.clone(),
        g,
    }
}

/// A filler: a tracked value (it could hold a `Gc`) that holds nothing and
/// that nothing references, allocated to make automatic collections run.
pub(super) type Filler = Gc<RefCell<Option<Gc<u8>>>>;

/// Allocates a filler, logged.
pub(super) fn new_filler(ctx: &Ctx) -> Filler {
    ctx.log(Ev::Filler {
        c0: gc_core::count().0,
        enabled: gc_core::is_enabled(),
        t0: gc_core::threshold().0,
    });
    let f = Gc::new(RefCell::new(None));
    ctx.log(Ev::FillerMade);
    f
}

pub(super) fn link(ctx: &Rc<Ctx>, from: &H, to: &H) {
    if let Ok(mut v) = from.g.edges.try_borrow_mut() {
        v.push(Edge {
            from: from.id,
            to_id: to.id,
            to: to.g.clone(),
            ctx: ctx.clone(),
        });
        ctx.log(Ev::Link {
            from: from.id,
            to: to.id,
        });
    } else {
        ctx.log(Ev::CellBusy {
            id: from.id,
            write: true,
        });
    }
}

/// Silences the injected panics (and the expected `collect_generation(3)`
/// one); every other panic is reported as usual.
pub(super) fn quiet_injected_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            if p.is::<FaultPanic>() || panic_message(p).contains("generation must be 0, 1 or 2") {
                return;
            }
            default(info);
        }));
    });
}
