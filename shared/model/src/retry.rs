//! How a client retries a remote call that failed transiently: one policy for the
//! Salesforce client and the HTTP destination client, configured differently by each.
//!
//! The policy is pure arithmetic. Each client keeps its own source of randomness and its own
//! sleep, and asks the policy only how many attempts it may make and how long to wait, so
//! the arithmetic is tested here once, without clocks or randomness.

use std::time::Duration;

/// Exponential backoff with full jitter: before retry `n` (from 1) a client sleeps a random
/// time between zero and `min(max_delay, base_delay * 2^(n-1))`, so many clients that failed
/// together do not come back together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means no retry.
    pub max_attempts: u32,
    /// The ceiling of the sleep before the first retry; it doubles with each retry after.
    pub base_delay: Duration,
    /// The ceiling no sleep exceeds, however many retries came before.
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub const fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_attempts,
            base_delay,
            max_delay,
        }
    }

    /// Whether a call that has failed `attempts_made` times (the first attempt included) may
    /// be tried again.
    pub fn allows_another_attempt(&self, attempts_made: u32) -> bool {
        attempts_made < self.max_attempts
    }

    /// The ceiling of the sleep before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        // Saturating, so that a large retry number reaches the cap instead of overflowing.
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The sleep before retry number `retry` (1 for the first retry): `random` (any `u64`,
    /// uniformly drawn by the caller) mapped onto zero to [`RetryPolicy::ceiling`], both
    /// included, at nanosecond resolution.
    pub fn delay_for(&self, retry: u32, random: u64) -> Duration {
        let ceiling_nanos = u64::try_from(self.ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        // The divisor is at least 1, so the remainder always exists; a ceiling of u64::MAX
        // nanoseconds (over 500 years) loses its last nanosecond to the saturation.
        let nanos = random
            .checked_rem(ceiling_nanos.saturating_add(1))
            .unwrap_or(0);
        Duration::from_nanos(nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base_millis: u64, max_millis: u64) -> RetryPolicy {
        RetryPolicy::new(
            10,
            Duration::from_millis(base_millis),
            Duration::from_millis(max_millis),
        )
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (1..=6)
            .map(|retry| policy.ceiling(retry).as_millis())
            .collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn a_delay_stays_between_zero_and_the_ceiling() {
        let policy = policy(100, 1_000);
        for retry in 1..=12 {
            let ceiling = policy.ceiling(retry);
            for random in [
                0,
                1,
                7,
                99_999_999,
                1 << 40,
                u64::MAX / 3,
                u64::MAX - 1,
                u64::MAX,
            ] {
                let delay = policy.delay_for(retry, random);
                assert!(
                    delay <= ceiling,
                    "retry {retry}, random {random}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn the_bounds_are_reached_both_ways() {
        let policy = policy(100, 1_000);
        let ceiling_nanos = u64::try_from(policy.ceiling(2).as_nanos()).unwrap_or(u64::MAX);
        assert_eq!(policy.delay_for(2, 0), Duration::ZERO);
        assert_eq!(
            policy.delay_for(2, ceiling_nanos),
            Duration::from_millis(200)
        );
        // One past the ceiling wraps round to zero: the range is the ceiling's plus one.
        assert_eq!(policy.delay_for(2, ceiling_nanos + 1), Duration::ZERO);
    }

    #[test]
    fn the_cap_holds_for_any_random_value() {
        let policy = policy(500, 30_000);
        for retry in [7, 8, 20, 64, 1_000] {
            assert_eq!(policy.ceiling(retry), Duration::from_secs(30));
            assert!(policy.delay_for(retry, u64::MAX) <= Duration::from_secs(30));
        }
    }

    #[test]
    fn large_retry_numbers_and_delays_do_not_overflow() {
        let huge = RetryPolicy::new(u32::MAX, Duration::MAX, Duration::MAX);
        assert_eq!(huge.ceiling(u32::MAX), Duration::MAX);
        // A ceiling past u64::MAX nanoseconds is treated as u64::MAX of them.
        assert_eq!(
            huge.delay_for(u32::MAX, u64::MAX - 1),
            Duration::from_nanos(u64::MAX - 1)
        );
        let policy = policy(100, 1_000);
        assert!(policy.delay_for(u32::MAX, u64::MAX) <= Duration::from_secs(1));
        assert!(policy.delay_for(0, u64::MAX) <= Duration::from_millis(100));
    }

    #[test]
    fn a_zero_base_delay_never_sleeps() {
        let policy = policy(0, 1_000);
        for retry in [1, 2, 30, u32::MAX] {
            assert_eq!(policy.delay_for(retry, u64::MAX), Duration::ZERO);
        }
    }

    #[test]
    fn attempts_stop_at_the_maximum() {
        let policy = RetryPolicy::new(3, Duration::ZERO, Duration::ZERO);
        let allowed: Vec<bool> = (1..=4)
            .map(|made| policy.allows_another_attempt(made))
            .collect();
        assert_eq!(allowed, vec![true, true, false, false]);
        let once = RetryPolicy::new(1, Duration::ZERO, Duration::ZERO);
        assert!(!once.allows_another_attempt(1));
    }
}
