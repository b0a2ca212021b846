//! The delay between reconnection attempts: doubling from a minimum up to a cap, back to the
//! minimum once connected. Doubling spares a Redis that is restarting from a storm of attempts by
//! every instance; the cap bounds how long an instance stays alone after Redis is back.

use std::time::Duration;

/// Capped exponential back-off.
#[derive(Clone, Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min` (at least 1 ms), never above `max` (at least `min`).
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let min = min.max(Duration::from_millis(1));
        let max = max.max(min);
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// The wait before the next attempt; the one after will be twice as long, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// After a success: the next failure waits the minimum again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(500));
        let delays: Vec<_> = (0..5).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), ms(100));
    }

    #[test]
    fn a_cap_below_the_minimum_is_the_minimum() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(0), ms(0));
        assert_eq!(backoff.next_delay(), ms(1));
        assert_eq!(backoff.next_delay(), ms(1));
    }
}
