//! Every connection's next deadline, nearest first, for one `poll` timeout.
//!
//! The loop sleeps until the nearest deadline of tens of thousands of connections, so finding it
//! must not mean scanning them all. A binary heap gives it in O(1) and takes a new deadline in
//! O(log n). Entries are never removed from the middle of the heap (a binary heap cannot do that
//! cheaply); instead each connection remembers the one entry that is *current* for it
//! ([`Timers::arm`]'s `armed`), and any other entry is discarded when it reaches the top (lazy
//! deletion). A slab key is reused by the next connection, so an entry also carries the
//! connection's generation: an entry left by a closed connection never wakes its successor.
//!
//! Deadlines that move *later* (a ping deadline pushed back by every message, a tick deadline
//! advanced after each tick) do not push a new entry: the old, earlier entry stays current, and
//! when it fires the loop finds the connection's deadline not yet reached and simply re-arms.
//! Only a deadline that moves *earlier* pushes. So a chatty connection costs no heap traffic
//! beyond one entry per deadline it actually reaches, and stale entries stay few; should they
//! pile up anyway (many connections closing with deadlines far ahead), [`Timers::compact`]
//! drops them in one amortised pass.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Stale entries tolerated before [`Timers::compact`] rebuilds the heap, beyond twice the
/// number of connections.
const COMPACT_SLACK: usize = 1024;

/// One armed deadline: the connection in slab slot `key`, of `generation`, wants waking at `at`.
///
/// The key is a `u32` (the loop admits no more connections than that) so that an entry takes
/// 24 bytes rather than 32: the heap holds one per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub at: Instant,
    pub key: u32,
    pub generation: u32,
}

/// The deadline heap. Whether an entry is still current is the caller's knowledge (it owns the
/// connections), so lookups take an `is_current` predicate: an entry is current when slot `key`
/// holds a connection of `generation` whose `armed` is `Some(at)`.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Timers {
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Makes sure connection `key`/`generation` is woken no later than `want`.
    ///
    /// `armed` is the connection's own record of its current entry. A `want` later than it
    /// changes nothing (the earlier entry fires first and the caller re-arms then); an earlier
    /// one pushes a new entry and makes it current, which turns the previous entry stale.
    pub fn arm(
        &mut self,
        armed: &mut Option<Instant>,
        key: u32,
        generation: u32,
        want: Option<Instant>,
    ) {
        let Some(at) = want else { return };
        if armed.is_none_or(|current| at < current) {
            self.heap.push(Reverse(Entry {
                at,
                key,
                generation,
            }));
            *armed = Some(at);
        }
    }

    /// The nearest current deadline. Stale entries found on top on the way are dropped.
    pub fn next_deadline(&mut self, mut is_current: impl FnMut(&Entry) -> bool) -> Option<Instant> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if is_current(top) {
                return Some(top.at);
            }
            self.heap.pop();
        }
        None
    }

    /// Moves every current entry due at `now` into `due` and drops the stale ones among them.
    ///
    /// The caller must then clear each due connection's `armed` (the entry is gone) before
    /// re-arming it. Entries re-armed at or before `now` wait for the next call, so a deadline
    /// that does not advance cannot trap the loop inside one turn.
    pub fn pop_due(
        &mut self,
        now: Instant,
        mut is_current: impl FnMut(&Entry) -> bool,
        due: &mut Vec<Entry>,
    ) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.at > now {
                break;
            }
            let top = *top;
            self.heap.pop();
            if is_current(&top) {
                due.push(top);
            }
        }
    }

    /// Drops all stale entries once they clearly outnumber the `live` connections (each has at
    /// most one current entry). The rebuild is O(heap) but only runs after the heap has grown by
    /// that much, so its cost is amortised over the pushes that grew it.
    pub fn compact(&mut self, live: usize, mut is_current: impl FnMut(&Entry) -> bool) {
        if self.heap.len() > live.saturating_mul(2).saturating_add(COMPACT_SLACK) {
            self.heap.retain(|Reverse(entry)| is_current(entry));
        }
    }

    /// Entries held, stale ones included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no entry is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;

    /// What the event loop keeps per connection, as far as timers go.
    #[derive(Debug, Default, Clone, Copy)]
    struct Slot {
        generation: u32,
        armed: Option<Instant>,
    }

    /// A stand-in for the loop's slab.
    #[derive(Default)]
    struct Conns(HashMap<u32, Slot>);

    impl Conns {
        fn is_current(&self, entry: &Entry) -> bool {
            self.0.get(&entry.key).is_some_and(|slot| {
                slot.generation == entry.generation && slot.armed == Some(entry.at)
            })
        }

        fn arm(&mut self, timers: &mut Timers, key: u32, want: Option<Instant>) {
            let slot = self.0.entry(key).or_default();
            timers.arm(&mut slot.armed, key, slot.generation, want);
        }

        /// Pops what is due and disarms it, as the loop does.
        fn fire(&mut self, timers: &mut Timers, now: Instant) -> Vec<(u32, Instant)> {
            let mut due = Vec::new();
            timers.pop_due(now, |e| self.is_current(e), &mut due);
            for entry in &due {
                if let Some(slot) = self.0.get_mut(&entry.key) {
                    slot.armed = None;
                }
            }
            due.iter().map(|e| (e.key, e.at)).collect()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_nearest_deadline_comes_first() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        let mut conns = Conns::default();
        conns.arm(&mut timers, 1, Some(t0 + ms(300)));
        conns.arm(&mut timers, 2, Some(t0 + ms(100)));
        conns.arm(&mut timers, 3, Some(t0 + ms(200)));
        conns.arm(&mut timers, 4, None);
        assert_eq!(timers.len(), 3);
        assert_eq!(
            timers.next_deadline(|e| conns.is_current(e)),
            Some(t0 + ms(100))
        );
        assert_eq!(conns.fire(&mut timers, t0 + ms(50)), vec![]);
        assert_eq!(
            conns.fire(&mut timers, t0 + ms(200)),
            vec![(2, t0 + ms(100)), (3, t0 + ms(200))]
        );
        assert_eq!(
            timers.next_deadline(|e| conns.is_current(e)),
            Some(t0 + ms(300))
        );
    }

    #[test]
    fn a_later_deadline_keeps_the_earlier_entry() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        let mut conns = Conns::default();
        conns.arm(&mut timers, 7, Some(t0 + ms(100)));
        // Every message pushes the ping deadline back: no new entries.
        for n in 1..100 {
            conns.arm(&mut timers, 7, Some(t0 + ms(100 + n)));
        }
        assert_eq!(timers.len(), 1);
        // The early entry fires; the loop re-arms with the real deadline.
        assert_eq!(
            conns.fire(&mut timers, t0 + ms(100)),
            vec![(7, t0 + ms(100))]
        );
        conns.arm(&mut timers, 7, Some(t0 + ms(199)));
        assert_eq!(
            timers.next_deadline(|e| conns.is_current(e)),
            Some(t0 + ms(199))
        );
    }

    #[test]
    fn an_earlier_deadline_turns_the_old_entry_stale() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        let mut conns = Conns::default();
        conns.arm(&mut timers, 1, Some(t0 + ms(500)));
        conns.arm(&mut timers, 1, Some(t0 + ms(100)));
        assert_eq!(timers.len(), 2);
        assert_eq!(
            conns.fire(&mut timers, t0 + ms(100)),
            vec![(1, t0 + ms(100))]
        );
        // Not re-armed: the 500 ms entry is stale and must not fire.
        assert_eq!(conns.fire(&mut timers, t0 + ms(1000)), vec![]);
        assert!(timers.is_empty());
    }

    #[test]
    fn a_reused_key_is_not_woken_by_its_predecessor() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        let mut conns = Conns::default();
        conns.arm(&mut timers, 5, Some(t0 + ms(100)));
        // The connection closes; its successor in slot 5 arms the very same instant.
        conns.0.insert(
            5,
            Slot {
                generation: 1,
                armed: None,
            },
        );
        assert_eq!(timers.next_deadline(|e| conns.is_current(e)), None);
        assert!(timers.is_empty(), "the stale top entry is dropped");
        conns.arm(&mut timers, 5, Some(t0 + ms(100)));
        let mut due = Vec::new();
        timers.pop_due(t0 + ms(100), |e| conns.is_current(e), &mut due);
        assert_eq!(
            due,
            vec![Entry {
                at: t0 + ms(100),
                key: 5,
                generation: 1
            }]
        );
    }

    #[test]
    fn compaction_keeps_exactly_the_current_entries() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        let mut conns = Conns::default();
        // 3000 connections arm a far deadline, then close (stale entries) ...
        for key in 0..3000 {
            conns.arm(&mut timers, key, Some(t0 + ms(10_000 + u64::from(key))));
        }
        conns.0.clear();
        // ... and ten live ones remain.
        for key in 0..10 {
            conns.0.insert(
                key,
                Slot {
                    generation: 1,
                    armed: None,
                },
            );
            conns.arm(&mut timers, key, Some(t0 + ms(u64::from(key))));
        }
        assert_eq!(timers.len(), 3010);
        timers.compact(conns.0.len(), |e| conns.is_current(e));
        assert_eq!(timers.len(), 10);
        // Below the threshold nothing is rebuilt.
        conns.0.insert(
            20,
            Slot {
                generation: 0,
                armed: None,
            },
        );
        conns.arm(&mut timers, 20, Some(t0 + ms(1)));
        conns.0.remove(&20);
        timers.compact(conns.0.len(), |e| conns.is_current(e));
        assert_eq!(timers.len(), 11);
        let fired = conns.fire(&mut timers, t0 + ms(100_000));
        assert_eq!(fired.len(), 10);
        assert!(fired.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
