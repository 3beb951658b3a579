//! A small Python object model for the `test_cpython_*` files (the
//! scenarios of CPython's `Lib/test/test_gc.py`).
//!
//! Python objects are modelled by [`Py`]: lists, tuples, dicts, classes (a
//! class and its `__mro__` tuple form a cycle, as in CPython), instances with
//! an optional `__del__` (a PEP 442 finalizer), functions, bound methods and
//! frames. Every value of `Py` dropped on a thread is counted ([`drops`]).

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use gc_core::{Finalize, Gc, Trace, Tracer, Weak};

/// `__del__`, or a drop hook, of an [`Instance`].
pub type Hook = Rc<dyn Fn(&Py)>;
/// A `__dict__`.
pub type Dict = RefCell<HashMap<String, Gc<Py>>>;

/// A Python object.
pub enum Py {
    /// `int`.
    Int(i64),
    /// `list`.
    List(RefCell<Vec<Gc<Py>>>),
    /// `tuple`.
    Tuple(Vec<Gc<Py>>),
    /// `dict`.
    Dict(Dict),
    /// A class.
    Class(Class),
    /// An instance of a class.
    Instance(Instance),
    /// `f.__globals__`.
    Function {
        /// The module's dict.
        globals: Gc<Py>,
    },
    /// A bound method: `self.__init__`.
    Method {
        /// `self`.
        this: Gc<Py>,
    },
    /// `sys._getframe()`, whose locals may hold the frame itself.
    Frame {
        /// `f_locals`.
        locals: Dict,
    },
    /// A `weakref.ref` object.
    WeakRef(Weak<Py>),
    /// A container without `tp_traverse`: the collector cannot see inside.
    Opaque(Rc<Gc<Py>>),
}

/// `class name(*bases)`.
pub struct Class {
    /// `__name__`.
    pub name: &'static str,
    /// `__bases__`.
    pub bases: Vec<Gc<Py>>,
    /// `(cls, *bases)`: a tuple referring back to the class.
    pub mro: OnceCell<Gc<Py>>,
    /// `__dict__`.
    pub dict: Dict,
}

/// An instance: made with [`instance`].
pub struct Instance {
    /// A name for messages.
    pub name: &'static str,
    /// `__class__`.
    pub class: Option<Gc<Py>>,
    /// `__dict__`.
    pub dict: Dict,
    /// Items of a `list` subclass.
    pub items: RefCell<Vec<Gc<Py>>>,
    /// `__del__`.
    pub del: Option<Hook>,
    /// Runs when the value is dropped (a weakref callback's stand-in).
    pub on_drop: Option<Hook>,
}

impl Trace for Py {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self {
            Py::Int(_) | Py::WeakRef(_) | Py::Opaque(_) => {}
            Py::List(items) => items.trace(tracer),
            Py::Tuple(items) => items.trace(tracer),
            Py::Dict(d) | Py::Frame { locals: d } => d.trace(tracer),
            Py::Class(c) => {
                c.bases.trace(tracer);
                c.mro.trace(tracer);
                c.dict.trace(tracer);
            }
            Py::Instance(i) => {
                i.class.trace(tracer);
                i.dict.trace(tracer);
                i.items.trace(tracer);
            }
            Py::Function { globals } => globals.trace(tracer),
            Py::Method { this } => this.trace(tracer),
        }
    }

    fn finalizer(&self) -> Option<&dyn Finalize> {
        match self {
            Py::Instance(i) if i.del.is_some() => Some(self),
            _ => None,
        }
    }
}

impl Finalize for Py {
    fn finalize(&self) {
        if let Py::Instance(Instance { del: Some(del), .. }) = self {
            del(self);
        }
    }
}

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

/// Values of `Py` dropped on this thread so far.
#[must_use]
pub fn drops() -> usize {
    DROPS.with(Cell::get)
}

impl Drop for Py {
    fn drop(&mut self) {
        let _ = DROPS.try_with(|d| d.set(d.get() + 1));
        if let Py::Instance(Instance {
            on_drop: Some(h), ..
        }) = self
        {
            let h = h.clone();
            h(self);
        }
    }
}

/// `i`.
#[must_use]
pub fn int(i: i64) -> Gc<Py> {
    Gc::new(Py::Int(i))
}

/// `[*items]`.
#[must_use]
pub fn list(items: Vec<Gc<Py>>) -> Gc<Py> {
    Gc::new(Py::List(RefCell::new(items)))
}

/// `l.append(x)`, for a list or an instance of a `list` subclass.
///
/// # Panics
///
/// If `l` is neither.
pub fn append(l: &Gc<Py>, x: Gc<Py>) {
    match &**l {
        Py::List(items) => items.borrow_mut().push(x),
        Py::Instance(i) => i.items.borrow_mut().push(x),
        _ => panic!("not a list"),
    }
}

/// `(*items,)`.
#[must_use]
pub fn tuple(items: Vec<Gc<Py>>) -> Gc<Py> {
    Gc::new(Py::Tuple(items))
}

/// `{}`.
#[must_use]
pub fn dict() -> Gc<Py> {
    Gc::new(Py::Dict(RefCell::default()))
}

/// `o.__dict__` (a dict's or a frame's own items).
///
/// # Panics
///
/// If `o` has none.
#[must_use]
pub fn dict_of(o: &Py) -> &Dict {
    match o {
        Py::Dict(d) | Py::Frame { locals: d } => d,
        Py::Class(c) => &c.dict,
        Py::Instance(i) => &i.dict,
        _ => panic!("no __dict__"),
    }
}

/// `d[k] = v`, or `o.k = v`.
pub fn setitem(o: &Gc<Py>, k: &str, v: Gc<Py>) {
    dict_of(o).borrow_mut().insert(k.to_owned(), v);
}

/// `o.k`.
#[must_use]
pub fn getattr(o: &Py, k: &str) -> Option<Gc<Py>> {
    dict_of(o).borrow().get(k).cloned()
}

/// `class name(*bases): pass`: the class and its `__mro__` tuple.
///
/// # Panics
///
/// Never: the new class's `__mro__` is set once, here.
#[must_use]
pub fn class(name: &'static str, bases: Vec<Gc<Py>>) -> Gc<Py> {
    let c = Gc::new(Py::Class(Class {
        name,
        bases: bases.clone(),
        mro: OnceCell::new(),
        dict: RefCell::default(),
    }));
    let mut mro = vec![c.clone()];
    mro.extend(bases);
    if let Py::Class(cls) = &*c {
        assert!(cls.mro.set(tuple(mro)).is_ok());
    }
    c
}

/// Builds an [`Instance`]: see [`instance`].
pub struct InstanceBuilder(Instance);

impl InstanceBuilder {
    /// Its class.
    #[must_use]
    pub fn of(mut self, class: &Gc<Py>) -> Self {
        self.0.class = Some(class.clone());
        self
    }
    /// Its `__del__`.
    #[must_use]
    pub fn del(mut self, f: impl Fn(&Py) + 'static) -> Self {
        self.0.del = Some(Rc::new(f));
        self
    }
    /// Runs `f` when the value is dropped.
    #[must_use]
    pub fn on_drop(mut self, f: impl Fn(&Py) + 'static) -> Self {
        self.0.on_drop = Some(Rc::new(f));
        self
    }
    /// Allocates the instance.
    #[must_use]
    pub fn build(self) -> Gc<Py> {
        Gc::new(Py::Instance(self.0))
    }
}

/// An instance named `name`, of no class, with no `__del__`.
#[must_use]
pub fn instance(name: &'static str) -> InstanceBuilder {
    InstanceBuilder(Instance {
        name,
        class: None,
        dict: RefCell::default(),
        items: RefCell::default(),
        del: None,
        on_drop: None,
    })
}

/// `C1055820(i)`: an instance with `self.loop = self`.
#[must_use]
pub fn c1055820(name: &'static str) -> Gc<Py> {
    let c = instance(name).build();
    setitem(&c, "loop", c.clone());
    c
}

/// The name of an instance or a class (`"?"` for other objects).
#[must_use]
pub fn name_of(o: &Py) -> &'static str {
    match o {
        Py::Instance(i) => i.name,
        Py::Class(c) => c.name,
        _ => "?",
    }
}

/// `GC_Detector`: a fresh garbage cycle whose finalizer records that a
/// collection examined it.
#[must_use]
pub fn gc_detector() -> Rc<Cell<bool>> {
    let happened = Rc::new(Cell::new(false));
    let h = happened.clone();
    let d = instance("detector").del(move |_| h.set(true)).build();
    setitem(&d, "loop", d.clone());
    happened
}

/// `Lazarus`: `__del__` counts and stores `self` (reached through `self.me`).
///
/// # Panics
///
/// In `__del__`, if `self.me` was deleted.
#[must_use]
pub fn lazarus(
    name: &'static str,
    count: &Rc<Cell<usize>>,
    store: &Rc<RefCell<Vec<Gc<Py>>>>,
) -> Gc<Py> {
    let (count, store) = (count.clone(), store.clone());
    let laz = instance(name)
        .del(move |o| {
            count.set(count.get() + 1);
            store.borrow_mut().push(getattr(o, "me").unwrap());
        })
        .build();
    setitem(&laz, "me", laz.clone());
    laz
}

/// Allocates lists until `detector` reports a collection; returns the count.
///
/// # Panics
///
/// If there was no collection after `limit` lists.
pub fn allocate_until(detector: &Rc<Cell<bool>>, limit: usize) -> usize {
    let mut junk = Vec::new();
    let mut i = 0;
    while !detector.get() {
        i += 1;
        assert!(i <= limit, "gc didn't happen after {limit} iterations");
        junk.push(list(vec![]));
    }
    i
}

impl fmt::Debug for Py {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Py::Int(i) => write!(f, "Int({i})"),
            Py::List(_) => f.write_str("List"),
            Py::Tuple(_) => f.write_str("Tuple"),
            Py::Dict(_) => f.write_str("Dict"),
            Py::Class(c) => write!(f, "Class({})", c.name),
            Py::Instance(i) => write!(f, "Instance({})", i.name),
            Py::Function { .. } => f.write_str("Function"),
            Py::Method { .. } => f.write_str("Method"),
            Py::Frame { .. } => f.write_str("Frame"),
            Py::WeakRef(_) => f.write_str("WeakRef"),
            Py::Opaque(_) => f.write_str("Opaque"),
        }
    }
}

impl fmt::Debug for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Class")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for InstanceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InstanceBuilder").field(&self.0).finish()
    }
}
