//! Whole-workspace checks live in `tests/`; this library is intentionally
//! empty. See `tests/architecture.rs`.
