//! Traceable closures: [`Closure`] and its trait-object form [`Callback`].
//!
//! A Rust closure's captures are anonymous, so it cannot be traced; a
//! `Closure` keeps the captures that hold `Gc`s in a traced `state` and
//! takes code that is `Copy + 'static`, which cannot own a `Gc`. The user
//! docs are on [`Closure`] (this module is private; both items are
//! re-exported at the crate root).

use core::fmt;

use crate::trace::{__GcTrusted, Trace, Tracer, is_tracked_type};

/// A closure that the cycle collector can trace: captured `state`, which
/// holds the `Gc`s and is traced, and `code`, a `Copy + 'static` closure
/// that receives the state and so needs to own no `Gc` of its own.
///
/// A Rust closure cannot be traced: its captures are anonymous, so a
/// `Box<dyn Fn(&Event)>` that captured a `Gc` hides that edge from the
/// collector, and a listener pointing back at its widget makes a cycle that
/// is never freed (`#[gc(skip)]` on the listener list compiles, and leaks
/// exactly those cycles). A `Closure` splits one in two:
///
/// - the **state**, any [`Trace`] value (a `Gc`, a tuple of them, a derived
///   struct): it holds the `Gc`s and is traced like any field;
/// - the **code**, a closure or `fn` that is `Copy + 'static` and gets the
///   state as its first argument. `Gc` is not `Copy`, so a `Copy` closure
///   cannot own one.
///
/// Store heterogeneous listeners as `Vec<Box<dyn Callback<Event>>>`
/// ([`Callback`] has [`Trace`] as a supertrait, so each box's contents are
/// traced): a listener whose state points back at its owner is a cycle like
/// any other, and [`collect`](crate::collect) frees it.
///
/// It implements [`Trace`] (tracing the state only, so a closure whose
/// state holds no `Gc` is untracked, as its state would be) and, for the
/// listener shape, [`Callback`]. With a `fn` pointer as the code, the type can be named in
/// a field without a box: `Closure<Gc<Model>, fn(&Gc<Model>, &Event)>`.
///
/// # Argument types
///
/// [`Closure::new`] is for the listener shape, `Fn(&S, &E) -> R`: the code
/// takes the state and the event by reference, for every lifetime of the
/// event's borrow, which is what [`Callback<E, R>`] calls. Name the event
/// type in the closure (`|state, e: &Click| ..`); the state's type is
/// inferred. [`Closure::new_by_value`] is for code that takes its argument
/// by value, `Fn(&S, A) -> R`. [`Closure::call`] calls either kind.
///
/// An event type with a lifetime of its own (`Key<'a>`) is received by a
/// `dyn for<'a> Callback<Key<'a>>`. A closure's signature is inferred for
/// one such lifetime only, so give that code as a `fn` item
/// (`fn on_key(s: &State, k: &Key<'_>)`), which is general over all of them.
///
/// # What the code may capture
///
/// Anything `Copy + 'static`: numbers, `&'static str`, `fn` pointers,
/// `&'static` references. A captured `&'static Gc` (say, from `Box::leak`)
/// is borrowed, not owned, so it is not traced: its target is kept alive by
/// the leaked handle, as it would be anyway. That can leak, never free
/// anything early. Put every `Gc` the code needs into the state.
///
/// # Examples
///
/// A button whose listener points back at it, collected once dropped:
///
/// ```
/// use gc_core::{Callback, Closure, Gc, Trace, Weak};
/// use std::cell::{Cell, RefCell};
///
/// struct Click;
///
/// #[derive(Trace)]
/// struct Button {
///     clicks: Cell<u32>,
///     on_click: RefCell<Vec<Box<dyn Callback<Click>>>>,
/// }
///
/// let button = Gc::new(Button { clicks: Cell::new(0), on_click: RefCell::new(Vec::new()) });
/// // The listener's state is the button itself: a cycle.
/// let listener = Closure::new(button.clone(), |b, _: &Click| b.clicks.set(b.clicks.get() + 1));
/// button.on_click.borrow_mut().push(Box::new(listener));
///
/// for l in button.on_click.borrow().iter() {
///     l.call(&Click);
/// }
/// assert_eq!(button.clicks.get(), 1);
///
/// let weak: Weak<Button> = Gc::downgrade(&button);
/// drop(button);
/// assert_eq!(gc_core::collect(), 1);
/// assert!(weak.upgrade().is_none());
/// ```
///
/// Called directly:
///
/// ```
/// use gc_core::{Closure, Gc};
/// use std::cell::Cell;
///
/// let total = Gc::new(Cell::new(0));
/// let add = Closure::new(total.clone(), |t, n: &i32| t.set(t.get() + n));
/// add.call(&2);
/// add.call(&3);
/// assert_eq!(total.get(), 5);
/// ```
///
/// A closure that captures a `Gc` is not `Copy`, so it is rejected:
///
/// ```compile_fail
/// use gc_core::{Closure, Gc};
///
/// let g = Gc::new(1);
/// let c = Closure::new((), move |_, _: &()| *g); // error: `Gc<i32>: Copy` is not satisfied
/// ```
#[derive(Clone, Copy)]
pub struct Closure<S, F> {
    /// The captured state: every `Gc` the closure needs, traced.
    state: S,
    /// The code: `Copy`, so it owns no `Gc`.
    code: F,
}

impl<S: Trace, F> Closure<S, F> {
    /// A closure of `state` and `code`, where `code` takes the state and an
    /// argument by reference, `&E` for every lifetime of the borrow: the
    /// shape of a listener, which [`Callback<E, R>`] calls.
    ///
    /// `code` must be `Copy + 'static`, so it cannot own a `Gc`: move the
    /// `Gc`s it needs into `state` and reach them through its first
    /// argument. Annotate the argument's type (`|state, e: &Event| ..`);
    /// the state's is inferred.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Callback, Closure, Gc};
    /// use std::cell::RefCell;
    ///
    /// let log = Gc::new(RefCell::new(Vec::new()));
    /// let on_key: Box<dyn Callback<str>> =
    ///     Box::new(Closure::new(log.clone(), |log, key: &str| log.borrow_mut().push(key.to_owned())));
    /// on_key.call("a");
    /// on_key.call("b");
    /// assert_eq!(*log.borrow(), ["a", "b"]);
    /// ```
    #[inline]
    #[must_use = "a closure does nothing unless it is called"]
    pub fn new<E: ?Sized, R>(state: S, code: F) -> Closure<S, F>
    where
        F: Fn(&S, &E) -> R + Copy + 'static,
    {
        Closure { state, code }
    }

    /// A closure of `state` and `code`, where `code` takes its argument by
    /// value: `Fn(&S, A) -> R` for one type `A`.
    ///
    /// Use it for arguments that are not borrowed (numbers, owned values,
    /// `()` for none). Such a closure is called with [`Closure::call`]; it
    /// implements [`Callback`] only if `A` is a reference for every
    /// lifetime, which [`Closure::new`] is for. `code` must be
    /// `Copy + 'static`, as for `new`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Closure, Gc};
    ///
    /// let base = Gc::new(10);
    /// let add = Closure::new_by_value(base, |base, n: i32| **base + n);
    /// assert_eq!(add.call(5), 15);
    ///
    /// let get = Closure::new_by_value(Gc::new("state"), |s, (): ()| **s);
    /// assert_eq!(get.call(()), "state");
    /// ```
    #[inline]
    #[must_use = "a closure does nothing unless it is called"]
    pub fn new_by_value<A, R>(state: S, code: F) -> Closure<S, F>
    where
        F: Fn(&S, A) -> R + Copy + 'static,
    {
        Closure { state, code }
    }
}

impl<S, F> Closure<S, F> {
    /// Calls the code with the state and `arg`.
    ///
    /// This works for both constructors: for one made by [`Closure::new`],
    /// `arg` is a reference (`&event`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Closure, Gc};
    ///
    /// let name = Gc::new(String::from("ok"));
    /// let greet = Closure::new(name, |name, greeting: &str| format!("{greeting}, {name}"));
    /// assert_eq!(greet.call("hello"), "hello, ok");
    /// ```
    #[inline]
    pub fn call<A, R>(&self, arg: A) -> R
    where
        F: Fn(&S, A) -> R,
    {
        (self.code)(&self.state, arg)
    }

    /// The captured state.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Closure, Gc};
    ///
    /// let counter = Closure::new(Gc::new(7), |n, _: &()| **n);
    /// assert_eq!(**counter.state(), 7);
    /// ```
    #[inline]
    #[must_use]
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Consumes the closure, returning its state.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Closure, Gc};
    ///
    /// let g = Gc::new(7);
    /// let c = Closure::new(g.clone(), |n, _: &()| **n);
    /// let state = c.into_state();
    /// assert!(Gc::ptr_eq(&state, &g));
    /// ```
    #[inline]
    #[must_use]
    pub fn into_state(self) -> S {
        self.state
    }
}

/// Shows the state; the code is anonymous.
///
/// # Examples
///
/// ```
/// use gc_core::Closure;
///
/// let c = Closure::new(3, |n, _: &()| *n);
/// assert_eq!(format!("{c:?}"), "Closure { state: 3, .. }");
/// ```
impl<S: fmt::Debug, F> fmt::Debug for Closure<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closure")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Traces the state, and only the state: the code is `Copy` (both
/// constructors demand it), so it owns no `Gc`; whatever it borrows is not
/// owned by the closure and is not reported (a leak at worst). Tracked or
/// untracked exactly as the state's type is.
///
/// # Examples
///
/// ```
/// use gc_core::{Closure, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Model {
///     on_change: RefCell<Option<Closure<Gc<Model>, fn(&Gc<Model>, &u32)>>>,
/// }
///
/// let m = Gc::new(Model { on_change: RefCell::new(None) });
/// let code: fn(&Gc<Model>, &u32) = |_, _| {};
/// *m.on_change.borrow_mut() = Some(Closure::new(m.clone(), code)); // a cycle
/// drop(m);
/// assert_eq!(gc_core::collect(), 1);
///
/// // State that holds no `Gc` makes an untracked closure.
/// assert!(!Gc::is_tracked(&Gc::new(Closure::new(1, |n, _: &()| *n))));
/// ```
impl<S: Trace, F> Trace for Closure<S, F> {
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        // `code` is `Copy` (the constructors demand it): it owns no `Gc`.
        self.state.trace(tracer);
    }

    #[inline]
    fn __gc_tracked(budget: &mut u32) -> bool {
        S::__gc_tracked(budget)
    }

    #[inline]
    fn __gc_tracked_dyn(&self) -> bool {
        is_tracked_type::<Self>()
    }

    #[inline]
    fn __gc_trusted(budget: &mut u32) -> Option<__GcTrusted> {
        // The trace only traces the state.
        S::__gc_trusted(budget)
    }
}

/// A traceable callback: something that can be called with `&E` and is
/// [`Trace`], so a `Box<dyn Callback<E, R>>` (or a `Vec` of them, or a
/// `Gc<dyn Callback<E, R>>`) is traced through its contents.
///
/// [`Closure`] implements it for code of the listener shape,
/// `Fn(&S, &E) -> R` ([`Closure::new`]); any other [`Trace`] type may
/// implement it too. `E` may be unsized (`Callback<str>`,
/// `Callback<[Value], Value>`), and need not be `Trace`: events are passed
/// in, not stored.
///
/// Not to be confused with the collector's [`add_callback`](crate::add_callback),
/// which takes a plain closure that is not stored in the heap.
///
/// # Examples
///
/// Heterogeneous listeners, one a [`Closure`] and one a type of its own:
///
/// ```
/// use gc_core::{Callback, Closure, Gc, Trace};
/// use std::cell::RefCell;
///
/// struct Resize { width: u32 }
///
/// #[derive(Trace)]
/// struct Log(RefCell<Vec<String>>);
///
/// #[derive(Trace)]
/// struct Echo(Gc<Log>);
/// impl Callback<Resize> for Echo {
///     fn call(&self, e: &Resize) {
///         self.0.0.borrow_mut().push(format!("echo {}", e.width));
///     }
/// }
///
/// let log = Gc::new(Log(RefCell::new(Vec::new())));
/// let listeners: Vec<Box<dyn Callback<Resize>>> = vec![
///     Box::new(Closure::new(log.clone(), |log, e: &Resize| {
///         log.0.borrow_mut().push(format!("width {}", e.width));
///     })),
///     Box::new(Echo(log.clone())),
/// ];
/// for l in &listeners {
///     l.call(&Resize { width: 80 });
/// }
/// assert_eq!(*log.0.borrow(), ["width 80", "echo 80"]);
///
/// // As a shared trait object:
/// let shared: Gc<dyn Callback<Resize>> = Gc::from(listeners.into_iter().next().unwrap());
/// shared.call(&Resize { width: 1 });
/// assert_eq!(log.0.borrow().len(), 3);
/// ```
pub trait Callback<E: ?Sized, R = ()>: Trace {
    /// Calls the callback with `event`.
    fn call(&self, event: &E) -> R;
}

/// Calls the code with the state and `event`.
///
/// # Examples
///
/// ```
/// use gc_core::{Callback, Closure, Gc};
///
/// fn fire<C: Callback<u32, u32> + ?Sized>(c: &C) -> u32 {
///     c.call(&2)
/// }
///
/// let scale = Closure::new(Gc::new(21_u32), |k, x: &u32| **k * x);
/// assert_eq!(fire(&scale), 42);
/// ```
impl<S: Trace, F, E: ?Sized, R> Callback<E, R> for Closure<S, F>
where
    F: Fn(&S, &E) -> R,
{
    #[inline]
    fn call(&self, event: &E) -> R {
        (self.code)(&self.state, event)
    }
}
