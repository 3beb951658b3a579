//! CPython's `Lib/test/test_gc.py`, part 1: basic cycles (lists, dicts,
//! tuples, classes, instances, methods, functions, frames) and finalizers
//! with resurrection (see `shared/reference/cpython-gc.md` §4). There is no
//! `gc.garbage`: under PEP 442 every cycle with finalizers is collectable.
//!
//! Python objects are modelled by `gc_tests::cpython::Py`. In Rust one `Gc`
//! allocation is one object, so CPython's `!= 0` assertions become exact
//! counts here. Each test runs on a fresh thread, so it has a fresh heap of
//! its own.

use gc_tests::cpython::{
    Py, append, class, dict, dict_of, drops, getattr, instance, int, lazarus, list, name_of,
    setitem, tuple,
};
use gc_tests::isolated;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{Gc, Weak, collect, collect_generation, count, stats, tracked_count};

// --- GCTests: basic cycles ---------------------------------------------------------

#[test]
fn test_list() {
    isolated(|| {
        let l = list(vec![]);
        append(&l, l.clone());
        drop(l);
        assert_eq!(collect(), 1);
        assert_eq!(drops(), 1);
    });
}

#[test]
fn test_dict() {
    isolated(|| {
        let d = dict();
        setitem(&d, "1", d.clone());
        drop(d);
        assert_eq!(collect(), 1);
        assert_eq!(drops(), 1);
    });
}

#[test]
fn test_tuple() {
    isolated(|| {
        // A tuple closes the cycle through a list.
        let l = list(vec![]);
        let t = tuple(vec![l.clone()]);
        append(&l, t);
        drop(l);
        assert_eq!(collect(), 2);
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_class() {
    isolated(|| {
        let a = class("A", vec![]);
        setitem(&a, "a", a.clone());
        drop(a);
        assert_eq!(collect(), 2, "the class and its __mro__");
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_newstyleclass() {
    isolated(|| {
        // A bare class is cyclic through its __mro__.
        drop(class("A", vec![]));
        assert_eq!(collect(), 2);
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_instance() {
    isolated(|| {
        let cls = class("A", vec![]);
        let a = instance("a").of(&cls).build();
        setitem(&a, "a", a.clone());
        drop(a);
        assert_eq!(collect(), 1);
        assert_eq!(drops(), 1);
        drop(cls);
        assert_eq!(collect(), 2);
    });
}

#[test]
fn test_newinstance() {
    isolated(|| {
        let a_cls = class("A", vec![]);
        let a = instance("a").of(&a_cls).build();
        setitem(&a, "a", a.clone());
        assert_eq!(collect(), 0);
        drop(a);
        assert_eq!(collect(), 1);

        // class B(list); class C(B, A); a C instance with items and a loop.
        let b_cls = class("B", vec![]);
        let c_cls = class("C", vec![b_cls.clone(), a_cls.clone()]);
        let a = instance("c").of(&c_cls).build();
        append(&a, int(1));
        setitem(&a, "a", a.clone());
        assert_eq!(collect(), 0);
        drop(a);
        assert_eq!(collect(), 2, "the instance and its int item");

        // del B, C: two classes, two __mro__ tuples.
        drop((b_cls, c_cls));
        assert_eq!(collect(), 4);

        // A.a = A(); del A: the class, its __mro__ and the instance.
        let inst = instance("a2").of(&a_cls).build();
        setitem(&a_cls, "a", inst);
        drop(a_cls);
        assert_eq!(collect(), 3);
        assert_eq!(collect(), 0);
    });
}

#[test]
fn test_method() {
    isolated(|| {
        // self.init = self.__init__: instance <-> bound method.
        let a = instance("a").build();
        let m = Gc::new(Py::Method { this: a.clone() });
        setitem(&a, "init", m);
        drop(a);
        assert_eq!(collect(), 2);
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_function() {
    isolated(|| {
        // exec("def f(): pass", d): f.__globals__ is d, d['f'] is f.
        let d = dict();
        let f = Gc::new(Py::Function { globals: d.clone() });
        setitem(&d, "f", f);
        drop(d);
        assert_eq!(collect(), 2);
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_frame() {
    isolated(|| {
        let frame = Gc::new(Py::Frame {
            locals: RefCell::default(),
        });
        setitem(&frame, "frame", frame.clone());
        drop(frame);
        assert_eq!(collect(), 1);
    });
}

#[test]
fn test_get_objects() {
    isolated(|| {
        let before = tracked_count();
        let l = list(vec![]);
        append(&l, l.clone());
        assert_eq!(tracked_count(), before + 1);
        assert!(Gc::is_tracked(&l));
        drop(l);
        assert_eq!(tracked_count(), before + 1, "garbage is still tracked");
        assert_eq!(collect(), 1);
        assert_eq!(tracked_count(), before);
    });
}

#[test]
fn test_get_objects_generations() {
    isolated(|| {
        // A new self-list is in generation 0; after a collection it is not.
        let l = list(vec![]);
        append(&l, l.clone());
        assert_eq!(count().0, 1);
        assert_eq!(collect(), 0);
        drop(l);
        assert_eq!(collect_generation(0), 0, "no longer young");
        assert_eq!(
            collect_generation(1),
            0,
            "survivors of a full collection are old"
        );
        assert_eq!(collect_generation(2), 1);
    });
}

// --- finalizers, resurrection ---------------------------------------------------------

#[test]
fn test_legacy_finalizer() {
    isolated(|| {
        // Under PEP 442 a cycle with a finalizer is simply collected.
        let dels = Rc::new(Cell::new(0));
        let d = dels.clone();
        let a = instance("A").del(move |_| d.set(d.get() + 1)).build();
        setitem(&a, "a", a.clone());
        let b = instance("B").build();
        setitem(&b, "b", b.clone());
        drop((a, b));
        assert_eq!(collect(), 2);
        assert_eq!(dels.get(), 1);
        assert_eq!(drops(), 2);
        assert_eq!(collect(), 0);
    });
}

#[test]
fn test_del() {
    isolated(|| {
        // A finalizer that allocates, with a threshold that makes every
        // other allocation collect.
        gc_core::set_threshold(1, 10, 10);
        let dels = Rc::new(Cell::new(0));
        let mk = |name| {
            let dels = dels.clone();
            instance(name)
                .del(move |o| {
                    // dir(self): a new list of the attribute names.
                    let names: Vec<Gc<Py>> = dict_of(o)
                        .borrow()
                        .keys()
                        .map(|k| int(i64::try_from(k.len()).unwrap()))
                        .collect();
                    let l = list(names);
                    append(&l, l.clone());
                    dels.set(dels.get() + 1);
                })
                .build()
        };
        // Freed by counting: the finalizer runs outside any collection.
        let a = mk("a");
        setitem(&a, "x", int(1));
        drop(a);
        // Freed by the collector: the finalizer runs inside one.
        let b = mk("b");
        setitem(&b, "b", b.clone());
        drop(b);
        collect();
        assert_eq!(dels.get(), 2);
        gc_core::set_threshold(2000, 10, 10);
        collect();
        assert_eq!(dels.get(), 2);
        assert_eq!(tracked_count(), 0);
    });
}

#[test]
fn test_resurrection_only_happens_once_per_object() {
    isolated(|| {
        let resurrected = Rc::new(Cell::new(0));
        let instances: Rc<RefCell<Vec<Gc<Py>>>> = Rc::default();
        drop(lazarus("laz", &resurrected, &instances));
        assert_eq!(collect(), 0);
        assert_eq!(resurrected.get(), 1);
        assert_eq!(instances.borrow().len(), 1);
        assert_eq!(name_of(&instances.borrow()[0]), "laz");

        instances.borrow_mut().clear();
        assert_eq!(collect(), 1);
        assert_eq!(resurrected.get(), 1, "__del__ is not run again");
        assert!(instances.borrow().is_empty());
        assert_eq!(drops(), 1);
    });
}

#[test]
fn test_resurrection_is_transitive() {
    isolated(|| {
        let n = Rc::new(Cell::new(0));
        let store: Rc<RefCell<Vec<Gc<Py>>>> = Rc::default();
        let laz = lazarus("laz", &n, &store);
        let cargo = instance("cargo").build();
        setitem(&cargo, "laz", laz.clone());
        setitem(&laz, "cargo", cargo.clone());
        let cargo_addr = Gc::as_ptr(&cargo).addr();
        drop((laz, cargo));

        assert_eq!(collect(), 0);
        let laz = store.borrow()[0].clone();
        let cargo = getattr(&laz, "cargo").unwrap();
        assert_eq!(Gc::as_ptr(&cargo).addr(), cargo_addr, "the same object");
        assert!(!Gc::is_dead(&cargo));
        assert_eq!(name_of(&cargo), "cargo");
        assert!(Gc::ptr_eq(&getattr(&cargo, "laz").unwrap(), &laz));
        assert_eq!(drops(), 0);
        drop((laz, cargo));
        store.borrow_mut().clear();
        assert_eq!(collect(), 2);
        assert_eq!(n.get(), 1);
        assert_eq!(drops(), 2);
    });
}

#[test]
fn test_resurrection_does_not_block_cleanup_of_other_objects() {
    isolated(|| {
        const N: usize = 100;
        let resurrected = Rc::new(Cell::new(0));
        let zs: Rc<RefCell<Vec<Gc<Py>>>> = Rc::default();
        let collected = || stats()[2].collected;
        let make_as = || {
            for _ in 0..N {
                let a = instance("A").build();
                setitem(&a, "me", a.clone());
            }
        };

        // N A's.
        make_as();
        let before = collected();
        assert_eq!(collect(), N);
        assert_eq!(collected(), before + N);

        // One Z.
        drop(lazarus("Z", &resurrected, &zs));
        let before = collected();
        assert_eq!(collect(), 0);
        assert_eq!(collected(), before);

        // N A's and one Z.
        make_as();
        drop(lazarus("Z", &resurrected, &zs));
        let before = collected();
        assert_eq!(collect(), N, "the resurrection does not block the others");
        assert_eq!(collected(), before + N);
        assert_eq!(zs.borrow().len(), 2);

        zs.borrow_mut().clear();
        let before = collected();
        assert_eq!(collect(), 2);
        assert_eq!(collected(), before + 2);
        assert_eq!(resurrected.get(), 2);
        assert_eq!(drops(), 2 * N + 2);
    });
}

#[test]
fn test_bug21435() {
    isolated(|| {
        // a.attr = b; b.attr = a; B.__del__ sets self.attr = None.
        let a = instance("A").build();
        let b = instance("B")
            .del(|o| {
                dict_of(o).borrow_mut().insert("attr".into(), int(0));
            })
            .build();
        setitem(&a, "attr", b.clone());
        setitem(&b, "attr", a);
        drop(b);
        assert_eq!(collect(), 2);
        assert_eq!(drops(), 2 + 1, "a, b and the int stored by __del__");
    });
}

#[test]
fn test_function_tp_clear_leaves_consistent_state() {
    isolated(|| {
        // The global `latefin`, whose __del__ reads a weak ref to `func`
        // created by `cyc.__del__` during finalization.
        let global: Rc<RefCell<Option<Gc<Py>>>> = Rc::default();
        let ref_slot: Rc<RefCell<Option<Weak<Py>>>> = Rc::default();
        let seen: Rc<RefCell<Vec<Option<bool>>>> = Rc::default();
        let latefin = instance("latefin")
            .del({
                let (ref_slot, seen) = (ref_slot.clone(), seen.clone());
                move |_| {
                    let func = ref_slot.borrow().as_ref().and_then(Weak::upgrade);
                    // Must not expose a dropped object.
                    seen.borrow_mut()
                        .push(func.map(|f| Gc::try_deref(&f).is_some()));
                }
            })
            .build();
        *global.borrow_mut() = Some(latefin.clone());
        let func = Gc::new(Py::Function { globals: dict() });
        let cyc = instance("cyc")
            .del({
                let (global, ref_slot) = (global.clone(), ref_slot.clone());
                move |o| {
                    let func = getattr(o, "func").unwrap();
                    *ref_slot.borrow_mut() = Some(Gc::downgrade(&func));
                    drop(global.borrow_mut().take()); // del latefin
                }
            })
            .build();
        setitem(&cyc, "func", func.clone());
        setitem(&cyc, "latefin", latefin);
        // func.__module__ = cyc, through its globals dict.
        if let Py::Function { globals } = &*func {
            setitem(globals, "__module__", cyc.clone());
        }
        drop((func, cyc));
        let n = collect();
        assert_eq!(n, 3, "func, its globals and cyc");
        assert_eq!(
            *seen.borrow(),
            [None],
            "a weak ref made by a finalizer to garbage does not upgrade"
        );
        assert!(ref_slot.borrow().as_ref().unwrap().upgrade().is_none());
        assert_eq!(drops(), 4);
    });
}
