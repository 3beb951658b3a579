//! Adversarial `Trace` impls, continued (`test_soundness.rs` has classes a
//! to f): g, a trace that changes between calls; h, hand walks over a
//! container's buffer; more attacks that must fail; and
//! `debug::Garbage::downcast` inside a trace.
//!
//! Each test reads a value that must survive after the collection, before
//! checking any count, so a wrong drop is a use-after-free Miri reports. The
//! handles leaked with `Box::leak` are never freed: run these under Miri
//! with `-Zmiri-ignore-leaks`.

use gc_core::debug::{self, DebugFlags, Scope};
use gc_core::{Finalize, Gc, Trace, Tracer, Weak, collect, stats};
use gc_tests::isolated;
use gc_tests::soundness::{Node, leak, node, rejected};
use std::cell::{Cell, OnceCell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

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
