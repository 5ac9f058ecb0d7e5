//! A fresh database per test (a dev-dependency only, never a dependency of
//! a library or binary), so tests never share rows: a Postgres database named
//! `{prefix}{uuid}`, created through an admin URL and dropped afterwards
//! `WITH (FORCE)`, also when the test panicked; or a SQLite file in a
//! temporary directory. The database is empty: the code under test migrates
//! it (the crate's `open`, `connect`, or a binary's), so the migrations run
//! every time.
//!
//! This crate reads no environment variables: a test passes the admin URL it
//! was given (by convention `MRE_TEST_DATABASE_URL`, see [`admin_url`]).
//! Databases a killed run left behind carry its prefix: `SELECT datname FROM
//! pg_database WHERE datname LIKE '{prefix}%'`.
//!
//! Not `sqlx::test`: it finds its server in `DATABASE_URL`, not the admin
//! URL these tests are given; it hands a test a pool, where these tests need
//! a URL (they open stores through the crate's factories, and start
//! `ingest-cli` processes with `--database-url`) and a directory to run in;
//! and it migrates with its own migrator, where the factory under test must.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor};
use uuid::Uuid;

/// The admin URL of a test server on this machine.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL a test was given (it reads `MRE_TEST_DATABASE_URL`), or
/// [`DEFAULT_ADMIN_URL`].
pub fn admin_url(given: Option<String>) -> String {
    given.unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// One test's database. A Postgres one is dropped with this value (or by
/// [`drop_db`](Self::drop_db)).
#[derive(Debug)]
pub struct TestDb {
    /// The URL to open it with.
    pub url: String,
    /// SQLite: the file's directory. Postgres: a scratch directory.
    dir: tempfile::TempDir,
    postgres: Option<Scratch>,
}

/// A Postgres database to drop: its name and the admin URL it was made
/// through.
#[derive(Debug)]
struct Scratch {
    admin_url: String,
    name: String,
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

impl TestDb {
    /// A SQLite file `tracks.db`, not yet created, in a fresh temporary
    /// directory.
    pub fn sqlite() -> Self {
        let dir = tempdir();
        let url = format!("sqlite://{}", dir.path().join("tracks.db").display());
        TestDb {
            url,
            dir,
            postgres: None,
        }
    }

    /// A fresh, empty Postgres database named `{prefix}{uuid}` on the server
    /// of `admin_url`. A refused connection is retried for 10 s (the server
    /// may be starting).
    ///
    /// # Panics
    ///
    /// When the server cannot be reached (saying how to start one: a
    /// Postgres test fails, it does not skip) or refuses `CREATE DATABASE`.
    /// Messages never show the URL's password.
    pub async fn postgres(admin_url: &str, prefix: &str) -> Self {
        let shown = redacted(admin_url);
        let options = PgConnectOptions::from_str(admin_url)
            .unwrap_or_else(|e| panic!("the test database URL {shown} is not a Postgres URL: {e}"));
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "Postgres is unreachable at {shown} ({e}). These tests need a server: start \
                     one (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main \
                     start`) or set MRE_TEST_DATABASE_URL to an admin URL."
                )
            });
        let name = format!("{prefix}{}", Uuid::now_v7().simple());
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        admin.close().await;
        let mut url = url::Url::parse(admin_url).expect("a Postgres URL parses as a URL");
        url.set_path(&name);
        TestDb {
            url: url.to_string(),
            dir: tempdir(),
            postgres: Some(Scratch {
                admin_url: admin_url.to_owned(),
                name,
            }),
        }
    }

    /// The test's temporary directory (SQLite: the file's).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The Postgres database's name.
    pub fn name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|p| p.name.as_str())
    }

    /// Drop the Postgres database now, on the caller's runtime (dropping the
    /// value does it on a thread of its own, since `Drop` cannot await).
    pub async fn drop_db(mut self) {
        if let Some(scratch) = self.postgres.take() {
            scratch.drop_database().await;
        }
    }
}

impl Scratch {
    /// `DROP DATABASE … WITH (FORCE)`, which ends the connections still
    /// open to it. A failure is reported, not raised: the prefix lets the
    /// database be found later.
    async fn drop_database(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = async {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(&self.admin_url)
                .await?;
            admin.execute(AssertSqlSafe(sql)).await?;
            admin.close().await;
            Ok::<_, sqlx::Error>(())
        };
        if let Err(e) = dropped.await {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(scratch) = self.postgres.take() else {
            return;
        };
        let dropping =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(scratch.drop_database()),
                    Err(e) => eprintln!("could not drop test database {}: {e}", scratch.name),
                }
            });
        let _ = dropping.join();
    }
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}
