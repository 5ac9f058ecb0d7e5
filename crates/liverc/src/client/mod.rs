//! The polite HTTP client. (Being written.)

/// Client configuration.
#[derive(Debug, Clone, Default)]
pub struct LiveRcConfig {}

/// The client.
#[derive(Debug, Clone)]
pub struct LiveRcClient {}
