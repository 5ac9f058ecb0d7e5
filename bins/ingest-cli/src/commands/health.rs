//! `ingest-cli health`: the container health check. One GET of a `/healthz`
//! URL, no proxy, no redirects; exit 0 on a 2xx, 1 otherwise (Docker
//! reserves 2), with one line on stderr saying why.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Arguments of `ingest-cli health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The URL to probe.
    #[arg(
        long,
        env = "MRE_HEALTHCHECK_URL",
        default_value = "http://127.0.0.1:8080/healthz"
    )]
    pub(crate) url: String,
    /// Give up after this many seconds.
    #[arg(long = "timeout-seconds", default_value_t = 3)]
    pub(crate) timeout_seconds: u64,
}

pub(crate) async fn run(args: HealthArgs) -> ExitCode {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(args.timeout_seconds.max(1)))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            return ExitCode::from(1);
        }
    };
    match client.get(&args.url).send().await {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("unhealthy: HTTP {}", r.status().as_u16());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::from(1)
        }
    }
}
