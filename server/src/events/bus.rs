//! The bus itself: the table of subscribers (one per WebSocket connection) and fan-out of notifications.
//!
//! Ownership and invariants:
//! - [`EventBus`] owns the table `client_id → Subscriber`; a [`Subscriber`] owns its topics with their
//!   filters, its session validity (authenticated + expiry) and its delivery counters. The receiving half of
//!   its queue belongs to the connection's WebSocket loop.
//! - [`EventBus::publish_all`] never blocks: it holds the table's read lock and each subscriber's mutex only for
//!   in-memory checks and a `try_send`. A full queue drops the notification for that connection only.
//! - One call of `publish_all` serializes `params` once and each envelope once, sharing the `Arc<str>` among
//!   all receiving queues. Per connection, notifications arrive in the order of the `publish*` calls that
//!   produced them (a single producer's calls are totally ordered; so are the topics of one `publish_all`).

use super::filters::{EventView, Filters};
use crate::clock::{Clock, format_timestamp};
use crate::config::NotificationsConfig;
use camera_api::timestamp::parse_rfc3339;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// Metric names (API.md §7), labelled by `topic`.
const SENT_METRIC: &str = "camera_service_notifications_sent_total";
const DROPPED_METRIC: &str = "camera_service_notifications_dropped_total";

pub struct EventBus {
    clock: Arc<dyn Clock>,
    queue_capacity: usize,
    legacy_broadcast: bool,
    subscribers: RwLock<HashMap<String, Arc<Subscriber>>>,
    /// Notifications dropped for slow consumption since start, over all connections.
    dropped_total: AtomicU64,
    /// Unit tests of producers: every `publish*` call's (name, params as given), one entry per name.
    #[cfg(test)]
    pub log: Mutex<Vec<(String, Value)>>,
}

/// `get_subscription_stats.global_stats` (API.md §4.8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GlobalStats {
    /// Sum over connections of subscribed topics.
    pub total_subscriptions: u64,
    /// Connections with a valid session and at least one topic.
    pub active_clients: u64,
    /// Connections subscribed to each topic.
    pub topic_counts: BTreeMap<&'static str, u64>,
    /// Notifications dropped since start (all connections, including closed ones).
    pub dropped: u64,
}

/// `get_subscription_stats.client_stats` (API.md §4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriberStats {
    pub sent: u64,
    pub dropped: u64,
    pub queue_depth: u64,
    pub queue_capacity: u64,
}

impl EventBus {
    pub fn new(config: &NotificationsConfig, clock: Arc<dyn Clock>) -> Arc<EventBus> {
        Arc::new(EventBus {
            clock,
            queue_capacity: config.queue_capacity.max(1),
            legacy_broadcast: config.legacy_broadcast,
            subscribers: RwLock::new(HashMap::new()),
            dropped_total: AtomicU64::new(0),
            #[cfg(test)]
            log: Mutex::new(Vec::new()),
        })
    }

    /// A bus for producers' unit tests: default notification settings, a manual clock at
    /// 2025-01-15T14:30:00Z, and [`EventBus::log`] recording everything published.
    #[cfg(test)]
    pub fn new_for_tests() -> Arc<EventBus> {
        let clock = crate::clock::ManualClock::new(time::macros::datetime!(2025-01-15 14:30 UTC));
        EventBus::new(&NotificationsConfig::default(), clock)
    }

    /// Adds a subscriber for a new connection (replacing one registered under the same id) and returns it with
    /// the receiving end of its queue of serialized notifications. It receives nothing until
    /// [`Subscriber::on_authenticated`] is called and it subscribes (or is auto-subscribed) to topics.
    pub fn register(&self, client_id: &str) -> (Arc<Subscriber>, mpsc::Receiver<Arc<str>>) {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let subscriber = Arc::new(Subscriber {
            client_id: client_id.to_owned(),
            tx,
            capacity: self.queue_capacity,
            legacy_broadcast: self.legacy_broadcast,
            state: Mutex::new(SubscriptionState::default()),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            full_since: AtomicU64::new(0),
        });
        self.table_mut().insert(client_id.to_owned(), subscriber.clone());
        (subscriber, rx)
    }

    /// Removes a connection's subscriber (its queue closes once the subscriber itself is dropped).
    pub fn unregister(&self, client_id: &str) {
        self.table_mut().remove(client_id);
    }

    /// Publishes one notification: `method` = `topic` (a canonical topic or a legacy name).
    /// See [`EventBus::publish_all`].
    pub fn publish(&self, topic: &str, params: Value) {
        self.publish_all(&[topic], params);
    }

    /// Publishes the same event under several notification names, in order — e.g. a legacy name and its
    /// topic (`system_health_update` + `system.health`). `params` must be an object; `timestamp` (now, wire
    /// format) is added when absent, so all names carry the same timestamp. Delivered to every subscriber with
    /// a valid session that is subscribed to the name and whose filters for it all match. Never blocks.
    pub fn publish_all(&self, topics: &[&str], params: Value) {
        #[cfg(test)]
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(topics.iter().map(|t| ((*t).to_owned(), params.clone())));
        let Value::Object(mut params) = params else {
            tracing::warn!(?topics, "notification params must be an object; not published");
            return;
        };
        if !params.contains_key("timestamp") {
            params.insert("timestamp".into(), format_timestamp(self.clock.now()).into());
        }
        let device = params.get("device").and_then(Value::as_str);
        let timestamp = params.get("timestamp").and_then(Value::as_str).and_then(parse_rfc3339);
        let now = self.clock.now();
        let elapsed = self.clock.elapsed();
        let mut params_text: Option<String> = None;
        let table = self.table();
        for &name in topics {
            let Some(topic) = notification_name(name) else {
                tracing::warn!(topic = name, "publish of an unknown notification name; not published");
                continue;
            };
            let view = EventView {
                topic,
                device,
                timestamp,
            };
            let mut text: Option<Arc<str>> = None;
            let (mut sent, mut dropped) = (0u64, 0u64);
            for subscriber in table.values() {
                if !subscriber.wants(&view, now) {
                    continue;
                }
                let text = text.get_or_insert_with(|| {
                    // A map of JSON values always serializes.
                    let params = params_text
                        .get_or_insert_with(|| serde_json::to_string(&params).unwrap_or_else(|_| "{}".into()));
                    envelope(topic, params)
                });
                match subscriber.offer(text.clone(), elapsed) {
                    Offer::Sent => sent += 1,
                    Offer::Dropped => dropped += 1,
                    Offer::Closed => {}
                }
            }
            if sent > 0 {
                metrics::counter!(SENT_METRIC, "topic" => topic).increment(sent);
            }
            if dropped > 0 {
                self.dropped_total.fetch_add(dropped, Ordering::Relaxed);
                metrics::counter!(DROPPED_METRIC, "topic" => topic).increment(dropped);
            }
        }
    }

    /// Aggregate statistics for `get_subscription_stats.global_stats`.
    pub fn global_stats(&self) -> GlobalStats {
        let now = self.clock.now();
        let mut stats = GlobalStats {
            dropped: self.dropped_total.load(Ordering::Relaxed),
            ..GlobalStats::default()
        };
        for subscriber in self.table().values() {
            let state = subscriber.lock();
            if state.topics.is_empty() {
                continue;
            }
            stats.total_subscriptions += state.topics.len() as u64;
            if state.session_valid(now) {
                stats.active_clients += 1;
            }
            for (topic, _) in &state.topics {
                *stats.topic_counts.entry(topic).or_default() += 1;
            }
        }
        stats
    }

    /// Number of registered subscribers (open WebSocket connections).
    pub fn subscriber_count(&self) -> usize {
        self.table().len()
    }

    fn table(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Subscriber>>> {
        self.subscribers.read().unwrap_or_else(|p| p.into_inner())
    }

    fn table_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Subscriber>>> {
        self.subscribers.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `'static` name of a notification method the server sends (canonical topic or legacy name).
fn notification_name(name: &str) -> Option<&'static str> {
    camera_api::topics::TOPICS
        .iter()
        .chain(camera_api::topics::LEGACY_TOPICS)
        .find(|t| **t == name)
        .copied()
}

/// `{"jsonrpc":"2.0","method":…,"params":…}` — a notification never has an `id` member.
fn envelope(method: &str, params_json: &str) -> Arc<str> {
    // Topic names are plain ASCII identifiers from the contract crate; no JSON escaping is needed.
    debug_assert!(
        method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    );
    Arc::from(format!(
        r#"{{"jsonrpc":"2.0","method":"{method}","params":{params_json}}}"#
    ))
}

/// One connection's subscriptions and outbound notification queue.
pub struct Subscriber {
    /// The connection's opaque id (`get_subscription_stats.client_id`).
    pub client_id: String,
    tx: mpsc::Sender<Arc<str>>,
    capacity: usize,
    legacy_broadcast: bool,
    state: Mutex<SubscriptionState>,
    sent: AtomicU64,
    dropped: AtomicU64,
    /// `clock.elapsed()` in nanoseconds + 1 when the queue was first seen full; 0 while it is not full.
    full_since: AtomicU64,
}

#[derive(Default)]
struct SubscriptionState {
    session: Session,
    /// Set by the first `on_authenticated`; the legacy auto-subscription happens only then.
    ever_authenticated: bool,
    /// Subscribed topics in subscription order, each with its filters.
    topics: Vec<(&'static str, Filters)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Session {
    #[default]
    None,
    Active {
        expires_at: Option<OffsetDateTime>,
    },
}

impl SubscriptionState {
    fn session_valid(&self, now: OffsetDateTime) -> bool {
        match self.session {
            Session::None => false,
            Session::Active { expires_at } => expires_at.is_none_or(|at| now < at),
        }
    }
}

enum Offer {
    Sent,
    Dropped,
    Closed,
}

impl Subscriber {
    /// A successful `authenticate` on this connection: notifications flow until `expires_at` (`None` = no
    /// expiry). The first time, when `notifications.legacy_broadcast` is on, the three legacy names are
    /// subscribed (without filters). Re-authentication only replaces the expiry; subscriptions are kept.
    pub fn on_authenticated(&self, expires_at: Option<OffsetDateTime>) {
        let mut state = self.lock();
        state.session = Session::Active { expires_at };
        if !state.ever_authenticated {
            state.ever_authenticated = true;
            if self.legacy_broadcast {
                for &legacy in camera_api::topics::LEGACY_TOPICS {
                    if !state.topics.iter().any(|(t, _)| *t == legacy) {
                        state.topics.push((legacy, Filters::default()));
                    }
                }
            }
        }
    }

    /// The session ended before its expiry (its credential was revoked): nothing is delivered until the next
    /// `on_authenticated`. Subscriptions are kept.
    pub fn on_session_ended(&self) {
        self.lock().session = Session::None;
    }

    /// Adds `topics` (canonical or legacy names) to the subscription set; each gets `filters`, replacing the
    /// filters it had.
    pub fn subscribe(&self, topics: &[&'static str], filters: Filters) {
        let mut state = self.lock();
        for &topic in topics {
            match state.topics.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, existing)) => *existing = filters.clone(),
                None => state.topics.push((topic, filters.clone())),
            }
        }
    }

    /// Removes `topics` (all when `None`) and returns the ones that were actually subscribed, in the order
    /// given (`None`: subscription order).
    pub fn unsubscribe(&self, topics: Option<&[&'static str]>) -> Vec<&'static str> {
        let mut state = self.lock();
        match topics {
            None => state.topics.drain(..).map(|(t, _)| t).collect(),
            Some(topics) => {
                let mut removed = Vec::new();
                for &topic in topics {
                    if let Some(i) = state.topics.iter().position(|(t, _)| *t == topic) {
                        state.topics.remove(i);
                        removed.push(topic);
                    }
                }
                removed
            }
        }
    }

    /// Subscribed topics, in subscription order.
    pub fn topics(&self) -> Vec<&'static str> {
        self.lock().topics.iter().map(|(t, _)| *t).collect()
    }

    /// The filters applied to `topic`, if subscribed.
    pub fn filters(&self, topic: &str) -> Option<Filters> {
        self.lock()
            .topics
            .iter()
            .find(|(t, _)| *t == topic)
            .map(|(_, f)| f.clone())
    }

    pub fn stats(&self) -> SubscriberStats {
        let free = self.tx.capacity();
        SubscriberStats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            queue_depth: self.capacity.saturating_sub(free) as u64,
            queue_capacity: self.capacity as u64,
        }
    }

    /// How long the queue has been continuously full, measured on the bus clock's monotonic time (`now` =
    /// `clock.elapsed()`); `None` when it is not full. The WebSocket loop closes the connection with 1013 once
    /// this exceeds `notifications.stall_timeout`.
    pub fn stalled_for(&self, now: Duration) -> Option<Duration> {
        let since = self.full_since.load(Ordering::Acquire);
        if since == 0 {
            return None;
        }
        if self.tx.capacity() > 0 {
            // The consumer made room since; the next full queue starts a new stall.
            let _ = self
                .full_since
                .compare_exchange(since, 0, Ordering::AcqRel, Ordering::Relaxed);
            return None;
        }
        Some(now.saturating_sub(Duration::from_nanos(since - 1)))
    }

    fn wants(&self, event: &EventView<'_>, now: OffsetDateTime) -> bool {
        let state = self.lock();
        state.session_valid(now)
            && state
                .topics
                .iter()
                .find(|(t, _)| *t == event.topic)
                .is_some_and(|(_, filters)| filters.matches(event))
    }

    fn offer(&self, text: Arc<str>, now: Duration) -> Offer {
        match self.tx.try_send(text) {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
                if self.tx.capacity() == 0 {
                    self.mark_full(now);
                } else {
                    self.full_since.store(0, Ordering::Release);
                }
                Offer::Sent
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                self.mark_full(now);
                Offer::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Offer::Closed,
        }
    }

    fn mark_full(&self, now: Duration) {
        let stamp = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        let _ = self
            .full_since
            .compare_exchange(0, stamp, Ordering::AcqRel, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, SubscriptionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("client_id", &self.client_id)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use serde_json::json;
    use time::macros::datetime;

    fn bus_with(capacity: usize, legacy_broadcast: bool) -> (Arc<EventBus>, Arc<ManualClock>) {
        let clock = ManualClock::new(datetime!(2025-01-15 14:30 UTC));
        let config = NotificationsConfig {
            queue_capacity: capacity,
            stall_timeout: 30,
            legacy_broadcast,
        };
        (EventBus::new(&config, clock.clone()), clock)
    }

    fn drain(rx: &mut mpsc::Receiver<Arc<str>>) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(text) = rx.try_recv() {
            out.push(serde_json::from_str(&text).expect("valid JSON"));
        }
        out
    }

    fn methods(messages: &[Value]) -> Vec<&str> {
        messages.iter().map(|m| m["method"].as_str().unwrap_or("?")).collect()
    }

    #[test]
    fn envelope_has_no_id_and_a_timestamp() {
        let (bus, _clock) = bus_with(8, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        sub.subscribe(&["camera.connected"], Filters::default());
        bus.publish("camera.connected", json!({"device": "camera0"}));
        let got = drain(&mut rx);
        assert_eq!(
            got,
            vec![json!({"jsonrpc": "2.0", "method": "camera.connected",
                        "params": {"device": "camera0", "timestamp": "2025-01-15T14:30:00.000Z"}})]
        );
        assert!(got[0].get("id").is_none());
    }

    #[test]
    fn given_timestamp_is_kept() {
        let (bus, _clock) = bus_with(8, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        sub.subscribe(&["system.startup"], Filters::default());
        bus.publish("system.startup", json!({"timestamp": "2020-01-01T00:00:00.000Z"}));
        assert_eq!(drain(&mut rx)[0]["params"]["timestamp"], "2020-01-01T00:00:00.000Z");
    }

    #[test]
    fn nothing_before_authentication_and_only_subscribed_topics() {
        let (bus, _clock) = bus_with(8, true);
        let (sub, mut rx) = bus.register("c1");
        sub.subscribe(&["camera.connected"], Filters::default());
        bus.publish("camera.connected", json!({}));
        assert!(drain(&mut rx).is_empty(), "not authenticated yet");
        sub.on_authenticated(None);
        bus.publish("camera.connected", json!({}));
        bus.publish("camera.disconnected", json!({}));
        assert_eq!(methods(&drain(&mut rx)), ["camera.connected"]);
    }

    #[test]
    fn filters_are_applied_per_topic_and_replaced() {
        let (bus, _clock) = bus_with(8, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        let cam0 = Filters::parse(Some("camera0"), None, None, None).expect("valid");
        sub.subscribe(&["camera.connected", "recording.start"], cam0);
        bus.publish("camera.connected", json!({"device": "camera1"}));
        bus.publish("recording.start", json!({"device": "camera0"}));
        assert_eq!(methods(&drain(&mut rx)), ["recording.start"]);
        // Re-subscribing one topic replaces its filters only.
        sub.subscribe(&["camera.connected"], Filters::default());
        bus.publish("camera.connected", json!({"device": "camera1"}));
        bus.publish("recording.start", json!({"device": "camera1"}));
        assert_eq!(methods(&drain(&mut rx)), ["camera.connected"]);
        assert_eq!(sub.topics(), ["camera.connected", "recording.start"]);
    }

    #[test]
    fn timestamp_filters_use_the_event_timestamp() {
        let (bus, clock) = bus_with(8, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        let after = Filters::parse(None, None, Some("2025-01-15T14:30:00.000Z"), None).expect("valid");
        sub.subscribe(&["snapshot.taken"], after);
        bus.publish("snapshot.taken", json!({}));
        assert!(drain(&mut rx).is_empty(), "equal timestamp is not strictly later");
        clock.advance(Duration::from_millis(1));
        bus.publish("snapshot.taken", json!({}));
        assert_eq!(drain(&mut rx).len(), 1);
    }

    #[test]
    fn full_queue_drops_and_counts_without_blocking() {
        let (bus, clock) = bus_with(2, false);
        let (sub, mut rx) = bus.register("c1");
        let (other, mut other_rx) = bus.register("c2");
        for s in [&sub, &other] {
            s.on_authenticated(None);
            s.subscribe(&["recording.progress"], Filters::default());
        }
        for i in 0..5 {
            bus.publish("recording.progress", json!({"elapsed": i}));
            // keep the second consumer fast
            assert_eq!(drain(&mut other_rx).len(), 1);
        }
        let stats = sub.stats();
        assert_eq!(
            (stats.sent, stats.dropped, stats.queue_depth, stats.queue_capacity),
            (2, 3, 2, 2)
        );
        assert_eq!(other.stats().dropped, 0);
        assert_eq!(bus.global_stats().dropped, 3);
        // The queue holds the first two, in order.
        let got = drain(&mut rx);
        assert_eq!(
            got.iter().map(|m| m["params"]["elapsed"].as_i64()).collect::<Vec<_>>(),
            [Some(0), Some(1)]
        );
        // Room again: the stall is over and delivery resumes.
        assert_eq!(sub.stalled_for(clock.elapsed()), None);
        bus.publish("recording.progress", json!({"elapsed": 5}));
        assert_eq!(drain(&mut rx).len(), 1);
        assert_eq!(sub.stats().dropped, 3);
    }

    #[test]
    fn stall_is_measured_from_when_the_queue_became_full() {
        let (bus, clock) = bus_with(1, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        sub.subscribe(&["recording.progress"], Filters::default());
        assert_eq!(sub.stalled_for(clock.elapsed()), None);
        clock.advance(Duration::from_secs(3));
        bus.publish("recording.progress", json!({}));
        clock.advance(Duration::from_secs(10));
        bus.publish("recording.progress", json!({}));
        clock.advance(Duration::from_secs(21));
        assert_eq!(sub.stalled_for(clock.elapsed()), Some(Duration::from_secs(31)));
        drain(&mut rx);
        assert_eq!(sub.stalled_for(clock.elapsed()), None);
    }

    #[test]
    fn order_is_preserved_per_connection() {
        let (bus, _clock) = bus_with(64, true);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        sub.subscribe(&["system.health", "camera.connected"], Filters::default());
        for i in 0..20 {
            if i % 3 == 0 {
                bus.publish_all(&["system_health_update", "system.health"], json!({"n": i}));
            } else {
                bus.publish("camera.connected", json!({"n": i}));
            }
        }
        let got = drain(&mut rx);
        let ns: Vec<i64> = got.iter().filter_map(|m| m["params"]["n"].as_i64()).collect();
        let mut sorted = ns.clone();
        sorted.sort();
        assert_eq!(ns, sorted);
        assert_eq!(methods(&got[..2]), ["system_health_update", "system.health"]);
        assert_eq!(got[0]["params"], got[1]["params"], "one timestamp for both names");
    }

    #[test]
    fn legacy_names_are_subscribed_on_first_authentication_only() {
        let (bus, _clock) = bus_with(8, true);
        let (sub, mut rx) = bus.register("c1");
        assert!(sub.topics().is_empty());
        sub.on_authenticated(None);
        assert_eq!(
            sub.topics(),
            [
                "camera_status_update",
                "recording_status_update",
                "system_health_update"
            ]
        );
        bus.publish("camera_status_update", json!({"device": "camera0"}));
        assert_eq!(drain(&mut rx).len(), 1);
        assert_eq!(
            sub.unsubscribe(Some(&["camera_status_update", "camera.connected"])),
            ["camera_status_update"]
        );
        sub.on_authenticated(None);
        assert_eq!(
            sub.topics(),
            ["recording_status_update", "system_health_update"],
            "not re-added"
        );
        assert_eq!(
            sub.unsubscribe(None),
            ["recording_status_update", "system_health_update"]
        );
        assert!(sub.topics().is_empty());

        let (bus, _clock) = bus_with(8, false);
        let (sub, _rx) = bus.register("c2");
        sub.on_authenticated(None);
        assert!(sub.topics().is_empty(), "legacy_broadcast off");
    }

    #[test]
    fn expiry_stops_delivery_and_reauthentication_resumes_it() {
        let (bus, clock) = bus_with(8, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(Some(datetime!(2025-01-15 14:31 UTC)));
        sub.subscribe(&["camera.connected"], Filters::default());
        bus.publish("camera.connected", json!({}));
        assert_eq!(drain(&mut rx).len(), 1);
        assert_eq!(bus.global_stats().active_clients, 1);
        clock.advance(Duration::from_secs(60));
        bus.publish("camera.connected", json!({}));
        assert!(drain(&mut rx).is_empty(), "expired at exactly the expiry time");
        assert_eq!(bus.global_stats().active_clients, 0);
        sub.on_authenticated(Some(datetime!(2025-01-15 15:00 UTC)));
        bus.publish("camera.connected", json!({}));
        assert_eq!(drain(&mut rx).len(), 1, "subscriptions survive re-authentication");
        sub.on_session_ended();
        bus.publish("camera.connected", json!({}));
        assert!(drain(&mut rx).is_empty(), "revoked");
    }

    #[test]
    fn global_stats_and_unregister() {
        let (bus, _clock) = bus_with(8, true);
        let (a, _ra) = bus.register("a");
        let (b, _rb) = bus.register("b");
        let (_c, _rc) = bus.register("c");
        a.on_authenticated(None);
        b.on_authenticated(None);
        a.subscribe(&["camera.connected"], Filters::default());
        b.unsubscribe(None);
        b.subscribe(&["camera.connected", "recording.start"], Filters::default());
        let stats = bus.global_stats();
        assert_eq!(stats.total_subscriptions, 6);
        assert_eq!(stats.active_clients, 2);
        assert_eq!(stats.topic_counts.get("camera.connected"), Some(&2));
        assert_eq!(stats.topic_counts.get("camera_status_update"), Some(&1));
        assert_eq!(bus.subscriber_count(), 3);
        bus.unregister("a");
        assert_eq!(bus.subscriber_count(), 2);
        assert_eq!(bus.global_stats().total_subscriptions, 2);
    }

    #[test]
    fn unknown_names_and_non_objects_are_not_published() {
        let (bus, _clock) = bus_with(8, false);
        let (sub, mut rx) = bus.register("c1");
        sub.on_authenticated(None);
        sub.subscribe(&["camera.connected"], Filters::default());
        bus.publish("camera.bogus", json!({}));
        bus.publish("camera.connected", json!([1, 2]));
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn test_bus_logs_what_producers_publish() {
        let bus = EventBus::new_for_tests();
        bus.publish_all(
            &["camera_status_update", "camera.connected"],
            json!({"device": "camera0"}),
        );
        let log = bus.log.lock().expect("log");
        assert_eq!(log.len(), 2);
        assert_eq!(log[1], ("camera.connected".to_owned(), json!({"device": "camera0"})));
    }

    #[test]
    fn one_serialization_is_shared_by_all_queues() {
        let (bus, _clock) = bus_with(8, false);
        let (a, mut ra) = bus.register("a");
        let (b, mut rb) = bus.register("b");
        for s in [&a, &b] {
            s.on_authenticated(None);
            s.subscribe(&["file.deleted"], Filters::default());
        }
        bus.publish("file.deleted", json!({"filename": "x.jpg"}));
        let (ta, tb) = (ra.try_recv().expect("a"), rb.try_recv().expect("b"));
        assert!(Arc::ptr_eq(&ta, &tb));
    }
}
