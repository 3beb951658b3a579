//! The generated code names everything by absolute path: a module that
//! shadows `Trace`, `Tracer`, `Option`, `Some`, `bool`, `u32`, `core` and
//! `gc_core`, with fields named like the derive's locals, still compiles
//! without a warning.
#![deny(warnings, rust_2018_idioms, unused_qualifications, unused_results)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![allow(non_camel_case_types, reason = "these names shadow std's on purpose")]

use std::cell::RefCell;

/// A user trait named like ours.
pub trait Trace {}
/// A user type named like ours.
#[derive(Debug)]
pub struct Tracer;
/// A user type named like a prelude type.
#[derive(Debug)]
pub struct Option;
/// A user type named like a prelude variant.
#[derive(Debug)]
pub struct Some;
/// A user type named like a prelude type.
#[derive(Debug)]
pub struct Result;
/// A user type named like a primitive.
#[derive(Debug)]
pub struct bool;
/// A user type named like a primitive.
#[derive(Debug)]
pub struct u32;
/// A user type named like ours.
#[derive(Debug)]
pub struct Finalize;
/// A user function named like a hidden helper.
pub fn __gc_spend() {}
/// A user function named like a hidden helper.
pub fn __gc_tracked_of() {}
/// A module named like `core`.
pub mod core {}
/// A module named like our crate.
pub mod gc_core {}

/// Fields named like the derive's locals.
#[derive(::gc_core::Trace, Debug)]
pub struct Fields {
    /// Named like the tracer argument.
    pub __tracer: RefCell<std::option::Option<::gc_core::Gc<Fields>>>,
    /// Named like the budget argument.
    pub __budget: std::option::Option<Box<Fields>>,
    /// Named like a binding.
    pub __self_0: std::primitive::u32,
    /// A keyword-like name.
    pub self_: ::gc_core::Gc<i64>,
    /// A raw identifier.
    pub r#type: u8,
}

/// Every variant shape, generic, with a finalizer.
#[derive(::gc_core::Trace, Debug)]
#[gc(finalize)]
pub enum Variants<'a, T: Clone, const N: usize>
where
    T: Default,
{
    /// Unit.
    Unit,
    /// Tuple.
    Tuple(T, #[gc(skip)] &'a str, [T; N]),
    /// Named.
    Named {
        /// Named like the tracer argument.
        __tracer: T,
        /// Named like a binding.
        __self_0: Vec<Variants<'a, T, N>>,
        /// A raw identifier.
        r#fn: u8,
    },
}

impl<T: Clone + Default, const N: usize> ::gc_core::Finalize for Variants<'_, T, N> {
    fn finalize(&self) {}
}

/// No variants at all.
#[derive(::gc_core::Trace, Debug)]
pub enum Never {}

/// A module without the prelude.
pub mod bare {
    #![no_implicit_prelude]

    /// Fields of std types, named in full.
    #[derive(::gc_core::Trace, ::core::fmt::Debug)]
    #[gc(finalize)]
    pub struct Bare {
        /// The type itself, boxed.
        pub next: ::std::option::Option<::std::boxed::Box<Bare>>,
        /// A leaf.
        pub bytes: ::std::vec::Vec<::core::primitive::u8>,
        /// A pointer.
        pub shared: ::gc_core::Gc<::core::primitive::i32>,
    }

    impl ::gc_core::Finalize for Bare {
        fn finalize(&self) {}
    }

    /// Every variant shape.
    #[derive(::gc_core::Trace, ::core::fmt::Debug)]
    pub enum Shapes {
        /// Unit.
        Unit,
        /// Tuple.
        Tuple(::core::primitive::u8, ::std::boxed::Box<Shapes>),
        /// Named.
        Named {
            /// A leaf.
            leaf: ::std::string::String,
        },
    }
}

fn main() {
    let a = ::gc_core::Gc::new(Fields {
        __tracer: RefCell::new(None),
        __budget: None,
        __self_0: 0,
        self_: ::gc_core::Gc::new(1),
        r#type: 0,
    });
    *a.__tracer.borrow_mut() = std::option::Option::Some(a.clone());
    drop(a);
    assert_eq!(::gc_core::collect(), 1);
    let v: Variants<'static, u8, 2> = Variants::Tuple(1, "x", [1, 2]);
    let _ = format!("{v:?}");
    let b = ::gc_core::Gc::new(bare::Bare {
        next: None,
        bytes: Vec::new(),
        shared: ::gc_core::Gc::new(1),
    });
    let _ = format!("{b:?}");
    assert!(!::gc_core::Gc::is_tracked(&::gc_core::Gc::new(
        bare::Shapes::Named {
            leaf: String::new(),
        }
    )));
}
