//! The markup-drift guard: distrust of a page that changed shape.
//!
//! A parser reads what the page's markup lets it read. When LiveRC renames
//! one tag, every dashboard still parses, but the fields behind that tag come
//! back empty for every track, and an honest diff would clear them all. The
//! guard measures, per profile field, how many of the tracks a run fetched
//! had the field stored (`had`), how many now come back without it (`lost`)
//! and how many with another value (`changed`).
//!
//! A loss is never written as it is seen: the run stores the track with the
//! stored value kept (and no content hash, so the next run fetches the page
//! in full) and defers the clear. When the dashboards are done, a field lost
//! by more than `drift_max_loss_share` of the tracks that had it, and by at
//! least `drift_min_tracks` of them, is **held**: its deferred clears are
//! dropped, nothing of it reaches the history, and the run ends
//! `drift_suspected`. Every other deferred clear is applied by `finish_run`
//! in the run's closing transaction, recorded in `track_changes` like any
//! change. A field the operator accepts (`accept_drift`) is not deferred.
//!
//! A mass *change* (values replaced, not lost) over the same thresholds is
//! applied, and flagged in the report and the alert.
//!
//! The report types serialise in camelCase, as the API shows them (in a job's
//! summary).
//!
//! Memory stays bounded on a large catalogue: once a field is certain to be
//! held whatever the rest of the run brings, its deferred clears are dropped
//! and only its samples kept.
//!
//! Architecture invariant: domain, and pure: it decides, the service
//! applies. Imports only the track records.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::track::{FieldChange, PROFILE_FIELDS, TrackProfile};

/// Default share of the tracks that had a field which, losing it, holds it.
pub const DEFAULT_MAX_LOSS_SHARE: f64 = 0.25;

/// Default number of tracks that must lose a field before it can be held.
pub const DEFAULT_MIN_TRACKS: u64 = 10;

/// Sample tracks kept per field for the report and the alert.
pub const SAMPLES_PER_FIELD: usize = 5;

/// The value accepting the loss of every field.
pub const ACCEPT_ALL: &str = "all";

/// The dashboard's profile fields the guard watches, in report order: every
/// profile field a page carries as text ([`PROFILE_FIELDS`], the order of
/// [`crate::domain::diff::diff_profile`]).
pub const WATCHED_FIELDS: [&str; 12] = PROFILE_FIELDS;
/// Read one `--accept-drift` value: a watched field or `all`, any case.
pub fn parse_accepted(value: &str) -> Result<String, String> {
    let v = value.trim().to_ascii_lowercase();
    if v == ACCEPT_ALL || WATCHED_FIELDS.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!(
            "unknown field {value:?} (expected all or one of: {})",
            WATCHED_FIELDS.join(", ")
        ))
    }
}

/// Whether the operator accepted the loss of `field` this run.
pub fn accepts(accepted: &[String], field: &str) -> bool {
    accepted.iter().any(|a| a == ACCEPT_ALL || a == field)
}

/// What the guard decided about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftDecision {
    /// Losses within the thresholds: applied.
    Applied,
    /// Lost by too many tracks: kept as stored for every track.
    Held,
    /// Lost by too many tracks, applied because the operator accepted it.
    Accepted,
}

impl DriftDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftDecision::Applied => "applied",
            DriftDecision::Held => "held",
            DriftDecision::Accepted => "accepted",
        }
    }
}

/// A track behind a field's figures: its stored value and what the page
/// said (`None`: nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftSample {
    pub slug: String,
    pub name: String,
    pub stored_value: Option<String>,
    pub page_value: Option<String>,
}

/// One watched field over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    pub field: String,
    /// Fetched tracks that had the field stored.
    pub had: u64,
    /// …of which came back without it.
    pub lost: u64,
    /// …of which came back with another value.
    pub changed: u64,
    pub decision: DriftDecision,
    /// `changed` over the thresholds (applied, flagged).
    pub mass_change: bool,
    /// A few tracks that lost the field (held or accepted) or changed it
    /// (mass change), by slug.
    pub samples: Vec<DriftSample>,
}

impl FieldDrift {
    pub fn loss_share(&self) -> f64 {
        share(self.lost, self.had)
    }
    pub fn change_share(&self) -> f64 {
        share(self.changed, self.had)
    }
}

fn share(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// What the guard saw over the run: every watched field some fetched
/// track had stored, in [`WATCHED_FIELDS`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    pub max_loss_share: f64,
    pub min_tracks: u64,
    pub fields: Vec<FieldDrift>,
}

impl DriftReport {
    /// Fields kept as stored this run.
    pub fn held(&self) -> impl Iterator<Item = &FieldDrift> {
        self.fields
            .iter()
            .filter(|f| f.decision == DriftDecision::Held)
    }
    /// Fields lost over the thresholds but applied on the operator's word.
    pub fn accepted(&self) -> impl Iterator<Item = &FieldDrift> {
        self.fields
            .iter()
            .filter(|f| f.decision == DriftDecision::Accepted)
    }
    /// Fields whose values changed for too many tracks (applied).
    pub fn mass_changes(&self) -> impl Iterator<Item = &FieldDrift> {
        self.fields.iter().filter(|f| f.mass_change)
    }
    /// Anything held, accepted or flagged: worth a section of the report.
    pub fn is_notable(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.decision != DriftDecision::Applied || f.mass_change)
    }
}

/// How the run counted a track whose loss it deferred, so applying the
/// clear can move it to "updated".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Counted {
    Updated,
    ChurnOnly,
    Unchanged,
    /// Neither (an inactive track listed again without other changes).
    Neither,
}

/// A loss seen but not yet written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeferredLoss {
    pub slug: String,
    pub name: String,
    pub field: String,
    pub stored: String,
    pub counted: Counted,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FieldTally {
    had: u64,
    lost: u64,
    changed: u64,
}

/// The guard's running state; carried over a job's attempts in its
/// checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct DriftTally {
    fields: BTreeMap<String, FieldTally>,
    deferred: Vec<DeferredLoss>,
    /// Fields certain to be held: their losses are no longer kept.
    certain: BTreeSet<String>,
    /// Per field, the first samples by slug of losses and of changes.
    lost_samples: BTreeMap<String, Vec<DriftSample>>,
    changed_samples: BTreeMap<String, Vec<DriftSample>>,
}

fn add_sample(samples: &mut BTreeMap<String, Vec<DriftSample>>, field: &str, sample: DriftSample) {
    let list = samples.entry(field.to_owned()).or_default();
    let at = list.partition_point(|s| s.slug < sample.slug);
    if at < SAMPLES_PER_FIELD {
        list.insert(at, sample);
        list.truncate(SAMPLES_PER_FIELD);
    }
}

/// Whether `lost` of `had` is over the thresholds.
fn over(n: u64, had: u64, max_share: f64, min_tracks: u64) -> bool {
    n >= min_tracks.max(1) && share(n, had) > max_share
}

impl DriftTally {
    /// Tally one fetched track against its stored profile, and hold each
    /// field it lost (unless accepted) by putting the stored value back in
    /// `page`. Returns how many fields were held; the caller then says how
    /// the track was counted ([`Self::counted`]).
    pub(crate) fn observe(
        &mut self,
        slug: &str,
        name: &str,
        stored: &TrackProfile,
        page: &mut TrackProfile,
        accepted: &[String],
    ) -> usize {
        let mut held = 0;
        for field in WATCHED_FIELDS {
            let (Some(Some(old)), Some(new)) = (stored.field(field), page.field_mut(field)) else {
                continue;
            };
            let tally = self.fields.entry(field.to_owned()).or_default();
            tally.had += 1;
            let sample = |page_value: Option<String>| DriftSample {
                slug: slug.to_owned(),
                name: name.to_owned(),
                stored_value: Some(old.clone()),
                page_value,
            };
            match new {
                None => {
                    tally.lost += 1;
                    add_sample(&mut self.lost_samples, field, sample(None));
                    if accepts(accepted, field) {
                        continue;
                    }
                    *new = Some(old.clone());
                    held += 1;
                    if !self.certain.contains(field) {
                        self.deferred.push(DeferredLoss {
                            slug: slug.to_owned(),
                            name: name.to_owned(),
                            field: field.to_owned(),
                            stored: old.clone(),
                            counted: Counted::Neither,
                        });
                    }
                }
                Some(v) if v != old => {
                    tally.changed += 1;
                    add_sample(&mut self.changed_samples, field, sample(Some(v.clone())));
                }
                Some(_) => {}
            }
        }
        held
    }

    /// How the track whose losses were just deferred was counted.
    pub(crate) fn counted(&mut self, slug: &str, counted: Counted) {
        for d in self.deferred.iter_mut().rev() {
            if d.slug != slug {
                break;
            }
            d.counted = counted;
        }
    }

    /// Drop the deferred losses of fields that will be held whatever the
    /// `remaining` tracks of the run bring.
    pub(crate) fn trim(&mut self, remaining: u64, max_share: f64, min_tracks: u64) {
        let newly: Vec<String> = self
            .fields
            .iter()
            .filter(|(f, t)| {
                !self.certain.contains(*f) && over(t.lost, t.had + remaining, max_share, min_tracks)
            })
            .map(|(f, _)| f.clone())
            .collect();
        if newly.is_empty() {
            return;
        }
        self.deferred.retain(|d| !newly.contains(&d.field));
        self.certain.extend(newly);
    }

    /// The decision over the run: the report's section, and the deferred
    /// losses to apply (those of fields not held).
    pub(crate) fn decide(
        &self,
        max_share: f64,
        min_tracks: u64,
        accepted: &[String],
    ) -> (Option<DriftReport>, Vec<&DeferredLoss>) {
        if self.fields.is_empty() {
            return (None, Vec::new());
        }
        let mut fields = Vec::new();
        let mut held = BTreeSet::new();
        for field in WATCHED_FIELDS {
            let Some(t) = self.fields.get(field) else {
                continue;
            };
            let mass_loss = over(t.lost, t.had, max_share, min_tracks);
            let decision = match (mass_loss, accepts(accepted, field)) {
                (false, _) => DriftDecision::Applied,
                (true, true) => DriftDecision::Accepted,
                (true, false) => DriftDecision::Held,
            };
            if decision == DriftDecision::Held {
                held.insert(field);
            }
            let mass_change = over(t.changed, t.had, max_share, min_tracks);
            let samples = if mass_loss {
                self.lost_samples.get(field).cloned().unwrap_or_default()
            } else if mass_change {
                self.changed_samples.get(field).cloned().unwrap_or_default()
            } else {
                Vec::new()
            };
            fields.push(FieldDrift {
                field: field.to_owned(),
                had: t.had,
                lost: t.lost,
                changed: t.changed,
                decision,
                mass_change,
                samples,
            });
        }
        let apply = self
            .deferred
            .iter()
            .filter(|d| !held.contains(d.field.as_str()))
            .collect();
        (
            Some(DriftReport {
                max_loss_share: max_share,
                min_tracks,
                fields,
            }),
            apply,
        )
    }
}

/// The clears `finish_run` applies for these deferred losses.
pub(crate) fn clears(apply: &[DeferredLoss]) -> Vec<FieldChange> {
    apply
        .iter()
        .map(|d| FieldChange {
            slug: d.slug.clone(),
            field: d.field.clone(),
            old_value: Some(d.stored.clone()),
            new_value: None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
