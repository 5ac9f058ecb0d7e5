//! Ports: the traits the core owns and adapters implement. Each port's file
//! holds the trait with the commands it takes and the results it gives
//! (the repository's `UpsertBatch`, `FinishRun`, `BatchOutcome`, …); the
//! records they carry are the domain's.
//!
//! Architecture invariant: above the domain, below the service. A port
//! imports the domain only, never another port or the service, and names no
//! adapter: mocks come from `mockall` behind the `mock` feature.

pub mod clock;
pub mod geocoder;
pub mod jobs;
pub mod metrics;
pub mod notifier;
pub mod progress;
pub mod report;
pub mod repository;
pub mod source;
