//! Thread-safe cycle-collected pointers: the work towards `gc_core::sync`
//! (issue 18). So far only the protocol between operations and the
//! collector, [`gate`], model-checked with loom; no public type uses it yet.

pub(crate) mod gate;
