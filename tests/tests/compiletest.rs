//! Compile tests of `#[derive(Trace)]` and of the pointers' auto traits:
//! `ui/*.rs` must fail with the checked-in `.stderr`, `ui/pass/*.rs` must
//! compile and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite` and review the
//! diff. The messages are rustc's, so the expected output is for one pinned
//! toolchain (the one CI uses).

#[test]
#[cfg_attr(miri, ignore)]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui/pass/*.rs");
}
