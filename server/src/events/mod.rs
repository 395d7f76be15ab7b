//! The event bus: how state changes reach WebSocket clients as notifications (API.md §5).
//!
//! Owns the per-connection subscriptions (topics and their filters), the bounded outbound notification queues
//! and the delivery counters. Producers (camera registry, recorder, storage, health, ...) call
//! [`EventBus::publish`] / [`EventBus::publish_all`]; the WebSocket loop drains the receiver it got from
//! [`EventBus::register`] and closes the socket with 1013 when [`Subscriber::stalled_for`] exceeds
//! `notifications.stall_timeout`.
//!
//! Invariants:
//! - Publishing never blocks and never awaits: every queue is a bounded `tokio::sync::mpsc` channel fed with
//!   `try_send`; a full queue drops the notification for that connection and counts it.
//! - A notification is serialized once per topic and the same `Arc<str>` is shared by every receiving queue.
//! - Only subscribers whose session is authenticated and not expired receive anything.
//! - Locks (the subscriber table's `RwLock`, each subscriber's `Mutex`) are std locks held for a few
//!   instructions and never across an await.

mod bus;
mod filters;

pub use bus::{EventBus, GlobalStats, Subscriber, SubscriberStats};
pub use filters::Filters;
