#![doc = include_str!("../README.md")]

pub mod escape;
pub mod format;
pub mod render;
pub mod terminal;
pub mod writer;

pub use render::{render_markdown, short_run_id};
pub use terminal::render_terminal;
pub use writer::{
    MarkdownReportConfig, MarkdownReportWriter, parse_report_file_name, report_file_name,
};
