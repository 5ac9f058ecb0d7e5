//! Run reports for the tests: fixed ids and times, so the snapshots are
//! stable.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ingest_core::{
    ChangedField, Completeness, DeactivatedTrack, DriftDecision, DriftReport, DriftSample,
    FieldDrift, GuardDecision, MetadataErrorEntry, MetadataMode, NewTrackEntry,
    PendingDeactivation, ReactivatedTrackEntry, RunCounts, RunId, RunReport, RunStatus,
    SkippedRowEntry, Stage, StageTiming, SyncOptions, Trigger, UpdatedTrackEntry,
    ValidationAnomaly,
};

pub(crate) const RUN_ID: &str = "0192f1c3-7a2b-7c3d-8e4f-5a6b7c8d9e0f";

pub(crate) fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

pub(crate) fn run_id() -> RunId {
    RunId::parse_str(RUN_ID).expect("valid uuid")
}

fn new_track(slug: &str, name: &str, city: &str, state: Option<&str>, cc: &str) -> NewTrackEntry {
    NewTrackEntry {
        slug: slug.to_owned(),
        name: name.to_owned(),
        city: Some(city.to_owned()),
        state: state.map(str::to_owned),
        country_code: Some(cc.to_owned()),
        track_url: format!("https://{slug}.liverc.com/"),
    }
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> ChangedField {
    ChangedField {
        field: field.to_owned(),
        old_value: old.map(str::to_owned),
        new_value: new.map(str::to_owned),
    }
}

fn anomaly(slug: &str, field: &str, value: &str, rule: &str) -> ValidationAnomaly {
    ValidationAnomaly {
        slug: slug.to_owned(),
        field: field.to_owned(),
        value: value.to_owned(),
        rule: rule.to_owned(),
    }
}

/// A scheduled run in `changed` mode with every section populated.
pub(crate) fn full() -> RunReport {
    let started = at(2026, 11, 28, 0, 1, 37);
    RunReport {
        run_id: run_id(),
        source: "liverc".to_owned(),
        trigger: Trigger::Cron,
        attempt: 2,
        status: RunStatus::Succeeded,
        error: None,
        started_at: started,
        finished_at: at(2026, 11, 28, 0, 4, 52),
        options: SyncOptions {
            trigger: Trigger::Cron,
            metadata: MetadataMode::Changed,
            ..SyncOptions::default()
        },
        politeness_bound_seconds: Some(189.4),
        counts: RunCounts {
            catalogue_rows: 1_091,
            skipped_rows: 1,
            new: 2,
            updated: 2,
            unchanged: 1_034,
            churn_only: 53,
            deactivated: 1,
            reactivated: 2,
            dashboards_fetched: 212,
            dashboards_not_modified: 641,
            dashboards_skipped: 236,
            dashboards_failed: 2,
            retries: 9,
            responses_429: 3,
            responses: Default::default(),
            retry_after_wait_seconds: 41.0,
            validation_anomalies: 4,
            geocoded: 2,
            geocode_failures: 0,
            db_batches: 11,
            db_rows_written: 1_058,
            pending_deactivation: 1,
        },
        stage_timings: vec![
            StageTiming {
                stage: Stage::Catalogue,
                seconds: 0.412,
                detail: None,
            },
            StageTiming {
                stage: Stage::Dashboards,
                seconds: 191.2,
                detail: Some("1,091 tracks, 6 at once".to_owned()),
            },
            StageTiming {
                stage: Stage::Geocoding,
                seconds: 2.1,
                detail: Some("2 addresses".to_owned()),
            },
            StageTiming {
                stage: Stage::Database,
                seconds: 0.53,
                detail: Some("11 batches, p95 38 ms".to_owned()),
            },
            StageTiming {
                stage: Stage::Deactivation,
                seconds: 0.02,
                detail: None,
            },
        ],
        new_tracks: vec![
            new_track(
                "mesagranderc",
                "Mesa Grande RC Park",
                "Tucson",
                Some("AZ"),
                "US",
            ),
            new_track("circuitpn", "Circuit Pointe-Noire", "Québec", None, "CA"),
        ],
        updated_tracks: vec![
            UpdatedTrackEntry {
                slug: "thunderalley".to_owned(),
                name: "Thunder Alley RC Speedway".to_owned(),
                changes: vec![
                    change("phone", Some("+1 252-291-4088"), Some("+1 252-291-4099")),
                    change(
                        "website",
                        Some("http://www.thunder-alley.com/"),
                        Some("https://thunder-alley.com/"),
                    ),
                ],
            },
            UpdatedTrackEntry {
                slug: "canberraoffroad".to_owned(),
                name: "Canberra Off Road Model Car Club".to_owned(),
                changes: vec![
                    change("street", Some("Kyeema Street"), Some("1 Kyeema Street")),
                    change("coordinates", None, Some("-35.3271, 149.1462")),
                    change("facebook_url", Some("https://facebook.com/corc"), None),
                ],
            },
        ],
        deactivated: vec![DeactivatedTrack {
            slug: "oldtownrw".to_owned(),
            name: "Old Town Raceway".to_owned(),
            first_seen_at: at(2019, 3, 2, 12, 0, 0),
            last_seen_at: at(2026, 11, 21, 0, 1, 40),
        }],
        reactivated: vec![
            ReactivatedTrackEntry {
                slug: "baysiderc".to_owned(),
                name: "Bayside RC".to_owned(),
                inactive_since: Some(at(2026, 10, 3, 0, 2, 0)),
            },
            ReactivatedTrackEntry {
                slug: "lazarus".to_owned(),
                name: "Lazarus Raceway".to_owned(),
                inactive_since: None,
            },
        ],
        metadata_errors: vec![
            MetadataErrorEntry {
                slug: "fastlaneoval".to_owned(),
                class: "transient".to_owned(),
                message: "HTTP 503 service unavailable after Retry-After 30 s".to_owned(),
                attempts: 5,
            },
            MetadataErrorEntry {
                slug: "rcnationals".to_owned(),
                class: "format".to_owned(),
                message: "page shape changed: no address block".to_owned(),
                attempts: 1,
            },
        ],
        anomalies: vec![
            anomaly(
                "speedzone",
                "phone",
                "555-RACE",
                "not a valid number for US",
            ),
            anomaly("mudrunners", "email", "info@mudrunners", "no domain"),
            anomaly(
                "kartland",
                "website",
                "javascript:void(0)",
                "not an http(s) URL",
            ),
            anomaly(
                "ovalkings",
                "postal_code",
                "0000",
                "not a postal code of AU",
            ),
        ],
        skipped_rows: vec![SkippedRowEntry {
            row_index: 417,
            reason: "no track link in the row".to_owned(),
            href: None,
        }],
        pending_deactivation: vec![PendingDeactivation {
            slug: "quiet-creek".to_owned(),
            name: "Quiet Creek Raceway".to_owned(),
            missing_runs: 1,
            last_seen_at: at(2026, 11, 27, 0, 1, 40),
        }],
        drift: None,
        guard: Some(GuardDecision {
            active_before: 1_090,
            missing: 1,
            share: 1.0 / 1_090.0,
            max_share: 0.10,
            forced: false,
            allowed: true,
            reason: None,
        }),
        completeness: Completeness {
            active_tracks: 1_091,
            with_address: 1_063,
            with_phone: 777,
            with_email: 915,
            with_website: 720,
            with_coordinates: 1_034,
        },
        previous_completeness: Some(Completeness {
            active_tracks: 1_090,
            with_address: 1_061,
            with_phone: 777,
            with_email: 916,
            with_website: 718,
            with_coordinates: 1_031,
        }),
    }
}

/// The first run into an empty database: everything new, nothing to compare.
pub(crate) fn first_run() -> RunReport {
    let tracks = vec![
        new_track(
            "mesagranderc",
            "Mesa Grande RC Park",
            "Tucson",
            Some("AZ"),
            "US",
        ),
        new_track("circuitpn", "Circuit Pointe-Noire", "Québec", None, "CA"),
        NewTrackEntry {
            slug: "nowhere".to_owned(),
            name: "Nowhere RC".to_owned(),
            city: None,
            state: None,
            country_code: None,
            track_url: "https://nowhere.liverc.com/".to_owned(),
        },
    ];
    RunReport {
        run_id: run_id(),
        source: "liverc".to_owned(),
        trigger: Trigger::Cli,
        attempt: 1,
        status: RunStatus::Succeeded,
        error: None,
        started_at: at(2026, 1, 5, 9, 30, 0),
        finished_at: at(2026, 1, 5, 9, 30, 2) + chrono::Duration::milliseconds(700),
        options: SyncOptions::default(),
        politeness_bound_seconds: None,
        counts: RunCounts {
            catalogue_rows: 3,
            new: 3,
            dashboards_fetched: 3,
            geocoded: 2,
            geocode_failures: 1,
            db_batches: 1,
            db_rows_written: 3,
            ..RunCounts::default()
        },
        stage_timings: vec![
            StageTiming {
                stage: Stage::Catalogue,
                seconds: 0.3,
                detail: None,
            },
            StageTiming {
                stage: Stage::Dashboards,
                seconds: 1.9,
                detail: None,
            },
            StageTiming {
                stage: Stage::Database,
                seconds: 0.004,
                detail: Some("1 batch".to_owned()),
            },
        ],
        new_tracks: tracks,
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
            active_tracks: 3,
            with_address: 2,
            with_phone: 1,
            with_email: 3,
            with_website: 0,
            with_coordinates: 2,
        },
        previous_completeness: None,
    }
}

/// The catalogue lost 312 of 1,090 tracks; the guard said no.
pub(crate) fn guard_refused() -> RunReport {
    let mut r = full();
    r.status = RunStatus::GuardRefused;
    r.error = Some("deactivation guard refused: 312 of 1090 active tracks missing".to_owned());
    r.counts.catalogue_rows = 779;
    r.counts.deactivated = 0;
    r.counts.unchanged = 723;
    r.deactivated = vec![];
    r.guard = Some(GuardDecision {
        active_before: 1_090,
        missing: 312,
        share: 312.0 / 1_090.0,
        max_share: 0.10,
        forced: false,
        allowed: false,
        reason: Some("312 of 1090 active tracks missing".to_owned()),
    });
    r
}

/// LiveRC renamed the tag around the address: the street and the phone
/// vanished from every track and were held; a city changed on many.
pub(crate) fn drift_held() -> RunReport {
    let mut r = full();
    r.status = RunStatus::DriftSuspected;
    r.error = Some("markup drift suspected: street, phone vanished".to_owned());
    let sample = |slug: &str, name: &str, stored: &str, page: Option<&str>| DriftSample {
        slug: slug.to_owned(),
        name: name.to_owned(),
        stored_value: Some(stored.to_owned()),
        page_value: page.map(str::to_owned),
    };
    r.drift = Some(DriftReport {
        max_loss_share: 0.25,
        min_tracks: 10,
        fields: vec![
            FieldDrift {
                field: "street".to_owned(),
                had: 980,
                lost: 980,
                changed: 0,
                decision: DriftDecision::Held,
                mass_change: false,
                samples: vec![
                    sample("acme", "Acme | RC <Park>", "12 Main St", None),
                    sample("bolt", "Bolt Raceway", "`4 Side Rd`", None),
                ],
            },
            FieldDrift {
                field: "city".to_owned(),
                had: 1_000,
                lost: 0,
                changed: 400,
                decision: DriftDecision::Applied,
                mass_change: true,
                samples: vec![sample(
                    "acme",
                    "Acme | RC <Park>",
                    "Springfield",
                    Some("Shelbyville"),
                )],
            },
            FieldDrift {
                field: "phone".to_owned(),
                had: 700,
                lost: 690,
                changed: 0,
                decision: DriftDecision::Held,
                mass_change: false,
                samples: vec![sample("acme", "Acme | RC <Park>", "+1 555 0100", None)],
            },
            FieldDrift {
                field: "email".to_owned(),
                had: 600,
                lost: 3,
                changed: 1,
                decision: DriftDecision::Applied,
                mass_change: false,
                samples: vec![],
            },
        ],
    });
    r
}

/// The catalogue page could not be parsed: nothing was done.
pub(crate) fn format_error() -> RunReport {
    let started = at(2026, 11, 29, 0, 1, 37);
    RunReport {
        run_id: run_id(),
        source: "liverc".to_owned(),
        trigger: Trigger::Api,
        attempt: 1,
        status: RunStatus::FormatError,
        error: Some(
            "catalogue page has the wrong shape: no `table#tracks` found\n\
             url: https://live.liverc.com/ (200, 48,213 bytes)"
                .to_owned(),
        ),
        started_at: started,
        finished_at: started
            + chrono::Duration::from_std(Duration::from_millis(512)).expect("small duration"),
        options: SyncOptions {
            trigger: Trigger::Api,
            force: true,
            guard_max_deactivate_share: 0.125,
            ..SyncOptions::default()
        },
        politeness_bound_seconds: None,
        counts: RunCounts::default(),
        stage_timings: vec![StageTiming {
            stage: Stage::Catalogue,
            seconds: 0.49,
            detail: None,
        }],
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
        completeness: Completeness::default(),
        previous_completeness: full().previous_completeness,
    }
}

/// Names and values that try to break the Markdown or inject HTML.
pub(crate) fn hostile() -> RunReport {
    let mut r = full();
    r.source = "liverc | <b>".to_owned();
    r.new_tracks = vec![
        NewTrackEntry {
            slug: "pipes".to_owned(),
            name: "| pipes | in | name |".to_owned(),
            city: Some("<script>alert(1)</script>".to_owned()),
            state: Some("**bold**".to_owned()),
            country_code: Some("_x_".to_owned()),
            track_url: "javascript:alert(document.cookie)".to_owned(),
        },
        NewTrackEntry {
            slug: "tick`s".to_owned(),
            name: "Back`tick``s ```Raceway".to_owned(),
            city: Some("line\nbreak\r\ncity".to_owned()),
            state: None,
            country_code: None,
            track_url: "https://x.liverc.com/<img src=x onerror=alert(1)>".to_owned(),
        },
        NewTrackEntry {
            slug: "link".to_owned(),
            name: "[click me](javascript:alert(1)) ![img](x)".to_owned(),
            city: None,
            state: None,
            country_code: None,
            track_url: "https://link.liverc.com/".to_owned(),
        },
    ];
    r.updated_tracks = vec![UpdatedTrackEntry {
        slug: "# heading".to_owned(),
        name: "# Not a heading\n- not a list\n> not a quote".to_owned(),
        changes: vec![
            change(
                "description",
                Some("`code` | cell"),
                Some("<img src=x onerror=alert(1)>"),
            ),
            change("website", Some("```"), Some(" padded ")),
            change("name\n| injected | row |", None, Some("")),
        ],
    }];
    r.deactivated = vec![DeactivatedTrack {
        slug: "amp".to_owned(),
        name: "Tom &amp; Jerry's &lt;Track&gt;".to_owned(),
        first_seen_at: at(2019, 3, 2, 12, 0, 0),
        last_seen_at: at(2026, 11, 21, 0, 1, 40),
    }];
    r.reactivated = vec![ReactivatedTrackEntry {
        slug: "rtl".to_owned(),
        name: "evil\u{202E}gpj.exe ~~gone~~ $x$".to_owned(),
        inactive_since: None,
    }];
    r.metadata_errors = vec![MetadataErrorEntry {
        slug: "a|b".to_owned(),
        class: "format | <i>".to_owned(),
        message: "unexpected </td>\n| forged | row | 1 | x |\n<script>alert(1)</script>".to_owned(),
        attempts: 1,
    }];
    r.anomalies = vec![
        anomaly("x", "email", "a|b@`c`.com", "no <domain>"),
        anomaly(
            "y",
            "website",
            "[x](javascript:alert(1))",
            "not an http(s) URL",
        ),
    ];
    r.skipped_rows = vec![SkippedRowEntry {
        row_index: 3,
        reason: "row has *no* link | <a>".to_owned(),
        href: Some("javascript:alert('|')".to_owned()),
    }];
    r.stage_timings[1].detail = Some("<b>6</b> | at once".to_owned());
    r.counts.new = 3;
    r.counts.updated = 1;
    r.counts.reactivated = 1;
    r.counts.dashboards_failed = 1;
    r.counts.validation_anomalies = 2;
    r
}
