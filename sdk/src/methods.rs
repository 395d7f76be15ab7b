//! One typed async method on [`Client`] per contract method, each delegating to the camera-api
//! [`CameraApiClient`] trait on the current connection. Signatures are the trait's (wire param names,
//! `Option` for optional params, camera-api result types); only the error type becomes [`SdkError`].
//!
//! `authenticate`, `subscribe_events` and `unsubscribe_events` also update what a reconnect restores (the
//! credential and the subscription ledger), so they are written out below the generated ones.

use camera_api::client::CameraApiClient;
use camera_api::role::Role;
use camera_api::types::*;

use crate::client::Client;
use crate::credentials::Credentials;
use crate::error::SdkError;

macro_rules! delegate {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; )*) => {
        /// The methods generated below (checked against the contract's method table by a test).
        #[cfg(test)]
        const GENERATED: &[&str] = &[$(stringify!($name)),*];

        impl Client {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret, SdkError> {
                    self.call(move |rpc| async move { rpc.$name($($arg),*).await }).await
                }
            )*
        }
    };
}

delegate! {
    /// `ping`: `"pong"`; no authentication needed, not rate limited.
    fn ping() -> PingResult;
    /// `rpc.discover`: the OpenRPC document.
    fn rpc_discover() -> RpcDiscoverResult;
    /// `issue_token`: a JWT for the caller's identity, role ≤ the caller's.
    fn issue_token(ttl_seconds: Option<u32>, role: Option<Role>) -> IssueTokenResult;
    /// `get_download_url`: a short-lived download URL (`kind`: `recording` | `snapshot`).
    fn get_download_url(kind: String, filename: String) -> GetDownloadUrlResult;

    /// `get_camera_list`.
    fn get_camera_list() -> GetCameraListResult;
    /// `get_camera_status`.
    fn get_camera_status(device: String) -> GetCameraStatusResult;
    /// `get_camera_capabilities`.
    fn get_camera_capabilities(device: String) -> GetCameraCapabilitiesResult;

    /// `take_snapshot`.
    fn take_snapshot(
        device: String,
        filename: Option<String>,
        format: Option<String>,
        quality: Option<u32>,
        max_width: Option<u32>,
        max_height: Option<u32>,
    ) -> TakeSnapshotResult;
    /// `start_recording`: open-ended, or timed with `duration` seconds.
    fn start_recording(device: String, duration: Option<u64>, format: Option<String>) -> StartRecordingResult;
    /// `stop_recording`.
    fn stop_recording(device: String) -> StopRecordingResult;

    /// `list_recordings`, newest first.
    fn list_recordings(limit: Option<u32>, offset: Option<u64>, device: Option<String>) -> ListRecordingsResult;
    /// `list_snapshots`, newest first.
    fn list_snapshots(limit: Option<u32>, offset: Option<u64>, device: Option<String>) -> ListSnapshotsResult;
    /// `get_recording_info`.
    fn get_recording_info(filename: String) -> GetRecordingInfoResult;
    /// `get_snapshot_info`.
    fn get_snapshot_info(filename: String) -> GetSnapshotInfoResult;
    /// `delete_recording`.
    fn delete_recording(filename: String) -> DeleteRecordingResult;
    /// `delete_snapshot`.
    fn delete_snapshot(filename: String) -> DeleteSnapshotResult;

    /// `start_streaming`: pin the camera's publisher.
    fn start_streaming(device: String) -> StartStreamingResult;
    /// `stop_streaming`: unpin it.
    fn stop_streaming(device: String) -> StopStreamingResult;
    /// `get_stream_url`.
    fn get_stream_url(device: String) -> GetStreamUrlResult;
    /// `get_stream_status`.
    fn get_stream_status(device: String) -> GetStreamStatusResult;
    /// `get_streams`.
    fn get_streams() -> GetStreamsResult;

    /// `get_storage_info`.
    fn get_storage_info() -> GetStorageInfoResult;
    /// `set_retention_policy`.
    fn set_retention_policy(
        policy_type: String,
        enabled: bool,
        max_age_days: Option<u32>,
        max_size_gb: Option<f64>,
        min_free_percent: Option<f64>,
    ) -> SetRetentionPolicyResult;
    /// `cleanup_old_files`.
    fn cleanup_old_files(force: Option<bool>, dry_run: Option<bool>) -> CleanupOldFilesResult;

    /// `get_status` (admin).
    fn get_status() -> GetStatusResult;
    /// `get_system_status`.
    fn get_system_status() -> GetSystemStatusResult;
    /// `get_server_info`.
    fn get_server_info() -> GetServerInfoResult;
    /// `get_metrics` (admin).
    fn get_metrics() -> GetMetricsResult;

    /// `get_subscription_stats`.
    fn get_subscription_stats() -> GetSubscriptionStatsResult;

    /// `discover_external_streams`.
    fn discover_external_streams(
        skydio_enabled: Option<bool>,
        generic_enabled: Option<bool>,
        force_rescan: Option<bool>,
        include_offline: Option<bool>,
    ) -> DiscoverExternalStreamsResult;
    /// `add_external_stream`.
    fn add_external_stream(
        stream_url: String,
        stream_name: String,
        stream_type: Option<String>,
        device: Option<String>,
    ) -> AddExternalStreamResult;
    /// `remove_external_stream`.
    fn remove_external_stream(stream_url: String) -> RemoveExternalStreamResult;
    /// `get_external_streams`.
    fn get_external_streams() -> GetExternalStreamsResult;
    /// `set_discovery_interval`.
    fn set_discovery_interval(scan_interval: u32) -> SetDiscoveryIntervalResult;

    /// `create_api_key`; the result holds the only copy of the secret.
    fn create_api_key(role: Role, description: Option<String>, expires_in_days: Option<u32>) -> CreateApiKeyResult;
    /// `list_api_keys`.
    fn list_api_keys(include_revoked: Option<bool>, limit: Option<u32>, offset: Option<u64>) -> ListApiKeysResult;
    /// `revoke_api_key`.
    fn revoke_api_key(key_id: String) -> RevokeApiKeyResult;
    /// `rotate_api_key`.
    fn rotate_api_key(key_id: String, expires_in_days: Option<u32>, grace_seconds: Option<u32>) -> RotateApiKeyResult;
}

impl Client {
    /// `authenticate` with another credential. On success the session is replaced (subscriptions are
    /// kept) and reconnects use the new credential; on failure the current session stays as it was.
    pub async fn authenticate(&self, auth_token: String) -> Result<AuthenticateResult, SdkError> {
        let token = auth_token.clone();
        let result = self
            .call(move |rpc| async move { rpc.authenticate(auth_token).await })
            .await?;
        self.shared.set_credentials(Credentials::from_token(token));
        Ok(result)
    }

    /// `subscribe_events`: add topics (with `filters`) to the connection's subscriptions. Remembered and
    /// restored after reconnects.
    pub async fn subscribe_events(
        &self,
        topics: Vec<String>,
        filters: Option<EventFilters>,
    ) -> Result<SubscribeEventsResult, SdkError> {
        let (t, f) = (topics.clone(), filters.clone());
        let result = self
            .call(move |rpc| async move { rpc.subscribe_events(t, f).await })
            .await?;
        self.shared.with_ledger(|l| l.subscribed(&topics, &filters));
        Ok(result)
    }

    /// `unsubscribe_events`; `None` removes every subscription, including the legacy names.
    pub async fn unsubscribe_events(&self, topics: Option<Vec<String>>) -> Result<UnsubscribeEventsResult, SdkError> {
        let t = topics.clone();
        let result = self
            .call(move |rpc| async move { rpc.unsubscribe_events(t).await })
            .await?;
        self.shared.with_ledger(|l| l.unsubscribed(topics.as_deref()));
        Ok(result)
    }

    /// The topics this client has subscribed to and will restore after a reconnect.
    pub fn subscribed_topics(&self) -> Vec<String> {
        self.shared.with_ledger(|l| l.topics().map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::GENERATED;

    /// Written out by hand because they also update what a reconnect restores.
    const HAND_WRITTEN: &[&str] = &["authenticate", "subscribe_events", "unsubscribe_events"];

    #[test]
    fn every_contract_method_has_a_client_method() {
        let mut covered: Vec<&str> = GENERATED.iter().chain(HAND_WRITTEN).copied().collect();
        covered.sort_unstable();
        let mut contract: Vec<String> = camera_api::METHODS.iter().map(|m| m.name.replace('.', "_")).collect();
        contract.sort_unstable();
        assert_eq!(covered, contract);
    }
}
