//! The account-wide part of login throttling.
//!
//! Strict limits (per address, and per account *and* address) refuse attempts outright; they
//! live with the other rate limits in the web layer. An account-wide limit must not refuse:
//! anyone could then lock a known member out by guessing wrong from anywhere. So failures
//! are counted per account across every address, and past [`FailedLogins::FREE`] of them
//! each further attempt on that account waits before its password is checked, a delay that
//! doubles with every failure up to [`FailedLogins::MAX_DELAY`]. The owner with the right
//! password is slowed for a few seconds at most and then let in; a guesser spread over many
//! addresses pays the delay on every guess.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailedLogins {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// A leaky bucket: one unit per failure, draining one unit every `DRAIN_EVERY`.
#[derive(Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn level_at(&self, now: Instant) -> f64 {
        let drained = now.saturating_duration_since(self.at).as_secs_f64()
            / FailedLogins::DRAIN_EVERY.as_secs_f64();
        (self.level - drained).max(0.0)
    }
}

impl Default for FailedLogins {
    fn default() -> Self {
        FailedLogins {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl FailedLogins {
    /// Failures (net of draining) an account takes before attempts on it are delayed.
    /// One address alone cannot get here: the per-account-and-address limit lets it try
    /// five times and then once every 12 seconds, slower than the bucket drains.
    pub const FREE: f64 = 10.0;
    pub const DRAIN_EVERY: Duration = Duration::from_secs(6);
    pub const FIRST_DELAY: Duration = Duration::from_millis(250);
    pub const MAX_DELAY: Duration = Duration::from_secs(3);
    /// Bounds the memory that failures on made-up account names can take.
    const MAX_KEYS: usize = 100_000;

    /// How long an attempt on `key` waits before its password is checked.
    pub fn delay(&self, key: &str) -> Duration {
        self.delay_at(key, Instant::now())
    }

    /// Counts a failed attempt on `key`.
    pub fn record_failure(&self, key: &str) {
        self.record_failure_at(key, Instant::now());
    }

    /// Forgets accounts whose failures have drained away.
    pub fn retain_recent(&self) {
        let now = Instant::now();
        self.lock().retain(|_, b| b.level_at(now) > 0.0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn delay_at(&self, key: &str, now: Instant) -> Duration {
        let level = self.lock().get(key).map_or(0.0, |b| b.level_at(now));
        let over = level - Self::FREE;
        if over <= 0.0 {
            return Duration::ZERO;
        }
        let doublings = over.ceil().min(16.0) as u32 - 1;
        (Self::FIRST_DELAY * 2u32.pow(doublings)).min(Self::MAX_DELAY)
    }

    fn record_failure_at(&self, key: &str, now: Instant) {
        let mut buckets = self.lock();
        if buckets.len() >= Self::MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| b.level_at(now) > 0.0);
            if buckets.len() >= Self::MAX_KEYS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            level: 0.0,
            at: now,
        });
        bucket.level = bucket.level_at(now) + 1.0;
        bucket.at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_grow_and_are_capped() {
        let f = FailedLogins::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            f.record_failure_at("alice", t0);
        }
        assert_eq!(f.delay_at("alice", t0), Duration::ZERO);
        let mut delays = Vec::new();
        for _ in 0..8 {
            f.record_failure_at("alice", t0);
            delays.push(f.delay_at("alice", t0));
        }
        assert_eq!(delays[0], Duration::from_millis(250));
        assert_eq!(delays[1], Duration::from_millis(500));
        assert_eq!(delays[2], Duration::from_secs(1));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*delays.last().unwrap(), FailedLogins::MAX_DELAY);
        assert_eq!(
            f.delay_at("bob", t0),
            Duration::ZERO,
            "other accounts unaffected"
        );
    }

    #[test]
    fn failures_drain_away() {
        let f = FailedLogins::default();
        let t0 = Instant::now();
        for _ in 0..14 {
            f.record_failure_at("alice", t0);
        }
        assert!(f.delay_at("alice", t0) > Duration::ZERO);
        let later = t0 + FailedLogins::DRAIN_EVERY * 4;
        assert_eq!(f.delay_at("alice", later), Duration::ZERO);
    }
}
