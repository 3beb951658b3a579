//! The where-clause of the generated impl (nothing here emits the impl).
//!
//! The type's own where-clause is kept. To it are added either the
//! predicates of `#[gc(bound = "...")]`, verbatim, or the inferred bounds:
//!
//! - `T: Trace` for each type parameter `T` that appears in a traced field's
//!   type, outside `PhantomData<..>` (which is `Trace` for any `T`). Fields
//!   that are skipped or traced `with` a function add nothing.
//! - `T::Assoc: Trace` (or `<T as Tr>::Assoc: Trace`) for each associated
//!   type of a parameter that appears in a traced field, as serde does:
//!   `T: Trace` would not make `T::Assoc: Trace`.
//!
//! The bounds go on the parameters, not on the field types, so that
//! recursive types such as `struct List<T> { next: Option<Gc<List<T>>> }`
//! get `T: Trace` rather than a cyclic `Option<Gc<List<T>>>: Trace`.
//! Parameter defaults are dropped by `Generics::split_for_impl`.

use std::collections::HashSet;

use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Generics, Ident, Token, Type, TypePath, WherePredicate};

use crate::ast::{Container, any_path};

/// The generics of the impl: the type's generics with the where-clause
/// extended by the `bound` override or by the inferred bounds.
pub(crate) fn impl_generics(cont: &Container<'_>, krate: &syn::Path) -> Generics {
    let mut generics = cont.generics.clone();
    let predicates = match &cont.attrs.bound {
        Some(bound) => bound.clone(),
        None => inferred(cont, krate),
    };
    if !predicates.is_empty() {
        generics.make_where_clause().predicates.extend(predicates);
    }
    generics
}

/// `T: Trace` for the type parameters (and their associated types) used in
/// traced fields.
fn inferred(cont: &Container<'_>, krate: &syn::Path) -> Punctuated<WherePredicate, Token![,]> {
    let params: HashSet<&Ident> = cont.generics.type_params().map(|p| &p.ident).collect();
    let mut found = FindParams {
        params: &params,
        used: HashSet::new(),
        projections: Vec::new(),
    };
    for field in cont.all_fields().filter(|f| f.traced_by_trait()) {
        found.visit_type(field.ty);
    }

    let mut predicates = Punctuated::new();
    for param in cont.generics.type_params() {
        if found.used.contains(&param.ident) {
            let ident = &param.ident;
            predicates.push(syn::parse_quote!(#ident: #krate::Trace));
        }
    }
    // Compared as syntax trees (spans and spacing aside).
    let mut seen = HashSet::new();
    for projection in found.projections {
        if seen.insert(projection.clone()) {
            predicates.push(syn::parse_quote!(#projection: #krate::Trace));
        }
    }
    predicates
}

/// Finds the type parameters a field type uses.
struct FindParams<'a> {
    /// The type's type parameters.
    params: &'a HashSet<&'a Ident>,
    /// The parameters that appear on their own (`T`, `Vec<T>`, ...).
    used: HashSet<Ident>,
    /// Associated types of parameters (`T::Item`, `<T as Tr>::Item`).
    projections: Vec<Type>,
}

impl FindParams<'_> {
    /// Whether `ty` names a type parameter anywhere.
    fn mentions_param(&self, ty: &Type) -> bool {
        any_path(ty, |path| {
            path.leading_colon.is_none()
                && path
                    .segments
                    .first()
                    .is_some_and(|first| self.params.contains(&first.ident))
        })
    }
}

impl<'ast> Visit<'ast> for FindParams<'_> {
    fn visit_type_path(&mut self, ty: &'ast TypePath) {
        let projection = match &ty.qself {
            Some(qself) => self.mentions_param(&qself.ty),
            None => {
                ty.path.leading_colon.is_none()
                    && ty.path.segments.len() > 1
                    && self.params.contains(&ty.path.segments[0].ident)
            }
        };
        if projection {
            self.projections.push(Type::Path(ty.clone()));
        }
        visit::visit_type_path(self, ty);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path
            .segments
            .last()
            .is_some_and(|s| s.ident == "PhantomData")
        {
            // `PhantomData<T>` is `Trace` whatever `T` is.
            return;
        }
        if path.leading_colon.is_none()
            && path.segments.len() == 1
            && self.params.contains(&path.segments[0].ident)
        {
            self.used.insert(path.segments[0].ident.clone());
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, _: &'ast syn::Macro) {
        // The tokens of a type macro cannot be seen into.
    }
}
