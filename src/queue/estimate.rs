//! Expected wait: what a caller is told when their position is announced.
//!
//! The formula is the mean wait of an M/M/n queue for a caller who already
//! stands at a known position, and needs only two numbers the ACD has:
//!
//! `expected = max(0, position - free) * average_handle / serving`
//!
//! - `position` is 1 + the callers ahead who still wait for an agent;
//! - `free` agents will ring the first callers at once;
//! - `serving` agents (logged in, registered, not away) each finish a call on
//!   average every `average_handle`, so together one every
//!   `average_handle / serving`, and the caller needs `position - free` of
//!   those. With exponential handle times this is exact; real handle times
//!   vary less, which makes it slightly pessimistic.
//! - With nobody serving, the caller is told the time one agent would need
//!   (`position * average_handle`), not "forever".
//!
//! `average_handle` is the time an agent is taken per call (ring, talk and
//! wrap-up), averaged over the last [`WINDOW`] calls of the queue and blended
//! with a prior of [`PRIOR_HANDLE_MS`] worth [`PRIOR_WEIGHT`] calls, so the
//! first callers of the day get a sane figure and a few odd calls do not swing
//! it.
//!
//! Known limits: agents shared by several queues count fully in each, and
//! callers moved ahead later (agitated, repeat) make earlier estimates short.

use std::collections::VecDeque;

/// Assumed handle time before any call was measured: 3 minutes, a common
/// contact-centre figure.
pub const PRIOR_HANDLE_MS: u64 = 180_000;
/// The prior counts as this many measured calls.
pub const PRIOR_WEIGHT: u64 = 3;
/// Calls remembered per queue.
pub const WINDOW: usize = 50;

/// Recent handle times of one queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandleTimes {
    recent: VecDeque<u64>,
}

impl HandleTimes {
    pub fn record(&mut self, handle_ms: u64) {
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(handle_ms);
    }

    pub fn count(&self) -> usize {
        self.recent.len()
    }

    /// Mean of the recent calls blended with the prior.
    pub fn average_ms(&self) -> u64 {
        let sum: u64 = self.recent.iter().sum();
        (PRIOR_HANDLE_MS * PRIOR_WEIGHT + sum) / (PRIOR_WEIGHT + self.recent.len() as u64)
    }
}

/// The formula above: `position` is 1-based.
pub fn expected_wait_ms(
    position: usize,
    free: usize,
    serving: usize,
    average_handle_ms: u64,
) -> u64 {
    if serving == 0 {
        return position as u64 * average_handle_ms;
    }
    let needed = position.saturating_sub(free) as u64;
    needed * average_handle_ms / serving as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prior_fades_as_calls_are_measured() {
        let mut times = HandleTimes::default();
        assert_eq!(times.average_ms(), PRIOR_HANDLE_MS);
        for _ in 0..WINDOW * 2 {
            times.record(60_000);
        }
        assert_eq!(times.count(), WINDOW);
        let avg = times.average_ms();
        assert!(avg > 60_000 && avg < 80_000, "{avg}");
    }

    #[test]
    fn wait_grows_with_position_and_shrinks_with_agents() {
        assert_eq!(expected_wait_ms(1, 1, 3, 90_000), 0);
        assert_eq!(expected_wait_ms(1, 0, 3, 90_000), 30_000);
        assert_eq!(expected_wait_ms(4, 0, 3, 90_000), 120_000);
        assert_eq!(expected_wait_ms(4, 0, 6, 90_000), 60_000);
        assert_eq!(expected_wait_ms(2, 0, 0, 90_000), 180_000);
    }
}
