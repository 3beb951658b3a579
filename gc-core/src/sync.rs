//! Thread-safe cycle-collected pointers: the work towards `gc_core::sync`
//! (issue 18). So far the protocol between operations and the collector
//! ([`gate`]) and the counts it protects ([`counts`]), model-checked with
//! loom; no public type uses them yet.

pub(crate) mod counts;
pub(crate) mod gate;
