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
//! A wrong "no" only leaks cycles through such values, a wrong "yes" only
//! costs speed. Wrappers are recognised by name, so a user type named like
//! one (`Option`, `Box`, ...) that holds a `Gc` elsewhere than in its type
//! argument could be misjudged: only leaks follow.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::visit::{self, Visit};
use syn::{GenericArgument, GenericParam, Generics, Ident, PathArguments, Type, TypeParamBound};

use crate::ast::{Container, Data, Field};

/// What a field (or the whole type) contributes to "may hold a `Gc`".
pub(crate) enum Answer {
    /// Never holds a `Gc`.
    No,
    /// May hold a `Gc` (or cannot be known: the conservative answer).
    Yes,
    /// The `||` of these run-time questions, each a
    /// `<Ty as Trace>::__gc_tracked(__budget)` call.
    Ask(Vec<TokenStream>),
}

impl Answer {
    /// `self || other`.
    fn or(self, other: Answer) -> Answer {
        match (self, other) {
            (Answer::Yes, _) | (_, Answer::Yes) => Answer::Yes,
            (Answer::No, x) | (x, Answer::No) => x,
            (Answer::Ask(mut a), Answer::Ask(b)) => {
                for call in b {
                    let text = call.to_string();
                    if !a.iter().any(|c| c.to_string() == text) {
                        a.push(call);
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

/// Std types with one element type that answer what that type answers.
const WRAPPERS: &[&str] = &[
    "Option",
    "Vec",
    "VecDeque",
    "LinkedList",
    "BinaryHeap",
    "BTreeSet",
    "HashSet",
    "RefCell",
    "OnceCell",
    "Mutex",
    "RwLock",
    "ManuallyDrop",
    "Reverse",
    "Wrapping",
    "Box",
];

/// Std types with two element types that answer their `||`.
const PAIRS: &[&str] = &["BTreeMap", "HashMap", "Result"];

/// Std types that never report a `Gc` whatever their arguments.
const NEVER: &[&str] = &["Rc", "Arc", "Weak", "PhantomData", "Cell"];

/// Std types that are sized whatever their arguments.
const SIZED: &[&str] = &[
    "Box",
    "Rc",
    "Arc",
    "Weak",
    "Gc",
    "PhantomData",
    "Option",
    "Result",
    "Vec",
    "VecDeque",
    "LinkedList",
    "BinaryHeap",
    "BTreeSet",
    "HashSet",
    "BTreeMap",
    "HashMap",
];

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
    /// The path to `gc_core`.
    krate: &'a syn::Path,
}

impl<'a> Tracking<'a> {
    /// Prepares the analysis of `cont`.
    pub(crate) fn new(cont: &'a Container<'_>, krate: &'a syn::Path) -> Self {
        Tracking {
            own: cont.ident,
            generics: cont.generics,
            params: cont
                .generics
                .type_params()
                .map(|p| p.ident.clone())
                .collect(),
            unsized_params: unsized_params(cont.generics),
            krate,
        }
    }

    /// The answer for the whole type: the `||` of its fields' answers.
    pub(crate) fn answer(&self, cont: &Container<'_>) -> Answer {
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

    fn field(&self, field: &Field<'_>, place: Place) -> Answer {
        if field.attrs.skip {
            Answer::No
        } else if field.attrs.with.is_some() {
            Answer::Yes
        } else {
            self.ty(field.ty, field.span(), place)
        }
    }

    /// The answer for a field type (or a part of one) standing at `place`.
    fn ty(&self, ty: &Type, span: Span, place: Place) -> Answer {
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
                let name = last.ident.to_string();
                if name == "Box" && !args.is_empty() {
                    self.ty(args[0], span, Place::MaybeUnsized)
                } else if WRAPPERS.contains(&name.as_str()) && !args.is_empty() {
                    self.ty(args[0], span, Place::Sized)
                } else if PAIRS.contains(&name.as_str()) && args.len() >= 2 {
                    self.ty(args[0], span, Place::Sized)
                        .or(self.ty(args[1], span, Place::Sized))
                } else if name == "Gc" {
                    Answer::Yes
                } else if NEVER.contains(&name.as_str()) {
                    Answer::No
                } else if mentions_self {
                    Answer::Yes
                } else {
                    self.leaf(ty, span, place)
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
    fn tuple(&self, t: &syn::TypeTuple, span: Span, place: Place) -> Answer {
        let n = t.elems.len();
        t.elems.iter().enumerate().fold(Answer::No, |acc, (i, e)| {
            let place = if i + 1 == n { place } else { Place::Sized };
            acc.or(self.ty(e, span, place))
        })
    }

    /// The answer for a type that does not mention the type itself: asked
    /// at run time, unless it may be unsized (then `__gc_tracked`, which
    /// needs `Self: Sized`, cannot be called).
    fn leaf(&self, ty: &Type, span: Span, place: Place) -> Answer {
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
            | Type::BareFn(_) => {
                let krate = self.krate;
                Answer::Ask(vec![quote_spanned!(span=>
                    <#ty as #krate::Trace>::__gc_tracked(__budget)
                )])
            }
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
                if SIZED.contains(&last.ident.to_string().as_str()) {
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
        struct Mentions<'b> {
            own: &'b Ident,
            found: bool,
        }
        impl<'ast> Visit<'ast> for Mentions<'_> {
            fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
                if segment.ident == *self.own || segment.ident == "Self" {
                    self.found = true;
                }
                visit::visit_path_segment(self, segment);
            }
        }
        let mut m = Mentions {
            own: self.own,
            found: false,
        };
        m.visit_type(ty);
        m.found
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
    struct Boxes(bool);
    impl<'ast> Visit<'ast> for Boxes {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            if segment.ident == "Box" {
                self.0 = true;
            }
            visit::visit_path_segment(self, segment);
        }
    }
    let mut b = Boxes(false);
    b.visit_type(ty);
    b.0
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

impl ToTokens for Answer {
    /// The answer as a `bool` expression (`__budget` in scope).
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Answer::No => tokens.extend(quote_spanned!(Span::call_site()=> false)),
            Answer::Yes => tokens.extend(quote_spanned!(Span::call_site()=> true)),
            Answer::Ask(calls) => {
                tokens.extend(quote_spanned!(Span::call_site()=> #(#calls)||*));
            }
        }
    }
}
