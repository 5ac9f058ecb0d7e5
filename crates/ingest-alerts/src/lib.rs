#![doc = include_str!("../README.md")]

mod alerts;
mod config;
mod payload;
mod webhook;

pub use alerts::{alerts_for, spawn_notify};
pub use config::{
    DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT, MAX_ATTEMPTS_LIMIT, UnknownWebhookFormat, WebhookConfig, WebhookConfigError,
    WebhookFormat,
};
pub use payload::{SERVICE_NAME, payload};
pub use webhook::WebhookNotifier;
