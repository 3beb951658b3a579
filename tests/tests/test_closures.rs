//! Traceable closures (SPEC "Foreign containers and closures"): listeners
//! stored as `Vec<Box<dyn Callback<E>>>` whose captured state points back at
//! their widget are collected like any other cycle; they fire with their
//! state; code that captures a `&'static Gc` only leaks.
//!
//! Each test runs on its own thread (`isolated`), so it has its own heap:
//! `collect()` counts only that test's garbage, and the counts asserted are
//! exact. The compile-fail case (a closure that captures a `Gc` by value) is
//! `ui/closure-captures-gc.rs`.
#![deny(warnings, clippy::pedantic)]

use std::cell::{Cell, RefCell};

use gc_core::{Callback, Closure, Gc, Trace, Weak, collect, stats, tracked_count};
use gc_tests::isolated;

// --- helpers -----------------------------------------------------------------

thread_local! {
    /// Names of the widgets dropped so far on this thread.
    static DROPPED: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

fn dropped() -> Vec<&'static str> {
    DROPPED.with(|d| d.borrow().clone())
}

/// Edges rejected so far by full collections on this thread.
fn rejected() -> usize {
    stats()[2].rejected
}

/// What the widgets' listeners receive.
#[derive(Debug)]
struct Event {
    x: i32,
}

/// A widget with a list of heterogeneous listeners.
#[derive(Trace)]
struct Widget {
    name: &'static str,
    clicks: Cell<i32>,
    log: RefCell<Vec<String>>,
    listeners: RefCell<Vec<Box<dyn Callback<Event>>>>,
}

impl Drop for Widget {
    fn drop(&mut self) {
        DROPPED.with(|d| d.borrow_mut().push(self.name));
    }
}

fn widget(name: &'static str) -> Gc<Widget> {
    Gc::new(Widget {
        name,
        clicks: Cell::new(0),
        log: RefCell::new(Vec::new()),
        listeners: RefCell::new(Vec::new()),
    })
}

impl Widget {
    fn listen(&self, l: impl Callback<Event> + 'static) {
        self.listeners.borrow_mut().push(Box::new(l));
    }

    fn fire(&self, e: &Event) {
        for l in self.listeners.borrow().iter() {
            l.call(e);
        }
    }
}

/// A listener written as a type of its own, next to the closures.
#[derive(Trace)]
struct Forward {
    to: Gc<Widget>,
}

impl Callback<Event> for Forward {
    fn call(&self, e: &Event) {
        self.to.log.borrow_mut().push(format!("forwarded {}", e.x));
    }
}

// --- cycles through listeners are collected -----------------------------------

#[test]
fn widget_whose_listeners_point_back_is_collected() {
    isolated(|| {
        let w = widget("button");
        // Three listener kinds, each with the widget in its state.
        w.listen(Closure::new(w.clone(), |w, e: &Event| {
            w.clicks.set(w.clicks.get() + e.x);
        }));
        w.listen(Closure::new((w.clone(), "tag"), |(w, tag), e: &Event| {
            w.log.borrow_mut().push(format!("{tag} {}", e.x));
        }));
        w.listen(Forward { to: w.clone() });
        assert!(Gc::is_tracked(&w));
        assert_eq!(Gc::strong_count(&w), 4);
        let weak: Weak<Widget> = Gc::downgrade(&w);
        let before = rejected();

        w.fire(&Event { x: 2 });
        w.fire(&Event { x: 3 });
        assert_eq!(w.clicks.get(), 5);
        assert_eq!(
            *w.log.borrow(),
            ["tag 2", "forwarded 2", "tag 3", "forwarded 3"]
        );

        drop(w);
        assert!(weak.upgrade().is_some(), "the cycle keeps it alive");
        assert!(dropped().is_empty());
        assert_eq!(collect(), 1);
        assert!(weak.upgrade().is_none());
        assert_eq!(dropped(), ["button"]);
        assert_eq!(rejected(), before, "every edge lies in owned memory");
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn window_and_buttons_linked_through_listeners_are_collected() {
    isolated(|| {
        let window = widget("window");
        let ok = widget("ok");
        let cancel = widget("cancel");
        // Each button tells the window; the window's listener holds both
        // buttons (state: a `Vec` of `Gc`s).
        for b in [&ok, &cancel] {
            b.listen(Closure::new(
                (window.clone(), b.name),
                |(window, name), e: &Event| {
                    window
                        .log
                        .borrow_mut()
                        .push(format!("{name} clicked at {}", e.x));
                },
            ));
        }
        window.listen(Closure::new(
            vec![ok.clone(), cancel.clone()],
            |buttons, _: &Event| {
                for b in buttons {
                    b.clicks.set(b.clicks.get() + 1);
                }
            },
        ));
        ok.fire(&Event { x: 1 });
        cancel.fire(&Event { x: 2 });
        window.fire(&Event { x: 0 });
        assert_eq!(
            *window.log.borrow(),
            ["ok clicked at 1", "cancel clicked at 2"]
        );
        assert_eq!((ok.clicks.get(), cancel.clicks.get()), (1, 1));

        let weaks = [&window, &ok, &cancel].map(Gc::downgrade);
        drop((window, ok, cancel));
        assert_eq!(collect(), 3);
        assert!(weaks.iter().all(|w| w.upgrade().is_none()));
        let mut names = dropped();
        names.sort_unstable();
        assert_eq!(names, ["cancel", "ok", "window"]);
    });
}

#[test]
fn shared_gc_dyn_callback_in_a_cycle_is_collected() {
    isolated(|| {
        let a = widget("a");
        let b = widget("b");
        // One listener, shared by both widgets, whose state holds both.
        let shared: Gc<dyn Callback<Event>> = Gc::from(Box::new(Closure::new(
            (a.clone(), b.clone()),
            |(a, b), e: &Event| {
                a.clicks.set(a.clicks.get() + e.x);
                b.clicks.set(b.clicks.get() + e.x);
            },
        )) as Box<dyn Callback<Event>>);
        assert!(Gc::is_tracked(&shared));
        a.listen(Forward { to: b.clone() });
        // `Gc<dyn Callback<E>>` is a listener too, through a closure around it.
        for w in [&a, &b] {
            w.listen(Closure::new(shared.clone(), |s, e: &Event| s.call(e)));
        }
        drop(shared);
        a.fire(&Event { x: 1 });
        b.fire(&Event { x: 10 });
        assert_eq!((a.clicks.get(), b.clicks.get()), (11, 11));
        assert_eq!(*b.log.borrow(), ["forwarded 1"]);

        let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
        drop((a, b));
        assert_eq!(collect(), 3, "both widgets and the shared listener");
        assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn a_closure_stored_without_a_box_is_traced() {
    /// A listener of a nameable type: a `fn` pointer as the code.
    type OnChange = Closure<Gc<Model>, fn(&Gc<Model>, u32) -> u32>;
    /// A model with one listener, stored without a box.
    #[derive(Trace)]
    struct Model {
        value: Cell<u32>,
        on_change: RefCell<Option<OnChange>>,
    }
    isolated(|| {
        let m = Gc::new(Model {
            value: Cell::new(1),
            on_change: RefCell::new(None),
        });
        let code: fn(&Gc<Model>, u32) -> u32 = |m, by| {
            m.value.set(m.value.get() * by);
            m.value.get()
        };
        *m.on_change.borrow_mut() = Some(Closure::new_by_value(m.clone(), code));
        let c = m.on_change.borrow();
        let on_change = c.as_ref().unwrap();
        assert_eq!(on_change.call(6), 6);
        assert_eq!(on_change.call(7), 42);
        assert!(Gc::ptr_eq(on_change.state(), &m));
        drop(c);
        let w = Gc::downgrade(&m);
        drop(m);
        assert_eq!(collect(), 1);
        assert!(w.upgrade().is_none());
    });
}

// --- listeners fire with their state -------------------------------------------

#[test]
fn listeners_fire_with_their_captured_state_and_return_values() {
    isolated(|| {
        let hits = Gc::new(Cell::new(0));
        let threshold = 10;
        // Heterogeneous states; the code captures plain `Copy` data
        // (`threshold`, a `&'static str`).
        let handlers: Vec<Box<dyn Callback<Event, bool>>> = vec![
            Box::new(Closure::new(hits.clone(), move |hits, e: &Event| {
                hits.set(hits.get() + 1);
                e.x > threshold
            })),
            Box::new(Closure::new(
                (Gc::new(String::from("second")), 5_i32),
                |(name, limit), e: &Event| name.as_str() == "second" && e.x > *limit,
            )),
            Box::new(Closure::new((), |(), e: &Event| e.x < 0)),
        ];
        let handled = |x| -> Vec<bool> { handlers.iter().map(|h| h.call(&Event { x })).collect() };
        assert_eq!(handled(20), [true, true, false]);
        assert_eq!(handled(7), [false, true, false]);
        assert_eq!(handled(-1), [false, false, true]);
        assert_eq!(hits.get(), 3);
        // Untracked state (no `Gc` in it) makes an untracked object.
        let plain: Gc<dyn Callback<Event, bool>> =
            Gc::from(Box::new(Closure::new(3_i32, |n, e: &Event| e.x == *n)) as Box<_>);
        assert!(!Gc::is_tracked(&plain));
        assert!(plain.call(&Event { x: 3 }));
        let untracked = Gc::new(Closure::new(1_u8, |_, (): &()| {}));
        assert!(!Gc::is_tracked(&untracked));
        let tracked = Gc::new(Closure::new(hits, |_, (): &()| {}));
        assert!(Gc::is_tracked(&tracked));
    });
}

#[test]
fn a_fn_item_receives_events_that_borrow() {
    /// An event with a lifetime of its own.
    struct Key<'a> {
        text: &'a str,
    }
    fn on_key(log: &Gc<RefCell<String>>, k: &Key<'_>) {
        log.borrow_mut().push_str(k.text);
    }
    isolated(|| {
        let log = Gc::new(RefCell::new(String::new()));
        let listeners: Vec<Box<dyn for<'a> Callback<Key<'a>>>> =
            vec![Box::new(Closure::new(log.clone(), on_key))];
        for word in ["ab", "cd"] {
            let owned = word.to_uppercase(); // a borrow shorter than the list
            for l in &listeners {
                l.call(&Key { text: &owned });
            }
        }
        assert_eq!(*log.borrow(), "ABCD");
        // An unsized event type.
        let sum: Box<dyn Callback<[i32], i32>> =
            Box::new(Closure::new((), |(), xs: &[i32]| xs.iter().sum()));
        assert_eq!(sum.call(&[1, 2, 3]), 6);
    });
}

#[test]
fn a_listener_may_collect_while_its_list_is_borrowed() {
    isolated(|| {
        let w = widget("busy");
        w.listen(Closure::new(w.clone(), |w, _: &Event| {
            // Unrelated garbage, made and collected mid-dispatch.
            let g = widget("garbage");
            g.listen(Closure::new(g.clone(), |_, _: &Event| {}));
            drop(g);
            let n = collect();
            w.log.borrow_mut().push(format!("collected {n}"));
        }));
        w.fire(&Event { x: 0 });
        assert_eq!(*w.log.borrow(), ["collected 1"]);
        assert_eq!(dropped(), ["garbage"]);
        let weak = Gc::downgrade(&w);
        drop(w);
        assert_eq!(collect(), 1);
        assert!(weak.upgrade().is_none());
    });
}

// --- a borrowed handle in the code is not owned: it only leaks ---------------

#[test]
fn copy_code_capturing_a_static_gc_only_leaks() {
    isolated(|| {
        let w = widget("leaked");
        // A leaked handle, freed by hand at the end (so Miri sees no leak):
        // `raw` keeps the box's write permission for `Box::from_raw`.
        let raw: *mut Gc<Widget> = Box::leak(Box::new(w.clone()));
        // SAFETY: `raw` points to a leaked, live box, freed only at the end
        // of this test, after the last use of this reference.
        let handle: &'static Gc<Widget> = unsafe { &*raw };
        // `&'static Gc` is `Copy`: the code may capture it. It is borrowed,
        // so the closure does not own it and the trace does not report it.
        w.listen(Closure::new((), move |(), e: &Event| {
            handle.clicks.set(handle.clicks.get() + e.x);
        }));
        // The state's edge is reported; the captured one is not.
        w.listen(Closure::new(w.clone(), |w, _: &Event| {
            w.log.borrow_mut().push("state".into());
        }));
        let weak = Gc::downgrade(&w);
        let before = rejected();
        drop(w);

        // The leaked handle is an outside reference: the widget survives.
        let name: &str = handle.name;
        assert_eq!(collect(), 0);
        assert_eq!(name, "leaked");
        assert_eq!(rejected(), before, "nothing unowned was even reported");
        assert!(!Gc::is_dead(handle));
        let w = weak.upgrade().expect("kept alive by the leaked handle");
        w.fire(&Event { x: 4 });
        assert_eq!(w.clicks.get(), 4);
        assert_eq!(*handle.log.borrow(), ["state"]);
        assert!(dropped().is_empty());

        // Break the cycle and free the leaked handle: all of it goes.
        w.listeners.borrow_mut().clear();
        drop(w);
        // SAFETY: `raw` came from `Box::leak` and is freed once; the copy of
        // `handle` captured by the listener was dropped with the list just
        // above, and `handle` is not used again.
        drop(unsafe { Box::from_raw(raw) });
        assert!(weak.upgrade().is_none());
        assert_eq!(dropped(), ["leaked"]);
        assert_eq!(tracked_count(), 0);
    });
}
