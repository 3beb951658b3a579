//! Thread-safe cycle-collected pointers: the work towards `gc_core::sync`
//! (issue 18). So far the protocol between operations and the collector
//! ([`gate`]) and the counts it protects ([`counts`]), model-checked with
//! loom; no public type uses them yet.

pub(crate) mod counts;
pub(crate) mod gate;

/// Runs `f` under loom, with the preemption bound that keeps the models of
/// `gate` and `counts` small enough for CI.
#[cfg(loom)]
pub(crate) fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}
