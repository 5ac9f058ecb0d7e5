//! The last stage: the drift guard's decision and the guarded deactivation,
//! written by `finish_run` in one transaction with the deferred clears, the
//! missing counts and the sync state.
//!
//! Architecture invariant: a stage, reached only after a complete catalogue
//! was stored; it deactivates nothing beyond the guard's share unless
//! forced, and clears no field the drift guard held.

use std::collections::HashSet;
use std::time::Instant;

use tracing::warn;

use crate::domain::drift::{self, DeferredLoss};
use crate::domain::report::GuardDecision;
use crate::domain::run::{RunStatus, Stage, SyncOptions};
use crate::ports::repository::{FinishOutcome, FinishRun};
use crate::service::lists::{by_name_then_slug, first_entries};
use crate::service::plan::Plan;
use crate::service::run::{Adapters, Run, Stop, timing};

/// Decide on drift and deactivation, and close the run in the repository.
pub(super) async fn finish_run(
    adapters: &Adapters,
    run: &mut Run<'_>,
    plan: Plan,
) -> Result<(), Stop> {
    run.enter(Stage::Deactivation);
    let t = Instant::now();
    let seen: HashSet<&str> = plan.listed.iter().map(String::as_str).collect();
    let missing = plan
        .snapshot
        .values()
        .filter(|s| s.is_active && !seen.contains(s.slug.as_str()))
        .count() as u64;
    let guard = guard_decision(plan.active_before, missing, &run.options);
    if !guard.allowed {
        warn!(
            missing,
            active_before = plan.active_before,
            "deactivation guard refused"
        );
    }
    let (apply, held) = decide_drift(run);
    let options = &run.options;
    let finish = FinishRun {
        run_id: run.ctx.run_id,
        source: options.source.clone(),
        finished_at: adapters.clock.now(),
        listed: plan.listed,
        deactivate: guard.allowed,
        // Forced: the operator checked that the catalogue really shrank; no
        // grace period either.
        deactivate_after_missing_runs: if options.force {
            1
        } else {
            options.deactivate_after_missing_runs.max(1)
        },
        clear_fields: drift::clears(&apply),
        lease: run.ctx.job.as_ref().map(|j| j.lease),
    };
    let result = match adapters.repository.finish_run(&finish).await {
        Ok(outcome) => {
            record(run, outcome, &apply, &held, &guard);
            Ok(())
        }
        Err(e) => Err(Stop::repository("finishing the run", &e)),
    };
    run.report.guard = Some(guard);
    run.timings
        .push(timing(Stage::Deactivation, t.elapsed(), None));
    result
}

/// The drift guard's decision over the run, into the report: the deferred
/// losses to clear (those of fields not held) and the fields held.
fn decide_drift(run: &mut Run<'_>) -> (Vec<DeferredLoss>, Vec<String>) {
    let options = &run.options;
    let (drift, apply) = run.acc.drift.decide(
        options.drift_max_loss_share,
        options.drift_min_tracks,
        &options.accept_drift,
    );
    let apply: Vec<DeferredLoss> = apply.into_iter().cloned().collect();
    let held: Vec<String> = drift
        .iter()
        .flat_map(|d| d.held())
        .map(|f| f.field.clone())
        .collect();
    run.report.drift = drift;
    if !held.is_empty() {
        warn!(
            fields = held.join(","),
            "markup drift suspected; fields held"
        );
    }
    (apply, held)
}

/// What finishing did, into the counts and the report; the run's status
/// when a field was held or the guard refused.
fn record(
    run: &mut Run<'_>,
    outcome: FinishOutcome,
    apply: &[DeferredLoss],
    held: &[String],
    guard: &GuardDecision,
) {
    run.acc.counts.deactivated = outcome.deactivated.len() as u64;
    run.acc.counts.pending_deactivation = outcome.pending.len() as u64;
    run.report.deactivated = first_entries(outcome.deactivated, by_name_then_slug);
    run.report.pending_deactivation = first_entries(outcome.pending, by_name_then_slug);
    run.acc.absorb_clears(&outcome.cleared, apply);
    let mut errors = Vec::new();
    if !held.is_empty() {
        run.report.status = RunStatus::DriftSuspected;
        errors.push(format!(
            "markup drift suspected: {} vanished from too many tracks and {} kept as stored for every track (accept the change with --accept-drift)",
            held.join(", "),
            if held.len() == 1 { "was" } else { "were" }
        ));
    } else if !guard.allowed {
        run.report.status = RunStatus::GuardRefused;
    }
    errors.extend(guard.reason.clone().filter(|_| !guard.allowed));
    if !errors.is_empty() {
        run.report.error = Some(errors.join("; "));
    }
}

/// The guard: refuse to deactivate more than the allowed share of active
/// tracks unless forced.
fn guard_decision(active_before: u64, missing: u64, options: &SyncOptions) -> GuardDecision {
    let share = if active_before == 0 {
        0.0
    } else {
        missing as f64 / active_before as f64
    };
    let over = share > options.guard_max_deactivate_share;
    let allowed = !over || options.force;
    GuardDecision {
        active_before,
        missing,
        share,
        max_share: options.guard_max_deactivate_share,
        forced: options.force && over,
        allowed,
        reason: (!allowed).then(|| {
            format!(
                "deactivation refused: {missing} of {active_before} active tracks ({:.1}%) are missing from the catalogue, above the {:.0}% limit; nothing was deactivated (force to override)",
                share * 100.0,
                options.guard_max_deactivate_share * 100.0
            )
        }),
    }
}
