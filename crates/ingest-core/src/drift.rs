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

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{FieldChange, TrackProfile};

/// Default share of the tracks that had a field which, losing it, holds it.
pub const DEFAULT_MAX_LOSS_SHARE: f64 = 0.25;

/// Default number of tracks that must lose a field before it can be held.
pub const DEFAULT_MIN_TRACKS: u64 = 10;

/// Sample tracks kept per field for the report and the alert.
pub const SAMPLES_PER_FIELD: usize = 5;

/// The value accepting the loss of every field.
pub const ACCEPT_ALL: &str = "all";

/// The dashboard's profile fields the guard watches, in report order: the
/// profile fields of [`crate::diff::diff_profile`], in its order (which
/// [`crate::diff::field_rank`] reads from here).
pub const WATCHED_FIELDS: [&str; 12] = [
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "country_code",
    "phone",
    "website",
    "email",
    "description",
    "logo_url",
    "facebook_url",
];

fn field_mut<'a>(profile: &'a mut TrackProfile, field: &str) -> Option<&'a mut Option<String>> {
    Some(match field {
        "street" => &mut profile.street,
        "city" => &mut profile.city,
        "state" => &mut profile.state,
        "postal_code" => &mut profile.postal_code,
        "country" => &mut profile.country,
        "country_code" => &mut profile.country_code,
        "phone" => &mut profile.phone,
        "website" => &mut profile.website,
        "email" => &mut profile.email,
        "description" => &mut profile.description,
        "logo_url" => &mut profile.logo_url,
        "facebook_url" => &mut profile.facebook_url,
        _ => return None,
    })
}

fn field_ref<'a>(profile: &'a TrackProfile, field: &str) -> Option<&'a Option<String>> {
    Some(match field {
        "street" => &profile.street,
        "city" => &profile.city,
        "state" => &profile.state,
        "postal_code" => &profile.postal_code,
        "country" => &profile.country,
        "country_code" => &profile.country_code,
        "phone" => &profile.phone,
        "website" => &profile.website,
        "email" => &profile.email,
        "description" => &profile.description,
        "logo_url" => &profile.logo_url,
        "facebook_url" => &profile.facebook_url,
        _ => return None,
    })
}

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
            let (Some(Some(old)), Some(new)) = (field_ref(stored, field), field_mut(page, field))
            else {
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
mod tests {
    use super::*;

    fn profile(phone: Option<&str>, city: Option<&str>) -> TrackProfile {
        TrackProfile {
            phone: phone.map(str::to_owned),
            city: city.map(str::to_owned),
            ..TrackProfile::default()
        }
    }

    /// `n` tracks that had a phone and a city; `lost` of them lose the phone.
    fn run(n: usize, lost: usize, accepted: &[String]) -> DriftTally {
        let mut t = DriftTally::default();
        for i in 0..n {
            let stored = profile(Some(&format!("555-{i:04}")), Some("Canberra"));
            let phone = (i >= lost).then(|| format!("555-{i:04}"));
            let mut page = profile(phone.as_deref(), Some("Canberra"));
            let held = t.observe(&format!("t{i:04}"), "T", &stored, &mut page, accepted);
            assert_eq!(page.phone, stored.phone.filter(|_| held > 0 || i >= lost));
            t.counted(&format!("t{i:04}"), Counted::Unchanged);
        }
        t
    }

    #[test]
    fn a_few_real_losses_are_applied() {
        let t = run(1_000, 3, &[]);
        let (report, apply) = t.decide(DEFAULT_MAX_LOSS_SHARE, DEFAULT_MIN_TRACKS, &[]);
        let report = report.expect("present");
        assert_eq!(report.held().count(), 0);
        assert!(!report.is_notable());
        assert_eq!(apply.len(), 3);
        assert!(apply.iter().all(|d| d.counted == Counted::Unchanged));
        let phone = report
            .fields
            .iter()
            .find(|f| f.field == "phone")
            .expect("present");
        assert_eq!((phone.had, phone.lost, phone.changed), (1_000, 3, 0));
    }

    #[test]
    fn a_mass_loss_is_held_and_nothing_of_it_applied() {
        let t = run(100, 60, &[]);
        let (report, apply) = t.decide(0.25, 10, &[]);
        let report = report.expect("present");
        let held: Vec<_> = report.held().map(|f| f.field.as_str()).collect();
        assert_eq!(held, ["phone"]);
        assert!(apply.is_empty());
        let phone = report.held().next().expect("present");
        assert_eq!(phone.samples.len(), SAMPLES_PER_FIELD);
        assert_eq!(phone.samples[0].slug, "t0000");
        assert_eq!(phone.samples[0].stored_value.as_deref(), Some("555-0000"));
        assert_eq!(phone.samples[0].page_value, None);
    }

    #[test]
    fn a_small_run_is_not_held_by_one_track() {
        let t = run(2, 1, &[]);
        let (report, apply) = t.decide(0.25, 10, &[]);
        assert_eq!(report.expect("present").held().count(), 0);
        assert_eq!(apply.len(), 1);
    }

    #[test]
    fn an_accepted_field_is_not_deferred_and_reads_accepted() {
        let accepted = vec!["phone".to_owned()];
        let t = run(100, 60, &accepted);
        let (report, apply) = t.decide(0.25, 10, &accepted);
        assert!(apply.is_empty(), "accepted losses are written as seen");
        let report = report.expect("present");
        assert_eq!(report.accepted().count(), 1);
        assert_eq!(report.held().count(), 0);
        assert!(report.is_notable());
    }

    #[test]
    fn a_field_certain_to_be_held_stops_collecting_losses() {
        let mut t = run(100, 60, &[]);
        // 60 of 100 lost, at most 10 more to come: 60 / 110 > 25%.
        t.trim(10, 0.25, 10);
        assert!(t.deferred.is_empty());
        // 60 of 100 lost, 1,000 more to come: could still end under 25%.
        let mut t = run(100, 60, &[]);
        t.trim(1_000, 0.25, 10);
        assert_eq!(t.deferred.len(), 60);
        let (report, _) = t.decide(0.25, 10, &[]);
        assert_eq!(report.expect("present").held().count(), 1);
    }

    #[test]
    fn a_mass_change_is_flagged_and_applied() {
        let mut t = DriftTally::default();
        for i in 0..50 {
            let stored = profile(Some("555"), Some("Canberra"));
            let mut page = profile(Some("555"), Some("Sydney"));
            assert_eq!(
                t.observe(&format!("t{i:02}"), "T", &stored, &mut page, &[]),
                0
            );
            assert_eq!(page.city.as_deref(), Some("Sydney"));
        }
        let (report, apply) = t.decide(0.25, 10, &[]);
        let report = report.expect("present");
        assert!(apply.is_empty());
        let city: Vec<_> = report.mass_changes().collect();
        assert_eq!(city.len(), 1);
        assert_eq!(city[0].decision, DriftDecision::Applied);
        assert_eq!(city[0].samples[0].page_value.as_deref(), Some("Sydney"));
    }

    #[test]
    fn accepted_values_are_checked() {
        assert_eq!(parse_accepted(" Phone ").expect("present"), "phone");
        assert_eq!(parse_accepted("ALL").expect("present"), "all");
        assert!(parse_accepted("name").is_err());
    }
}
