//! Renders a [`RunReport`] as Markdown: a pure function of the report, so the
//! same run always gives the same bytes (snapshot-tested).
//!
//! Layout: title, header table (run, source, trigger, times, duration,
//! options), the markup-drift section when the drift guard held, accepted or
//! flagged a field (first, so a held run says so before anything else),
//! status, summary counts, stage timings, then one section per list (new,
//! updated, deactivated, missing and pending deactivation, reactivated,
//! metadata errors, validation anomalies, skipped catalogue rows) and the
//! completeness of active tracks. Every other section is always present; an
//! empty one says "None.". Every string that came from a web page goes
//! through [`crate::escape`].

use ingest_core::{
    ChangedField, Completeness, DeactivatedTrack, DriftDecision, GuardDecision, MetadataErrorEntry,
    NewTrackEntry, PendingDeactivation, ReactivatedTrackEntry, RunReport, RunStatus,
    SkippedRowEntry, StageTiming, UpdatedTrackEntry, ValidationAnomaly,
};

use crate::escape;
use crate::format;

/// What an empty section says.
pub const NONE: &str = "None.";

/// Longest field value shown in full (old/new values, anomalies); longer
/// ones are cut with a note of their length. The history table keeps them.
pub const MAX_VALUE_CHARS: usize = 200;

/// Longest error message shown in full in a table.
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Entries listed per section; the rest are counted (a first run over a
/// 100,000-track catalogue must not make a 100,000-line report).
pub const MAX_LISTED: usize = 1_000;

/// The entries a section lists and how many it leaves out.
/// `total` is the section's count from the summary: the run keeps only the
/// first entries of a long list, so what it left out is counted from there.
fn listed<T>(items: &[T], total: u64) -> (&[T], usize) {
    let shown = items.len().min(MAX_LISTED);
    let total = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .max(items.len());
    (&items[..shown], total - shown)
}

/// The line that closes a capped list.
fn more(doc: &mut Doc, left_out: usize) {
    if left_out > 0 {
        doc.blank();
        doc.line(&format!(
            "… and {} more, not listed (`ingest-cli tracks list` shows every stored track).",
            format::count(left_out as u64)
        ));
    }
}

/// The Markdown report of one run.
pub fn render_markdown(report: &RunReport) -> String {
    let mut doc = Doc::default();
    header(&mut doc, report);
    drift(&mut doc, report);
    status(&mut doc, report);
    summary(&mut doc, report);
    stage_timings(&mut doc, report);
    new_tracks(&mut doc, &report.new_tracks, report.counts.new);
    updated_tracks(&mut doc, &report.updated_tracks, report.counts.updated);
    deactivated_tracks(&mut doc, &report.deactivated, report.counts.deactivated);
    pending_deactivation(
        &mut doc,
        &report.pending_deactivation,
        report.counts.pending_deactivation,
        report.options.deactivate_after_missing_runs,
    );
    reactivated_tracks(&mut doc, &report.reactivated, report.counts.reactivated);
    metadata_errors(
        &mut doc,
        &report.metadata_errors,
        report.counts.dashboards_failed,
    );
    anomalies(
        &mut doc,
        &report.anomalies,
        report.counts.validation_anomalies,
    );
    skipped_rows(&mut doc, &report.skipped_rows, report.counts.skipped_rows);
    completeness(&mut doc, report);
    doc.0
}

/// The first 8 hex digits of the run id, as the title shows it.
pub fn short_run_id(report: &RunReport) -> String {
    report.run_id.simple().to_string().chars().take(8).collect()
}

/// A Markdown document being built line by line.
#[derive(Default)]
struct Doc(String);

impl Doc {
    fn line(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push('\n');
    }

    fn blank(&mut self) {
        self.0.push('\n');
    }

    /// A level-2 heading preceded by a blank line and followed by one.
    fn section(&mut self, title: &str) {
        self.blank();
        self.line(&format!("## {title}"));
        self.blank();
    }

    fn row(&mut self, cells: &[&str]) {
        self.line(&format!("| {} |", cells.join(" | ")));
    }
}

fn header(doc: &mut Doc, r: &RunReport) {
    doc.line(&format!("# Track sync report — run {}", short_run_id(r)));
    doc.blank();
    if r.options.dry_run {
        doc.line(
            "> **Dry run: nothing was stored.** This is what the run would have \
             written: the additions, field changes, deactivations and the guards' \
             decisions below are the store's own answers, rolled back.",
        );
        doc.blank();
    }
    doc.line("| | |");
    doc.line("|---|---|");
    doc.row(&["Run", &format!("`{}`", r.run_id.hyphenated())]);
    doc.row(&["Source", &escape::text(&r.source)]);
    doc.row(&[
        "Trigger",
        &format!("{}, attempt {}", r.trigger.as_str(), r.attempt),
    ]);
    doc.row(&["Started", &format::timestamp(r.started_at)]);
    doc.row(&["Finished", &format::timestamp(r.finished_at)]);
    let mut duration = format::duration(r.duration());
    if let Some(bound) = r.politeness_bound_seconds {
        duration.push_str(&format!(
            " (bound at this politeness: {})",
            format::seconds(bound)
        ));
    }
    doc.row(&["Duration", &duration]);
    let o = &r.options;
    doc.row(&[
        "Options",
        &format!(
            "metadata `{}`, concurrency {}, batch {}, guard {}, force {}, \
             deactivate after {} missing {}, drift limit {} of at least {} {}{}",
            o.metadata.as_str(),
            o.concurrency,
            o.batch_size,
            format::limit_of_fraction(o.guard_max_deactivate_share),
            if o.force { "on" } else { "off" },
            o.deactivate_after_missing_runs,
            if o.deactivate_after_missing_runs == 1 {
                "run"
            } else {
                "runs"
            },
            format::limit_of_fraction(o.drift_max_loss_share),
            o.drift_min_tracks,
            if o.drift_min_tracks == 1 {
                "track"
            } else {
                "tracks"
            },
            if o.accept_drift.is_empty() {
                String::new()
            } else {
                format!(
                    ", accepting drift of {}",
                    escape::text(&o.accept_drift.join(", "))
                )
            },
        ),
    ]);
}

fn status(doc: &mut Doc, r: &RunReport) {
    doc.section("Status");
    match r.status {
        RunStatus::Succeeded => {
            let failed = r.metadata_errors.len();
            if failed == 0 {
                doc.line("**Succeeded.**");
            } else {
                doc.line(&format!(
                    "**Succeeded.** {} kept the fields stored from earlier runs \
                     (see Metadata errors).",
                    tracks_whose_dashboard_failed(failed)
                ));
            }
        }
        RunStatus::DriftSuspected => {
            let held: Vec<String> = r
                .drift
                .iter()
                .flat_map(|d| d.held())
                .map(|f| escape::code(&f.field))
                .collect();
            doc.line(&format!(
                "**Drift suspected.** {} vanished from too many tracks at once: every \
                 track keeps its stored value (see Markup drift suspected above).",
                if held.is_empty() {
                    "Some fields".to_owned()
                } else {
                    held.join(", ")
                }
            ));
            doc.blank();
            doc.line("The rest of the run completed: new tracks and every other field are stored.");
            if let Some(g) = r.guard.as_ref().filter(|g| !g.allowed) {
                doc.blank();
                doc.line(&guard_refusal(Some(g), None));
            }
        }
        RunStatus::GuardRefused => {
            doc.line(&guard_refusal(r.guard.as_ref(), r.error.as_deref()));
            doc.blank();
            doc.line("The rest of the run completed: new and updated tracks are stored.");
        }
        RunStatus::FormatError => failure(
            doc,
            r,
            "**Format error.** The catalogue page could not be read: the site \
             may have changed shape.",
        ),
        RunStatus::Failed => failure(doc, r, "**Failed.** The run stopped before the end."),
        RunStatus::Cancelled => failure(
            doc,
            r,
            "**Cancelled.** The run was stopped on request; what it stored before stays.",
        ),
    }
    if r.status != RunStatus::GuardRefused
        && let Some(g) = r
            .guard
            .as_ref()
            .filter(|g| r.status != RunStatus::DriftSuspected || g.allowed)
    {
        doc.blank();
        doc.line(&guard_note(g));
    }
}

fn tracks_whose_dashboard_failed(n: usize) -> String {
    if n == 1 {
        "1 track whose dashboard failed".to_owned()
    } else {
        format!("{} tracks whose dashboards failed", format::count(n as u64))
    }
}

/// The guard's refusal, stated plainly with its numbers.
fn guard_refusal(guard: Option<&GuardDecision>, error: Option<&str>) -> String {
    let Some(g) = guard else {
        return match error {
            Some(e) => format!(
                "**Guard refused the deactivation:** {}; nothing deactivated.",
                escape::text(e.trim())
            ),
            None => "**Guard refused the deactivation:** nothing deactivated.".to_owned(),
        };
    };
    let numbers = format!(
        "would deactivate {} of {} active tracks ({})",
        format::count(g.missing),
        format::count(g.active_before),
        format::percent_of_fraction(g.share),
    );
    if g.share > g.max_share {
        format!(
            "**Guard refused:** {numbers}, above the {} limit: nothing deactivated; \
             run again with --force if the catalogue really shrank.",
            format::limit_of_fraction(g.max_share)
        )
    } else {
        let why = g
            .reason
            .as_deref()
            .or(error)
            .map(|s| escape::text(s.trim()))
            .unwrap_or_else(|| "the deactivation was not allowed".to_owned());
        format!("**Guard refused:** {why}; {numbers}: nothing deactivated.")
    }
}

/// What the guard decided on a run it did not stop.
fn guard_note(g: &GuardDecision) -> String {
    let missing = format!(
        "{} of {} active tracks ({})",
        format::count(g.missing),
        format::count(g.active_before),
        format::percent_of_fraction(g.share),
    );
    let limit = format::limit_of_fraction(g.max_share);
    if g.allowed && g.forced && g.share > g.max_share {
        format!(
            "Deactivation forced (--force): {missing} were missing from the \
             catalogue, above the {limit} limit."
        )
    } else if g.allowed {
        format!(
            "Deactivation guard: {missing} missing from the catalogue, within the {limit} limit."
        )
    } else {
        let why = g
            .reason
            .as_deref()
            .map(|s| format!(": {}", escape::text(s.trim())))
            .unwrap_or_default();
        format!("Deactivation guard: {missing} missing from the catalogue; not deactivated{why}.")
    }
}

fn failure(doc: &mut Doc, r: &RunReport, headline: &str) {
    doc.line(headline);
    doc.blank();
    match r.error.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => doc.0.push_str(&escape::code_block(e)),
        _ => doc.line("No error message was recorded."),
    }
    doc.blank();
    let c = &r.counts;
    if c.new + c.updated + c.deactivated + c.reactivated == 0 {
        doc.line("No track was added, changed, deactivated or reactivated.");
    } else {
        doc.line("The counts below show what the run did before it stopped.");
    }
}

fn summary(doc: &mut Doc, r: &RunReport) {
    let c = &r.counts;
    let n = format::count;
    doc.section("Summary");
    doc.line("| | |");
    doc.line("|---|---:|");
    doc.row(&["In catalogue", &n(c.catalogue_rows)]);
    doc.row(&["Skipped catalogue rows", &n(c.skipped_rows)]);
    doc.row(&["New", &n(c.new)]);
    doc.row(&["Updated (profile fields)", &n(c.updated)]);
    doc.row(&["Unchanged", &n(c.unchanged)]);
    doc.row(&["Churn only (activity, stats)", &n(c.churn_only)]);
    doc.row(&["Deactivated", &n(c.deactivated)]);
    doc.row(&["Missing, pending deactivation", &n(c.pending_deactivation)]);
    doc.row(&["Reactivated", &n(c.reactivated)]);
    doc.row(&[
        "Dashboards fetched / not modified (304) / skipped / failed",
        &format!(
            "{} / {} / {} / {}",
            n(c.dashboards_fetched),
            n(c.dashboards_not_modified),
            n(c.dashboards_skipped),
            n(c.dashboards_failed)
        ),
    ]);
    doc.row(&[
        "Retries / 429 answers / Retry-After wait",
        &format!(
            "{} / {} / {}",
            n(c.retries),
            n(c.responses_429),
            format::seconds(c.retry_after_wait_seconds)
        ),
    ]);
    doc.row(&["Validation anomalies", &n(c.validation_anomalies)]);
    doc.row(&[
        "Geocoded / geocoding failed",
        &format!("{} / {}", n(c.geocoded), n(c.geocode_failures)),
    ]);
    doc.row(&[
        "Database batches / rows written",
        &format!("{} / {}", n(c.db_batches), n(c.db_rows_written)),
    ]);
    doc.blank();
    doc.line(
        "*Churn only*: tracks whose only differences are the catalogue's activity \
         text, live flags, current event or lifetime stats. They are counted, not listed. \
         *Rows written*: rows whose stored values changed in any way, the address a \
         dashboard was read from and activity times included, so it can exceed \
         new + updated + churn only.",
    );
}

fn stage_timings(doc: &mut Doc, r: &RunReport) {
    doc.section("Stage timings");
    if r.stage_timings.is_empty() {
        doc.line(NONE);
        return;
    }
    let total = r.duration().as_secs_f64();
    doc.line("| stage | time | share |");
    doc.line("|---|---:|---:|");
    for StageTiming {
        stage,
        seconds,
        detail,
    } in &r.stage_timings
    {
        let label = match detail.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => format!("{} ({})", stage.as_str(), escape::text(d)),
            _ => stage.as_str().to_owned(),
        };
        doc.row(&[
            &label,
            &format::seconds(*seconds),
            &format::stage_share(*seconds, total),
        ]);
    }
    doc.row(&[
        "whole run",
        &format::duration(r.duration()),
        if total > 0.0 { "100%" } else { "—" },
    ]);
}

/// `1. ` and the indent that continues its item.
fn marker(index: usize) -> (String, String) {
    let m = format!("{}. ", index + 1);
    let indent = " ".repeat(m.len());
    (m, indent)
}

fn new_tracks(doc: &mut Doc, tracks: &[NewTrackEntry], total: u64) {
    doc.section("New tracks");
    if tracks.is_empty() {
        doc.line(NONE);
        return;
    }
    let (shown, left_out) = listed(tracks, total);
    for (i, t) in shown.iter().enumerate() {
        let (m, _) = marker(i);
        let mut parts = vec![escape::strong(&t.name), escape::code(&t.slug)];
        let place: Vec<&str> = [&t.city, &t.state, &t.country_code]
            .into_iter()
            .filter_map(|p| p.as_deref().map(str::trim).filter(|p| !p.is_empty()))
            .collect();
        if !place.is_empty() {
            parts.push(escape::text(&place.join(", ")));
        }
        if !t.track_url.trim().is_empty() {
            parts.push(escape::text(t.track_url.trim()));
        }
        doc.line(&format!("{m}{}", parts.join(" — ")));
    }
    more(doc, left_out);
}

fn value(v: Option<&str>) -> String {
    match v {
        Some(v) => escape::code(&escape::truncate(v, MAX_VALUE_CHARS)),
        None => "—".to_owned(),
    }
}

fn updated_tracks(doc: &mut Doc, tracks: &[UpdatedTrackEntry], total: u64) {
    doc.section("Updated tracks");
    if tracks.is_empty() {
        doc.line(NONE);
        return;
    }
    let (shown, left_out) = listed(tracks, total);
    for (i, t) in shown.iter().enumerate() {
        let (m, indent) = marker(i);
        doc.line(&format!(
            "{m}{} ({})",
            escape::strong(&t.name),
            escape::code(&t.slug)
        ));
        if t.changes.is_empty() {
            doc.line(&format!("{indent}- no changed field was recorded"));
        }
        for ChangedField {
            field,
            old_value,
            new_value,
        } in &t.changes
        {
            doc.line(&format!(
                "{indent}- {}: {} → {}",
                escape::text(field),
                value(old_value.as_deref()),
                value(new_value.as_deref())
            ));
        }
    }
    more(doc, left_out);
}

fn deactivated_tracks(doc: &mut Doc, tracks: &[DeactivatedTrack], total: u64) {
    doc.section("Deactivated tracks");
    if tracks.is_empty() {
        doc.line(NONE);
        return;
    }
    let (shown, left_out) = listed(tracks, total);
    for (i, t) in shown.iter().enumerate() {
        let (m, _) = marker(i);
        doc.line(&format!(
            "{m}{} ({}) — last seen {}, in catalogue since {}",
            escape::strong(&t.name),
            escape::code(&t.slug),
            format::date(t.last_seen_at),
            format::date(t.first_seen_at),
        ));
    }
    more(doc, left_out);
}

fn pending_deactivation(doc: &mut Doc, tracks: &[PendingDeactivation], total: u64, of: u32) {
    doc.section("Missing, pending deactivation");
    if tracks.is_empty() {
        doc.line(NONE);
        return;
    }
    doc.line(&format!(
        "Active tracks missing from this catalogue: each is deactivated once it has been \
         missing from {of} consecutive complete catalogues, and its count starts again if \
         it comes back."
    ));
    doc.blank();
    let (shown, left_out) = listed(tracks, total);
    for (i, t) in shown.iter().enumerate() {
        let (m, _) = marker(i);
        doc.line(&format!(
            "{m}{} ({}) — missing, pending deactivation ({} of {of}), last seen {}",
            escape::strong(&t.name),
            escape::code(&t.slug),
            t.missing_runs,
            format::date(t.last_seen_at),
        ));
    }
    more(doc, left_out);
}

/// The drift guard's section, when it has something to say: the held
/// fields (the markup probably changed), accepted losses, mass changes.
fn drift(doc: &mut Doc, r: &RunReport) {
    let Some(d) = r.drift.as_ref().filter(|d| d.is_notable()) else {
        return;
    };
    let held = d.held().count();
    if held > 0 {
        doc.section("Markup drift suspected: fields held");
        doc.line(&format!(
            "{} vanished from more than {} of the fetched tracks that had {} (and from at \
             least {} of them): the dashboard's markup probably changed. Every track keeps \
             its stored value, and nothing of {} was written to the history. If the change \
             is real, run the sync again accepting it: `--accept-drift FIELD` (or `all`), \
             `acceptDrift` in the API.",
            if held == 1 {
                "This field"
            } else {
                "These fields"
            },
            format::limit_of_fraction(d.max_loss_share),
            if held == 1 { "it" } else { "them" },
            format::count(d.min_tracks),
            if held == 1 { "it" } else { "them" },
        ));
    } else {
        doc.section("Markup drift");
        doc.line(
            "Fields that vanished or changed on a large share of the tracks that had them: \
             applied (accepted by the operator, or changed values rather than lost ones).",
        );
    }
    doc.blank();
    doc.line("| field | decision | vanished | changed | tracks that had it |");
    doc.line("|---|---|---:|---:|---:|");
    for f in &d.fields {
        if f.decision == DriftDecision::Applied && !f.mass_change {
            continue;
        }
        let decision = match (f.decision, f.mass_change) {
            (DriftDecision::Held, _) => "**held**".to_owned(),
            (DriftDecision::Accepted, _) => "accepted, applied".to_owned(),
            (DriftDecision::Applied, true) => "mass change, applied".to_owned(),
            (DriftDecision::Applied, false) => "applied".to_owned(),
        };
        doc.row(&[
            &escape::cell_code(&f.field),
            &decision,
            &format!(
                "{} ({})",
                format::count(f.lost),
                format::percent_of_fraction(f.loss_share())
            ),
            &format!(
                "{} ({})",
                format::count(f.changed),
                format::percent_of_fraction(f.change_share())
            ),
            &format::count(f.had),
        ]);
    }
    let samples: Vec<_> = d
        .fields
        .iter()
        .filter(|f| f.decision != DriftDecision::Applied || f.mass_change)
        .flat_map(|f| f.samples.iter().map(move |s| (f, s)))
        .collect();
    if !samples.is_empty() {
        doc.blank();
        doc.line("Sample tracks (stored value → what the page now says):");
        doc.blank();
        doc.line("| field | track | stored | on the page |");
        doc.line("|---|---|---|---|");
        for (f, s) in samples {
            doc.row(&[
                &escape::cell_code(&f.field),
                &format!("{} ({})", escape::text(&s.name), escape::cell_code(&s.slug)),
                &cell_value(s.stored_value.as_deref()),
                &cell_value(s.page_value.as_deref()),
            ]);
        }
    }
}

fn cell_value(v: Option<&str>) -> String {
    match v {
        Some(v) => escape::cell_code(&escape::truncate(v, MAX_VALUE_CHARS)),
        None => "—".to_owned(),
    }
}

fn reactivated_tracks(doc: &mut Doc, tracks: &[ReactivatedTrackEntry], total: u64) {
    doc.section("Reactivated tracks");
    if tracks.is_empty() {
        doc.line(NONE);
        return;
    }
    let (shown, left_out) = listed(tracks, total);
    for (i, t) in shown.iter().enumerate() {
        let (m, _) = marker(i);
        let since = t
            .inactive_since
            .map(|d| format!("inactive since {}", format::date(d)))
            .unwrap_or_else(|| "inactive since an unknown date".to_owned());
        doc.line(&format!(
            "{m}{} ({}) — {since}",
            escape::strong(&t.name),
            escape::code(&t.slug),
        ));
    }
    more(doc, left_out);
}

fn metadata_errors(doc: &mut Doc, errors: &[MetadataErrorEntry], total: u64) {
    doc.section("Metadata errors");
    if errors.is_empty() {
        doc.line(NONE);
        return;
    }
    doc.line("| track | error | attempts | message |");
    doc.line("|---|---|---:|---|");
    let (shown, left_out) = listed(errors, total);
    for e in shown {
        doc.row(&[
            &escape::cell_code(&e.slug),
            &escape::text(&e.class),
            &format::count(u64::from(e.attempts)),
            &escape::text(&escape::truncate(e.message.trim(), MAX_MESSAGE_CHARS)),
        ]);
    }
    doc.blank();
    doc.line(if errors.len() == 1 {
        "This track keeps the fields stored from earlier runs."
    } else {
        "These tracks keep the fields stored from earlier runs."
    });
    more(doc, left_out);
}

fn anomalies(doc: &mut Doc, anomalies: &[ValidationAnomaly], total: u64) {
    doc.section("Validation anomalies");
    if anomalies.is_empty() {
        doc.line(NONE);
        return;
    }
    doc.line("| track | field | value | rule |");
    doc.line("|---|---|---|---|");
    let (shown, left_out) = listed(anomalies, total);
    for a in shown {
        doc.row(&[
            &escape::cell_code(&a.slug),
            &escape::text(&a.field),
            &escape::cell_code(&escape::truncate(&a.value, MAX_VALUE_CHARS)),
            &escape::text(&a.rule),
        ]);
    }
    doc.blank();
    doc.line("These values were not stored.");
    more(doc, left_out);
}

fn skipped_rows(doc: &mut Doc, rows: &[SkippedRowEntry], total: u64) {
    doc.section("Skipped catalogue rows");
    if rows.is_empty() {
        doc.line(NONE);
        return;
    }
    doc.line("| row | reason | link |");
    doc.line("|---:|---|---|");
    let (shown, left_out) = listed(rows, total);
    for row in shown {
        let link = match row.href.as_deref() {
            Some(h) => escape::cell_code(&escape::truncate(h, MAX_VALUE_CHARS)),
            None => "—".to_owned(),
        };
        doc.row(&[
            &format::count(row.row_index),
            &escape::text(&escape::truncate(row.reason.trim(), MAX_MESSAGE_CHARS)),
            &link,
        ]);
    }
    more(doc, left_out);
}

fn completeness(doc: &mut Doc, r: &RunReport) {
    doc.section("Completeness of active tracks");
    let now = &r.completeness;
    let finished = matches!(r.status, RunStatus::Succeeded | RunStatus::GuardRefused);
    if !finished && now.active_tracks == 0 {
        doc.line("Not measured: the run stopped before the end.");
        return;
    }
    doc.line(&format!(
        "Active tracks: {}.",
        format::count(now.active_tracks)
    ));
    doc.blank();
    let previous = r.previous_completeness.filter(|p| p.active_tracks > 0);
    doc.line("| field | tracks | share | since last run |");
    doc.line("|---|---:|---:|---:|");
    type Field = fn(&Completeness) -> u64;
    let fields: [(&str, Field); 5] = [
        ("address", |c| c.with_address),
        ("phone", |c| c.with_phone),
        ("e-mail", |c| c.with_email),
        ("website", |c| c.with_website),
        ("coordinates", |c| c.with_coordinates),
    ];
    for (name, get) in fields {
        let share = now.share(get(now));
        let change = previous
            .map(|p| format::points(share - p.share(get(&p))))
            .unwrap_or_else(|| "—".to_owned());
        doc.row(&[
            name,
            &format::count(get(now)),
            &format::percent(share),
            &change,
        ]);
    }
    if previous.is_none() {
        doc.blank();
        doc.line("No earlier finished run to compare with.");
    }
}
