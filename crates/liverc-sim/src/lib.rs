#![doc = include_str!("../README.md")]

pub mod cli;
mod config;
mod faults;
mod generate;
mod model;
mod render;
mod server;
mod site;
mod stats;

use std::io;
use std::net::SocketAddr;

pub use config::{ALLOW_ALL_ROBOTS, Fault, FaultConfig, RetryAfter, SimConfig, UnknownFault};
pub use model::{
    AddressKind, FacebookStyle, FieldChange, HrefStyle, LifetimeStats, Listing, MarkupStyle,
    MonthTiles, MutationLog, Rename, StatusIcon, TrackField, TrackPatch, TrackRecord,
};
pub use server::{RunningSim, Simulator};
pub use site::{MutationRequest, RandomMutation, RenderedPage, SiteHandle};
pub use stats::{ClassStats, FaultCounts, PathClass, SimStats};

/// Everything the simulator can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A mutation named a slug the site does not have.
    #[error("no track with slug {0:?}")]
    UnknownTrack(String),
    /// A mutation asked for a value a page cannot show (an empty name, …).
    #[error("invalid mutation: {0}")]
    Invalid(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The server task failed.
    #[error("server failed: {0}")]
    Server(#[source] io::Error),
}
