//! `ingest-cli completions SHELL` and `ingest-cli man`: the shell
//! completion scripts and the manual pages, generated from the same clap
//! definition the CLI parses with, so they cannot fall behind it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Command};
use clap_complete::Shell;

/// `completions` arguments.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: Shell,
}

/// `man` arguments.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write one page per command (`ingest-cli.1`, `ingest-cli-sync.1`,
    /// `ingest-cli-tracks-list.1`, …) into this directory instead of
    /// printing `ingest-cli.1` on stdout.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Print the completion script for `args.shell`.
pub(crate) fn completions(
    args: &CompletionsArgs,
    mut command: Command,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let name = command.get_name().to_owned();
    clap_complete::generate(args.shell, &mut command, name, out);
    Ok(())
}

/// Print the main manual page, or write every page to `args.out_dir`.
pub(crate) fn man(args: &ManArgs, command: Command, out: &mut dyn Write) -> anyhow::Result<()> {
    match &args.out_dir {
        None => {
            clap_mangen::Man::new(command)
                .render(out)
                .context("writing the manual page")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let written = write_pages(command, dir)?;
            writeln!(
                out,
                "wrote {} manual pages to {}",
                written.len(),
                dir.display()
            )?;
        }
    }
    Ok(())
}

/// One page for `command` and each of its subcommands, recursively; the
/// files written, in order.
fn write_pages(mut command: Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    command.build();
    let mut written = Vec::new();
    write_page(&command, dir, &mut written)?;
    Ok(written)
}

fn write_page(command: &Command, dir: &Path, written: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    // `ingest-cli tracks list` → `ingest-cli-tracks-list.1` (clap's
    // display name after `build`), as git and cargo name theirs.
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned();
    let path = dir.join(format!("{name}.1"));
    let mut buffer = Vec::new();
    // The page's NAME and title come from the display name `build` set.
    clap_mangen::Man::new(command.clone())
        .title(name.clone())
        .render(&mut buffer)
        .with_context(|| format!("rendering the page of {name}"))?;
    std::fs::write(&path, buffer).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_page(sub, dir, written)?;
    }
    Ok(())
}
