//! The dispatch table: one entry per camera-api method name, each a thin handler that turns contract params
//! into a call on a domain service and the answer back into a result. A unit test keeps this table and the
//! contract's method list identical.

pub mod cameras;
pub mod downloads;
pub mod events;
pub mod external;
pub mod files;
pub mod keys;
pub mod recording;
pub mod session;
pub mod snapshots;
pub mod storage;
pub mod streaming;
pub mod system;

use crate::rpc::call::Call;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

pub type HandlerFuture = Pin<Box<dyn Future<Output = crate::Result<Value>> + Send>>;
pub type Handler = fn(Call, Map<String, Value>) -> HandlerFuture;

macro_rules! dispatch_table {
    ($($name:literal => $handler:path),* $(,)?) => {
        /// Every method name this server dispatches.
        pub const HANDLED_METHODS: &[&str] = &[$($name),*];

        /// The handler for a method name.
        pub fn lookup(name: &str) -> Option<Handler> {
            match name {
                $($name => Some(|call, params| Box::pin($handler(call, params))),)*
                _ => None,
            }
        }
    };
}

dispatch_table! {
    "ping" => session::ping,
    "authenticate" => session::authenticate,
    "rpc.discover" => session::discover,
    "get_camera_list" => cameras::get_camera_list,
    "get_camera_status" => cameras::get_camera_status,
    "get_camera_capabilities" => cameras::get_camera_capabilities,
    "take_snapshot" => snapshots::take_snapshot,
    "start_recording" => recording::start_recording,
    "stop_recording" => recording::stop_recording,
    "list_recordings" => files::list_recordings,
    "list_snapshots" => files::list_snapshots,
    "get_recording_info" => files::get_recording_info,
    "get_snapshot_info" => files::get_snapshot_info,
    "delete_recording" => files::delete_recording,
    "delete_snapshot" => files::delete_snapshot,
    "issue_token" => keys::issue_token,
    "get_download_url" => downloads::get_download_url,
    "create_api_key" => keys::create_api_key,
    "list_api_keys" => keys::list_api_keys,
    "revoke_api_key" => keys::revoke_api_key,
    "rotate_api_key" => keys::rotate_api_key,
    "get_stream_url" => streaming::get_stream_url,
    "get_stream_status" => streaming::get_stream_status,
    "get_streams" => streaming::get_streams,
    "start_streaming" => streaming::start_streaming,
    "stop_streaming" => streaming::stop_streaming,
    "get_storage_info" => storage::get_storage_info,
    "set_retention_policy" => storage::set_retention_policy,
    "cleanup_old_files" => storage::cleanup_old_files,
    "get_status" => system::get_status,
    "get_system_status" => system::get_system_status,
    "get_server_info" => system::get_server_info,
    "get_metrics" => system::get_metrics,
    "subscribe_events" => events::subscribe_events,
    "unsubscribe_events" => events::unsubscribe_events,
    "get_subscription_stats" => events::get_subscription_stats,
    "discover_external_streams" => external::discover_external_streams,
    "add_external_stream" => external::add_external_stream,
    "remove_external_stream" => external::remove_external_stream,
    "get_external_streams" => external::get_external_streams,
    "set_discovery_interval" => external::set_discovery_interval,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn dispatch_table_matches_the_contract() {
        let handled: BTreeSet<&str> = HANDLED_METHODS.iter().copied().collect();
        let contract: BTreeSet<&str> = camera_api::methods::METHODS.iter().map(|m| m.name).collect();
        assert_eq!(handled.len(), HANDLED_METHODS.len(), "a method is listed twice");
        let missing: Vec<_> = contract.difference(&handled).collect();
        let extra: Vec<_> = handled.difference(&contract).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "not dispatched: {missing:?}; not in contract: {extra:?}"
        );
        assert!(HANDLED_METHODS.iter().all(|m| lookup(m).is_some()));
    }
}
