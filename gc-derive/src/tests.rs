//! Unit tests of the analysis, as data, and of the expansion, on token
//! streams (the behaviour of the generated code is tested in `tests/tests`,
//! its errors in `tests/ui`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Type, parse_quote};

use crate::ast::Container;
use crate::check::holds_gc;
use crate::ctxt::Ctxt;
use crate::expand;
use crate::tracked::{Answer, Tracking};

/// The expansion of `input` as a string without spaces.
fn expand(input: TokenStream) -> String {
    let input = syn::parse2(input).expect("valid derive input");
    let output = match expand::derive(&input) {
        Ok(tokens) => tokens,
        Err(err) => err.into_compile_error(),
    };
    output.to_string().replace(' ', "")
}

/// The messages of the errors found in `input`, in the order they are
/// reported.
fn errors(input: TokenStream) -> Vec<String> {
    let input: DeriveInput = syn::parse2(input).expect("valid derive input");
    let cx = Ctxt::new();
    let _ = Container::from_ast(&cx, &input);
    match cx.check() {
        Ok(()) => Vec::new(),
        Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// The analysis's answer for `input`, with the types asked at run time
/// (their spans left out).
#[derive(Debug, PartialEq)]
enum Tracked {
    No,
    Yes,
    Ask(Vec<Type>),
}

/// What `tracked` answers for a valid `input`, and whether the type may be
/// unsized.
fn analyse(input: TokenStream) -> (Tracked, bool) {
    let input: DeriveInput = syn::parse2(input).expect("valid derive input");
    let cx = Ctxt::new();
    let cont = Container::from_ast(&cx, &input);
    cx.check().expect("no errors");
    let tracking = Tracking::new(&cont);
    let answer = match tracking.answer(&cont) {
        Answer::No => Tracked::No,
        Answer::Yes => Tracked::Yes,
        Answer::Ask(asks) => Tracked::Ask(asks.into_iter().map(|(ty, _)| ty.clone()).collect()),
    };
    (answer, tracking.may_be_unsized(&cont))
}

/// What `tracked` answers for a valid `input`.
fn tracked(input: TokenStream) -> Tracked {
    analyse(input).0
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
    // A projection used twice is bound once.
    let out = expand(quote! {
        struct S<T: Iterator> { a: T::Item, b: Vec<T::Item>, c: Vec<T::Item > }
    });
    assert_eq!(out.matches("T::Item:::gc_core::Trace").count(), 1, "{out}");
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
    let answer = tracked(quote! {
        struct S { a: u8, b: Option<Box<S>>, c: Vec<Self>, d: Box<str>, e: Box<[u16]> }
    });
    assert_eq!(
        answer,
        Tracked::Ask(vec![parse_quote!(u8), parse_quote!(u16)])
    );
}

#[test]
fn each_type_is_asked_once() {
    // `u8` and `u16` come back through a tuple and a `Box`; spacing does
    // not make another type.
    let answer = tracked(quote! {
        struct S {
            a: u8,
            b: (u16, Box<S>),
            c: u8,
            d: Box<u16>,
            e: Vec<Vec<u8>>,
            f: Vec<Vec<u8> >,
        }
    });
    assert_eq!(
        answer,
        Tracked::Ask(vec![
            parse_quote!(u8),
            parse_quote!(u16),
            parse_quote!(Vec<Vec<u8>>),
        ])
    );
}

#[test]
fn asked_types_are_rendered_as_budgeted_calls() {
    let body = tracked_body(quote! {
        struct S { a: u8, b: Box<[u16]>, c: u8 }
    });
    assert_eq!(
        body,
        "fn__gc_tracked(__budget:&mut::core::primitive::u32)->::core::primitive::bool{\
         if!::gc_core::__gc_spend(__budget){returntrue;}\
         <u8as::gc_core::Trace>::__gc_tracked(__budget)\
         ||<u16as::gc_core::Trace>::__gc_tracked(__budget)}#[inline]"
    );
}

#[test]
fn constant_answers_need_no_budget() {
    assert_eq!(
        tracked(quote! {
            enum E { A(Box<E>, Rc<Self>, Weak<E>), B(#[gc(skip, leak)] Gc<u8>), C }
        }),
        Tracked::No
    );
    let body = tracked_body(quote! {
        enum E { A(Box<E>, Rc<Self>, Weak<E>), B(#[gc(skip, leak)] Gc<u8>), C }
    });
    assert!(
        body.starts_with("fn__gc_tracked(_:&mut::core::primitive::u32)"),
        "{body}"
    );
    assert!(body.contains("{false}"), "{body}");
    // A `Gc` anywhere: "tracked" is what the provided method says already.
    for input in [
        quote! { struct S { a: u8, b: Option<Gc<S>> } },
        quote! { struct S { a: Box<dyn Any> } },
        quote! { struct S { #[gc(with = "f")] a: u8 } },
    ] {
        assert_eq!(tracked(input.clone()), Tracked::Yes, "{input}");
        assert_eq!(tracked_body(input), "<default>");
    }
}

#[test]
fn another_instance_of_the_type_is_not_the_type_itself() {
    assert_eq!(
        tracked(quote! {
            struct L<T> { v: T, other: Option<Box<L<Gc<u8>>>> }
        }),
        Tracked::Yes
    );
    assert_eq!(
        tracked(quote! {
            struct L<'a, T, const N: usize> { v: [T; N], next: Option<Box<L<'a, T, N>>> }
        }),
        Tracked::Ask(vec![parse_quote!([T; N])])
    );
}

#[test]
fn unsized_types_are_never_asked() {
    let input = quote! {
        struct D { a: u8, b: Box<str>, c: Box<[u16]>, last: [u32] }
    };
    assert_eq!(
        analyse(input.clone()),
        (
            Tracked::Ask(vec![parse_quote!(u8), parse_quote!(u16), parse_quote!(u32)]),
            true
        )
    );
    // `__gc_tracked_of::<Self>` would need `Self: Sized`.
    let out = expand(input);
    assert!(!out.contains("__gc_tracked_of"), "{out}");
    assert_eq!(
        analyse(quote! { struct D<T: ?Sized> { a: u8, b: Box<T> } }),
        (Tracked::Yes, false)
    );
    let input = quote! {
        struct D { a: Box<str>, last: str }
    };
    assert_eq!(analyse(input.clone()), (Tracked::No, true));
    let out = expand(input);
    assert!(
        out.contains("fn__gc_tracked_dyn(&self)->::core::primitive::bool{false}"),
        "{out}"
    );
    assert_eq!(
        analyse(quote! { struct S<T> where T: ?Sized { a: u8, last: Wrapper<T> } }),
        (Tracked::Yes, true)
    );
}

#[test]
fn associated_types_are_asked_only_where_they_must_be_sized() {
    assert_eq!(
        tracked(quote! {
            struct S<T: Deref, I: Iterator> { a: I::Item, b: Box<T::Target>, c: Option<I::Item> }
        }),
        Tracked::Yes
    );
    assert_eq!(
        tracked(quote! {
            struct S<I: Iterator> { a: I::Item, b: Option<<I as Iterator>::Item>, c: u8 }
        }),
        Tracked::Ask(vec![
            parse_quote!(I::Item),
            parse_quote!(Option<<I as Iterator>::Item>),
            parse_quote!(u8),
        ])
    );
}

#[test]
fn a_duplicate_is_reported_before_its_value_and_its_value_is_not_parsed() {
    assert_eq!(
        errors(quote! {
            #[gc(bound = "T: Trace", bound = 1)]
            struct S<T>(T);
        }),
        [
            "duplicate gc attribute `bound`",
            "gc attribute `bound` expects a string: `bound = \"T: Trace\"`",
        ]
    );
    // Not "is not a where-clause" as well.
    assert_eq!(
        errors(quote! {
            #[gc(bound = "T: Trace", bound = "1")]
            struct S<T>(T);
        }),
        ["duplicate gc attribute `bound`"]
    );
    // A duplicate even though the first value was invalid.
    assert_eq!(
        errors(quote! {
            struct S { #[gc(with = "1")] #[gc(with = "f", skip)] a: u8 }
        }),
        [
            "gc attribute `with` is not a path: expected identifier",
            "duplicate gc attribute `with`",
        ]
    );
}

/// The error for `#[gc(skip)]` on a field that holds a `name`.
fn skip_error(name: &str) -> String {
    format!(
        "`#[gc(skip)]` on a field that holds a `{name}`: cycles through it would leak; \
         trace it (remove `skip`, or use `with` for a foreign type), or write \
         `#[gc(skip, leak)]` if that is what you mean"
    )
}

#[test]
fn a_skipped_field_that_visibly_holds_a_gc_is_an_error() {
    let holds: [(Type, &str); 12] = [
        (parse_quote!(Gc<T>), "Gc"),
        (parse_quote!(gc_core::Gc<T>), "Gc"),
        (parse_quote!(::gc_core::Gc<dyn Any>), "Gc"),
        (parse_quote!(Option<Vec<Gc<T>>>), "Gc"),
        (parse_quote!(RefCell<HashMap<String, Gc<S>>>), "Gc"),
        (parse_quote!((u8, Gc<T>)), "Gc"),
        (parse_quote!([Option<Gc<T>>; 4]), "Gc"),
        (parse_quote!(Foreign<Gc<T>>), "Gc"),
        (parse_quote!(Box<dyn Iterator<Item = Gc<T>>>), "Gc"),
        (parse_quote!(Closure<Gc<W>, fn(&Gc<W>, &Click)>), "Closure"),
        (parse_quote!(Vec<Box<dyn Callback<Click>>>), "Callback"),
        (
            parse_quote!(Box<dyn gc_core::Callback<E, R> + 'static>),
            "Callback",
        ),
    ];
    for (ty, name) in holds {
        assert_eq!(
            holds_gc(&ty).map(ToString::to_string).as_deref(),
            Some(name),
            "{}",
            quote!(#ty)
        );
        assert_eq!(
            errors(quote! { struct S { #[gc(skip)] a: #ty } }),
            [skip_error(name)],
            "{}",
            quote!(#ty)
        );
        // The explicit opt-out, in one attribute or two.
        for input in [
            quote! { struct S { #[gc(skip, leak)] a: #ty } },
            quote! { struct S { #[gc(leak, skip)] a: #ty } },
            quote! { struct S(#[gc(skip)] #[gc(leak)] #ty); },
        ] {
            assert_eq!(errors(input.clone()), Vec::<String>::new(), "{input}");
        }
    }
    // Each skipped field is reported, in an enum too.
    assert_eq!(
        errors(quote! {
            enum E { A(#[gc(skip)] Gc<u8>, #[gc(skip)] u8), B { #[gc(skip)] c: Closure<S, F> } }
        }),
        [skip_error("Gc"), skip_error("Closure")]
    );
}

#[test]
fn a_skipped_field_whose_gcs_a_trace_would_not_report_is_not_an_error() {
    let types: [Type; 16] = [
        // What the derive cannot see into: only leaks follow (documented).
        parse_quote!(Alias),
        parse_quote!(T),
        parse_quote!(UserType<u8>),
        parse_quote!(m!(Gc<T>)),
        parse_quote!(Box<dyn Fn(&E)>),
        // Names that merely contain `Gc`.
        parse_quote!(GcBox<T>),
        parse_quote!(Vec<Gcx>),
        // A weak edge, shared or phantom contents: nothing to report.
        parse_quote!(Weak<T>),
        parse_quote!(Option<gc_core::Weak<Node>>),
        parse_quote!(Rc<RefCell<Gc<T>>>),
        parse_quote!(PhantomData<Gc<T>>),
        // Not owned.
        parse_quote!(&'a Gc<T>),
        parse_quote!(*const Gc<T>),
        // Signatures and array lengths hold no value.
        parse_quote!(fn(&Gc<T>) -> Gc<T>),
        parse_quote!(Vec<Box<dyn Fn(&Gc<T>) -> Callback>>),
        parse_quote!([u8; Gc::<T>::N]),
    ];
    for ty in types {
        assert_eq!(holds_gc(&ty), None, "{}", quote!(#ty));
        assert_eq!(
            errors(quote! { struct S { #[gc(skip)] a: #ty } }),
            Vec::<String>::new(),
            "{}",
            quote!(#ty)
        );
    }
    // Not skipped: nothing to say.
    assert_eq!(
        errors(quote! { struct S { a: Gc<T>, #[gc(with = "f")] b: Foreign<Gc<T>> } }),
        Vec::<String>::new()
    );
}

#[test]
fn leak_goes_with_skip_only() {
    let needs_skip = "gc attribute `leak` goes with `skip`: write `#[gc(skip, leak)]` to skip a \
                      field that holds a `Gc`";
    assert_eq!(
        errors(quote! { struct S { #[gc(leak)] a: Gc<T> } }),
        [needs_skip]
    );
    assert_eq!(
        errors(quote! { struct S { #[gc(with = "f", leak)] a: Foreign<Gc<T>> } }),
        [needs_skip]
    );
    // Duplicates and values, as for the other flags.
    assert_eq!(
        errors(quote! { struct S { #[gc(skip, leak, leak)] a: Gc<T> } }),
        ["duplicate gc attribute `leak`"]
    );
    assert_eq!(
        errors(quote! { struct S { #[gc(skip, leak = true)] a: Gc<T> } }),
        ["gc attribute `leak` takes no value"]
    );
    assert_eq!(
        errors(quote! {
            #[gc(leak)]
            struct S(u8);
        }),
        ["gc attribute `leak` goes on a field, not on the type"]
    );
    assert_eq!(
        errors(quote! { struct S { #[gc(lek)] a: u8 } }),
        ["unknown gc field attribute `lek`, expected `skip`, `leak` or `with`"]
    );
    // With `with` as well, the conflict is the one error.
    assert_eq!(
        errors(quote! { struct S { #[gc(skip, with = "f")] a: Gc<T> } }),
        ["gc attributes `skip` and `with` cannot be used together"]
    );
    // `leak` on a field that visibly holds no `Gc` is allowed: the derive
    // cannot see into an alias.
    assert_eq!(
        errors(quote! { struct S { #[gc(skip, leak)] a: Alias } }),
        Vec::<String>::new()
    );
}

#[test]
fn a_leaked_field_is_not_traced_and_makes_the_type_untracked() {
    let input = quote! {
        struct S { #[gc(skip, leak)] a: RefCell<Option<Gc<S>>>, b: u8 }
    };
    assert_eq!(tracked(input.clone()), Tracked::Ask(vec![parse_quote!(u8)]));
    let out = expand(input);
    assert!(!out.contains("compile_error!"), "{out}");
    assert!(!out.contains("self.a"), "{out}");
    assert!(out.contains("&self.b"), "{out}");
}

#[test]
#[should_panic(expected = "dropped without `check()`")]
fn an_unchecked_ctxt_panics_on_drop() {
    let cx = Ctxt::new();
    cx.syn_error(syn::Error::new(proc_macro2::Span::call_site(), "lost"));
    drop(cx);
}

/// Odd inputs give errors, not panics, and only the invalid ones give
/// errors.
#[test]
fn odd_inputs_do_not_panic() {
    let valid = [
        quote!(
            struct S;
        ),
        quote!(
            enum E {}
        ),
        quote!(
            struct S(#[gc()] u8);
        ),
        // An empty bound, and a predicate without bounds, are where-clauses.
        quote!(
            #[gc(bound = "")]
            struct S<T>(T);
        ),
        quote!(
            #[gc(bound = "T:")]
            struct S<T>(T);
        ),
        // Types the analysis cannot see into are answered conservatively.
        quote!(
            struct S {
                a: m!(),
                b: <T as X>::Y,
                c: fn(Self) -> u8,
                d: (Self,),
                e: [Self],
            }
        ),
    ];
    let invalid = [
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
            enum E {
                #[gc(finalize)]
                V,
            }
        ),
    ];
    for input in valid {
        let out = expand(input.clone());
        assert!(!out.contains("compile_error!"), "{input}: {out}");
        assert!(out.contains("::gc_core::Tracefor"), "{input}: {out}");
    }
    for input in invalid {
        let out = expand(input.clone());
        assert!(out.contains("compile_error!"), "{input}: {out}");
    }
}
