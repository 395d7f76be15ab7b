//! HS256 JSON Web Tokens (API.md §3.1): signing what `issue_token` / the CLI mint, and verifying what clients
//! present.
//!
//! Only HS256 is accepted; any other `alg` (including `none`) fails as `auth_failed`. jsonwebtoken checks the
//! signature; its own time checks are switched off because they read the system clock: `exp` and `nbf` are
//! checked here against the injected clock's `now`, with `security.jwt_leeway_seconds` of leeway. Required
//! claims: `user_id` (1..128 characters), `role`, `iat`, `exp`; `nbf` and `jti` are honoured when present.
//! Expired -> `token_expired`; every other failure -> `auth_failed` (the reason never says which check failed).

use camera_api::role::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use camera_api::error::reason;

use crate::{Error, ErrorKind};

/// Longest accepted `user_id` claim, in characters.
pub const MAX_USER_ID_CHARS: usize = 128;

/// The claims of our tokens. NumericDate claims are whole seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub user_id: String,
    pub role: Role,
    #[serde(deserialize_with = "numeric_date")]
    pub iat: i64,
    #[serde(deserialize_with = "numeric_date")]
    pub exp: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_numeric_date"
    )]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// A token that passed every check, with its expiry as a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub claims: Claims,
    pub expires_at: OffsetDateTime,
}

/// Signs and verifies with one secret. Never prints the secret.
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    leeway: time::Duration,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

pub(crate) fn auth_failed(details: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unauthenticated, reason::AUTH_FAILED, details)
}

impl JwtCodec {
    pub fn new(secret: &[u8], leeway_seconds: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        JwtCodec {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            leeway: time::Duration::seconds(i64::try_from(leeway_seconds).unwrap_or(i64::MAX / 2)),
        }
    }

    /// The configured clock leeway.
    pub fn leeway(&self) -> time::Duration {
        self.leeway
    }

    /// Signs `claims` with HS256.
    pub fn encode(&self, claims: &Claims) -> crate::Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::internal(format!("cannot sign a JWT: {e}")))
    }

    /// Verifies signature, algorithm, claims and times (against `now`).
    pub fn decode(&self, token: &str, now: OffsetDateTime) -> crate::Result<VerifiedToken> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| auth_failed(format!("Invalid token: {e}")))?;
        let claims = data.claims;
        let len = claims.user_id.chars().count();
        if len == 0 || len > MAX_USER_ID_CHARS {
            return Err(auth_failed("Invalid token: user_id must be 1..128 characters"));
        }
        let expires_at = OffsetDateTime::from_unix_timestamp(claims.exp)
            .map_err(|_| auth_failed("Invalid token: exp is out of range"))?;
        if now >= expires_at + self.leeway {
            return Err(
                Error::new(ErrorKind::Unauthenticated, reason::TOKEN_EXPIRED, "Token expired")
                    .suggest("Obtain a new token and call authenticate again"),
            );
        }
        if let Some(nbf) = claims.nbf {
            let not_before = OffsetDateTime::from_unix_timestamp(nbf)
                .map_err(|_| auth_failed("Invalid token: nbf is out of range"))?;
            if now + self.leeway < not_before {
                return Err(auth_failed("Invalid token: not valid yet (nbf)"));
            }
        }
        Ok(VerifiedToken { claims, expires_at })
    }
}

/// A NumericDate: an integer, or a finite number with a fraction (truncated toward the past).
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    number_to_seconds(&n).ok_or_else(|| serde::de::Error::custom("invalid NumericDate"))
}

fn opt_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| number_to_seconds(&n).ok_or_else(|| serde::de::Error::custom("invalid NumericDate")))
        .transpose()
}

fn number_to_seconds(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // Beyond ±2^62 the value is meaningless as a date anyway.
    (f.is_finite() && f.abs() < 4.6e18).then(|| f.floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use time::macros::datetime;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: OffsetDateTime = datetime!(2025-01-15 14:30:00 UTC);

    fn claims(exp_offset: i64) -> Claims {
        Claims {
            user_id: "alice".into(),
            role: Role::Operator,
            iat: NOW.unix_timestamp(),
            exp: NOW.unix_timestamp() + exp_offset,
            nbf: None,
            jti: Some("j1".into()),
        }
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// Builds and signs a token from raw JSON (so tests can put anything in the header or claims).
    fn raw_token(header: serde_json::Value, payload: serde_json::Value, secret: &[u8]) -> String {
        let signing_input = format!("{}.{}", b64(&header), b64(&payload));
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    #[test]
    fn round_trip() {
        let codec = JwtCodec::new(SECRET, 30);
        let token = codec.encode(&claims(3600)).expect("sign");
        let v = codec.decode(&token, NOW).expect("valid");
        assert_eq!(v.claims, claims(3600));
        assert_eq!(v.expires_at, NOW + time::Duration::hours(1));
    }

    #[test]
    fn expiry_uses_the_given_clock_and_leeway() {
        let codec = JwtCodec::new(SECRET, 30);
        let token = codec.encode(&claims(60)).expect("sign");
        let at = |s: i64| NOW + time::Duration::seconds(s);
        assert!(codec.decode(&token, at(89)).is_ok(), "inside leeway");
        let err = codec.decode(&token, at(90)).expect_err("expired");
        assert_eq!((err.kind, err.reason), (ErrorKind::Unauthenticated, "token_expired"));
        // A token whose exp is in the past by the system clock is still fine on a clock set in the past.
        let old = JwtCodec::new(SECRET, 0)
            .encode(&Claims {
                exp: 1_000,
                iat: 0,
                ..claims(0)
            })
            .expect("sign");
        assert!(
            JwtCodec::new(SECRET, 0)
                .decode(&old, OffsetDateTime::UNIX_EPOCH)
                .is_ok()
        );
    }

    #[test]
    fn nbf_is_honoured() {
        let codec = JwtCodec::new(SECRET, 30);
        let token = codec
            .encode(&Claims {
                nbf: Some(NOW.unix_timestamp() + 100),
                ..claims(3600)
            })
            .expect("sign");
        let err = codec.decode(&token, NOW).expect_err("not yet");
        assert_eq!(err.reason, "auth_failed");
        assert!(
            codec.decode(&token, NOW + time::Duration::seconds(70)).is_ok(),
            "leeway applies to nbf"
        );
    }

    #[test]
    fn wrong_secret_and_garbage_fail() {
        let token = JwtCodec::new(SECRET, 30).encode(&claims(3600)).expect("sign");
        let other = JwtCodec::new(b"another-secret-another-secret-xx", 30);
        assert_eq!(other.decode(&token, NOW).expect_err("bad sig").reason, "auth_failed");
        let codec = JwtCodec::new(SECRET, 30);
        for junk in ["", "abc", "a.b.c", "csk_nope", "\u{0}\u{1}"] {
            assert_eq!(codec.decode(junk, NOW).expect_err(junk).reason, "auth_failed");
        }
        // Tampered payload, original signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(&serde_json::json!({"user_id":"mallory","role":"admin","iat":0,"exp":4_000_000_000i64}));
        parts[1] = &forged;
        assert_eq!(
            codec.decode(&parts.join("."), NOW).expect_err("tampered").reason,
            "auth_failed"
        );
    }

    #[test]
    fn only_hs256_is_accepted() {
        let codec = JwtCodec::new(SECRET, 30);
        let payload = serde_json::to_value(claims(3600)).expect("json");
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg":"none","typ":"JWT"})),
            b64(&payload)
        );
        assert_eq!(codec.decode(&none, NOW).expect_err("none").reason, "auth_failed");
        for alg in ["HS384", "HS512", "RS256", "ES256", "EdDSA"] {
            let t = raw_token(serde_json::json!({"alg": alg}), payload.clone(), SECRET);
            assert_eq!(codec.decode(&t, NOW).expect_err(alg).reason, "auth_failed", "{alg}");
        }
        let ok = raw_token(serde_json::json!({"alg":"HS256"}), payload, SECRET);
        assert!(codec.decode(&ok, NOW).is_ok(), "hand-built HS256 token is valid");
    }

    #[test]
    fn required_claims_and_their_shapes() {
        let codec = JwtCodec::new(SECRET, 30);
        let h = serde_json::json!({"alg":"HS256","typ":"JWT"});
        let iat = NOW.unix_timestamp();
        let exp = iat + 3600;
        let bad = [
            serde_json::json!({"role":"admin","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"a","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"a","role":"admin","exp":exp}),
            serde_json::json!({"user_id":"a","role":"admin","iat":iat}),
            serde_json::json!({"user_id":"a","role":"root","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"a","role":"Admin","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"","role":"admin","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"x".repeat(129),"role":"admin","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"a","role":"admin","iat":iat,"exp":"tomorrow"}),
            serde_json::json!({"user_id":7,"role":"admin","iat":iat,"exp":exp}),
        ];
        for payload in bad {
            let t = raw_token(h.clone(), payload.clone(), SECRET);
            assert_eq!(
                codec.decode(&t, NOW).expect_err(&payload.to_string()).reason,
                "auth_failed",
                "{payload}"
            );
        }
        let good = [
            serde_json::json!({"user_id":"x".repeat(128),"role":"viewer","iat":iat,"exp":exp}),
            serde_json::json!({"user_id":"é","role":"admin","iat":iat as f64 + 0.5,"exp":exp as f64 + 0.25,"extra":1}),
        ];
        for payload in good {
            let t = raw_token(h.clone(), payload.clone(), SECRET);
            assert!(codec.decode(&t, NOW).is_ok(), "{payload}");
        }
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let codec = JwtCodec::new(SECRET, 30);
        assert!(!format!("{codec:?}").contains("0123456789"));
    }
}
