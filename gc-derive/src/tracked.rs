//! Whether a derived type is *tracked*: may its values hold a `Gc`?
//!
//! The answer is worked out from the field types at compile time, so a type
//! whose fields can never hold a `Gc` is untracked (freed by counting alone,
//! never visited by the collector). Each field contributes:
//!
//! - nothing if skipped, "yes" if traced `with` a function;
//! - for a type that mentions the type itself (its name as a path segment,
//!   or `Self`): a walk through the std wrappers (`Option`, `Vec`, `Box`,
//!   maps, cells, tuples, arrays, slices, ...). An occurrence of the type
//!   itself contributes "no" (the least fixed point: a type is tracked only
//!   if something *other* than itself makes it so); `Gc` contributes "yes";
//!   `Rc`, `Arc`, `Weak`, `PhantomData`, `Cell` and references contribute
//!   "no"; any other type around the type itself contributes "yes" (its
//!   insides cannot be seen);
//! - `Box<X>` anywhere contributes `X`'s answer (std's `Box<T>` answers
//!   "yes" because `T` may be unsized; here the derive can see that it is
//!   not): `Box<str>` "no", `Box<[X]>` `X`'s answer, `Box<dyn ..>` "yes";
//! - any other type: its own `Trace::__gc_tracked` answer, asked at run time
//!   (with a budget, so mutually recursive types stay finite).
//!
//! Types that may be unsized (`[X]`, `str`, `dyn ..`, `?Sized` parameters)
//! are never asked: `__gc_tracked` needs `Self: Sized`.
//!
//! This module only analyses: its answer is data (the types to ask, each
//! with the span of its field), and `expand` turns it into code, as serde's
//! `internals/` leave every `quote!` to `ser.rs`/`de.rs`.
//!
//! A wrong "no" only leaks cycles through such values, a wrong "yes" only
//! costs speed. Wrappers are recognised by name, so a user type named like
//! one (`Option`, `Box`, ...) that holds a `Gc` elsewhere than in its type
//! argument could be misjudged: only leaks follow.

use std::collections::HashSet;

use proc_macro2::Span;
use syn::{GenericArgument, GenericParam, Generics, Ident, PathArguments, Type, TypeParamBound};

use crate::ast::{Container, Data, Field, any_path};

/// What a field (or the whole type) contributes to "may hold a `Gc`".
#[derive(Debug)]
pub(crate) enum Answer<'a> {
    /// Never holds a `Gc`.
    No,
    /// May hold a `Gc` (or cannot be known: the conservative answer).
    Yes,
    /// The `||` of run-time questions, one per type: is `<Ty as
    /// Trace>::__gc_tracked` true? Each type comes with the span where a
    /// missing `Trace` impl is reported (its field's), and appears once.
    Ask(Vec<(&'a Type, Span)>),
}

impl<'a> Answer<'a> {
    /// `self || other`.
    fn or(self, other: Answer<'a>) -> Answer<'a> {
        match (self, other) {
            (Answer::Yes, _) | (_, Answer::Yes) => Answer::Yes,
            (Answer::No, x) | (x, Answer::No) => x,
            (Answer::Ask(mut a), Answer::Ask(b)) => {
                for (ty, span) in b {
                    // Asking a type twice answers nothing new; the first
                    // field's span is kept.
                    if !a.iter().any(|&(seen, _)| *seen == *ty) {
                        a.push((ty, span));
                    }
                }
                Answer::Ask(a)
            }
        }
    }
}

/// Where a type stands: a field other than a struct's last, or the element
/// of a std container, must be sized; a struct's last field or the content of
/// a `Box` may not be.
#[derive(Clone, Copy)]
enum Place {
    Sized,
    MaybeUnsized,
}

/// How a std type known by name answers.
#[derive(Clone, Copy)]
enum Std {
    /// `Box<X>`: `X`'s answer, where `X` may be unsized.
    Box,
    /// "Yes".
    Gc,
    /// Its one element type's answer.
    One,
    /// The `||` of its two element types' answers.
    Two,
    /// "No", whatever its arguments.
    Never,
}

/// The std types the analysis knows by name: how each answers, and whether
/// it is sized whatever its arguments.
const STD: &[(&str, Std, bool)] = &[
    ("Box", Std::Box, true),
    ("Gc", Std::Gc, true),
    ("Option", Std::One, true),
    ("Vec", Std::One, true),
    ("VecDeque", Std::One, true),
    ("LinkedList", Std::One, true),
    ("BinaryHeap", Std::One, true),
    ("BTreeSet", Std::One, true),
    ("HashSet", Std::One, true),
    ("RefCell", Std::One, false),
    ("OnceCell", Std::One, false),
    ("Mutex", Std::One, false),
    ("RwLock", Std::One, false),
    ("ManuallyDrop", Std::One, false),
    ("Reverse", Std::One, false),
    ("Wrapping", Std::One, false),
    ("BTreeMap", Std::Two, true),
    ("HashMap", Std::Two, true),
    ("Result", Std::Two, true),
    ("Rc", Std::Never, true),
    ("Arc", Std::Never, true),
    ("Weak", Std::Never, true),
    ("PhantomData", Std::Never, true),
    ("Cell", Std::Never, false),
];

/// The entry of [`STD`] for the type named `name`.
fn std_type(name: &Ident) -> Option<(Std, bool)> {
    STD.iter()
        .find(|(n, ..)| name == n)
        .map(|&(_, std, sized)| (std, sized))
}

/// The derive's view of the type, for working out its answer.
pub(crate) struct Tracking<'a> {
    /// The type's name.
    own: &'a Ident,
    /// The type's generics (to recognise `Own<T, U>` as the type itself).
    generics: &'a Generics,
    /// The type parameters.
    params: HashSet<Ident>,
    /// The type parameters declared `?Sized`.
    unsized_params: HashSet<Ident>,
}

impl<'a> Tracking<'a> {
    /// Prepares the analysis of `cont`.
    pub(crate) fn new(cont: &'a Container<'_>) -> Self {
        Tracking {
            own: cont.ident,
            generics: cont.generics,
            params: cont
                .generics
                .type_params()
                .map(|p| p.ident.clone())
                .collect(),
            unsized_params: unsized_params(cont.generics),
        }
    }

    /// The answer for the whole type: the `||` of its fields' answers.
    pub(crate) fn answer<'t>(&self, cont: &Container<'t>) -> Answer<'t> {
        match &cont.data {
            Data::Struct(fields) => {
                fields
                    .iter()
                    .enumerate()
                    .fold(Answer::No, |acc, (i, field)| {
                        // Only a struct's last field may be unsized.
                        let place = if i + 1 == fields.len() {
                            Place::MaybeUnsized
                        } else {
                            Place::Sized
                        };
                        acc.or(self.field(field, place))
                    })
            }
            Data::Enum(variants) => variants
                .iter()
                .flat_map(|v| &v.fields)
                .fold(Answer::No, |acc, field| {
                    acc.or(self.field(field, Place::Sized))
                }),
            Data::Union => Answer::Yes,
        }
    }

    /// Whether the type may be unsized: a struct whose last field may be.
    pub(crate) fn may_be_unsized(&self, cont: &Container<'_>) -> bool {
        match &cont.data {
            Data::Struct(fields) => fields.last().is_some_and(|f| self.maybe_unsized(f.ty)),
            Data::Enum(_) | Data::Union => false,
        }
    }

    fn field<'t>(&self, field: &Field<'t>, place: Place) -> Answer<'t> {
        if field.attrs.skip {
            Answer::No
        } else if field.attrs.with.is_some() {
            Answer::Yes
        } else {
            self.ty(field.ty, field.span(), place)
        }
    }

    /// The answer for a field type (or a part of one) standing at `place`.
    fn ty<'t>(&self, ty: &'t Type, span: Span, place: Place) -> Answer<'t> {
        let ty = ungroup(ty);
        let mentions_self = self.mentions_self(ty);
        if !mentions_self && !contains_box(ty) {
            return self.leaf(ty, span, place);
        }
        match ty {
            Type::Path(p) if p.qself.is_none() => {
                if self.is_own(&p.path) {
                    return Answer::No;
                }
                let Some(last) = p.path.segments.last() else {
                    return Answer::Yes;
                };
                let args = type_args(&last.arguments);
                match (std_type(&last.ident), args.as_slice()) {
                    (Some((Std::Box, _)), [elem, ..]) => self.ty(elem, span, Place::MaybeUnsized),
                    (Some((Std::One, _)), [elem, ..]) => self.ty(elem, span, Place::Sized),
                    (Some((Std::Two, _)), [a, b, ..]) => self
                        .ty(a, span, Place::Sized)
                        .or(self.ty(b, span, Place::Sized)),
                    (Some((Std::Gc, _)), _) => Answer::Yes,
                    (Some((Std::Never, _)), _) => Answer::No,
                    _ if mentions_self => Answer::Yes,
                    _ => self.leaf(ty, span, place),
                }
            }
            Type::Slice(s) => self.ty(&s.elem, span, Place::Sized),
            Type::Array(a) => self.ty(&a.elem, span, Place::Sized),
            Type::Tuple(t) => self.tuple(t, span, place),
            Type::Reference(_) | Type::Ptr(_) => Answer::No,
            _ if mentions_self => Answer::Yes,
            _ => self.leaf(ty, span, place),
        }
    }

    /// The `||` of a tuple's elements; only the last may be unsized.
    fn tuple<'t>(&self, t: &'t syn::TypeTuple, span: Span, place: Place) -> Answer<'t> {
        let n = t.elems.len();
        t.elems.iter().enumerate().fold(Answer::No, |acc, (i, e)| {
            let place = if i + 1 == n { place } else { Place::Sized };
            acc.or(self.ty(e, span, place))
        })
    }

    /// The answer for a type that does not mention the type itself: asked
    /// at run time, unless it may be unsized (then `__gc_tracked`, which
    /// needs `Self: Sized`, cannot be called).
    fn leaf<'t>(&self, ty: &'t Type, span: Span, place: Place) -> Answer<'t> {
        let may_be_unsized = matches!(place, Place::MaybeUnsized) && self.maybe_unsized(ty);
        match ungroup(ty) {
            Type::Slice(s) => self.ty(&s.elem, span, Place::Sized),
            // Only an unsized tuple is split: a sized one is asked whole, so
            // that a field type without `Trace` gives one error, not two.
            Type::Tuple(t) if may_be_unsized => self.tuple(t, span, place),
            Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => Answer::No,
            _ if may_be_unsized => Answer::Yes,
            Type::Path(_)
            | Type::Tuple(_)
            | Type::Array(_)
            | Type::Reference(_)
            | Type::Ptr(_)
            | Type::BareFn(_) => Answer::Ask(vec![(ty, span)]),
            _ => Answer::Yes,
        }
    }

    /// Whether `ty` may be unsized, judged from its syntax.
    fn maybe_unsized(&self, ty: &Type) -> bool {
        match ungroup(ty) {
            Type::Slice(_) | Type::TraitObject(_) | Type::Macro(_) | Type::Verbatim(_) => true,
            // An associated type (`T::Target`, `<T as Tr>::Output`) may be
            // declared `?Sized`.
            Type::Path(p) if p.qself.is_some() => true,
            Type::Path(p) => {
                let path = &p.path;
                if path.is_ident("str") {
                    return true;
                }
                if path.leading_colon.is_none()
                    && let Some(first) = path.segments.first()
                    && self.params.contains(&first.ident)
                    && (path.segments.len() > 1 || self.unsized_params.contains(&first.ident))
                {
                    return true;
                }
                let Some(last) = path.segments.last() else {
                    return false;
                };
                if std_type(&last.ident).is_some_and(|(_, sized)| sized) {
                    return false;
                }
                // A user type may be unsized through its arguments.
                type_args(&last.arguments)
                    .into_iter()
                    .any(|arg| self.maybe_unsized(arg))
            }
            Type::Tuple(t) => t.elems.last().is_some_and(|e| self.maybe_unsized(e)),
            _ => false,
        }
    }

    /// Whether `ty` names the type itself (or `Self`) anywhere.
    fn mentions_self(&self, ty: &Type) -> bool {
        any_path(ty, |path| {
            path.segments
                .iter()
                .any(|s| s.ident == *self.own || s.ident == "Self")
        })
    }

    /// Whether `path` is the type itself: `Self`, or its name with exactly
    /// its own parameters (`List<T>` inside `struct List<T>`; `List<u8>`
    /// there is another type, which may answer differently).
    fn is_own(&self, path: &syn::Path) -> bool {
        if path.leading_colon.is_some() || path.segments.len() != 1 {
            return false;
        }
        let segment = &path.segments[0];
        if segment.ident == "Self" {
            return segment.arguments.is_none();
        }
        if segment.ident != *self.own {
            return false;
        }
        let params: Vec<&Ident> = self
            .generics
            .params
            .iter()
            .filter_map(|p| match p {
                GenericParam::Type(t) => Some(&t.ident),
                GenericParam::Const(c) => Some(&c.ident),
                GenericParam::Lifetime(_) => None,
            })
            .collect();
        let args: Vec<&GenericArgument> = match &segment.arguments {
            PathArguments::None => Vec::new(),
            PathArguments::AngleBracketed(a) => a
                .args
                .iter()
                .filter(|a| !matches!(a, GenericArgument::Lifetime(_)))
                .collect(),
            PathArguments::Parenthesized(_) => return false,
        };
        args.len() == params.len()
            && args.iter().zip(params).all(|(arg, param)| match arg {
                GenericArgument::Type(Type::Path(t)) => t.qself.is_none() && t.path.is_ident(param),
                GenericArgument::Const(syn::Expr::Path(e)) => {
                    e.qself.is_none() && e.path.is_ident(param)
                }
                _ => false,
            })
    }
}

/// The type parameters declared `?Sized`, in the parameter list or in the
/// where-clause.
fn unsized_params(generics: &Generics) -> HashSet<Ident> {
    let is_maybe = |b: &TypeParamBound| matches!(b, TypeParamBound::Trait(t) if matches!(t.modifier, syn::TraitBoundModifier::Maybe(_)));
    let mut set: HashSet<Ident> = generics
        .type_params()
        .filter(|p| p.bounds.iter().any(is_maybe))
        .map(|p| p.ident.clone())
        .collect();
    if let Some(where_clause) = &generics.where_clause {
        for predicate in &where_clause.predicates {
            if let syn::WherePredicate::Type(t) = predicate
                && t.bounds.iter().any(is_maybe)
                && let Type::Path(p) = ungroup(&t.bounded_ty)
                && let Some(ident) = p.path.get_ident()
            {
                set.insert(ident.clone());
            }
        }
    }
    set
}

/// Whether `ty` has a `Box` anywhere.
fn contains_box(ty: &Type) -> bool {
    any_path(ty, |path| path.segments.iter().any(|s| s.ident == "Box"))
}

/// The type arguments of a path segment (lifetimes and consts left out).
fn type_args(args: &PathArguments) -> Vec<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        PathArguments::None | PathArguments::Parenthesized(_) => Vec::new(),
    }
}

/// `ty` without `( )` or invisible (`macro_rules!`) groups around it.
fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(g) => ty = &g.elem,
            Type::Paren(p) => ty = &p.elem,
            _ => return ty,
        }
    }
}
