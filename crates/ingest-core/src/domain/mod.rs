//! The domain: the records a sync moves and the rules it applies to them,
//! with no I/O. Tracks (`track`), runs (`run`: options, stages, statuses),
//! what a run did (`report`), jobs (`job`), and the pure rules: the
//! field-by-field comparison (`diff`), the markup-drift guard (`drift`) and
//! the validation of scraped values (`validate`).
//!
//! Architecture invariant: the ground floor of the crate. Nothing here
//! imports a port or the service; `tests/tests/core_layers.rs` checks it.

pub mod diff;
pub mod drift;
pub mod job;
pub mod report;
pub mod run;
pub mod track;
pub mod validate;
