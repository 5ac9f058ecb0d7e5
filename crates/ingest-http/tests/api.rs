//! The API end to end: the real router, driven in-process over in-memory
//! fakes of the job queue, the track repository and the report archive
//! (`support`), and the static admin page. One test binary, one module per concern.

#[path = "api/admin.rs"]
mod admin;
#[path = "api/auth.rs"]
mod auth;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/observe.rs"]
mod observe;
#[path = "api/ops.rs"]
mod ops;
#[path = "api/quality.rs"]
mod quality;
#[path = "api/report.rs"]
mod report;
#[path = "api/server.rs"]
mod server;
#[path = "api/support.rs"]
mod support;
#[path = "api/sync.rs"]
mod sync;
#[path = "api/tracks.rs"]
mod tracks;
