//! Server notifications (API.md §5) as typed events, and [`EventStream`], a filtered view of them.
//!
//! Every connection's notifications go into one bounded broadcast channel; each [`EventStream`] is a
//! receiver with its own client-side filter (topic prefixes and device, with the server's matching rules of
//! §5.4). A stream that falls more than the buffer behind skips the oldest events and counts them in
//! [`EventStream::lost`]; nothing upstream ever waits for a slow stream. Which notifications the server
//! sends at all is decided by `subscribe_events` (see [`crate::Client::subscribe`]).

use std::sync::Arc;

use camera_api::notifications::*;
use camera_api::topics::canonical_topic;
use futures_util::Stream;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::state::Link;

macro_rules! payloads {
    ($($method:literal => $variant:ident($ty:ty)),* $(,)?) => {
        /// The notification methods with a typed payload (checked against the contract by a test).
        #[cfg(test)]
        const TYPED: &[&str] = &[$($method),*];

        /// The typed `params` of a notification, by method.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum EventPayload {
            $(
                #[doc = concat!("`", $method, "`")]
                $variant($ty),
            )*
            /// A notification this SDK version does not know, or whose params did not match the contract
            /// type; the raw params are in [`Event::params`].
            Other,
        }

        impl EventPayload {
            /// Decodes `params` of the notification `method`.
            pub fn decode(method: &str, params: &Value) -> EventPayload {
                match method {
                    $(
                        $method => serde_json::from_value::<$ty>(params.clone())
                            .map(EventPayload::$variant)
                            .unwrap_or(EventPayload::Other),
                    )*
                    _ => EventPayload::Other,
                }
            }
        }
    };
}

payloads! {
    "camera_status_update" => CameraStatusUpdate(CameraStatusUpdate),
    "recording_status_update" => RecordingStatusUpdate(RecordingStatusUpdate),
    "system_health_update" => SystemHealthUpdate(SystemHealthUpdate),
    "camera.connected" => CameraConnected(CameraConnected),
    "camera.disconnected" => CameraDisconnected(CameraDisconnected),
    "camera.status_change" => CameraStatusChange(CameraStatusChange),
    "camera.capability_detected" => CameraCapabilityDetected(CameraCapabilityDetected),
    "camera.capability_error" => CameraCapabilityError(CameraCapabilityError),
    "recording.start" => RecordingStart(RecordingStart),
    "recording.stop" => RecordingStop(RecordingStop),
    "recording.progress" => RecordingProgress(RecordingProgress),
    "recording.segment" => RecordingSegment(RecordingSegment),
    "recording.error" => RecordingError(RecordingError),
    "snapshot.taken" => SnapshotTaken(SnapshotTaken),
    "snapshot.error" => SnapshotError(SnapshotError),
    "file.deleted" => FileDeleted(FileDeleted),
    "storage.warning" => StorageWarning(StorageWarning),
    "storage.cleanup" => StorageCleanup(StorageCleanup),
    "system.health" => SystemHealth(SystemHealth),
    "system.error" => SystemError(SystemError),
    "system.startup" => SystemStartup(SystemStartup),
    "system.shutdown" => SystemShutdown(SystemShutdown),
    "mediamtx.stream_started" => MediamtxStreamStarted(MediamtxStreamEvent),
    "mediamtx.stream_stopped" => MediamtxStreamStopped(MediamtxStreamEvent),
    "mediamtx.path" => MediamtxPath(MediamtxStreamEvent),
    "mediamtx.stream" => MediamtxStream(MediamtxStreamEvent),
    "mediamtx.error" => MediamtxError(MediamtxError),
}

/// One notification received from the server.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The notification method: a topic (`recording.stop`) or a legacy name (`camera_status_update`).
    pub method: String,
    /// The raw `params` object, exactly as sent.
    pub params: Value,
    /// The typed params.
    pub payload: EventPayload,
}

impl Event {
    /// An event from a notification's method and params.
    pub fn new(method: impl Into<String>, params: Value) -> Event {
        let method = method.into();
        let payload = EventPayload::decode(&method, &params);
        Event {
            method,
            params,
            payload,
        }
    }

    /// `params.device`, when the event concerns a camera.
    pub fn device(&self) -> Option<&str> {
        self.params.get("device").and_then(Value::as_str)
    }

    /// `params.timestamp` (RFC 3339).
    pub fn timestamp(&self) -> Option<&str> {
        self.params.get("timestamp").and_then(Value::as_str)
    }
}

/// A client-side filter: which events an [`EventStream`] yields. Empty = everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Topic prefixes: an event matches one when its method equals it or starts with it followed by `.`
    /// (`recording` matches `recording.stop`). Aliases are normalised. Empty = any topic.
    pub topics: Vec<String>,
    /// Only events whose `params.device` equals this.
    pub device: Option<String>,
}

impl EventFilter {
    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &Event) -> bool {
        let topic_ok = self.topics.is_empty()
            || self.topics.iter().any(|t| {
                let t = canonical_topic(t).unwrap_or(t);
                event.method == t || event.method.strip_prefix(t).is_some_and(|rest| rest.starts_with('.'))
            });
        let device_ok = self.device.as_deref().is_none_or(|d| event.device() == Some(d));
        topic_ok && device_ok
    }
}

/// A stream of events from one client, filtered on the client side. Ends when the client is closed.
#[derive(Debug)]
pub struct EventStream {
    rx: broadcast::Receiver<Arc<Event>>,
    filter: EventFilter,
    lost: u64,
    /// The client's connection slot, to end the stream once the client is closed.
    link: Option<watch::Receiver<Link>>,
}

impl EventStream {
    pub(crate) fn new(
        rx: broadcast::Receiver<Arc<Event>>,
        filter: EventFilter,
        link: Option<watch::Receiver<Link>>,
    ) -> EventStream {
        EventStream {
            rx,
            filter,
            lost: 0,
            link,
        }
    }

    /// Also yield events of this topic (or topic prefix, e.g. `recording`).
    pub fn topic(mut self, topic: impl Into<String>) -> EventStream {
        self.filter.topics.push(topic.into());
        self
    }

    /// Only yield events of this camera.
    pub fn device(mut self, device: impl Into<String>) -> EventStream {
        self.filter.device = Some(device.into());
        self
    }

    /// The filter in effect.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// Events skipped because this stream fell behind by more than the buffer.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The next matching event; `None` once the client is closed (after the events already received).
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        loop {
            let received = match &mut self.link {
                Some(link) => tokio::select! {
                    biased;
                    r = self.rx.recv() => r,
                    _ = link.wait_for(|l| matches!(l, Link::Closed(_))) => {
                        // Hand out what already arrived, then end.
                        match self.rx.try_recv() {
                            Ok(event) => Ok(event),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => Err(broadcast::error::RecvError::Lagged(n)),
                            Err(_) => return None,
                        }
                    }
                },
                None => self.rx.recv().await,
            };
            match received {
                Ok(event) if self.filter.matches(&event) => return Some(event),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => self.lost += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// As a [`futures_util::Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Arc<Event>> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(self, |mut s| async move {
            s.next().await.map(|e| (e, s))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stop_event(device: &str) -> Event {
        Event::new(
            "recording.stop",
            json!({"device":device,"filename":"a.mp4","files":["a.mp4"],"start_time":"2025-01-15T14:30:00.000Z",
                "end_time":"2025-01-15T14:31:00.000Z","duration":60,"file_size":10,"format":"fmp4",
                "reason":"duration_elapsed","timestamp":"2025-01-15T14:31:00.000Z"}),
        )
    }

    #[test]
    fn known_notifications_decode_to_their_type() {
        let e = stop_event("camera0");
        assert!(matches!(&e.payload, EventPayload::RecordingStop(s) if s.reason == "duration_elapsed"));
        assert_eq!(e.device(), Some("camera0"));
        assert_eq!(e.timestamp(), Some("2025-01-15T14:31:00.000Z"));
    }

    #[test]
    fn every_contract_notification_has_a_typed_payload() {
        let contract: Vec<&str> = NOTIFICATIONS.iter().map(|n| n.name).collect();
        assert_eq!(TYPED, contract.as_slice());
    }

    #[test]
    fn unknown_or_malformed_notifications_are_other() {
        let e = Event::new("future.topic", json!({"timestamp":"2025-01-15T14:31:00.000Z"}));
        assert_eq!(e.payload, EventPayload::Other);
        let bad = Event::new("recording.stop", json!({"device": 5}));
        assert_eq!(bad.payload, EventPayload::Other);
        assert_eq!(bad.params, json!({"device": 5}));
    }

    #[test]
    fn filter_uses_topic_prefixes_aliases_and_device() {
        let e = stop_event("camera0");
        let f = |topics: &[&str], device: Option<&str>| EventFilter {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            device: device.map(str::to_owned),
        };
        assert!(f(&[], None).matches(&e));
        assert!(f(&["recording"], None).matches(&e));
        assert!(f(&["recording.stop"], Some("camera0")).matches(&e));
        assert!(f(&["recording.stopped"], None).matches(&e));
        assert!(!f(&["record"], None).matches(&e));
        assert!(!f(&["camera"], None).matches(&e));
        assert!(!f(&[], Some("camera1")).matches(&e));
    }

    #[tokio::test]
    async fn stream_filters_counts_lag_and_ends_when_closed() {
        let (tx, rx) = broadcast::channel(2);
        let mut s = EventStream::new(rx, EventFilter::default(), None).device("camera1");
        for d in ["camera0", "camera1", "camera1", "camera1"] {
            let _ = tx.send(Arc::new(stop_event(d)));
        }
        drop(tx);
        let got = s.next().await;
        assert_eq!(got.as_deref().and_then(Event::device), Some("camera1"));
        assert_eq!(s.lost(), 2);
        assert!(s.next().await.is_some());
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn stream_ends_when_the_client_closes_after_draining() {
        let (tx, rx) = broadcast::channel(8);
        let (link_tx, link_rx) = watch::channel(Link::Down {
            attempt: 0,
            error: String::new(),
        });
        let mut s = EventStream::new(rx, EventFilter::default(), Some(link_rx));
        let _ = tx.send(Arc::new(stop_event("camera0")));
        link_tx.send_replace(Link::Closed("closed by the application".into()));
        assert!(s.next().await.is_some(), "queued events are still delivered");
        let end = tokio::time::timeout(std::time::Duration::from_secs(1), s.next()).await;
        assert_eq!(end.ok().map(|e| e.is_none()), Some(true));
        drop(tx);
    }
}
