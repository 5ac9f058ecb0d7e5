//! The API client behind `ingest-cli remote sync`: start a sync through the
//! API (as cron does) and optionally follow it to the end, so scheduled and
//! admin runs take the same path through the queue and the workers.
//!
//! Outcome codes: the CLI's one table ([`crate::exit`]), read from the job's
//! status and its run's; the API not usable (unreachable, 401, an
//! unexpected answer) is [`crate::exit::FAILED`], and a sync not started
//! (kill switch off, another sync of the source queued or running)
//! [`crate::exit::SKIPPED`].

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use ingest_core::MetadataMode;
use serde::Deserialize;
use serde_json::json;

/// Arguments of `ingest-cli remote sync`.
#[derive(Args)]
pub struct RemoteSyncArgs {
    /// Base URL of `ingest-api`, e.g. `http://ingest-api:8080`.
    #[arg(long = "api-url", env = "MRE_API_URL")]
    pub api_url: String,
    /// Bearer token (one of the API's `MRE_ADMIN_API_TOKENS`).
    #[arg(long = "token", env = "MRE_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Follow the job until it ends and exit by its outcome.
    #[arg(long)]
    pub wait: bool,
    /// Which dashboards to fetch (default: the API's `MRE_TRACK_SYNC_METADATA_MODE`).
    #[arg(long)]
    pub metadata: Option<MetadataMode>,
    /// Dashboards in flight at once.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=crate::config::CONCURRENCY_ARG_MAX))]
    pub concurrency: Option<u16>,
    /// Deactivate even when the guard would refuse.
    #[arg(long)]
    pub force: bool,
    /// Who the run is recorded as started by: `api` (default: a person's
    /// run, like the admin page's) or `cron` (the scheduler passes this).
    #[arg(long, default_value = "api", value_parser = ["cron", "api"])]
    pub trigger: String,
    /// Seconds between status polls while waiting.
    #[arg(long = "poll-seconds", default_value_t = 2)]
    pub poll_seconds: u64,
    /// Give up waiting after this many minutes (the job keeps running).
    #[arg(long = "timeout-minutes", default_value_t = 180)]
    pub timeout_minutes: u64,
    /// Print the final job as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

impl std::fmt::Debug for RemoteSyncArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSyncArgs")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("wait", &self.wait)
            .field("metadata", &self.metadata)
            .field("concurrency", &self.concurrency)
            .field("force", &self.force)
            .field("trigger", &self.trigger)
            .finish_non_exhaustive()
    }
}

/// The part of the API's job view this command reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobView {
    job_id: String,
    status: String,
    #[serde(default)]
    run_status: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    processed: u64,
    #[serde(default)]
    total: u64,
    #[serde(default)]
    eta_seconds: Option<f64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    report_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail {
    code: String,
    message: String,
    #[serde(default)]
    job_id: Option<String>,
}

/// Enqueue (and with `wait`, follow) a sync job. Final output goes to `out`;
/// progress and diagnostics to `log`, one line each. Returns the outcome code.
pub async fn remote_sync(
    args: &RemoteSyncArgs,
    out: &mut dyn Write,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<u8> {
    let base = args.api_url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("ingest-remote/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let auth = |r: reqwest::RequestBuilder| match &args.token {
        Some(t) => r.bearer_auth(t),
        None => r,
    };

    let mut body = serde_json::Map::new();
    if let Some(m) = args.metadata {
        body.insert("metadata".into(), json!(m.as_str()));
    }
    if let Some(c) = args.concurrency {
        body.insert("concurrency".into(), json!(c));
    }
    if args.force {
        body.insert("force".into(), json!(true));
    }
    let response = auth(client.post(format!("{base}/api/v1/tracks/sync")))
        .header("X-MRE-Trigger", &args.trigger)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::Value::Object(body).to_string())
        .send()
        .await
        .with_context(|| format!("POST {base}/api/v1/tracks/sync"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let job_id = match status.as_u16() {
        202 => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Accepted {
                job_id: String,
            }
            serde_json::from_str::<Accepted>(&text)
                .with_context(|| format!("unexpected 202 body: {text}"))?
                .job_id
        }
        409 | 503 => {
            let detail = serde_json::from_str::<ErrorBody>(&text)
                .ok()
                .map(|b| b.error);
            let (code, message) = detail
                .as_ref()
                .map(|d| (d.code.as_str(), d.message.as_str()))
                .unwrap_or(("unknown", text.as_str()));
            if matches!(code, "sync_active" | "scrape_disabled") {
                let active = detail.as_ref().and_then(|d| d.job_id.clone());
                log(&format!(
                    "skipped ({code}): {message}{}",
                    active.map(|id| format!(" [job {id}]")).unwrap_or_default()
                ));
                return Ok(crate::exit::SKIPPED);
            }
            log(&format!("the API answered {status}: {message}"));
            return Ok(crate::exit::FAILED);
        }
        401 => {
            log(if args.token.is_some() {
                "the API refused the token (401): is it one of its MRE_ADMIN_API_TOKENS?"
            } else {
                "the API needs a token (401): pass --token or set MRE_API_TOKEN"
            });
            return Ok(crate::exit::FAILED);
        }
        _ => {
            log(&format!("the API answered {status}: {text}"));
            return Ok(crate::exit::FAILED);
        }
    };
    log(&format!("sync job {job_id} enqueued"));
    if !args.wait {
        writeln!(out, "{job_id}")?;
        return Ok(crate::exit::SUCCEEDED);
    }

    // Follow the job. Brief API outages (a restart) are ridden out.
    let deadline = Instant::now() + Duration::from_secs(args.timeout_minutes.saturating_mul(60));
    let poll = Duration::from_secs(args.poll_seconds.max(1));
    let mut last_line = String::new();
    let mut failures = 0u32;
    let job = loop {
        if Instant::now() > deadline {
            log(&format!(
                "gave up waiting after {} minutes; job {job_id} continues",
                args.timeout_minutes
            ));
            return Ok(crate::exit::FAILED);
        }
        let result = auth(client.get(format!("{base}/api/v1/tracks/sync/{job_id}")))
            .send()
            .await;
        let view = match result {
            Ok(r) if r.status().is_success() => {
                failures = 0;
                let text = r.text().await.unwrap_or_default();
                serde_json::from_str::<JobView>(&text)
                    .with_context(|| format!("unexpected job body: {text}"))?
            }
            Ok(r) if r.status().is_client_error() => {
                log(&format!("the API answered {} for job {job_id}", r.status()));
                return Ok(crate::exit::FAILED);
            }
            other => {
                failures += 1;
                let why = match other {
                    Ok(r) => format!("HTTP {}", r.status()),
                    Err(e) => e.to_string(),
                };
                if failures >= 30 {
                    log(&format!("the API stayed unreachable: {why}"));
                    return Ok(crate::exit::FAILED);
                }
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        let line = format!(
            "{} {} {}/{}{}",
            view.status,
            view.stage.as_deref().unwrap_or("-"),
            view.processed,
            view.total,
            view.eta_seconds
                .map(|s| format!(" eta {}s", s.round()))
                .unwrap_or_default()
        );
        if line != last_line {
            log(&line);
            last_line = line;
        }
        if matches!(view.status.as_str(), "succeeded" | "failed" | "cancelled") {
            break view;
        }
        tokio::time::sleep(poll).await;
    };

    if args.json {
        let full = auth(client.get(format!("{base}/api/v1/tracks/sync/{job_id}")))
            .send()
            .await?
            .text()
            .await?;
        writeln!(out, "{full}")?;
    } else {
        writeln!(out, "job {}: {}", job.job_id, job.status)?;
        if let Some(rs) = &job.run_status {
            writeln!(out, "run status: {rs}")?;
        }
        if let Some(e) = &job.error {
            writeln!(out, "error: {e}")?;
        }
        if let Some(u) = &job.report_url {
            writeln!(out, "report: {base}{u}")?;
        }
    }
    Ok(crate::exit::for_job(
        job.status.as_str(),
        job.run_status.as_deref(),
    ))
}
