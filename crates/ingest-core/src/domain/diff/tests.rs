//! Unit tests of the diff: profile changes against churn, the order of
//! changes, the activity time's resolution, the hash and the address query.

use super::*;

#[test]
fn field_rank_follows_diff_track_order() {
    let mut order = vec!["name", "track_url"];
    order.extend(PROFILE_FIELDS);
    order.push("coordinates");
    let ranks: Vec<usize> = order.iter().map(|f| field_rank(f)).collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    assert!(field_rank("is_active") > field_rank("coordinates"));
}

#[test]
fn diff_profile_lists_the_profile_fields_in_their_order() {
    let old = TrackProfile::default();
    let mut new = TrackProfile::default();
    for field in PROFILE_FIELDS {
        *new.field_mut(field).expect("a profile field") = Some(field.to_owned());
    }
    let mut d = TrackDiff::default();
    diff_profile(&old, &new, &mut d);
    let fields: Vec<&str> = d.profile.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, PROFILE_FIELDS);
}

fn catalogue(name: &str, text: &str) -> CatalogueFields {
    CatalogueFields {
        name: name.into(),
        track_url: "https://x.liverc.com/".into(),
        events_url: "https://x.liverc.com/results/".into(),
        last_updated_text: Some(text.into()),
        last_updated_at: None,
        is_live: false,
        live_video: false,
        status: "idle".into(),
        featured: false,
        current_event: None,
    }
}

#[test]
fn churn_is_not_a_profile_change() {
    let mut d = TrackDiff::default();
    diff_catalogue(
        &catalogue("A", "1 hour ago"),
        &catalogue("A", "2 hours ago"),
        &mut d,
    );
    let old = TrackProfile {
        total_laps: Some(1),
        ..Default::default()
    };
    let new = TrackProfile {
        total_laps: Some(2),
        ..Default::default()
    };
    diff_profile(&old, &new, &mut d);
    assert!(d.profile.is_empty());
    assert_eq!(d.churn, ["last_updated_text", "total_laps"]);
}

#[test]
fn profile_changes_are_listed_old_to_new() {
    let mut d = TrackDiff::default();
    diff_catalogue(&catalogue("A", "x"), &catalogue("B", "x"), &mut d);
    let old = TrackProfile {
        phone: Some("+1 252-291-4088".into()),
        ..Default::default()
    };
    let new = TrackProfile {
        phone: Some("+1 252-291-4099".into()),
        email: Some("a@b.com".into()),
        ..Default::default()
    };
    diff_profile(&old, &new, &mut d);
    let fields: Vec<_> = d.profile.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["name", "phone", "email"]);
    assert_eq!(d.profile[1].old_value.as_deref(), Some("+1 252-291-4088"));
    assert_eq!(d.profile[2].old_value, None);
}

#[test]
fn activity_time_settles_within_the_text_resolution() {
    let t = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    let mut stored = catalogue("A", "3 hours ago");
    stored.last_updated_at = Some(t);
    // Ten minutes later, same text: the same activity.
    let mut new = catalogue("A", "3 hours ago");
    new.last_updated_at = Some(t + chrono::Duration::minutes(10));
    settle_activity_time(&stored, &mut new);
    assert_eq!(new.last_updated_at, Some(t));
    // A day later, same text: new activity.
    let mut new = catalogue("A", "3 hours ago");
    new.last_updated_at = Some(t + chrono::Duration::days(1));
    settle_activity_time(&stored, &mut new);
    assert_eq!(new.last_updated_at, Some(t + chrono::Duration::days(1)));
    // Different text: taken as read.
    let mut new = catalogue("A", "4 hours ago");
    new.last_updated_at = Some(t + chrono::Duration::minutes(10));
    settle_activity_time(&stored, &mut new);
    assert_eq!(new.last_updated_at, Some(t + chrono::Duration::minutes(10)));
    assert_eq!(
        relative_text_unit("last month"),
        Some(chrono::Duration::days(30))
    );
    assert_eq!(relative_text_unit("whenever"), None);
}

#[test]
fn hash_is_stable_and_sensitive() {
    let a = TrackProfile {
        city: Some("Lucama".into()),
        ..Default::default()
    };
    let mut b = a.clone();
    assert_eq!(content_hash(&a), content_hash(&b));
    b.city = Some("Lucama ".into());
    assert_ne!(content_hash(&a), content_hash(&b));
    assert_eq!(content_hash(&a).len(), 64);
}

#[test]
fn address_query_normalises() {
    let p = TrackProfile {
        street: Some(" 5320  US 301 ".into()),
        city: Some("Lucama".into()),
        state: Some("NC".into()),
        postal_code: Some("27851".into()),
        country_code: Some("US".into()),
        ..Default::default()
    };
    assert_eq!(
        address_query(&p).as_deref(),
        Some("5320 us 301, lucama, nc, 27851, us")
    );
    let only_country = TrackProfile {
        country_code: Some("US".into()),
        ..Default::default()
    };
    assert_eq!(address_query(&only_country), None);
}
