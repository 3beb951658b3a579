//! Parsing of the `#[gc(...)]` attributes (nothing here emits code).
//!
//! | option | on | value |
//! |---|---|---|
//! | `bound = "T: Trace, ..."` | container | where-clause predicates |
//! | `crate = "path"` | container | path to `gc_core` |
//! | `finalize` | container | none |
//! | `skip` | field | none |
//! | `with = "path"` | field | path to a `fn f<'a>(&'a Field, &mut Tracer<'a>)` |
//!
//! Problems are recorded in the [`Ctxt`] and parsing goes on, so one compile
//! reports every bad option. Messages follow serde: lowercase, no final
//! period, names in backticks.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, LitStr, Token, WherePredicate};

use crate::ctxt::Ctxt;

/// The name of our helper attribute.
const GC: &str = "gc";

/// The options allowed on the type.
const CONTAINER_OPTIONS: &[&str] = &["bound", "crate", "finalize"];

/// The options allowed on a field.
const FIELD_OPTIONS: &[&str] = &["skip", "with"];

/// The options of the type (`#[gc(...)]` on the struct or enum).
pub(crate) struct Container {
    /// `bound = "..."`: replaces the inferred `T: Trace` bounds.
    pub(crate) bound: Option<Punctuated<WherePredicate, Token![,]>>,
    /// `crate = "..."`: the path to `gc_core`.
    pub(crate) krate: Option<syn::Path>,
    /// `finalize`: the span of the option, where a missing `Finalize` impl is
    /// reported.
    pub(crate) finalize: Option<Span>,
    /// A `crate = "..."` was given but could not be parsed: no fallback impl
    /// is emitted then, since its paths would not resolve either.
    pub(crate) krate_invalid: bool,
}

/// The options of one field.
pub(crate) struct Field {
    /// `skip`: the field is not traced.
    pub(crate) skip: bool,
    /// `with = "path"`: the field is traced by `path(&field, tracer)`.
    pub(crate) with: Option<syn::ExprPath>,
}

/// One option's value, remembering that it was set so that a second
/// occurrence is reported as a duplicate.
struct Opt<'c, T> {
    cx: &'c Ctxt,
    name: &'static str,
    value: Option<T>,
    seen: bool,
}

impl<'c, T> Opt<'c, T> {
    fn new(cx: &'c Ctxt, name: &'static str) -> Self {
        Opt {
            cx,
            name,
            value: None,
            seen: false,
        }
    }

    /// Marks the option as given at `key`; `false` (after reporting) if it
    /// was already given.
    fn first(&mut self, key: &syn::Path) -> bool {
        if self.seen {
            self.cx
                .error_spanned_by(key, format!("duplicate gc attribute `{}`", self.name));
            return false;
        }
        self.seen = true;
        true
    }

    fn set(&mut self, value: T) {
        self.value = Some(value);
    }
}

impl Container {
    /// Reads the `#[gc(...)]` attributes of a struct or enum.
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut bound = Opt::new(cx, "bound");
        let mut krate = Opt::new(cx, "crate");
        let mut finalize = Opt::new(cx, "finalize");
        let mut krate_invalid = false;
        for attr in gc_attrs(attrs) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("bound") {
                    let first = bound.first(&meta.path);
                    if let Some(lit) = string_value(cx, "bound", "T: Trace", &meta)?
                        && first
                    {
                        match lit.parse_with(Punctuated::parse_terminated) {
                            Ok(predicates) => bound.set(predicates),
                            Err(err) => cx.syn_error(invalid(&err, "bound", "a where-clause")),
                        }
                    }
                } else if meta.path.is_ident("crate") {
                    let first = krate.first(&meta.path);
                    match string_value(cx, "crate", "path::to::gc_core", &meta)? {
                        Some(lit) if first => match lit.parse_with(syn::Path::parse_mod_style) {
                            Ok(path) => krate.set(path),
                            Err(err) => {
                                krate_invalid = true;
                                cx.syn_error(invalid(&err, "crate", "a path"));
                            }
                        },
                        Some(_) => {}
                        None => krate_invalid = true,
                    }
                } else if meta.path.is_ident("finalize") {
                    if finalize.first(&meta.path) {
                        finalize.set(
                            meta.path
                                .get_ident()
                                .map_or_else(Span::call_site, Ident::span),
                        );
                    }
                    no_value(cx, "finalize", &meta)?;
                } else {
                    let key = key_name(&meta.path);
                    if FIELD_OPTIONS.contains(&key.as_str()) {
                        cx.error_spanned_by(
                            &meta.path,
                            format!("gc attribute `{key}` goes on a field, not on the type"),
                        );
                    } else {
                        cx.error_spanned_by(
                            &meta.path,
                            format!(
                                "unknown gc container attribute `{key}`, expected {}",
                                one_of(CONTAINER_OPTIONS)
                            ),
                        );
                    }
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        Container {
            bound: bound.value,
            krate: krate.value,
            finalize: finalize.value,
            krate_invalid,
        }
    }
}

impl Field {
    /// Reads the `#[gc(...)]` attributes of a field.
    pub(crate) fn from_ast(cx: &Ctxt, field: &syn::Field) -> Self {
        let mut skip = Opt::new(cx, "skip");
        let mut with = Opt::new(cx, "with");
        let mut skip_key = None;
        let mut with_key = None;
        for attr in gc_attrs(&field.attrs) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("skip") {
                    if skip.first(&meta.path) {
                        skip.set(());
                        skip_key = Some(meta.path.clone());
                    }
                    no_value(cx, "skip", &meta)?;
                } else if meta.path.is_ident("with") {
                    let first = with.first(&meta.path);
                    if let Some(lit) = string_value(cx, "with", "path::to::trace_fn", &meta)?
                        && first
                    {
                        match lit.parse::<syn::ExprPath>() {
                            Ok(path) => {
                                with.set(path);
                                with_key = Some(meta.path.clone());
                            }
                            Err(err) => cx.syn_error(invalid(&err, "with", "a path")),
                        }
                    }
                } else {
                    let key = key_name(&meta.path);
                    if CONTAINER_OPTIONS.contains(&key.as_str()) {
                        cx.error_spanned_by(
                            &meta.path,
                            format!("gc attribute `{key}` goes on the type, not on a field"),
                        );
                    } else {
                        cx.error_spanned_by(
                            &meta.path,
                            format!(
                                "unknown gc field attribute `{key}`, expected {}",
                                one_of(FIELD_OPTIONS)
                            ),
                        );
                    }
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        if let (Some(_), Some(key)) = (&skip_key, &with_key) {
            cx.error_spanned_by(
                key,
                "gc attributes `skip` and `with` cannot be used together",
            );
        }
        Field {
            skip: skip.value.is_some(),
            with: with.value,
        }
    }
}

/// Reports any `#[gc(...)]` on an enum variant: options go on the type or
/// on the variant's fields.
pub(crate) fn check_variant(cx: &Ctxt, variant: &syn::Variant) {
    for attr in gc_attrs(&variant.attrs) {
        cx.error_spanned_by(
            attr,
            "gc attributes go on the type or on fields, not on an enum variant",
        );
    }
}

/// The `#[gc(...)]` attributes among `attrs`.
fn gc_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident(GC))
}

/// `a::b` for a key path, without spaces.
fn key_name(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// "`a`, `b` or `c`".
fn one_of(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The string after `name =`. Reports (and returns `None`) when the value is
/// missing or not a string literal; `example` shows a well-formed value.
fn string_value(
    cx: &Ctxt,
    name: &str,
    example: &str,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<Option<LitStr>> {
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("gc attribute `{name}` expects a value: `{name} = \"{example}\"`"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let input = meta.value()?;
    let tokens = take_until_comma(input)?;
    if let Ok(lit) = syn::parse2::<LitStr>(tokens.clone())
        && lit.suffix().is_empty()
    {
        return Ok(Some(lit));
    }
    let message = format!("gc attribute `{name}` expects a string: `{name} = \"{example}\"`");
    if tokens.is_empty() {
        cx.error_spanned_by(&meta.path, message);
    } else {
        cx.error_spanned_by(tokens, message);
    }
    Ok(None)
}

/// Reports a value given to a flag such as `skip`, and skips it.
fn no_value(cx: &Ctxt, name: &str, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
        cx.error_spanned_by(&meta.path, format!("gc attribute `{name}` takes no value"));
        skip_value(meta)?;
    }
    Ok(())
}

/// Skips whatever follows an option's key (`= value` or `(...)`), so that
/// parsing can go on with the next option.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    take_until_comma(meta.input).map(drop)
}

/// The tokens up to the next top-level comma (not consumed).
fn take_until_comma(input: syn::parse::ParseStream<'_>) -> syn::Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(tokens)
}

/// An error for a string value that does not parse as `what`, at the
/// parser's span (inside the string).
fn invalid(err: &syn::Error, name: &str, what: &str) -> syn::Error {
    syn::Error::new(
        err.span(),
        format!("gc attribute `{name}` is not {what}: {err}"),
    )
}
