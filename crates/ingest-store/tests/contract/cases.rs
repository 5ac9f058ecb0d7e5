//! The contract cases. Each takes a [`Harness`] over a fresh, migrated
//! database and talks to the repository only through the port, except for
//! reading `track_changes`, which the port does not expose.

use chrono::{DateTime, Utc};
use ingest_core::{
    BatchOutcome, DeactivatedTrack, FieldChange, FinishOutcome, FinishRun, GeoUpdate,
    HttpValidators, MetadataUpdate, RepositoryError, StoredTrack, SyncState, TrackProfile,
    TrackQuery, TrackUpsert,
};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::{ChangeRecord, Harness};

async fn get(h: &Harness, list: &[&str]) -> Vec<StoredTrack> {
    h.repo
        .get_tracks(SOURCE, &slugs(list))
        .await
        .expect("get_tracks")
}

async fn get_one(h: &Harness, slug: &str) -> StoredTrack {
    let mut rows = get(h, &[slug]).await;
    assert_eq!(rows.len(), 1, "{slug} is stored once");
    rows.remove(0)
}

fn outcome(inserted: u64, updated: u64, unchanged: u64) -> BatchOutcome {
    BatchOutcome {
        inserted,
        updated,
        unchanged,
        reactivated: Vec::new(),
        changes_recorded: 0,
    }
}

fn page(active_only: bool, limit: u32, offset: u32) -> TrackQuery {
    TrackQuery {
        active_only,
        limit,
        offset,
    }
}

fn names(rows: &[StoredTrack]) -> Vec<&str> {
    rows.iter().map(|r| r.slug.as_str()).collect()
}

fn assert_rejected(result: Result<BatchOutcome, RepositoryError>) -> String {
    match result {
        Err(RepositoryError::Rejected(message)) => message,
        other => panic!("expected Rejected, got {other:?}"),
    }
}

pub(crate) async fn fresh_insert_round_trips_every_field(h: &Harness) {
    let seen = t(0);
    let a = full("alpha", seen);
    let b = bare("bravo");
    let c = TrackUpsert {
        metadata: MetadataUpdate::NotModified {
            fetched_at: t(-2),
            validators: validators("c"),
        },
        geo: GeoUpdate::Clear,
        ..bare("charlie")
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), seen, vec![a.clone(), b.clone(), c.clone()]))
        .await
        .expect("apply");
    assert_eq!(result, outcome(3, 0, 0));

    let rows = get(h, &["charlie", "alpha", "missing", "bravo"]).await;
    assert_eq!(names(&rows), ["alpha", "bravo", "charlie"]);
    let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    for row in &rows {
        assert_eq!(row.source, SOURCE);
        assert!(row.id > 0);
        assert!(row.is_active);
        assert_eq!(row.deactivated_at, None);
        assert_eq!(row.first_seen_at, us(seen));
        assert_eq!(row.last_seen_at, us(seen));
        assert_eq!(row.created_at, us(seen));
        assert_eq!(row.updated_at, us(seen));
    }

    let MetadataUpdate::Fetched(meta) = &a.metadata else {
        unreachable!("fixture")
    };
    assert_catalogue(&rows[0], &a.catalogue);
    assert_dashboard(&rows[0], meta);
    let GeoUpdate::Set(point) = &a.geo else {
        unreachable!("fixture")
    };
    assert_geo(&rows[0], Some(point));

    assert_catalogue(&rows[1], &b.catalogue);
    assert_eq!(rows[1].profile, TrackProfile::default());
    assert_eq!(rows[1].geo, None);
    assert_eq!(rows[1].metadata_fetched_at, None);
    assert_eq!(rows[1].metadata_source_url, None);
    assert_eq!(rows[1].validators, HttpValidators::default());
    assert_eq!(rows[1].content_hash, None);

    // A 304 for a track never stored: its validators and time, no dashboard.
    assert_catalogue(&rows[2], &c.catalogue);
    assert_eq!(rows[2].profile, TrackProfile::default());
    assert_eq!(rows[2].metadata_fetched_at, Some(us(t(-2))));
    assert_eq!(rows[2].validators, validators("c"));
    assert_eq!(rows[2].content_hash, None);
    assert_eq!(rows[2].geo, None);
}

pub(crate) async fn reapply_unchanged_rewrites_nothing_and_marks_seen(h: &Harness) {
    let tracks = vec![full("alpha", t(0)), bare("bravo"), full("charlie", t(0))];
    h.repo
        .apply_batch(&batch(run(), t(0), tracks.clone()))
        .await
        .expect("first");
    let before = get(h, &["alpha", "bravo", "charlie"]).await;

    let again = h
        .repo
        .apply_batch(&batch(run(), t(5), tracks))
        .await
        .expect("second");
    assert_eq!(again, outcome(0, 0, 3));

    let after = get(h, &["alpha", "bravo", "charlie"]).await;
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(new.updated_at, us(t(0)), "{} not rewritten", new.slug);
        assert_eq!(new.last_seen_at, us(t(5)), "{} marked seen", new.slug);
        let mut expected = old.clone();
        expected.last_seen_at = us(t(5));
        assert_eq!(new, &expected);
    }
}

pub(crate) async fn one_changed_field_updates_one_row(h: &Harness) {
    let mut tracks = vec![full("alpha", t(0)), full("bravo", t(0)), bare("charlie")];
    h.repo
        .apply_batch(&batch(run(), t(0), tracks.clone()))
        .await
        .expect("first");

    tracks[1].catalogue.name = "Bravo Renamed".into();
    let result = h
        .repo
        .apply_batch(&batch(run(), t(1), tracks))
        .await
        .expect("second");
    assert_eq!(result, outcome(0, 1, 2));

    let rows = get(h, &["alpha", "bravo", "charlie"]).await;
    assert_eq!(rows[1].catalogue.name, "Bravo Renamed");
    assert_eq!(rows[1].updated_at, us(t(1)));
    assert_eq!(rows[1].created_at, us(t(0)));
    assert_eq!(rows[1].first_seen_at, us(t(0)));
    assert_eq!(rows[0].updated_at, us(t(0)));
    assert_eq!(rows[2].updated_at, us(t(0)));
    assert!(rows.iter().all(|r| r.last_seen_at == us(t(1))));

    // A churn field counts the same way.
    let mut flipped = bare("charlie");
    flipped.catalogue.is_live = true;
    let result = h
        .repo
        .apply_batch(&batch(run(), t(2), vec![flipped]))
        .await
        .expect("third");
    assert_eq!(result, outcome(0, 1, 0));
    assert!(get_one(h, "charlie").await.catalogue.is_live);
}

pub(crate) async fn unknown_metadata_keeps_every_dashboard_field(h: &Harness) {
    let first = full("alpha", t(0));
    h.repo
        .apply_batch(&batch(run(), t(0), vec![first.clone()]))
        .await
        .expect("fetched");
    let before = get_one(h, "alpha").await;

    // Same catalogue, dashboard not fetched: nothing to write.
    let unknown = TrackUpsert {
        metadata: MetadataUpdate::Unknown,
        geo: GeoUpdate::Keep,
        ..first.clone()
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), t(1), vec![unknown.clone()]))
        .await
        .expect("unknown");
    assert_eq!(result, outcome(0, 0, 1));
    let kept = get_one(h, "alpha").await;
    let MetadataUpdate::Fetched(meta) = &first.metadata else {
        unreachable!("fixture")
    };
    assert_dashboard(&kept, meta);
    assert_eq!(kept.geo, before.geo);
    assert_eq!(kept.updated_at, us(t(0)));

    // A catalogue change with Unknown rewrites the catalogue only.
    let mut renamed = unknown;
    renamed.catalogue.status = "idle".into();
    renamed.catalogue.current_event = None;
    let result = h
        .repo
        .apply_batch(&batch(run(), t(2), vec![renamed.clone()]))
        .await
        .expect("renamed");
    assert_eq!(result, outcome(0, 1, 0));
    let after = get_one(h, "alpha").await;
    assert_catalogue(&after, &renamed.catalogue);
    assert_dashboard(&after, meta);
    assert_eq!(after.geo, before.geo);
    assert_eq!(after.updated_at, us(t(2)));
}

pub(crate) async fn fetched_none_clears_dashboard_fields(h: &Harness) {
    let first = full("alpha", t(0));
    h.repo
        .apply_batch(&batch(run(), t(0), vec![first.clone()]))
        .await
        .expect("fetched");

    let empty = ingest_core::FetchedMetadata {
        profile: TrackProfile::default(),
        fetched_at: t(1),
        source_url: "https://alpha.liverc.com/?v=2".into(),
        validators: HttpValidators::default(),
        content_hash: Some("e".repeat(64)),
    };
    let cleared = TrackUpsert {
        metadata: MetadataUpdate::Fetched(Box::new(empty.clone())),
        ..first
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), t(1), vec![cleared]))
        .await
        .expect("cleared");
    assert_eq!(result, outcome(0, 1, 0));
    let row = get_one(h, "alpha").await;
    assert_dashboard(&row, &empty);
    assert_eq!(row.profile, TrackProfile::default());
    assert_eq!(row.validators, HttpValidators::default());
    assert_eq!(row.updated_at, us(t(1)));
}

pub(crate) async fn not_modified_moves_only_fetch_bookkeeping(h: &Harness) {
    let first = full("alpha", t(0));
    let MetadataUpdate::Fetched(meta) = first.metadata.clone() else {
        unreachable!("fixture")
    };
    h.repo
        .apply_batch(&batch(run(), t(0), vec![first.clone()]))
        .await
        .expect("fetched");
    let before = get_one(h, "alpha").await;

    // 304 with a new ETag and no Last-Modified: the ETag moves, the stored
    // Last-Modified stays, the dashboard stands, nothing counts as updated.
    let not_modified = TrackUpsert {
        metadata: MetadataUpdate::NotModified {
            fetched_at: t(1),
            validators: HttpValidators {
                etag: Some("W/\"v2\"".into()),
                last_modified: None,
            },
        },
        geo: GeoUpdate::Keep,
        ..first.clone()
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), t(1), vec![not_modified]))
        .await
        .expect("304");
    assert_eq!(result, outcome(0, 0, 1));
    let row = get_one(h, "alpha").await;
    assert_eq!(row.updated_at, us(t(0)), "a 304 is not an update");
    assert_eq!(row.last_seen_at, us(t(1)));
    assert_eq!(row.metadata_fetched_at, Some(us(t(1))));
    assert_eq!(row.validators.etag.as_deref(), Some("W/\"v2\""));
    assert_eq!(row.validators.last_modified, meta.validators.last_modified);
    assert_eq!(row.profile, meta.profile);
    assert_eq!(row.content_hash.as_deref(), meta.content_hash.as_deref());
    assert_eq!(row.metadata_source_url, before.metadata_source_url);
    assert_eq!(row.geo, before.geo);

    // 304 without validators: both stored ones stay.
    let bare_304 = TrackUpsert {
        metadata: MetadataUpdate::NotModified {
            fetched_at: t(2),
            validators: HttpValidators::default(),
        },
        geo: GeoUpdate::Keep,
        ..first
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), t(2), vec![bare_304]))
        .await
        .expect("304 again");
    assert_eq!(result, outcome(0, 0, 1));
    let row = get_one(h, "alpha").await;
    assert_eq!(row.metadata_fetched_at, Some(us(t(2))));
    assert_eq!(row.validators.etag.as_deref(), Some("W/\"v2\""));
    assert_eq!(row.validators.last_modified, meta.validators.last_modified);
    assert_eq!(row.updated_at, us(t(0)));

    // A fetch that finds the same dashboard only moves bookkeeping too.
    let mut same = fetched_meta("alpha", t(3), "v1");
    same.validators = validators("v3");
    let refetched = TrackUpsert {
        metadata: MetadataUpdate::Fetched(Box::new(same.clone())),
        geo: GeoUpdate::Keep,
        ..full("alpha", t(0))
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), t(3), vec![refetched]))
        .await
        .expect("same dashboard");
    assert_eq!(result, outcome(0, 0, 1));
    let row = get_one(h, "alpha").await;
    assert_dashboard(&row, &same);
    assert_eq!(row.updated_at, us(t(0)));
}

/// The seen marks (`last_seen_at` and the fetch bookkeeping) of a track
/// whose content a batch leaves alone are stored beside its row, not on it;
/// whichever batch wrote them last, every read, merge and deactivation sees
/// the latest ones.
pub(crate) async fn seen_marks_stay_exact_across_marks_and_rewrites(h: &Harness) {
    let alpha = full("alpha", t(0));
    let bravo = full("bravo", t(0));
    h.repo
        .apply_batch(&batch(run(), t(0), vec![alpha.clone(), bravo.clone()]))
        .await
        .expect("seed");

    // Both seen unchanged; alpha's dashboard answered 304 with new validators.
    let alpha_304 = TrackUpsert {
        metadata: MetadataUpdate::NotModified {
            fetched_at: t(1),
            validators: validators("v2"),
        },
        geo: GeoUpdate::Keep,
        ..alpha.clone()
    };
    let result = h
        .repo
        .apply_batch(&batch(run(), t(1), vec![alpha_304, bravo.clone()]))
        .await
        .expect("marks only");
    assert_eq!(result, outcome(0, 0, 2));
    let row = get_one(h, "alpha").await;
    assert_eq!(row.last_seen_at, us(t(1)));
    assert_eq!(row.metadata_fetched_at, Some(us(t(1))));
    assert_eq!(row.validators, validators("v2"));
    assert_eq!(row.updated_at, us(t(0)));

    // Renamed, dashboard not fetched: the row is rewritten, and the marks it
    // keeps are the latest (the 304's), not those it was last written with.
    let mut renamed = TrackUpsert {
        metadata: MetadataUpdate::Unknown,
        geo: GeoUpdate::Keep,
        ..alpha.clone()
    };
    renamed.catalogue.name = "Alpha Renamed".into();
    let result = h
        .repo
        .apply_batch(&batch(run(), t(2), vec![renamed.clone()]))
        .await
        .expect("rename");
    assert_eq!(result, outcome(0, 1, 0));
    let row = get_one(h, "alpha").await;
    assert_eq!(row.catalogue.name, "Alpha Renamed");
    assert_eq!(row.updated_at, us(t(2)));
    assert_eq!(row.last_seen_at, us(t(2)));
    assert_eq!(row.metadata_fetched_at, Some(us(t(1))));
    assert_eq!(row.validators, validators("v2"));

    // Seen again unchanged, twice: the marks move once, the row never.
    for _ in 0..2 {
        let result = h
            .repo
            .apply_batch(&batch(run(), t(3), vec![renamed.clone()]))
            .await
            .expect("seen again");
        assert_eq!(result, outcome(0, 0, 1));
        let again = get_one(h, "alpha").await;
        assert_eq!(again.last_seen_at, us(t(3)));
        assert_eq!(again.updated_at, us(t(2)));
        let mut expected = row.clone();
        expected.last_seen_at = us(t(3));
        assert_eq!(again, expected);
    }

    // bravo leaves the catalogue: its last sighting is the mark of t(1).
    let finished = h
        .repo
        .finish_run(&finish(run(), t(4), Some(&["alpha"])))
        .await
        .expect("finish");
    assert_eq!(
        finished.deactivated,
        vec![DeactivatedTrack {
            slug: "bravo".into(),
            name: bravo.catalogue.name.clone(),
            first_seen_at: us(t(0)),
            last_seen_at: us(t(1)),
        }]
    );
    let seen: Vec<_> = h
        .repo
        .snapshot(SOURCE)
        .await
        .expect("snapshot")
        .into_iter()
        .map(|s| (s.slug, s.last_seen_at, s.validators))
        .collect();
    assert_eq!(
        seen,
        [
            ("alpha".to_owned(), us(t(3)), validators("v2")),
            ("bravo".to_owned(), us(t(1)), validators("v1")),
        ]
    );

    // bravo is back: the reactivation rewrites its row, marks included.
    let result = h
        .repo
        .apply_batch(&batch(run(), t(5), vec![bravo]))
        .await
        .expect("back");
    assert_eq!(result.updated, 1);
    assert_eq!(result.reactivated, ["bravo"]);
    let listed = h
        .repo
        .list_tracks(SOURCE, page(false, 10, 0))
        .await
        .expect("list");
    let marks: Vec<_> = listed
        .iter()
        .map(|r| (r.slug.as_str(), r.last_seen_at, r.updated_at, r.is_active))
        .collect();
    assert_eq!(
        marks,
        [
            ("alpha", us(t(3)), us(t(2)), true),
            ("bravo", us(t(5)), us(t(5)), true),
        ]
    );
}

pub(crate) async fn geo_keep_set_clear(h: &Harness) {
    let with = |geo: GeoUpdate| TrackUpsert {
        geo,
        ..bare("alpha")
    };
    let steps: [(GeoUpdate, Option<ingest_core::GeoPoint>, BatchOutcome); 6] = [
        (GeoUpdate::Set(geo(1.0)), Some(geo(1.0)), outcome(1, 0, 0)),
        (GeoUpdate::Keep, Some(geo(1.0)), outcome(0, 0, 1)),
        (GeoUpdate::Set(geo(2.5)), Some(geo(2.5)), outcome(0, 1, 0)),
        (GeoUpdate::Set(geo(2.5)), Some(geo(2.5)), outcome(0, 0, 1)),
        (GeoUpdate::Clear, None, outcome(0, 1, 0)),
        (GeoUpdate::Clear, None, outcome(0, 0, 1)),
    ];
    let mut last_update = t(0);
    for (i, (update, expected, counts)) in steps.into_iter().enumerate() {
        let at = t(i as i64);
        let result = h
            .repo
            .apply_batch(&batch(run(), at, vec![with(update)]))
            .await
            .expect("apply");
        assert_eq!(result, counts, "step {i}");
        if counts.inserted + counts.updated > 0 {
            last_update = at;
        }
        let row = get_one(h, "alpha").await;
        assert_geo(&row, expected.as_ref());
        assert_eq!(row.updated_at, us(last_update), "step {i}");
    }
    let keep = h
        .repo
        .apply_batch(&batch(run(), t(9), vec![with(GeoUpdate::Keep)]))
        .await
        .expect("keep nothing");
    assert_eq!(keep, outcome(0, 0, 1));
    assert_eq!(get_one(h, "alpha").await.geo, None);
}

pub(crate) async fn finish_run_deactivates_tracks_not_in_the_catalogue(h: &Harness) {
    h.repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![
                full("alpha", t(0)),
                bare("bravo"),
                bare("charlie"),
                full("delta", t(0)),
            ],
        ))
        .await
        .expect("seed");
    h.repo
        .apply_batch(&batch(run(), t(1), vec![bare("alpha"), bare("charlie")]))
        .await
        .expect("second run's catalogue");

    let run_id = run();
    let done = h
        .repo
        .finish_run(&finish(run_id, t(2), Some(&["alpha", "charlie", "zulu"])))
        .await
        .expect("finish");
    let bravo = bare("bravo");
    let delta = full("delta", t(0));
    assert_eq!(
        done.deactivated,
        vec![
            DeactivatedTrack {
                slug: "bravo".into(),
                name: bravo.catalogue.name.clone(),
                first_seen_at: us(t(0)),
                last_seen_at: us(t(0)),
            },
            DeactivatedTrack {
                slug: "delta".into(),
                name: delta.catalogue.name.clone(),
                first_seen_at: us(t(0)),
                last_seen_at: us(t(0)),
            },
        ]
    );

    let rows = get(h, &["alpha", "bravo", "charlie", "delta"]).await;
    for row in &rows {
        let gone = row.slug == "bravo" || row.slug == "delta";
        assert_eq!(row.is_active, !gone, "{}", row.slug);
        if gone {
            assert_eq!(row.deactivated_at, Some(us(t(2))));
            assert_eq!(row.updated_at, us(t(2)));
        } else {
            assert_eq!(row.deactivated_at, None);
            assert_ne!(row.updated_at, us(t(2)));
        }
    }
    // Deactivation keeps everything else, dashboard included.
    let MetadataUpdate::Fetched(meta) = &delta.metadata else {
        unreachable!("fixture")
    };
    assert_dashboard(&rows[3], meta);

    let recorded = |slug: &str| ChangeRecord {
        slug: slug.into(),
        field: "is_active".into(),
        old_value: Some("true".into()),
        new_value: Some("false".into()),
        changed_at: us(t(2)),
    };
    assert_eq!(
        h.changes(run_id).await,
        vec![recorded("bravo"), recorded("delta")]
    );
    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 2);
    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 4);

    // Idempotent: finishing again (even later) changes nothing more.
    let again = h
        .repo
        .finish_run(&finish(run_id, t(3), Some(&["alpha", "charlie", "zulu"])))
        .await
        .expect("finish again");
    assert!(again.deactivated.is_empty());
    assert_eq!(h.changes(run_id).await.len(), 2);
    assert_eq!(get_one(h, "bravo").await.deactivated_at, Some(us(t(2))));
    assert_eq!(h.change_count().await, 2);
}

pub(crate) async fn finish_run_without_catalogue_deactivates_nothing(h: &Harness) {
    h.repo
        .apply_batch(&batch(run(), t(0), vec![bare("alpha"), bare("bravo")]))
        .await
        .expect("seed");
    let run_id = run();
    let done = h
        .repo
        .finish_run(&finish(run_id, t(1), None))
        .await
        .expect("finish");
    assert!(done.deactivated.is_empty());
    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 2);
    assert!(h.changes(run_id).await.is_empty());
    assert!(
        get(h, &["alpha", "bravo"])
            .await
            .iter()
            .all(|r| r.updated_at == us(t(0)))
    );
    assert_eq!(
        h.repo.sync_state(SOURCE).await.expect("state"),
        Some(SyncState {
            source: SOURCE.into(),
            last_success_at: us(t(1)),
            last_run_id: run_id,
        })
    );
}

/// `finish` with a grace period of `runs`.
fn finish_after(run_id: Uuid, at: DateTime<Utc>, keep: &[&str], runs: u32) -> FinishRun {
    FinishRun {
        deactivate_after_missing_runs: runs,
        ..finish(run_id, at, Some(keep))
    }
}

fn pending_slugs(done: &FinishOutcome) -> Vec<(String, u32)> {
    done.pending
        .iter()
        .map(|p| (p.slug.clone(), p.missing_runs))
        .collect()
}

pub(crate) async fn missing_tracks_wait_out_the_grace_period(h: &Harness) {
    h.repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![bare("alpha"), bare("bravo"), bare("charlie"), bare("delta")],
        ))
        .await
        .expect("seed");

    // Missing once of two: pending, nothing deactivated or recorded.
    let first = run();
    let done = h
        .repo
        .finish_run(&finish_after(first, t(1), &["alpha", "delta"], 2))
        .await
        .expect("first");
    assert!(done.deactivated.is_empty());
    assert_eq!(
        pending_slugs(&done),
        [("bravo".to_owned(), 1), ("charlie".to_owned(), 1)]
    );
    assert_eq!(done.pending[0].last_seen_at, us(t(0)));
    assert!(h.changes(first).await.is_empty());
    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 4);

    // The same run finishing again (a resumed job) counts once.
    let again = h
        .repo
        .finish_run(&finish_after(first, t(2), &["alpha", "delta"], 2))
        .await
        .expect("again");
    assert!(again.deactivated.is_empty());
    assert_eq!(pending_slugs(&again), pending_slugs(&done));

    // Charlie is listed again: its count resets.
    let second = h
        .repo
        .finish_run(&finish_after(
            run(),
            t(3),
            &["alpha", "charlie", "delta"],
            2,
        ))
        .await
        .expect("second");
    let DeactivatedTrack { slug, .. } = &second.deactivated[0];
    assert_eq!(slug, "bravo");
    assert_eq!(second.deactivated.len(), 1);
    assert!(second.pending.is_empty());

    // Missing once more: charlie starts from one, not two.
    let third = run();
    let done = h
        .repo
        .finish_run(&finish_after(third, t(4), &["alpha", "delta"], 2))
        .await
        .expect("third");
    assert!(done.deactivated.is_empty());
    assert_eq!(pending_slugs(&done), [("charlie".to_owned(), 1)]);

    // A refused run (no deactivation) neither counts nor deactivates, but a
    // track it lists is missing no longer.
    let refused = h
        .repo
        .finish_run(&FinishRun {
            listed: slugs(&["alpha", "charlie"]),
            ..finish(run(), t(5), None)
        })
        .await
        .expect("refused");
    assert!(refused.deactivated.is_empty() && refused.pending.is_empty());
    let done = h
        .repo
        .finish_run(&finish_after(run(), t(6), &["alpha", "delta"], 2))
        .await
        .expect("fourth");
    assert!(done.deactivated.is_empty());
    assert_eq!(pending_slugs(&done), [("charlie".to_owned(), 1)]);
    let done = h
        .repo
        .finish_run(&finish_after(run(), t(7), &["alpha", "delta"], 2))
        .await
        .expect("fifth");
    assert_eq!(done.deactivated.len(), 1);
    assert!(done.pending.is_empty());
    assert!(!get_one(h, "charlie").await.is_active);
    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 2);

    // Back in a batch, then missing: the count starts again from one.
    h.repo
        .apply_batch(&batch(run(), t(8), vec![bare("charlie")]))
        .await
        .expect("back");
    let done = h
        .repo
        .finish_run(&finish_after(run(), t(9), &["alpha", "delta"], 2))
        .await
        .expect("sixth");
    assert!(done.deactivated.is_empty());
    assert_eq!(pending_slugs(&done), [("charlie".to_owned(), 1)]);
}

pub(crate) async fn finish_run_clears_held_fields_still_stored(h: &Harness) {
    h.repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![full("alpha", t(0)), full("bravo", t(0))],
        ))
        .await
        .expect("seed");
    let stored = profile("alpha");
    let clear = |slug: &str, field: &str, old: Option<String>| FieldChange {
        slug: slug.into(),
        field: field.into(),
        old_value: old,
        new_value: None,
    };
    let run_id = run();
    let done = h
        .repo
        .finish_run(&FinishRun {
            clear_fields: vec![
                clear("alpha", "phone", stored.phone.clone()),
                clear("alpha", "street", stored.street.clone()),
                // Moved since the run kept it: left alone.
                clear("bravo", "phone", Some("+1 000".into())),
            ],
            ..finish(run_id, t(1), Some(&["alpha", "bravo"]))
        })
        .await
        .expect("finish");
    assert_eq!(
        done.cleared,
        vec![
            clear("alpha", "street", stored.street.clone()),
            clear("alpha", "phone", stored.phone.clone()),
        ]
    );
    let alpha = get_one(h, "alpha").await;
    assert_eq!((alpha.profile.phone, alpha.profile.street), (None, None));
    assert_eq!(alpha.profile.city, stored.city);
    assert_eq!(alpha.updated_at, us(t(1)));
    let bravo = get_one(h, "bravo").await;
    assert_eq!(bravo.profile.phone, profile("bravo").phone);
    assert_eq!(bravo.updated_at, us(t(0)));
    let recorded: Vec<(String, String, Option<String>)> = h
        .changes(run_id)
        .await
        .into_iter()
        .map(|c| (c.slug, c.field, c.old_value))
        .collect();
    assert_eq!(
        recorded,
        [
            (
                "alpha".to_owned(),
                "street".to_owned(),
                stored.street.clone()
            ),
            ("alpha".to_owned(), "phone".to_owned(), stored.phone.clone()),
        ]
    );

    // A field the guard does not watch is refused, and nothing is written.
    let refused = h
        .repo
        .finish_run(&FinishRun {
            clear_fields: vec![clear("bravo", "name", Some("x".into()))],
            ..finish(run(), t(2), Some(&["alpha", "bravo"]))
        })
        .await;
    assert!(
        matches!(refused, Err(RepositoryError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(get_one(h, "bravo").await.updated_at, us(t(0)));
}

pub(crate) async fn reappearing_track_is_reactivated(h: &Harness) {
    let tracks = vec![full("alpha", t(0)), full("bravo", t(0))];
    h.repo
        .apply_batch(&batch(run(), t(0), tracks.clone()))
        .await
        .expect("seed");
    h.repo
        .finish_run(&finish(run(), t(1), Some(&["alpha"])))
        .await
        .expect("deactivate bravo");
    assert!(!get_one(h, "bravo").await.is_active);

    // It is back, unchanged: the reactivation alone makes it updated.
    let run_id = run();
    let back = batch(run_id, t(2), tracks);
    let result = h.repo.apply_batch(&back).await.expect("reappear");
    assert_eq!(
        result,
        BatchOutcome {
            inserted: 0,
            updated: 1,
            unchanged: 1,
            reactivated: vec!["bravo".into()],
            changes_recorded: 1,
        }
    );
    let row = get_one(h, "bravo").await;
    assert!(row.is_active);
    assert_eq!(row.deactivated_at, None);
    assert_eq!(row.updated_at, us(t(2)));
    assert_eq!(row.last_seen_at, us(t(2)));
    assert_eq!(row.first_seen_at, us(t(0)));
    assert_eq!(
        h.changes(run_id).await,
        vec![ChangeRecord {
            slug: "bravo".into(),
            field: "is_active".into(),
            old_value: Some("false".into()),
            new_value: Some("true".into()),
            changed_at: us(t(2)),
        }]
    );

    // Re-applying the batch reactivates nothing more and records nothing.
    let again = h.repo.apply_batch(&back).await.expect("again");
    assert_eq!(again, outcome(0, 0, 2));
    assert_eq!(h.changes(run_id).await.len(), 1);
    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 2);
}

/// Whichever way a backend finds a batch's stored tracks (Postgres first
/// scans the batch's key range and probes slug by slug only when the range
/// holds more stored tracks than the batch has rows), the split into new,
/// stored and reactivated tracks is exact: batches whose key range holds
/// none, fewer, as many and more stored tracks than the batch.
/// Apply a batch of bare tracks at hour `hour` of a new run.
async fn apply_bare<const N: usize>(
    h: &Harness,
    hour: i64,
    slugs: [&str; N],
    what: &str,
) -> BatchOutcome {
    h.repo
        .apply_batch(&batch(run(), t(hour), slugs.map(bare).to_vec()))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

pub(crate) async fn stored_tracks_are_found_whatever_the_key_range_holds(h: &Harness) {
    let seed = ["bravo", "delta", "foxtrot", "hotel"];
    h.repo
        .apply_batch(&batch(run(), t(0), seed.iter().map(|s| bare(s)).collect()))
        .await
        .expect("seed");
    h.repo
        .finish_run(&finish(run(), t(1), Some(&["bravo", "delta", "hotel"])))
        .await
        .expect("deactivate foxtrot");

    // Range alpha..charlie: one stored track (bravo), not in the batch.
    let result = apply_bare(h, 2, ["alpha", "charlie"], "fewer stored in range").await;
    assert_eq!(result, outcome(2, 0, 0));

    // Range charlie..delta: as many stored tracks as the batch has rows.
    let result = apply_bare(h, 3, ["charlie", "delta"], "as many stored in range").await;
    assert_eq!(result, outcome(0, 0, 2));

    // Range bravo..zulu: six stored tracks for a batch of two.
    let result = apply_bare(h, 4, ["bravo", "zulu"], "more stored in range").await;
    assert_eq!(result, outcome(1, 0, 1));

    // Range foxtrot..golf holds the inactive foxtrot alone: reactivated.
    let result = apply_bare(h, 5, ["foxtrot", "golf"], "inactive in a small range").await;
    assert_eq!(
        result,
        BatchOutcome {
            inserted: 1,
            updated: 1,
            unchanged: 0,
            reactivated: vec!["foxtrot".into()],
            changes_recorded: 1,
        }
    );

    // Deactivated again, then back in a batch whose range holds many more.
    h.repo
        .finish_run(&finish(
            run(),
            t(6),
            Some(&[
                "alpha", "bravo", "charlie", "delta", "golf", "hotel", "zulu",
            ]),
        ))
        .await
        .expect("deactivate foxtrot again");
    let result = apply_bare(h, 7, ["alpha", "foxtrot"], "inactive in a large range").await;
    assert_eq!(
        result,
        BatchOutcome {
            inserted: 0,
            updated: 1,
            unchanged: 1,
            reactivated: vec!["foxtrot".into()],
            changes_recorded: 1,
        }
    );

    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 8);
    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 8);
}

pub(crate) async fn apply_batch_is_idempotent_with_its_changes(h: &Harness) {
    h.repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![full("alpha", t(0)), bare("bravo")],
        ))
        .await
        .expect("seed");

    let run_id = run();
    let mut alpha = full("alpha", t(0));
    alpha.catalogue.name = "Alpha Two".into();
    let mut second = batch(run_id, t(1), vec![alpha, bare("bravo"), bare("charlie")]);
    second.changes = vec![
        change(
            "alpha",
            "name",
            Some(&full("alpha", t(0)).catalogue.name),
            Some("Alpha Two"),
        ),
        change("bravo", "phone", None, Some("+1 555")),
    ];
    let first = h.repo.apply_batch(&second).await.expect("apply");
    assert_eq!(
        first,
        BatchOutcome {
            inserted: 1,
            updated: 1,
            unchanged: 1,
            reactivated: vec![],
            changes_recorded: 2,
        }
    );
    let stored_changes = h.changes(run_id).await;
    assert_eq!(
        stored_changes,
        vec![
            ChangeRecord {
                slug: "alpha".into(),
                field: "name".into(),
                old_value: Some(full("alpha", t(0)).catalogue.name),
                new_value: Some("Alpha Two".into()),
                changed_at: us(t(1)),
            },
            ChangeRecord {
                slug: "bravo".into(),
                field: "phone".into(),
                old_value: None,
                new_value: Some("+1 555".into()),
                changed_at: us(t(1)),
            },
        ]
    );
    let rows_before = get(h, &["alpha", "bravo", "charlie"]).await;

    let again = h.repo.apply_batch(&second).await.expect("again");
    assert_eq!(
        again,
        BatchOutcome {
            inserted: 0,
            updated: 0,
            unchanged: 3,
            reactivated: vec![],
            changes_recorded: 0,
        }
    );
    assert_eq!(h.changes(run_id).await, stored_changes);
    assert_eq!(get(h, &["alpha", "bravo", "charlie"]).await, rows_before);
}

/// Seed two tracks, then a batch that would touch both, add one and record a
/// change, and fails on its last row: afterwards the database must be exactly
/// as seeded.
async fn assert_failed_batch_left_no_trace(h: &Harness, failing: ingest_core::UpsertBatch) {
    h.repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![full("alpha", t(0)), bare("bravo")],
        ))
        .await
        .expect("seed");
    h.repo
        .finish_run(&finish(run(), t(0), Some(&["alpha"])))
        .await
        .expect("deactivate bravo");
    let rows_before = get(h, &["alpha", "bravo"]).await;
    let snapshot_before = h.repo.snapshot(SOURCE).await.expect("snapshot");
    let changes_before = h.change_count().await;

    let message = assert_rejected(h.repo.apply_batch(&failing).await);
    assert!(!message.is_empty());

    assert_eq!(get(h, &["alpha", "bravo", "newcomer"]).await, rows_before);
    assert_eq!(
        h.repo.snapshot(SOURCE).await.expect("snapshot"),
        snapshot_before
    );
    assert!(h.changes(failing.run_id).await.is_empty());
    assert_eq!(h.change_count().await, changes_before);
    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 2);

    // The repository is still usable, and the same run can be applied once
    // its input is fixed: nothing of the failed attempt is in the way.
    let fixed = ingest_core::UpsertBatch {
        tracks: failing
            .tracks
            .iter()
            .map(|u| TrackUpsert {
                geo: GeoUpdate::Keep,
                ..u.clone()
            })
            .collect(),
        changes: failing
            .changes
            .iter()
            .filter(|c| c.slug != "ghost")
            .cloned()
            .collect(),
        ..failing.clone()
    };
    let result = h.repo.apply_batch(&fixed).await.expect("fixed batch");
    assert_eq!(result.inserted, 1);
    assert_eq!(result.reactivated, vec!["bravo".to_owned()]);
    assert_eq!(result.changes_recorded, fixed.changes.len() as u64 + 1);
}

fn half_good_batch() -> ingest_core::UpsertBatch {
    let mut alpha = full("alpha", t(0));
    alpha.catalogue.name = "Alpha Renamed".into();
    let mut b = batch(run(), t(1), vec![alpha, bare("bravo"), bare("newcomer")]);
    b.changes = vec![change("alpha", "name", Some("old"), Some("Alpha Renamed"))];
    b
}

pub(crate) async fn failed_batch_persists_nothing_on_constraint_violation(h: &Harness) {
    let mut failing = half_good_batch();
    let mut wrong = geo(0.0);
    wrong.latitude = 999.0;
    failing.tracks[2].geo = GeoUpdate::Set(wrong);
    assert_failed_batch_left_no_trace(h, failing).await;
}

pub(crate) async fn failed_batch_persists_nothing_on_change_for_unknown_slug(h: &Harness) {
    let mut failing = half_good_batch();
    failing
        .changes
        .push(change("ghost", "name", None, Some("Ghost")));
    assert_failed_batch_left_no_trace(h, failing).await;
}

pub(crate) async fn duplicate_slugs_in_a_batch_are_rejected(h: &Harness) {
    let mut twice = bare("alpha");
    twice.catalogue.name = "Other".into();
    let message = assert_rejected(
        h.repo
            .apply_batch(&batch(
                run(),
                t(0),
                vec![bare("alpha"), bare("bravo"), twice],
            ))
            .await,
    );
    assert!(message.contains("alpha"), "{message}");
    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 0);
}

pub(crate) async fn uppercase_slug_is_rejected(h: &Harness) {
    let mut upper = bare("alpha");
    upper.slug = "Alpha".into();
    let message = assert_rejected(
        h.repo
            .apply_batch(&batch(run(), t(0), vec![bare("bravo"), upper]))
            .await,
    );
    assert!(message.contains("upsert"), "{message}");
    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 0);
}

pub(crate) async fn sync_state_round_trips(h: &Harness) {
    assert_eq!(h.repo.sync_state(SOURCE).await.expect("state"), None);
    let first = run();
    h.repo
        .finish_run(&finish(first, t(1), Some(&[])))
        .await
        .expect("finish");
    assert_eq!(
        h.repo.sync_state(SOURCE).await.expect("state"),
        Some(SyncState {
            source: SOURCE.into(),
            last_success_at: us(t(1)),
            last_run_id: first,
        })
    );
    let second = run();
    h.repo
        .finish_run(&finish(second, t(2), None))
        .await
        .expect("finish");
    assert_eq!(
        h.repo.sync_state(SOURCE).await.expect("state"),
        Some(SyncState {
            source: SOURCE.into(),
            last_success_at: us(t(2)),
            last_run_id: second,
        })
    );
    assert_eq!(h.repo.sync_state("other").await.expect("state"), None);
}

pub(crate) async fn list_and_count_filter_and_page(h: &Harness) {
    let input = ["echo", "alpha", "delta", "bravo", "charlie"];
    h.repo
        .apply_batch(&batch(run(), t(0), input.iter().map(|s| bare(s)).collect()))
        .await
        .expect("seed");
    h.repo
        .finish_run(&finish(run(), t(1), Some(&["alpha", "charlie", "echo"])))
        .await
        .expect("deactivate bravo, delta");

    let list = |q| async move { h.repo.list_tracks(SOURCE, q).await.expect("list") };
    assert_eq!(names(&list(page(true, 2, 0)).await), ["alpha", "charlie"]);
    assert_eq!(names(&list(page(true, 2, 2)).await), ["echo"]);
    assert!(list(page(true, 2, 4)).await.is_empty());
    assert_eq!(
        names(&list(page(false, 10, 0)).await),
        ["alpha", "bravo", "charlie", "delta", "echo"]
    );
    assert_eq!(names(&list(page(false, 2, 1)).await), ["bravo", "charlie"]);
    assert!(list(page(false, 0, 0)).await.is_empty());

    let full_rows = list(page(false, 1, 1)).await;
    assert_eq!(full_rows[0], get_one(h, "bravo").await);
    assert!(!full_rows[0].is_active);

    assert_eq!(h.repo.count_tracks(SOURCE, true).await.expect("count"), 3);
    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 5);
    assert_eq!(h.repo.count_tracks("other", false).await.expect("count"), 0);
    assert!(
        h.repo
            .list_tracks("other", page(false, 10, 0))
            .await
            .expect("list")
            .is_empty()
    );
}

pub(crate) async fn snapshot_is_lean_and_complete(h: &Harness) {
    h.repo
        .apply_batch(&batch(
            run(),
            t(0),
            vec![bare("charlie"), full("alpha", t(0)), bare("bravo")],
        ))
        .await
        .expect("seed");
    h.repo
        .apply_batch(&batch(
            run(),
            t(1),
            vec![full("alpha", t(0)), bare("bravo")],
        ))
        .await
        .expect("second");
    h.repo
        .finish_run(&finish(run(), t(2), Some(&["alpha", "bravo"])))
        .await
        .expect("deactivate charlie");

    let snapshot = h.repo.snapshot(SOURCE).await.expect("snapshot");
    let stored = get(h, &["alpha", "bravo", "charlie"]).await;
    let expected: Vec<ingest_core::TrackSnapshot> = stored
        .iter()
        .map(|r| ingest_core::TrackSnapshot {
            slug: r.slug.clone(),
            name: r.catalogue.name.clone(),
            is_active: r.is_active,
            last_updated_at: r.catalogue.last_updated_at,
            metadata_fetched_at: r.metadata_fetched_at,
            validators: r.validators.clone(),
            content_hash: r.content_hash.clone(),
            has_geo: r.geo.is_some(),
            last_seen_at: r.last_seen_at,
            deactivated_at: r.deactivated_at,
        })
        .collect();
    assert_eq!(snapshot, expected);
    assert!(snapshot[0].has_geo && !snapshot[1].has_geo);
    assert_eq!(snapshot[0].validators, validators("v1"));
    assert_eq!(snapshot[0].last_seen_at, us(t(1)));
    assert_eq!(snapshot[2].deactivated_at, Some(us(t(2))));
    assert!(!snapshot[2].is_active);
    assert!(h.repo.snapshot("other").await.expect("snapshot").is_empty());
}

pub(crate) async fn sources_are_separate(h: &Harness) {
    h.repo
        .apply_batch(&batch(run(), t(0), vec![full("alpha", t(0))]))
        .await
        .expect("liverc");
    let mut other = batch(run(), t(1), vec![bare("alpha"), bare("bravo")]);
    other.source = "other".into();
    assert_eq!(
        h.repo.apply_batch(&other).await.expect("other"),
        outcome(2, 0, 0)
    );
    let mine = get_one(h, "alpha").await;
    assert_eq!(mine.updated_at, us(t(0)));
    assert_eq!(mine.last_seen_at, us(t(0)));
    assert!(mine.geo.is_some());
    let theirs = h
        .repo
        .get_tracks("other", &slugs(&["alpha"]))
        .await
        .expect("other");
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0].id, mine.id);
    assert_eq!(theirs[0].source, "other");
    // Nothing of the same slug in another source leaks in: a bare track
    // (Unknown dashboard, Keep coordinates) has none.
    assert_catalogue(&theirs[0], &bare("alpha").catalogue);
    assert_eq!(theirs[0].profile, TrackProfile::default());
    assert_eq!(theirs[0].geo, None);
    assert_eq!(theirs[0].metadata_fetched_at, None);
    assert_eq!(theirs[0].content_hash, None);
    // ... and re-applying there leaves both sources' rows alone.
    other.seen_at = t(3);
    assert_eq!(
        h.repo.apply_batch(&other).await.expect("other again"),
        outcome(0, 0, 2)
    );
    assert_eq!(get_one(h, "alpha").await, mine);

    // Finishing one source leaves the other alone.
    let done = h
        .repo
        .finish_run(&finish(run(), t(2), Some(&[])))
        .await
        .expect("finish liverc");
    assert_eq!(done.deactivated.len(), 1);
    assert_eq!(h.repo.count_tracks("other", true).await.expect("count"), 2);
    assert_eq!(h.repo.sync_state("other").await.expect("state"), None);
}

pub(crate) async fn empty_batch_does_nothing(h: &Harness) {
    let result = h
        .repo
        .apply_batch(&batch(run(), t(0), Vec::new()))
        .await
        .expect("empty");
    assert_eq!(result, BatchOutcome::default());
    assert!(
        h.repo
            .get_tracks(SOURCE, &[])
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(h.repo.count_tracks(SOURCE, false).await.expect("count"), 0);
}

pub(crate) async fn batch_of_1090_rows_in_one_call(h: &Harness) {
    let tracks: Vec<TrackUpsert> = (0..1090)
        .map(|i| {
            let slug = format!("track-{i:04}");
            if i % 3 == 0 {
                bare(&slug)
            } else {
                full(&slug, t(0))
            }
        })
        .collect();
    let result = h
        .repo
        .apply_batch(&batch(run(), t(0), tracks.clone()))
        .await
        .expect("1090");
    assert_eq!(result, outcome(1090, 0, 0));
    assert_eq!(
        h.repo.count_tracks(SOURCE, true).await.expect("count"),
        1090
    );
    let snapshot = h.repo.snapshot(SOURCE).await.expect("snapshot");
    assert_eq!(snapshot.len(), 1090);
    assert_eq!(snapshot.iter().filter(|s| s.has_geo).count(), 726);

    let sample = get(h, &["track-0000", "track-0001", "track-1089"]).await;
    assert_catalogue(&sample[0], &tracks[0].catalogue);
    let MetadataUpdate::Fetched(meta) = &tracks[1].metadata else {
        unreachable!("fixture")
    };
    assert_dashboard(&sample[1], meta);
    assert_catalogue(&sample[2], &tracks[1089].catalogue);

    let again = h
        .repo
        .apply_batch(&batch(run(), t(1), tracks))
        .await
        .expect("again");
    assert_eq!(again, outcome(0, 0, 1090));
    let snapshot = h.repo.snapshot(SOURCE).await.expect("snapshot");
    assert!(snapshot.iter().all(|s| s.last_seen_at == us(t(1))));
}

/// The operator's track browser: a case-insensitive substring of the name,
/// slug, city, state, country or country code, inactive tracks included,
/// ordered by name; `%` and `_` are plain characters, not wildcards.
pub(crate) async fn search_finds_by_name_place_and_slug(h: &Harness) {
    let mut tracks = vec![full("alpha", t(0)), full("bravo", t(0)), bare("charlie")];
    tracks[0].catalogue.name = "Thunder Alley 100%".into();
    if let MetadataUpdate::Fetched(m) = &mut tracks[1].metadata {
        m.profile.city = Some("Wollongong".into());
        m.profile.country_code = Some("AU".into());
    }
    h.repo
        .apply_batch(&batch(run(), t(0), tracks))
        .await
        .expect("store");
    let names = |found: Vec<ingest_core::StoredTrack>| -> Vec<String> {
        found.into_iter().map(|t| t.slug).collect()
    };
    let search = |text: &'static str| h.repo.search_tracks("liverc", text, 50);
    assert_eq!(names(search("THUNDER").await.expect("name")), ["alpha"]);
    assert_eq!(names(search("wollon").await.expect("city")), ["bravo"]);
    assert_eq!(names(search("au").await.expect("country code")), ["bravo"]);
    assert_eq!(names(search("charl").await.expect("slug")), ["charlie"]);
    assert_eq!(names(search("100%").await.expect("literal %")), ["alpha"]);
    assert!(search("1_0").await.expect("literal _").is_empty());
    assert!(search("nowhere").await.expect("none").is_empty());
    assert_eq!(
        h.repo
            .search_tracks("liverc", "a", 1)
            .await
            .expect("limit")
            .len(),
        1
    );
}

/// A track's history: its recorded changes, newest first.
pub(crate) async fn track_history_lists_a_track_s_changes_newest_first(h: &Harness) {
    let (first, second) = (run(), run());
    h.repo
        .apply_batch(&batch(
            first,
            t(0),
            vec![full("alpha", t(0)), full("bravo", t(0))],
        ))
        .await
        .expect("store");
    let mut renamed = full("alpha", t(1));
    renamed.catalogue.name = "Alpha Renamed".into();
    let mut b = batch(second, t(1), vec![renamed]);
    b.changes = vec![change(
        "alpha",
        "name",
        Some(&catalogue("alpha").name),
        Some("Alpha Renamed"),
    )];
    h.repo.apply_batch(&b).await.expect("rename");
    let history = h
        .repo
        .track_history("liverc", "alpha", 10)
        .await
        .expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].run_id, second);
    assert_eq!(history[0].field, "name");
    assert_eq!(history[0].new_value.as_deref(), Some("Alpha Renamed"));
    assert!(
        h.repo
            .track_history("liverc", "bravo", 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert!(
        h.repo
            .track_history("liverc", "unknown", 10)
            .await
            .expect("unknown")
            .is_empty()
    );
}
