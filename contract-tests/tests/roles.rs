//! The permission matrix (API.md §3.5): every method × {unauthenticated, viewer, operator, admin}, over
//! WebSocket sessions and over `POST /rpc` with `Authorization: Bearer` and `X-API-Key` headers.
//!
//! Calls use `probe_params` (empty params, or an ill-typed one for the one method whose params are all optional
//! and which would scan the network), so no call can act. Expectations per cell:
//! unauthenticated → -32001 `auth_required` (except `ping`, `authenticate`, `rpc.discover`); role below the
//! minimum → -32002 `insufficient_role` with `data.required_role` / `data.have_role`; allowed → anything but
//! -32001/-32002, and the method must exist (not -32601), must not be a bug (-32603), and — the server being
//! ready — must not answer `service_initializing`. WS-only methods over HTTP → -32030 `requires_websocket`.

use contract_tests::contract::{METHODS, ROLES, probe_params, role_rank};
use contract_tests::{Auth, Http, TestServer, WsClient, assert_error, error_code, error_reason};
use serde_json::{Value, json};

/// Generous request budget: the matrix makes a few hundred calls from one IP.
fn config() -> Value {
    json!({"security": {"rate_limit_per_sec": 10000, "rate_limit_burst": 10000}})
}

/// Checks one cell; returns a description of the violation, if any.
fn check_cell(
    method: &str,
    min: Option<&str>,
    caller: Option<&str>,
    ws_only_over_http: bool,
    resp: &Value,
) -> Option<String> {
    let code = error_code(resp);
    let reason = error_reason(resp).unwrap_or_default().to_owned();
    let fail = |want: &str| Some(format!("{method} as {caller:?}: want {want}, got {resp}"));
    match (min, caller) {
        (None, _) => match method {
            "ping" => (resp.get("result") != Some(&json!("pong")))
                .then(|| fail("pong"))
                .flatten(),
            "rpc.discover" => (!resp.get("result").is_some_and(Value::is_object))
                .then(|| fail("an OpenRPC document"))
                .flatten(),
            // authenticate with no params: params are validated, no authentication needed
            _ => (code != Some(-32602)).then(|| fail("-32602 missing_param")).flatten(),
        },
        (Some(_), None) => {
            if code != Some(-32001) || reason != "auth_required" {
                return fail("-32001 auth_required");
            }
            None
        }
        (Some(min), Some(role)) if role_rank(role) < role_rank(min) => {
            let data = &resp["error"]["data"];
            if code != Some(-32002) || reason != "insufficient_role" {
                return fail("-32002 insufficient_role");
            }
            if data["required_role"] != min || data["have_role"] != role {
                return fail(&format!("data.required_role={min}, data.have_role={role}"));
            }
            None
        }
        (Some(_), Some(_)) => {
            if ws_only_over_http {
                return (code != Some(-32030) || reason != "requires_websocket")
                    .then(|| fail("-32030 requires_websocket"))
                    .flatten();
            }
            match code {
                Some(-32001 | -32002) => fail("access (no -32001/-32002)"),
                Some(-32601) => fail("the method to exist"),
                Some(-32603) => fail("no internal error"),
                _ if reason == "service_initializing" => fail("no readiness gate once /health/ready is 200"),
                _ => None,
            }
        }
    }
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} permission-matrix violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn matrix_over_websocket() {
    let server = TestServer::start(config()).await;
    let mut failures = Vec::new();
    let callers: [Option<&str>; 4] = [None, Some("viewer"), Some("operator"), Some("admin")];
    for caller in callers {
        let mut ws: WsClient = match caller {
            None => server.ws().await,
            Some(role) => server.ws_as(&server.jwt(&format!("matrix_{role}"), role, 3600)).await,
        };
        for (method, min, _, _) in METHODS {
            let resp = ws.call(method, probe_params(method)).await;
            failures.extend(check_cell(method, *min, caller, false, &resp));
        }
        ws.assert_alive().await;
    }
    report(failures);
}

#[tokio::test]
async fn matrix_over_websocket_with_api_keys() {
    let server = TestServer::start(config()).await;
    let mut failures = Vec::new();
    for role in ROLES {
        let key = server.key(&server.create_key(role).await);
        let mut ws = server.ws_as(&key).await;
        for (method, min, _, _) in METHODS {
            let resp = ws.call(method, probe_params(method)).await;
            failures.extend(check_cell(method, *min, Some(role), false, &resp));
        }
    }
    report(failures);
}

async fn http_matrix(http: &Http, caller: Option<&str>, auth: Auth<'_>, failures: &mut Vec<String>) {
    for (method, min, _, ws_only) in METHODS {
        let resp = http.call(method, probe_params(method), auth).await;
        failures.extend(check_cell(method, *min, caller, *ws_only, &resp));
    }
}

#[tokio::test]
async fn matrix_over_http_bearer_jwt() {
    let server = TestServer::start(config()).await;
    let http = server.http();
    let mut failures = Vec::new();
    http_matrix(&http, None, Auth::None, &mut failures).await;
    for role in ROLES {
        let token = server.jwt(&format!("http_{role}"), role, 3600);
        http_matrix(&http, Some(role), Auth::Bearer(&token), &mut failures).await;
    }
    report(failures);
}

#[tokio::test]
async fn matrix_over_http_api_key_headers() {
    let server = TestServer::start(config()).await;
    let http = server.http();
    let mut failures = Vec::new();
    for role in ROLES {
        let key = server.key(&server.create_key(role).await);
        http_matrix(&http, Some(role), Auth::ApiKey(&key), &mut failures).await;
        http_matrix(&http, Some(role), Auth::Bearer(&key), &mut failures).await;
    }
    report(failures);
}

#[tokio::test]
async fn websocket_only_methods_over_http() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let token = server.jwt("sub", "viewer", 3600);
    let cases = [
        ("subscribe_events", json!({"topics": ["camera.connected"]})),
        ("unsubscribe_events", json!({})),
        ("get_subscription_stats", json!({})),
    ];
    for (method, params) in cases {
        let resp = http.call(method, params, Auth::Bearer(&token)).await;
        let data = assert_error(&resp, -32030, "requires_websocket");
        assert!(data.is_object());
    }
}

#[tokio::test]
async fn permissions_follow_reauthentication() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("u", "viewer", 3600)).await;
    let data = ws
        .error("create_api_key", json!({"role": "viewer"}), -32002, "insufficient_role")
        .await;
    assert_eq!(
        (data["required_role"].clone(), data["have_role"].clone()),
        (json!("admin"), json!("viewer"))
    );
    let data = ws
        .error(
            "take_snapshot",
            json!({"device": "camera0"}),
            -32002,
            "insufficient_role",
        )
        .await;
    assert_eq!(
        (data["required_role"].clone(), data["have_role"].clone()),
        (json!("operator"), json!("viewer"))
    );
    ws.authenticate(&server.jwt("u", "operator", 3600)).await;
    let data = ws.error("get_metrics", Value::Null, -32002, "insufficient_role").await;
    assert_eq!(data["have_role"], "operator");
    ws.authenticate(&server.jwt("u", "admin", 3600)).await;
    let resp = ws.call("get_metrics", Value::Null).await;
    assert!(!matches!(error_code(&resp), Some(-32001 | -32002)), "{resp}");
}
