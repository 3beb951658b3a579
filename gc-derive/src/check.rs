//! Rules across the parsed options (nothing here parses or emits code), as
//! serde's `internals/check.rs` and thiserror's `valid.rs`.
//!
//! `ast` calls each check right after parsing what it checks, so that the
//! errors come out in source order.

use syn::visit::{self, Visit};
use syn::{Ident, Type};

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

/// Reports the field options that do not go together: `skip` with `with`
/// (at the `with`), `leak` without `skip` (at the `leak`), and `skip`
/// without `leak` on a field whose type visibly holds a `Gc` (at the
/// `skip`).
pub(crate) fn field(cx: &Ctxt, ty: &Type, attrs: &attr::Field) {
    if attrs.skip
        && attrs.with.is_some()
        && let Some(key) = &attrs.with_key
    {
        cx.error_spanned_by(
            key,
            "gc attributes `skip` and `with` cannot be used together",
        );
        // Whether the field holds a `Gc` is moot until one of them goes.
        return;
    }
    if let Some(leak) = &attrs.leak_key
        && !attrs.skip
    {
        cx.error_spanned_by(
            leak,
            "gc attribute `leak` goes with `skip`: write `#[gc(skip, leak)]` to skip a field \
             that holds a `Gc`",
        );
    }
    if attrs.skip
        && attrs.leak_key.is_none()
        && let Some(key) = &attrs.skip_key
        && let Some(name) = holds_gc(ty)
    {
        cx.error_spanned_by(
            key,
            format!(
                "`#[gc(skip)]` on a field that holds a `{name}`: cycles through it would leak; \
                 trace it (remove `skip`, or use `with` for a foreign type), or write \
                 `#[gc(skip, leak)]` if that is what you mean"
            ),
        );
    }
}

/// The types that own the `Gc`s a trace reports, by the last segment of
/// their path: `Gc` itself and the traceable closures, whose state (or
/// boxed contents) holds `Gc`s.
const HOLDS_GC: &[&str] = &["Gc", "Closure", "Callback"];

/// Types whose trace reports nothing whatever their arguments, so that
/// skipping them costs nothing: `Weak` (a weak edge is not a strong one),
/// `Rc` and `Arc` (shared contents count as referenced from outside), and
/// `PhantomData`.
const REPORTS_NOTHING: &[&str] = &["Weak", "Rc", "Arc", "PhantomData"];

/// The name in `ty` of a type from [`HOLDS_GC`] in a place whose `Gc`s a
/// trace would report: not behind a reference, a pointer or one of
/// [`REPORTS_NOTHING`], and not in a `fn` signature (`fn(&Gc<T>)`,
/// `dyn Fn(Gc<T>)`) or an array length.
///
/// Only the field's tokens are seen: an alias, a user type or a type
/// parameter that holds a `Gc` is not, and neither is a type macro.
pub(crate) fn holds_gc(ty: &Type) -> Option<&Ident> {
    struct Find<'ast> {
        found: Option<&'ast Ident>,
    }
    impl<'ast> Visit<'ast> for Find<'ast> {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            let mut segments = path.segments.iter().rev();
            let Some(last) = segments.next() else {
                return;
            };
            // Only the last segment names the type (`gc_core::Gc`); the
            // others may still have arguments (`Trait<Gc<T>>::Assoc`).
            for segment in segments {
                self.visit_path_arguments(&segment.arguments);
            }
            let name = &last.ident;
            if self.found.is_none() && HOLDS_GC.iter().any(|n| name == n) {
                self.found = Some(name);
            } else if !REPORTS_NOTHING.iter().any(|n| name == n) {
                self.visit_path_arguments(&last.arguments);
            }
        }
        fn visit_type_reference(&mut self, _: &'ast syn::TypeReference) {}
        fn visit_type_ptr(&mut self, _: &'ast syn::TypePtr) {}
        fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}
        fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {}
        fn visit_parenthesized_generic_arguments(
            &mut self,
            _: &'ast syn::ParenthesizedGenericArguments,
        ) {
        }
        fn visit_expr(&mut self, _: &'ast syn::Expr) {}
    }
    let mut find = Find { found: None };
    visit::visit_type(&mut find, ty);
    find.found
}
