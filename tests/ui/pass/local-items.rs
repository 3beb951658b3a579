//! Types declared inside functions and blocks, and a `crate` path that is
//! only in scope there.
#![deny(warnings)]

fn main() {
    use std::cell::RefCell;

    mod renamed {
        pub(crate) use gc_core as gc;
    }

    #[derive(renamed::gc::Trace)]
    #[gc(crate = "renamed::gc")]
    struct Local {
        next: RefCell<Option<renamed::gc::Gc<Local>>>,
    }

    let a = renamed::gc::Gc::new(Local {
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(renamed::gc::collect(), 1);

    {
        #[derive(gc_core::Trace)]
        struct InBlock(u8);
        assert!(!gc_core::Gc::is_tracked(&gc_core::Gc::new(InBlock(1))));
    }
}
