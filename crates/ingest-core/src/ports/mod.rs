//! Ports: the traits the core owns and adapters implement.

pub mod clock;
pub mod geocoder;
pub mod jobs;
pub mod metrics;
pub mod notifier;
pub mod progress;
pub mod report;
pub mod repository;
pub mod source;
