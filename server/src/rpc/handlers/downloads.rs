//! `get_download_url` (API.md §4.1): a thin handler over [`crate::downloads::DownloadTokens`]. The file must
//! exist (checked through the catalogue: -32010 `recording_not_found` / `snapshot_not_found`); the token is
//! bound to it and to the caller's identity. `url` is absolute: `server.public_base_url`, else the scheme and
//! `Host` of the caller's connection.

use crate::downloads::{parse_kind, token_path, url_base};
use crate::error::Error;
use crate::rpc::call::{Call, parse};
use camera_api::types::meta::{GetDownloadUrlParams, GetDownloadUrlResult};
use serde_json::{Map, Value};

pub async fn get_download_url(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: GetDownloadUrlParams = parse(params)?;
    let Some(kind) = parse_kind(&p.kind) else {
        return Err(
            Error::invalid_param("invalid_value", "kind", "kind must be recording or snapshot")
                .with("allowed", vec!["recording", "snapshot"]),
        );
    };
    let identity = call.identity()?;
    call.app.files.path_of(kind, &p.filename).await?;
    let issued = call.app.download_tokens.issue(identity, kind, &p.filename)?;
    let path = token_path(kind, &p.filename, &issued.token);
    let server = &call.app.config.server;
    let base = url_base(server.public_base_url.as_deref(), call.conn.base_url(), || {
        let scheme = if call.app.tls_enabled { "https" } else { "http" };
        match server.host.contains(':') {
            true => format!("{scheme}://[{}]:{}", server.host, server.port),
            false => format!("{scheme}://{}:{}", server.host, server.port),
        }
    });
    let result = GetDownloadUrlResult {
        kind: kind.as_str().to_owned(),
        url: format!("{base}{path}"),
        path,
        filename: p.filename,
        token: issued.token,
        expires_at: crate::clock::format_timestamp(issued.expires_at),
        expires_in: issued.expires_in,
    };
    serde_json::to_value(result).map_err(Error::internal)
}
