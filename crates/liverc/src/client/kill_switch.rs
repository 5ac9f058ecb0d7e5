//! The kill switch: a cheap, cloneable on/off handle checked before every
//! request the client sends (retries and robots.txt fetches included).
//!
//! Turning it off never interrupts a request already on the wire; it stops
//! every request that has not left yet, and wakes requests that are sleeping
//! in a backoff or a pacing wait so they fail with
//! [`LiveRcError::Disabled`](crate::LiveRcError::Disabled) at once instead of
//! sleeping out their delay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A shared on/off switch for one [`LiveRcClient`](crate::LiveRcClient) and
/// all its clones. Cloning the handle shares the state.
#[derive(Debug, Clone)]
pub struct KillSwitch {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    enabled: AtomicBool,
    /// Woken whenever the switch is turned off.
    turned_off: Notify,
}

impl KillSwitch {
    /// A switch in the given initial state.
    pub fn new(enabled: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                enabled: AtomicBool::new(enabled),
                turned_off: Notify::new(),
            }),
        }
    }

    /// Turn scraping on (`true`) or off (`false`). Takes effect for the next
    /// request of every clone of the client.
    pub fn set_enabled(&self, enabled: bool) {
        let was = self.inner.enabled.swap(enabled, Ordering::SeqCst);
        if was && !enabled {
            tracing::warn!("liverc kill switch turned off: no further requests will be sent");
            self.inner.turned_off.notify_waiters();
        } else if !was && enabled {
            tracing::info!("liverc kill switch turned on");
        }
    }

    /// Whether requests may be sent.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::SeqCst)
    }

    /// Completes once the switch is off (at once if it already is).
    pub(crate) async fn wait_disabled(&self) {
        loop {
            let notified = self.inner.turned_off.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a turn-off between the
            // check and the await cannot be missed.
            notified.as_mut().enable();
            if !self.is_enabled() {
                return;
            }
            notified.await;
        }
    }
}

impl Default for KillSwitch {
    /// An enabled switch.
    fn default() -> Self {
        Self::new(true)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn clones_share_state() {
        let a = KillSwitch::new(true);
        let b = a.clone();
        assert!(b.is_enabled());
        a.set_enabled(false);
        assert!(!b.is_enabled());
        b.set_enabled(true);
        assert!(a.is_enabled());
    }

    #[tokio::test]
    async fn wait_disabled_wakes_on_turn_off() {
        let switch = KillSwitch::new(true);
        let waiter = tokio::spawn({
            let switch = switch.clone();
            async move { switch.wait_disabled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        switch.set_enabled(false);
        tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("waiter woke")
            .expect("waiter did not panic");
        // Already off: returns at once.
        tokio::time::timeout(Duration::from_millis(100), switch.wait_disabled())
            .await
            .expect("returns at once when already off");
    }
}
