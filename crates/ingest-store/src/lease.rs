//! The lease fence and the checkpoint's done set: what a job's lease holder
//! writes in the track repository's own transactions. The repository runs
//! [`fence`] first in a checkpointed batch or a leased `finish_run`, and
//! [`record_done`] last in a batch; the job queue fences its own writes with
//! the same condition ([`FENCE`]). Both depend on this module, neither on
//! the other.
//!
//! The fence checks the token, not the expiry time: a lease that expired
//! but was not yet taken over still writes. On Postgres the fenced job row
//! stays locked until the transaction commits, so no claim can take the job
//! over half-way through a batch; SQLite's write transaction holds the
//! whole database.

use ingest_core::{JobId, Lease, RepositoryError};

use crate::driver::{Arg, Conn, Driver, PerDialect};
use crate::error::ctx;

/// The fence of every write a lease holder makes: `$1` job id, `$2` token.
pub(crate) const FENCE: &str = "id = $1 AND lease_token = $2 AND status = 'running'";

struct Sql {
    /// The fence; `$3` (when not NULL) becomes the checkpoint state.
    fence: String,
    /// Add the slugs `$2` to job `$1`'s done set.
    record_done: String,
}

impl Sql {
    fn new<D: Driver>() -> Self {
        Sql {
            fence: format!(
                "UPDATE sync_jobs
SET checkpoint_state = COALESCE($3, checkpoint_state), updated_at = {now}
WHERE {FENCE}",
                now = D::NOW
            ),
            record_done: format!(
                "INSERT INTO sync_job_tracks (job_id, slug)
SELECT $1, s.value FROM {} WHERE true
ON CONFLICT DO NOTHING",
                D::list("$2", "s")
            ),
        }
    }
}

static SQL: PerDialect<Sql> = PerDialect::new();

fn sql<D: Driver>() -> &'static Sql {
    SQL.get::<D>(Sql::new::<D>)
}

/// The lease fence, first in the caller's transaction: the lease must still
/// hold (`LeaseLost` otherwise, and the caller rolls back). With a `state`,
/// it becomes the job's checkpoint state.
pub(crate) async fn fence<D: Driver>(
    tx: &mut Conn<D>,
    lease: &Lease,
    state: Option<&serde_json::Value>,
    context: &str,
) -> Result<(), RepositoryError> {
    let args = vec![
        Arg::Id(lease.job_id),
        Arg::Int(lease.token),
        Arg::Json(state),
    ];
    let fenced = D::execute(tx, &sql::<D>().fence, args)
        .await
        .map_err(ctx(D::DIALECT, context))?;
    if fenced == 0 {
        return Err(RepositoryError::LeaseLost(lease.job_id));
    }
    Ok(())
}

/// Add a stored batch's slugs to the job's done set, in the batch's
/// transaction: a batch that fails adds nothing.
pub(crate) async fn record_done<D: Driver>(
    tx: &mut Conn<D>,
    job_id: JobId,
    slugs: Vec<&str>,
) -> Result<(), RepositoryError> {
    if slugs.is_empty() {
        return Ok(());
    }
    let args = vec![Arg::Id(job_id), Arg::List(slugs)];
    D::execute(tx, &sql::<D>().record_done, args)
        .await
        .map_err(ctx(D::DIALECT, "apply_batch: record checkpoint"))?;
    Ok(())
}
