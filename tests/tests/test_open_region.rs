//! A region left open by a panic caught inside a trace must not vouch for
//! memory that later changes hands (found by an adversarial review: the
//! handle was counted once for the object whose trace left the region open
//! and once for its real owner, cancelling an outside handle; Miri reported
//! a use-after-free of the outside handle's value).

use std::cell::{Cell, OnceCell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use gc_core::{Gc, Trace, Tracer};

enum Item {
    Bomb,
    H(Gc<A>),
}

impl Trace for Item {
    fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
        match self {
            Item::Bomb => panic!("bomb"),
            Item::H(g) => g.trace(t),
        }
    }
}

struct A {
    name: String,
    cell: RefCell<Vec<Item>>,
}

impl Trace for A {
    fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
        self.cell.trace(t);
    }
}

/// Catches the panic of its `Vec`'s trace, whose buffer region stays open.
struct Inner(Vec<Item>);

impl Trace for Inner {
    fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.0.trace(t)));
    }
}

/// After its cell's trace, moves the `Vec` (whose buffer the open region
/// covers) into `A`'s cell with `A`'s own handle inside, and reports it.
struct Mid(RefCell<Inner>);

impl Trace for Mid {
    fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
        self.0.trace(t);
        let Some(a) = A_REF.take() else { return };
        let Ok(mut inner) = self.0.try_borrow_mut() else {
            MOVE_REFUSED.set(true);
            return;
        };
        let mut v = std::mem::take(&mut inner.0);
        drop(inner);
        v[0] = a.cell.borrow_mut().pop().unwrap();
        *a.cell.borrow_mut() = v;
        if let Some(v) = t.borrow(&a.cell) {
            for it in v {
                it.trace(t);
            }
        }
    }
}

struct X {
    inner: Box<Mid>,
    me: OnceCell<Gc<X>>,
}

impl Trace for X {
    fn trace<'a>(&'a self, t: &mut Tracer<'a>) {
        self.inner.trace(t);
        self.me.trace(t);
    }
}

thread_local! {
    static A_REF: Cell<Option<&'static A>> = const { Cell::new(None) };
    static MOVE_REFUSED: Cell<bool> = const { Cell::new(false) };
}

#[test]
fn a_region_left_open_never_vouches_for_moved_memory() {
    let x = Gc::new(X {
        inner: Box::new(Mid(RefCell::new(Inner(vec![Item::Bomb])))),
        me: OnceCell::new(),
    });
    let _ = x.me.set(x.clone());
    drop(x); // X: an unreachable self-cycle, traced first
    let a = Gc::new(A {
        name: "A is alive".to_string(),
        cell: RefCell::new(vec![]),
    });
    a.cell.borrow_mut().push(Item::H(a.clone()));
    let a_static: &'static A = Box::leak(Box::new(a.clone())); // an outside handle
    A_REF.set(Some(a_static));
    drop(a);
    let name: &str = &a_static.name;
    let n = gc_core::collect();
    assert_eq!(name, "A is alive");
    assert!(
        MOVE_REFUSED.get(),
        "the cell's guard is kept: the move is refused"
    );
    assert_eq!(n, 0, "the analysis keeps everything");
    assert!(!Gc::is_dead(
        &a_static
            .cell
            .borrow()
            .iter()
            .find_map(|i| match i {
                Item::H(g) => Some(g.clone()),
                Item::Bomb => None,
            })
            .unwrap()
    ));
}
