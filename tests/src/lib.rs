//! Integration tests of gc-core (see `tests/`).
