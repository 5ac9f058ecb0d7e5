//! Upsert throughput of the repository against a naive baseline, on both
//! backends: `cargo bench -p ingest-store` (add `-- --quick` for the
//! 1,090-row runs only, `-- --backend sqlite|postgres` for one backend).
//!
//! A plain binary (`harness = false`), not criterion: every measurement is a
//! stateful sequence on a fresh database (fresh insert, then the same tracks
//! again, then 10% changed), and a 100,000-row step takes seconds, so one
//! timing per step (median of five for 1,090 rows) is what is wanted.
//!
//! The naive baseline is written here: per track a `SELECT` by key, then an
//! `INSERT` or a full-row `UPDATE`, all in one transaction per step (one
//! commit, the fewest the baseline can pay), at full size (a 10,000-row run
//! scaled ×10 would fit in the server's cache where 100,000 rows do not, and
//! flatter the baseline). The repository's batches are built before its
//! clock starts, as the baseline's rows are: copying the tracks into batches
//! is the bench's work, not the repository's.
//!
//! On Postgres a third method loads the fresh step's rows with one bare
//! `COPY … FROM STDIN (FORMAT binary)` of bytes encoded beforehand (taken
//! from the repository's own load, so the rows are identical): no lookup, no
//! transaction work, no encoding on the clock. It is what any client pays
//! for the rows themselves on this server, the floor under the repository.
//!
//! On Postgres the table also counts the row versions each step wrote, in
//! `tracks` and in `track_seen` (the seen marks of unchanged tracks), so a
//! write moved off the wide row still shows.
//!
//! Postgres: admin URL from `MRE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each run creates and drops
//! a `bench_ingest_store_*` database.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use ingest_core::{
    CatalogueFields, FetchedMetadata, GeoPoint, GeoUpdate, HttpValidators, MetadataUpdate,
    TrackProfile, TrackRepository, TrackUpsert, UpsertBatch,
};
use sqlx::postgres::{PgPool, PgPoolCopyExt, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Executor};
use uuid::Uuid;

const SOURCE: &str = "liverc";
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const REPEATS_SMALL: usize = 5;
/// Runs per measurement at 100,000 tracks (`--repeats N` to change): the
/// naive baseline's time moves a lot between runs on a shared 2-core
/// machine, so each figure is a median.
const REPEATS_LARGE: usize = 3;

// ---------------------------------------------------------------------------
// Data: deterministic, realistic sizes (a LiveRC catalogue row plus a parsed
// dashboard: ~1 KB of text per track).

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "thunder",
    "valley",
    "raceway",
    "hobby",
    "speedway",
    "indoor",
    "outdoor",
    "rc",
    "park",
    "motorsports",
    "dirt",
    "carpet",
    "clay",
    "offroad",
    "onroad",
    "club",
    "arena",
    "hobbies",
    "track",
    "circuit",
    "summit",
    "river",
    "canyon",
    "prairie",
    "lakeside",
    "north",
    "south",
];
const CITIES: &[&str] = &[
    "Springfield",
    "Riverside",
    "Fairview",
    "Madison",
    "Georgetown",
    "Salem",
    "Franklin",
    "Clinton",
    "Greenville",
    "Bristol",
    "Oxford",
    "Ashland",
    "Burlington",
    "Manchester",
];
const LOREM: &str = "Family friendly indoor and outdoor racing facility with a large clay \
     off-road layout, a high-grip carpet on-road track and a dedicated crawler course. Club \
     racing every Friday night, practice Tuesday through Sunday, points series in summer and \
     winter. Pit tables with power for 120 drivers, full hobby shop on site with parts for all \
     major brands, snack bar, and live timing on LiveRC. Beginners welcome: rental cars and \
     coaching available on weekends. ";

fn at(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0)
        .single()
        .expect("valid date")
        + chrono::Duration::hours(hour)
}

fn track(i: usize, rng: &mut Rng) -> TrackUpsert {
    let words: Vec<&str> = (0..3).map(|_| rng.pick(WORDS)).collect();
    let slug = format!("{}-{}-{}-{i}", words[0], words[1], words[2]);
    let name = words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let city = rng.pick(CITIES);
    let description_len = 200 + rng.below(600) as usize;
    let description: String = LOREM.chars().cycle().take(description_len).collect();
    let fetched_at = at(-1) + chrono::Duration::seconds(rng.below(3600) as i64);
    let profile = TrackProfile {
        street: Some(format!(
            "{} Industrial Pkwy Unit {}",
            rng.below(9999),
            rng.below(40)
        )),
        city: Some(city.to_owned()),
        state: Some("IL".into()),
        postal_code: Some(format!("{:05}", rng.below(99_999))),
        country: Some("United States".into()),
        country_code: Some("US".into()),
        phone: Some(format!(
            "+1 {:03}-555-{:04}",
            rng.below(999),
            rng.below(9999)
        )),
        website: Some(format!("https://www.{slug}.com/")),
        email: Some(format!("info@{slug}.com")),
        description: Some(description),
        logo_url: Some(format!(
            "https://cdn.liverc.com/tracks/{slug}/logo-300x300.png"
        )),
        facebook_url: Some(format!("https://www.facebook.com/{slug}")),
        map_query: Some(format!("{} Industrial Pkwy, {city}, IL", rng.below(9999))),
        total_laps: Some(rng.below(5_000_000) as i64),
        total_practice_sessions: Some(rng.below(20_000) as i64),
        total_races: Some(rng.below(50_000) as i64),
        total_entries: Some(rng.below(400_000) as i64),
        total_events: Some(rng.below(3_000) as i64),
    };
    let geo = if rng.below(10) < 8 {
        GeoUpdate::Set(GeoPoint {
            latitude: (rng.below(180_000_000) as f64 / 1e6) - 90.0,
            longitude: (rng.below(360_000_000) as f64 / 1e6) - 180.0,
            provider: "nominatim".into(),
            query: format!("Industrial Pkwy, {city}, IL, US"),
            geocoded_at: fetched_at,
        })
    } else {
        GeoUpdate::Keep
    };
    TrackUpsert {
        catalogue: CatalogueFields {
            name,
            track_url: format!("https://{slug}.liverc.com/"),
            events_url: format!("https://{slug}.liverc.com/results/"),
            last_updated_text: Some(format!("{} hours ago", rng.below(48))),
            last_updated_at: Some(at(-(rng.below(48) as i64))),
            is_live: rng.below(20) == 0,
            live_video: rng.below(50) == 0,
            status: "idle".into(),
            featured: rng.below(100) == 0,
            current_event: (rng.below(5) == 0).then(|| format!("{city} Summer Series Round 3")),
        },
        metadata: MetadataUpdate::Fetched(Box::new(FetchedMetadata {
            profile,
            fetched_at,
            source_url: format!("https://{slug}.liverc.com/"),
            validators: HttpValidators {
                etag: Some(format!("W/\"{:016x}\"", rng.next())),
                last_modified: Some("Sun, 01 Jun 2025 10:00:00 GMT".into()),
            },
            content_hash: Some(format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.next(),
                rng.next(),
                0,
                i
            )),
        })),
        geo,
        slug,
    }
}

/// Every 10th track gets a new name and phone (and so a new dashboard hash).
fn changed_10_percent(tracks: &[TrackUpsert]) -> Vec<TrackUpsert> {
    tracks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut t = t.clone();
            if i % 10 == 0 {
                t.catalogue.name.push_str(" II");
                if let MetadataUpdate::Fetched(meta) = &mut t.metadata {
                    meta.profile.phone = Some("+1 800-555-0199".into());
                    meta.content_hash = Some(format!("{:0>64}", format!("changed{i}")));
                }
            }
            t
        })
        .collect()
}

struct Step {
    name: &'static str,
    seen_at: DateTime<Utc>,
    tracks: Vec<TrackUpsert>,
}

fn steps(n: usize) -> Vec<Step> {
    let mut rng = Rng(42);
    let fresh: Vec<TrackUpsert> = (0..n).map(|i| track(i, &mut rng)).collect();
    let changed = changed_10_percent(&fresh);
    vec![
        Step {
            name: "fresh insert",
            seen_at: at(0),
            tracks: fresh.clone(),
        },
        Step {
            name: "re-apply unchanged",
            seen_at: at(1),
            tracks: fresh,
        },
        Step {
            name: "10% changed",
            seen_at: at(2),
            tracks: changed,
        },
    ]
}

// ---------------------------------------------------------------------------
// Databases.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Postgres => "Postgres",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// A fresh, migrated database; removed on `drop_db`.
enum Db {
    Postgres {
        admin: PgPool,
        name: String,
        url: String,
        side: PgPool,
    },
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
        side: SqlitePool,
    },
}

impl Db {
    async fn create(backend: Backend, admin_url: &str) -> Db {
        match backend {
            Backend::Postgres => {
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("Postgres unreachable ({e}); set MRE_TEST_DATABASE_URL or use --backend sqlite"));
                let name = format!("bench_ingest_store_{}", Uuid::now_v7().simple());
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create database");
                let url = url_with_path(admin_url, &name);
                ingest_store::migrate(&url).await.expect("migrate");
                let side = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await
                    .expect("side connection");
                Db::Postgres {
                    admin,
                    name,
                    url,
                    side,
                }
            }
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                ingest_store::migrate(&url).await.expect("migrate");
                let side = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        SqliteConnectOptions::from_str(&url)
                            .expect("url")
                            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                            .busy_timeout(Duration::from_secs(30)),
                    )
                    .await
                    .expect("side connection");
                Db::Sqlite {
                    _dir: dir,
                    url,
                    side,
                }
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Db::Postgres { url, .. } | Db::Sqlite { url, .. } => url,
        }
    }

    /// Postgres: a transaction id; rows whose `xmin` is newer were written
    /// (as a new row version) after this call.
    async fn xid_mark(&self) -> Option<i64> {
        match self {
            Db::Postgres { side, .. } => Some(
                sqlx::query_scalar("SELECT (pg_current_xact_id()::text::bigint % 4294967296)")
                    .fetch_one(side)
                    .await
                    .expect("xid"),
            ),
            Db::Sqlite { .. } => None,
        }
    }

    /// Postgres: rows of `tracks` and of `track_seen` (the seen marks kept
    /// beside an unchanged track's row) written after `mark`.
    async fn row_versions_since(&self, mark: Option<i64>) -> Option<(i64, i64)> {
        match (self, mark) {
            (Db::Postgres { side, .. }, Some(mark)) => Some(
                sqlx::query_as(
                    "SELECT (SELECT count(*) FROM tracks WHERE xmin::text::bigint > $1),
                            (SELECT count(*) FROM track_seen WHERE xmin::text::bigint > $1)",
                )
                .bind(mark)
                .fetch_one(side)
                .await
                .expect("xmin count"),
            ),
            _ => None,
        }
    }

    async fn drop_db(self) {
        if let Db::Postgres {
            admin, name, side, ..
        } = self
        {
            side.close().await;
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .expect("drop database");
            admin.close().await;
        }
    }
}

fn url_with_path(admin_url: &str, db: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("admin URL");
    url.set_path(db);
    url.to_string()
}

// ---------------------------------------------------------------------------
// The naive baseline: SELECT by key, then INSERT or UPDATE, row by row.

/// Columns the naive statements write, in bind order (after source and slug).
const NAIVE_COLUMNS: &[&str] = &[
    "name",
    "track_url",
    "events_url",
    "last_updated_text",
    "last_updated_at",
    "is_live",
    "live_video",
    "status",
    "featured",
    "current_event",
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
    "map_query",
    "total_laps",
    "total_practice_sessions",
    "total_races",
    "total_entries",
    "total_events",
    "metadata_source_url",
    "content_hash",
    "latitude",
    "longitude",
    "geocode_provider",
    "geocode_query",
    "geocoded_at",
    "metadata_fetched_at",
    "etag",
    "last_modified",
    "last_seen_at",
    "updated_at",
];

struct NaiveSql {
    select: String,
    insert: String,
    update: String,
}

fn naive_sql(placeholder: fn(usize) -> String) -> NaiveSql {
    let n = NAIVE_COLUMNS.len();
    // Insert: source, slug, the columns, then first_seen_at, created_at.
    let insert_cols = format!(
        "source, source_track_slug, {}, first_seen_at, created_at",
        NAIVE_COLUMNS.join(", ")
    );
    let values: Vec<String> = (1..=n + 4).map(placeholder).collect();
    let set: Vec<String> = NAIVE_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = {}", placeholder(i + 3)))
        .collect();
    NaiveSql {
        select: format!(
            "SELECT id FROM tracks WHERE source = {} AND source_track_slug = {}",
            placeholder(1),
            placeholder(2)
        ),
        insert: format!(
            "INSERT INTO tracks ({insert_cols}) VALUES ({})",
            values.join(", ")
        ),
        // Bound like the insert; the key sits in $1/$2.
        update: format!(
            "UPDATE tracks SET {} WHERE source = {} AND source_track_slug = {}",
            set.join(", "),
            placeholder(1),
            placeholder(2)
        ),
    }
}

/// Bind source, slug and every naive column of `$t` to `$q` (the update's
/// binds; the insert adds first_seen_at and created_at); `$ts` turns a time
/// into the backend's bind value.
macro_rules! bind_track {
    ($q:expr, $t:expr, $seen:expr, $ts:expr) => {{
        let t: &TrackUpsert = $t;
        let c = &t.catalogue;
        let MetadataUpdate::Fetched(m) = &t.metadata else {
            unreachable!("bench data is fetched")
        };
        let p = &m.profile;
        let g = match &t.geo {
            GeoUpdate::Set(g) => Some(g),
            _ => None,
        };
        $q.bind(SOURCE)
            .bind(t.slug.as_str())
            .bind(c.name.as_str())
            .bind(c.track_url.as_str())
            .bind(c.events_url.as_str())
            .bind(c.last_updated_text.as_deref())
            .bind(c.last_updated_at.map($ts))
            .bind(c.is_live)
            .bind(c.live_video)
            .bind(c.status.as_str())
            .bind(c.featured)
            .bind(c.current_event.as_deref())
            .bind(p.street.as_deref())
            .bind(p.city.as_deref())
            .bind(p.state.as_deref())
            .bind(p.postal_code.as_deref())
            .bind(p.country.as_deref())
            .bind(p.country_code.as_deref())
            .bind(p.phone.as_deref())
            .bind(p.website.as_deref())
            .bind(p.email.as_deref())
            .bind(p.description.as_deref())
            .bind(p.logo_url.as_deref())
            .bind(p.facebook_url.as_deref())
            .bind(p.map_query.as_deref())
            .bind(p.total_laps)
            .bind(p.total_practice_sessions)
            .bind(p.total_races)
            .bind(p.total_entries)
            .bind(p.total_events)
            .bind(m.source_url.as_str())
            .bind(m.content_hash.as_deref())
            .bind(g.map(|g| g.latitude))
            .bind(g.map(|g| g.longitude))
            .bind(g.map(|g| g.provider.as_str()))
            .bind(g.map(|g| g.query.as_str()))
            .bind(g.map(|g| $ts(g.geocoded_at)))
            .bind($ts(m.fetched_at))
            .bind(m.validators.etag.as_deref())
            .bind(m.validators.last_modified.as_deref())
            .bind($ts($seen))
            .bind($ts($seen))
    }};
}

fn sqlite_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn pg_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// Run one naive step (on `rows`) in one transaction; returns rows written.
async fn naive_step(db: &Db, seen_at: DateTime<Utc>, rows: &[TrackUpsert]) -> u64 {
    let mut written = 0;
    match db {
        Db::Postgres { side, .. } => {
            let sql = naive_sql(|i| format!("${i}"));
            let mut tx = side.begin().await.expect("begin");
            for t in rows {
                let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql.select.as_str()))
                    .bind(SOURCE)
                    .bind(t.slug.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .expect("select");
                let result = if found.is_some() {
                    let q = sqlx::query(AssertSqlSafe(sql.update.as_str()));
                    bind_track!(q, t, seen_at, pg_time).execute(&mut *tx).await
                } else {
                    let q = sqlx::query(AssertSqlSafe(sql.insert.as_str()));
                    bind_track!(q, t, seen_at, pg_time)
                        .bind(seen_at)
                        .bind(seen_at)
                        .execute(&mut *tx)
                        .await
                };
                written += result.expect("naive write").rows_affected();
            }
            tx.commit().await.expect("commit");
        }
        Db::Sqlite { side, .. } => {
            let sql = naive_sql(|i| format!("?{i}"));
            let mut tx = side.begin_with("BEGIN IMMEDIATE").await.expect("begin");
            for t in rows {
                let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql.select.as_str()))
                    .bind(SOURCE)
                    .bind(t.slug.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .expect("select");
                let result = if found.is_some() {
                    let q = sqlx::query(AssertSqlSafe(sql.update.as_str()));
                    bind_track!(q, t, seen_at, sqlite_time)
                        .execute(&mut *tx)
                        .await
                } else {
                    let q = sqlx::query(AssertSqlSafe(sql.insert.as_str()));
                    bind_track!(q, t, seen_at, sqlite_time)
                        .bind(sqlite_time(seen_at))
                        .bind(sqlite_time(seen_at))
                        .execute(&mut *tx)
                        .await
                };
                written += result.expect("naive write").rows_affected();
            }
            tx.commit().await.expect("commit");
        }
    }
    written
}

// ---------------------------------------------------------------------------
// Runs.

/// One timed step.
#[derive(Debug, Clone)]
struct Measure {
    step: &'static str,
    secs: f64,
    /// Rows the upsert (or the naive statements) wrote.
    written: u64,
    /// Postgres: rows with a new row version after the step, in `tracks`
    /// and in `track_seen` (upsert and mark-seen together).
    versions: Option<(i64, i64)>,
}

/// The three steps through `apply_batch` in batches of `batch_size`.
async fn run_repository(
    backend: Backend,
    admin_url: &str,
    steps: &[Step],
    batch_size: usize,
) -> Vec<Measure> {
    let db = Db::create(backend, admin_url).await;
    let repo: Arc<dyn TrackRepository> = ingest_store::connect(db.url()).await.expect("connect");
    let mut out = Vec::new();
    for step in steps {
        // The batches are built before the clock starts: copying the tracks
        // into them is the bench's work, not the repository's (the naive
        // baseline binds straight from the step's tracks).
        let run_id = Uuid::now_v7();
        let batches: Vec<UpsertBatch> = step
            .tracks
            .chunks(batch_size)
            .map(|chunk| UpsertBatch {
                run_id,
                source: SOURCE.into(),
                seen_at: step.seen_at,
                tracks: chunk.to_vec(),
                changes: Vec::new(),
                checkpoint: None,
            })
            .collect();
        let mark = db.xid_mark().await;
        let started = Instant::now();
        let mut written = 0;
        for batch in &batches {
            let outcome = repo.apply_batch(batch).await.expect("apply_batch");
            written += outcome.inserted + outcome.updated;
        }
        let secs = started.elapsed().as_secs_f64();
        out.push(Measure {
            step: step.name,
            secs,
            written,
            versions: db.row_versions_since(mark).await,
        });
    }
    drop(repo);
    db.drop_db().await;
    out
}

/// The floor on Postgres: the fresh step's rows, already encoded, sent by
/// one bare `COPY` into a fresh database. The bytes are the repository's own
/// rows copied out of a first database (every column but the generated
/// `id`), so the load is the same rows, indexes and constraints, minus the
/// repository's lookup, transaction and encoding.
async fn run_copy_floor(admin_url: &str, fresh: &Step) -> Measure {
    let source = Db::create(Backend::Postgres, admin_url).await;
    let repo: Arc<dyn TrackRepository> =
        ingest_store::connect(source.url()).await.expect("connect");
    repo.apply_batch(&UpsertBatch {
        run_id: Uuid::now_v7(),
        source: SOURCE.into(),
        seen_at: fresh.seen_at,
        tracks: fresh.tracks.clone(),
        changes: Vec::new(),
        checkpoint: None,
    })
    .await
    .expect("apply_batch");
    drop(repo);
    let Db::Postgres { side, .. } = &source else {
        unreachable!("created on Postgres")
    };
    let columns: String = sqlx::query_scalar(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
         WHERE attrelid = 'tracks'::regclass AND attnum > 0 AND NOT attisdropped
           AND attname <> 'id'",
    )
    .fetch_one(side)
    .await
    .expect("tracks columns");
    let chunks: Vec<_> = side
        .copy_out_raw(&format!(
            "COPY (SELECT {columns} FROM tracks ORDER BY source_track_slug) TO STDOUT (FORMAT binary)"
        ))
        .await
        .expect("copy out")
        .try_collect()
        .await
        .expect("copy out rows");
    let bytes: Vec<u8> = chunks.concat();
    source.drop_db().await;

    let db = Db::create(Backend::Postgres, admin_url).await;
    let Db::Postgres { side, .. } = &db else {
        unreachable!("created on Postgres")
    };
    let mark = db.xid_mark().await;
    let started = Instant::now();
    let mut copy = side
        .copy_in_raw(&format!(
            "COPY tracks ({columns}) FROM STDIN (FORMAT binary)"
        ))
        .await
        .expect("copy in");
    for chunk in bytes.chunks(1 << 20) {
        copy.send(chunk).await.expect("copy send");
    }
    let written = copy.finish().await.expect("copy finish");
    let secs = started.elapsed().as_secs_f64();
    let measure = Measure {
        step: fresh.name,
        secs,
        written,
        versions: db.row_versions_since(mark).await,
    };
    db.drop_db().await;
    measure
}

/// The three steps through the naive baseline.
async fn run_naive(backend: Backend, admin_url: &str, steps: &[Step]) -> Vec<Measure> {
    let db = Db::create(backend, admin_url).await;
    let mut out = Vec::new();
    for step in steps {
        let mark = db.xid_mark().await;
        let started = Instant::now();
        let written = naive_step(&db, step.seen_at, &step.tracks).await;
        let secs = started.elapsed().as_secs_f64();
        out.push(Measure {
            step: step.name,
            secs,
            written,
            versions: db.row_versions_since(mark).await,
        });
    }
    db.drop_db().await;
    out
}

/// Median of several runs, step by step.
fn median(runs: Vec<Vec<Measure>>) -> Vec<Measure> {
    let steps = runs[0].len();
    (0..steps)
        .map(|i| {
            let mut at_step: Vec<Measure> = runs.iter().map(|r| r[i].clone()).collect();
            at_step.sort_by(|a, b| a.secs.total_cmp(&b.secs));
            at_step[at_step.len() / 2].clone()
        })
        .collect()
}

struct Config {
    backends: Vec<Backend>,
    quick: bool,
    repeats_large: usize,
}

fn parse_args() -> Config {
    let mut config = Config {
        backends: vec![Backend::Postgres, Backend::Sqlite],
        quick: false,
        repeats_large: REPEATS_LARGE,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => config.quick = true,
            "--repeats" => {
                config.repeats_large = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .expect("--repeats N (N > 0)");
            }
            "--backend" => match args.next().as_deref() {
                Some("postgres") => config.backends = vec![Backend::Postgres],
                Some("sqlite") => config.backends = vec![Backend::Sqlite],
                other => panic!("--backend postgres|sqlite, got {other:?}"),
            },
            // cargo bench passes --bench; ignore it and other harness flags.
            _ => {}
        }
    }
    config
}

fn fmt_rate(rows: usize, secs: f64) -> String {
    let rate = rows as f64 / secs;
    if rate >= 1000.0 {
        format!("{:.0}k/s", rate / 1000.0)
    } else {
        format!("{rate:.0}/s")
    }
}

fn print_rows(label: &str, rows: usize, naive: &[Measure], measures: &[Measure]) {
    for (m, base) in measures.iter().zip(naive) {
        let versions = m
            .versions
            .map_or_else(|| "—".to_owned(), |(rows, seen)| format!("{rows} + {seen}"));
        let ratio = base.secs / m.secs;
        let ratio = if ratio < 10.0 {
            format!("{ratio:.1}×")
        } else {
            format!("{ratio:.0}×")
        };
        println!(
            "| {label} | {} | {:.3} s | {} | {} | {versions} | {ratio} |",
            m.step,
            m.secs,
            fmt_rate(rows, m.secs),
            m.written,
        );
    }
}

#[tokio::main]
async fn main() {
    let config = parse_args();
    let admin_url =
        std::env::var("MRE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let sizes: &[usize] = if config.quick {
        &[1090]
    } else {
        &[1090, 100_000]
    };

    for &backend in &config.backends {
        for &n in sizes {
            let steps = steps(n);
            println!(
                "\n### {} — {n} tracks\n\n| method | step | time | rows/s | rows written by the upsert | row versions (PG xmin): tracks + track_seen | vs naive |\n|---|---|---|---|---|---|---|",
                backend.label()
            );
            if n < 10_000 {
                let mut naive_runs = Vec::new();
                let mut repo_runs = Vec::new();
                for _ in 0..REPEATS_SMALL {
                    naive_runs.push(run_naive(backend, &admin_url, &steps).await);
                    repo_runs.push(run_repository(backend, &admin_url, &steps, n).await);
                }
                let naive = median(naive_runs);
                print_rows("naive (per row)", n, &naive, &naive);
                print_rows(
                    &format!("apply_batch, 1 batch of {n}"),
                    n,
                    &naive,
                    &median(repo_runs),
                );
            } else {
                let repeats = config.repeats_large;
                let mut naive_runs = Vec::new();
                for _ in 0..repeats {
                    naive_runs.push(run_naive(backend, &admin_url, &steps).await);
                }
                let naive = median(naive_runs);
                print_rows("naive (per row)", n, &naive, &naive);
                if backend == Backend::Postgres {
                    let mut floor_runs = Vec::new();
                    for _ in 0..repeats {
                        floor_runs.push(vec![run_copy_floor(&admin_url, &steps[0]).await]);
                    }
                    print_rows(
                        "floor: one bare COPY of the encoded rows",
                        n,
                        &naive,
                        &median(floor_runs),
                    );
                }
                for batch in [1_000, 10_000, n] {
                    let mut runs = Vec::new();
                    for _ in 0..repeats {
                        runs.push(run_repository(backend, &admin_url, &steps, batch).await);
                    }
                    let measures = median(runs);
                    let label = if batch == n {
                        format!("apply_batch, 1 batch of {n}")
                    } else {
                        format!("apply_batch, batches of {batch}")
                    };
                    print_rows(&label, n, &naive, &measures);
                }
            }
        }
    }
}
