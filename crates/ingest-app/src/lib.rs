//! Composition shared by `ingest-cli`, `ingest-api` and `ingest-worker`.
//!
//! - [`config`]: one typed struct per concern, declared once as clap `Args`
//!   (flags with `MRE_*` environment fallbacks). Each binary's `main` parses
//!   them; no code here reads the environment itself.
//! - [`wiring`]: builds the concrete adapters from that configuration and
//!   hands them to the core's `TrackSyncService`.
//! - [`foreground`]: a sync run in its own process (`ingest-cli sync`),
//!   held as a job like a worker's, so one source has one writer.
//! - [`progress`]: progress sinks for a terminal (a bar) and for logs.
//! - [`remote`]: the API client of `ingest-cli remote sync` (what cron runs).
//! - [`runtime`]: tracing, the shutdown signal, a worker's metrics server.
//! - [`worker`]: the job worker that `ingest-worker` and
//!   `ingest-api --with-worker` run.

pub mod config;
pub mod exit;
pub mod foreground;
pub mod progress;
pub mod remote;
pub mod runtime;
pub mod wiring;
pub mod worker;
