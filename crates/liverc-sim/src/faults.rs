//! Which fault, if any, a request gets: targeted faults first ("the next N
//! requests to slug X", or to the catalogue), then the seeded rate-based
//! draw. The draw takes exactly one random number per eligible request (two
//! when it hits), so a run is reproducible given the order of requests.

use std::collections::{HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::config::{Fault, FaultConfig};

/// What a request is for, as far as faults go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    Catalogue,
    /// A dashboard, by lowercase slug.
    Dashboard(&'a str),
}

/// Queued faults for one target: `(fault, remaining)` in order.
type Queue = VecDeque<(Fault, u32)>;

#[derive(Debug)]
pub(crate) struct FaultState {
    config: FaultConfig,
    rng: StdRng,
    by_slug: HashMap<String, Queue>,
    catalogue: Queue,
}

impl FaultState {
    pub(crate) fn new(config: FaultConfig) -> Self {
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            by_slug: HashMap::new(),
            catalogue: Queue::new(),
        }
    }

    pub(crate) fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Replaces the rate-based configuration and restarts its random stream
    /// from the new seed. Targeted faults stay queued.
    pub(crate) fn set_config(&mut self, config: FaultConfig) {
        self.rng = StdRng::seed_from_u64(config.seed);
        self.config = config;
    }

    /// Queues `fault` for the next `times` requests of a dashboard
    /// (lowercase slug) or of the catalogue (`None`).
    pub(crate) fn inject(&mut self, slug: Option<&str>, fault: Fault, times: u32) {
        if times == 0 {
            return;
        }
        let queue = match slug {
            Some(slug) => self.by_slug.entry(slug.to_ascii_lowercase()).or_default(),
            None => &mut self.catalogue,
        };
        queue.push_back((fault, times));
    }

    /// Drops every queued targeted fault.
    pub(crate) fn clear_injected(&mut self) {
        self.by_slug.clear();
        self.catalogue.clear();
    }

    /// Targeted faults still queued (sum of remaining counts).
    pub(crate) fn injected_remaining(&self) -> u64 {
        self.by_slug
            .values()
            .chain(std::iter::once(&self.catalogue))
            .flat_map(|q| q.iter().map(|(_, n)| u64::from(*n)))
            .sum()
    }

    /// The fault this request gets, if any.
    pub(crate) fn decide(&mut self, target: Target<'_>) -> Option<Fault> {
        let queue = match target {
            Target::Catalogue => Some(&mut self.catalogue),
            Target::Dashboard(slug) => self.by_slug.get_mut(slug),
        };
        if let Some(queue) = queue
            && let Some(front) = queue.front_mut()
        {
            let fault = front.0;
            front.1 -= 1;
            if front.1 == 0 {
                queue.pop_front();
            }
            return Some(fault);
        }
        let eligible = match target {
            Target::Catalogue => self.config.include_catalogue,
            Target::Dashboard(_) => true,
        };
        if !eligible || self.config.rate <= 0.0 || self.config.kinds.is_empty() {
            return None;
        }
        let roll: f64 = self.rng.random();
        if roll < self.config.rate {
            let i = self.rng.random_range(0..self.config.kinds.len());
            self.config.kinds.get(i).copied()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targeted_faults_come_first_and_run_out() {
        let mut state = FaultState::new(FaultConfig::default());
        state.inject(Some("Bayrc"), Fault::TooManyRequests, 2);
        state.inject(Some("bayrc"), Fault::Hang, 1);
        state.inject(None, Fault::Malformed, 1);
        assert_eq!(state.injected_remaining(), 4);
        let d = Target::Dashboard("bayrc");
        assert_eq!(state.decide(d), Some(Fault::TooManyRequests));
        assert_eq!(state.decide(Target::Dashboard("other")), None);
        assert_eq!(state.decide(d), Some(Fault::TooManyRequests));
        assert_eq!(state.decide(d), Some(Fault::Hang));
        assert_eq!(state.decide(d), None);
        assert_eq!(state.decide(Target::Catalogue), Some(Fault::Malformed));
        assert_eq!(state.decide(Target::Catalogue), None);
    }

    #[test]
    fn rate_faults_are_reproducible_and_near_the_rate() {
        let config = FaultConfig::rate(0.1, [Fault::InternalServerError, Fault::Truncate]);
        let run = || {
            let mut state = FaultState::new(config.clone());
            (0..10_000)
                .map(|_| state.decide(Target::Dashboard("x")))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().flatten().count();
        assert!((800..1200).contains(&hits), "{hits}");
        assert!(a.contains(&Some(Fault::Truncate)));
        let mut state = FaultState::new(config);
        assert!((0..1000).all(|_| state.decide(Target::Catalogue).is_none()));
    }
}
