//! The `TrackRepository` and `JobQueue` contracts, written once (`cases`,
//! `jobs`) and run on both backends, each test on its own fresh database
//! (`harness`): a uniquely named Postgres database (dropped afterwards, even
//! when the test fails) and a SQLite file in a temporary directory.
//!
//! Postgres is found at `MRE_TEST_DATABASE_URL` (an admin URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when it is unreachable the
//! Postgres tests fail, they do not skip.

#[path = "contract/backends.rs"]
mod backends;
#[path = "contract/cases.rs"]
mod cases;
#[path = "contract/fixtures.rs"]
mod fixtures;
#[path = "contract/harness.rs"]
mod harness;
#[path = "contract/jobs.rs"]
mod jobs;

/// Instantiate every listed case (`module: [case, …]`) for both backends:
/// `postgres::<case>` and `sqlite::<case>`.
macro_rules! contract {
    ($($module:ident: [$($case:ident),* $(,)?]),* $(,)?) => {
        mod postgres {
            $($(
                #[tokio::test]
                async fn $case() {
                    crate::harness::with_postgres(|h| async move { crate::$module::$case(&h).await })
                        .await;
                }
            )*)*
        }
        mod sqlite {
            $($(
                #[tokio::test]
                async fn $case() {
                    crate::harness::with_sqlite(|h| async move { crate::$module::$case(&h).await })
                        .await;
                }
            )*)*
        }
    };
}

contract!(
    cases: [
    fresh_insert_round_trips_every_field,
    reapply_unchanged_rewrites_nothing_and_marks_seen,
    one_changed_field_updates_one_row,
    unknown_metadata_keeps_every_dashboard_field,
    fetched_none_clears_dashboard_fields,
    not_modified_moves_only_fetch_bookkeeping,
    seen_marks_stay_exact_across_marks_and_rewrites,
    geo_keep_set_clear,
    finish_run_deactivates_tracks_not_in_the_catalogue,
    finish_run_without_catalogue_deactivates_nothing,
    missing_tracks_wait_out_the_grace_period,
    finish_run_clears_held_fields_still_stored,
    reappearing_track_is_reactivated,
    stored_tracks_are_found_whatever_the_key_range_holds,
    apply_batch_is_idempotent_with_its_changes,
    failed_batch_persists_nothing_on_constraint_violation,
    failed_batch_persists_nothing_on_change_for_unknown_slug,
    duplicate_slugs_in_a_batch_are_rejected,
    uppercase_slug_is_rejected,
    sync_state_round_trips,
    list_and_count_filter_and_page,
    snapshot_is_lean_and_complete,
    sources_are_separate,
    empty_batch_does_nothing,
    batch_of_1090_rows_in_one_call,
    search_finds_by_name_place_and_slug,
    track_history_lists_a_track_s_changes_newest_first,
    ],
    jobs: [
    jobs_enqueue_get_and_list,
    jobs_one_active_job_per_source,
    jobs_claim_takes_the_oldest_due_job,
    jobs_concurrent_claimers_take_a_job_once,
    jobs_expired_lease_is_taken_over_and_the_old_token_fenced,
    jobs_heartbeat_extends_the_lease_and_reports_cancellation,
    jobs_retry_waits_for_run_after,
    jobs_spent_retry_budget_fails_the_job,
    jobs_released_attempt_is_not_counted,
    jobs_cancel_queued_running_and_final,
    jobs_resume_requeues_stopped_jobs_with_their_checkpoint,
    jobs_checkpoint_accumulates_with_stored_batches_only,
    jobs_progress_and_outcome_round_trip,
    jobs_enqueue_wakes_an_idle_worker,
    jobs_success_drops_the_checkpoint_failure_keeps_it,
    jobs_prune_deletes_old_final_jobs_only,
    jobs_start_claimed_runs_at_once_and_holds_the_source,
    jobs_start_claimed_takes_over_an_expired_run,
    jobs_concurrent_start_claimed_lets_one_run,
    jobs_stats_count_by_state_and_age_the_oldest_due,
    reports_last_success_is_the_newest_succeeded_run_of_the_source,
    ],
);
