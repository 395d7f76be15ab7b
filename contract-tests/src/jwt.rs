//! Minting test JWTs by hand (compact JWS, API.md §3.1): HS256 with the secret the harness gave the server, plus
//! deliberately wrong variants (`alg: none`, HS512, wrong secret) for the rejection tests. Signing uses
//! aws-lc-rs HMAC directly so the tests share no JWT library with the server.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `claims` with the given header using HMAC (`algorithm` picks SHA-256 or SHA-512).
pub fn sign(secret: &[u8], header: &Value, claims: &Value, algorithm: hmac::Algorithm) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = hmac::Key::new(algorithm, secret);
    let tag = hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag.as_ref()))
}

/// A normal HS256 token over `claims`.
pub fn hs256(secret: &[u8], claims: &Value) -> String {
    sign(
        secret,
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        hmac::HMAC_SHA256,
    )
}

/// A correctly signed HS512 token (the contract accepts HS256 only).
pub fn hs512(secret: &[u8], claims: &Value) -> String {
    sign(
        secret,
        &json!({"alg": "HS512", "typ": "JWT"}),
        claims,
        hmac::HMAC_SHA512,
    )
}

/// An unsecured token: header `alg: none` and an empty signature.
pub fn alg_none(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Standard claims: `user_id`, `role`, `iat` = now, `exp` = now + `ttl_secs` (negative for expired tokens).
pub fn claims(user_id: &str, role: &str, ttl_secs: i64) -> Value {
    let now = crate::unix_now();
    json!({"user_id": user_id, "role": role, "iat": now, "exp": now + ttl_secs})
}

/// Decodes the claims of a compact JWS without verifying it (to inspect tokens the server issued).
pub fn decode_claims(token: &str) -> Value {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a compact JWS: {token}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("JWS payload is not base64url ({e}): {token}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWS payload is not JSON ({e}): {token}"))
}

/// Decodes the header of a compact JWS.
pub fn decode_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .unwrap_or_else(|e| panic!("JWS header is not base64url ({e}): {token}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWS header is not JSON ({e}): {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_matches_rfc7515_shape() {
        let token = hs256(b"0123456789abcdef0123456789abcdef", &json!({"user_id": "a"}));
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(decode_claims(&token), json!({"user_id": "a"}));
        assert_eq!(decode_header(&token)["alg"], "HS256");
    }
}
