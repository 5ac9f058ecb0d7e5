//! The exposition as Prometheus reads it: the rendered text is parsed into
//! samples and compared value by value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ingest_core::{
    Completeness, RunCounts, RunReport, RunStatus, Stage, StageTiming, SyncMetrics, SyncOptions,
    Trigger,
};
use ingest_metrics::prometheus_client::metrics::counter::Counter;
use ingest_metrics::prometheus_client::registry::Registry;
use ingest_metrics::{
    CONTENT_TYPE, INITIAL_FETCH_OUTCOMES, MAX_FETCH_OUTCOMES, Metrics, OTHER_OUTCOME, REVISION,
    register_build_info,
};

/// One parsed exposition: samples by name and sorted labels, and the
/// declared type of each metric family.
#[derive(Debug, Default)]
struct Exposition {
    samples: BTreeMap<(String, Vec<(String, String)>), f64>,
    types: BTreeMap<String, String>,
    eof: bool,
}

impl Exposition {
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        labels.sort();
        self.samples.get(&(name.to_owned(), labels)).copied()
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {:#?}", self.samples.keys()))
    }

    fn label_values(&self, name: &str, key: &str) -> Vec<String> {
        self.samples
            .keys()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, labels)| {
                labels
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }
}

/// A small parser of the OpenMetrics text format: `# TYPE` lines, `# EOF`,
/// and `name{k="v",...} value` samples with escaped label values.
fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for line in text.lines() {
        if line == "# EOF" {
            out.eof = true;
            continue;
        }
        assert!(!out.eof, "content after # EOF: {line}");
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            out.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("a sample has a name");
        let name = line[..name_end].to_owned();
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices();
            let mut key = String::new();
            loop {
                let (i, c) = chars.next().expect("unterminated labels");
                match c {
                    '}' => {
                        rest = &after[i + 1..];
                        break;
                    }
                    ',' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            let (_, c) = chars.next().expect("unterminated value");
                            match c {
                                '"' => break,
                                '\\' => match chars.next().expect("escape").1 {
                                    'n' => value.push('\n'),
                                    '\\' => value.push('\\'),
                                    '"' => value.push('"'),
                                    other => panic!("bad escape \\{other} in {line}"),
                                },
                                '\n' => panic!("raw newline in a label value"),
                                c => value.push(c),
                            }
                        }
                        labels.push((std::mem::take(&mut key), value));
                    }
                    c => key.push(c),
                }
            }
        }
        let value = rest.trim().split(' ').next().expect("value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|e| panic!("bad value {v:?} in {line}: {e}")),
        };
        labels.sort();
        let previous = out.samples.insert((name, labels), value);
        assert!(previous.is_none(), "duplicate sample: {line}");
    }
    out
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

fn report(status: RunStatus, seconds: i64) -> RunReport {
    let started = at(2026, 11, 28, 0, 1, 37);
    RunReport {
        run_id: ingest_core::RunId::parse_str("0192f1c3-7a2b-7c3d-8e4f-5a6b7c8d9e0f")
            .expect("uuid"),
        source: "liverc".to_owned(),
        trigger: Trigger::Cron,
        attempt: 1,
        status,
        error: None,
        started_at: started,
        finished_at: started + chrono::Duration::seconds(seconds),
        options: SyncOptions::default(),
        politeness_bound_seconds: None,
        counts: RunCounts {
            catalogue_rows: 1_091,
            skipped_rows: 1,
            new: 2,
            updated: 5,
            unchanged: 1_034,
            churn_only: 48,
            deactivated: 1,
            reactivated: 3,
            dashboards_fetched: 212,
            dashboards_not_modified: 641,
            dashboards_skipped: 236,
            dashboards_failed: 2,
            retries: 9,
            responses_429: 4,
            responses: [("2xx", 850), ("304", 641), ("429", 4), ("5xx", 3)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            retry_after_wait_seconds: 41.5,
            validation_anomalies: 6,
            geocoded: 2,
            geocode_failures: 0,
            db_batches: 11,
            db_rows_written: 12,
            pending_deactivation: 4,
        },
        stage_timings: vec![],
        new_tracks: vec![],
        updated_tracks: vec![],
        deactivated: vec![],
        reactivated: vec![],
        metadata_errors: vec![],
        anomalies: vec![],
        skipped_rows: vec![],
        guard: None,
        pending_deactivation: vec![],
        drift: None,
        completeness: Completeness {
            active_tracks: 1_000,
            with_address: 974,
            with_phone: 712,
            with_email: 839,
            with_website: 660,
            with_coordinates: 948,
        },
        previous_completeness: None,
    }
}

#[test]
fn content_type_is_openmetrics_and_output_ends_with_eof() {
    assert_eq!(
        CONTENT_TYPE,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = Metrics::new().render();
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn every_family_is_declared_before_anything_happens() {
    let m = Metrics::new();
    let e = parse(&m.render());
    let expected = [
        ("liverc_sync_run_duration_seconds", "histogram"),
        ("liverc_sync_stage_duration_seconds", "histogram"),
        ("liverc_dashboard_fetch_duration_seconds", "histogram"),
        ("liverc_db_batch_duration_seconds", "histogram"),
        ("liverc_sync_runs", "counter"),
        ("liverc_metadata_failures", "counter"),
        ("liverc_retries", "counter"),
        ("liverc_responses", "counter"),
        ("liverc_retry_after_wait_seconds", "counter"),
        ("liverc_catalogue_rows_skipped", "counter"),
        ("liverc_tracks_deactivated", "counter"),
        ("liverc_tracks_reactivated", "counter"),
        ("liverc_tracks_added", "counter"),
        ("liverc_tracks_updated", "counter"),
        ("liverc_validation_anomalies", "counter"),
        ("liverc_dashboards_in_flight", "gauge"),
        ("liverc_last_run_timestamp_seconds", "gauge"),
        ("liverc_active_tracks", "gauge"),
        ("liverc_track_field_completeness_ratio", "gauge"),
        ("liverc_last_run_validation_anomalies", "gauge"),
        ("liverc_drift_held_fields", "counter"),
        ("liverc_drift_mass_changes", "counter"),
        ("liverc_tracks_pending_deactivation", "gauge"),
        ("liverc_sla_runs", "counter"),
        ("liverc_sla_last_run_met", "gauge"),
    ];
    // Known only once a run has finished: absent until then, rather than a
    // misleading zero.
    let after_a_run = [
        "liverc_last_run_timestamp_seconds",
        "liverc_track_field_completeness_ratio",
        "liverc_active_tracks",
        "liverc_last_run_validation_anomalies",
        "liverc_tracks_pending_deactivation",
        "liverc_sla_last_run_met",
    ];
    for (name, kind) in expected {
        let declared = e.types.get(name).map(String::as_str);
        if after_a_run.contains(&name) {
            assert_eq!(declared, None, "{name}");
        } else {
            assert_eq!(declared, Some(kind), "{name}");
        }
    }
    assert_eq!(
        e.types.len(),
        expected.len() - after_a_run.len(),
        "{:?}",
        e.types
    );

    // Everything starts at zero.
    assert_eq!(e.value("liverc_retries_total", &[]), 0.0);
    assert_eq!(e.get("liverc_active_tracks", &[]), None);
    assert_eq!(e.value("liverc_responses_total", &[("status", "429")]), 0.0);
    for met in ["true", "false"] {
        assert_eq!(e.value("liverc_sla_runs_total", &[("met", met)]), 0.0);
    }
    let mut stages = e.label_values("liverc_sync_stage_duration_seconds_count", "stage");
    stages.sort();
    assert_eq!(
        stages,
        [
            "catalogue",
            "dashboards",
            "database",
            "deactivation",
            "diff",
            "geocoding",
            "report"
        ]
    );
    assert_eq!(e.value("liverc_sync_run_duration_seconds_count", &[]), 0.0);
    let mut outcomes = e.label_values("liverc_sync_runs_total", "outcome");
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "cancelled",
            "drift_suspected",
            "failed",
            "format_error",
            "guard_refused",
            "succeeded"
        ]
    );
    for outcome in outcomes {
        assert_eq!(
            e.value("liverc_sync_runs_total", &[("outcome", &outcome)]),
            0.0
        );
    }
    assert_eq!(
        e.value("liverc_db_batch_duration_seconds_count", &[("ok", "false")]),
        0.0
    );
    let mut outcomes = e.label_values("liverc_dashboard_fetch_duration_seconds_count", "outcome");
    outcomes.sort();
    assert_eq!(outcomes, ["fetched", "not_modified"]);

    m.run_finished(&report(RunStatus::Succeeded, 60));
    let e = parse(&m.render());
    for (name, kind) in expected {
        assert_eq!(e.types.get(name).map(String::as_str), Some(kind), "{name}");
    }
}

#[test]
fn run_finished_takes_the_report_counters() {
    let m = Metrics::new();
    let r = report(RunStatus::Succeeded, 195);
    m.run_finished(&r);
    let e = parse(&m.render());

    assert_eq!(
        e.value("liverc_sync_runs_total", &[("outcome", "succeeded")]),
        1.0
    );
    assert_eq!(e.value("liverc_metadata_failures_total", &[]), 2.0);
    assert_eq!(e.value("liverc_retries_total", &[]), 9.0);
    assert_eq!(e.value("liverc_responses_total", &[("status", "429")]), 4.0);
    assert_eq!(
        e.value("liverc_responses_total", &[("status", "2xx")]),
        850.0
    );
    assert_eq!(
        e.value("liverc_responses_total", &[("status", "304")]),
        641.0
    );
    assert_eq!(e.value("liverc_responses_total", &[("status", "5xx")]), 3.0);
    assert_eq!(e.value("liverc_responses_total", &[("status", "404")]), 0.0);
    assert_eq!(e.value("liverc_retry_after_wait_seconds_total", &[]), 41.5);
    assert_eq!(e.value("liverc_catalogue_rows_skipped_total", &[]), 1.0);
    assert_eq!(e.value("liverc_tracks_added_total", &[]), 2.0);
    assert_eq!(e.value("liverc_tracks_updated_total", &[]), 5.0);
    assert_eq!(e.value("liverc_tracks_deactivated_total", &[]), 1.0);
    assert_eq!(e.value("liverc_tracks_reactivated_total", &[]), 3.0);
    assert_eq!(e.value("liverc_validation_anomalies_total", &[]), 6.0);

    // 195 s: above the 120 s bucket, inside the 300 s one.
    let h = "liverc_sync_run_duration_seconds";
    assert_eq!(e.value(&format!("{h}_count"), &[]), 1.0);
    assert_eq!(e.value(&format!("{h}_sum"), &[]), 195.0);
    assert_eq!(e.value(&format!("{h}_bucket"), &[("le", "120.0")]), 0.0);
    assert_eq!(e.value(&format!("{h}_bucket"), &[("le", "300.0")]), 1.0);
    assert_eq!(e.value(&format!("{h}_bucket"), &[("le", "+Inf")]), 1.0);

    assert_eq!(
        e.value(
            "liverc_last_run_timestamp_seconds",
            &[("outcome", "succeeded")]
        ),
        r.finished_at.timestamp() as f64
    );
    assert_eq!(e.value("liverc_active_tracks", &[]), 1_000.0);
    assert_eq!(e.value("liverc_last_run_validation_anomalies", &[]), 6.0);
    for (field, ratio) in [
        ("address", 0.974),
        ("phone", 0.712),
        ("email", 0.839),
        ("website", 0.66),
        ("coordinates", 0.948),
    ] {
        let got = e.value("liverc_track_field_completeness_ratio", &[("field", field)]);
        assert!((got - ratio).abs() < 1e-9, "{field}: {got} != {ratio}");
    }
}

#[test]
fn a_held_field_and_a_mass_change_are_counted_by_field() {
    use ingest_core::{DriftDecision, DriftReport, FieldDrift};
    let m = Metrics::new();
    let field = |name: &str, decision, mass_change| FieldDrift {
        field: name.to_owned(),
        had: 100,
        lost: 90,
        changed: 0,
        decision,
        mass_change,
        samples: vec![],
    };
    let mut r = report(RunStatus::DriftSuspected, 60);
    r.drift = Some(DriftReport {
        max_loss_share: 0.25,
        min_tracks: 10,
        fields: vec![
            field("street", DriftDecision::Held, false),
            field("phone", DriftDecision::Held, false),
            field("city", DriftDecision::Applied, true),
            field("email", DriftDecision::Applied, false),
        ],
    });
    m.run_finished(&r);
    m.run_finished(&r);
    let e = parse(&m.render());
    let held = |f: &str| e.value("liverc_drift_held_fields_total", &[("field", f)]);
    assert_eq!(
        (held("street"), held("phone"), held("email")),
        (2.0, 2.0, 0.0)
    );
    assert_eq!(
        e.value("liverc_drift_mass_changes_total", &[("field", "city")]),
        2.0
    );
    assert_eq!(
        e.value("liverc_sync_runs_total", &[("outcome", "drift_suspected")]),
        2.0
    );
    assert_eq!(e.value("liverc_tracks_pending_deactivation", &[]), 4.0);
}

#[test]
fn a_failed_run_counts_as_failed_and_keeps_the_last_completeness() {
    let m = Metrics::new();
    m.run_finished(&report(RunStatus::Succeeded, 195));
    let mut failed = report(RunStatus::Failed, 12);
    failed.completeness = Completeness::default();
    failed.counts = RunCounts {
        retries: 3,
        ..RunCounts::default()
    };
    m.run_finished(&failed);
    let e = parse(&m.render());

    assert_eq!(
        e.value("liverc_sync_runs_total", &[("outcome", "failed")]),
        1.0
    );
    assert_eq!(
        e.value("liverc_sync_runs_total", &[("outcome", "succeeded")]),
        1.0
    );
    assert_eq!(
        e.value("liverc_sync_runs_total", &[("outcome", "cancelled")]),
        0.0
    );
    assert_eq!(
        e.value("liverc_retries_total", &[]),
        12.0,
        "counters add up across runs"
    );
    assert_eq!(e.value("liverc_sync_run_duration_seconds_count", &[]), 2.0);
    assert_eq!(e.value("liverc_sync_run_duration_seconds_sum", &[]), 207.0);
    assert_eq!(
        e.value(
            "liverc_last_run_timestamp_seconds",
            &[("outcome", "failed")]
        ),
        failed.finished_at.timestamp() as f64
    );
    assert_eq!(e.value("liverc_active_tracks", &[]), 1_000.0);
    let address = e.value(
        "liverc_track_field_completeness_ratio",
        &[("field", "address")],
    );
    assert!((address - 0.974).abs() < 1e-9);

    // A guard refusal finished the run: it does update completeness.
    let mut refused = report(RunStatus::GuardRefused, 100);
    refused.completeness.active_tracks = 500;
    m.run_finished(&refused);
    let e = parse(&m.render());
    assert_eq!(
        e.value("liverc_sync_runs_total", &[("outcome", "guard_refused")]),
        1.0
    );
    assert_eq!(e.value("liverc_active_tracks", &[]), 500.0);
}

#[test]
fn live_observations_fill_the_histograms_and_gauge() {
    let m = Metrics::new();
    m.dashboard_fetch(Duration::from_millis(40), "fetched");
    m.dashboard_fetch(Duration::from_millis(300), "fetched");
    m.dashboard_fetch(Duration::from_millis(20), "not_modified");
    m.dashboard_fetch(Duration::from_secs(90), "transient");
    m.db_batch(Duration::from_millis(30), true);
    m.db_batch(Duration::from_millis(4), false);
    m.set_in_flight(6);
    let e = parse(&m.render());

    let f = "liverc_dashboard_fetch_duration_seconds";
    assert_eq!(
        e.value(&format!("{f}_count"), &[("outcome", "fetched")]),
        2.0
    );
    assert!((e.value(&format!("{f}_sum"), &[("outcome", "fetched")]) - 0.34).abs() < 1e-9);
    assert_eq!(
        e.value(
            &format!("{f}_bucket"),
            &[("outcome", "fetched"), ("le", "0.05")]
        ),
        1.0
    );
    assert_eq!(
        e.value(
            &format!("{f}_bucket"),
            &[("outcome", "fetched"), ("le", "0.5")]
        ),
        2.0
    );
    assert_eq!(
        e.value(
            &format!("{f}_bucket"),
            &[("outcome", "not_modified"), ("le", "0.025")]
        ),
        1.0
    );
    assert_eq!(
        e.value(
            &format!("{f}_bucket"),
            &[("outcome", "transient"), ("le", "60.0")]
        ),
        0.0
    );
    assert_eq!(
        e.value(
            &format!("{f}_bucket"),
            &[("outcome", "transient"), ("le", "+Inf")]
        ),
        1.0
    );

    let d = "liverc_db_batch_duration_seconds";
    assert_eq!(e.value(&format!("{d}_count"), &[("ok", "true")]), 1.0);
    assert_eq!(e.value(&format!("{d}_count"), &[("ok", "false")]), 1.0);
    assert_eq!(
        e.value(&format!("{d}_bucket"), &[("ok", "false"), ("le", "0.005")]),
        1.0
    );
    assert_eq!(
        e.value(&format!("{d}_bucket"), &[("ok", "true"), ("le", "0.025")]),
        0.0
    );

    assert_eq!(e.value("liverc_dashboards_in_flight", &[]), 6.0);
    m.set_in_flight(0);
    assert_eq!(
        parse(&m.render()).value("liverc_dashboards_in_flight", &[]),
        0.0
    );
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::new();
    let hostile = "bad\"label\nwith\\slash} x=\"1\"";
    m.dashboard_fetch(Duration::from_millis(10), hostile);
    let text = m.render();
    assert!(
        text.contains(r#"outcome="bad\"label\nwith\\slash} x=\"1\"""#),
        "{text}"
    );
    let e = parse(&text);
    assert_eq!(
        e.value(
            "liverc_dashboard_fetch_duration_seconds_count",
            &[("outcome", hostile)]
        ),
        1.0
    );
}

#[test]
fn fetch_outcomes_are_capped() {
    let m = Metrics::new();
    // `fetched` and `not_modified` exist from the start and take two slots.
    let room = MAX_FETCH_OUTCOMES - INITIAL_FETCH_OUTCOMES.len();
    for i in 0..room + 10 {
        m.dashboard_fetch(Duration::from_millis(10), &format!("class{i}"));
    }
    m.dashboard_fetch(Duration::from_millis(10), "class0");
    m.dashboard_fetch(Duration::from_millis(10), "fetched");
    let e = parse(&m.render());
    let count = "liverc_dashboard_fetch_duration_seconds_count";
    let outcomes = e.label_values(count, "outcome");
    assert_eq!(outcomes.len(), MAX_FETCH_OUTCOMES + 1, "{outcomes:?}");
    assert_eq!(e.value(count, &[("outcome", OTHER_OUTCOME)]), 10.0);
    assert_eq!(e.value(count, &[("outcome", "class0")]), 2.0);
    assert_eq!(
        e.value(count, &[("outcome", &format!("class{}", room - 1))]),
        1.0
    );
    assert_eq!(e.get(count, &[("outcome", &format!("class{room}"))]), None);
    assert_eq!(e.value(count, &[("outcome", "fetched")]), 1.0);
}

#[test]
fn extra_metrics_can_be_registered_and_are_rendered() {
    let mut m = Metrics::new();
    let jobs = Counter::<u64>::default();
    m.registry_mut()
        .sub_registry_with_prefix("ingest_jobs")
        .register("claimed", "Jobs claimed", jobs.clone());
    jobs.inc_by(3);
    let e = parse(&m.render());
    assert_eq!(e.value("ingest_jobs_claimed_total", &[]), 3.0);
    assert_eq!(
        e.types.get("liverc_sync_runs").map(String::as_str),
        Some("counter")
    );
}

#[test]
fn metrics_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Metrics>();

    let m: Arc<Metrics> = Arc::new(Metrics::new());
    let as_port: Arc<dyn SyncMetrics> = m.clone();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let port = Arc::clone(&as_port);
            std::thread::spawn(move || {
                for _ in 0..250 {
                    port.dashboard_fetch(Duration::from_millis(15), "fetched");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let e = parse(&m.render());
    assert_eq!(
        e.value(
            "liverc_dashboard_fetch_duration_seconds_count",
            &[("outcome", "fetched")]
        ),
        1000.0
    );
}

#[test]
fn each_stage_timing_is_observed_by_stage() {
    let m = Metrics::new();
    let mut r = report(RunStatus::Succeeded, 60);
    r.stage_timings = vec![
        StageTiming {
            stage: Stage::Catalogue,
            seconds: 0.4,
            detail: None,
        },
        StageTiming {
            stage: Stage::Dashboards,
            seconds: 52.0,
            detail: Some("212 fetched".to_owned()),
        },
        // A clock that went backwards must not poison the histogram.
        StageTiming {
            stage: Stage::Database,
            seconds: f64::NAN,
            detail: None,
        },
    ];
    m.run_finished(&r);
    let e = parse(&m.render());
    let h = "liverc_sync_stage_duration_seconds";
    assert_eq!(e.value(&format!("{h}_sum"), &[("stage", "catalogue")]), 0.4);
    assert_eq!(
        e.value(&format!("{h}_sum"), &[("stage", "dashboards")]),
        52.0
    );
    assert_eq!(
        e.value(
            &format!("{h}_bucket"),
            &[("stage", "dashboards"), ("le", "30.0")]
        ),
        0.0
    );
    assert_eq!(
        e.value(
            &format!("{h}_bucket"),
            &[("stage", "dashboards"), ("le", "60.0")]
        ),
        1.0
    );
    assert_eq!(
        e.value(&format!("{h}_count"), &[("stage", "database")]),
        0.0
    );
    assert_eq!(e.value(&format!("{h}_count"), &[("stage", "diff")]), 0.0);
}

#[test]
fn the_sla_counts_success_within_the_limit() {
    let m = Metrics::new().with_sla(Some(Duration::from_secs(300)));
    let sla = |e: &Exposition| {
        (
            e.value("liverc_sla_runs_total", &[("met", "true")]),
            e.value("liverc_sla_runs_total", &[("met", "false")]),
            e.get("liverc_sla_last_run_met", &[]),
        )
    };
    m.run_finished(&report(RunStatus::Succeeded, 299));
    assert_eq!(sla(&parse(&m.render())), (1.0, 0.0, Some(1.0)));
    // Too slow, though it succeeded.
    m.run_finished(&report(RunStatus::Succeeded, 301));
    assert_eq!(sla(&parse(&m.render())), (1.0, 1.0, Some(0.0)));
    // A cancelled run does not count either way.
    m.run_finished(&report(RunStatus::Cancelled, 10));
    assert_eq!(sla(&parse(&m.render())), (1.0, 1.0, Some(0.0)));
    // A fast run that did not succeed misses it.
    m.run_finished(&report(RunStatus::Failed, 10));
    assert_eq!(sla(&parse(&m.render())), (1.0, 2.0, Some(0.0)));
    m.run_finished(&report(RunStatus::Succeeded, 20));
    assert_eq!(sla(&parse(&m.render())), (2.0, 2.0, Some(1.0)));

    // Without an SLA (none, or zero), success alone meets it.
    for sla_limit in [None, Some(Duration::ZERO)] {
        let m = Metrics::new().with_sla(sla_limit);
        m.run_finished(&report(RunStatus::Succeeded, 86_400));
        assert_eq!(sla(&parse(&m.render())), (1.0, 0.0, Some(1.0)));
    }
}

#[test]
fn build_info_names_the_service_version_and_revision() {
    let mut registry = Registry::default();
    register_build_info(&mut registry, "ingest-worker");
    let mut text = String::new();
    ingest_metrics::prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("encode");
    let e = parse(&text);
    assert_eq!(
        e.value(
            "liverc_build_info",
            &[
                ("service", "ingest-worker"),
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", REVISION),
            ]
        ),
        1.0
    );
}
