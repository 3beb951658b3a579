//! Rules across the parsed options (nothing here parses or emits code), as
//! serde's `internals/check.rs` and thiserror's `valid.rs`.
//!
//! `ast` calls each check right after parsing what it checks, so that the
//! errors come out in source order.

use crate::attr;
use crate::ctxt::Ctxt;

/// Reports any `#[gc(...)]` on an enum variant: options go on the type or
/// on the variant's fields.
pub(crate) fn variant(cx: &Ctxt, variant: &syn::Variant) {
    for attr in attr::gc_attrs(&variant.attrs) {
        cx.error_spanned_by(
            attr,
            "gc attributes go on the type or on fields, not on an enum variant",
        );
    }
}

/// Reports a field both skipped and traced `with` a function, at the `with`.
pub(crate) fn field(cx: &Ctxt, attrs: &attr::Field) {
    if attrs.skip
        && attrs.with.is_some()
        && let Some(key) = &attrs.with_key
    {
        cx.error_spanned_by(
            key,
            "gc attributes `skip` and `with` cannot be used together",
        );
    }
}
