//! Event subscriptions (API.md §4.8, §5.4): `subscribe_events`, `unsubscribe_events`,
//! `get_subscription_stats`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoParams;

/// Filters of a subscription (§5.4); all set filters must match. Also echoed in the result.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct EventFilters {
    /// `params.device` equals it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Topic equals it or starts with it followed by `.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// `params.timestamp` strictly later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub timestamp_after: Option<String>,
    /// `params.timestamp` strictly earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub timestamp_before: Option<String>,
}

impl EventFilters {
    /// No filter set.
    pub fn is_empty(&self) -> bool {
        *self == EventFilters::default()
    }
}

/// Params of `subscribe_events`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SubscribeEventsParams {
    /// Topics, legacy names or aliases (1..64).
    pub topics: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<EventFilters>,
}

/// Result of `subscribe_events`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SubscribeEventsResult {
    pub subscribed: bool,
    /// Canonical names from this call.
    pub topics: Vec<String>,
    /// Filters as applied.
    pub filters: EventFilters,
}

/// Params of `unsubscribe_events`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeEventsParams {
    /// Topics to remove; omitted or `null` removes every subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
}

/// Result of `unsubscribe_events`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct UnsubscribeEventsResult {
    pub unsubscribed: bool,
    /// Canonical names actually removed.
    pub topics: Vec<String>,
}

/// Params of `get_subscription_stats`.
pub type GetSubscriptionStatsParams = NoParams;

/// `get_subscription_stats.global_stats`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct GlobalSubscriptionStats {
    /// Sum over connections of subscribed topics.
    pub total_subscriptions: u64,
    /// Authenticated connections with at least one topic.
    pub active_clients: u64,
    /// Connections per topic.
    pub topic_counts: BTreeMap<String, u64>,
    /// Notifications dropped since start for slow consumption.
    pub dropped: u64,
}

/// `get_subscription_stats.client_stats` (this connection).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct ClientSubscriptionStats {
    pub sent: u64,
    pub dropped: u64,
    pub queue_depth: u64,
    pub queue_capacity: u64,
}

/// Result of `get_subscription_stats`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetSubscriptionStatsResult {
    pub global_stats: GlobalSubscriptionStats,
    /// Topics of this connection.
    pub client_topics: Vec<String>,
    /// Opaque id of this connection.
    pub client_id: String,
    pub client_stats: ClientSubscriptionStats,
}
