//! `#[derive(Trace)]` for [`gc_core`](https://docs.rs/gc-core).
//!
//! Use it through `gc_core`, which re-exports it next to the trait (the
//! `derive` feature, on by default) and documents every `#[gc(...)]`
//! option there.
//!
//! Layout (private modules): `attr` parses the `#[gc(...)]` options,
//! `check` applies the rules across them, `ast` reads the input's shape,
//! `bound` computes the where-clause, `tracked` works out whether the type
//! is tracked, and `expand` emits the impl. Only `expand` writes code: the
//! other modules return data (types, paths, spans), as serde's `internals/`
//! do. Errors are collected in a `ctxt::Ctxt`, so that all of them are
//! reported at once.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod bound;
mod check;
mod ctxt;
mod expand;
mod tracked;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `gc_core::Trace`; see the documentation of the re-export
/// `gc_core::Trace`.
#[proc_macro_derive(Trace, attributes(gc))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
