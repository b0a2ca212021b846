//! The seed's `setInterval(..., 3000)`, per connection and driven by the caller's clock.

use std::time::{Duration, Instant};

/// What every tick says (S6), as the seed's `ws.send(...)`.
pub const TICK_MESSAGE: &str = "서버에서 클라이언트로 메시지를 보냅니다.";

/// When a connection's next tick is due. Each connection has its own phase, set when it opened.
///
/// After a stall longer than an interval (a suspended process, an overloaded loop) it fires
/// once and skips the missed ticks, keeping its phase: a burst of stale ticks helps nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickSchedule {
    next: Instant,
    interval: Duration,
}

impl TickSchedule {
    /// A schedule whose first tick is one interval after `opened`.
    pub fn new(opened: Instant, interval: Duration) -> Self {
        TickSchedule {
            next: opened + interval,
            interval,
        }
    }

    /// When the next tick is due.
    pub fn next(&self) -> Instant {
        self.next
    }

    /// Whether a tick is due at `now`; if so, moves on to the first tick after `now`.
    pub fn poll(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        let late = now.duration_since(self.next);
        let interval = self.interval.as_nanos().max(1);
        let skipped = late.as_nanos() / interval;
        // `skipped` whole intervals were missed; the next tick keeps the phase.
        let step = u32::try_from(skipped + 1).unwrap_or(u32::MAX);
        self.next += self.interval.saturating_mul(step);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_at_each_interval_after_open() {
        let t0 = Instant::now();
        let mut s = TickSchedule::new(t0, Duration::from_secs(3));
        assert!(!s.poll(t0 + Duration::from_millis(2999)));
        assert!(s.poll(t0 + Duration::from_secs(3)));
        assert_eq!(s.next(), t0 + Duration::from_secs(6));
        assert!(s.poll(t0 + Duration::from_secs(6)));
        assert_eq!(s.next(), t0 + Duration::from_secs(9));
    }

    #[test]
    fn a_stall_gives_one_tick_and_keeps_the_phase() {
        let t0 = Instant::now();
        let mut s = TickSchedule::new(t0, Duration::from_secs(3));
        assert!(s.poll(t0 + Duration::from_secs(10)));
        assert!(!s.poll(t0 + Duration::from_secs(10)));
        assert_eq!(s.next(), t0 + Duration::from_secs(12));
    }
}
