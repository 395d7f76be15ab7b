//! The subscription ledger: what this client has asked the server to send, so a new connection can be put
//! back in the same state after a reconnect.
//!
//! It mirrors the server's per-connection model (API.md §4.8): a set of canonical topics, each with the
//! filters of the last `subscribe_events` call that named it. Legacy names are implicitly subscribed on
//! every new authentication when legacy broadcast is on (§5.2), so the ledger also remembers which legacy
//! names the application removed. [`Ledger::replay`] turns the state into the calls that rebuild it.

use std::collections::{BTreeMap, BTreeSet};

use camera_api::topics::{LEGACY_TOPICS, canonical_topic};
use camera_api::types::EventFilters;

/// Most topics one `subscribe_events` / `unsubscribe_events` call may carry.
const MAX_TOPICS_PER_CALL: usize = 64;

/// One call that rebuilds part of the subscription state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplayCall {
    /// `unsubscribe_events` with these topics.
    Unsubscribe(Vec<String>),
    /// `subscribe_events` with these topics and filters.
    Subscribe(Vec<String>, Option<EventFilters>),
}

/// The subscription state the application asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    topics: BTreeMap<String, Option<EventFilters>>,
    removed_legacy: BTreeSet<String>,
}

fn canonical(name: &str) -> String {
    canonical_topic(name).unwrap_or(name).to_owned()
}

fn normalise(filters: &Option<EventFilters>) -> Option<EventFilters> {
    filters.clone().filter(|f| !f.is_empty())
}

impl Ledger {
    /// Records a successful `subscribe_events(topics, filters)`.
    pub(crate) fn subscribed(&mut self, topics: &[String], filters: &Option<EventFilters>) {
        let filters = normalise(filters);
        for t in topics {
            let t = canonical(t);
            self.removed_legacy.remove(&t);
            self.topics.insert(t, filters.clone());
        }
    }

    /// Records a successful `unsubscribe_events(topics)`; `None` removed everything.
    pub(crate) fn unsubscribed(&mut self, topics: Option<&[String]>) {
        match topics {
            None => {
                self.topics.clear();
                self.removed_legacy = LEGACY_TOPICS.iter().map(|t| (*t).to_owned()).collect();
            }
            Some(topics) => {
                for t in topics {
                    let t = canonical(t);
                    self.topics.remove(&t);
                    if LEGACY_TOPICS.contains(&t.as_str()) {
                        self.removed_legacy.insert(t);
                    }
                }
            }
        }
    }

    /// The topics currently asked for.
    pub(crate) fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.keys().map(String::as_str)
    }

    /// The calls that rebuild this state on a freshly authenticated connection: first remove the legacy
    /// names the application removed, then subscribe topics grouped by identical filters.
    pub(crate) fn replay(&self) -> Vec<ReplayCall> {
        let mut calls = Vec::new();
        let removed: Vec<String> = self.removed_legacy.iter().cloned().collect();
        for chunk in removed.chunks(MAX_TOPICS_PER_CALL) {
            calls.push(ReplayCall::Unsubscribe(chunk.to_vec()));
        }
        let mut groups: Vec<(Option<EventFilters>, Vec<String>)> = Vec::new();
        for (topic, filters) in &self.topics {
            match groups.iter_mut().find(|(f, _)| f == filters) {
                Some((_, list)) => list.push(topic.clone()),
                None => groups.push((filters.clone(), vec![topic.clone()])),
            }
        }
        for (filters, topics) in groups {
            for chunk in topics.chunks(MAX_TOPICS_PER_CALL) {
                calls.push(ReplayCall::Subscribe(chunk.to_vec(), filters.clone()));
            }
        }
        calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    fn device(d: &str) -> Option<EventFilters> {
        Some(EventFilters {
            device: Some(d.to_owned()),
            ..EventFilters::default()
        })
    }

    #[test]
    fn empty_ledger_replays_nothing() {
        assert!(Ledger::default().replay().is_empty());
    }

    #[test]
    fn later_filters_replace_earlier_ones_and_aliases_are_canonical() {
        let mut l = Ledger::default();
        l.subscribed(&s(&["recording.started", "camera.connected"]), &device("camera0"));
        l.subscribed(&s(&["recording.start"]), &None);
        l.subscribed(&s(&["snapshot.taken"]), &Some(EventFilters::default()));
        assert_eq!(
            l.replay(),
            vec![
                ReplayCall::Subscribe(s(&["camera.connected"]), device("camera0")),
                ReplayCall::Subscribe(s(&["recording.start", "snapshot.taken"]), None),
            ]
        );
    }

    #[test]
    fn unsubscribing_removes_topics_and_remembers_legacy_removals() {
        let mut l = Ledger::default();
        l.subscribed(&s(&["camera.connected", "recording.stop"]), &None);
        l.unsubscribed(Some(&s(&["camera.connected", "camera_status_update"])));
        assert_eq!(
            l.replay(),
            vec![
                ReplayCall::Unsubscribe(s(&["camera_status_update"])),
                ReplayCall::Subscribe(s(&["recording.stop"]), None),
            ]
        );
        l.subscribed(&s(&["camera_status_update"]), &None);
        assert_eq!(
            l.replay(),
            vec![ReplayCall::Subscribe(
                s(&["camera_status_update", "recording.stop"]),
                None
            )]
        );
    }

    #[test]
    fn unsubscribe_all_removes_legacy_too() {
        let mut l = Ledger::default();
        l.subscribed(&s(&["camera.connected"]), &None);
        l.unsubscribed(None);
        assert_eq!(l.topics().count(), 0);
        assert_eq!(l.replay(), vec![ReplayCall::Unsubscribe(s(LEGACY_TOPICS))]);
    }

    #[test]
    fn many_topics_are_split_into_calls_of_at_most_64() {
        let mut l = Ledger::default();
        let many: Vec<String> = (0..70).map(|i| format!("custom.{i:02}")).collect();
        l.subscribed(&many, &None);
        let calls = l.replay();
        assert_eq!(calls.len(), 2);
        assert!(matches!(&calls[0], ReplayCall::Subscribe(t, None) if t.len() == 64));
    }
}
