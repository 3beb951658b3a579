//! The derive input as the code generator sees it: the item's shape with
//! each field's `#[gc(...)]` options already parsed.

use proc_macro2::Span;
use quote::quote;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{DeriveInput, Generics, Ident, Index, Member, Type};

use crate::ctxt::Ctxt;
use crate::{attr, check};

/// A struct or enum that `Trace` is derived for.
pub(crate) struct Container<'a> {
    /// The type's name.
    pub(crate) ident: &'a Ident,
    /// The type's generics, as written.
    pub(crate) generics: &'a Generics,
    /// The type's `#[gc(...)]` options.
    pub(crate) attrs: attr::Container,
    /// The fields, by shape.
    pub(crate) data: Data<'a>,
}

/// The body of the type.
pub(crate) enum Data<'a> {
    /// A struct (named, tuple or unit).
    Struct(Vec<Field<'a>>),
    /// An enum (possibly without variants).
    Enum(Vec<Variant<'a>>),
    /// A union: rejected (already reported), kept only so that a fallback
    /// impl can be emitted.
    Union,
}

/// One enum variant.
pub(crate) struct Variant<'a> {
    /// The variant's name.
    pub(crate) ident: &'a Ident,
    /// How its fields are written.
    pub(crate) style: Style,
    /// Its fields, in declaration order.
    pub(crate) fields: Vec<Field<'a>>,
}

/// How the fields of a variant are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `V { a: A }`
    Named,
    /// `V(A)`
    Tuple,
    /// `V`
    Unit,
}

/// One field of a struct or variant.
pub(crate) struct Field<'a> {
    /// `name`, or the tuple index in *declaration* order, counted before
    /// skipped fields are filtered out (the bug of dumpster PR #85).
    pub(crate) member: Member,
    /// The field's type.
    pub(crate) ty: &'a Type,
    /// The field's `#[gc(...)]` options.
    pub(crate) attrs: attr::Field,
}

impl<'a> Container<'a> {
    /// Reads the derive input. Unions are reported and get [`Data::Union`].
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        let data = match &input.data {
            syn::Data::Struct(data) => Data::Struct(fields_from_ast(cx, &data.fields)),
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        check::variant(cx, variant);
                        Variant {
                            ident: &variant.ident,
                            style: style_of(&variant.fields),
                            fields: fields_from_ast(cx, &variant.fields),
                        }
                    })
                    .collect(),
            ),
            syn::Data::Union(data) => {
                let union_token = data.union_token;
                let ident = &input.ident;
                cx.error_spanned_by(
                    quote!(#union_token #ident),
                    "cannot derive `Trace` for a union: which field is active is not known, \
                     so the `Gc`s it holds cannot be traced",
                );
                Data::Union
            }
        };
        Container {
            ident: &input.ident,
            generics: &input.generics,
            attrs,
            data,
        }
    }

    /// Every field of every variant.
    pub(crate) fn all_fields(&self) -> Box<dyn Iterator<Item = &Field<'a>> + '_> {
        match &self.data {
            Data::Struct(fields) => Box::new(fields.iter()),
            Data::Enum(variants) => Box::new(variants.iter().flat_map(|v| &v.fields)),
            Data::Union => Box::new(std::iter::empty()),
        }
    }
}

impl Field<'_> {
    /// Whether the field is traced by `Trace::trace` (neither skipped nor
    /// traced `with` a function).
    pub(crate) fn traced_by_trait(&self) -> bool {
        !self.attrs.skip && self.attrs.with.is_none()
    }

    /// Where errors about this field's type are reported: the type's
    /// location, with the hygiene of the derive's call site (so the
    /// generated `self` and locals resolve even when the type came from a
    /// `macro_rules!` argument).
    pub(crate) fn span(&self) -> Span {
        Span::call_site().located_at(self.ty.span())
    }
}

/// The fields of a struct or variant, tuple indices counted before any
/// filtering.
fn fields_from_ast<'a>(cx: &Ctxt, fields: &'a syn::Fields) -> Vec<Field<'a>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let attrs = attr::Field::from_ast(cx, field);
            check::field(cx, &field.ty, &attrs);
            Field {
                member: match &field.ident {
                    Some(ident) => Member::Named(ident.clone()),
                    None => Member::Unnamed(Index {
                        index: u32::try_from(i).unwrap_or(u32::MAX),
                        span: field.ty.span(),
                    }),
                },
                ty: &field.ty,
                attrs,
            }
        })
        .collect()
}

fn style_of(fields: &syn::Fields) -> Style {
    match fields {
        syn::Fields::Named(_) => Style::Named,
        syn::Fields::Unnamed(_) => Style::Tuple,
        syn::Fields::Unit => Style::Unit,
    }
}

/// Whether any path in `ty` satisfies `pred`: the type's own path, those
/// of its arguments, of a `<T as Trait>` and so on (a type macro's tokens
/// are not seen into).
pub(crate) fn any_path(ty: &Type, pred: impl FnMut(&syn::Path) -> bool) -> bool {
    struct AnyPath<F> {
        pred: F,
        found: bool,
    }
    impl<'ast, F: FnMut(&syn::Path) -> bool> Visit<'ast> for AnyPath<F> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            self.found |= (self.pred)(path);
            visit::visit_path(self, path);
        }
    }
    let mut any = AnyPath { pred, found: false };
    any.visit_type(ty);
    any.found
}
