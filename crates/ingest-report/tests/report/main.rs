//! The ingest-report test binary: snapshots of rendered reports, a parse of
//! each with a CommonMark parser, and the writer against a temporary
//! directory and a mocked archive.

mod fixtures;
mod render;
mod writer;
