//! The per-visitor rate limit on chats and uploads: a token bucket per session id.
//!
//! A visitor may post `burst` lines at once, then `per_second` a second; both the socket event
//! and the HTTP routes draw from the same bucket, so switching transport buys nothing. A full
//! bucket says nothing a fresh one would not, so full buckets are dropped whenever the table
//! grows: its size follows the visitors who posted within the last few seconds, not every
//! visitor ever seen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::chat::SessionId;

/// `CHAT_RATE`: how fast one visitor may post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatRate {
    /// Lines (chats or uploads) refilled per second.
    pub per_second: u32,
    /// Lines that may come at once.
    pub burst: u32,
}

/// Why a `CHAT_RATE` text was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CHAT_RATE must be `<per second>` or `<per second>/<burst>`, both above zero, not {0:?}")]
pub struct ChatRateError(pub String);

impl std::str::FromStr for ChatRate {
    type Err = ChatRateError;

    /// `5` (burst twice the rate) or `5/10`.
    fn from_str(text: &str) -> Result<ChatRate, ChatRateError> {
        let error = || ChatRateError(text.to_owned());
        let (rate, burst) = match text.split_once('/') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text, None),
        };
        let per_second: u32 = rate.trim().parse().map_err(|_| error())?;
        let burst: u32 = match burst {
            Some(burst) => burst.trim().parse().map_err(|_| error())?,
            None => per_second.saturating_mul(2),
        };
        if per_second == 0 || burst == 0 {
            return Err(error());
        }
        Ok(ChatRate { per_second, burst })
    }
}

impl std::fmt::Display for ChatRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.per_second, self.burst)
    }
}

/// Buckets kept before full ones are swept out.
const SWEEP_ABOVE: usize = 1024;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Every visitor's bucket.
#[derive(Debug)]
pub struct RateLimit {
    rate: ChatRate,
    buckets: HashMap<SessionId, Bucket>,
}

impl RateLimit {
    pub fn new(rate: ChatRate) -> RateLimit {
        RateLimit {
            rate,
            buckets: HashMap::new(),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * f64::from(self.rate.per_second)).min(f64::from(self.rate.burst))
    }

    /// Takes one line from `visitor`'s bucket: `Ok`, or how long until one would be allowed.
    pub fn take(&mut self, visitor: &SessionId, now: Instant) -> Result<(), Duration> {
        if self.buckets.len() >= SWEEP_ABOVE {
            self.sweep(now);
        }
        let burst = f64::from(self.rate.burst);
        let tokens = match self.buckets.get(visitor) {
            Some(bucket) => self.refilled(*bucket, now),
            None => burst,
        };
        if tokens < 1.0 {
            let missing = 1.0 - tokens;
            let wait = Duration::from_secs_f64(missing / f64::from(self.rate.per_second));
            return Err(wait.max(Duration::from_millis(1)));
        }
        self.buckets.insert(
            visitor.clone(),
            Bucket {
                tokens: tokens - 1.0,
                at: now,
            },
        );
        Ok(())
    }

    /// Drops the buckets that have refilled: they are what a new visitor gets anyway.
    pub fn sweep(&mut self, now: Instant) {
        let burst = f64::from(self.rate.burst);
        let rate = f64::from(self.rate.per_second);
        self.buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            bucket.tokens + elapsed * rate < burst
        });
    }

    /// Buckets held (for tests of the bound).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(n: u8) -> SessionId {
        SessionId::from_random([n; crate::chat::SESSION_ID_RANDOM_BYTES])
    }

    #[test]
    fn a_burst_then_the_rate() {
        let rate: ChatRate = "2/3".parse().expect("valid");
        let mut limit = RateLimit::new(rate);
        let now = Instant::now();
        let a = visitor(1);
        for _ in 0..3 {
            assert_eq!(limit.take(&a, now), Ok(()));
        }
        let wait = limit.take(&a, now).expect_err("over the burst");
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(limit.take(&visitor(2), now), Ok(()), "another visitor");
        assert_eq!(limit.take(&a, now + Duration::from_millis(500)), Ok(()));
        assert!(limit.take(&a, now + Duration::from_millis(500)).is_err());
        limit.sweep(now + Duration::from_secs(10));
        assert_eq!(limit.len(), 0, "full buckets are forgotten");
    }

    #[test]
    fn the_setting_reads_rate_and_burst() {
        assert_eq!(
            "5".parse(),
            Ok(ChatRate {
                per_second: 5,
                burst: 10
            })
        );
        assert_eq!(
            " 5 / 7".parse(),
            Ok(ChatRate {
                per_second: 5,
                burst: 7
            })
        );
        for bad in ["", "0", "5/0", "x", "5/x", "-1"] {
            assert!(bad.parse::<ChatRate>().is_err(), "{bad:?}");
        }
    }
}
