//! Unit tests of the expansion, on token streams (the behaviour of the
//! generated code is tested in `tests/tests/test_derive.rs`, its errors in
//! `tests/ui`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand;

/// The expansion of `input` as a string without spaces.
fn expand(input: TokenStream) -> String {
    let input = syn::parse2(input).expect("valid derive input");
    let output = match expand::derive(&input) {
        Ok(tokens) => tokens,
        Err(err) => err.into_compile_error(),
    };
    output.to_string().replace(' ', "")
}

/// The `__gc_tracked` body of the expansion of `input`, from its `spend`
/// check on (or the constant the method returns).
fn tracked_body(input: TokenStream) -> String {
    let out = expand(input);
    let Some(start) = out.find("fn__gc_tracked(") else {
        return String::from("<default>");
    };
    let body = &out[start..];
    let end = body.find("fn__gc_tracked_dyn").unwrap_or(body.len());
    body[..end].to_owned()
}

#[test]
fn tuple_indices_are_counted_before_skipped_fields() {
    let out = expand(quote! {
        struct S(#[gc(skip)] A, B, #[gc(skip)] C, D);
    });
    assert!(out.contains("&self.1"), "{out}");
    assert!(out.contains("&self.3"), "{out}");
    assert!(!out.contains("&self.0"), "{out}");
    assert!(!out.contains("&self.2"), "{out}");
}

#[test]
fn enum_patterns_bind_by_declaration_index() {
    let out = expand(quote! {
        enum E { V(#[gc(skip)] A, B), W { #[gc(skip)] a: A, b: B }, U }
    });
    assert!(out.contains("Self::V(_,__self_1)"), "{out}");
    assert!(out.contains("Self::W{b:__self_1,..}"), "{out}");
    assert!(out.contains("Self::U=>{}"), "{out}");
}

#[test]
fn every_bad_option_is_reported_at_once() {
    let out = expand(quote! {
        #[gc(unknown, finalize, finalize)]
        struct S {
            #[gc(skip = 1)]
            a: A,
            #[gc(with)]
            b: B,
        }
    });
    assert_eq!(out.matches("compile_error!").count(), 4, "{out}");
    // A fallback impl keeps uses of the type free of follow-up errors.
    assert!(out.contains("impl::gc_core::TraceforS"), "{out}");
}

#[test]
fn a_bad_crate_path_gets_no_fallback_impl() {
    let out = expand(quote! {
        #[gc(crate = "1")]
        struct S;
    });
    assert_eq!(out.matches("compile_error!").count(), 1, "{out}");
    assert!(!out.contains("impl"), "{out}");
}

#[test]
fn unions_are_rejected() {
    let out = expand(quote! {
        union U { a: u32, b: f32 }
    });
    assert!(out.contains("cannotderive`Trace`foraunion"), "{out}");
}

#[test]
fn bounds_cover_used_parameters_only() {
    let out = expand(quote! {
        struct S<'a, T, U, V: Clone, W, const N: usize = 3>
        where
            W: Default,
        {
            t: Vec<T>,
            #[gc(skip)]
            u: U,
            v: PhantomData<V>,
            w: &'a W,
            item: Option<T::Item>,
        }
    });
    assert!(
        out.contains(
            "whereW:Default,T:::gc_core::Trace,W:::gc_core::Trace,T::Item:::gc_core::Trace"
        ),
        "{out}"
    );
    assert!(!out.contains("U:::gc_core::Trace"), "{out}");
    assert!(!out.contains("V:::gc_core::Trace"), "{out}");
    // Parameter defaults are dropped from the impl.
    assert!(!out.contains("=3"), "{out}");
}

#[test]
fn bound_replaces_the_inference_and_crate_every_path() {
    let out = expand(quote! {
        #[gc(bound = "T: Clone", crate = "my::gc", finalize)]
        struct S<T> { t: T, u: u8 }
    });
    assert!(out.contains("whereT:Clone{"), "{out}");
    assert!(!out.contains("gc_core"), "{out}");
    assert!(out.contains("my::gc::Finalize"), "{out}");
    assert!(out.contains("my::gc::__gc_spend"), "{out}");
}

#[test]
fn leaf_fields_are_asked_and_the_type_itself_is_not() {
    let body = tracked_body(quote! {
        struct S { a: u8, b: Option<Box<S>>, c: Vec<Self>, d: Box<str>, e: Box<[u16]> }
    });
    assert!(
        body.contains("<u8as::gc_core::Trace>::__gc_tracked(__budget)"),
        "{body}"
    );
    assert!(
        body.contains("<u16as::gc_core::Trace>::__gc_tracked(__budget)"),
        "{body}"
    );
    assert!(!body.contains("<S"), "{body}");
    assert!(!body.contains("Self"), "{body}");
}

#[test]
fn constant_answers_need_no_budget() {
    let body = tracked_body(quote! {
        enum E { A(Box<E>, Rc<Self>, Weak<E>), B(#[gc(skip)] Gc<u8>), C }
    });
    assert!(
        body.starts_with("fn__gc_tracked(_:&mut::core::primitive::u32)"),
        "{body}"
    );
    assert!(body.contains("{false}"), "{body}");
    // A `Gc` anywhere: "tracked" is what the provided method says already.
    assert_eq!(
        tracked_body(quote! { struct S { a: u8, b: Option<Gc<S>> } }),
        "<default>"
    );
    assert_eq!(
        tracked_body(quote! { struct S { a: Box<dyn Any> } }),
        "<default>"
    );
    assert_eq!(
        tracked_body(quote! { struct S { #[gc(with = "f")] a: u8 } }),
        "<default>"
    );
}

#[test]
fn another_instance_of_the_type_is_not_the_type_itself() {
    let body = tracked_body(quote! {
        struct L<T> { v: T, other: Option<Box<L<Gc<u8>>>> }
    });
    assert_eq!(body, "<default>");
    let body = tracked_body(quote! {
        struct L<'a, T, const N: usize> { v: [T; N], next: Option<Box<L<'a, T, N>>> }
    });
    assert!(body.contains("<[T;N]as::gc_core::Trace>"), "{body}");
    assert!(!body.contains("<L"), "{body}");
}

#[test]
fn unsized_types_are_never_asked() {
    let out = expand(quote! {
        struct D { a: u8, b: Box<str>, c: Box<[u16]>, last: [u32] }
    });
    let body = tracked_body(quote! {
        struct D { a: u8, b: Box<str>, c: Box<[u16]>, last: [u32] }
    });
    assert!(body.contains("<u16as"), "{body}");
    assert!(body.contains("<u32as"), "{body}");
    assert!(!body.contains("<str"), "{body}");
    assert!(!body.contains("<["), "{body}");
    assert!(!body.contains("<Box"), "{body}");
    // `__gc_tracked_of::<Self>` would need `Self: Sized`.
    assert!(!out.contains("__gc_tracked_of"), "{out}");
    assert_eq!(
        tracked_body(quote! { struct D<T: ?Sized> { a: u8, b: Box<T> } }),
        "<default>"
    );
    let out = expand(quote! {
        struct D { a: Box<str>, last: str }
    });
    assert!(
        out.contains("fn__gc_tracked_dyn(&self)->::core::primitive::bool{false}"),
        "{out}"
    );
    let out = expand(quote! {
        struct S<T> where T: ?Sized { a: u8, last: Wrapper<T> }
    });
    assert!(!out.contains("__gc_tracked_of"), "{out}");
}

#[test]
fn associated_types_are_asked_only_where_they_must_be_sized() {
    let body = tracked_body(quote! {
        struct S<T: Deref, I: Iterator> { a: I::Item, b: Box<T::Target>, c: Option<I::Item> }
    });
    assert_eq!(body, "<default>");
    let body = tracked_body(quote! {
        struct S<I: Iterator> { a: I::Item, b: Option<<I as Iterator>::Item>, c: u8 }
    });
    assert!(body.contains("<I::Itemas"), "{body}");
    assert!(body.contains("<Option<<IasIterator>::Item>as"), "{body}");
}

#[test]
fn odd_inputs_do_not_panic() {
    for input in [
        quote!(
            struct S;
        ),
        quote!(
            enum E {}
        ),
        quote!(
            struct S(#[gc()] u8);
        ),
        quote!(
            #[gc]
            struct S;
        ),
        quote!(
            #[gc = "x"]
            struct S;
        ),
        quote!(
            #[gc(a::b = "c")]
            struct S;
        ),
        quote!(
            #[gc(bound = "")]
            struct S<T>(T);
        ),
        quote!(
            #[gc(bound = "T:")]
            struct S<T>(T);
        ),
        quote!(
            #[gc(crate)]
            struct S;
        ),
        quote!(
            #[gc(crate = "x"suffix)]
            struct S;
        ),
        quote!(
            #[gc(with = "f")]
            struct S;
        ),
        quote!(
            struct S {
                #[gc(with = "")]
                a: u8,
            }
        ),
        quote!(
            struct S {
                #[gc(with =)]
                a: u8,
            }
        ),
        quote!(
            struct S {
                #[gc(skip, with = "f", skip)]
                a: u8,
            }
        ),
        quote!(
            struct S {
                a: m!(),
                b: <T as X>::Y,
                c: fn(Self) -> u8,
                d: (Self,),
                e: [Self],
            }
        ),
        quote!(
            enum E {
                #[gc(finalize)]
                V,
            }
        ),
    ] {
        let _ = expand(input);
    }
}
