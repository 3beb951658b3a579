//! `#[derive(Trace)]` for `gc-core` (temporary minimal version).
#![allow(
    clippy::pedantic,
    reason = "temporary derive, replaced by the full one"
)]
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, parse_macro_input};

/// Derives `gc_core::Trace`.
#[proc_macro_derive(Trace, attributes(gc))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(::gc_core::Trace));
    }
    let (impl_g, ty_g, where_c) = generics.split_for_impl();
    let finalize = input.attrs.iter().any(|a| {
        a.path().is_ident("gc") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "finalize")
    });
    let mut tys = Vec::new();
    let body = match &input.data {
        Data::Struct(s) => {
            let mut calls = Vec::new();
            for (i, f) in s.fields.iter().enumerate() {
                tys.push(f.ty.clone());
                let m = match &f.ident {
                    Some(id) => quote!(#id),
                    None => {
                        let idx = syn::Index::from(i);
                        quote!(#idx)
                    }
                };
                calls.push(quote!(::gc_core::Trace::trace(&self.#m, __tracer);));
            }
            quote!(#(#calls)*)
        }
        Data::Enum(e) => {
            let arms = e.variants.iter().map(|v| {
                let vn = &v.ident;
                let binds: Vec<_> = (0..v.fields.len())
                    .map(|i| format_ident!("__f{}", i))
                    .collect();
                for f in &v.fields {
                    tys.push(f.ty.clone());
                }
                let pat = match &v.fields {
                    Fields::Named(n) => {
                        let names = n.named.iter().map(|f| f.ident.clone().unwrap());
                        quote!({ #(#names: #binds),* })
                    }
                    Fields::Unnamed(_) => quote!(( #(#binds),* )),
                    Fields::Unit => quote!(),
                };
                quote!(Self::#vn #pat => { #(::gc_core::Trace::trace(#binds, __tracer);)* })
            });
            quote!(match self { #(#arms)* })
        }
        Data::Union(u) => {
            return syn::Error::new(u.union_token.span, "unions are not supported")
                .to_compile_error()
                .into();
        }
    };
    let fin = if finalize {
        quote!(
            fn finalizer(&self) -> ::core::option::Option<&dyn ::gc_core::Finalize> {
                ::core::option::Option::Some(self)
            }
        )
    } else {
        quote!()
    };
    quote!(
        #[automatically_derived]
        impl #impl_g ::gc_core::Trace for #name #ty_g #where_c {
            #[allow(unused_variables)]
            fn trace(&self, __tracer: &mut ::gc_core::Tracer) { #body }
            #fin
            fn __gc_tracked(__budget: &mut u32) -> bool {
                if !::gc_core::__gc_spend(__budget) { return true; }
                false #(|| <#tys as ::gc_core::Trace>::__gc_tracked(__budget))*
            }
            fn __gc_tracked_dyn(&self) -> bool {
                let mut __b = 64u32;
                <Self as ::gc_core::Trace>::__gc_tracked(&mut __b)
            }
        }
    )
    .into()
}
