//! The channels an instance wants to hear, kept apart from the connection that hears them.
//!
//! The core's `ClusterNode` says, in order, which channel to subscribe and unsubscribe; those
//! changes must never be dropped (a lost `SSUBSCRIBE` would deafen the instance to a room for
//! good), and after a reconnection every wanted channel must be subscribed again. So a change
//! only edits the wanted set, under a short lock, and wakes the bridge's thread, which brings the
//! connection in line with the set: what is wanted and not subscribed gets `SSUBSCRIBE`, what is
//! subscribed and no longer wanted gets `SUNSUBSCRIBE`. Applying the changes in order to a set
//! gives the same final state as sending each one; a join and leave in quick succession simply
//! cost nothing.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use gif_chat_core::cluster::Subscription;
use tokio::sync::Notify;

/// The wanted channels, shared by the bridge's handle and its thread.
#[derive(Debug, Default)]
pub struct Subscriptions {
    wanted: Mutex<BTreeSet<String>>,
    changed: Notify,
}

/// What to send to bring `subscribed` in line with the wanted set.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Difference {
    pub subscribe: Vec<String>,
    pub unsubscribe: Vec<String>,
}

impl Subscriptions {
    /// Applies one change (from `ClusterNode::poll_subscription`) and wakes the bridge.
    pub fn apply(&self, change: Subscription) {
        let mut wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
        match change {
            Subscription::Subscribe(channel) => {
                wanted.insert(channel);
            }
            Subscription::Unsubscribe(channel) => {
                wanted.remove(&channel);
            }
        }
        drop(wanted);
        // A permit is kept when the thread is not waiting yet, so no change goes unnoticed.
        self.changed.notify_one();
    }

    /// Whether `channel` is wanted.
    pub fn is_wanted(&self, channel: &str) -> bool {
        self.wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(channel)
    }

    /// What to send, given what the connection is subscribed to now.
    pub fn difference(&self, subscribed: &BTreeSet<String>) -> Difference {
        let wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner);
        Difference {
            subscribe: wanted.difference(subscribed).cloned().collect(),
            unsubscribe: subscribed.difference(&wanted).cloned().collect(),
        }
    }

    /// Resolves after the next [`apply`](Self::apply) (or at once if one came since the last
    /// wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(channels: &[&str]) -> BTreeSet<String> {
        channels.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn changes_in_order_give_the_final_state() {
        let subscriptions = Subscriptions::default();
        subscriptions.apply(Subscription::Subscribe("a".into()));
        subscriptions.apply(Subscription::Subscribe("b".into()));
        subscriptions.apply(Subscription::Unsubscribe("a".into()));
        subscriptions.apply(Subscription::Subscribe("c".into()));
        assert!(subscriptions.is_wanted("b"));
        assert!(!subscriptions.is_wanted("a"));
        assert_eq!(
            subscriptions.difference(&set(&["a", "c"])),
            Difference {
                subscribe: vec!["b".into()],
                unsubscribe: vec!["a".into()],
            }
        );
        // After a reconnection nothing is subscribed: everything wanted is sent again.
        assert_eq!(
            subscriptions.difference(&BTreeSet::new()).subscribe,
            vec!["b".to_string(), "c".to_string()]
        );
    }
}
