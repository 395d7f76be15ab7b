//! The offline command line that tests and operators rely on (API.md §3.1 bootstrap keys; the brief's CLI):
//! strict config parsing, `keys create/list/revoke --json`, and `token`.

use contract_tests::contract::{is_api_key, is_key_id};
use contract_tests::server::{run_binary, write_config};
use contract_tests::{TestServer, jwt};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn unknown_config_keys_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), &json!({"server": {"bogus_key": 1}}));
    let path = path.display().to_string();
    let out = run_binary(&["--config", &path, "run"], Duration::from_secs(15)).await;
    assert!(!out.status.success(), "a config with an unknown key must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bogus_key"), "the error names the key: {stderr}");
}

#[tokio::test]
async fn keys_create_list_revoke() {
    let server = TestServer::start(json!({})).await;
    let created = server.create_key("operator").await;
    let key = server.key(&created);
    assert!(is_api_key(&key), "{created}");
    let key_id = created["key_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    assert!(is_key_id(&key_id), "{created}");
    assert_eq!(created["role"], "operator");
    assert_eq!(created["key_prefix"], &key[..12]);

    let list: Value =
        serde_json::from_str(server.cli_ok(&["keys", "list", "--json"]).await.trim()).expect("list --json is JSON");
    assert!(!list.to_string().contains(&key), "keys list never shows the secret");
    assert!(list.to_string().contains(&key_id), "{list}");

    // Takes effect without a restart.
    let mut ws = server.ws().await;
    assert_eq!(ws.authenticate(&key).await["role"], "operator");
    server.cli_ok(&["keys", "revoke", &key_id]).await;
    let out = server.cli(&["keys", "revoke", "k_000000000000"]).await;
    assert!(!out.status.success(), "revoking an unknown key id must fail");
}

#[tokio::test]
async fn token_command_mints_a_jwt() {
    let server = TestServer::start(json!({})).await;
    let token = server.cli_token("viewer", Some(120)).await;
    let claims = jwt::decode_claims(&token);
    assert_eq!(claims["role"], "viewer", "{claims}");
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 120, "{claims}");
    assert!(claims["user_id"].as_str().is_some_and(|u| !u.is_empty()), "{claims}");
    let mut ws = server.ws().await;
    assert_eq!(ws.authenticate(&token).await["role"], "viewer");
}
