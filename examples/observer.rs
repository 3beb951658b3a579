//! The observer pattern with listeners that point back at their widgets: a
//! window owns its buttons, each button has click listeners that refer to
//! the button or to its window, and the window has close listeners that
//! refer to it and to its buttons. Every listener closes a cycle.
//!
//! Listeners as people write them, `Vec<Box<dyn Fn(&Click)>>`, cannot be
//! traced (a closure's captures are anonymous), and `#[gc(skip)]` on the
//! list leaks exactly these cycles. A `gc_core::Closure` splits a listener
//! into a traced *state* (the `Gc`s it needs) and `Copy` *code* (which
//! cannot own a `Gc`); stored as `Box<dyn Callback<Click>>`, listeners are
//! traced, so once nothing outside refers to the window, `collect()` frees
//! it with its buttons.
//!
//! Run it with `cargo run --example observer`.

#![deny(warnings)]

use std::cell::{Cell, RefCell};

use gc_core::{Callback, Closure, Gc, Trace, Weak, collect, tracked_count};

thread_local! {
    /// Widgets dropped so far.
    static DROPPED: Cell<usize> = const { Cell::new(0) };
}

fn dropped() -> usize {
    DROPPED.with(Cell::get)
}

/// A click on a button, at a position in its window.
struct Click {
    x: i32,
    y: i32,
}

/// The window is closing.
struct Close;

#[derive(Trace)]
struct Window {
    title: &'static str,
    buttons: RefCell<Vec<Gc<Button>>>,
    log: RefCell<Vec<String>>,
    on_close: RefCell<Vec<Box<dyn Callback<Close>>>>,
}

#[derive(Trace)]
struct Button {
    label: &'static str,
    clicks: Cell<u32>,
    on_click: RefCell<Vec<Box<dyn Callback<Click>>>>,
}

impl Drop for Window {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(d.get() + 1));
    }
}

impl Drop for Button {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(d.get() + 1));
    }
}

impl Button {
    fn click(&self, at: &Click) {
        for listener in self.on_click.borrow().iter() {
            listener.call(at);
        }
    }
}

impl Window {
    fn button(&self, label: &str) -> Gc<Button> {
        let buttons = self.buttons.borrow();
        let b = buttons.iter().find(|b| b.label == label);
        b.expect("no such button").clone()
    }

    fn close(&self) {
        for listener in self.on_close.borrow().iter() {
            listener.call(&Close);
        }
    }

    fn listeners(&self) -> usize {
        let buttons = self.buttons.borrow();
        let on_click: usize = buttons.iter().map(|b| b.on_click.borrow().len()).sum();
        self.on_close.borrow().len() + on_click
    }
}

/// A window titled `title` with a button for each of `labels`, wired up.
fn build(title: &'static str, labels: &[&'static str]) -> Gc<Window> {
    let window = Gc::new(Window {
        title,
        buttons: RefCell::new(Vec::new()),
        log: RefCell::new(Vec::new()),
        on_close: RefCell::new(Vec::new()),
    });
    for &label in labels {
        let button = Gc::new(Button {
            label,
            clicks: Cell::new(0),
            on_click: RefCell::new(Vec::new()),
        });
        let mut on_click = button.on_click.borrow_mut();
        // State: the button itself (a cycle of one).
        on_click.push(Box::new(Closure::new(button.clone(), |b, _: &Click| {
            b.clicks.set(b.clicks.get() + 1);
        })));
        // State: the window. The code captures `label`, a `&'static str`:
        // plain `Copy` data is fine, a `Gc` would not compile.
        on_click.push(Box::new(Closure::new(
            window.clone(),
            move |w, c: &Click| {
                let line = format!("{label} clicked at ({}, {})", c.x, c.y);
                w.log.borrow_mut().push(line);
            },
        )));
        drop(on_click);
        window.buttons.borrow_mut().push(button);
    }
    let mut on_close = window.on_close.borrow_mut();
    // State: the window again.
    on_close.push(Box::new(Closure::new(window.clone(), |w, _: &Close| {
        let line = format!("{} closing", w.title);
        w.log.borrow_mut().push(line);
    })));
    // State: a list of the buttons; the code reads them and prints.
    let buttons = window.buttons.borrow().clone();
    on_close.push(Box::new(Closure::new(buttons, |buttons, _: &Close| {
        let clicks: Vec<String> = buttons
            .iter()
            .map(|b| format!("{} {}", b.label, b.clicks.get()))
            .collect();
        println!(
            "on_close listener:           clicks per button: {}",
            clicks.join(", ")
        );
    })));
    drop(on_close);
    window
}

fn main() {
    println!("== 1. A window with two buttons; every listener points back ==");
    let window = build("settings", &["ok", "cancel"]);
    let (ok, cancel) = (window.button("ok"), window.button("cancel"));
    println!(
        "built {:?}: {} widgets, {} listeners, tracked_count() = {}",
        window.title,
        1 + window.buttons.borrow().len(),
        window.listeners(),
        tracked_count()
    );
    ok.click(&Click { x: 10, y: 20 });
    ok.click(&Click { x: 12, y: 20 });
    cancel.click(&Click { x: 40, y: 20 });
    println!(
        "clicked ok twice, cancel once: ok.clicks = {}, cancel.clicks = {}",
        ok.clicks.get(),
        cancel.clicks.get()
    );
    window.close();
    for line in window.log.borrow().iter() {
        println!("window log:                  {line}");
    }
    println!(
        "strong counts:               window = {}, ok = {}, cancel = {} (the listeners hold them)",
        Gc::strong_count(&window),
        Gc::strong_count(&ok),
        Gc::strong_count(&cancel)
    );
    println!();

    println!("== 2. Drop the window ==");
    let weak: Weak<Window> = Gc::downgrade(&window);
    drop(window);
    let n = collect();
    println!(
        "dropped the window:          collect() reclaimed {n} (we hold ok and cancel, whose listeners reach it)"
    );
    ok.click(&Click { x: 1, y: 1 });
    let last = weak.upgrade().and_then(|w| w.log.borrow().last().cloned());
    println!("clicked ok once more:        window log ends with {last:?}");
    drop((ok, cancel));
    println!(
        "dropped ok and cancel too:   {} widgets dropped, {} still tracked (kept by their cycles)",
        dropped(),
        tracked_count()
    );
    let n = collect();
    println!(
        "collect():                   reclaimed {n}; {} widgets dropped, {} still tracked",
        dropped(),
        tracked_count()
    );
    println!(
        "weak handle to the window:   upgrade() is {}",
        if weak.upgrade().is_none() {
            "None: gone"
        } else {
            "Some: still alive"
        }
    );
}
