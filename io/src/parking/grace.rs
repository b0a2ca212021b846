//! When a connection's task parks it: the grace of idleness it keeps its task through first,
//! and the [`Pace`] that lengthens that grace for a sender. Pure decisions, time an argument;
//! the lot ([`super::ParkingLot`]) carries the pace from one task to the next, and its docs say
//! why both exist.

use std::time::{Duration, Instant};

/// How long a connection that may park stays idle in its task first (see the lot's docs).
pub const GRACE: Duration = Duration::from_millis(2);

/// The grace of a connection whose peer keeps reviving it soon after it parks: longer than a
/// room's sender waits between events (200 ms at 5 events/s, 500 ms at 2).
pub const SENDER_GRACE: Duration = Duration::from_secs(1);

/// A revival by the peer this soon after the park counts as a quick return. Far below the
/// heartbeat (25 s), whose pongs revive every idle session.
pub const QUICK_RETURN: Duration = Duration::from_secs(1);

/// Quick returns in a row after which the grace is [`SENDER_GRACE`]: two, because a new
/// session returns once (its CONNECT, when the client was slower than the grace), and new
/// sessions arriving by the thousand must not keep their tasks for a second each.
pub const STEADY_RETURNS: u8 = 2;

/// How its peer has been reviving a parked connection: the revivals by the peer, each within
/// [`QUICK_RETURN`] of its park, in a row (at most [`STEADY_RETURNS`]). It decides the
/// connection's grace, and travels through the lot from one task to the next
/// ([`super::ParkingLot::park`], [`super::ParkingLot::run`]). One byte of its own, not a
/// field of [`ParkGrace`]: as a field it grew tokio's connection future from 648 to 672 bytes
/// (the size test's limit is 664), where a lone byte fits in the future's padding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    /// Read and made by the lot's [`Ticket`](super::Ticket).
    pub(super) quick_returns: u8,
}

impl Pace {
    /// The pace of a connection the lot hands back: `parked_for` is how long it was parked
    /// when its peer revived it, `None` when the hub or the stop did (which says nothing of
    /// the peer), and `self` the pace it parked with.
    pub fn revived(self, parked_for: Option<Duration>) -> Pace {
        let quick_returns = match parked_for {
            Some(parked_for) if parked_for < QUICK_RETURN => {
                self.quick_returns.saturating_add(1).min(STEADY_RETURNS)
            }
            _ => 0,
        };
        Pace { quick_returns }
    }

    /// How long the connection stays idle in its task before it parks.
    pub fn grace(self) -> Duration {
        if self.quick_returns >= STEADY_RETURNS {
            SENDER_GRACE
        } else {
            GRACE
        }
    }
}

/// When a connection's task parks it: once it has been idle for its [`Pace`]'s grace. One per
/// task; time is the task's argument.
#[derive(Debug, Default)]
pub struct ParkGrace {
    idle_since: Option<Instant>,
}

/// What a task does at the end of a turn, by [`ParkGrace::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parking {
    /// Not idle: wait for what the turn asked.
    No,
    /// Idle for the whole grace: park now.
    Now,
    /// Idle, not yet for the grace: wait as asked, and at the latest until this instant, then
    /// decide again.
    At(Instant),
}

impl ParkGrace {
    /// The decision at the end of a turn, given [`super::may_park`] (and that the stop is not seen)
    /// and the connection's pace. The clock is read only when the connection may park: a busy
    /// connection's turn (an echo, a tick) reads none.
    pub fn decide(&mut self, may_park: bool, pace: Pace, now: impl FnOnce() -> Instant) -> Parking {
        if !may_park {
            self.idle_since = None;
            return Parking::No;
        }
        let now = now();
        let since = *self.idle_since.get_or_insert(now);
        match since.checked_add(pace.grace()) {
            Some(at) if at > now => Parking::At(at),
            _ => Parking::Now,
        }
    }

    /// Something moved the connection (its peer, the hub, a deadline of the core's): its
    /// idleness starts again at the next [`decide`](Self::decide).
    pub fn moved(&mut self) {
        self.idle_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_parks_after_a_grace_of_idleness() {
        let t0 = Instant::now();
        let mut grace = ParkGrace::default();
        let pace = Pace::default();
        // A turn that may not park reads no clock.
        assert_eq!(
            grace.decide(false, pace, || panic!("the clock was read")),
            Parking::No
        );
        assert_eq!(grace.decide(true, pace, || t0), Parking::At(t0 + GRACE));
        // Idle on: the grace counts from the first idle turn, not from each.
        let t1 = t0 + GRACE / 2;
        assert_eq!(grace.decide(true, pace, || t1), Parking::At(t0 + GRACE));
        assert_eq!(grace.decide(true, pace, || t0 + GRACE), Parking::Now);
        // Input in between starts it again, as does a turn that may not park.
        grace.moved();
        let t2 = t0 + GRACE + Duration::from_millis(1);
        assert_eq!(grace.decide(true, pace, || t2), Parking::At(t2 + GRACE));
        assert_eq!(grace.decide(false, pace, || t2 + GRACE), Parking::No);
        assert_eq!(
            grace.decide(true, pace, || t2 + GRACE * 2),
            Parking::At(t2 + GRACE * 3)
        );
    }

    #[test]
    fn a_peer_that_keeps_reviving_its_connection_soon_gets_the_senders_grace() {
        let quick = Some(QUICK_RETURN / 4);
        let slow = Some(QUICK_RETURN);
        // A new session, and one its CONNECT revived: the short grace.
        assert_eq!(Pace::default().grace(), GRACE);
        let once = Pace::default().revived(quick);
        assert_eq!(once.grace(), GRACE);
        // Twice in a row: a sender.
        let twice = once.revived(quick);
        assert_eq!(twice.grace(), SENDER_GRACE);
        let steady = twice.revived(quick);
        assert_eq!(steady, twice);
        // A pause, or a wake that was not the peer's, starts the count again.
        assert_eq!(steady.revived(slow), Pace::default());
        assert_eq!(steady.revived(None), Pace::default());

        // The sender's grace counts like the short one.
        let mut grace = ParkGrace::default();
        let t0 = Instant::now();
        assert_eq!(
            grace.decide(true, twice, || t0),
            Parking::At(t0 + SENDER_GRACE)
        );
        assert_eq!(
            grace.decide(true, twice, || t0 + SENDER_GRACE),
            Parking::Now
        );
    }
}
