//! Parsing of the `#[gc(...)]` attributes (nothing here emits code).
//!
//! | option | on | value |
//! |---|---|---|
//! | `bound = "T: Trace, ..."` | container | where-clause predicates |
//! | `crate = "path"` | container | path to `gc_core` |
//! | `finalize` | container | none |
//! | `skip` | field | none |
//! | `leak` | field, with `skip` | none |
//! | `with = "path"` | field | path to a `fn f<'a>(&'a Field, &mut Tracer<'a>)` |
//!
//! Problems are recorded in the [`Ctxt`] and parsing goes on, so one compile
//! reports every bad option; rules across options are in `check`. Messages follow serde: lowercase, no final
//! period, names in backticks.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, LitStr, Token, WherePredicate};

use crate::ctxt::Ctxt;

/// The name of our helper attribute.
const GC: &str = "gc";

/// The options allowed on the type.
const CONTAINER_OPTIONS: &[&str] = &["bound", "crate", "finalize"];

/// The options allowed on a field.
const FIELD_OPTIONS: &[&str] = &["skip", "leak", "with"];

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
    /// The key of the first `skip`, where a skipped field that holds a `Gc`
    /// is reported.
    pub(crate) skip_key: Option<syn::Path>,
    /// The key of the first `leak`: the field is skipped although its type
    /// holds a `Gc` (its cycles leak, as the user says they mean). Only
    /// valid with `skip`.
    pub(crate) leak_key: Option<syn::Path>,
    /// `with = "path"`: the field is traced by `path(&field, tracer)`.
    pub(crate) with: Option<syn::ExprPath>,
    /// The key of the first `with`, where a conflict with `skip` is
    /// reported.
    pub(crate) with_key: Option<syn::Path>,
}

/// One option: its value, and the key of its first occurrence, so that a
/// second one is reported as a duplicate (serde's `Attr`).
///
/// Each occurrence is read by one call, [`Opt::set_flag`] or
/// [`Opt::set_string`], which reports the duplicate itself, before the
/// value's own problems. An occurrence after the first is a duplicate even
/// when the first one's value was invalid; its value is checked for syntax
/// (so parsing goes on past it) but not parsed, and it is dropped.
struct Opt<'c, T> {
    cx: &'c Ctxt,
    name: &'static str,
    /// The key of the first occurrence.
    key: Option<syn::Path>,
    /// The first occurrence's value, if it was valid.
    value: Option<T>,
}

impl<'c, T> Opt<'c, T> {
    fn new(cx: &'c Ctxt, name: &'static str) -> Self {
        Opt {
            cx,
            name,
            key: None,
            value: None,
        }
    }

    /// Reads a flag (`skip`, `leak`, `finalize`) given at `meta`, taking
    /// `value`.
    fn set_flag(&mut self, meta: &ParseNestedMeta<'_>, value: T) -> syn::Result<()> {
        if self.first(&meta.path) {
            self.value = Some(value);
        }
        no_value(self.cx, self.name, meta)
    }

    /// Reads `name = "..."` given at `meta`: the string's contents, parsed
    /// by `parser` as `what`; `example` shows a well-formed value. `false`
    /// if the value was found invalid (and reported).
    fn set_string(
        &mut self,
        meta: &ParseNestedMeta<'_>,
        example: &str,
        what: &str,
        parser: impl Parser<Output = T>,
    ) -> syn::Result<bool> {
        let first = self.first(&meta.path);
        let Some(lit) = string_value(self.cx, self.name, example, meta)? else {
            return Ok(false);
        };
        if !first {
            return Ok(true);
        }
        self.value = parse_string(self.cx, &lit, self.name, what, parser);
        Ok(self.value.is_some())
    }

    /// Records the occurrence at `key`: `false` (after reporting it) if it
    /// is a duplicate.
    fn first(&mut self, key: &syn::Path) -> bool {
        if self.key.is_some() {
            self.cx
                .error_spanned_by(key, format!("duplicate gc attribute `{}`", self.name));
            return false;
        }
        self.key = Some(key.clone());
        true
    }
}

/// What an option is written on: the type or a field.
#[derive(Clone, Copy)]
enum Target {
    Container,
    Field,
}

impl Target {
    /// How messages name this target's options ("container" or "field"),
    /// how they name the target, and the options allowed on it.
    fn describe(self) -> (&'static str, &'static str, &'static [&'static str]) {
        match self {
            Target::Container => ("container", "the type", CONTAINER_OPTIONS),
            Target::Field => ("field", "a field", FIELD_OPTIONS),
        }
    }
}

impl Container {
    /// Reads the `#[gc(...)]` attributes of a struct or enum.
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut bound = Opt::new(cx, "bound");
        let mut krate = Opt::new(cx, "crate");
        let mut finalize = Opt::new(cx, "finalize");
        let mut krate_invalid = false;
        each_option(cx, attrs, |meta| {
            if meta.path.is_ident("bound") {
                let parser = Punctuated::<WherePredicate, Token![,]>::parse_terminated;
                bound.set_string(&meta, "T: Trace", "a where-clause", parser)?;
            } else if meta.path.is_ident("crate") {
                let parser = syn::Path::parse_mod_style;
                krate_invalid |= !krate.set_string(&meta, "path::to::gc_core", "a path", parser)?;
            } else if meta.path.is_ident("finalize") {
                let span = meta
                    .path
                    .get_ident()
                    .map_or_else(Span::call_site, Ident::span);
                finalize.set_flag(&meta, span)?;
            } else {
                unknown(cx, Target::Container, &meta)?;
            }
            Ok(())
        });
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
        let mut leak = Opt::new(cx, "leak");
        let mut with = Opt::new(cx, "with");
        each_option(cx, &field.attrs, |meta| {
            if meta.path.is_ident("skip") {
                skip.set_flag(&meta, ())?;
            } else if meta.path.is_ident("leak") {
                leak.set_flag(&meta, ())?;
            } else if meta.path.is_ident("with") {
                let parser = syn::ExprPath::parse;
                with.set_string(&meta, "path::to::trace_fn", "a path", parser)?;
            } else {
                unknown(cx, Target::Field, &meta)?;
            }
            Ok(())
        });
        Field {
            skip: skip.value.is_some(),
            skip_key: skip.key,
            leak_key: leak.key,
            with: with.value,
            with_key: with.key,
        }
    }
}

/// Calls `read` on each option of each `#[gc(...)]` among `attrs`. An error
/// it returns (a malformed attribute, whose other options are then not
/// read) is recorded.
fn each_option(
    cx: &Ctxt,
    attrs: &[Attribute],
    mut read: impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in gc_attrs(attrs) {
        if let Err(err) = attr.parse_nested_meta(&mut read) {
            cx.syn_error(err);
        }
    }
}

/// Reports an option that does not belong on `target` (saying where it
/// goes if it is an option of the other target), and skips its value.
fn unknown(cx: &Ctxt, target: Target, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let key = key_name(&meta.path);
    let (kind, here, options) = target.describe();
    let other = match target {
        Target::Container => Target::Field,
        Target::Field => Target::Container,
    };
    let (_, there, other_options) = other.describe();
    let message = if other_options.contains(&key.as_str()) {
        format!("gc attribute `{key}` goes on {there}, not on {here}")
    } else {
        format!(
            "unknown gc {kind} attribute `{key}`, expected {}",
            one_of(options)
        )
    };
    cx.error_spanned_by(&meta.path, message);
    skip_value(meta)
}

/// The `#[gc(...)]` attributes among `attrs`.
pub(crate) fn gc_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
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

/// The contents of `lit` parsed by `parser`. Reports (and returns `None`)
/// when they are not `what`, at the parser's span (inside the string).
fn parse_string<T>(
    cx: &Ctxt,
    lit: &LitStr,
    name: &str,
    what: &str,
    parser: impl Parser<Output = T>,
) -> Option<T> {
    match lit.parse_with(parser) {
        Ok(value) => Some(value),
        Err(err) => {
            cx.syn_error(syn::Error::new(
                err.span(),
                format!("gc attribute `{name}` is not {what}: {err}"),
            ));
            None
        }
    }
}
