//! Unit tests of the drift guard: tallies, holds, the trim and the decision.

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
