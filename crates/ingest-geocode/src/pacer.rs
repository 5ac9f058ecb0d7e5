//! The pacer: one shared schedule of request starts, so that every clone of
//! the geocoder together sends at most one request per `min_interval`.
//!
//! Callers queue for their turn on a fair (FIFO) async mutex; the holder of
//! the turn sleeps until the next allowed start, then claims it, which moves
//! the next allowed start `interval` later. A `Retry-After` from the server
//! pushes the next allowed start further out at any moment, even while a
//! caller is already sleeping towards an earlier one: sleepers re-check the
//! schedule when they wake.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// The shared schedule of request starts.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// The right to send next; FIFO, so concurrent callers queue in order.
    turn: tokio::sync::Mutex<()>,
    /// The earliest instant the next request may start.
    next_start: Mutex<Instant>,
    /// The least time between two starts.
    interval: Duration,
}

/// The turn to send the next request: held by one caller at a time.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    pacer: &'a Pacer,
    _queue: tokio::sync::MutexGuard<'a, ()>,
}

impl Pacer {
    /// A pacer whose first request may start at once.
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            turn: tokio::sync::Mutex::new(()),
            next_start: Mutex::new(Instant::now()),
            interval,
        }
    }

    /// Wait for this caller's turn and until the next allowed start. The
    /// start is not yet claimed: dropping the [`Turn`] without
    /// [`Turn::start`] leaves the slot to the next caller.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        let queue = self.turn.lock().await;
        while let Some(at) = self.not_before() {
            sleep_until(at).await;
        }
        Turn {
            pacer: self,
            _queue: queue,
        }
    }

    /// Push the next allowed start out to `until` (never pulls it in).
    pub(crate) fn defer_until(&self, until: Instant) {
        let mut next = self.next();
        if until > *next {
            *next = until;
        }
    }

    /// When the next request may start, if that is still in the future.
    fn not_before(&self) -> Option<Instant> {
        let next = *self.next();
        (next > Instant::now()).then_some(next)
    }

    fn next(&self) -> MutexGuard<'_, Instant> {
        // The guarded value is a plain instant, valid whatever a panicking
        // holder was doing.
        self.next_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Turn<'_> {
    /// Claim the slot: the caller sends its request right after this returns.
    /// Waits again if a `Retry-After` arrived since the turn was granted.
    pub(crate) async fn start(self) {
        loop {
            let wait = {
                let mut next = self.pacer.next();
                let now = Instant::now();
                if *next <= now {
                    *next = now + self.pacer.interval;
                    None
                } else {
                    Some(*next)
                }
            };
            match wait {
                None => return,
                Some(at) => sleep_until(at).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const INTERVAL: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_by_the_interval() {
        let pacer = Pacer::new(INTERVAL);
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..3 {
            pacer.turn().await.start().await;
            starts.push(Instant::now() - t0);
        }
        assert_eq!(
            starts,
            [Duration::ZERO, INTERVAL, INTERVAL * 2],
            "the first start is immediate, then one per interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unclaimed_turn_leaves_the_slot_free() {
        let pacer = Pacer::new(INTERVAL);
        let t0 = Instant::now();
        drop(pacer.turn().await);
        pacer.turn().await.start().await;
        assert_eq!(Instant::now() - t0, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pushes_the_schedule_even_for_a_sleeper() {
        let pacer = Arc::new(Pacer::new(INTERVAL));
        let t0 = Instant::now();
        pacer.turn().await.start().await;
        let sleeper = {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move {
                pacer.turn().await.start().await;
                Instant::now()
            })
        };
        // The sleeper is waiting for t0 + 1 s; the server now asks for 5 s.
        tokio::time::sleep(Duration::from_millis(100)).await;
        pacer.defer_until(t0 + Duration::from_secs(5));
        let started = sleeper.await.expect("task");
        assert_eq!(started - t0, Duration::from_secs(5));
        // Deferral never pulls the schedule in.
        pacer.defer_until(t0);
        pacer.turn().await.start().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_queue() {
        let pacer = Arc::new(Pacer::new(INTERVAL));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let pacer = Arc::clone(&pacer);
                tokio::spawn(async move {
                    pacer.turn().await.start().await;
                    Instant::now() - t0
                })
            })
            .collect();
        let mut starts = Vec::new();
        for task in tasks {
            starts.push(task.await.expect("task"));
        }
        starts.sort();
        let expected: Vec<_> = (0..5).map(|i| INTERVAL * i).collect();
        assert_eq!(starts, expected);
    }
}
