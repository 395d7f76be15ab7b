//! Authentication and sessions (API.md §3.1–§3.4, §4.1 `authenticate` / `issue_token`, §4.10 API keys, §6.1
//! credential headers): credential formats, result fields, rejected tokens, expiry on a live socket, revocation
//! reaching live sessions (over RPC and from the offline CLI), and the API key lifecycle.

use contract_tests::contract::{ROLES, is_api_key, is_key_id, is_uuid_v4, permissions};
use contract_tests::server::JWT_SECRET;
use contract_tests::{
    Auth, TestServer, WsClient, assert_error, assert_not_error, error_code, error_reason, is_rfc3339_ms, jwt,
    parse_ts_millis, poll_until, unix_now,
};
use serde_json::{Value, json};
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;

fn ts(v: &Value) -> i64 {
    v.as_str()
        .and_then(parse_ts_millis)
        .unwrap_or_else(|| panic!("not a YYYY-MM-DDTHH:MM:SS.mmmZ timestamp: {v}"))
}

#[track_caller]
fn assert_session_result(r: &Value, role: &str, user_id: &str, auth_method: &str) {
    assert_eq!(r["authenticated"], true, "{r}");
    assert_eq!(r["role"], role, "{r}");
    assert_eq!(r["permissions"], permissions(role), "{r}");
    assert_eq!(r["user_id"], user_id, "{r}");
    assert_eq!(r["auth_method"], auth_method, "{r}");
    assert!(
        r["session_id"].as_str().is_some_and(is_uuid_v4),
        "session_id must be a UUID v4: {r}"
    );
    assert!(
        r.get("expires_at").is_some(),
        "expires_at must be present (null or ts): {r}"
    );
    assert!(
        r["expires_at"].is_null() || r["expires_at"].as_str().is_some_and(is_rfc3339_ms),
        "expires_at: {r}"
    );
}

/// Polls a call until it stops succeeding and returns the error response.
async fn poll_until_error(ws: &mut WsClient, method: &str, limit: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let resp = ws.call(method, Value::Null).await;
        if resp.get("error").is_some() {
            return resp;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{method} still succeeds after {limit:?}: {resp}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn authenticate_with_cli_api_key() {
    let server = TestServer::start(json!({})).await;
    let created = server.create_key("admin").await;
    let key = server.key(&created);
    assert!(is_api_key(&key), "CLI key format: {created}");
    let key_id = created["key_id"]
        .as_str()
        .unwrap_or_else(|| panic!("key_id in {created}"))
        .to_owned();
    assert!(is_key_id(&key_id), "{created}");

    let mut ws = server.ws().await;
    let first = ws.authenticate(&key).await;
    assert_session_result(&first, "admin", &format!("apikey:{key_id}"), "api_key");
    let second = ws.authenticate(&key).await;
    assert_ne!(
        first["session_id"], second["session_id"],
        "session_id must be new on every success"
    );
    assert_not_error(&ws.call("get_status", Value::Null).await);
}

#[tokio::test]
async fn authenticate_with_jwt_for_every_role() {
    let server = TestServer::start(json!({})).await;
    for role in ROLES {
        let claims = jwt::claims("alice", role, 600);
        let token = jwt::hs256(JWT_SECRET.as_bytes(), &claims);
        let mut ws = server.ws().await;
        let r = ws.authenticate(&token).await;
        assert_session_result(&r, role, "alice", "jwt");
        assert_eq!(
            ts(&r["expires_at"]),
            claims["exp"].as_i64().unwrap() * 1000,
            "expires_at is the JWT exp: {r}"
        );
    }
}

#[tokio::test]
async fn authenticate_with_cli_minted_jwt() {
    let server = TestServer::start(json!({})).await;
    let token = server.cli_token("operator", Some(600)).await;
    let header = jwt::decode_header(&token);
    assert_eq!(header["alg"], "HS256", "CLI token header: {header}");
    let mut ws = server.ws().await;
    let r = ws.authenticate(&token).await;
    assert_eq!(r["role"], "operator", "{r}");
    assert_eq!(r["auth_method"], "jwt", "{r}");
    let exp = ts(&r["expires_at"]);
    let want = (unix_now() + 600) * 1000;
    assert!(
        (exp - want).abs() < 10_000,
        "CLI --ttl 600 gives expires_at {} (want ≈ now+600 s)",
        r["expires_at"]
    );
}

#[tokio::test]
async fn bad_credentials_are_auth_failed() {
    let server = TestServer::start(json!({"security": {"auth_failures_per_min": 1000}})).await;
    let secret = JWT_SECRET.as_bytes();
    let now = unix_now();
    let good = jwt::claims("mallory", "admin", 600);
    let mut tampered = jwt::hs256(secret, &jwt::claims("mallory", "viewer", 600));
    {
        // Swap in an admin payload but keep the viewer signature.
        let parts: Vec<&str> = tampered.split('.').collect();
        let admin = jwt::hs256(secret, &good);
        let admin_payload = admin.split('.').nth(1).unwrap().to_owned();
        tampered = format!("{}.{}.{}", parts[0], admin_payload, parts[2]);
    }
    let cases: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("three dots", "a.b.c".into()),
        ("unknown well-formed API key", format!("csk_{}", "A".repeat(43))),
        ("short API key", "csk_short".into()),
        (
            "wrong secret",
            jwt::hs256(b"another-secret-another-secret-another-secret", &good),
        ),
        ("alg none", jwt::alg_none(&good)),
        ("HS512", jwt::hs512(secret, &good)),
        ("tampered payload", tampered),
        (
            "missing role",
            jwt::hs256(secret, &json!({"user_id": "m", "iat": now, "exp": now + 600})),
        ),
        (
            "unknown role",
            jwt::hs256(
                secret,
                &json!({"user_id": "m", "role": "root", "iat": now, "exp": now + 600}),
            ),
        ),
        (
            "missing user_id",
            jwt::hs256(secret, &json!({"role": "admin", "iat": now, "exp": now + 600})),
        ),
        (
            "empty user_id",
            jwt::hs256(
                secret,
                &json!({"user_id": "", "role": "admin", "iat": now, "exp": now + 600}),
            ),
        ),
        (
            "user_id over 128 chars",
            jwt::hs256(
                secret,
                &json!({"user_id": "u".repeat(129), "role": "admin", "iat": now, "exp": now + 600}),
            ),
        ),
        (
            "missing exp",
            jwt::hs256(secret, &json!({"user_id": "m", "role": "admin", "iat": now})),
        ),
        (
            "missing iat",
            jwt::hs256(secret, &json!({"user_id": "m", "role": "admin", "exp": now + 600})),
        ),
        (
            "string exp",
            jwt::hs256(
                secret,
                &json!({"user_id": "m", "role": "admin", "iat": now, "exp": "soon"}),
            ),
        ),
    ];
    let mut ws = server.ws().await;
    for (what, token) in cases {
        let resp = ws.call("authenticate", json!({"auth_token": token})).await;
        assert_eq!(error_code(&resp), Some(-32001), "{what}: {resp}");
        assert_error(&resp, -32001, "auth_failed");
        ws.assert_alive().await;
    }
    ws.error("get_server_info", Value::Null, -32001, "auth_required").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_jwts() {
    // Default leeway is 30 s.
    let server = TestServer::start(json!({})).await;
    let secret = JWT_SECRET.as_bytes();
    let now = unix_now();
    let mut ws = server.ws().await;
    let expired = jwt::hs256(
        secret,
        &json!({"user_id": "e", "role": "viewer", "iat": now - 600, "exp": now - 120}),
    );
    ws.error("authenticate", json!({"auth_token": expired}), -32001, "token_expired")
        .await;
    // Within the leeway it is still accepted.
    let recent = jwt::hs256(
        secret,
        &json!({"user_id": "e", "role": "viewer", "iat": now - 600, "exp": now - 5}),
    );
    ws.authenticate(&recent).await;
    // nbf in the future is honoured.
    let mut ws = server.ws().await;
    let early = jwt::hs256(
        secret,
        &json!({"user_id": "e", "role": "viewer", "iat": now, "nbf": now + 600, "exp": now + 1200}),
    );
    let resp = ws.call("authenticate", json!({"auth_token": early})).await;
    assert_eq!(
        error_code(&resp),
        Some(-32001),
        "a JWT with nbf in the future must be rejected: {resp}"
    );
}

#[tokio::test]
async fn auth_token_param_validation() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws().await;
    let data = ws.error("authenticate", json!({}), -32602, "missing_param").await;
    assert_eq!(data["param"], "auth_token", "{data}");
    ws.error("authenticate", Value::Null, -32602, "missing_param").await;
    let data = ws
        .error("authenticate", json!({"auth_token": 12}), -32602, "invalid_type")
        .await;
    assert_eq!(data["param"], "auth_token", "{data}");
    let data = ws
        .error(
            "authenticate",
            json!({"auth_token": "x".repeat(8193)}),
            -32602,
            "too_long",
        )
        .await;
    assert_eq!(data["param"], "auth_token", "{data}");
    let resp = ws.call("authenticate", json!({"auth_token": ""})).await;
    assert_eq!(
        error_code(&resp),
        Some(-32602),
        "empty auth_token (1..8192 chars): {resp}"
    );
}

#[tokio::test]
async fn failed_reauthentication_keeps_the_session() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("root", "admin", 600)).await;
    ws.error("authenticate", json!({"auth_token": "garbage"}), -32001, "auth_failed")
        .await;
    assert_not_error(&ws.call("get_status", Value::Null).await);
    let expired = server.jwt("root", "admin", -600);
    ws.error("authenticate", json!({"auth_token": expired}), -32001, "token_expired")
        .await;
    assert_not_error(&ws.call("get_status", Value::Null).await);
    ws.error("authenticate", json!({}), -32602, "missing_param").await;
    assert_not_error(&ws.call("get_status", Value::Null).await);
    // A successful re-authentication replaces the session, downwards too.
    ws.authenticate(&server.jwt("low", "viewer", 600)).await;
    let data = ws.error("get_status", Value::Null, -32002, "insufficient_role").await;
    assert_eq!(data["have_role"], "viewer");
    ws.authenticate(&server.jwt("root", "admin", 600)).await;
    assert_not_error(&ws.call("get_status", Value::Null).await);
}

#[tokio::test]
async fn session_expires_on_a_live_socket() {
    let server = TestServer::start(json!({"security": {"jwt_leeway_seconds": 0}})).await;
    let claims = jwt::claims("shortlived", "viewer", 3);
    let token = jwt::hs256(JWT_SECRET.as_bytes(), &claims);
    let mut ws = server.ws().await;
    let r = ws.authenticate(&token).await;
    assert_eq!(ts(&r["expires_at"]), claims["exp"].as_i64().unwrap() * 1000);
    ws.result("subscribe_events", json!({"topics": ["camera.connected"]}))
        .await;
    assert_not_error(&ws.call("get_server_info", Value::Null).await);

    let resp = poll_until_error(&mut ws, "get_server_info", Duration::from_secs(10)).await;
    assert_error(&resp, -32001, "token_expired");
    let expired_at = unix_now();
    assert!(
        expired_at >= claims["exp"].as_i64().unwrap(),
        "session ended before exp"
    );
    ws.error("get_subscription_stats", Value::Null, -32001, "token_expired")
        .await;
    // The socket stays open; the three unauthenticated methods still work.
    ws.assert_alive().await;
    assert!(ws.result("rpc.discover", Value::Null).await.is_object());
    assert!(ws.closed().is_none());
    // Re-authentication revives it and the subscriptions survived.
    ws.authenticate(&server.jwt("shortlived", "viewer", 600)).await;
    assert_not_error(&ws.call("get_server_info", Value::Null).await);
    let stats = ws.result("get_subscription_stats", Value::Null).await;
    let topics = stats["client_topics"]
        .as_array()
        .unwrap_or_else(|| panic!("client_topics: {stats}"));
    assert!(
        topics.contains(&json!("camera.connected")),
        "subscriptions survive expiry: {stats}"
    );
}

#[tokio::test]
async fn revoke_api_key_ends_live_sessions() {
    let server = TestServer::start(json!({})).await;
    let admin = server.create_key("admin").await;
    let admin_key_id = admin["key_id"].as_str().unwrap().to_owned();
    let mut ws_admin = server.ws_as(&server.key(&admin)).await;

    let created = ws_admin
        .result("create_api_key", json!({"role": "operator", "description": "victim"}))
        .await;
    let victim_key = created["api_key"].as_str().unwrap().to_owned();
    let victim_id = created["key_id"].as_str().unwrap().to_owned();
    let mut ws_key = server.ws_as(&victim_key).await;
    assert_not_error(&ws_key.call("get_server_info", Value::Null).await);

    // A JWT minted in the key's session lives and dies with the key.
    let issued = ws_key.result("issue_token", json!({})).await;
    let derived = issued["token"].as_str().unwrap().to_owned();
    let mut ws_jwt = server.ws().await;
    let r = ws_jwt.authenticate(&derived).await;
    assert_eq!(r["user_id"], format!("apikey:{victim_id}"), "{r}");

    let revoked = ws_admin.result("revoke_api_key", json!({"key_id": victim_id})).await;
    assert_eq!(revoked["key_id"], victim_id.as_str());
    assert_eq!(revoked["revoked"], true);
    assert_eq!(revoked["status"], "REVOKED");
    assert!(revoked["revoked_at"].as_str().is_some_and(is_rfc3339_ms), "{revoked}");
    assert!(
        revoked["sessions_closed"].as_u64().is_some_and(|n| n >= 1),
        "sessions_closed: {revoked}"
    );

    ws_key
        .error("get_server_info", Value::Null, -32001, "credential_revoked")
        .await;
    ws_key.assert_alive().await;
    ws_jwt
        .error("get_server_info", Value::Null, -32001, "credential_revoked")
        .await;
    let mut fresh = server.ws().await;
    fresh
        .error(
            "authenticate",
            json!({"auth_token": victim_key}),
            -32001,
            "credential_revoked",
        )
        .await;
    fresh
        .error(
            "authenticate",
            json!({"auth_token": derived}),
            -32001,
            "credential_revoked",
        )
        .await;

    // Idempotent.
    let again = ws_admin.result("revoke_api_key", json!({"key_id": victim_id})).await;
    assert_eq!(again["revoked"], true);
    assert_eq!(again["sessions_closed"], 0, "{again}");

    // Revoking one's own key ends one's own session after the response.
    let own = ws_admin.result("revoke_api_key", json!({"key_id": admin_key_id})).await;
    assert_eq!(own["revoked"], true);
    ws_admin
        .error("get_server_info", Value::Null, -32001, "credential_revoked")
        .await;
}

#[tokio::test]
async fn cli_revocation_reaches_a_live_session() {
    let server = TestServer::start(json!({})).await;
    let created = server.create_key("viewer").await;
    let key_id = created["key_id"].as_str().unwrap().to_owned();
    let mut ws = server.ws_as(&server.key(&created)).await;
    assert_not_error(&ws.call("get_server_info", Value::Null).await);
    let listed = server.cli_ok(&["keys", "list", "--json"]).await;
    assert!(listed.contains(&key_id), "keys list --json shows the key: {listed}");
    assert!(
        !listed.contains(&server.key(&created)),
        "keys list must never print the secret"
    );

    server.cli_ok(&["keys", "revoke", &key_id]).await;
    let resp = poll_until_error(&mut ws, "get_server_info", Duration::from_secs(3)).await;
    assert_error(&resp, -32001, "credential_revoked");
}

#[tokio::test]
async fn issue_token_rules() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("op_user", "operator", 7200)).await;

    let r = ws.result("issue_token", json!({})).await;
    assert_eq!(r["token_type"], "Bearer", "{r}");
    assert_eq!(r["user_id"], "op_user");
    assert_eq!(r["role"], "operator");
    assert_eq!(r["expires_in"], 3600, "default ttl 3600: {r}");
    let (issued, expires) = (ts(&r["issued_at"]), ts(&r["expires_at"]));
    assert!(
        (expires - issued - 3_600_000).abs() <= 1000,
        "expires_at - issued_at = 3600 s: {r}"
    );
    let token = r["token"].as_str().unwrap().to_owned();
    assert_eq!(jwt::decode_header(&token)["alg"], "HS256");
    let claims = jwt::decode_claims(&token);
    assert_eq!(claims["user_id"], "op_user", "{claims}");
    assert_eq!(claims["role"], "operator", "{claims}");
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert!((exp - iat - 3600).abs() <= 1, "{claims}");
    assert!(
        claims["jti"].as_str().is_some_and(|j| !j.is_empty()),
        "jti claim: {claims}"
    );
    let mut other = server.ws().await;
    let s = other.authenticate(&token).await;
    assert_eq!(s["user_id"], "op_user");
    assert_eq!(s["role"], "operator");
    assert_eq!(s["auth_method"], "jwt");

    let r = ws
        .result("issue_token", json!({"role": "viewer", "ttl_seconds": 60}))
        .await;
    assert_eq!(r["role"], "viewer");
    assert_eq!(r["expires_in"], 60);
    assert_eq!(jwt::decode_claims(r["token"].as_str().unwrap())["role"], "viewer");
    ws.result("issue_token", json!({"ttl_seconds": 60.0})).await;
    ws.result("issue_token", json!({"ttl_seconds": 86400})).await;

    let data = ws
        .error("issue_token", json!({"role": "admin"}), -32002, "role_exceeds_caller")
        .await;
    assert!(data.is_object());
    for (params, reason) in [
        (json!({"ttl_seconds": 59}), "out_of_range"),
        (json!({"ttl_seconds": 86401}), "out_of_range"),
        (json!({"ttl_seconds": "60"}), "invalid_type"),
        (json!({"ttl_seconds": 60.5}), "invalid_type"),
        (json!({"role": "root"}), "invalid_value"),
    ] {
        let data = ws.error("issue_token", params.clone(), -32602, reason).await;
        assert!(data["param"].is_string(), "{params}: {data}");
    }
    // The caller's own session is unchanged: still an operator.
    let resp = ws.call("delete_snapshot", json!({})).await;
    assert_error(&resp, -32602, "missing_param");
}

#[tokio::test]
async fn issue_token_is_capped_by_the_callers_expiry() {
    let server = TestServer::start(json!({})).await;
    let caller = jwt::claims("capped", "admin", 300);
    let mut ws = server.ws_as(&jwt::hs256(JWT_SECRET.as_bytes(), &caller)).await;
    let r = ws.result("issue_token", json!({"ttl_seconds": 3600})).await;
    let expires_in = r["expires_in"].as_i64().unwrap_or_else(|| panic!("expires_in: {r}"));
    assert!(
        (280..=300).contains(&expires_in),
        "exp = min(now + ttl, caller's expiry): {r}"
    );
    let claims = jwt::decode_claims(r["token"].as_str().unwrap());
    assert!(
        claims["exp"].as_i64().unwrap() <= caller["exp"].as_i64().unwrap(),
        "{claims} vs {caller}"
    );
    assert!(ts(&r["expires_at"]) <= caller["exp"].as_i64().unwrap() * 1000, "{r}");
}

fn find_key<'a>(list: &'a Value, key_id: &str) -> Option<&'a Value> {
    list["keys"].as_array()?.iter().find(|k| k["key_id"] == key_id)
}

#[tokio::test]
async fn api_key_lifecycle() {
    let server = TestServer::start(json!({})).await;
    let admin = server.create_key("admin").await;
    let mut ws = server.ws().await;
    let me = ws.authenticate(&server.key(&admin)).await;
    let my_user = me["user_id"].as_str().unwrap().to_owned();

    // create
    let c = ws
        .result(
            "create_api_key",
            json!({"role": "operator", "description": "NVR uplink", "expires_in_days": 10}),
        )
        .await;
    let key = c["api_key"].as_str().unwrap_or_else(|| panic!("{c}")).to_owned();
    let key_id = c["key_id"].as_str().unwrap_or_else(|| panic!("{c}")).to_owned();
    assert!(is_api_key(&key), "{c}");
    assert!(is_key_id(&key_id), "{c}");
    assert_eq!(c["key_prefix"], &key[..12], "{c}");
    assert_eq!(c["role"], "operator");
    assert_eq!(c["description"], "NVR uplink");
    assert!(c["message"].as_str().is_some_and(|m| !m.is_empty()), "{c}");
    let created = ts(&c["created_at"]);
    assert!(
        (ts(&c["expires_at"]) - created - 10 * DAY_MS).abs() <= 2000,
        "expires_in_days 10: {c}"
    );
    let v = ws.result("create_api_key", json!({"role": "viewer"})).await;
    assert!(
        (ts(&v["expires_at"]) - ts(&v["created_at"]) - 90 * DAY_MS).abs() <= 2000,
        "default 90 days: {v}"
    );
    let viewer_id = v["key_id"].as_str().unwrap().to_owned();

    // list: records, never the secret
    let list = ws.result("list_api_keys", json!({})).await;
    assert!(
        !list.to_string().contains(&key),
        "list_api_keys must never contain a key's plaintext"
    );
    assert_eq!(list["limit"], 50, "{list}");
    assert_eq!(list["offset"], 0, "{list}");
    assert_eq!(list["total"], 3, "{list}");
    let rec = find_key(&list, &key_id).unwrap_or_else(|| panic!("created key listed: {list}"));
    for field in [
        "key_id",
        "key_prefix",
        "role",
        "description",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "usage_count",
        "revoked_at",
        "created_by",
    ] {
        assert!(rec.get(field).is_some(), "key record lacks {field}: {rec}");
    }
    assert!(
        rec.get("api_key").is_none(),
        "key record must not carry the secret: {rec}"
    );
    assert_eq!(rec["key_prefix"], &key[..12]);
    assert_eq!(rec["status"], "ACTIVE");
    assert_eq!(rec["last_used_at"], Value::Null);
    assert_eq!(rec["usage_count"], 0);
    assert_eq!(rec["revoked_at"], Value::Null);
    assert_eq!(
        rec["created_by"],
        my_user.as_str(),
        "created_by is the creator's user_id: {rec}"
    );
    assert_eq!(rec["description"], "NVR uplink");
    let cli_rec =
        find_key(&list, admin["key_id"].as_str().unwrap()).unwrap_or_else(|| panic!("CLI key listed: {list}"));
    assert_eq!(cli_rec["created_by"], "cli", "{cli_rec}");
    let order: Vec<&Value> = list["keys"].as_array().unwrap().iter().map(|k| &k["key_id"]).collect();
    assert_eq!(
        order,
        vec![&json!(viewer_id), &json!(key_id), &admin["key_id"]],
        "newest first: {list}"
    );
    let page = ws.result("list_api_keys", json!({"limit": 1, "offset": 1})).await;
    assert_eq!(page["keys"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["keys"][0]["key_id"], key_id.as_str(), "{page}");
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone(), page["total"].clone()),
        (json!(1), json!(1), json!(3))
    );
    let past = ws.result("list_api_keys", json!({"offset": 1000})).await;
    assert_eq!(past["keys"], json!([]), "{past}");

    // use updates last_used_at / usage_count
    let mut ws_key = server.ws_as(&key).await;
    let rec = ws.result("list_api_keys", json!({})).await;
    let rec = find_key(&rec, &key_id).unwrap().clone();
    assert!(rec["usage_count"].as_u64().is_some_and(|n| n >= 1), "{rec}");
    assert!(rec["last_used_at"].as_str().is_some_and(is_rfc3339_ms), "{rec}");

    // rotate (no grace): new key, same role and lifetime; old sessions end
    let r = ws.result("rotate_api_key", json!({"key_id": key_id})).await;
    assert_eq!(r["old_key_id"], key_id.as_str(), "{r}");
    let new_key = r["api_key"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
    let new_id = r["key_id"].as_str().unwrap().to_owned();
    assert!(is_api_key(&new_key) && new_key != key, "{r}");
    assert!(is_key_id(&new_id) && new_id != key_id, "{r}");
    assert_eq!(r["key_prefix"], &new_key[..12]);
    assert_eq!(r["role"], "operator");
    assert!(r["old_key_expires_at"].as_str().is_some_and(is_rfc3339_ms), "{r}");
    assert!(r["message"].is_string(), "{r}");
    assert!(
        (ts(&r["expires_at"]) - ts(&r["created_at"]) - 10 * DAY_MS).abs() <= 2000,
        "same lifetime as the old key: {r}"
    );
    let resp = poll_until_error(&mut ws_key, "get_server_info", Duration::from_secs(2)).await;
    assert_error(&resp, -32001, "credential_revoked");
    let mut fresh = server.ws().await;
    let resp = fresh.call("authenticate", json!({"auth_token": key})).await;
    assert_eq!(error_code(&resp), Some(-32001), "old key after rotation: {resp}");
    let s = fresh.authenticate(&new_key).await;
    assert_eq!(s["role"], "operator");
    let list = ws.result("list_api_keys", json!({})).await;
    assert!(
        find_key(&list, &key_id).is_none(),
        "revoked keys are hidden by default: {list}"
    );
    assert!(!list.to_string().contains(&new_key));
    let all = ws.result("list_api_keys", json!({"include_revoked": true})).await;
    let old = find_key(&all, &key_id).unwrap_or_else(|| panic!("include_revoked lists the old key: {all}"));
    assert_eq!(old["status"], "REVOKED");
    assert!(old["revoked_at"].as_str().is_some_and(is_rfc3339_ms), "{old}");
    let data = ws
        .error("rotate_api_key", json!({"key_id": key_id}), -32020, "key_revoked")
        .await;
    assert!(data.is_object());

    // not found / validation
    let data = ws
        .error(
            "revoke_api_key",
            json!({"key_id": "k_000000000000"}),
            -32010,
            "api_key_not_found",
        )
        .await;
    assert_eq!(data["resource"], "api_key", "{data}");
    assert_eq!(data["id"], "k_000000000000", "{data}");
    ws.error(
        "rotate_api_key",
        json!({"key_id": "k_000000000000"}),
        -32010,
        "api_key_not_found",
    )
    .await;
    let resp = ws.call("revoke_api_key", json!({"key_id": "bad"})).await;
    assert_eq!(error_code(&resp), Some(-32602), "{resp}");
    let data = ws.error("create_api_key", json!({}), -32602, "missing_param").await;
    assert_eq!(data["param"], "role");
    let data = ws
        .error("create_api_key", json!({"role": "root"}), -32602, "invalid_value")
        .await;
    assert!(data["allowed"].is_array(), "enum errors carry data.allowed: {data}");
    ws.error(
        "create_api_key",
        json!({"role": "viewer", "description": "d".repeat(257)}),
        -32602,
        "too_long",
    )
    .await;
    ws.error(
        "create_api_key",
        json!({"role": "viewer", "expires_in_days": 0}),
        -32602,
        "out_of_range",
    )
    .await;
    ws.error(
        "create_api_key",
        json!({"role": "viewer", "expires_in_days": 3651}),
        -32602,
        "out_of_range",
    )
    .await;
}

#[tokio::test]
async fn rotate_with_grace_keeps_the_old_key_valid() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.admin_key().await).await;
    let c = ws.result("create_api_key", json!({"role": "viewer"})).await;
    let old_key = c["api_key"].as_str().unwrap().to_owned();
    let r = ws
        .result("rotate_api_key", json!({"key_id": c["key_id"], "grace_seconds": 60}))
        .await;
    let old_exp = ts(&r["old_key_expires_at"]);
    let want = (unix_now() + 60) * 1000;
    assert!(
        (old_exp - want).abs() <= 5000,
        "old key valid for the grace period: {r}"
    );
    let mut other = server.ws().await;
    other.authenticate(&old_key).await;
    other.authenticate(r["api_key"].as_str().unwrap()).await;
    let data = ws
        .error(
            "rotate_api_key",
            json!({"key_id": c["key_id"], "grace_seconds": 86401}),
            -32602,
            "out_of_range",
        )
        .await;
    assert_eq!(data["param"], "grace_seconds");
}

#[tokio::test]
async fn http_credentials_per_request() {
    let server = TestServer::start(json!({"security": {"auth_failures_per_min": 1000}})).await;
    let http = server.http();
    let key = server.admin_key().await;
    let token = server.jwt("http_admin", "admin", 600);
    for auth in [Auth::Bearer(&key), Auth::ApiKey(&key), Auth::Bearer(&token)] {
        assert_not_error(&http.call("get_status", Value::Null, auth).await);
    }
    assert_error(
        &http.call("get_status", Value::Null, Auth::None).await,
        -32001,
        "auth_required",
    );
    assert_error(
        &http.call("get_status", Value::Null, Auth::Bearer("garbage")).await,
        -32001,
        "auth_failed",
    );
    let unknown = format!("csk_{}", "B".repeat(43));
    assert_error(
        &http.call("get_status", Value::Null, Auth::ApiKey(&unknown)).await,
        -32001,
        "auth_failed",
    );
    let expired = server.jwt("http_admin", "admin", -600);
    assert_error(
        &http.call("get_status", Value::Null, Auth::Bearer(&expired)).await,
        -32001,
        "token_expired",
    );
    // ping / rpc.discover need nothing; a bad header does not matter for authenticate's own params either.
    assert_eq!(http.call("ping", Value::Null, Auth::None).await["result"], "pong");
    assert!(assert_not_error(&http.call("rpc.discover", Value::Null, Auth::None).await).is_object());

    // authenticate over HTTP validates and returns the normal result, but creates no session.
    let r = assert_not_error(&http.call("authenticate", json!({"auth_token": key}), Auth::None).await);
    assert_eq!(r["authenticated"], true);
    assert_eq!(r["auth_method"], "api_key");
    assert!(r["session_id"].as_str().is_some_and(is_uuid_v4), "{r}");
    assert_error(
        &http.call("get_status", Value::Null, Auth::None).await,
        -32001,
        "auth_required",
    );
    let resp = http
        .call("authenticate", json!({"auth_token": "garbage"}), Auth::None)
        .await;
    assert_error(&resp, -32001, "auth_failed");

    // A revoked key in a header.
    let victim = server.create_key("viewer").await;
    server
        .cli_ok(&["keys", "revoke", victim["key_id"].as_str().unwrap()])
        .await;
    let victim_key = server.key(&victim);
    let resp = poll_until(Duration::from_secs(3), "revocation visible over HTTP", || async {
        let resp = http
            .call("get_server_info", Value::Null, Auth::ApiKey(&victim_key))
            .await;
        resp.get("error").is_some().then_some(resp)
    })
    .await;
    assert_eq!(error_reason(&resp), Some("credential_revoked"), "{resp}");
}

#[tokio::test]
async fn rotation_grace_period_ends_old_sessions_when_it_runs_out() {
    let server = TestServer::start(json!({})).await;
    let mut admin = server.ws_as(&server.admin_key().await).await;
    let c = admin.result("create_api_key", json!({"role": "viewer"})).await;
    let old_key = c["api_key"].as_str().unwrap().to_owned();
    let mut old_session = server.ws_as(&old_key).await;
    let r = admin
        .result("rotate_api_key", json!({"key_id": c["key_id"], "grace_seconds": 2}))
        .await;
    // Still valid during the grace period.
    assert_not_error(&old_session.call("get_server_info", Value::Null).await);
    let resp = poll_until_error(&mut old_session, "get_server_info", Duration::from_secs(6)).await;
    assert_error(&resp, -32001, "credential_revoked");
    let mut fresh = server.ws().await;
    let resp = fresh.call("authenticate", json!({"auth_token": old_key})).await;
    assert_eq!(
        error_code(&resp),
        Some(-32001),
        "old key after its grace period: {resp}"
    );
    fresh.authenticate(r["api_key"].as_str().unwrap()).await;
}
