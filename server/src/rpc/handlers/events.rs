//! `subscribe_events`, `unsubscribe_events`, `get_subscription_stats` (API.md §4.8): thin handlers over the
//! connection's event [`Subscriber`].
//!
//! The dispatcher has already validated types, lengths and unknown keys against the contract; these handlers
//! normalise aliases to canonical topics, repeat the checks whose failure would otherwise corrupt a
//! subscription (unknown topic, filter values, `timestamp_after ≥ timestamp_before`), and map the bus's
//! answers to the contract's result types. Over HTTP there is no subscriber: `requires_websocket`.

use crate::events::{EventBus, Filters, Subscriber};
use crate::rpc::call::{Call, parse};
use crate::{Error, ErrorKind};
use camera_api::types::{
    ClientSubscriptionStats, GetSubscriptionStatsResult, GlobalSubscriptionStats, SubscribeEventsParams,
    SubscribeEventsResult, UnsubscribeEventsParams, UnsubscribeEventsResult,
};
use serde_json::{Map, Value};
use std::sync::Arc;

pub async fn subscribe_events(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let params: SubscribeEventsParams = parse(params)?;
    to_value(subscribe(subscriber(&call)?, params)?)
}

pub async fn unsubscribe_events(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let params: UnsubscribeEventsParams = parse(params)?;
    to_value(unsubscribe(subscriber(&call)?, params)?)
}

pub async fn get_subscription_stats(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    to_value(subscription_stats(&call.app.events, subscriber(&call)?))
}

fn subscriber(call: &Call) -> crate::Result<&Arc<Subscriber>> {
    call.conn.subscriber.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            "requires_websocket",
            "Event subscriptions need a WebSocket connection",
        )
        .with("feature", "websocket")
        .suggest("Connect to /ws")
    })
}

fn to_value<T: serde::Serialize>(result: T) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

/// Canonical names for topic params (aliases normalised, duplicates removed, order kept); an unknown name
/// fails the whole call with `invalid_topic` and `data.valid_topics`.
fn canonical_topics(names: &[String]) -> crate::Result<Vec<&'static str>> {
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        let topic = camera_api::canonical_topic(name).ok_or_else(|| {
            Error::invalid_param("invalid_topic", "topics", format!("Unknown topic {name:?}"))
                .with("valid_topics", camera_api::valid_topic_names())
                .suggest("Use a topic listed in data.valid_topics")
        })?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    Ok(topics)
}

/// Adds the topics with this call's filters (replacing earlier filters of those topics).
pub fn subscribe(subscriber: &Subscriber, params: SubscribeEventsParams) -> crate::Result<SubscribeEventsResult> {
    let topics = canonical_topics(&params.topics)?;
    let given = params.filters.unwrap_or_default();
    let filters = Filters::parse(
        given.device.as_deref(),
        given.topic.as_deref(),
        given.timestamp_after.as_deref(),
        given.timestamp_before.as_deref(),
    )?;
    subscriber.subscribe(&topics, filters);
    Ok(SubscribeEventsResult {
        subscribed: true,
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        filters: given,
    })
}

/// Removes the given topics (every subscription when `topics` is omitted or null).
pub fn unsubscribe(subscriber: &Subscriber, params: UnsubscribeEventsParams) -> crate::Result<UnsubscribeEventsResult> {
    let removed = match params.topics {
        None => subscriber.unsubscribe(None),
        Some(names) => subscriber.unsubscribe(Some(&canonical_topics(&names)?)),
    };
    Ok(UnsubscribeEventsResult {
        unsubscribed: true,
        topics: removed.into_iter().map(str::to_owned).collect(),
    })
}

pub fn subscription_stats(bus: &EventBus, subscriber: &Subscriber) -> GetSubscriptionStatsResult {
    let global = bus.global_stats();
    let client = subscriber.stats();
    GetSubscriptionStatsResult {
        global_stats: GlobalSubscriptionStats {
            total_subscriptions: global.total_subscriptions,
            active_clients: global.active_clients,
            topic_counts: global
                .topic_counts
                .into_iter()
                .map(|(t, n)| (t.to_owned(), n))
                .collect(),
            dropped: global.dropped,
        },
        client_topics: subscriber.topics().into_iter().map(str::to_owned).collect(),
        client_id: subscriber.client_id.clone(),
        client_stats: ClientSubscriptionStats {
            sent: client.sent,
            dropped: client.dropped,
            queue_depth: client.queue_depth,
            queue_capacity: client.queue_capacity,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::NotificationsConfig;
    use serde_json::json;

    fn setup() -> (Arc<EventBus>, Arc<Subscriber>, tokio::sync::mpsc::Receiver<Arc<str>>) {
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30 UTC));
        let bus = EventBus::new(&NotificationsConfig::default(), clock);
        let (sub, rx) = bus.register("c_00000001");
        sub.on_authenticated(None);
        (bus, sub, rx)
    }

    fn params<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("params")
    }

    #[test]
    fn subscribe_normalises_aliases_and_echoes_filters() {
        let (_bus, sub, _rx) = setup();
        let result = subscribe(
            &sub,
            params(
                json!({"topics": ["recording.started", "camera.connected", "recording.start"],
                          "filters": {"device": "camera0"}}),
            ),
        )
        .expect("subscribed");
        assert_eq!(
            serde_json::to_value(&result).expect("json"),
            json!({"subscribed": true, "topics": ["recording.start", "camera.connected"], "filters": {"device": "camera0"}})
        );
        assert_eq!(
            sub.topics(),
            [
                "camera_status_update",
                "recording_status_update",
                "system_health_update",
                "recording.start",
                "camera.connected"
            ]
        );
        assert_eq!(
            sub.filters("recording.start").and_then(|f| f.device),
            Some("camera0".into())
        );
        let plain = subscribe(&sub, params(json!({"topics": ["recording.start"]}))).expect("subscribed");
        assert_eq!(serde_json::to_value(&plain.filters).expect("json"), json!({}));
        assert!(
            sub.filters("recording.start").is_some_and(|f| f.is_empty()),
            "filters replaced"
        );
    }

    #[test]
    fn unknown_topic_fails_the_whole_call() {
        let (_bus, sub, _rx) = setup();
        let e =
            subscribe(&sub, params(json!({"topics": ["camera.connected", "camera.exploded"]}))).expect_err("unknown");
        assert_eq!((e.kind, e.reason), (ErrorKind::InvalidArgument, "invalid_topic"));
        assert_eq!(e.data["param"], "topics");
        assert!(
            e.data["valid_topics"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("system_health_update")))
        );
        assert!(!sub.topics().contains(&"camera.connected"), "nothing was added");
    }

    #[test]
    fn bad_filters_are_rejected() {
        let (_bus, sub, _rx) = setup();
        let e = subscribe(
            &sub,
            params(json!({"topics": ["camera.connected"],
                          "filters": {"timestamp_after": "2025-01-15T15:00:00Z", "timestamp_before": "2025-01-15T14:00:00Z"}})),
        )
        .expect_err("conflicting");
        assert_eq!(
            (e.reason, e.data["param"].as_str()),
            ("conflicting_params", Some("filters.timestamp_before"))
        );
        let e = subscribe(
            &sub,
            params(json!({"topics": ["camera.connected"], "filters": {"device": "../x"}})),
        )
        .expect_err("bad device");
        assert_eq!(e.reason, "invalid_device");
    }

    #[test]
    fn unsubscribe_reports_what_was_removed() {
        let (_bus, sub, _rx) = setup();
        subscribe(&sub, params(json!({"topics": ["camera.connected"]}))).expect("subscribed");
        let r = unsubscribe(
            &sub,
            params(json!({"topics": ["camera.connected", "recording.stopped"]})),
        )
        .expect("ok");
        assert_eq!(r.topics, ["camera.connected"]);
        let r = unsubscribe(&sub, params(json!({}))).expect("ok");
        assert_eq!(
            r.topics,
            [
                "camera_status_update",
                "recording_status_update",
                "system_health_update"
            ]
        );
        assert!(sub.topics().is_empty());
        assert_eq!(
            unsubscribe(&sub, params(json!({"topics": ["nope"]})))
                .expect_err("unknown")
                .reason,
            "invalid_topic"
        );
    }

    #[test]
    fn stats_for_this_connection_and_all() {
        let (bus, sub, _rx) = setup();
        subscribe(&sub, params(json!({"topics": ["camera.connected"]}))).expect("subscribed");
        bus.publish("camera.connected", json!({"device": "camera0"}));
        let stats = serde_json::to_value(subscription_stats(&bus, &sub)).expect("json");
        assert_eq!(stats["client_id"], "c_00000001");
        assert_eq!(stats["client_topics"][3], "camera.connected");
        assert_eq!(
            stats["client_stats"],
            json!({"sent": 1, "dropped": 0, "queue_depth": 1, "queue_capacity": 256})
        );
        assert_eq!(stats["global_stats"]["total_subscriptions"], 4);
        assert_eq!(stats["global_stats"]["active_clients"], 1);
        assert_eq!(stats["global_stats"]["topic_counts"]["camera.connected"], 1);
        assert_eq!(stats["global_stats"]["dropped"], 0);
    }
}
