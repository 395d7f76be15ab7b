//! Notification topics of API.md §5: canonical topics, legacy notification names and topic aliases.

/// Canonical topics (§5.3), in the order of the table. The notification `method` equals the topic.
pub const TOPICS: &[&str] = &[
    "camera.connected",
    "camera.disconnected",
    "camera.status_change",
    "camera.capability_detected",
    "camera.capability_error",
    "recording.start",
    "recording.stop",
    "recording.progress",
    "recording.segment",
    "recording.error",
    "snapshot.taken",
    "snapshot.error",
    "file.deleted",
    "storage.warning",
    "storage.cleanup",
    "system.health",
    "system.error",
    "system.startup",
    "system.shutdown",
    "mediamtx.stream_started",
    "mediamtx.stream_stopped",
    "mediamtx.path",
    "mediamtx.stream",
    "mediamtx.error",
];

/// Legacy notification names (§5.2), also accepted as topics.
pub const LEGACY_TOPICS: &[&str] = &[
    "camera_status_update",
    "recording_status_update",
    "system_health_update",
];

/// Topic aliases (§5.3) and the canonical topic each one is normalised to.
pub const TOPIC_ALIASES: &[(&str, &str)] = &[
    ("recording.started", "recording.start"),
    ("recording.stopped", "recording.stop"),
    ("mediamtx.recording_started", "recording.start"),
    ("mediamtx.recording_stopped", "recording.stop"),
    ("mediamtx.recording_failed", "recording.error"),
];

/// The canonical name for a topic, legacy name (maps to itself) or alias; `None` when unknown.
/// Matching is exact (case-sensitive).
pub fn canonical_topic(name: &str) -> Option<&'static str> {
    TOPICS
        .iter()
        .chain(LEGACY_TOPICS)
        .find(|t| **t == name)
        .copied()
        .or_else(|| {
            TOPIC_ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .map(|(_, canonical)| *canonical)
        })
}

/// Canonical and legacy names, as listed in `data.valid_topics` of an `invalid_topic` error.
pub fn valid_topic_names() -> Vec<&'static str> {
    TOPICS.iter().chain(LEGACY_TOPICS).copied().collect()
}

/// Whether `name` is a notification method sent by the server (canonical topic or legacy name).
pub fn is_notification_method(name: &str) -> bool {
    TOPICS.contains(&name) || LEGACY_TOPICS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalisation() {
        assert_eq!(canonical_topic("camera.connected"), Some("camera.connected"));
        assert_eq!(canonical_topic("camera_status_update"), Some("camera_status_update"));
        assert_eq!(canonical_topic("recording.started"), Some("recording.start"));
        assert_eq!(canonical_topic("mediamtx.recording_failed"), Some("recording.error"));
        assert_eq!(canonical_topic("camera"), None);
        assert_eq!(canonical_topic("Camera.Connected"), None);
        for (alias, canonical) in TOPIC_ALIASES {
            assert!(TOPICS.contains(canonical));
            assert!(!TOPICS.contains(alias));
        }
        assert_eq!(valid_topic_names().len(), TOPICS.len() + LEGACY_TOPICS.len());
    }
}
