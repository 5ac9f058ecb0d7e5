//! `ingest-cli tracks list`: the stored catalogue.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use ingest_app::config::DatabaseConfig;
use ingest_core::{SOURCE_LIVERC, TrackQuery};

/// The `tracks` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TracksCommand {
    /// List stored tracks (active ones unless --all), ordered by slug.
    List {
        /// Include deactivated tracks.
        #[arg(long)]
        all: bool,
        /// Print JSON (one array) instead of a table.
        #[arg(long)]
        json: bool,
        /// At most this many tracks.
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
        /// Skip this many first.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

pub(crate) async fn run(command: TracksCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let TracksCommand::List {
        all,
        json,
        limit,
        offset,
        database,
    } = command;
    let repo = super::open_existing(&database).await?.tracks;
    let tracks = repo
        .list_tracks(
            SOURCE_LIVERC,
            TrackQuery {
                active_only: !all,
                limit,
                offset,
            },
        )
        .await?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &tracks)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<28} {:<40} {:<24} {:<3} {:<6}",
        "slug", "name", "city", "cc", "active"
    )?;
    for t in &tracks {
        writeln!(
            out,
            "{:<28} {:<40} {:<24} {:<3} {:<6}",
            clip(&t.slug, 28),
            clip(&t.catalogue.name, 40),
            clip(t.profile.city.as_deref().unwrap_or("—"), 24),
            t.profile.country_code.as_deref().unwrap_or("—"),
            if t.is_active { "yes" } else { "no" }
        )?;
    }
    writeln!(out, "{} tracks", tracks.len())?;
    Ok(ExitCode::SUCCESS)
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
