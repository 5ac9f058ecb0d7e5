#![doc = include_str!("../README.md")]

pub mod client;
pub mod error;
pub mod model;
pub mod parse;

pub use client::{LiveRcClient, LiveRcConfig};
pub use error::{ErrorClass, FormatError, LiveRcError, PageKind};
pub use model::{Catalogue, CatalogueEntry, Dashboard, SkippedRow, TrackStatus};
pub use parse::{parse_catalogue, parse_dashboard};
