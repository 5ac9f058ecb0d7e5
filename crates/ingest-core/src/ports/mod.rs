//! Ports: the traits the core owns and adapters implement.

pub mod clock;
pub mod geocoder;
pub mod metrics;
pub mod progress;
pub mod report;
pub mod repository;
pub mod source;
