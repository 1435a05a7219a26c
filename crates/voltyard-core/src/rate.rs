//! The token bucket of admission control: `rate` tokens per second sustained, at most `burst`
//! saved up. Every message of every charger takes a token, so the check is a few arithmetic
//! operations on a time the caller reads.

/// A token bucket driven by the caller's clock (seconds, any origin, never going back).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    stamp: f64,
}

impl TokenBucket {
    /// A full bucket at time `now`.
    #[must_use]
    pub const fn new(rate: f64, burst: f64, now: f64) -> Self {
        Self { rate, burst, tokens: burst, stamp: now }
    }

    #[must_use]
    pub const fn rate(&self) -> f64 {
        self.rate
    }

    #[must_use]
    pub const fn burst(&self) -> f64 {
        self.burst
    }

    /// Spends one token at time `now` if there is one. A clock that steps back earns nothing.
    pub fn take(&mut self, now: f64) -> bool {
        let earned = (now - self.stamp).max(0.0) * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.stamp = self.stamp.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Seconds from the last `take` until the next token.
    #[must_use]
    pub fn wait_time(&self) -> f64 {
        if self.rate > 0.0 { ((1.0 - self.tokens) / self.rate).max(0.0) } else { f64::INFINITY }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let mut bucket = TokenBucket::new(2.0, 3.0, 0.0);
        assert_eq!((0..5).filter(|_| bucket.take(0.0)).count(), 3);
        assert!((bucket.wait_time() - 0.5).abs() < 1e-12);
        assert!(!bucket.take(0.4));
        assert!(bucket.take(0.5));
        assert!(!bucket.take(0.5));
        assert!(bucket.take(100.0)); // a long pause refills to the burst, no more
        assert_eq!((0..5).filter(|_| bucket.take(100.0)).count(), 2);
    }

    #[test]
    fn a_clock_that_steps_back_earns_nothing() {
        let mut bucket = TokenBucket::new(1.0, 1.0, 10.0);
        assert!(bucket.take(10.0));
        assert!(!bucket.take(5.0));
        assert!(!bucket.take(10.5));
        assert!(bucket.take(11.0));
    }

    proptest! {
        /// Over any sequence of takes, no more is granted than the burst plus what the elapsed
        /// time earns, and the bucket never holds more than its burst.
        #[test]
        fn never_grants_more_than_burst_plus_rate_times_elapsed(
            rate in 0.1f64..1000.0,
            burst in 1.0f64..100.0,
            steps in proptest::collection::vec(0.0f64..0.5, 1..300),
        ) {
            let mut bucket = TokenBucket::new(rate, burst, 0.0);
            let (mut now, mut granted) = (0.0, 0u32);
            for step in steps {
                now += step;
                granted += u32::from(bucket.take(now));
                prop_assert!(bucket.tokens <= burst + 1e-9);
                prop_assert!(bucket.tokens >= 0.0);
            }
            prop_assert!(f64::from(granted) <= burst + rate * now + 1e-6);
        }
    }
}
