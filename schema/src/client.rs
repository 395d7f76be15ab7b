//! The typed JSON-RPC client interface (feature `client`): a jsonrpsee `#[rpc(client)]` trait with one
//! method per contract method, params passed by name with the wire names. jsonrpsee generates the
//! extension trait `CameraApiClient`, implemented for every jsonrpsee client (e.g. a WebSocket client).
//! Optional params given as `None` are sent as `null`, which the server treats as omitted.

use jsonrpsee::proc_macros::rpc;

use crate::role::Role;
use crate::types::*;

/// Every contract method of API.md §4. Notifications are not methods; receive them from the transport.
#[rpc(client)]
pub trait CameraApi {
    // ---- §4.1 session and meta
    /// `ping`: returns `"pong"`.
    #[method(name = "ping", param_kind = map)]
    async fn ping(&self) -> RpcResult<PingResult>;

    /// `authenticate` with a JWT or an API key.
    #[method(name = "authenticate", param_kind = map)]
    async fn authenticate(&self, auth_token: String) -> RpcResult<AuthenticateResult>;

    /// `rpc.discover`: the OpenRPC document.
    #[method(name = "rpc.discover", param_kind = map)]
    async fn rpc_discover(&self) -> RpcResult<RpcDiscoverResult>;

    /// `issue_token`.
    #[method(name = "issue_token", param_kind = map)]
    async fn issue_token(&self, ttl_seconds: Option<u32>, role: Option<Role>) -> RpcResult<IssueTokenResult>;

    /// `get_download_url`; `kind` is `recording` or `snapshot`.
    #[method(name = "get_download_url", param_kind = map)]
    async fn get_download_url(&self, kind: String, filename: String) -> RpcResult<GetDownloadUrlResult>;

    // ---- §4.2 cameras
    /// `get_camera_list`.
    #[method(name = "get_camera_list", param_kind = map)]
    async fn get_camera_list(&self) -> RpcResult<GetCameraListResult>;

    /// `get_camera_status`.
    #[method(name = "get_camera_status", param_kind = map)]
    async fn get_camera_status(&self, device: String) -> RpcResult<GetCameraStatusResult>;

    /// `get_camera_capabilities`.
    #[method(name = "get_camera_capabilities", param_kind = map)]
    async fn get_camera_capabilities(&self, device: String) -> RpcResult<GetCameraCapabilitiesResult>;

    // ---- §4.3 snapshots and recording
    /// `take_snapshot`.
    #[method(name = "take_snapshot", param_kind = map)]
    async fn take_snapshot(
        &self,
        device: String,
        filename: Option<String>,
        format: Option<String>,
        quality: Option<u32>,
        max_width: Option<u32>,
        max_height: Option<u32>,
    ) -> RpcResult<TakeSnapshotResult>;

    /// `start_recording`.
    #[method(name = "start_recording", param_kind = map)]
    async fn start_recording(
        &self,
        device: String,
        duration: Option<u64>,
        format: Option<String>,
    ) -> RpcResult<StartRecordingResult>;

    /// `stop_recording`.
    #[method(name = "stop_recording", param_kind = map)]
    async fn stop_recording(&self, device: String) -> RpcResult<StopRecordingResult>;

    // ---- §4.4 files
    /// `list_recordings`.
    #[method(name = "list_recordings", param_kind = map)]
    async fn list_recordings(
        &self,
        limit: Option<u32>,
        offset: Option<u64>,
        device: Option<String>,
    ) -> RpcResult<ListRecordingsResult>;

    /// `list_snapshots`.
    #[method(name = "list_snapshots", param_kind = map)]
    async fn list_snapshots(
        &self,
        limit: Option<u32>,
        offset: Option<u64>,
        device: Option<String>,
    ) -> RpcResult<ListSnapshotsResult>;

    /// `get_recording_info`.
    #[method(name = "get_recording_info", param_kind = map)]
    async fn get_recording_info(&self, filename: String) -> RpcResult<GetRecordingInfoResult>;

    /// `get_snapshot_info`.
    #[method(name = "get_snapshot_info", param_kind = map)]
    async fn get_snapshot_info(&self, filename: String) -> RpcResult<GetSnapshotInfoResult>;

    /// `delete_recording`.
    #[method(name = "delete_recording", param_kind = map)]
    async fn delete_recording(&self, filename: String) -> RpcResult<DeleteRecordingResult>;

    /// `delete_snapshot`.
    #[method(name = "delete_snapshot", param_kind = map)]
    async fn delete_snapshot(&self, filename: String) -> RpcResult<DeleteSnapshotResult>;

    // ---- §4.5 streaming
    /// `start_streaming`.
    #[method(name = "start_streaming", param_kind = map)]
    async fn start_streaming(&self, device: String) -> RpcResult<StartStreamingResult>;

    /// `stop_streaming`.
    #[method(name = "stop_streaming", param_kind = map)]
    async fn stop_streaming(&self, device: String) -> RpcResult<StopStreamingResult>;

    /// `get_stream_url`.
    #[method(name = "get_stream_url", param_kind = map)]
    async fn get_stream_url(&self, device: String) -> RpcResult<GetStreamUrlResult>;

    /// `get_stream_status`.
    #[method(name = "get_stream_status", param_kind = map)]
    async fn get_stream_status(&self, device: String) -> RpcResult<GetStreamStatusResult>;

    /// `get_streams`.
    #[method(name = "get_streams", param_kind = map)]
    async fn get_streams(&self) -> RpcResult<GetStreamsResult>;

    // ---- §4.6 storage
    /// `get_storage_info`.
    #[method(name = "get_storage_info", param_kind = map)]
    async fn get_storage_info(&self) -> RpcResult<GetStorageInfoResult>;

    /// `set_retention_policy`.
    #[method(name = "set_retention_policy", param_kind = map)]
    async fn set_retention_policy(
        &self,
        policy_type: String,
        enabled: bool,
        max_age_days: Option<u32>,
        max_size_gb: Option<f64>,
        min_free_percent: Option<f64>,
    ) -> RpcResult<SetRetentionPolicyResult>;

    /// `cleanup_old_files`.
    #[method(name = "cleanup_old_files", param_kind = map)]
    async fn cleanup_old_files(&self, force: Option<bool>, dry_run: Option<bool>) -> RpcResult<CleanupOldFilesResult>;

    // ---- §4.7 system
    /// `get_status`.
    #[method(name = "get_status", param_kind = map)]
    async fn get_status(&self) -> RpcResult<GetStatusResult>;

    /// `get_system_status`.
    #[method(name = "get_system_status", param_kind = map)]
    async fn get_system_status(&self) -> RpcResult<GetSystemStatusResult>;

    /// `get_server_info`.
    #[method(name = "get_server_info", param_kind = map)]
    async fn get_server_info(&self) -> RpcResult<GetServerInfoResult>;

    /// `get_metrics`.
    #[method(name = "get_metrics", param_kind = map)]
    async fn get_metrics(&self) -> RpcResult<GetMetricsResult>;

    // ---- §4.8 events (WebSocket only)
    /// `subscribe_events`.
    #[method(name = "subscribe_events", param_kind = map)]
    async fn subscribe_events(
        &self,
        topics: Vec<String>,
        filters: Option<EventFilters>,
    ) -> RpcResult<SubscribeEventsResult>;

    /// `unsubscribe_events`; `None` removes every subscription.
    #[method(name = "unsubscribe_events", param_kind = map)]
    async fn unsubscribe_events(&self, topics: Option<Vec<String>>) -> RpcResult<UnsubscribeEventsResult>;

    /// `get_subscription_stats`.
    #[method(name = "get_subscription_stats", param_kind = map)]
    async fn get_subscription_stats(&self) -> RpcResult<GetSubscriptionStatsResult>;

    // ---- §4.9 external streams
    /// `discover_external_streams`.
    #[method(name = "discover_external_streams", param_kind = map)]
    async fn discover_external_streams(
        &self,
        skydio_enabled: Option<bool>,
        generic_enabled: Option<bool>,
        force_rescan: Option<bool>,
        include_offline: Option<bool>,
    ) -> RpcResult<DiscoverExternalStreamsResult>;

    /// `add_external_stream`.
    #[method(name = "add_external_stream", param_kind = map)]
    async fn add_external_stream(
        &self,
        stream_url: String,
        stream_name: String,
        stream_type: Option<String>,
        device: Option<String>,
    ) -> RpcResult<AddExternalStreamResult>;

    /// `remove_external_stream`.
    #[method(name = "remove_external_stream", param_kind = map)]
    async fn remove_external_stream(&self, stream_url: String) -> RpcResult<RemoveExternalStreamResult>;

    /// `get_external_streams`.
    #[method(name = "get_external_streams", param_kind = map)]
    async fn get_external_streams(&self) -> RpcResult<GetExternalStreamsResult>;

    /// `set_discovery_interval`.
    #[method(name = "set_discovery_interval", param_kind = map)]
    async fn set_discovery_interval(&self, scan_interval: u32) -> RpcResult<SetDiscoveryIntervalResult>;

    // ---- §4.10 API keys
    /// `create_api_key`.
    #[method(name = "create_api_key", param_kind = map)]
    async fn create_api_key(
        &self,
        role: Role,
        description: Option<String>,
        expires_in_days: Option<u32>,
    ) -> RpcResult<CreateApiKeyResult>;

    /// `list_api_keys`.
    #[method(name = "list_api_keys", param_kind = map)]
    async fn list_api_keys(
        &self,
        include_revoked: Option<bool>,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> RpcResult<ListApiKeysResult>;

    /// `revoke_api_key`.
    #[method(name = "revoke_api_key", param_kind = map)]
    async fn revoke_api_key(&self, key_id: String) -> RpcResult<RevokeApiKeyResult>;

    /// `rotate_api_key`.
    #[method(name = "rotate_api_key", param_kind = map)]
    async fn rotate_api_key(
        &self,
        key_id: String,
        expires_in_days: Option<u32>,
        grace_seconds: Option<u32>,
    ) -> RpcResult<RotateApiKeyResult>;
}

#[cfg(test)]
mod tests {
    //! Drives every client method against a recording mock and checks each call against the method table:
    //! the method exists and the params it sends pass `validate_params`.

    use std::future::Future;
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use jsonrpsee::core::client::{BatchResponse, ClientT, Error};
    use jsonrpsee::core::params::BatchRequestBuilder;
    use jsonrpsee::core::traits::ToRpcParams;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::CameraApiClient;
    use crate::role::Role;
    use crate::types::EventFilters;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Option<Value>)>>);

    impl Recorder {
        fn record<P: ToRpcParams>(&self, method: &str, params: P) -> Result<(), Error> {
            let raw = params.to_rpc_params()?;
            let value = match raw {
                Some(r) => Some(serde_json::from_str(r.get())?),
                None => None,
            };
            self.0
                .lock()
                .map_err(|_| Error::Custom("poisoned".into()))?
                .push((method.to_owned(), value));
            Ok(())
        }
    }

    impl ClientT for Recorder {
        fn notification<Params>(&self, method: &str, params: Params) -> impl Future<Output = Result<(), Error>> + Send
        where
            Params: ToRpcParams + Send,
        {
            let r = self.record(method, params);
            async move { r }
        }

        fn request<R, Params>(&self, method: &str, params: Params) -> impl Future<Output = Result<R, Error>> + Send
        where
            R: DeserializeOwned,
            Params: ToRpcParams + Send,
        {
            let r = self.record(method, params);
            async move {
                r?;
                Err(Error::Custom("recorded".into()))
            }
        }

        async fn batch_request<'a, R>(&self, _batch: BatchRequestBuilder<'a>) -> Result<BatchResponse<'a, R>, Error>
        where
            R: DeserializeOwned + std::fmt::Debug + 'a,
        {
            Err(Error::Custom("no batches".into()))
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn every_client_method_sends_valid_params() {
        let c = Recorder::default();
        let d = || "camera0".to_owned();
        let f = || "camera0_2025-01-15_14-30-00.mp4".to_owned();
        let url = || "rtsp://192.168.42.15:5554/subject".to_owned();
        let key = || "k_3fa85f6457b2".to_owned();
        run(async {
            let _ = c.ping().await;
            let _ = c.authenticate("csk_x".into()).await;
            let _ = c.rpc_discover().await;
            let _ = c.issue_token(Some(60), Some(Role::Viewer)).await;
            let _ = c.issue_token(None, None).await;
            let _ = c.get_download_url("recording".into(), f()).await;
            let _ = c.get_camera_list().await;
            let _ = c.get_camera_status(d()).await;
            let _ = c.get_camera_capabilities(d()).await;
            let _ = c
                .take_snapshot(
                    d(),
                    Some("a.jpg".into()),
                    Some("jpg".into()),
                    Some(85),
                    Some(640),
                    Some(480),
                )
                .await;
            let _ = c.take_snapshot(d(), None, None, None, None, None).await;
            let _ = c.start_recording(d(), Some(60), Some("fmp4".into())).await;
            let _ = c.stop_recording(d()).await;
            let _ = c.list_recordings(Some(10), Some(0), Some(d())).await;
            let _ = c.list_snapshots(None, None, None).await;
            let _ = c.get_recording_info(f()).await;
            let _ = c.get_snapshot_info("front.jpg".into()).await;
            let _ = c.delete_recording(f()).await;
            let _ = c.delete_snapshot("front.jpg".into()).await;
            let _ = c.start_streaming(d()).await;
            let _ = c.stop_streaming(d()).await;
            let _ = c.get_stream_url(d()).await;
            let _ = c.get_stream_status(d()).await;
            let _ = c.get_streams().await;
            let _ = c.get_storage_info().await;
            let _ = c
                .set_retention_policy("age_and_size".into(), true, Some(30), Some(1.5), Some(10.0))
                .await;
            let _ = c.cleanup_old_files(Some(false), Some(true)).await;
            let _ = c.get_status().await;
            let _ = c.get_system_status().await;
            let _ = c.get_server_info().await;
            let _ = c.get_metrics().await;
            let filters = EventFilters {
                device: Some(d()),
                ..EventFilters::default()
            };
            let _ = c.subscribe_events(vec!["camera.connected".into()], Some(filters)).await;
            let _ = c.unsubscribe_events(None).await;
            let _ = c.get_subscription_stats().await;
            let _ = c.discover_external_streams(Some(true), Some(false), None, None).await;
            let _ = c
                .add_external_stream(url(), "UAV 15".into(), Some("skydio_stanag4609".into()), None)
                .await;
            let _ = c.remove_external_stream(url()).await;
            let _ = c.get_external_streams().await;
            let _ = c.set_discovery_interval(300).await;
            let _ = c.create_api_key(Role::Operator, Some("NVR".into()), Some(90)).await;
            let _ = c.list_api_keys(Some(true), Some(50), Some(0)).await;
            let _ = c.revoke_api_key(key()).await;
            let _ = c.rotate_api_key(key(), None, Some(60)).await;
        });

        let calls = c.0.into_inner().unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        for (method, params) in &calls {
            let Some(spec) = crate::methods::method(method) else {
                panic!("client calls unknown method {method}");
            };
            if let Some(p) = params {
                assert!(p.is_object(), "{method}: params must be an object, got {p}");
            }
            if let Err(e) = crate::validate::validate_params(spec, params.as_ref()) {
                panic!("{method}: {e} ({params:?})");
            }
            seen.insert(method.as_str());
        }
        let all: std::collections::BTreeSet<&str> = crate::methods::METHODS.iter().map(|m| m.name).collect();
        assert_eq!(seen, all, "client covers every method");
    }
}
