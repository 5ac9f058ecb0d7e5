//! Mapping driver errors to the core's [`RepositoryError`], sorted by what
//! the caller can do: `Unavailable` (connection, pool, timeout, lock
//! contention: retry later), `Rejected` (constraint or invalid value: the
//! same input fails again), `Corrupt` (stored data not readable), `Migration`.
//!
//! Every message starts with the operation that failed, so a log line says
//! which statement of a batch was refused.
//!
//! The job queue's errors ([`JobError`]) have two of these classes:
//! `Unavailable` (the same as above) and `Store` (everything else).

use ingest_core::{JobError, RepositoryError};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

/// The backend whose error codes apply.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// Map a driver error met while doing `context`.
pub(crate) fn map(dialect: Dialect, context: &str, err: sqlx::Error) -> RepositoryError {
    let message = match &err {
        sqlx::Error::Database(db) => format!("{context}: {}", describe(db.as_ref())),
        other => format!("{context}: {other}"),
    };
    match classify(dialect, &err) {
        Class::Unavailable => RepositoryError::Unavailable(message),
        Class::Rejected => RepositoryError::Rejected(message),
        Class::Corrupt => RepositoryError::Corrupt(message),
        Class::Migration => RepositoryError::Migration(message),
    }
}

/// A closure for `map_err` that maps with this dialect and context.
pub(crate) fn ctx(dialect: Dialect, context: &str) -> impl FnOnce(sqlx::Error) -> RepositoryError {
    move |err| map(dialect, context, err)
}

/// Map a driver error met by the job queue while doing `context`:
/// `Unavailable` when the database could not be reached or was busy (retry
/// later), `Store` otherwise.
pub(crate) fn map_job(dialect: Dialect, context: &str, err: sqlx::Error) -> JobError {
    job_from_repo(map(dialect, context, err))
}

/// A closure for `map_err` that maps a job-queue error with this dialect
/// and context.
pub(crate) fn job_ctx(dialect: Dialect, context: &str) -> impl FnOnce(sqlx::Error) -> JobError {
    move |err| map_job(dialect, context, err)
}

/// A repository error met by the job queue (reading a row back).
pub(crate) fn job_from_repo(err: RepositoryError) -> JobError {
    match err {
        RepositoryError::Unavailable(message) => JobError::Unavailable(message),
        other => JobError::Store(other.to_string()),
    }
}

/// Whether the driver error is a unique-key violation (on any index).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Map a migration failure: `Unavailable` when the database could not be
/// reached or was busy (retry later), `Migration` otherwise.
pub(crate) fn map_migrate(dialect: Dialect, err: sqlx::migrate::MigrateError) -> RepositoryError {
    use sqlx::migrate::MigrateError as M;
    let transient = match &err {
        M::Execute(cause) | M::ExecuteMigration(cause, _) => {
            classify(dialect, cause) == Class::Unavailable
        }
        _ => false,
    };
    if transient {
        RepositoryError::Unavailable(format!("migrate: {err}"))
    } else {
        RepositoryError::Migration(format!("migrate: {err}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Unavailable,
    Rejected,
    Corrupt,
    Migration,
}

fn classify(dialect: Dialect, err: &sqlx::Error) -> Class {
    use sqlx::Error as E;
    match err {
        E::Database(db) => classify_database(dialect, db.as_ref()),
        E::Io(_)
        | E::Tls(_)
        | E::Protocol(_)
        | E::PoolTimedOut
        | E::PoolClosed
        | E::WorkerCrashed
        | E::BeginFailed
        // A URL or option the driver cannot use: the database cannot be
        // reached with it.
        | E::Configuration(_) => Class::Unavailable,
        E::RowNotFound
        | E::TypeNotFound { .. }
        | E::ColumnIndexOutOfBounds { .. }
        | E::ColumnNotFound(_)
        | E::ColumnDecode { .. }
        | E::Decode(_) => Class::Corrupt,
        E::Migrate(_) => Class::Migration,
        // Encode (a value the column type cannot hold), InvalidArgument and
        // anything newer: the same call would fail again.
        _ => Class::Rejected,
    }
}

fn classify_database(dialect: Dialect, db: &dyn DatabaseError) -> Class {
    match db.kind() {
        ErrorKind::UniqueViolation
        | ErrorKind::ForeignKeyViolation
        | ErrorKind::NotNullViolation
        | ErrorKind::CheckViolation
        | ErrorKind::ExclusionViolation => Class::Rejected,
        _ => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            match dialect {
                Dialect::Postgres => classify_pg(code),
                Dialect::Sqlite => classify_sqlite(code),
            }
        }
    }
}

/// The message plus whatever the driver knows about where it happened.
fn describe(db: &dyn DatabaseError) -> String {
    let mut out = db.message().to_owned();
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        out.push_str(&format!(" (SQLSTATE {}", pg.code()));
        if let Some(constraint) = pg.constraint() {
            out.push_str(&format!(", constraint {constraint}"));
        }
        if let Some(detail) = pg.detail() {
            out.push_str(&format!(", {detail}"));
        }
        out.push(')');
    } else if let Some(sqlite) = db.try_downcast_ref::<SqliteError>()
        && let Some(code) = sqlite.code()
    {
        out.push_str(&format!(" (SQLite code {code})"));
    }
    out
}

/// Postgres SQLSTATE classes (appendix A of the manual).
fn classify_pg(code: &str) -> Class {
    match code {
        // invalid_catalog_name: the database named in the URL does not exist
        // (yet); lock_not_available.
        "3D000" | "55P03" => Class::Unavailable,
        // data_corrupted, index_corrupted
        "XX001" | "XX002" => Class::Corrupt,
        _ => match code.get(..2) {
            // connection exception, invalid authorization, transaction
            // rollback (serialization failure, deadlock), insufficient
            // resources, operator intervention (shutdown, cancel), system
            // error (I/O)
            Some("08" | "28" | "40" | "53" | "57" | "58") => Class::Unavailable,
            _ => Class::Rejected,
        },
    }
}

/// SQLite result codes: sqlx reports the extended code, whose low byte is
/// the primary one.
fn classify_sqlite(code: &str) -> Class {
    let Ok(extended) = code.parse::<i32>() else {
        return Class::Rejected;
    };
    match extended & 0xff {
        // BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL
        5 | 6 | 7 | 10 | 13 | 14 | 15 => Class::Unavailable,
        // CORRUPT, NOTADB
        11 | 26 => Class::Corrupt,
        _ => Class::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_codes_are_sorted_by_what_a_caller_can_do() {
        assert_eq!(classify_pg("08006"), Class::Unavailable);
        assert_eq!(classify_pg("57P01"), Class::Unavailable);
        assert_eq!(classify_pg("40001"), Class::Unavailable);
        assert_eq!(classify_pg("40P01"), Class::Unavailable);
        assert_eq!(classify_pg("53300"), Class::Unavailable);
        assert_eq!(classify_pg("3D000"), Class::Unavailable);
        assert_eq!(classify_pg("XX001"), Class::Corrupt);
        assert_eq!(classify_pg("22003"), Class::Rejected);
        assert_eq!(classify_pg("42601"), Class::Rejected);
        assert_eq!(classify_pg(""), Class::Rejected);
    }

    #[test]
    fn sqlite_codes_use_the_primary_byte() {
        assert_eq!(classify_sqlite("5"), Class::Unavailable);
        // SQLITE_BUSY_SNAPSHOT = 5 | (2 << 8)
        assert_eq!(classify_sqlite("517"), Class::Unavailable);
        // SQLITE_IOERR_WRITE = 10 | (3 << 8)
        assert_eq!(classify_sqlite("778"), Class::Unavailable);
        assert_eq!(classify_sqlite("11"), Class::Corrupt);
        assert_eq!(classify_sqlite("26"), Class::Corrupt);
        // SQLITE_ERROR, SQLITE_TOOBIG, SQLITE_MISMATCH
        assert_eq!(classify_sqlite("1"), Class::Rejected);
        assert_eq!(classify_sqlite("18"), Class::Rejected);
        assert_eq!(classify_sqlite("20"), Class::Rejected);
    }

    #[test]
    fn driver_errors_map_to_the_port_variants() {
        let unavailable = map(Dialect::Postgres, "op", sqlx::Error::PoolTimedOut);
        assert!(
            matches!(unavailable, RepositoryError::Unavailable(ref m) if m.starts_with("op: "))
        );
        assert!(unavailable.is_transient());

        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(map(Dialect::Sqlite, "op", io).is_transient());

        let corrupt = map(
            Dialect::Sqlite,
            "op",
            sqlx::Error::ColumnDecode {
                index: "\"updated_at\"".into(),
                source: "bad".into(),
            },
        );
        assert!(matches!(corrupt, RepositoryError::Corrupt(_)));

        let rejected = map(
            Dialect::Postgres,
            "op",
            sqlx::Error::InvalidArgument("x".into()),
        );
        assert!(matches!(rejected, RepositoryError::Rejected(_)));
        assert!(!rejected.is_transient());
    }

    #[test]
    fn job_queue_errors_are_unavailable_or_store() {
        assert!(matches!(
            map_job(Dialect::Postgres, "claim", sqlx::Error::PoolClosed),
            JobError::Unavailable(ref m) if m.starts_with("claim: ")
        ));
        assert!(matches!(
            map_job(Dialect::Sqlite, "claim", sqlx::Error::InvalidArgument("x".into())),
            JobError::Store(ref m) if m.contains("claim: x")
        ));
        assert!(!is_unique_violation(&sqlx::Error::PoolClosed));
    }
}
