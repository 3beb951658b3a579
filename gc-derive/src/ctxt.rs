//! Error collection: every problem in one derive input is reported at once.

use std::cell::RefCell;
use std::fmt::Display;
use std::thread;

use quote::ToTokens;

/// Collects the errors found while reading a derive input, so that one
/// compile shows all of them instead of the first only (serde's
/// `internals/ctxt.rs`).
///
/// [`Ctxt::check`] must be called before the `Ctxt` is dropped; dropping an
/// unchecked `Ctxt` panics, because errors would otherwise be lost silently.
/// That panic is a guard against bugs in this crate, never a user-facing
/// error path.
pub(crate) struct Ctxt {
    /// `None` once [`Ctxt::check`] has consumed the errors.
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// An empty error list.
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanning the tokens of `obj`.
    pub(crate) fn error_spanned_by<A: ToTokens, T: Display>(&self, obj: A, msg: T) {
        self.syn_error(syn::Error::new_spanned(obj.into_token_stream(), msg));
    }

    /// Records an error built elsewhere (for example by a parser).
    ///
    /// # Panics
    ///
    /// If the errors were already consumed by [`Ctxt::check`], as serde's
    /// `Ctxt` does: an error recorded then would never be reported. Since
    /// `check` takes `self`, only a bug in this crate can get here (the
    /// same guard as the `Drop` impl's).
    pub(crate) fn syn_error(&self, err: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("gc-derive bug: an error was recorded after `Ctxt::check`")
            .push(err);
    }

    /// Consumes the list: `Ok` if no error was recorded, else all of them
    /// combined into one [`syn::Error`].
    pub(crate) fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut errors = errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        assert!(
            thread::panicking() || self.errors.borrow().is_none(),
            "gc-derive bug: a `Ctxt` was dropped without `check()`"
        );
    }
}
