//! Field-by-field comparison of a stored track with what this run saw, sorted
//! into profile changes (which make a track "updated" and are recorded in the
//! history) and churn (counted, not listed).
//!
//! Architecture invariant: domain, and pure: no I/O, no clock; the same
//! inputs give the same diff and the same content hash.

use sha2::{Digest, Sha256};

use crate::domain::report::ChangedField;
use crate::domain::track::{CatalogueFields, GeoPoint, PROFILE_FIELDS, StoredTrack, TrackProfile};

/// How a track compares with its stored version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackDiff {
    /// Profile fields that changed, in a fixed field order.
    pub profile: Vec<ChangedField>,
    /// Names of churn fields that changed.
    pub churn: Vec<&'static str>,
}

impl TrackDiff {
    pub fn is_unchanged(&self) -> bool {
        self.profile.is_empty() && self.churn.is_empty()
    }
}

fn push(out: &mut Vec<ChangedField>, field: &str, old: Option<String>, new: Option<String>) {
    if old != new {
        out.push(ChangedField {
            field: field.to_owned(),
            old_value: old,
            new_value: new,
        });
    }
}

/// Compare catalogue fields. The name and track URL are profile; the rest churn.
pub fn diff_catalogue(old: &CatalogueFields, new: &CatalogueFields, out: &mut TrackDiff) {
    push(
        &mut out.profile,
        "name",
        Some(old.name.clone()),
        Some(new.name.clone()),
    );
    push(
        &mut out.profile,
        "track_url",
        Some(old.track_url.clone()),
        Some(new.track_url.clone()),
    );
    let churn: [(&'static str, bool); 8] = [
        ("events_url", old.events_url != new.events_url),
        (
            "last_updated_text",
            old.last_updated_text != new.last_updated_text,
        ),
        (
            "last_updated_at",
            old.last_updated_at != new.last_updated_at,
        ),
        ("is_live", old.is_live != new.is_live),
        ("live_video", old.live_video != new.live_video),
        ("status", old.status != new.status),
        ("featured", old.featured != new.featured),
        ("current_event", old.current_event != new.current_event),
    ];
    out.churn.extend(
        churn
            .iter()
            .filter(|(_, changed)| *changed)
            .map(|(f, _)| *f),
    );
}

/// The resolution of a relative "last updated" text: "3 hours ago" places
/// the activity within an hour, "2 weeks ago" within a week.
pub fn relative_text_unit(text: &str) -> Option<chrono::Duration> {
    let t = text.to_ascii_lowercase();
    let unit = if t.contains("second") || t.contains("just now") || t.contains("minute") {
        chrono::Duration::minutes(1)
    } else if t.contains("hour") {
        chrono::Duration::hours(1)
    } else if t.contains("day") || t.contains("yesterday") || t.contains("today") {
        chrono::Duration::days(1)
    } else if t.contains("week") {
        chrono::Duration::weeks(1)
    } else if t.contains("month") {
        chrono::Duration::days(30)
    } else if t.contains("year") {
        chrono::Duration::days(365)
    } else {
        return None;
    };
    Some(unit)
}

/// The catalogue's activity time is the relative text read against each
/// run's fetch time, so it drifts by the time between runs even when nothing
/// happened. While the text is unchanged and the drift is within the text's
/// resolution, the stored time stands: no churn, no rewritten row.
pub fn settle_activity_time(stored: &CatalogueFields, new: &mut CatalogueFields) {
    let (Some(old_at), Some(new_at), Some(text)) = (
        stored.last_updated_at,
        new.last_updated_at,
        new.last_updated_text.as_deref(),
    ) else {
        return;
    };
    if stored.last_updated_text.as_deref() != Some(text) {
        return;
    }
    let Some(unit) = relative_text_unit(text) else {
        return;
    };
    let drift = new_at - old_at;
    if drift >= chrono::Duration::zero() && drift < unit {
        new.last_updated_at = Some(old_at);
    }
}

/// Compare dashboard fields. Lifetime stats (and the derived map query) are
/// churn; the rest profile.
pub fn diff_profile(old: &TrackProfile, new: &TrackProfile, out: &mut TrackDiff) {
    let fields: [(&str, &Option<String>, &Option<String>); 12] = [
        ("street", &old.street, &new.street),
        ("city", &old.city, &new.city),
        ("state", &old.state, &new.state),
        ("postal_code", &old.postal_code, &new.postal_code),
        ("country", &old.country, &new.country),
        ("country_code", &old.country_code, &new.country_code),
        ("phone", &old.phone, &new.phone),
        ("website", &old.website, &new.website),
        ("email", &old.email, &new.email),
        ("description", &old.description, &new.description),
        ("logo_url", &old.logo_url, &new.logo_url),
        ("facebook_url", &old.facebook_url, &new.facebook_url),
    ];
    for (field, o, n) in fields {
        push(&mut out.profile, field, o.clone(), n.clone());
    }
    // The map query is derived from the address lines: it moves with them
    // and is not listed on its own.
    let stats: [(&'static str, bool); 6] = [
        ("map_query", old.map_query != new.map_query),
        ("total_laps", old.total_laps != new.total_laps),
        (
            "total_practice_sessions",
            old.total_practice_sessions != new.total_practice_sessions,
        ),
        ("total_races", old.total_races != new.total_races),
        ("total_entries", old.total_entries != new.total_entries),
        ("total_events", old.total_events != new.total_events),
    ];
    out.churn.extend(
        stats
            .iter()
            .filter(|(_, changed)| *changed)
            .map(|(f, _)| *f),
    );
}

/// Where a profile field stands in a track's list of changes: the order in
/// which [`diff_track`] reports them.
pub fn field_rank(field: &str) -> usize {
    match field {
        "name" => 0,
        "track_url" => 1,
        "coordinates" => PROFILE_FIELDS.len() + 2,
        other => PROFILE_FIELDS
            .iter()
            .position(|f| *f == other)
            .map_or(PROFILE_FIELDS.len() + 3, |i| i + 2),
    }
}

/// Compare coordinates (a profile field, `latitude, longitude`).
pub fn diff_geo(old: Option<&GeoPoint>, new: Option<&GeoPoint>, out: &mut TrackDiff) {
    push(
        &mut out.profile,
        "coordinates",
        old.map(format_coordinates),
        new.map(format_coordinates),
    );
}

/// `-35.32710, 149.14620`.
pub fn format_coordinates(geo: &GeoPoint) -> String {
    format!("{:.5}, {:.5}", geo.latitude, geo.longitude)
}

/// Diff a stored track against the values about to be stored.
pub fn diff_track(
    stored: &StoredTrack,
    catalogue: &CatalogueFields,
    profile: &TrackProfile,
    geo: Option<&GeoPoint>,
) -> TrackDiff {
    let mut diff = TrackDiff::default();
    diff_catalogue(&stored.catalogue, catalogue, &mut diff);
    diff_profile(&stored.profile, profile, &mut diff);
    diff_geo(stored.geo.as_ref(), geo, &mut diff);
    diff
}

/// Hex SHA-256 of the profile's canonical JSON: equal profiles, equal hashes.
pub fn content_hash(profile: &TrackProfile) -> String {
    // Serialising a struct of options and integers cannot fail.
    let json = serde_json::to_vec(profile).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The address a geocoder is asked for, normalised so equal addresses share
/// a cache entry: parts trimmed, blank parts dropped, lower case, joined by
/// `, `. `None` when there is nothing more precise than a country.
pub fn address_query(profile: &TrackProfile) -> Option<String> {
    let locality: Vec<&str> = [
        &profile.street,
        &profile.city,
        &profile.state,
        &profile.postal_code,
    ]
    .into_iter()
    .filter_map(|p| p.as_deref())
    .map(str::trim)
    .filter(|p| !p.is_empty())
    .collect();
    if locality.is_empty() {
        return None;
    }
    let mut parts = locality;
    let country = profile
        .country_code
        .as_deref()
        .or(profile.country.as_deref())
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let Some(c) = country {
        parts.push(c);
    }
    Some(
        parts
            .join(", ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase(),
    )
}

#[cfg(test)]
mod tests;
