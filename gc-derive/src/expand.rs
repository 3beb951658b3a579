//! Code generation of `impl Trace` (nothing here parses attributes).
//!
//! The generated impl is safe code implementing a safe trait: whatever it
//! reports, the collector never frees memory that a handle can still reach
//! (see `gc_core::trace`), so no `unsafe impl` is generated and none of the
//! choices below can cause undefined behaviour. A field left out can only
//! leak; a wrong "untracked" answer can only leak.
//!
//! Hygiene: the impl sits in `const _: () = { .. };`, every item is named
//! by an absolute path (`::core::..`, `#krate::..`, where `#krate` is
//! `::gc_core` unless `#[gc(crate = "..")]` says otherwise), and the
//! generated locals (`__tracer`, `__budget`, `__self_N`) start with `__` and
//! have call-site hygiene, so user items named `Trace`, `Option`,
//! `Tracer`, ... or fields named `__tracer` change nothing.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{DeriveInput, Member, Type};

use crate::ast::{Container, Data, Field, Style, Variant};
use crate::bound;
use crate::ctxt::Ctxt;
use crate::tracked::{Answer, Tracking};

/// Expands `#[derive(Trace)]` on `input`.
///
/// Problems with the input (a union, bad `#[gc(...)]` options) are all
/// reported at once, as `compile_error!`s next to a minimal impl that
/// reports nothing: uses of the type elsewhere then add no follow-up
/// errors.
///
/// # Errors
///
/// The combined errors alone when the `crate` path is bad (a fallback impl
/// could not name the trait either).
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let cont = Container::from_ast(&cx, input);
    if let Err(err) = cx.check() {
        return match fallback(&cont) {
            Some(fallback) => {
                let mut tokens = err.into_compile_error();
                tokens.extend(fallback);
                Ok(tokens)
            }
            None => Err(err),
        };
    }
    Ok(impl_trace(&cont))
}

/// The path to `gc_core`.
fn krate(cont: &Container<'_>) -> syn::Path {
    cont.attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::gc_core))
}

/// The full impl.
fn impl_trace(cont: &Container<'_>) -> TokenStream {
    let krate = krate(cont);
    let ident = cont.ident;
    let generics = bound::impl_generics(cont, &krate);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let trace_body = match &cont.data {
        Data::Struct(fields) => trace_struct(fields, &krate),
        Data::Enum(variants) => trace_enum(variants, &krate),
        Data::Union => TokenStream::new(),
    };
    let finalizer = cont.attrs.finalize.map(|span| finalizer(span, &krate));
    let tracked = tracked(cont, &krate);
    let trusted = trusted(cont, &krate);

    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::Trace for #ident #ty_generics #where_clause {
                #[inline]
                fn trace<'__gc_a>(&'__gc_a self, __tracer: &mut #krate::Tracer<'__gc_a>) {
                    #trace_body
                }
                #finalizer
                #tracked
                #trusted
            }
        };
    }
}

/// A `trace` that reports nothing, emitted next to errors; `None` when the
/// `crate` path itself is bad.
fn fallback(cont: &Container<'_>) -> Option<TokenStream> {
    if cont.attrs.krate_invalid {
        return None;
    }
    let krate = krate(cont);
    let ident = cont.ident;
    let (impl_generics, ty_generics, where_clause) = cont.generics.split_for_impl();
    Some(quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::Trace for #ident #ty_generics #where_clause {
                fn trace(&self, _: &mut #krate::Tracer<'_>) {}
            }
        };
    })
}

/// One field's trace call; `place` is a `&FieldType` expression.
fn trace_field(field: &Field<'_>, place: &TokenStream, krate: &syn::Path) -> TokenStream {
    if let Some(with) = &field.attrs.with {
        let span = Span::call_site().located_at(with_span(with));
        quote_spanned!(span=> #with(#place, __tracer);)
    } else {
        // Spanned at the field's type, so that a type without `Trace` is
        // reported there rather than at the derive.
        let span = field.span();
        let ty = field.ty;
        quote_spanned!(span=> <#ty as #krate::Trace>::trace(#place, __tracer);)
    }
}

/// The span of a `with` path (inside its string literal).
fn with_span(with: &syn::ExprPath) -> Span {
    with.path
        .segments
        .first()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// `trace` of a struct: each traced field in declaration order.
fn trace_struct(fields: &[Field<'_>], krate: &syn::Path) -> TokenStream {
    fields
        .iter()
        .filter(|f| !f.attrs.skip)
        .map(|field| {
            let span = field.span();
            let member = respan_member(&field.member, span);
            let place = quote_spanned!(span=> &self.#member);
            trace_field(field, &place, krate)
        })
        .collect()
}

/// `trace` of an enum: a `match` with an arm per variant.
fn trace_enum(variants: &[Variant<'_>], krate: &syn::Path) -> TokenStream {
    if variants
        .iter()
        .all(|v| v.fields.iter().all(|f| f.attrs.skip))
    {
        return TokenStream::new();
    }
    let arms = variants.iter().map(|variant| {
        let name = variant.ident;
        let binding = |i: usize| format_ident!("__self_{}", i);
        let calls: TokenStream = variant
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.attrs.skip)
            .map(|(i, field)| trace_field(field, &binding(i).into_token_stream(), krate))
            .collect();
        let pattern = match variant.style {
            Style::Named => {
                let bound = variant
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| !f.attrs.skip);
                let members = bound.clone().map(|(_, f)| &f.member);
                let bindings = bound.map(|(i, _)| binding(i));
                quote!(Self::#name { #(#members: #bindings,)* .. })
            }
            Style::Tuple => {
                let elems = variant.fields.iter().enumerate().map(|(i, f)| {
                    if f.attrs.skip {
                        quote!(_)
                    } else {
                        binding(i).into_token_stream()
                    }
                });
                quote!(Self::#name(#(#elems),*))
            }
            Style::Unit => quote!(Self::#name),
        };
        quote!(#pattern => { #calls })
    });
    quote! {
        match self {
            #(#arms)*
        }
    }
}

/// `Member` with its span replaced (a named field keeps its name).
fn respan_member(member: &Member, span: Span) -> Member {
    match member {
        Member::Named(ident) => {
            let mut ident = ident.clone();
            ident.set_span(span);
            Member::Named(ident)
        }
        Member::Unnamed(index) => Member::Unnamed(syn::Index {
            index: index.index,
            span,
        }),
    }
}

/// `finalizer` returning `Some(self)`, spanned at the `finalize` option so
/// that a missing `impl Finalize` is reported there.
fn finalizer(span: Span, krate: &syn::Path) -> TokenStream {
    let span = Span::call_site().located_at(span);
    let some = quote_spanned!(span=> ::core::option::Option::Some(self));
    quote! {
        #[inline]
        fn finalizer(&self) -> ::core::option::Option<&dyn #krate::Finalize> {
            #some
        }
    }
}

/// `__gc_trusted`: this impl's `trace` runs nothing but the `trace` of its
/// traced fields, so it is trusted when each of their types is. Left out
/// (the provided method answers "not trusted") when a field is traced `with`
/// a function (user code) or the type may be unsized (the last field's
/// answer cannot be asked).
///
/// The generated `unsafe` block is sound because of what this module
/// generates: `trace_struct`/`trace_enum` emit exactly one
/// `<FieldType as Trace>::trace(&field, tracer)` call per traced field and
/// nothing else, and every such type is asked here.
fn trusted(cont: &Container<'_>, krate: &syn::Path) -> TokenStream {
    let fields: Vec<&Field<'_>> = match &cont.data {
        Data::Struct(fields) => fields.iter().collect(),
        Data::Enum(variants) => variants.iter().flat_map(|v| &v.fields).collect(),
        Data::Union => return TokenStream::new(),
    };
    let tracking = Tracking::new(cont);
    if fields
        .iter()
        .any(|f| !f.attrs.skip && f.attrs.with.is_some())
        || tracking.may_be_unsized(cont)
    {
        return TokenStream::new();
    }
    let asks = fields.iter().filter(|f| !f.attrs.skip).map(|f| {
        let ty = f.ty;
        quote! { && <#ty as #krate::Trace>::__gc_trusted(__budget).is_some() }
    });
    quote! {
        #[inline]
        fn __gc_trusted(
            __budget: &mut ::core::primitive::u32,
        ) -> ::core::option::Option<#krate::__GcTrusted> {
            if !#krate::__gc_spend(__budget) {
                return ::core::option::Option::None;
            }
            if true #(#asks)* {
                // SAFETY: the derived `trace` above calls only
                // `Trace::trace` on the traced fields, whose types were all
                // just found trusted, and runs no other code.
                ::core::option::Option::Some(unsafe { #krate::__GcTrusted::__new() })
            } else {
                ::core::option::Option::None
            }
        }
    }
}

/// `__gc_tracked` and `__gc_tracked_dyn`, left out where the provided
/// methods (which answer "tracked") already give the answer.
fn tracked(cont: &Container<'_>, krate: &syn::Path) -> TokenStream {
    let tracking = Tracking::new(cont);
    match tracking.answer(cont) {
        Answer::Yes => TokenStream::new(),
        Answer::No => quote! {
            #[inline]
            fn __gc_tracked(_: &mut ::core::primitive::u32) -> ::core::primitive::bool {
                false
            }
            #[inline]
            fn __gc_tracked_dyn(&self) -> ::core::primitive::bool {
                false
            }
        },
        Answer::Ask(asks) => {
            let answer = ask_tracked(&asks, krate);
            // `__gc_tracked_of::<Self>` needs `Self: Sized`.
            let dyn_ = (!tracking.may_be_unsized(cont)).then(|| {
                quote! {
                    #[inline]
                    fn __gc_tracked_dyn(&self) -> ::core::primitive::bool {
                        #krate::__gc_tracked_of::<Self>()
                    }
                }
            });
            quote! {
                #[inline]
                fn __gc_tracked(__budget: &mut ::core::primitive::u32) -> ::core::primitive::bool {
                    if !#krate::__gc_spend(__budget) {
                        return true;
                    }
                    #answer
                }
                #dyn_
            }
        }
    }
}

/// The `||` of an [`Answer::Ask`]'s questions (`__budget` in scope), each
/// spanned at its field so that a type without `Trace` is reported there.
fn ask_tracked(asks: &[(&Type, Span)], krate: &syn::Path) -> TokenStream {
    let calls = asks
        .iter()
        .map(|&(ty, span)| quote_spanned!(span=> <#ty as #krate::Trace>::__gc_tracked(__budget)));
    quote!(#(#calls)||*)
}
