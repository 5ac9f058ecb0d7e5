//! The pacer decides when a request may start: one in-flight cap across all
//! hosts, a minimum gap between request starts site-wide, a per-host gap
//! (robots.txt `Crawl-delay`), and a site-wide "not before" instant set when
//! a server says `Retry-After` (or answers 429), so one throttling answer
//! slows every request, not only the one that got it.
//!
//! A request first waits out its own host's gap alone (so a slow host holds
//! up nobody else), then queues, in arrival order, for its turn; the request
//! whose turn it is waits for the site-wide gap and pause, then takes an
//! in-flight slot and claims its start atomically. In-flight slots are thus
//! taken only at the moment of starting and held only while a request is on
//! the wire, never while it sleeps; and because one request at a time waits
//! for the site-wide pace, waiters do not stampede when it opens.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::kill_switch::KillSwitch;
use crate::error::LiveRcError;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Pacer {
    in_flight: Semaphore,
    /// Held by the one request currently waiting for the site-wide pace.
    turn: tokio::sync::Mutex<()>,
    min_spacing: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Start of the latest request, any host.
    last_start: Option<Instant>,
    /// Nobody starts before this (Retry-After, 429).
    not_before: Option<Instant>,
    /// Start of the latest request per origin.
    host_last_start: HashMap<String, Instant>,
}

impl State {
    /// When the site-wide gap and pause allow the next start.
    fn site_ready(&self, min_spacing: Duration) -> Option<Instant> {
        self.last_start
            .map(|t| t + min_spacing)
            .max(self.not_before)
    }

    /// When `origin`'s own gap allows the next start to it.
    fn host_ready(&self, origin: &str, host_delay: Duration) -> Option<Instant> {
        self.host_last_start.get(origin).map(|t| *t + host_delay)
    }
}

/// Sleep until `at` (no-op when `None` or past), or fail as soon as the
/// kill switch turns off.
async fn sleep_until(at: Option<Instant>, kill_switch: &KillSwitch) -> Result<(), LiveRcError> {
    match at {
        Some(at) if at > Instant::now() => tokio::select! {
            () = tokio::time::sleep_until(at) => Ok(()),
            () = kill_switch.wait_disabled() => Err(LiveRcError::Disabled),
        },
        _ => Ok(()),
    }
}

impl Pacer {
    /// A pacer allowing `max_in_flight` concurrent requests (at least 1).
    pub(crate) fn new(max_in_flight: usize, min_spacing: Duration) -> Self {
        Self {
            in_flight: Semaphore::new(max_in_flight.max(1)),
            turn: tokio::sync::Mutex::new(()),
            min_spacing,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain data updated in single statements: a panic
        // elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait until a request to `origin` may start (given that host's crawl
    /// delay), take an in-flight slot and record the start. The slot is
    /// released when the returned permit is dropped. Fails with
    /// [`LiveRcError::Disabled`] as soon as the kill switch turns off.
    pub(crate) async fn start(
        &self,
        origin: &str,
        host_delay: Duration,
        kill_switch: &KillSwitch,
    ) -> Result<SemaphorePermit<'_>, LiveRcError> {
        loop {
            // 1. This host's own pace, waited without blocking anyone.
            let host_ready = self.state().host_ready(origin, host_delay);
            sleep_until(host_ready, kill_switch).await?;

            // 2. Our turn among the requests about to start (FIFO).
            let _turn = tokio::select! {
                turn = self.turn.lock() => turn,
                () = kill_switch.wait_disabled() => return Err(LiveRcError::Disabled),
            };
            loop {
                // 3. The site-wide pace and any Retry-After pause.
                let site_ready = self.state().site_ready(self.min_spacing);
                sleep_until(site_ready, kill_switch).await?;
                // 4. An in-flight slot.
                let permit = tokio::select! {
                    permit = self.in_flight.acquire() => permit.map_err(|_| {
                        LiveRcError::Invalid("the client's in-flight limiter was closed".to_owned())
                    })?,
                    () = kill_switch.wait_disabled() => return Err(LiveRcError::Disabled),
                };
                // 5. Claim the start, unless things moved while we waited
                //    for the slot.
                let mut state = self.state();
                let now = Instant::now();
                if state
                    .site_ready(self.min_spacing)
                    .is_some_and(|at| at > now)
                {
                    // A pause began meanwhile: keep our turn, drop the slot.
                    continue;
                }
                if state
                    .host_ready(origin, host_delay)
                    .is_some_and(|at| at > now)
                {
                    // Another request to this host started meanwhile: wait
                    // for the host again, letting others go first.
                    break;
                }
                state.last_start = Some(now);
                state.host_last_start.insert(origin.to_owned(), now);
                return Ok(permit);
            }
        }
    }

    /// Hold every request back for `wait` from now (site-wide). Returns how
    /// much later than before the site may now resume (zero when an existing
    /// pause already lasts longer), so overlapping pauses are counted once.
    pub(crate) fn pause_site(&self, wait: Duration) -> Duration {
        let now = Instant::now();
        let until = now + wait;
        let mut state = self.state();
        let current = state.not_before.filter(|t| *t > now).unwrap_or(now);
        if until > current {
            state.not_before = Some(until);
            until - current
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spacing_between_starts() {
        let pacer = Pacer::new(10, Duration::from_millis(100));
        let ks = KillSwitch::new(true);
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for i in 0..4 {
            let origin = format!("http://h{i}");
            drop(
                pacer
                    .start(&origin, Duration::ZERO, &ks)
                    .await
                    .expect("start"),
            );
            starts.push(Instant::now() - t0);
        }
        assert_eq!(
            starts,
            [0, 100, 200, 300].map(Duration::from_millis).to_vec()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn host_delay_applies_per_host_only() {
        let pacer = Pacer::new(10, Duration::ZERO);
        let ks = KillSwitch::new(true);
        let t0 = Instant::now();
        let delay = Duration::from_secs(1);
        drop(pacer.start("http://a", delay, &ks).await.expect("start"));
        drop(pacer.start("http://b", delay, &ks).await.expect("start"));
        assert_eq!(
            Instant::now() - t0,
            Duration::ZERO,
            "other host not delayed"
        );
        drop(pacer.start("http://a", delay, &ks).await.expect("start"));
        assert_eq!(Instant::now() - t0, delay);
    }

    #[tokio::test(start_paused = true)]
    async fn site_pause_holds_everyone_and_counts_overlap_once() {
        let pacer = Pacer::new(10, Duration::ZERO);
        let ks = KillSwitch::new(true);
        let t0 = Instant::now();
        assert_eq!(
            pacer.pause_site(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
        assert_eq!(pacer.pause_site(Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(
            pacer.pause_site(Duration::from_secs(3)),
            Duration::from_secs(1)
        );
        drop(
            pacer
                .start("http://x", Duration::ZERO, &ks)
                .await
                .expect("start"),
        );
        assert_eq!(Instant::now() - t0, Duration::from_secs(3));
    }

    #[tokio::test]
    async fn in_flight_cap_is_global() {
        let pacer = Arc::new(Pacer::new(3, Duration::ZERO));
        let ks = KillSwitch::new(true);
        let current = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let (pacer, ks, current, peak) = (
                Arc::clone(&pacer),
                ks.clone(),
                Arc::clone(&current),
                Arc::clone(&peak),
            );
            tasks.push(tokio::spawn(async move {
                let origin = format!("http://h{i}");
                let _permit = pacer
                    .start(&origin, Duration::ZERO, &ks)
                    .await
                    .expect("start");
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                current.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn kill_switch_interrupts_a_wait() {
        let pacer = Arc::new(Pacer::new(1, Duration::ZERO));
        let ks = KillSwitch::new(true);
        pacer.pause_site(Duration::from_secs(3600));
        let waiter = tokio::spawn({
            let (pacer, ks) = (Arc::clone(&pacer), ks.clone());
            async move { pacer.start("http://x", Duration::ZERO, &ks).await.map(drop) }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        ks.set_enabled(false);
        let result = waiter.await.expect("task");
        assert!(matches!(result, Err(LiveRcError::Disabled)));
    }
}
