//! A UI-style widget tree with parent back-pointers, written twice.
//!
//! 1. As people write it with `Rc` today: children are `Rc`, the parent is an
//!    `rc::Weak` (a strong parent pointer would make every parent-child pair a
//!    cycle and leak the tree). Every use of the parent goes through
//!    `upgrade()`, and a widget that outlives its window finds its parent gone.
//! 2. With `Gc`: the parent is an ordinary strong pointer. No `Weak`, no
//!    `upgrade()`; a widget kept by an event handler keeps its window alive,
//!    as in a browser's DOM; and once nothing outside refers to the tree, the
//!    cycle collector frees all of it.
//!
//! Run it with `cargo run --example parent_child`.

#![deny(warnings)]

use std::cell::Cell;

thread_local! {
    /// Widgets dropped so far (both versions).
    static DROPPED: Cell<usize> = const { Cell::new(0) };
}

fn dropped() -> usize {
    DROPPED.with(Cell::get)
}

/// The tree both versions build: a window with a dialog with two buttons.
const TREE: [(&str, Option<&str>); 5] = [
    ("window", None),
    ("toolbar", Some("window")),
    ("dialog", Some("window")),
    ("ok", Some("dialog")),
    ("cancel", Some("dialog")),
];

mod with_rc {
    //! Today's way: `Rc` children, `Weak` parents.

    use std::cell::RefCell;
    use std::rc::{Rc, Weak};

    pub(crate) struct Widget {
        pub(crate) name: &'static str,
        pub(crate) parent: RefCell<Weak<Widget>>,
        pub(crate) children: RefCell<Vec<Rc<Widget>>>,
    }

    impl Drop for Widget {
        fn drop(&mut self) {
            super::DROPPED.with(|d| d.set(d.get() + 1));
        }
    }

    /// Builds the tree; returns the window and the "ok" button.
    pub(crate) fn build() -> (Rc<Widget>, Rc<Widget>) {
        let mut all: Vec<Rc<Widget>> = Vec::new();
        for (name, parent) in super::TREE {
            let w = Rc::new(Widget {
                name,
                parent: RefCell::new(Weak::new()),
                children: RefCell::new(Vec::new()),
            });
            if let Some(p) = all.iter().find(|p| Some(p.name) == parent) {
                // Bookkeeping: the back pointer must be weak.
                *w.parent.borrow_mut() = Rc::downgrade(p);
                p.children.borrow_mut().push(Rc::clone(&w));
            }
            all.push(w);
        }
        let ok = all.iter().find(|w| w.name == "ok").map(Rc::clone);
        (Rc::clone(&all[0]), ok.unwrap_or_else(|| Rc::clone(&all[0])))
    }

    /// `window > dialog > ok`, as far as the parents are still alive.
    pub(crate) fn path(w: &Rc<Widget>) -> String {
        // Each step up must upgrade the Weak: the parent may be gone.
        let up = |w: &Rc<Widget>| w.parent.borrow().upgrade();
        let mut names: Vec<&str> = std::iter::successors(Some(Rc::clone(w)), up)
            .map(|w| w.name)
            .collect();
        names.reverse();
        names.join(" > ")
    }
}

mod leaky {
    //! The tempting mistake: `Rc` parents. Parent and child own each other.

    use std::cell::RefCell;
    use std::rc::Rc;

    pub(crate) struct Widget {
        #[expect(dead_code, reason = "the back pointer is here only to make the cycle")]
        pub(crate) parent: RefCell<Option<Rc<Widget>>>,
        pub(crate) children: RefCell<Vec<Rc<Widget>>>,
    }

    impl Drop for Widget {
        fn drop(&mut self) {
            super::DROPPED.with(|d| d.set(d.get() + 1));
        }
    }

    /// A window with one button, both dropped at once: neither is freed.
    pub(crate) fn build_and_drop() {
        let window = Rc::new(Widget {
            parent: RefCell::new(None),
            children: RefCell::new(Vec::new()),
        });
        let button = Rc::new(Widget {
            parent: RefCell::new(Some(Rc::clone(&window))),
            children: RefCell::new(Vec::new()),
        });
        window.children.borrow_mut().push(button);
    }
}

mod with_gc {
    //! With `Gc`: strong pointers both ways.

    use std::cell::RefCell;

    use gc_core::{Gc, Trace};

    #[derive(Trace)]
    pub(crate) struct Widget {
        pub(crate) name: &'static str,
        pub(crate) parent: RefCell<Option<Gc<Widget>>>,
        pub(crate) children: RefCell<Vec<Gc<Widget>>>,
    }

    impl Drop for Widget {
        fn drop(&mut self) {
            super::DROPPED.with(|d| d.set(d.get() + 1));
        }
    }

    /// Builds the tree; returns the window and the "ok" button.
    pub(crate) fn build() -> (Gc<Widget>, Gc<Widget>) {
        let mut all: Vec<Gc<Widget>> = Vec::new();
        for (name, parent) in super::TREE {
            let w = Gc::new(Widget {
                name,
                parent: RefCell::new(None),
                children: RefCell::new(Vec::new()),
            });
            if let Some(p) = all.iter().find(|p| Some(p.name) == parent) {
                *w.parent.borrow_mut() = Some(p.clone()); // just a pointer
                p.children.borrow_mut().push(w.clone());
            }
            all.push(w);
        }
        let ok = all.iter().find(|w| w.name == "ok").cloned();
        (all[0].clone(), ok.unwrap_or_else(|| all[0].clone()))
    }

    pub(crate) fn path(w: &Gc<Widget>) -> String {
        // Each step up is a plain pointer: the parent cannot be gone.
        let up = |w: &Gc<Widget>| w.parent.borrow().clone();
        let mut names: Vec<&str> = std::iter::successors(Some(w.clone()), up)
            .map(|w| w.name)
            .collect();
        names.reverse();
        names.join(" > ")
    }

    /// Moves `w` under `new_parent`.
    pub(crate) fn reparent(w: &Gc<Widget>, new_parent: &Gc<Widget>) {
        if let Some(old) = w.parent.borrow_mut().replace(new_parent.clone()) {
            old.children.borrow_mut().retain(|c| !Gc::ptr_eq(c, w));
        }
        new_parent.children.borrow_mut().push(w.clone());
    }
}

fn main() {
    println!("== 1. With Rc and Weak (today) ==");
    let before = dropped();
    let (window, ok) = with_rc::build();
    println!("path of ok:                 {}", with_rc::path(&ok));
    println!(
        "window: strong_count = {}, weak_count = {} (one Weak per child)",
        std::rc::Rc::strong_count(&window),
        std::rc::Rc::weak_count(&window)
    );
    drop(window);
    println!(
        "dropped the window, kept ok (say, in a click handler): {} widgets dropped",
        dropped() - before
    );
    println!(
        "path of ok:                 {}   <- its parents are gone: upgrade() returned None",
        with_rc::path(&ok)
    );
    drop(ok);
    println!(
        "dropped ok too:             {} widgets dropped",
        dropped() - before
    );
    let before = dropped();
    leaky::build_and_drop();
    println!(
        "with Rc parents instead:    built a window and a button, dropped both: {} dropped (leaked for good)",
        dropped() - before
    );
    println!();

    println!("== 2. With Gc: strong parent pointers, no Weak ==");
    let before = dropped();
    let tracked_before = gc_core::tracked_count();
    let (window, ok) = with_gc::build();
    println!("path of ok:                 {}", with_gc::path(&ok));
    println!(
        "window: strong_count = {} (the local, plus one parent pointer per child)",
        gc_core::Gc::strong_count(&window)
    );
    let toolbar = window.children.borrow()[0].clone();
    with_gc::reparent(&ok, &toolbar);
    println!("moved ok to the toolbar:    {}", with_gc::path(&ok));
    drop(toolbar);
    drop(window);
    println!(
        "dropped the window, kept ok: {} widgets dropped; path of ok: {}",
        dropped() - before,
        with_gc::path(&ok)
    );
    drop(ok);
    println!(
        "dropped ok too:             {} widgets dropped, {} still tracked (parent <-> child cycles)",
        dropped() - before,
        gc_core::tracked_count() - tracked_before
    );
    let reclaimed = gc_core::collect();
    println!(
        "collect():                  reclaimed {reclaimed}; {} widgets dropped, {} still tracked",
        dropped() - before,
        gc_core::tracked_count() - tracked_before
    );
}
