#![doc = include_str!("../README.md")]

pub mod client;
pub mod error;
pub mod model;
pub mod parse;

pub use client::{
    ClientStats, DashboardFetch, DashboardPage, KillSwitch, LiveRcClient, LiveRcConfig,
    ResponseClasses, RetryPolicy, Validators,
};
pub use error::{ErrorClass, FormatError, LiveRcError, PageKind};
pub use model::{Catalogue, CatalogueEntry, Dashboard, SkippedRow, TrackStatus};
pub use parse::{parse_catalogue, parse_dashboard};
