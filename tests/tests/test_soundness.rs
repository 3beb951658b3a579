//! Adversarial `Trace` impls: one test per attack class of issue 14 (see
//! SPEC.md, "Trace" and "Safety"), each liar written in safe code.
//!
//! Every test keeps a reference into a value that must survive (a `&str`
//! borrowed through an outside handle, often a `&'static` one from
//! `Box::leak`) across the collection and reads it afterwards, *before*
//! checking any count: if the collector dropped that value, the read is a
//! use-after-free, which Miri reports (and a native run usually shows as
//! garbage). A lying trace may only make the collector keep too much, make a
//! handle dead or panic.
//!
//! The handles leaked with `Box::leak` are never freed: run these under Miri
//! with `-Zmiri-ignore-leaks`.

use gc_core::debug::{self, DebugFlags, Scope};
use gc_core::{Finalize, Gc, Trace, Tracer, Weak, collect, collect_generation, stats};
use gc_tests::{isolated, message};
use std::cell::{Cell, OnceCell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::RwLock;

// --- helpers -----------------------------------------------------------------

/// A tracked value with a name to borrow.
#[derive(Trace)]
struct Node {
    name: String,
    next: RefCell<Option<Gc<Node>>>,
}

fn node(name: &str) -> Gc<Node> {
    Gc::new(Node {
        name: name.into(),
        next: RefCell::new(None),
    })
}

/// A handle that lives for ever: a `&'static` to it outlives any `'a`.
fn leak<T: ?Sized>(g: Gc<T>) -> &'static Gc<T> {
    Box::leak(Box::new(g))
}

/// Rejected edges over all generations so far.
fn rejected() -> usize {
    stats().iter().map(|s| s.rejected).sum()
}

/// Runs `f`, expecting a panic; returns its message.
fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(p) => message(&*p),
    }
}

/// A garbage self-cycle whose `trace` also reports whatever `extra` returns:
/// the liar of the first three tests.
struct Liar {
    me: RefCell<Option<Gc<Liar>>>,
    extra: fn() -> Option<&'static Gc<Node>>,
}

impl Trace for Liar {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        if let Some(stolen) = (self.extra)() {
            stolen.trace(tracer);
        }
    }
}

/// Makes a `Liar` garbage cycle (no handle left outside).
fn liar(extra: fn() -> Option<&'static Gc<Node>>) -> Weak<Liar> {
    let l = Gc::new(Liar {
        me: RefCell::new(None),
        extra,
    });
    *l.me.borrow_mut() = Some(l.clone());
    Gc::downgrade(&l)
}

// --- a. a handle kept in a thread-local --------------------------------------

thread_local! {
    static IN_TLS: Cell<Option<&'static Gc<Node>>> = const { Cell::new(None) };
}

/// A garbage cycle's trace reports the handle a thread-local points to. The
/// target (a self-cycle kept by that handle) is counted twice if the report
/// is believed, and would be dropped while its name is borrowed.
#[test]
fn a_thread_local_handle_is_not_an_edge() {
    isolated(|| {
        let target = node("kept by a thread-local");
        *target.next.borrow_mut() = Some(target.clone());
        IN_TLS.set(Some(leak(target)));
        let name: &'static str = IN_TLS.with(|h| &h.get().unwrap().name);
        let l = liar(|| IN_TLS.with(Cell::get));
        let before = rejected();

        let n = collect();
        assert_eq!(name, "kept by a thread-local");
        assert_eq!(n, 1, "only the liar is garbage");
        assert!(l.upgrade().is_none());
        assert_eq!(
            rejected() - before,
            1,
            "the thread-local's handle was rejected"
        );
        IN_TLS.with(|h| assert!(!Gc::is_dead(h.get().unwrap())));
        assert_eq!(collect(), 0);
        assert_eq!(name, "kept by a thread-local");
    });
}

// --- b. a handle in a leaked box ---------------------------------------------

/// Reports a `&'static Gc` from a leaked box, the only handle to its target.
struct ReportsLeaked {
    peer: RefCell<Option<Gc<ReportsLeaked>>>,
    stolen: Option<&'static Gc<Node>>,
}

impl Trace for ReportsLeaked {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.peer.trace(tracer);
        if let Some(stolen) = self.stolen {
            stolen.trace(tracer);
        }
    }
}

/// A two-object garbage cycle reports the handle in a leaked box: believed,
/// it would cancel the target's one count and free it under `name`.
#[test]
fn b_a_leaked_box_handle_is_not_an_edge() {
    isolated(|| {
        let held = leak(node("held only by a leaked box"));
        let name: &'static str = &held.name;
        let a = Gc::new(ReportsLeaked {
            peer: RefCell::new(None),
            stolen: Some(held),
        });
        let b = Gc::new(ReportsLeaked {
            peer: RefCell::new(Some(a.clone())),
            stolen: None,
        });
        *a.peer.borrow_mut() = Some(b.clone());
        let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
        drop((a, b));
        let before = rejected();

        let n = collect();
        assert_eq!(name, "held only by a leaked box");
        assert_eq!(n, 2, "the cycle is garbage, its stolen target is not");
        assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
        assert_eq!(rejected() - before, 1);
        assert_eq!(Gc::strong_count(held), 1);
        assert!(!Gc::is_dead(held));
    });
}

// --- c. another object's field, the owner in an older generation --------------

#[derive(Trace)]
struct Owner {
    name: String,
    slot: OnceCell<Gc<Node>>,
}

thread_local! {
    static OLD_FIELD: Cell<Option<&'static Gc<Node>>> = const { Cell::new(None) };
}

/// During a young collection, a young garbage cycle reports the handle in a
/// field of an old object (gen 2, not examined): the handle is outside every
/// young region, so the young target it holds stays.
#[test]
fn c_an_old_objects_field_is_not_a_young_edge() {
    isolated(|| {
        let owner = leak(Gc::new(Owner {
            name: "old".into(),
            slot: OnceCell::new(),
        }));
        collect();
        let id = debug::ObjectId::of(owner);
        assert!(
            debug::objects(Scope::Generation(2))
                .iter()
                .any(|o| o.id == id),
            "the owner is old"
        );
        assert!(owner.slot.set(node("young, held by an old object")).is_ok());
        let field: &'static Gc<Node> = owner.slot.get().unwrap();
        let name: &'static str = &field.name;
        OLD_FIELD.set(Some(field));
        let l = liar(|| OLD_FIELD.with(Cell::get));
        let before = stats()[0].rejected;

        let n = collect_generation(0);
        assert_eq!(name, "young, held by an old object");
        assert_eq!(n, 1, "only the liar is garbage");
        assert!(l.upgrade().is_none());
        assert_eq!(stats()[0].rejected - before, 1);
        assert!(!Gc::is_dead(field));
        assert_eq!(owner.name, "old");
        assert_eq!(collect(), 0);
        assert_eq!(name, "young, held by an old object");
    });
}

// --- d. a shared Rc<RefCell<Vec<Gc>>> traced through the Rc ------------------

/// Traces the contents of a shared `Rc` as if it owned them (the
/// natural-looking `(*self.shared).trace(t)`).
struct Holder {
    me: RefCell<Option<Gc<Holder>>>,
    shared: Rc<RefCell<Vec<Gc<Node>>>>,
}

impl Trace for Holder {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        (*self.shared).trace(tracer);
    }
}

/// Outside code shares the `Rc` and holds an ordinary borrow of an element's
/// name while `Gc::new` runs automatic collections: the `Vec` lies in the
/// `Rc`'s block, not in the holder, so its handles are rejected and the
/// element survives; the holder itself is collected.
#[test]
fn d_an_rc_shared_vec_is_not_owned() {
    isolated(|| {
        let shared = Rc::new(RefCell::new(vec![node("shared with outside code")]));
        let holder = Gc::new(Holder {
            me: RefCell::new(None),
            shared: shared.clone(),
        });
        *holder.me.borrow_mut() = Some(holder.clone());
        drop(holder);
        let before = (stats(), rejected());
        gc_core::set_threshold(1, 1, 1);

        let r = shared.borrow();
        let name: &str = &r[0].name;
        let mut made = Vec::new();
        for i in 0..if cfg!(miri) { 6 } else { 200 } {
            made.push(node(&format!("n{i}"))); // may collect
        }
        assert_eq!(name, "shared with outside code");
        drop(r);

        gc_core::set_threshold(2000, 10, 10);
        let after = stats();
        let runs =
            |s: &[gc_core::GenerationStats; 3]| s.iter().map(|g| g.collections).sum::<usize>();
        assert!(runs(&after) > runs(&before.0), "Gc::new ran collections");
        assert!(rejected() > before.1, "the Rc's handles were rejected");
        assert_eq!(Rc::strong_count(&shared), 1, "the holder was collected");
        assert!(!Gc::is_dead(&shared.borrow()[0]));
        assert_eq!(shared.borrow()[0].name, "shared with outside code");
    });
}

// --- e. a handle moved and reported again within one trace --------------------

/// Reports `a`, then moves its handle into `b` and reports it again.
struct Mover {
    me: RefCell<Option<Gc<Mover>>>,
    a: RefCell<Option<Gc<Node>>>,
    b: RefCell<Option<Gc<Node>>>,
    /// 0: honest, 1: move with `borrow_mut`, 2: move with `try_borrow_mut`.
    mode: Cell<u8>,
}

impl Trace for Mover {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        self.a.trace(tracer);
        match self.mode.get() {
            1 => {
                let moved = self.a.borrow_mut().take(); // `a` is borrowed by the tracer
                *self.b.borrow_mut() = moved;
            }
            2 => {
                if let Ok(mut a) = self.a.try_borrow_mut() {
                    *self.b.borrow_mut() = a.take();
                }
            }
            _ => {}
        }
        self.b.trace(tracer);
    }
}

/// The move needs `a` mutably borrowed while the tracer holds `a`'s borrow:
/// `borrow_mut` panics inside the collection (the panic reaches `collect`'s
/// caller, everything kept), `try_borrow_mut` fails (nothing moves). Counted
/// twice, the handle would cancel the leaked outside handle and free `name`.
#[test]
fn e_a_handle_moved_during_its_trace() {
    isolated(|| {
        let target = node("moved while reported");
        let held = leak(target.clone());
        let name: &'static str = &held.name;
        let m = Gc::new(Mover {
            me: RefCell::new(None),
            a: RefCell::new(Some(target)),
            b: RefCell::new(None),
            mode: Cell::new(1),
        });
        *m.me.borrow_mut() = Some(m.clone());
        let w = Gc::downgrade(&m);
        drop(m);

        let msg = expect_panic(collect);
        assert_eq!(name, "moved while reported");
        assert!(msg.contains("already borrowed"), "{msg}");
        let m = w
            .upgrade()
            .expect("the panicking collection kept everything");
        assert!(
            m.a.borrow().is_some() && m.b.borrow().is_none(),
            "nothing moved"
        );
        m.mode.set(2);
        drop(m);

        let n = collect();
        assert_eq!(name, "moved while reported");
        assert_eq!(n, 1, "the mover is garbage, its target is held outside");
        assert!(w.upgrade().is_none());
        assert_eq!(Gc::strong_count(held), 1);
    });
}

// --- f. Hole 1 of trace-soundness.md: a later trace moves a reported handle --

/// `A { p, q }` as in trace-soundness.md §1.
#[derive(Trace)]
struct A {
    name: String,
    p: Gc<Pong>,
    q: OnceCell<Gc<Pong>>,
}

/// How `Pong` holds and reports `g`, and how the other one pulls it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    /// `RefCell<Option<Gc<A>>>` traced by the crate's impl.
    Cell,
    /// The same, walked with `Tracer::borrow`.
    Borrow,
    /// `RefCell<RefCell<Option<Gc<A>>>>`: the inner borrow must be held too.
    Nested,
    /// `RwLock<Option<Gc<A>>>`: the read lock must be held.
    Lock,
}

/// P and Q of the attack: each pulls `g` from the other, then reports it.
struct Pong {
    is_p: bool,
    plain: RefCell<Option<Gc<A>>>,
    nested: RefCell<RefCell<Option<Gc<A>>>>,
    lock: RwLock<Option<Gc<A>>>,
}

thread_local! {
    static P_REF: Cell<Option<&'static Pong>> = const { Cell::new(None) };
    static Q_REF: Cell<Option<&'static Pong>> = const { Cell::new(None) };
    static SHAPE: Cell<Shape> = const { Cell::new(Shape::Cell) };
    /// Pull with the panicking `borrow_mut` instead of `try_borrow_mut`.
    static PANICKY: Cell<bool> = const { Cell::new(false) };
}

/// Moves `g` from `from` to `to` if `to` is empty: a move, no count change.
fn pull(from: &Pong, to: &Pong) {
    fn take(from: &RefCell<Option<Gc<A>>>, to: &RefCell<Option<Gc<A>>>) {
        if PANICKY.get() {
            let mut f = from.borrow_mut();
            let mut t = to.borrow_mut();
            if t.is_none() {
                *t = f.take();
            }
        } else if let (Ok(mut f), Ok(mut t)) = (from.try_borrow_mut(), to.try_borrow_mut())
            && t.is_none()
        {
            *t = f.take();
        }
    }
    match SHAPE.get() {
        Shape::Cell | Shape::Borrow => take(&from.plain, &to.plain),
        Shape::Nested => {
            if let (Ok(f), Ok(t)) = (from.nested.try_borrow(), to.nested.try_borrow()) {
                take(&f, &t);
            }
        }
        Shape::Lock => {
            if let (Ok(mut f), Ok(mut t)) = (from.lock.try_write(), to.lock.try_write())
                && t.is_none()
            {
                *t = f.take();
            }
        }
    }
}

impl Trace for Pong {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let other = if self.is_p { &Q_REF } else { &P_REF };
        if let Some(other) = other.get() {
            pull(other, self);
        }
        match SHAPE.get() {
            Shape::Cell => self.plain.trace(tracer),
            Shape::Borrow => {
                if let Some(g) = tracer.borrow(&self.plain) {
                    g.trace(tracer);
                }
            }
            Shape::Nested => self.nested.trace(tracer),
            Shape::Lock => self.lock.trace(tracer),
        }
    }
}

/// Builds the attack's A, P, Q with `g` (a handle to A) in P, and returns a
/// `&'static A` taken through a leaked outside handle.
fn hole1_setup(shape: Shape) -> &'static A {
    SHAPE.set(shape);
    let pong = |is_p| {
        Gc::new(Pong {
            is_p,
            plain: RefCell::new(None),
            nested: RefCell::new(RefCell::new(None)),
            lock: RwLock::new(None),
        })
    };
    let (p, q) = (pong(true), pong(false));
    let a = Gc::new(A {
        name: "A is alive".into(),
        p: p.clone(),
        q: OnceCell::new(),
    });
    assert!(a.q.set(q.clone()).is_ok());
    let g = Some(a.clone());
    match shape {
        Shape::Cell | Shape::Borrow => *p.plain.borrow_mut() = g,
        Shape::Nested => *p.nested.borrow().borrow_mut() = g,
        Shape::Lock => *p.lock.write().unwrap() = g,
    }
    let a_static: &'static A = leak(a);
    P_REF.set(Some(&*a_static.p));
    Q_REF.set(Some(&**a_static.q.get().unwrap()));
    drop((p, q));
    a_static
}

fn hole1(shape: Shape) {
    isolated(move || {
        let a_static = hole1_setup(shape);
        for _ in 0..3 {
            let n = collect();
            assert_eq!(a_static.name, "A is alive", "{shape:?}");
            assert_eq!(
                n, 0,
                "{shape:?}: A is held by the leaked handle, P and Q by A"
            );
        }
        P_REF.set(None);
        Q_REF.set(None);
    });
}

/// Hole 1 exactly: P and Q ping-pong `g` (with `try_borrow_mut`); the pull
/// fails because the tracer holds P's borrow until Q has been traced too.
#[test]
fn f_hole1_ping_pong_through_refcell() {
    hole1(Shape::Cell);
}

/// Hole 1 with the cell walked by `Tracer::borrow`.
#[test]
fn f_hole1_ping_pong_through_tracer_borrow() {
    hole1(Shape::Borrow);
}

/// Hole 1 with the handle in a `RefCell` inside a `RefCell`: the pull takes
/// the outer borrow shared (allowed) and must fail on the inner one.
#[test]
fn f_hole1_ping_pong_through_nested_refcells() {
    hole1(Shape::Nested);
}

/// Hole 1 with the handle in an `RwLock`: `try_write` must fail.
#[test]
fn f_hole1_ping_pong_through_rwlock() {
    hole1(Shape::Lock);
}

/// Hole 1 with a panicking pull (`borrow_mut`): the collection panics and
/// keeps everything (an unrelated garbage cycle too); once the pull is
/// disarmed, a later collection works and collects that cycle.
#[test]
fn f_hole1_panicking_pull_keeps_everything() {
    isolated(|| {
        let a_static = hole1_setup(Shape::Cell);
        let junk = liar(|| None);
        PANICKY.set(true);

        let msg = expect_panic(collect);
        assert_eq!(a_static.name, "A is alive");
        assert!(msg.contains("already borrowed"), "{msg}");
        assert!(
            junk.upgrade().is_some(),
            "the aborted analysis kept everything"
        );

        PANICKY.set(false);
        P_REF.set(None);
        Q_REF.set(None);
        let n = collect();
        assert_eq!(a_static.name, "A is alive");
        assert_eq!(n, 1, "the unrelated cycle");
        assert!(junk.upgrade().is_none());
        let in_p = a_static.p.plain.borrow().is_some();
        let in_q = a_static.q.get().unwrap().plain.borrow().is_some();
        assert!(in_p != in_q, "g was moved, never duplicated or lost");
    });
}

// --- g. a trace that changes between calls ------------------------------------

thread_local! {
    static FICKLE_LEAKED: Cell<Option<&'static Gc<Node>>> = const { Cell::new(None) };
    static FINALIZED: Cell<u32> = const { Cell::new(0) };
    static FICKLE_DROPS: Cell<u32> = const { Cell::new(0) };
}

/// Reports something different on every call: honest, nothing, a handle
/// twice, its peer plus a handle it does not own.
struct Fickle {
    /// Shared with the test: a resurrected object's `Weak`s stay cleared.
    calls: Rc<Cell<u32>>,
    peer: RefCell<Option<Gc<Fickle>>>,
    kept: Option<Gc<Node>>,
}

impl Trace for Fickle {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let n = self.calls.get();
        self.calls.set(n + 1);
        match n % 4 {
            0 => {
                self.peer.trace(tracer);
                self.kept.trace(tracer);
            }
            1 => {}
            2 => {
                self.kept.trace(tracer);
                self.kept.trace(tracer);
            }
            _ => {
                self.peer.trace(tracer);
                self.kept.trace(tracer);
                if self.kept.is_some()
                    && let Some(h) = FICKLE_LEAKED.get()
                {
                    h.trace(tracer);
                }
            }
        }
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for Fickle {
    fn finalize(&self) {
        FINALIZED.set(FINALIZED.get() + 1);
    }
}

impl Drop for Fickle {
    fn drop(&mut self) {
        FICKLE_DROPS.set(FICKLE_DROPS.get() + 1);
    }
}

/// Across four collections (the first with finalizers, so the resurrection
/// re-check runs a second analysis that sees a different trace), the shared
/// target borrowed through a leaked handle is never dropped, each analysis
/// traces each object exactly once, and the cycle goes once its trace is
/// consistent.
#[test]
fn g_a_trace_that_changes_between_calls() {
    isolated(|| {
        let held = leak(node("borrowed while traces change"));
        let name: &'static str = &held.name;
        FICKLE_LEAKED.set(Some(held));
        let (c1, c2) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let f1 = Gc::new(Fickle {
            calls: c1.clone(),
            peer: RefCell::new(None),
            kept: Some(held.clone()),
        });
        let f2 = Gc::new(Fickle {
            calls: c2.clone(),
            peer: RefCell::new(Some(f1.clone())),
            kept: None,
        });
        *f1.peer.borrow_mut() = Some(f2.clone());
        drop((f1, f2));

        // 1: honest, so garbage; finalized; the re-check sees no edges, so
        // both look referenced from outside: resurrected.
        let n = collect();
        assert_eq!(name, "borrowed while traces change");
        assert_eq!((n, FINALIZED.get(), FICKLE_DROPS.get()), (0, 2, 0));
        assert_eq!((c1.get(), c2.get()), (2, 2), "one trace per analysis");

        // 2: `kept` reported twice: the analysis keeps everything.
        let n = collect();
        assert_eq!(name, "borrowed while traces change");
        assert_eq!((n, FICKLE_DROPS.get()), (0, 0));
        assert_eq!((c1.get(), c2.get()), (3, 3));

        // 3: the peers plus a handle f1 does not own (rejected): the cycle
        // is garbage, already finalized, so no re-check; the target stays.
        let before = rejected();
        let n = collect();
        assert_eq!(name, "borrowed while traces change");
        assert_eq!((n, FINALIZED.get(), FICKLE_DROPS.get()), (2, 2, 2));
        assert_eq!(rejected() - before, 1);
        assert_eq!((c1.get(), c2.get()), (4, 4));
        assert_eq!(
            (Rc::strong_count(&c1), Rc::strong_count(&c2)),
            (1, 1),
            "dropped"
        );
        assert_eq!(Gc::strong_count(held), 1);

        // 4: nothing left to change.
        assert_eq!(collect(), 0);
        assert_eq!((c1.get(), c2.get(), FICKLE_DROPS.get()), (4, 4, 2));
        assert_eq!(name, "borrowed while traces change");
        FICKLE_LEAKED.set(None);
    });
}

// --- h. hand walks over a container's buffer ----------------------------------

#[derive(Trace)]
struct Kid {
    name: String,
    parent: RefCell<Option<Gc<HandWalk>>>,
}

/// Walks its `Vec` by hand (the `with`-function shape), or vouches for the
/// elements with `trace_owned`.
struct HandWalk {
    kids: Vec<Gc<Kid>>,
    vouch: Cell<bool>,
}

impl Trace for HandWalk {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        for kid in &self.kids {
            if self.vouch.get() {
                // SAFETY: the kids belong to this value alone, and `kids` is
                // an inline `Vec` behind `&'a self`: nothing can move or drop
                // them while the collector relies on the report.
                unsafe { tracer.trace_owned(kid) };
            } else {
                kid.trace(tracer);
            }
        }
    }
}

/// The hand walk's handles lie in the `Vec`'s buffer, which nobody vouched
/// for: they are rejected (counted in `stats()[2].rejected`), so the cycle
/// leaks. Vouched for with `trace_owned`, it is collected, and the kid held
/// outside stays.
#[test]
fn h_a_hand_walk_leaks_and_trace_owned_collects() {
    isolated(|| {
        let kid = |name: &str| {
            Gc::new(Kid {
                name: name.into(),
                parent: RefCell::new(None),
            })
        };
        let outside = kid("held outside");
        let name: &'static str = &leak(outside.clone()).name;
        let walker = Gc::new(HandWalk {
            kids: vec![kid("k1"), kid("k2"), outside],
            vouch: Cell::new(false),
        });
        for k in &walker.kids[..2] {
            *k.parent.borrow_mut() = Some(walker.clone());
        }
        let w = Gc::downgrade(&walker);
        drop(walker);

        for _ in 0..2 {
            let before = stats()[2].rejected;
            let n = collect();
            assert_eq!(name, "held outside");
            assert_eq!(n, 0, "a silent leak");
            assert_eq!(
                stats()[2].rejected - before,
                3,
                "the kids' handles were rejected"
            );
        }

        w.upgrade().unwrap().vouch.set(true);
        let before = stats()[2].rejected;
        let n = collect();
        assert_eq!(name, "held outside");
        assert_eq!(n, 3, "the walker, k1 and k2");
        assert_eq!(stats()[2].rejected, before);
        assert!(w.upgrade().is_none());
    });
}

// --- more attacks that must fail ----------------------------------------------

/// A cell whose contents report an edge and then panic.
struct Boom {
    g: Option<Gc<Node>>,
    armed: bool,
}

impl Trace for Boom {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.g.trace(tracer);
        assert!(!self.armed, "boom");
    }
}

/// Catches the panic of its own field's trace, then tries to move the handle
/// that field reported and report it again.
struct Catcher {
    me: RefCell<Option<Gc<Catcher>>>,
    cell: RefCell<Boom>,
    boxed: Box<RefCell<Boom>>,
    spare: RefCell<Option<Gc<Node>>>,
}

impl Trace for Catcher {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        let _ = panic::catch_unwind(AssertUnwindSafe(|| self.cell.trace(tracer)));
        let _ = panic::catch_unwind(AssertUnwindSafe(|| self.boxed.trace(tracer)));
        for cell in [&self.cell, &*self.boxed] {
            if let Ok(mut b) = cell.try_borrow_mut() {
                *self.spare.borrow_mut() = b.g.take();
            }
        }
        self.spare.trace(tracer);
    }
}

/// `catch_unwind` inside a trace: the cell's borrow was taken before its
/// contents were traced, so it is still held after the caught panic (the
/// move fails); a panic caught inside a `Box`'s trace leaves its region
/// open, so the analysis keeps everything.
#[test]
fn catch_unwind_inside_a_trace() {
    isolated(|| {
        let t1 = node("in the cell");
        let t2 = node("in the box");
        let (n1, n2): (&'static str, &'static str) =
            (&leak(t1.clone()).name, &leak(t2.clone()).name);
        let c = Gc::new(Catcher {
            me: RefCell::new(None),
            cell: RefCell::new(Boom {
                g: Some(t1),
                armed: true,
            }),
            boxed: Box::new(RefCell::new(Boom {
                g: Some(t2),
                armed: false,
            })),
            spare: RefCell::new(None),
        });
        *c.me.borrow_mut() = Some(c.clone());
        let w = Gc::downgrade(&c);
        drop(c);

        // Only the cell panics: nothing moves, the cycle is collected.
        let n = collect();
        assert_eq!((n1, n2), ("in the cell", "in the box"));
        assert_eq!(n, 1);
        assert!(w.upgrade().is_none());

        // Now the box's contents panic too: the region is left open.
        let c = Gc::new(Catcher {
            me: RefCell::new(None),
            cell: RefCell::new(Boom {
                g: None,
                armed: false,
            }),
            boxed: Box::new(RefCell::new(Boom {
                g: Some(node("in the box")),
                armed: true,
            })),
            spare: RefCell::new(None),
        });
        *c.me.borrow_mut() = Some(c.clone());
        let w = Gc::downgrade(&c);
        drop(c);
        assert_eq!(collect(), 0, "kept: a region was left open");
        let c = w.upgrade().unwrap();
        assert_eq!(c.boxed.borrow().g.as_ref().unwrap().name, "in the box");
        c.boxed.borrow_mut().armed = false;
        drop(c);
        assert_eq!(collect(), 2);
        assert_eq!((n1, n2), ("in the cell", "in the box"));
    });
}

thread_local! {
    static STASH: Cell<Option<&'static RefCell<Option<Gc<Node>>>>> = const { Cell::new(None) };
}

/// Moves a handle from an outside stash into its `OnceCell` during its own
/// trace, then reports it.
struct Hoarder {
    me: RefCell<Option<Gc<Hoarder>>>,
    once: OnceCell<Gc<Node>>,
}

impl Trace for Hoarder {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(stash) = STASH.get()
            && let Ok(mut s) = stash.try_borrow_mut()
            && let Some(g) = s.take()
        {
            assert!(self.once.set(g).is_ok());
        }
        self.me.trace(tracer);
        self.once.trace(tracer);
    }
}

fn hoarder() -> Weak<Hoarder> {
    let h = Gc::new(Hoarder {
        me: RefCell::new(None),
        once: OnceCell::new(),
    });
    *h.me.borrow_mut() = Some(h.clone());
    Gc::downgrade(&h)
}

/// A `OnceCell` set during a trace: while outside code borrows the stash the
/// move fails; otherwise the handle is counted where it is now, and its
/// target, reachable only from the garbage at the end of the phase, is
/// collected with it.
#[test]
fn oncecell_set_during_a_trace() {
    isolated(|| {
        let stash: &'static RefCell<Option<Gc<Node>>> =
            Box::leak(Box::new(RefCell::new(Some(node("stashed")))));
        STASH.set(Some(stash));
        let w = hoarder();
        {
            let s = stash.borrow();
            let name: &str = &s.as_ref().unwrap().name;
            let n = collect();
            assert_eq!(name, "stashed");
            assert_eq!(n, 1, "the hoarder; the stash was borrowed");
        }
        assert!(w.upgrade().is_none());
        let target = Gc::downgrade(stash.borrow().as_ref().unwrap());
        let w = hoarder();
        assert_eq!(collect(), 2, "the hoarder and the target it moved in");
        assert!(w.upgrade().is_none() && target.upgrade().is_none());
        assert!(stash.borrow().is_none());
        STASH.set(None);
    });
}

thread_local! {
    static OUTSIDE: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
    static SEEN: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// During its trace, tries every way to get a new handle to, or a `&mut`
/// into, an object being examined: `Weak::upgrade`, `Gc::get_mut` on the
/// only outside handle, `debug::objects_of`, `debug::referents`.
struct Prober {
    me: RefCell<Option<Gc<Prober>>>,
    weak: RefCell<Option<Weak<Node>>>,
}

impl Trace for Prober {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let note = |s| SEEN.with(|v| v.borrow_mut().push(s));
        if let Some(w) = &*self.weak.borrow() {
            note(if w.upgrade().is_some() {
                "upgraded"
            } else {
                "no upgrade"
            });
        }
        OUTSIDE.with(|o| {
            if let Some(g) = o.borrow_mut().as_mut() {
                note(if Gc::get_mut(g).is_some() {
                    "get_mut"
                } else {
                    "no get_mut"
                });
                note(if debug::referents(g).is_empty() {
                    "no referents"
                } else {
                    "referents"
                });
            }
        });
        note(if debug::objects_of::<Node>(Scope::All).is_empty() {
            "no objects"
        } else {
            "objects"
        });
        self.me.trace(tracer);
    }
}

/// None of the ways to reach an examined object from a trace works, so no
/// handle can be made (or value mutated) behind the analysis' back.
#[test]
fn no_new_handle_or_mut_during_a_trace() {
    isolated(|| {
        let target = node("examined");
        *target.next.borrow_mut() = Some(node("next"));
        let p = Gc::new(Prober {
            me: RefCell::new(None),
            weak: RefCell::new(Some(Gc::downgrade(&target))),
        });
        *p.me.borrow_mut() = Some(p.clone());
        drop(p);
        OUTSIDE.with(|o| *o.borrow_mut() = Some(target));

        assert_eq!(collect(), 1);
        let seen = SEEN.with(RefCell::take);
        assert_eq!(
            seen,
            ["no upgrade", "no get_mut", "no referents", "no objects"]
        );
        OUTSIDE.with(|o| {
            let mut o = o.borrow_mut();
            let g = o.as_mut().unwrap();
            assert_eq!(g.name, "examined");
            assert!(Gc::get_mut(g).is_some(), "a unique handle again");
        });
    });
}

thread_local! {
    static RESCUED: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

/// Garbage whose finalizers move a handle between each other and then out.
struct Mourner {
    peer: RefCell<Option<Gc<Mourner>>>,
    a: RefCell<Option<Gc<Node>>>,
    b: RefCell<Option<Gc<Node>>>,
    first: bool,
}

impl Trace for Mourner {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.peer.trace(tracer);
        self.a.trace(tracer);
        self.b.trace(tracer);
    }
    fn finalizer(&self) -> Option<&dyn Finalize> {
        Some(self)
    }
}

impl Finalize for Mourner {
    fn finalize(&self) {
        let peer = self.peer.borrow();
        let peer = peer.as_ref().unwrap();
        if self.first {
            // a → the peer's b (garbage to garbage)
            let g = self.a.borrow_mut().take();
            if g.is_some() {
                *peer.b.borrow_mut() = g;
            }
        } else {
            // whichever holds it → outside
            let g = peer
                .a
                .borrow_mut()
                .take()
                .or_else(|| self.b.borrow_mut().take());
            RESCUED.with(|r| *r.borrow_mut() = g);
        }
    }
}

/// Finalizers move a handle from one garbage object to another and then out
/// of the garbage: the re-check is a fresh cut, so the target survives (it
/// is resurrected) and the two mourners are collected.
#[test]
fn finalizers_moving_handles_between_garbage() {
    isolated(|| {
        let target = node("rescued by a finalizer");
        let wt = Gc::downgrade(&target);
        let m1 = Gc::new(Mourner {
            peer: RefCell::new(None),
            a: RefCell::new(Some(target)),
            b: RefCell::new(None),
            first: true,
        });
        let m2 = Gc::new(Mourner {
            peer: RefCell::new(Some(m1.clone())),
            a: RefCell::new(None),
            b: RefCell::new(None),
            first: false,
        });
        *m1.peer.borrow_mut() = Some(m2.clone());
        drop((m1, m2));

        assert_eq!(collect(), 2);
        RESCUED.with(|r| {
            let r = r.borrow();
            let t = r.as_ref().expect("moved out by a finalizer");
            assert_eq!(t.name, "rescued by a finalizer");
            assert!(!Gc::is_dead(t));
        });
        assert!(wt.upgrade().is_none(), "its weak references were cleared");
        RESCUED.with(|r| r.borrow_mut().take());
        assert_eq!(collect(), 0, "freed by counting");
    });
}

thread_local! {
    static ZST_TARGET: Cell<Option<&'static Gc<Node>>> = const { Cell::new(None) };
}

/// A cell of trait objects.
type Dyns = RefCell<Vec<Box<dyn Trace>>>;

/// A zero-sized liar: its value owns no bytes at all.
struct Zst;

impl Trace for Zst {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(h) = ZST_TARGET.get() {
            h.trace(tracer);
        }
    }
}

/// Trait objects in a cycle: `Box<dyn Trace>` in a `Vec` in a `RefCell`,
/// one of them a `Gc` back to the holder, one a boxed ZST liar; and a
/// `Gc<Zst>` liar of its own. The boxed cycle is collected; the ZSTs' empty
/// regions own nothing, so their reports are rejected.
#[test]
fn zsts_and_trait_objects() {
    isolated(|| {
        let held = leak(node("reported by ZSTs"));
        let name: &'static str = &held.name;
        ZST_TARGET.set(Some(held));
        let holder: Gc<Dyns> = Gc::new(RefCell::new(vec![Box::new(Zst)]));
        let back: Box<dyn Trace> = Box::new(holder.clone());
        holder.borrow_mut().push(back);
        let wh = Gc::downgrade(&holder);
        drop(holder);
        let zst = Gc::new(Zst);
        assert!(Gc::is_tracked(&zst));
        let wz = Gc::downgrade(&zst);
        let before = rejected();

        let n = collect();
        assert_eq!(name, "reported by ZSTs");
        assert_eq!(n, 1, "the holder; `zst` is held outside");
        assert!(wh.upgrade().is_none());
        assert_eq!(rejected() - before, 2);
        drop(zst);
        assert!(wz.upgrade().is_none());
        assert_eq!(Gc::strong_count(held), 1);
        ZST_TARGET.set(None);
    });
}

// --- `debug::Garbage::downcast` inside a trace --------------------------------

#[derive(Trace)]
struct Saved {
    name: String,
    me: RefCell<Option<Gc<Saved>>>,
}

/// During its trace, makes new handles to an object being examined through
/// `debug::garbage()` and `Garbage::downcast`, moves them into its own cell
/// and reports them.
struct Forger {
    me: RefCell<Option<Gc<Forger>>>,
    stash: RefCell<Vec<Gc<Saved>>>,
    armed: Cell<bool>,
}

impl Trace for Forger {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if self.armed.replace(false)
            && let Ok(mut stash) = self.stash.try_borrow_mut()
        {
            for g in debug::garbage() {
                stash.extend(g.downcast::<Saved>());
                stash.extend(g.downcast::<Saved>());
            }
        }
        self.me.trace(tracer);
        self.stash.trace(tracer);
    }
}

/// An object kept by `DebugFlags::SAVE_ALL` is in the next full
/// collection's examined set, held by the saved list's count, which no trace
/// reports. Two handles made by `Garbage::downcast` during a trace and
/// reported from a garbage cycle would cancel that count and a leaked
/// outside handle, and the value would be dropped under `name`, unless a
/// downcast counts as a handle made while examined: then the analysis keeps
/// everything.
#[test]
fn garbage_downcast_during_a_trace() {
    isolated(|| {
        debug::set_debug(DebugFlags::SAVE_ALL);
        let s = Gc::new(Saved {
            name: "saved".into(),
            me: RefCell::new(None),
        });
        *s.me.borrow_mut() = Some(s.clone());
        drop(s);
        assert_eq!(collect(), 1);
        debug::set_debug(DebugFlags::empty());
        let saved = debug::garbage();
        let s: Gc<Saved> = saved[0].downcast().unwrap();
        drop(saved);
        let name: &'static str = &leak(s).name;
        let f = Gc::new(Forger {
            me: RefCell::new(None),
            stash: RefCell::new(Vec::new()),
            armed: Cell::new(true),
        });
        *f.me.borrow_mut() = Some(f.clone());
        drop(f);

        let n = collect();
        assert_eq!(name, "saved");
        assert_eq!(n, 0, "the forged handles abort the analysis");
        assert_eq!(debug::release_garbage(), 1);
        let n = collect();
        assert_eq!(name, "saved");
        assert_eq!(
            n, 1,
            "the forger; the saved object is held by the leaked handle"
        );
    });
}
