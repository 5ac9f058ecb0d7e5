//! How idle workers are woken on PostgreSQL: `LISTEN mre_sync_jobs` on a
//! connection of the queue's own, opened on the first wait and kept; every
//! write that queues a job sends `pg_notify` after its commit. A listener
//! that just (re)connected returns at once, since it cannot know what was
//! queued before it listened; on a listener error the wait sleeps out its
//! timeout and drops the listener, so the next wait reconnects. Concurrent
//! waiters of one queue share the listener.

use std::time::Duration;

use async_trait::async_trait;
use ingest_core::JobId;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::{Mutex, Notify};

use crate::jobs::queue::Wakeups;

/// The LISTEN/NOTIFY channel that wakes idle workers.
const CHANNEL: &str = "mre_sync_jobs";

/// A queue's listener, and the waiters it wakes.
pub(crate) struct Listener {
    pool: PgPool,
    /// The LISTEN connection, kept between waits; `None` until the first
    /// wait and after a listener error.
    listener: Mutex<Option<PgListener>>,
    /// Wakes the waiters that are not holding the listener when the one
    /// that is receives a notification.
    woken: Notify,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Wake-ups over the queue's pool (notifications are sent through it;
    /// the listener takes a connection of its own).
    pub(crate) fn new(pool: PgPool) -> Self {
        Listener {
            pool,
            listener: Mutex::new(None),
            woken: Notify::new(),
        }
    }

    /// A new listener on [`CHANNEL`], on a connection of its own (a pool of
    /// one, so the listener can reconnect without taking one of the main
    /// pool's connections).
    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let options = (*self.pool.connect_options())
            .clone()
            .application_name("ingest-store-listener");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(self.pool.options().get_acquire_timeout())
            .connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// Return when a notification arrives (to this waiter or to the one
    /// holding the listener). A listener just (re)connected returns at once:
    /// a job queued before it listened would otherwise wait for the next
    /// poll. An error drops the listener, so the next wait reconnects.
    async fn wait_for_notification(&self) -> Result<(), sqlx::Error> {
        let woken = self.woken.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let mut guard = tokio::select! {
            () = &mut woken => return Ok(()),
            guard = self.listener.lock() => guard,
        };
        let Some(listener) = guard.as_mut() else {
            *guard = Some(self.listen().await?);
            self.woken.notify_waiters();
            return Ok(());
        };
        match listener.recv().await {
            Ok(_) => {
                self.woken.notify_waiters();
                Ok(())
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Wakeups for Listener {
    /// NOTIFY, after the write committed. A lost notification only delays a
    /// worker until its next poll, so a failure is logged, not returned.
    async fn wake(&self, job_id: JobId) {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(job_id.to_string())
            .execute(&self.pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(job_id = %job_id, error = %e, "could not notify idle workers");
        }
    }

    async fn wait(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        match tokio::time::timeout_at(deadline, self.wait_for_notification()).await {
            // Woken, or the time is up.
            Ok(Ok(())) | Err(_) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "job listener failed; polling until it reconnects");
                tokio::time::sleep_until(deadline).await;
            }
        }
    }
}
