//! API keys: the secret material and the management operations (API.md §3.1, §4.10).
//!
//! A key is `csk_` + 43 base64url characters (32 random bytes from aws-lc-rs), shown once at creation. The store
//! keeps its SHA-256 digest, the first 12 characters (`key_prefix`, for humans) and an id `k_` + 12 lower-case
//! hex (random). Lookups go by digest; the digest found is compared again in constant time (`subtle`).
//!
//! Create, revoke and rotate each run in one `BEGIN IMMEDIATE` transaction together with their audit log row,
//! so the active-key limit holds even against the offline CLI writing at the same time. Revocations made here
//! are pushed into the session check's in-memory map as soon as they commit.

use base64::Engine as _;
use camera_api::error::reason;
use camera_api::role::Role;
use camera_api::types::keys::{ApiKeyRecord, CreateApiKeyResult, RevokeApiKeyResult, RotateApiKeyResult};
use rusqlite::TransactionBehavior;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;

use super::service::{AuthService, RevokedKey};
use crate::clock::format_timestamp;
use crate::store::api_keys::{self, ApiKeyRow, KeyStatus, NewApiKey};
use crate::store::audit;
use crate::{Error, ErrorKind};

/// Every API key starts with this.
pub const KEY_PREFIX: &str = "csk_";
/// Length of a whole key: prefix + 43 base64url characters.
pub const KEY_LEN: usize = 4 + 43;
/// Length of the displayed `key_prefix`.
pub const DISPLAY_PREFIX_LEN: usize = 12;
/// Longest accepted description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 256;
/// Accepted `expires_in_days` range.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// Freshly generated key material. `secret` is the plaintext: hand it to the user once, never store or log it.
pub struct GeneratedKey {
    pub secret: String,
    pub key_id: String,
    pub key_prefix: String,
    pub hash: [u8; 32],
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key_id", &self.key_id)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

fn random<const N: usize>() -> crate::Result<[u8; N]> {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| Error::internal("the system random generator failed"))?;
    Ok(buf)
}

/// New random key material.
pub fn generate() -> crate::Result<GeneratedKey> {
    let secret = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?)
    );
    let key_id = format!(
        "k_{}",
        random::<6>()?.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let key_prefix = secret[..DISPLAY_PREFIX_LEN].to_owned();
    let hash = hash_secret(&secret);
    Ok(GeneratedKey {
        secret,
        key_id,
        key_prefix,
        hash,
    })
}

/// SHA-256 of the whole key text.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Constant-time equality of two digests.
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `^csk_[A-Za-z0-9_-]{43}$`.
pub fn is_well_formed(key: &str) -> bool {
    key.len() == KEY_LEN
        && key.starts_with(KEY_PREFIX)
        && key
            .bytes()
            .skip(KEY_PREFIX.len())
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `^k_[0-9a-f]{12}$`.
pub fn is_valid_key_id(id: &str) -> bool {
    id.len() == 14 && id.starts_with("k_") && id.bytes().skip(2).all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// How long a new key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `api_keys.default_expiry_days`.
    Default,
    Days(u32),
    /// No expiry (offline CLI only; the wire API always sets one).
    Never,
}

impl From<Option<u32>> for Expiry {
    fn from(days: Option<u32>) -> Self {
        days.map_or(Expiry::Default, Expiry::Days)
    }
}

/// A key record as clients see it (never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub key_prefix: String,
    pub role: Role,
    pub description: String,
    pub status: KeyStatus,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub usage_count: u64,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_by: String,
}

impl ApiKeyInfo {
    fn from_row(row: ApiKeyRow, now: OffsetDateTime) -> Self {
        ApiKeyInfo {
            status: row.status_at(now),
            revoked_at: row.revoked_at_at(now),
            key_id: row.key_id,
            key_prefix: row.key_prefix,
            role: row.role,
            description: row.description,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            usage_count: u64::try_from(row.usage_count).unwrap_or(0),
            created_by: row.created_by,
        }
    }
}

/// A newly created key, with its plaintext (shown once).
#[derive(Clone, PartialEq)]
pub struct CreatedApiKey {
    pub key_id: String,
    pub api_key: String,
    pub key_prefix: String,
    pub role: Role,
    pub description: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key_id", &self.key_id)
            .field("key_prefix", &self.key_prefix)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The outcome of `revoke_api_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedApiKey {
    pub key_id: String,
    /// `false` when the key was already revoked (idempotent call).
    pub newly_revoked: bool,
    pub revoked_at: OffsetDateTime,
}

/// The outcome of `rotate_api_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct RotatedApiKey {
    pub old_key_id: String,
    /// When the old key stops working (end of the grace period, or its own earlier expiry).
    pub old_key_expires_at: OffsetDateTime,
    pub new_key: CreatedApiKey,
}

/// Shown with every plaintext key.
pub const STORE_KEY_MESSAGE: &str = "Store this key now; it cannot be retrieved again";

fn ts(t: OffsetDateTime) -> String {
    format_timestamp(t)
}

impl From<&ApiKeyInfo> for ApiKeyRecord {
    fn from(k: &ApiKeyInfo) -> Self {
        ApiKeyRecord {
            key_id: k.key_id.clone(),
            key_prefix: k.key_prefix.clone(),
            role: k.role,
            description: k.description.clone(),
            status: k.status.as_str().to_owned(),
            created_at: ts(k.created_at),
            expires_at: k.expires_at.map(ts),
            last_used_at: k.last_used_at.map(ts),
            usage_count: k.usage_count,
            revoked_at: k.revoked_at.map(ts),
            created_by: k.created_by.clone(),
        }
    }
}

impl From<&CreatedApiKey> for CreateApiKeyResult {
    fn from(k: &CreatedApiKey) -> Self {
        CreateApiKeyResult {
            key_id: k.key_id.clone(),
            api_key: k.api_key.clone(),
            key_prefix: k.key_prefix.clone(),
            role: k.role,
            description: k.description.clone(),
            created_at: ts(k.created_at),
            expires_at: k.expires_at.map(ts),
            message: STORE_KEY_MESSAGE.to_owned(),
        }
    }
}

impl From<&RotatedApiKey> for RotateApiKeyResult {
    fn from(r: &RotatedApiKey) -> Self {
        let k = &r.new_key;
        RotateApiKeyResult {
            old_key_id: r.old_key_id.clone(),
            old_key_expires_at: ts(r.old_key_expires_at),
            key_id: k.key_id.clone(),
            api_key: k.api_key.clone(),
            key_prefix: k.key_prefix.clone(),
            role: k.role,
            created_at: ts(k.created_at),
            expires_at: k.expires_at.map(ts),
            message: STORE_KEY_MESSAGE.to_owned(),
        }
    }
}

impl RevokedApiKey {
    /// The `revoke_api_key` result; `sessions_closed` comes from the connection registry.
    pub fn to_result(&self, sessions_closed: u64) -> RevokeApiKeyResult {
        RevokeApiKeyResult {
            key_id: self.key_id.clone(),
            revoked: true,
            status: KeyStatus::Revoked.as_str().to_owned(),
            revoked_at: ts(self.revoked_at),
            sessions_closed: if self.newly_revoked { sessions_closed } else { 0 },
        }
    }
}

fn key_not_found(key_id: &str) -> Error {
    Error::not_found(reason::API_KEY_NOT_FOUND, "api_key", key_id)
}

fn check_description(description: &str) -> crate::Result<()> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid_param(
            reason::TOO_LONG,
            "description",
            "description is longer than 256 characters",
        ));
    }
    Ok(())
}

fn check_days(days: u32) -> crate::Result<time::Duration> {
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(Error::invalid_param(
            reason::OUT_OF_RANGE,
            "expires_in_days",
            "expires_in_days must be 1..3650",
        ));
    }
    Ok(time::Duration::days(i64::from(days)))
}

impl AuthService {
    /// Creates a key. Fails with `key_limit_reached` when `api_keys.max_active_keys` keys are already active.
    pub async fn create_api_key(
        &self,
        role: Role,
        description: &str,
        expiry: impl Into<Expiry>,
        created_by: &str,
    ) -> crate::Result<CreatedApiKey> {
        check_description(description)?;
        let now = self.now_ms();
        let expires_at = match expiry.into() {
            Expiry::Default => Some(now + check_days(self.default_expiry_days)?),
            Expiry::Days(days) => Some(now + check_days(days)?),
            Expiry::Never => None,
        };
        let material = generate()?;
        let created = CreatedApiKey {
            key_id: material.key_id.clone(),
            api_key: material.secret.clone(),
            key_prefix: material.key_prefix.clone(),
            role,
            description: description.to_owned(),
            created_at: now,
            expires_at,
        };
        let (description, created_by, max) = (description.to_owned(), created_by.to_owned(), self.max_active_keys);
        self.store
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let active = api_keys::count_active(&tx, now)?;
                if active >= i64::from(max) {
                    return Err(Error::new(
                        ErrorKind::InvalidState,
                        reason::KEY_LIMIT_REACHED,
                        format!("{active} API keys are active; the limit is {max}"),
                    )
                    .with("resource", "api_key")
                    .suggest("Revoke unused keys first"));
                }
                api_keys::insert(
                    &tx,
                    &NewApiKey {
                        key_id: &material.key_id,
                        key_hash: &material.hash,
                        key_prefix: &material.key_prefix,
                        role,
                        description: &description,
                        created_at: now,
                        expires_at,
                        created_by: &created_by,
                    },
                )?;
                audit::record(
                    &tx,
                    now,
                    &created_by,
                    "api_key.create",
                    Some(&material.key_id),
                    &json!({"role": role.as_str(), "expires_at": expires_at.map(ts), "key_prefix": material.key_prefix}),
                )?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        tracing::info!(key_id = %created.key_id, role = %role, "API key created");
        Ok(created)
    }

    /// A page of key records, newest first, and the total. Without `include_revoked`, only `ACTIVE` keys.
    pub async fn list_api_keys(
        &self,
        include_revoked: bool,
        limit: u32,
        offset: u64,
    ) -> crate::Result<(Vec<ApiKeyInfo>, u64)> {
        let now = self.now_ms();
        let (rows, total) = self
            .store
            .call(move |conn| api_keys::list(conn, include_revoked, now, limit, offset))
            .await?;
        Ok((rows.into_iter().map(|r| ApiKeyInfo::from_row(r, now)).collect(), total))
    }

    /// One key record.
    pub async fn get_api_key(&self, key_id: &str) -> crate::Result<ApiKeyInfo> {
        let now = self.now_ms();
        let id = key_id.to_owned();
        let row = self.store.call(move |conn| api_keys::get(conn, &id)).await?;
        row.map(|r| ApiKeyInfo::from_row(r, now))
            .ok_or_else(|| key_not_found(key_id))
    }

    /// Revokes a key (idempotent: an already revoked key reports its revocation time and
    /// `newly_revoked: false`). Sessions using it end at once.
    pub async fn revoke_api_key(&self, key_id: &str, actor: &str) -> crate::Result<RevokedApiKey> {
        let now = self.now_ms();
        let (id, actor_owned) = (key_id.to_owned(), actor.to_owned());
        let (outcome, expires_at) = self
            .store
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let row = api_keys::get(&tx, &id)?.ok_or_else(|| key_not_found(&id))?;
                if row.status_at(now) == KeyStatus::Revoked {
                    let revoked_at = row.revocation_time().unwrap_or(now);
                    return Ok((
                        RevokedApiKey {
                            key_id: id,
                            newly_revoked: false,
                            revoked_at,
                        },
                        row.expires_at,
                    ));
                }
                api_keys::revoke(&tx, &id, now)?;
                audit::record(&tx, now, &actor_owned, "api_key.revoke", Some(&id), &json!({}))?;
                tx.commit()?;
                Ok((
                    RevokedApiKey {
                        key_id: id,
                        newly_revoked: true,
                        revoked_at: now,
                    },
                    row.expires_at,
                ))
            })
            .await?;
        self.note_revocation(
            key_id,
            RevokedKey {
                ends_at: outcome.revoked_at,
                expires_at,
            },
        );
        if outcome.newly_revoked {
            tracing::info!(key_id, actor, "API key revoked");
        }
        Ok(outcome)
    }

    /// Replaces an `ACTIVE` key by a new one with the same role and description. The old key keeps working for
    /// `grace_seconds` (0: revoked at once). Without `expires_in_days` the new key gets the old key's lifetime.
    pub async fn rotate_api_key(
        &self,
        key_id: &str,
        expires_in_days: Option<u32>,
        grace_seconds: u32,
        actor: &str,
    ) -> crate::Result<RotatedApiKey> {
        let now = self.now_ms();
        let lifetime = expires_in_days.map(check_days).transpose()?;
        let material = generate()?;
        let (id, actor_owned) = (key_id.to_owned(), actor.to_owned());
        let grace = time::Duration::seconds(i64::from(grace_seconds));
        let (rotated, old_expiry, old_ends_at) = self
            .store
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let old = api_keys::get(&tx, &id)?.ok_or_else(|| key_not_found(&id))?;
                let status = old.status_at(now);
                if status != KeyStatus::Active {
                    return Err(Error::new(
                        ErrorKind::InvalidState,
                        reason::KEY_REVOKED,
                        format!("API key {id} is {} and cannot be rotated", status.as_str()),
                    )
                    .with("resource", "api_key")
                    .with("id", id.as_str()));
                }
                let expires_at = match lifetime {
                    Some(days) => Some(now + days),
                    None => old.expires_at.map(|e| now + (e - old.created_at)),
                };
                api_keys::insert(
                    &tx,
                    &NewApiKey {
                        key_id: &material.key_id,
                        key_hash: &material.hash,
                        key_prefix: &material.key_prefix,
                        role: old.role,
                        description: &old.description,
                        created_at: now,
                        expires_at,
                        created_by: &actor_owned,
                    },
                )?;
                if grace_seconds == 0 {
                    api_keys::revoke(&tx, &id, now)?;
                } else {
                    api_keys::schedule_revoke(&tx, &id, now + grace)?;
                }
                let updated = api_keys::get(&tx, &id)?.ok_or_else(|| key_not_found(&id))?;
                let ends_at = updated.revocation_time().unwrap_or(now);
                let old_key_expires_at = updated.expires_at.map_or(ends_at, |e| e.min(ends_at));
                audit::record(
                    &tx,
                    now,
                    &actor_owned,
                    "api_key.rotate",
                    Some(&id),
                    &json!({"new_key_id": material.key_id, "grace_seconds": grace_seconds,
                            "old_key_expires_at": ts(old_key_expires_at)}),
                )?;
                tx.commit()?;
                let new_key = CreatedApiKey {
                    key_id: material.key_id,
                    api_key: material.secret,
                    key_prefix: material.key_prefix,
                    role: old.role,
                    description: old.description,
                    created_at: now,
                    expires_at,
                };
                Ok((
                    RotatedApiKey {
                        old_key_id: id,
                        old_key_expires_at,
                        new_key,
                    },
                    old.expires_at,
                    ends_at,
                ))
            })
            .await?;
        self.note_revocation(
            key_id,
            RevokedKey {
                ends_at: old_ends_at,
                expires_at: old_expiry,
            },
        );
        tracing::info!(old_key_id = key_id, new_key_id = %rotated.new_key.key_id, grace_seconds, "API key rotated");
        Ok(rotated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::identity::AuthMethod;
    use crate::clock::ManualClock;
    use crate::config::Config;
    use crate::store::Store;
    use std::sync::Arc;
    use std::time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-01-15 14:30:00 UTC);
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    struct Harness {
        _dir: tempfile::TempDir,
        dir: std::path::PathBuf,
        clock: Arc<ManualClock>,
        auth: Arc<AuthService>,
        config: Config,
    }

    fn harness_with(config: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config(&mut cfg);
        let store = Store::open(dir.path()).expect("store");
        let clock = ManualClock::new(T0);
        let auth = AuthService::new(&cfg, store, clock.clone(), SECRET.to_vec());
        Harness {
            dir: dir.path().to_path_buf(),
            _dir: dir,
            clock,
            auth,
            config: cfg,
        }
    }

    fn harness() -> Harness {
        harness_with(|_| {})
    }

    impl Harness {
        /// A second process on the same data dir (the offline CLI), sharing the clock.
        fn other_process(&self) -> Arc<AuthService> {
            let store = Store::open(&self.dir).expect("second store");
            AuthService::new(&self.config, store, self.clock.clone(), SECRET.to_vec())
        }
        fn advance(&self, secs: u64) {
            self.clock.advance(Duration::from_secs(secs));
        }
    }

    #[test]
    fn key_material_has_the_documented_shape() {
        let k = generate().expect("generate");
        assert!(is_well_formed(&k.secret), "{}", k.secret);
        assert_eq!(k.secret.len(), 47);
        assert!(is_valid_key_id(&k.key_id), "{}", k.key_id);
        assert_eq!(k.key_prefix, &k.secret[..12]);
        assert_eq!(k.hash, hash_secret(&k.secret));
        let other = generate().expect("generate");
        assert_ne!(k.secret, other.secret);
        assert_ne!(k.key_id, other.key_id);
        assert!(!format!("{k:?}").contains(&k.secret), "Debug hides the secret");
    }

    #[test]
    fn format_checks() {
        assert!(is_well_formed(&format!("csk_{}", "A".repeat(43))));
        assert!(is_well_formed(&format!("csk_{}", "-_".repeat(21) + "z")));
        assert!(!is_well_formed(&format!("csk_{}", "A".repeat(42))));
        assert!(!is_well_formed(&format!("csk_{}", "A".repeat(44))));
        assert!(!is_well_formed(&format!("csk_{}=", "A".repeat(42))));
        assert!(!is_well_formed(&format!("CSK_{}", "A".repeat(43))));
        assert!(!is_well_formed(&format!("csk_{}é", "A".repeat(41))));
        assert!(is_valid_key_id("k_0123456789ab"));
        assert!(!is_valid_key_id("k_0123456789AB"));
        assert!(!is_valid_key_id("k_0123456789a"));
        assert!(!is_valid_key_id("x_0123456789ab"));
        assert!(hashes_equal(&[1, 2], &[1, 2]));
        assert!(!hashes_equal(&[1, 2], &[1, 3]));
        assert!(!hashes_equal(&[1, 2], &[1, 2, 3]));
    }

    #[tokio::test]
    async fn create_authenticate_and_list() {
        let h = harness();
        let created = h
            .auth
            .create_api_key(Role::Operator, "NVR uplink", None, "alice")
            .await
            .expect("create");
        assert_eq!(
            created.expires_at,
            Some(T0 + time::Duration::days(90)),
            "default expiry"
        );
        let v = serde_json::to_value(CreateApiKeyResult::from(&created)).expect("json");
        assert_eq!(v["message"], STORE_KEY_MESSAGE);
        assert_eq!(v["role"], "operator");
        assert_eq!(v["created_at"], "2025-01-15T14:30:00.000Z");
        assert_eq!(v["expires_at"], "2025-04-15T14:30:00.000Z");

        h.advance(5);
        let id = h.auth.authenticate(&created.api_key).await.expect("authenticate");
        assert_eq!(id.user_id, format!("apikey:{}", created.key_id));
        assert_eq!(id.role, Role::Operator);
        assert_eq!(id.auth_method, AuthMethod::ApiKey);
        assert_eq!(id.key_id.as_deref(), Some(created.key_id.as_str()));
        assert_eq!(id.expires_at, created.expires_at);
        h.auth.check_session(&id).expect("session ok");

        let (keys, total) = h.auth.list_api_keys(false, 50, 0).await.expect("list");
        assert_eq!(total, 1);
        let k = &keys[0];
        assert_eq!(
            (k.usage_count, k.last_used_at),
            (1, Some(T0 + time::Duration::seconds(5)))
        );
        assert_eq!(k.status, KeyStatus::Active);
        assert_eq!(k.created_by, "alice");
        let json = serde_json::to_value(ApiKeyRecord::from(k)).expect("json");
        assert!(
            json.get("api_key").is_none() && json.get("key_hash").is_none(),
            "no secret in records"
        );
        assert_eq!(json["revoked_at"], serde_json::Value::Null);

        let created_rows = h.auth.store.call(|c| audit::recent(c, 10)).await.expect("audit");
        assert_eq!(created_rows[0].action, "api_key.create");
        assert!(!created_rows[0].details.to_string().contains(&created.api_key));
    }

    #[tokio::test]
    async fn unknown_malformed_and_expired_keys() {
        let h = harness();
        let err = h
            .auth
            .authenticate(&format!("csk_{}", "A".repeat(43)))
            .await
            .expect_err("unknown");
        assert_eq!((err.kind, err.reason), (ErrorKind::Unauthenticated, "auth_failed"));
        let err = h.auth.authenticate("csk_short").await.expect_err("malformed");
        assert_eq!(err.reason, "auth_failed");
        let k = h
            .auth
            .create_api_key(Role::Viewer, "", Some(1), "alice")
            .await
            .expect("create");
        h.advance(86_400);
        let err = h.auth.authenticate(&k.api_key).await.expect_err("expired");
        assert_eq!(err.reason, "token_expired");
        let (active, _) = h.auth.list_api_keys(false, 50, 0).await.expect("list");
        assert!(active.is_empty());
        let (all, _) = h.auth.list_api_keys(true, 50, 0).await.expect("list");
        assert_eq!(all[0].status, KeyStatus::Expired);
    }

    #[tokio::test]
    async fn validation_and_limits() {
        let h = harness_with(|c| c.api_keys.max_active_keys = 2);
        let err = h
            .auth
            .create_api_key(Role::Viewer, &"d".repeat(257), None, "a")
            .await
            .expect_err("long");
        assert_eq!((err.kind, err.reason), (ErrorKind::InvalidArgument, "too_long"));
        let err = h
            .auth
            .create_api_key(Role::Viewer, "", Some(0), "a")
            .await
            .expect_err("0 days");
        assert_eq!(err.reason, "out_of_range");
        let a = h.auth.create_api_key(Role::Viewer, "", None, "a").await.expect("1");
        h.auth
            .create_api_key(Role::Viewer, "", Expiry::Never, "a")
            .await
            .expect("2");
        let err = h
            .auth
            .create_api_key(Role::Viewer, "", None, "a")
            .await
            .expect_err("3 > limit");
        assert_eq!((err.kind, err.reason), (ErrorKind::InvalidState, "key_limit_reached"));
        h.auth.revoke_api_key(&a.key_id, "a").await.expect("revoke");
        h.auth
            .create_api_key(Role::Viewer, "", None, "a")
            .await
            .expect("room again after a revocation");
    }

    #[tokio::test]
    async fn revoke_is_idempotent_and_ends_sessions_at_once() {
        let h = harness();
        let k = h
            .auth
            .create_api_key(Role::Admin, "", None, "alice")
            .await
            .expect("create");
        let id = h.auth.authenticate(&k.api_key).await.expect("auth");
        let minted = h.auth.issue_token(&id, Some(Role::Viewer), 3600).expect("issue");
        let jwt_id = h.auth.authenticate(&minted.token).await.expect("key-bound jwt");
        assert_eq!(jwt_id.key_id.as_deref(), Some(k.key_id.as_str()));

        let r = h.auth.revoke_api_key(&k.key_id, "alice").await.expect("revoke");
        assert!(r.newly_revoked);
        assert_eq!(r.revoked_at, T0);
        let v = serde_json::to_value(r.to_result(2)).expect("json");
        assert_eq!(v["sessions_closed"], 2);
        assert_eq!(
            (v["status"].as_str(), v["revoked"].as_bool()),
            (Some("REVOKED"), Some(true))
        );
        for session in [&id, &jwt_id] {
            let err = h.auth.check_session(session).expect_err("revoked");
            assert_eq!(
                (err.kind, err.reason),
                (ErrorKind::Unauthenticated, "credential_revoked")
            );
        }
        assert_eq!(
            h.auth.authenticate(&k.api_key).await.expect_err("key").reason,
            "credential_revoked"
        );
        assert_eq!(
            h.auth.authenticate(&minted.token).await.expect_err("jwt").reason,
            "credential_revoked"
        );

        h.advance(10);
        let again = h.auth.revoke_api_key(&k.key_id, "alice").await.expect("idempotent");
        assert!(!again.newly_revoked);
        assert_eq!(again.revoked_at, T0, "reports the original revocation time");
        assert_eq!(again.to_result(3).sessions_closed, 0, "idempotent call closes nothing");
        let err = h
            .auth
            .revoke_api_key("k_000000000000", "alice")
            .await
            .expect_err("missing");
        assert_eq!((err.kind, err.reason), (ErrorKind::NotFound, "api_key_not_found"));
        assert_eq!(err.data["resource"], "api_key");

        let (all, _) = h.auth.list_api_keys(true, 50, 0).await.expect("list");
        assert_eq!((all[0].status, all[0].revoked_at), (KeyStatus::Revoked, Some(T0)));
        let log = h.auth.store.call(|c| audit::recent(c, 10)).await.expect("audit");
        assert_eq!(
            log.iter().filter(|e| e.action == "api_key.revoke").count(),
            1,
            "one row, not two"
        );
    }

    #[tokio::test]
    async fn rotation_with_grace() {
        let h = harness();
        let old = h
            .auth
            .create_api_key(Role::Operator, "cam uplink", Some(30), "alice")
            .await
            .expect("create");
        let old_session = h.auth.authenticate(&old.api_key).await.expect("auth");
        h.advance(86_400); // 1 day later
        let r = h
            .auth
            .rotate_api_key(&old.key_id, None, 600, "bob")
            .await
            .expect("rotate");
        let now = T0 + time::Duration::days(1);
        assert_eq!(r.old_key_id, old.key_id);
        assert_eq!(r.old_key_expires_at, now + time::Duration::seconds(600));
        assert_eq!(r.new_key.role, Role::Operator);
        assert_eq!(r.new_key.description, "cam uplink");
        assert_eq!(
            r.new_key.expires_at,
            Some(now + time::Duration::days(30)),
            "same lifetime as the old key"
        );
        let v = serde_json::to_value(RotateApiKeyResult::from(&r)).expect("json");
        assert_eq!(v["old_key_id"], old.key_id.as_str());
        assert_eq!(v["old_key_expires_at"], "2025-01-16T14:40:00.000Z");
        assert!(v["api_key"].as_str().is_some_and(is_well_formed));

        // In grace: both keys work.
        h.auth.check_session(&old_session).expect("old session still valid");
        let in_grace = h.auth.authenticate(&old.api_key).await.expect("old key in grace");
        h.auth.authenticate(&r.new_key.api_key).await.expect("new key");
        let (active, _) = h.auth.list_api_keys(false, 50, 0).await.expect("list");
        assert_eq!(active.len(), 2);

        h.advance(599);
        h.auth.check_session(&in_grace).expect("one second left");
        h.advance(1);
        for s in [&old_session, &in_grace] {
            assert_eq!(
                h.auth.check_session(s).expect_err("grace over").reason,
                "credential_revoked"
            );
        }
        assert_eq!(
            h.auth.authenticate(&old.api_key).await.expect_err("old").reason,
            "credential_revoked"
        );
        let (all, _) = h.auth.list_api_keys(true, 50, 0).await.expect("list");
        let old_rec = all.iter().find(|k| k.key_id == old.key_id).expect("old record");
        assert_eq!(old_rec.status, KeyStatus::Revoked);
        assert_eq!(old_rec.revoked_at, Some(now + time::Duration::seconds(600)));

        let err = h
            .auth
            .rotate_api_key(&old.key_id, None, 0, "bob")
            .await
            .expect_err("not active");
        assert_eq!((err.kind, err.reason), (ErrorKind::InvalidState, "key_revoked"));
        let err = h
            .auth
            .rotate_api_key("k_ffffffffffff", None, 0, "bob")
            .await
            .expect_err("missing");
        assert_eq!(err.reason, "api_key_not_found");
    }

    #[tokio::test]
    async fn rotation_without_grace_revokes_at_once_and_new_expiry_is_explicit() {
        let h = harness();
        let old = h
            .auth
            .create_api_key(Role::Viewer, "", Expiry::Never, "cli")
            .await
            .expect("create");
        let s = h.auth.authenticate(&old.api_key).await.expect("auth");
        let r = h
            .auth
            .rotate_api_key(&old.key_id, Some(7), 0, "alice")
            .await
            .expect("rotate");
        assert_eq!(r.new_key.expires_at, Some(T0 + time::Duration::days(7)));
        assert_eq!(r.old_key_expires_at, T0);
        assert_eq!(
            h.auth.check_session(&s).expect_err("revoked").reason,
            "credential_revoked"
        );
        let r2 = h
            .auth
            .rotate_api_key(&r.new_key.key_id, None, 0, "alice")
            .await
            .expect("rotate again");
        assert_eq!(r2.new_key.expires_at, Some(T0 + time::Duration::days(7)));
    }

    #[tokio::test]
    async fn offline_cli_keys_work_without_restart_and_cli_revocations_are_picked_up() {
        let h = harness();
        let cli = h.other_process();
        let k = cli
            .create_api_key(Role::Admin, "bootstrap", Expiry::Never, "cli")
            .await
            .expect("cli create");
        let session = h
            .auth
            .authenticate(&k.api_key)
            .await
            .expect("server sees the CLI's key");
        assert_eq!(session.expires_at, None);

        let (tx, rx) = watch::channel(false);
        let watcher = tokio::spawn(Arc::clone(&h.auth).run_revocation_watch(rx));
        tokio::time::sleep(Duration::from_millis(50)).await;
        cli.revoke_api_key(&k.key_id, "cli").await.expect("cli revoke");
        h.auth
            .check_session(&session)
            .expect("not noticed before the next poll");
        // Tick the watch's one-second sleep until it reloads.
        let mut noticed = false;
        for _ in 0..100 {
            h.clock.advance(Duration::from_secs(1));
            tokio::time::sleep(Duration::from_millis(20)).await;
            if h.auth.check_session(&session).is_err() {
                noticed = true;
                break;
            }
        }
        assert!(noticed, "revocation by another process picked up");
        assert_eq!(
            h.auth.check_session(&session).expect_err("revoked").reason,
            "credential_revoked"
        );
        tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .expect("watch stops")
            .expect("join");
    }

    use tokio::sync::watch;

    #[tokio::test]
    async fn revocation_map_drops_expired_keys() {
        let h = harness();
        let k = h
            .auth
            .create_api_key(Role::Viewer, "", Some(1), "a")
            .await
            .expect("create");
        h.auth.revoke_api_key(&k.key_id, "a").await.expect("revoke");
        assert_eq!(h.auth.tracked_revocations(), 1);
        h.advance(86_400);
        h.auth.reload_revocations().await.expect("reload");
        assert_eq!(h.auth.tracked_revocations(), 0);
    }

    #[tokio::test]
    async fn list_pagination_newest_first() {
        let h = harness();
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                h.auth
                    .create_api_key(Role::Viewer, &format!("k{i}"), None, "a")
                    .await
                    .expect("create")
                    .key_id,
            );
            h.advance(1);
        }
        let (page, total) = h.auth.list_api_keys(false, 2, 1).await.expect("page");
        assert_eq!(total, 5);
        assert_eq!(
            page.iter().map(|k| k.key_id.clone()).collect::<Vec<_>>(),
            vec![ids[3].clone(), ids[2].clone()]
        );
        let (empty, total) = h.auth.list_api_keys(false, 2, 10).await.expect("past end");
        assert!(empty.is_empty());
        assert_eq!(total, 5);
    }

    #[tokio::test]
    async fn get_api_key_record() {
        let h = harness();
        let k = h
            .auth
            .create_api_key(Role::Viewer, "x", None, "a")
            .await
            .expect("create");
        assert_eq!(h.auth.get_api_key(&k.key_id).await.expect("get").description, "x");
        assert_eq!(
            h.auth.get_api_key("k_000000000000").await.expect_err("missing").reason,
            "api_key_not_found"
        );
    }
}
