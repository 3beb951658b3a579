//! Model-based property test of the heap, with fault injection (issue 5).
//!
//! Random programs drive one thread's heap: allocate nodes, link and unlink
//! them, drop handles, take, upgrade and drop `Weak`s, hold `RefCell` borrows
//! across collections, collect all or some generations, freeze and unfreeze,
//! turn automatic collection on and off, and set small thresholds so that
//! automatic collections really run. A plain model (a graph of nodes, the
//! handles held outside the heap, the edges between nodes) predicts what the
//! heap must do, and the two are compared after every step.
//!
//! # How the model follows the heap
//!
//! Every handle the test creates or drops, every edge, and every call into
//! user code (`Drop`, `Finalize::finalize`, `Trace::trace`, the collection
//! callbacks) appends an event to a log. After each step the model replays
//! the log and checks each event against its own bookkeeping. The model takes
//! from the log only what the implementation is free to choose: the *order*
//! in which values are dropped, and *when* an automatic collection runs and
//! which generation it takes (both checked against CPython's rules).
//! Everything else it computes itself:
//!
//! - reference counts (handles outside plus edges), so a value may be
//!   dropped by counting only when its count is zero, and must be by the end
//!   of the step;
//! - for each collection, the examined set (the generations asked for, minus
//!   frozen objects) and the garbage, by trial deletion over the model graph
//!   (a borrowed cell or a locked node keeps its owner alive);
//! - PEP 442: weak references to all garbage are cleared first (a `Weak`
//!   made before stays cleared for good, even if its object is resurrected;
//!   one made after a resurrection works), every garbage finalizer runs once
//!   before any garbage is dropped, what a finalizer resurrected (and all it
//!   reaches) survives, the rest is dropped exactly once; `collect()`'s
//!   return value and the callback's `collected` and `resurrected` equal the
//!   model's numbers;
//! - generations: survivors move one generation up; new objects start in 0.
//!
//! After every step the model and the heap must agree on: every node alive
//! or dropped (drop and finalizer counters, each at most once), every strong
//! count (`Weak::strong_count`), `Weak::upgrade` of every node, the contents
//! of every reachable node (payload and edges, in order), dead handles in the
//! stash, `tracked_count()`, `freeze_count()`, `count()`, `threshold()` and
//! `is_enabled()`.
//!
//! # Fault injection
//!
//! In the second property, node `Drop`s and finalizers panic, allocate, create
//! new cyclic garbage, call `collect()`, or store a clone of one of their
//! edges in a global stash (in a finalizer, that resurrects it), and `trace`
//! panics, allocates or calls `collect()`, at points the program chooses.
//! Every panic must reach the step that caused it (none swallowed, none
//! foreign), and afterwards the model and the heap must still agree.
//!
//! Each case runs on a fresh thread, so each has its own heap. Under Miri
//! the cases are fewer and shorter:
//!
//! ```text
//! MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly miri test -p gc-tests --test test_model
//! ```

use std::cell::{Cell, OnceCell, Ref, RefCell, RefMut};
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;

use gc_core::{CallbackId, CollectInfo, Finalize, Gc, Phase, Trace, Tracer, Weak};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::TestCaseError;

// ---------------------------------------------------------------------------
// Sizes.

#[cfg(not(miri))]
const CASES: u32 = 2000;
#[cfg(miri)]
const CASES: u32 = 10;

#[cfg(not(miri))]
const MAX_OPS: usize = 60;
#[cfg(miri)]
const MAX_OPS: usize = 10;

#[cfg(not(miri))]
const MAX_CHAIN: u8 = 40;
#[cfg(miri)]
const MAX_CHAIN: u8 = 5;

// ---------------------------------------------------------------------------
// Programs.

/// What a node's `Drop` or finalizer does after checking itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Nothing,
    /// Panics (unless the thread is already unwinding: that would abort).
    Panic,
    /// Allocates a tracked node and drops it at once.
    Alloc,
    /// Allocates a node that points to itself and drops the handle.
    Garbage,
    /// Calls `collect()`.
    Collect,
    /// Stores a clone of edge `n % len` in the stash (resurrection).
    Stash(u8),
}

/// What an armed `trace` does, the next time it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TraceAct {
    Panic,
    Alloc,
    Collect,
}

/// One step of a program. Numbers select among what exists at that point,
/// counting back from the most recent (modulo the length), so every program
/// is valid and shrinks well; a selection from nothing does nothing.
#[derive(Clone, Debug)]
enum Op {
    /// A new root node with a finalizer (`fin`), a `Drop` action and edges to
    /// the selected roots.
    Alloc {
        fin: Option<Act>,
        drop: Act,
        links: Vec<u8>,
    },
    /// A new root at the head of a list of this many nodes.
    Chain(u8),
    /// A new root in a cycle of `len` nodes, each with this finalizer and
    /// `Drop` action.
    Ring {
        len: u8,
        fin: Option<Act>,
        drop: Act,
    },
    /// An edge from root `.0`'s node to root `.1`'s node.
    Link(u8, u8),
    /// Removes edge `.1` of root `.0`'s node.
    Unlink(u8, u8),
    DropRoot(u8),
    CloneRoot(u8),
    /// Makes edge `.1` of root `.0`'s node a new root.
    Descend(u8, u8),
    TakeWeak(u8),
    DropWeak(u8),
    /// Upgrades weak `.0`; keeps the result as a root if `.1`.
    Upgrade(u8, bool),
    /// Borrows root `root`'s cell (mutably or not) while `body` runs.
    Borrow {
        root: u8,
        mutable: bool,
        body: Vec<Op>,
    },
    /// Makes node `.0` (any node ever made, alive or not) unreadable to
    /// `trace`, as a custom cell that is borrowed does
    /// (`Tracer::mark_unreadable`).
    Lock(u8),
    Unlock(u8),
    /// Arms node `.0`'s `trace` (any node ever made).
    ArmTrace(u8, TraceAct),
    Collect,
    /// `collect_generation(g)`; 3 must panic.
    CollectGen(u8),
    Freeze,
    Unfreeze,
    Enable,
    Disable,
    SetThreshold(u8, u8, u8),
    /// Drops the stash's handles (last first).
    ClearStash,
    /// Makes a clone of stash entry `.0` (if not a dead handle) a new root.
    FromStash(u8),
}

/// A generated case: initial thresholds, then the steps.
#[derive(Clone, Debug)]
struct Program {
    threshold: (u8, u8, u8),
    ops: Vec<Op>,
}

/// Actions for a `Drop` (`fin == false`) or a finalizer: a finalizer more
/// often stashes an edge, which resurrects it when the node is garbage.
fn act_strategy(faults: bool, fin: bool) -> BoxedStrategy<Act> {
    if !faults {
        return Just(Act::Nothing).boxed();
    }
    let (nothing, stash) = if fin { (3, 5) } else { (6, 2) };
    prop_oneof![
        nothing => Just(Act::Nothing),
        2 => Just(Act::Panic),
        1 => Just(Act::Alloc),
        1 => Just(Act::Garbage),
        1 => Just(Act::Collect),
        stash => any::<u8>().prop_map(Act::Stash),
    ]
    .boxed()
}

fn leaf_op(faults: bool) -> BoxedStrategy<Op> {
    let alloc = (
        proptest::option::weighted(0.4, act_strategy(faults, true)),
        act_strategy(faults, false),
        vec(any::<u8>(), 0..3),
    )
        .prop_map(|(fin, drop, links)| Op::Alloc { fin, drop, links });
    let ring = (
        1u8..=4,
        proptest::option::weighted(0.5, act_strategy(faults, true)),
        act_strategy(faults, false),
    )
        .prop_map(|(len, fin, drop)| Op::Ring { len, fin, drop });
    let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
        (10, alloc.boxed()),
        (1, (1..=MAX_CHAIN).prop_map(Op::Chain).boxed()),
        (4, ring.boxed()),
        (
            10,
            any::<(u8, u8)>().prop_map(|(a, b)| Op::Link(a, b)).boxed(),
        ),
        (
            3,
            any::<(u8, u8)>()
                .prop_map(|(a, b)| Op::Unlink(a, b))
                .boxed(),
        ),
        (7, any::<u8>().prop_map(Op::DropRoot).boxed()),
        (1, any::<u8>().prop_map(Op::CloneRoot).boxed()),
        (
            3,
            any::<(u8, u8)>()
                .prop_map(|(a, b)| Op::Descend(a, b))
                .boxed(),
        ),
        (2, any::<u8>().prop_map(Op::TakeWeak).boxed()),
        (1, any::<u8>().prop_map(Op::DropWeak).boxed()),
        (
            2,
            any::<(u8, bool)>()
                .prop_map(|(a, b)| Op::Upgrade(a, b))
                .boxed(),
        ),
        (1, any::<u8>().prop_map(Op::Lock).boxed()),
        (1, any::<u8>().prop_map(Op::Unlock).boxed()),
        (4, Just(Op::Collect).boxed()),
        (3, (0u8..=3).prop_map(Op::CollectGen).boxed()),
        (1, Just(Op::Freeze).boxed()),
        (1, Just(Op::Unfreeze).boxed()),
        (1, Just(Op::Enable).boxed()),
        (1, Just(Op::Disable).boxed()),
        (
            1,
            (0u8..=10, 1u8..=4, 1u8..=4)
                .prop_map(|(a, b, c)| Op::SetThreshold(a, b, c))
                .boxed(),
        ),
        (1, Just(Op::ClearStash).boxed()),
        (2, any::<u8>().prop_map(Op::FromStash).boxed()),
    ];
    if faults {
        let arm = (
            any::<u8>(),
            prop_oneof![
                Just(TraceAct::Panic),
                Just(TraceAct::Alloc),
                Just(TraceAct::Collect),
            ],
        )
            .prop_map(|(n, a)| Op::ArmTrace(n, a));
        ops.push((3, arm.boxed()));
    }
    Union::new_weighted(ops).boxed()
}

fn program(faults: bool) -> impl Strategy<Value = Program> {
    let leaf = leaf_op(faults);
    let borrow =
        (any::<u8>(), any::<bool>(), vec(leaf.clone(), 0..6)).prop_map(|(root, mutable, body)| {
            Op::Borrow {
                root,
                mutable,
                body,
            }
        });
    let op = prop_oneof![25 => leaf, 1 => borrow];
    ((1u8..=10, 1u8..=4, 1u8..=4), vec(op, 1..=MAX_OPS))
        .prop_map(|(threshold, ops)| Program { threshold, ops })
}

// ---------------------------------------------------------------------------
// The real side: nodes, handles, and the event log.

/// The payload check word of node `id`.
fn checksum(id: usize) -> u64 {
    0x5eed_cafe_f00d_d00d ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Where user code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Site {
    Drop,
    Finalize,
    Trace,
}

/// The payload of every injected panic.
struct FaultPanic;

/// How a step ended.
#[derive(Clone, Debug)]
enum Outcome {
    Returned,
    FaultPanic,
    OtherPanic(String),
}

/// One entry of the log. `id`s are node ids; indices are positions in the
/// roots, stash or weak vectors.
#[derive(Clone, Debug)]
enum Ev {
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
struct Ctx {
    log: RefCell<Vec<Ev>>,
    next_id: Cell<usize>,
    stash: RefCell<Vec<H>>,
    locked: RefCell<Vec<bool>>,
    armed: RefCell<Vec<Option<TraceAct>>>,
    faults_off: Cell<bool>,
    /// A `Weak` to every node that was created, by id.
    weak: RefCell<Vec<Option<Weak<Node>>>>,
    drops: RefCell<Vec<u32>>,
    fins: RefCell<Vec<u32>>,
}

impl Ctx {
    fn log(&self, ev: Ev) {
        self.log.borrow_mut().push(ev);
    }
}

fn bump(counter: &RefCell<Vec<u32>>, id: usize) {
    let mut v = counter.borrow_mut();
    if v.len() <= id {
        v.resize(id + 1, 0);
    }
    v[id] += 1;
}

fn flag(v: &RefCell<Vec<bool>>, id: usize) -> bool {
    v.borrow().get(id).copied().unwrap_or(false)
}

/// The test's node: a payload, edges, and the faults it was given.
struct Node {
    id: usize,
    check: u64,
    ctx: Rc<Ctx>,
    me: OnceCell<Weak<Node>>,
    fin: Option<Act>,
    on_drop: Act,
    edges: RefCell<Vec<Edge>>,
    /// Dropped last: logs that the edges are released.
    #[expect(dead_code, reason = "held for its drop")]
    tail: Tail,
}

/// An edge: logs its release.
struct Edge {
    from: usize,
    to_id: usize,
    to: Gc<Node>,
    ctx: Rc<Ctx>,
}

struct Tail {
    id: usize,
    ctx: Rc<Ctx>,
}

/// A handle held outside the heap (a root, a stash entry, a temporary).
struct H {
    id: usize,
    ctx: Rc<Ctx>,
    g: Gc<Node>,
}

impl H {
    fn clone_of(ctx: &Rc<Ctx>, id: usize, g: &Gc<Node>) -> H {
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
    fn self_check(&self, site: Site) {
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

    fn act(&self, site: Site, act: Act) {
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

fn fault_panic(ctx: &Ctx, id: usize, site: Site) {
    if std::thread::panicking() {
        ctx.log(Ev::PanicSuppressed(id, site));
    } else {
        ctx.log(Ev::PanicFired(id, site));
        panic::panic_any(FaultPanic);
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
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
fn do_collect(ctx: &Ctx, generation: Option<usize>) {
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
fn new_node(ctx: &Rc<Ctx>, fin: Option<Act>, on_drop: Act, edges: Vec<(usize, Gc<Node>)>) -> H {
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

fn link(ctx: &Rc<Ctx>, from: &H, to: &H) {
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
fn quiet_injected_panics() {
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

// ---------------------------------------------------------------------------
// The model.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Live,
    Dropping,
    Dropped,
}

/// Generation 3 is the permanent (frozen) one.
const PERM: u8 = 3;

#[derive(Clone, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the model's flags of one node"
)]
struct MNode {
    state: State,
    /// Its value was dropped by the collector: handles to it are dead.
    dead: bool,
    /// Handles outside the heap (roots, stash, temporaries).
    ext: usize,
    /// Edges to it from values not yet dropped.
    incount: usize,
    edges: Vec<usize>,
    generation: u8,
    has_fin: bool,
    finalized: bool,
    /// Found to be garbage by the running collection: no `Weak` upgrades.
    cleared: bool,
    /// How many times it was found to be garbage: a `Weak` made before the
    /// last time never upgrades again, even after a resurrection.
    epoch: u32,
    /// Inside `Gc::new`.
    constructing: bool,
    armed: Option<TraceAct>,
}

/// A `collect()` call in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// `collect_generation(3)`: must panic at once.
    Invalid,
    /// Called during a collection: must return 0 at once.
    Nested,
    /// Must start a collection next.
    Pending,
    Running,
    Done {
        collected: usize,
        panicked: bool,
    },
}

/// A collection in progress.
#[derive(Debug)]
struct Coll {
    generation: usize,
    by_call: bool,
    examined: Vec<usize>,
    in_e: Vec<bool>,
    in_g: Vec<bool>,
    garbage: Vec<usize>,
    /// The garbage if no armed trace panics (one may be suppressed, when
    /// the collection runs while the thread unwinds).
    unless_panic: Vec<usize>,
    /// Garbage finalizers still to run.
    to_finalize: Vec<usize>,
    /// Set once every finalizer ran: what survives the re-check.
    revived: Option<Vec<bool>>,
    armed: Vec<(usize, TraceAct)>,
    panic_armed: bool,
    trace_fired: Vec<(usize, TraceAct)>,
    panicked: bool,
}

#[derive(Debug)]
struct Model {
    nodes: Vec<MNode>,
    roots: Vec<usize>,
    stash: Vec<usize>,
    /// Weak handles: node and the epoch they were made in.
    weaks: Vec<(usize, u32)>,
    limbo: Option<(usize, usize)>,
    borrows: Vec<(usize, bool)>,
    locked: Vec<bool>,
    enabled: bool,
    thresholds: (usize, usize, usize),
    c1: usize,
    c2: usize,
    /// Allocations since the last collection started or `freeze`.
    news: usize,
    coll: Option<Coll>,
    calls: Vec<Call>,
    /// After `New`: whether an automatic collection must start next.
    after_new: Option<(usize, bool)>,
    auto_pending: bool,
    fired: bool,
    history: VecDeque<String>,
    collections: usize,
}

fn err<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

impl Model {
    fn new() -> Self {
        Model {
            nodes: Vec::new(),
            roots: Vec::new(),
            stash: Vec::new(),
            weaks: Vec::new(),
            limbo: None,
            borrows: Vec::new(),
            locked: Vec::new(),
            enabled: true,
            thresholds: (2000, 10, 10),
            c1: 0,
            c2: 0,
            news: 0,
            coll: None,
            calls: Vec::new(),
            after_new: None,
            auto_pending: false,
            fired: false,
            history: VecDeque::new(),
            collections: 0,
        }
    }

    fn count(&self, id: usize) -> usize {
        self.nodes[id].ext + self.nodes[id].incount
    }

    fn node(&self, id: usize) -> Result<&MNode, String> {
        self.nodes
            .get(id)
            .ok_or_else(|| format!("unknown node {id}"))
    }

    fn unreadable(&self, id: usize) -> bool {
        self.locked.get(id).copied().unwrap_or(false)
            || self.borrows.iter().any(|&(b, m)| b == id && m)
    }

    /// Whether a `Weak` to `id` made in `epoch` upgrades.
    fn upgradable(&self, id: usize, epoch: u32) -> bool {
        let n = &self.nodes[id];
        n.state == State::Live && !n.dead && !n.cleared && n.epoch == epoch && self.count(id) > 0
    }

    fn in_g(&self, id: usize) -> bool {
        self.coll
            .as_ref()
            .is_some_and(|c| c.in_g.get(id).copied().unwrap_or(false))
    }

    /// A handle may be cloned from a live value, or (in a `Drop` of cyclic
    /// garbage) from a dead or dying one.
    fn clonable(&self, id: usize) -> Result<(), String> {
        let n = self.node(id)?;
        if (n.state == State::Live && !n.dead) || self.coll.is_some() {
            Ok(())
        } else {
            err(format!("a handle to node {id} was cloned, but it is {n:?}"))
        }
    }

    /// Trial deletion over `set`: the members reachable from outside it.
    fn analyse(&self, set: &[usize]) -> Result<Vec<bool>, String> {
        let n = self.nodes.len();
        let mut in_set = vec![false; n];
        for &i in set {
            in_set[i] = true;
        }
        let mut refs = vec![0_i64; n];
        for &i in set {
            refs[i] = i64::try_from(self.count(i)).unwrap();
        }
        for &i in set {
            if !self.unreadable(i) {
                for &t in &self.nodes[i].edges {
                    if in_set[t] {
                        refs[t] -= 1;
                    }
                }
            }
        }
        let mut reach = vec![false; n];
        let mut stack = Vec::new();
        for &i in set {
            if refs[i] < 0 {
                return err(format!("model: node {i} has more edges than handles"));
            }
            if refs[i] > 0 || self.unreadable(i) {
                reach[i] = true;
                stack.push(i);
            }
        }
        while let Some(i) = stack.pop() {
            for &t in &self.nodes[i].edges {
                if in_set[t] && !reach[t] {
                    reach[t] = true;
                    stack.push(t);
                }
            }
        }
        Ok(reach)
    }

    /// Replays the events logged since the last call.
    fn sync(&mut self, ctx: &Ctx) -> Result<(), String> {
        let events = std::mem::take(&mut *ctx.log.borrow_mut());
        for ev in events {
            self.history.push_back(format!("{ev:?}"));
            if self.history.len() > 80 {
                self.history.pop_front();
            }
            self.event(&ev)?;
        }
        Ok(())
    }

    #[expect(clippy::too_many_lines, reason = "one arm per event")]
    fn event(&mut self, ev: &Ev) -> Result<(), String> {
        if let Some((id, auto)) = self.after_new.take() {
            match ev {
                Ev::CollStart(_) if auto => self.auto_pending = true,
                Ev::Created(c) if *c == id && !auto => {}
                _ if auto => {
                    return err(format!(
                        "allocating node {id} should have run an automatic collection \
                         (count()[0] + 1 > threshold t0 = {}, enabled)",
                        self.thresholds.0
                    ));
                }
                _ => {
                    return err(format!(
                        "allocating node {id} ran something before returning \
                         (no automatic collection was due)"
                    ));
                }
            }
        }
        if self.calls.last() == Some(&Call::Pending) && !matches!(ev, Ev::CollStart(_)) {
            return err("collect() did not start a collection at once");
        }
        match ev {
            Ev::New {
                id,
                edges,
                fin,
                c0,
                enabled,
                t0,
            } => {
                if *id != self.nodes.len() {
                    return err(format!("model: node id {id} out of sequence"));
                }
                if *enabled != self.enabled || *t0 != self.thresholds.0 {
                    return err(format!(
                        "is_enabled() = {enabled}, threshold().0 = {t0}; the model says {}, {}",
                        self.enabled, self.thresholds.0
                    ));
                }
                if *c0 > self.news {
                    return err(format!(
                        "count().0 = {c0}, but only {} tracked objects were allocated \
                         since the last collection",
                        self.news
                    ));
                }
                for &t in edges {
                    self.clonable(t)?;
                    self.nodes[t].incount += 1;
                }
                self.nodes.push(MNode {
                    state: State::Live,
                    dead: false,
                    ext: 1,
                    incount: 0,
                    edges: edges.clone(),
                    generation: 0,
                    has_fin: *fin,
                    finalized: false,
                    cleared: false,
                    epoch: 0,
                    constructing: true,
                    armed: None,
                });
                self.news += 1;
                let auto = self.coll.is_none()
                    && self.enabled
                    && self.thresholds.0 > 0
                    && c0 + 1 > self.thresholds.0;
                self.after_new = Some((*id, auto));
            }
            Ev::Created(id) => {
                let n = &mut self.nodes[*id];
                if !n.constructing || n.state != State::Live {
                    return err(format!("Gc::new returned node {id}, which is {n:?}"));
                }
                n.constructing = false;
            }
            Ev::ExtInc(id) => {
                self.clonable(*id)?;
                self.nodes[*id].ext += 1;
            }
            Ev::ExtDec(id) => {
                let n = &mut self.nodes[*id];
                if n.ext == 0 {
                    return err(format!("model: node {id} has no outside handle to drop"));
                }
                n.ext -= 1;
            }
            Ev::RootPush(id) => self.roots.push(*id),
            Ev::RootTake(i) => {
                self.roots.remove(*i);
            }
            Ev::StashPush(id) => self.stash.push(*id),
            Ev::StashPop(id) => {
                if self.stash.pop() != Some(*id) {
                    return err("model: stash out of step");
                }
            }
            Ev::WeakPush(id) => self.weaks.push((*id, self.nodes[*id].epoch)),
            Ev::WeakRemove(i) => {
                self.weaks.remove(*i);
            }
            Ev::Upgrade { idx, got } => {
                let (id, epoch) = self.weaks[*idx];
                let want = self.upgradable(id, epoch);
                if *got != want {
                    return err(format!(
                        "Weak::upgrade of node {id} gave {}, the model says {} ({:?}, count {})",
                        if *got { "Some" } else { "None" },
                        if want { "Some" } else { "None" },
                        self.nodes[id],
                        self.count(id)
                    ));
                }
                if *got {
                    self.nodes[id].ext += 1;
                }
            }
            Ev::Link { from, to } => {
                self.clonable(*to)?;
                if self.nodes[*from].state != State::Live {
                    return err(format!("linked from node {from}, which is not alive"));
                }
                self.nodes[*from].edges.push(*to);
                self.nodes[*to].incount += 1;
            }
            Ev::Unlink { from, idx } => {
                let edges = &mut self.nodes[*from].edges;
                if *idx >= edges.len() || self.limbo.is_some() {
                    return err(format!("model: unlink {from}[{idx}] out of step"));
                }
                self.limbo = Some((*from, edges.remove(*idx)));
            }
            Ev::EdgeDrop { from, to } => {
                if self.limbo == Some((*from, *to)) {
                    self.limbo = None;
                } else {
                    let n = &mut self.nodes[*from];
                    if n.state != State::Dropping {
                        return err(format!(
                            "an edge {from} -> {to} was released, but node {from} is not being \
                             dropped"
                        ));
                    }
                    let Some(p) = n.edges.iter().position(|&t| t == *to) else {
                        return err(format!("node {from} released an edge to {to} it lacks"));
                    };
                    n.edges.remove(p);
                }
                let t = &mut self.nodes[*to];
                if t.incount == 0 {
                    return err(format!("model: node {to} has no edge to release"));
                }
                t.incount -= 1;
            }
            Ev::CellBusy { id, write } => {
                let busy = self.borrows.iter().any(|&(b, m)| b == *id && (m || *write));
                if !busy {
                    return err(format!("node {id}'s cell was busy, but nothing borrows it"));
                }
            }
            Ev::BorrowStart { id, mutable } => self.borrows.push((*id, *mutable)),
            Ev::BorrowEnd(id) => {
                let Some(p) = self.borrows.iter().rposition(|&(b, _)| b == *id) else {
                    return err("model: borrow out of step");
                };
                self.borrows.remove(p);
            }
            Ev::Lock(id) | Ev::Unlock(id) => {
                if self.locked.len() <= *id {
                    self.locked.resize(id + 1, false);
                }
                self.locked[*id] = matches!(ev, Ev::Lock(_));
            }
            Ev::UnlockAll => self.locked.clear(),
            Ev::Arm { id, act } => self.nodes[*id].armed = Some(*act),
            Ev::DisarmAll => {
                for n in &mut self.nodes {
                    n.armed = None;
                }
            }
            Ev::Freeze => {
                for n in &mut self.nodes {
                    if n.state == State::Live {
                        n.generation = PERM;
                    }
                }
                self.c1 = 0;
                self.c2 = 0;
                self.news = 0;
            }
            Ev::Unfreeze => {
                for n in &mut self.nodes {
                    if n.generation == PERM {
                        n.generation = 2;
                    }
                }
            }
            Ev::Enable => self.enabled = true,
            Ev::Disable => self.enabled = false,
            Ev::SetThreshold(a, b, c) => self.thresholds = (*a, *b, *c),
            Ev::CollectCall(g) => self.calls.push(if *g > 2 {
                Call::Invalid
            } else if self.coll.is_some() {
                Call::Nested
            } else {
                Call::Pending
            }),
            Ev::CollectRet(ret) => {
                let call = self.calls.pop().ok_or("model: collect returned uncalled")?;
                let want = match call {
                    Call::Invalid | Call::Done { panicked: true, .. } => None,
                    Call::Nested => Some(0),
                    Call::Done { collected, .. } => Some(collected),
                    Call::Pending | Call::Running => {
                        return err("collect() returned before its collection stopped");
                    }
                };
                if *ret != want {
                    return err(format!(
                        "collect returned {ret:?} ({call:?}); the model says {want:?}"
                    ));
                }
            }
            Ev::CollStart(g) => self.coll_start(*g)?,
            Ev::CollStop {
                generation,
                collected,
                resurrected,
            } => self.coll_stop(*generation, *collected, *resurrected)?,
            Ev::Finalize(id) => self.finalize(*id)?,
            Ev::DropStart(id) => self.drop_start(*id)?,
            Ev::DropEnd(id) => {
                let n = &mut self.nodes[*id];
                if n.state != State::Dropping || !n.edges.is_empty() {
                    return err(format!("node {id}'s drop ended in state {n:?}"));
                }
                n.state = State::Dropped;
            }
            Ev::TraceFault { id, act } => {
                let Some(c) = self.coll.as_mut() else {
                    return err(format!("node {id} was traced outside a collection"));
                };
                if !c.in_e.get(*id).copied().unwrap_or(false) {
                    return err(format!("node {id} was traced but is not examined"));
                }
                if self.nodes[*id].armed != Some(*act) {
                    return err(format!("model: node {id} was not armed with {act:?}"));
                }
                self.nodes[*id].armed = None;
                c.trace_fired.push((*id, *act));
            }
            Ev::PanicFired(id, site) | Ev::PanicSuppressed(id, site)
                if *id >= self.nodes.len() || (*site == Site::Trace && self.coll.is_none()) =>
            {
                return err(format!(
                    "model: a panic of node {id} in {site:?} out of step"
                ));
            }
            Ev::PanicFired(..) => {
                self.fired = true;
                if let Some(c) = self.coll.as_mut() {
                    c.panicked = true;
                }
            }
            Ev::PanicSuppressed(_, Site::Trace) => {
                // An armed trace ran while the thread unwinds: no panic, the
                // analysis goes on.
                if self.coll.as_ref().is_some_and(|c| c.panic_armed) {
                    self.decide_garbage();
                }
            }
            Ev::PanicSuppressed(..) => {}
            Ev::Violation(msg) => return err(msg.clone()),
            Ev::OpEnd(outcome) => {
                match outcome {
                    Outcome::OtherPanic(msg) => return err(format!("unexpected panic: {msg}")),
                    Outcome::FaultPanic if !self.fired => {
                        return err("a panic surfaced, but no fault fired");
                    }
                    Outcome::Returned if self.fired => {
                        return err("an injected panic was swallowed: the step returned normally");
                    }
                    _ => {}
                }
                self.fired = false;
            }
        }
        Ok(())
    }

    /// Which generation CPython's rule allows an automatic collection to take.
    fn auto_generation_ok(&self, g: usize) -> bool {
        let (_, t1, t2) = self.thresholds;
        let fallback = usize::from(self.c1 > t1);
        g == fallback || (g == 2 && self.c2 > t2)
    }

    fn coll_start(&mut self, g: usize) -> Result<(), String> {
        if self.coll.is_some() {
            return err("a collection started inside a collection");
        }
        let by_call = self.calls.last() == Some(&Call::Pending);
        let auto = std::mem::take(&mut self.auto_pending);
        if by_call {
            *self.calls.last_mut().unwrap() = Call::Running;
        } else if !auto {
            return err("a collection started without a call or an allocation over the threshold");
        } else if !self.auto_generation_ok(g) {
            return err(format!(
                "an automatic collection took generation {g}; counts ({}, {}), thresholds {:?}",
                self.c1, self.c2, self.thresholds
            ));
        }
        self.collections += 1;
        match g {
            0 => self.c1 += 1,
            1 => {
                self.c1 = 0;
                self.c2 += 1;
            }
            _ => {
                self.c1 = 0;
                self.c2 = 0;
            }
        }
        self.news = 0;
        let n = self.nodes.len();
        let examined: Vec<usize> = (0..n)
            .filter(|&i| {
                let m = &self.nodes[i];
                m.state == State::Live && usize::from(m.generation) <= g && self.count(i) > 0
            })
            .collect();
        let mut in_e = vec![false; n];
        for &i in &examined {
            in_e[i] = true;
        }
        let armed: Vec<(usize, TraceAct)> = examined
            .iter()
            .filter_map(|&i| self.nodes[i].armed.map(|a| (i, a)))
            .collect();
        let panic_armed = armed.iter().any(|&(_, a)| a == TraceAct::Panic);
        let reach = self.analyse(&examined)?;
        let unless_panic = examined.iter().copied().filter(|&i| !reach[i]).collect();
        self.coll = Some(Coll {
            generation: g,
            by_call,
            examined,
            in_e,
            in_g: vec![false; n],
            garbage: Vec::new(),
            unless_panic,
            to_finalize: Vec::new(),
            revived: None,
            armed,
            panic_armed,
            trace_fired: Vec::new(),
            panicked: false,
        });
        if !panic_armed {
            self.decide_garbage();
        }
        Ok(())
    }

    /// The analysis completed (no armed trace panicked): the garbage is
    /// found; weak references to it are cleared at once.
    fn decide_garbage(&mut self) {
        let c = self.coll.as_mut().unwrap();
        c.panic_armed = false;
        c.garbage = std::mem::take(&mut c.unless_panic);
        for &i in &c.garbage {
            c.in_g[i] = true;
            let n = &mut self.nodes[i];
            n.cleared = true;
            n.epoch += 1;
            if n.has_fin && !n.finalized {
                c.to_finalize.push(i);
            }
        }
    }

    /// PEP 442's re-check, once every garbage finalizer ran.
    fn recheck(&mut self) -> Result<(), String> {
        let c = self.coll.as_ref().unwrap();
        if c.revived.is_some() {
            return Ok(());
        }
        if !c.to_finalize.is_empty() {
            return err(format!(
                "garbage began to be dropped before the finalizers of {:?} ran",
                c.to_finalize
            ));
        }
        let reach = self.analyse(&c.garbage)?;
        for &i in &c.garbage {
            if reach[i] {
                // Resurrected: `Weak`s made from now on work.
                self.nodes[i].cleared = false;
            }
        }
        self.coll.as_mut().unwrap().revived = Some(reach);
        Ok(())
    }

    fn coll_stop(&mut self, g: usize, collected: usize, resurrected: usize) -> Result<(), String> {
        if self.coll.as_ref().is_none_or(|c| c.generation != g) {
            return err(format!("collection of generation {g} stopped unstarted"));
        }
        self.recheck()?;
        let c = self.coll.take().unwrap();
        let revived = c.revived.as_ref().unwrap();
        let (mut dropped, mut kept) = (0, 0);
        for &i in &c.garbage {
            if revived[i] {
                kept += 1;
            } else if self.nodes[i].state == State::Dropped {
                dropped += 1;
            } else {
                return err(format!(
                    "node {i} is cyclic garbage but was not dropped ({:?})",
                    self.nodes[i]
                ));
            }
        }
        if (collected, resurrected) != (dropped, kept) {
            return err(format!(
                "the collection reports {collected} collected, {resurrected} resurrected; \
                 the model says {dropped}, {kept} (garbage {:?})",
                c.garbage
            ));
        }
        if c.panic_armed {
            // A trace panicked: the analysis stopped there.
            let panics = c
                .trace_fired
                .iter()
                .filter(|&&(_, a)| a == TraceAct::Panic)
                .count();
            if panics != 1 || !c.panicked {
                return err(format!("{panics} armed trace panics fired, not 1"));
            }
        } else if c.trace_fired.len() != c.armed.len() {
            return err(format!(
                "armed traces {:?} of examined nodes, but {:?} fired",
                c.armed, c.trace_fired
            ));
        }
        let target = u8::try_from((g + 1).min(2)).unwrap();
        for &i in &c.examined {
            if self.nodes[i].state == State::Live {
                self.nodes[i].generation = target;
            }
        }
        if c.by_call {
            match self.calls.last_mut() {
                Some(call @ Call::Running) => {
                    *call = Call::Done {
                        collected,
                        panicked: c.panicked,
                    };
                }
                _ => return err("model: collect call out of step"),
            }
        }
        Ok(())
    }

    /// `Gc::new` panicked (its automatic collection passed on a panic) and
    /// dropped the handle it made: no event says so.
    fn release_construction(&mut self, id: usize) {
        let n = &mut self.nodes[id];
        if n.constructing && n.ext == 1 && n.incount == 0 && self.coll.is_none() {
            n.ext = 0;
            n.constructing = false;
        }
    }

    fn finalize(&mut self, id: usize) -> Result<(), String> {
        self.node(id)?;
        if self.in_g(id) {
            let c = self.coll.as_mut().unwrap();
            if c.revived.is_some() {
                return err(format!(
                    "node {id} was finalized after the resurrection check"
                ));
            }
            let Some(p) = c.to_finalize.iter().position(|&i| i == id) else {
                return err(format!(
                    "node {id} was finalized twice, or has no finalizer ({:?})",
                    self.nodes[id]
                ));
            };
            c.to_finalize.remove(p);
        } else {
            self.release_construction(id);
            let n = &self.nodes[id];
            if n.state != State::Live || !n.has_fin || n.finalized || self.count(id) != 0 {
                return err(format!(
                    "node {id} was finalized by counting, but it is {n:?} with count {}",
                    self.count(id)
                ));
            }
        }
        self.nodes[id].finalized = true;
        Ok(())
    }

    fn drop_start(&mut self, id: usize) -> Result<(), String> {
        self.node(id)?;
        if self.in_g(id) {
            self.recheck()?;
            let c = self.coll.as_ref().unwrap();
            if c.revived.as_ref().unwrap()[id] {
                return err(format!(
                    "node {id} was resurrected by a finalizer, but dropped"
                ));
            }
        } else {
            self.release_construction(id);
            if self.count(id) != 0 {
                return err(format!(
                    "node {id} was dropped while {} handles to it remain ({:?})",
                    self.count(id),
                    self.nodes[id]
                ));
            }
            let n = &self.nodes[id];
            if n.has_fin && !n.finalized {
                return err(format!(
                    "node {id} was dropped without running its finalizer"
                ));
            }
        }
        let n = &mut self.nodes[id];
        if n.state != State::Live {
            return err(format!("node {id} was dropped twice ({n:?})"));
        }
        n.state = State::Dropping;
        n.dead = true;
        Ok(())
    }

    /// Between steps: nothing is half done, and nothing waits to be freed.
    fn quiescent(&self) -> Result<(), String> {
        if self.coll.is_some()
            || !self.calls.is_empty()
            || self.limbo.is_some()
            || self.after_new.is_some()
            || self.auto_pending
        {
            return err(format!(
                "a step ended mid-way: collection {:?}, calls {:?}, limbo {:?}",
                self.coll, self.calls, self.limbo
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.constructing {
                return err(format!(
                    "Gc::new of node {i} panicked (its automatic collection passed on a \
                     panic), but the new value was never dropped: it leaked ({n:?})"
                ));
            }
            if n.state == State::Dropping {
                return err(format!("node {i} is still being dropped: {n:?}"));
            }
            if n.state == State::Live && self.count(i) == 0 {
                return err(format!(
                    "node {i} has no handle left but was not dropped (it must be freed at once)"
                ));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Running a program.

struct World {
    ctx: Rc<Ctx>,
    roots: Vec<H>,
    weaks: Vec<(usize, Weak<Node>)>,
    callback: Option<CallbackId>,
}

enum Guard<'a> {
    Mut(#[expect(dead_code, reason = "held for its borrow")] RefMut<'a, Vec<Edge>>),
    Shared(#[expect(dead_code, reason = "held for its borrow")] Ref<'a, Vec<Edge>>),
}

/// Internal steps of the final clean-up.
#[derive(Debug)]
enum Cleanup {
    FaultsOff,
    DropWeaks,
    ClearStash,
    DropRoots,
    Collect,
}

/// Selects among `len` items, counting from the most recent (0), so that
/// removing an unrelated earlier step rarely changes what a step selects.
fn pick(sel: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| len - 1 - usize::from(sel) % len)
}

impl World {
    fn new(ctx: Rc<Ctx>) -> Self {
        let c = ctx.clone();
        let callback = gc_core::add_callback(move |phase, info: &CollectInfo| {
            c.log(match phase {
                Phase::Start => Ev::CollStart(info.generation),
                Phase::Stop => Ev::CollStop {
                    generation: info.generation,
                    collected: info.collected,
                    resurrected: info.resurrected,
                },
            });
        });
        World {
            ctx,
            roots: Vec::new(),
            weaks: Vec::new(),
            callback: Some(callback),
        }
    }

    fn push_root(&mut self, h: H) {
        self.ctx.log(Ev::RootPush(h.id));
        self.roots.push(h);
    }

    /// Runs one step, replays its events, and compares heap and model.
    fn exec(
        &mut self,
        m: &mut Model,
        run: &mut dyn FnMut(&mut World, &mut Model) -> Result<(), String>,
    ) -> Result<(), String> {
        m.sync(&self.ctx)?;
        m.fired = false;
        let r = panic::catch_unwind(AssertUnwindSafe(|| run(self, m)));
        let (outcome, inner) = match r {
            Ok(inner) => (Outcome::Returned, inner),
            Err(p) if p.is::<FaultPanic>() => (Outcome::FaultPanic, Ok(())),
            Err(p) => (Outcome::OtherPanic(panic_message(&*p)), Ok(())),
        };
        self.ctx.log(Ev::OpEnd(outcome));
        inner?;
        m.sync(&self.ctx)?;
        m.quiescent()?;
        self.check(m)
    }

    fn op(&mut self, m: &mut Model, op: &Op) -> Result<(), String> {
        self.exec(m, &mut |w, m| w.apply(m, op))
    }

    #[expect(clippy::too_many_lines, reason = "one arm per step")]
    fn apply(&mut self, model: &mut Model, op: &Op) -> Result<(), String> {
        let ctx = self.ctx.clone();
        let root = |w: &World, sel: u8| pick(sel, w.roots.len());
        let any_node = |sel: u8| pick(sel, ctx.next_id.get());
        match op {
            Op::Alloc { fin, drop, links } => {
                let edges = links
                    .iter()
                    .filter_map(|&s| root(self, s))
                    .map(|i| (self.roots[i].id, self.roots[i].g.clone()))
                    .collect();
                let h = new_node(&ctx, *fin, *drop, edges);
                self.push_root(h);
            }
            Op::Chain(len) => {
                let mut prev: Option<H> = None;
                for _ in 0..*len {
                    let edges = prev.iter().map(|p| (p.id, p.g.clone())).collect();
                    let h = new_node(&ctx, None, Act::Nothing, edges);
                    prev = Some(h);
                }
                if let Some(h) = prev {
                    self.push_root(h);
                }
            }
            Op::Ring {
                len,
                fin,
                drop: on_drop,
            } => {
                let mut ring: Vec<H> = Vec::new();
                for _ in 0..*len {
                    let edges = ring
                        .last()
                        .map(|p| (p.id, p.g.clone()))
                        .into_iter()
                        .collect();
                    ring.push(new_node(&ctx, *fin, *on_drop, edges));
                }
                if let (Some(first), Some(last)) = (ring.first(), ring.last()) {
                    link(&ctx, first, last);
                }
                if let Some(h) = ring.pop() {
                    self.push_root(h);
                }
                drop(ring);
            }
            Op::Link(a, b) => {
                if let (Some(a), Some(b)) = (root(self, *a), root(self, *b)) {
                    link(&ctx, &self.roots[a], &self.roots[b]);
                }
            }
            Op::Unlink(a, idx) => {
                let Some(a) = root(self, *a) else {
                    return Ok(());
                };
                let from = &self.roots[a];
                let edge = match from.g.edges.try_borrow_mut() {
                    Err(_) => {
                        ctx.log(Ev::CellBusy {
                            id: from.id,
                            write: true,
                        });
                        None
                    }
                    Ok(mut v) => pick(*idx, v.len()).map(|j| {
                        let e = v.remove(j);
                        ctx.log(Ev::Unlink {
                            from: from.id,
                            idx: j,
                        });
                        e
                    }),
                };
                drop(edge);
            }
            Op::DropRoot(s) => {
                if let Some(i) = root(self, *s) {
                    let h = self.roots.remove(i);
                    ctx.log(Ev::RootTake(i));
                    drop(h);
                }
            }
            Op::CloneRoot(s) => {
                if let Some(i) = root(self, *s) {
                    let h = H::clone_of(&ctx, self.roots[i].id, &self.roots[i].g);
                    self.push_root(h);
                }
            }
            Op::Descend(s, idx) => {
                let Some(i) = root(self, *s) else {
                    return Ok(());
                };
                let from = &self.roots[i];
                let child = match from.g.edges.try_borrow() {
                    Err(_) => {
                        ctx.log(Ev::CellBusy {
                            id: from.id,
                            write: false,
                        });
                        None
                    }
                    Ok(v) => pick(*idx, v.len()).map(|j| H::clone_of(&ctx, v[j].to_id, &v[j].to)),
                };
                if let Some(h) = child {
                    self.push_root(h);
                }
            }
            Op::TakeWeak(s) => {
                if let Some(i) = root(self, *s) {
                    let id = self.roots[i].id;
                    self.weaks.push((id, Gc::downgrade(&self.roots[i].g)));
                    ctx.log(Ev::WeakPush(id));
                }
            }
            Op::DropWeak(s) => {
                if let Some(i) = pick(*s, self.weaks.len()) {
                    self.weaks.remove(i);
                    ctx.log(Ev::WeakRemove(i));
                }
            }
            Op::Upgrade(s, keep) => {
                if let Some(i) = pick(*s, self.weaks.len()) {
                    let (id, weak) = &self.weaks[i];
                    let id = *id;
                    let upgraded = weak.upgrade();
                    ctx.log(Ev::Upgrade {
                        idx: i,
                        got: upgraded.is_some(),
                    });
                    if let Some(g) = upgraded {
                        let h = H {
                            id,
                            ctx: ctx.clone(),
                            g,
                        };
                        if *keep {
                            self.push_root(h);
                        }
                    }
                }
            }
            Op::Borrow {
                root: s,
                mutable,
                body,
            } => {
                let Some(i) = root(self, *s) else {
                    return Ok(());
                };
                let h = H::clone_of(&ctx, self.roots[i].id, &self.roots[i].g);
                let res = self.borrow_and_run(model, &h, *mutable, body);
                drop(h);
                res?;
            }
            Op::Lock(s) | Op::Unlock(s) => {
                if let Some(id) = any_node(*s) {
                    let lock = matches!(op, Op::Lock(_));
                    {
                        let mut l = ctx.locked.borrow_mut();
                        if l.len() <= id {
                            l.resize(id + 1, false);
                        }
                        l[id] = lock;
                    }
                    ctx.log(if lock { Ev::Lock(id) } else { Ev::Unlock(id) });
                }
            }
            Op::ArmTrace(s, act) => {
                if let Some(id) = any_node(*s) {
                    {
                        let mut a = ctx.armed.borrow_mut();
                        if a.len() <= id {
                            a.resize(id + 1, None);
                        }
                        a[id] = Some(*act);
                    }
                    ctx.log(Ev::Arm { id, act: *act });
                }
            }
            Op::Collect => do_collect(&ctx, None),
            Op::CollectGen(g) => do_collect(&ctx, Some(usize::from(*g))),
            Op::Freeze => {
                gc_core::freeze();
                ctx.log(Ev::Freeze);
            }
            Op::Unfreeze => {
                gc_core::unfreeze();
                ctx.log(Ev::Unfreeze);
            }
            Op::Enable => {
                gc_core::enable();
                ctx.log(Ev::Enable);
            }
            Op::Disable => {
                gc_core::disable();
                ctx.log(Ev::Disable);
            }
            Op::SetThreshold(t0, t1, t2) => {
                let (t0, t1, t2) = (usize::from(*t0), usize::from(*t1), usize::from(*t2));
                gc_core::set_threshold(t0, t1, t2);
                ctx.log(Ev::SetThreshold(t0, t1, t2));
            }
            Op::ClearStash => clear_stash(&ctx),
            Op::FromStash(s) => {
                let h = {
                    let stash = ctx.stash.borrow();
                    pick(*s, stash.len())
                        .map(|i| &stash[i])
                        .filter(|h| !Gc::is_dead(&h.g))
                        .map(|h| H::clone_of(&ctx, h.id, &h.g))
                };
                if let Some(h) = h {
                    self.push_root(h);
                }
            }
        }
        Ok(())
    }

    /// Runs `body` while `h`'s cell is borrowed.
    fn borrow_and_run(
        &mut self,
        m: &mut Model,
        h: &H,
        mutable: bool,
        body: &[Op],
    ) -> Result<(), String> {
        let guard = if mutable {
            h.g.edges.try_borrow_mut().ok().map(Guard::Mut)
        } else {
            h.g.edges.try_borrow().ok().map(Guard::Shared)
        };
        let Some(guard) = guard else {
            self.ctx.log(Ev::CellBusy {
                id: h.id,
                write: mutable,
            });
            return Ok(());
        };
        self.ctx.log(Ev::BorrowStart { id: h.id, mutable });
        let mut res = Ok(());
        for op in body {
            res = self.op(m, op);
            if res.is_err() {
                break;
            }
        }
        self.ctx.log(Ev::BorrowEnd(h.id));
        drop(guard);
        res
    }

    fn cleanup(&mut self, step: &Cleanup) {
        let ctx = self.ctx.clone();
        match step {
            Cleanup::FaultsOff => {
                ctx.faults_off.set(true);
                ctx.armed.borrow_mut().clear();
                ctx.log(Ev::DisarmAll);
                ctx.locked.borrow_mut().clear();
                ctx.log(Ev::UnlockAll);
                gc_core::unfreeze();
                ctx.log(Ev::Unfreeze);
            }
            Cleanup::DropWeaks => {
                while let Some((_, w)) = self.weaks.pop() {
                    ctx.log(Ev::WeakRemove(self.weaks.len()));
                    drop(w);
                }
            }
            Cleanup::ClearStash => clear_stash(&ctx),
            Cleanup::DropRoots => {
                while let Some(h) = self.roots.pop() {
                    ctx.log(Ev::RootTake(self.roots.len()));
                    drop(h);
                }
            }
            Cleanup::Collect => do_collect(&ctx, None),
        }
    }

    /// Compares the heap with the model, between steps.
    fn check(&self, m: &Model) -> Result<(), String> {
        let drops = self.ctx.drops.borrow();
        let fins = self.ctx.fins.borrow();
        let weak = self.ctx.weak.borrow();
        for (id, n) in m.nodes.iter().enumerate() {
            let dropped = n.state == State::Dropped;
            let d = drops.get(id).copied().unwrap_or(0);
            let f = fins.get(id).copied().unwrap_or(0);
            if d != u32::from(dropped) || f != u32::from(n.finalized) {
                return err(format!(
                    "node {id}: dropped {d} times, finalized {f} times; the model says {n:?}"
                ));
            }
            let Some(w) = weak.get(id).and_then(Option::as_ref) else {
                if !dropped {
                    return err(format!("node {id} is alive but its Gc::new never returned"));
                }
                continue;
            };
            if w.strong_count() != m.count(id) {
                return err(format!(
                    "node {id}: strong count {}, the model says {} ({n:?})",
                    w.strong_count(),
                    m.count(id)
                ));
            }
            // This `Weak` was made when the node was created, in epoch 0.
            let up = w.upgrade();
            if up.is_some() != m.upgradable(id, 0) {
                return err(format!(
                    "Weak::upgrade of node {id} (made at its creation) gives {}, the model \
                     says otherwise ({n:?})",
                    if up.is_some() { "Some" } else { "None" }
                ));
            }
        }
        drop((drops, fins, weak));
        let todo = self.check_handles(m)?;
        Self::check_reachable(m, todo)?;
        Self::check_numbers(m)
    }

    /// Every handle outside the heap: roots, stash (possibly dead handles),
    /// weak handles. Returns the live ones, to walk from.
    fn check_handles(&self, m: &Model) -> Result<Vec<(usize, Gc<Node>)>, String> {
        let ids: Vec<usize> = self.roots.iter().map(|h| h.id).collect();
        if ids != m.roots {
            return err(format!("roots {ids:?}, the model has {:?}", m.roots));
        }
        let mut todo: Vec<(usize, Gc<Node>)> =
            self.roots.iter().map(|h| (h.id, h.g.clone())).collect();
        {
            let stash = self.ctx.stash.borrow();
            let ids: Vec<usize> = stash.iter().map(|h| h.id).collect();
            if ids != m.stash {
                return err(format!("stash {ids:?}, the model has {:?}", m.stash));
            }
            for h in stash.iter() {
                let dead = m.nodes[h.id].dead;
                if Gc::is_dead(&h.g) != dead || Gc::try_deref(&h.g).is_some() == dead {
                    return err(format!(
                        "stashed handle to node {} is_dead = {}, the model says {dead}",
                        h.id,
                        Gc::is_dead(&h.g)
                    ));
                }
                if !dead {
                    todo.push((h.id, h.g.clone()));
                }
            }
        }
        let ids: Vec<usize> = self.weaks.iter().map(|w| w.0).collect();
        let want: Vec<usize> = m.weaks.iter().map(|w| w.0).collect();
        if ids != want {
            return err(format!("weaks {ids:?}, the model has {want:?}"));
        }
        for ((id, w), &(_, epoch)) in self.weaks.iter().zip(&m.weaks) {
            if w.upgrade().is_some() != m.upgradable(*id, epoch) {
                return err(format!(
                    "Weak::upgrade of node {id} (made in epoch {epoch}) disagrees with the model \
                     ({:?})",
                    m.nodes[*id]
                ));
            }
        }

        Ok(todo)
    }

    /// Everything reachable from `todo` is alive and intact, with the
    /// model's edges.
    fn check_reachable(m: &Model, mut todo: Vec<(usize, Gc<Node>)>) -> Result<(), String> {
        let mut seen = vec![false; m.nodes.len()];
        while let Some((id, g)) = todo.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            let n = &m.nodes[id];
            if n.state != State::Live || n.dead {
                return err(format!("node {id} is reachable, but the model says {n:?}"));
            }
            let Some(v) = Gc::try_deref(&g) else {
                return err(format!("reachable node {id} is a dead handle"));
            };
            if v.id != id || v.check != checksum(id) {
                return err(format!("reachable node {id}: payload corrupted"));
            }
            if !Gc::is_tracked(&g) {
                return err(format!("reachable node {id} is not tracked"));
            }
            match v.edges.try_borrow() {
                Ok(edges) => {
                    let real: Vec<usize> = edges.iter().map(|e| e.to_id).collect();
                    if real != n.edges {
                        return err(format!(
                            "node {id} has edges {real:?}, the model has {:?}",
                            n.edges
                        ));
                    }
                    for e in edges.iter() {
                        if e.from != id {
                            return err(format!("node {id} holds an edge of node {}", e.from));
                        }
                        match Gc::try_deref(&e.to) {
                            Some(t) if t.id == e.to_id => todo.push((e.to_id, e.to.clone())),
                            _ => {
                                return err(format!(
                                    "edge {id} -> {} does not lead to a live node {}",
                                    e.to_id, e.to_id
                                ));
                            }
                        }
                    }
                }
                Err(_) if m.borrows.iter().any(|&(b, mu)| b == id && mu) => {}
                Err(_) => return err(format!("node {id}'s cell is borrowed, unexpectedly")),
            }
        }

        Ok(())
    }

    /// The collector's own numbers.
    fn check_numbers(m: &Model) -> Result<(), String> {
        let live = |frozen: bool| {
            m.nodes
                .iter()
                .filter(|n| n.state == State::Live && (n.generation == PERM) == frozen)
                .count()
        };
        let got = (gc_core::tracked_count(), gc_core::freeze_count());
        let want = (live(false), live(true));
        if got != want {
            return err(format!(
                "(tracked_count, freeze_count) = {got:?}, the model says {want:?}"
            ));
        }
        let (c0, c1, c2) = gc_core::count();
        if (c1, c2) != (m.c1, m.c2) || c0 > m.news {
            return err(format!(
                "count() = {:?}, the model says (<= {}, {}, {})",
                (c0, c1, c2),
                m.news,
                m.c1,
                m.c2
            ));
        }
        if gc_core::threshold() != m.thresholds || gc_core::is_enabled() != m.enabled {
            return err("threshold() or is_enabled() disagrees with the model");
        }
        Ok(())
    }

    /// Releases everything and checks that it all was dropped exactly once.
    fn finish(&mut self, m: &mut Model) -> Result<(), String> {
        for step in [
            Cleanup::FaultsOff,
            Cleanup::DropWeaks,
            Cleanup::ClearStash,
            Cleanup::DropRoots,
            Cleanup::Collect,
        ] {
            self.exec(m, &mut |w, _| {
                w.cleanup(&step);
                Ok(())
            })
            .map_err(|e| format!("clean-up {step:?}: {e}"))?;
        }
        for (id, n) in m.nodes.iter().enumerate() {
            if n.state != State::Dropped || m.count(id) != 0 {
                return err(format!("node {id} leaked: {n:?}"));
            }
            if n.has_fin != n.finalized {
                return err(format!("node {id} was dropped without its finalizer"));
            }
        }
        if gc_core::tracked_count() != 0 || gc_core::freeze_count() != 0 {
            return err("tracked objects remain after the clean-up");
        }
        Ok(())
    }

    /// After a failure: release what can be, quietly.
    fn abandon(&mut self) {
        self.ctx.faults_off.set(true);
        self.ctx.locked.borrow_mut().clear();
        self.ctx.armed.borrow_mut().clear();
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            gc_core::unfreeze();
            self.weaks.clear();
            clear_stash(&self.ctx);
            self.roots.clear();
            gc_core::collect();
        }));
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(id) = self.callback.take() {
            gc_core::remove_callback(id);
        }
    }
}

fn clear_stash(ctx: &Ctx) {
    loop {
        let h = ctx.stash.borrow_mut().pop();
        let Some(h) = h else { break };
        ctx.log(Ev::StashPop(h.id));
        drop(h);
    }
}

/// Runs `prog` on this thread's (fresh) heap.
fn run_program(prog: &Program) -> Result<(), String> {
    quiet_injected_panics();
    if gc_core::tracked_count() != 0 {
        return err("the case's heap is not empty");
    }
    let ctx = Rc::new(Ctx::default());
    let mut w = World::new(ctx.clone());
    let mut m = Model::new();
    let (t0, t1, t2) = prog.threshold;
    let (t0, t1, t2) = (usize::from(t0), usize::from(t1), usize::from(t2));
    gc_core::set_threshold(t0, t1, t2);
    ctx.log(Ev::SetThreshold(t0, t1, t2));
    let mut res = Ok(());
    let mut steps = prog.ops.len();
    for (i, op) in prog.ops.iter().enumerate() {
        res = w
            .op(&mut m, op)
            .map_err(|e| format!("step {i} {op:?}: {e}"));
        if res.is_err() {
            steps = i + 1;
            break;
        }
    }
    if res.is_ok() {
        res = w.finish(&mut m);
    }
    if let Err(e) = res {
        w.abandon();
        // The steps after the failing one do not matter (proptest's shrinking
        // does not always remove them).
        let program: Vec<String> = prog.ops[..steps]
            .iter()
            .enumerate()
            .map(|(i, op)| format!("{i}: {op:?}"))
            .collect();
        let events: Vec<String> = m.history.iter().cloned().collect();
        return err(format!(
            "{e}\nthresholds {:?}, steps up to the failure:\n  {}\nlast events:\n  {}",
            prog.threshold,
            program.join("\n  "),
            events.join("\n  ")
        ));
    }
    Ok(())
}

fn run_case(prog: &Program) -> Result<(), TestCaseError> {
    let prog = prog.clone();
    let r = std::thread::spawn(move || run_program(&prog)).join();
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(msg)) => Err(TestCaseError::fail(msg)),
        Err(p) => Err(TestCaseError::fail(format!(
            "the case's thread panicked: {}",
            panic_message(&*p)
        ))),
    }
}

/// `GC_MODEL_CASES` overrides the number of cases (longer searches, or a
/// short run under valgrind).
fn config() -> ProptestConfig {
    let cases = std::env::var("GC_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Random programs without faults: the heap agrees with the model.
    #[test]
    fn heap_agrees_with_model(prog in program(false)) {
        run_case(&prog)?;
    }

    /// Random programs whose `Drop`s, finalizers and traces panic, allocate,
    /// resurrect or collect: the heap still agrees with the model.
    #[test]
    fn heap_agrees_with_model_under_faults(prog in program(true)) {
        run_case(&prog)?;
    }
}
