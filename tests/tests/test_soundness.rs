//! Adversarial `Trace` impls: one test per attack class of issue 14 (see
//! SPEC.md, "Trace" and "Safety"), each liar written in safe code. This file
//! has classes a to f; `test_soundness_attacks.rs` has g, h and the rest.
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

use gc_core::debug::{self, Scope};
use gc_core::{Gc, Trace, Tracer, Weak, collect, collect_generation, stats};
use gc_tests::soundness::{Node, leak, node, rejected};
use gc_tests::{expect_panic, isolated};
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::sync::RwLock;

// --- helpers -----------------------------------------------------------------

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
