//! [`AuthService`]: authentication, per-request session checks, token issuing and the revocation watch.
//!
//! Hot path: [`AuthService::check_session`] runs on every request. It reads the clock and takes a read lock on
//! an in-memory map of revoked API keys (`key_id` -> when its sessions end); it never awaits and never touches
//! the database. The map only grows by revocations (a key is never un-revoked), so merging in a fresh database
//! snapshot can never lose a revocation made meanwhile by this process. Entries whose key has expired are
//! dropped: every session bound to such a key has expired with it (a key-bound session never outlives its key,
//! see `authenticate`), so the map holds at most the revoked keys that have not expired.
//!
//! Revocations reach the map three ways: `revoke_api_key` / `rotate_api_key` in this process insert directly;
//! `authenticate` inserts a key's scheduled revocation (rotation grace) when it sees one; and
//! [`AuthService::run_revocation_watch`] polls `PRAGMA data_version` every second and reloads the map when
//! another process (the offline CLI) has written. A scheduled revocation needs no timer: the map holds its time
//! and `check_session` compares it with the clock.

use camera_api::error::reason;
use camera_api::role::Role;
use camera_api::types::meta::IssueTokenResult;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::identity::{AuthMethod, Identity};
use super::jwt::{Claims, JwtCodec, MAX_USER_ID_CHARS, auth_failed};
use super::keys;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;
use crate::store::api_keys::{self, KeyStatus};
use crate::{Error, ErrorKind};

/// Prefix of `user_id` for API key identities and for JWTs minted in an API key session.
pub const APIKEY_USER_PREFIX: &str = "apikey:";

/// How often the revocation watch looks for writes by another process.
pub const REVOCATION_POLL: Duration = Duration::from_secs(1);

/// When a revoked key's sessions end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RevokedKey {
    pub ends_at: OffsetDateTime,
    /// The key's own expiry; once past, the entry is useless and dropped.
    pub expires_at: Option<OffsetDateTime>,
}

/// A JWT minted by `issue_token` or the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub user_id: String,
    pub role: Role,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Effective lifetime in seconds.
    pub expires_in: u64,
    pub jti: String,
}

impl From<&IssuedToken> for IssueTokenResult {
    fn from(t: &IssuedToken) -> Self {
        IssueTokenResult {
            token: t.token.clone(),
            token_type: "Bearer".to_owned(),
            user_id: t.user_id.clone(),
            role: t.role,
            issued_at: crate::clock::format_timestamp(t.issued_at),
            expires_at: crate::clock::format_timestamp(t.expires_at),
            expires_in: t.expires_in,
        }
    }
}

/// Authentication, sessions, tokens and API keys. Shared as `Arc<AuthService>`.
pub struct AuthService {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) jwt: JwtCodec,
    pub(super) default_expiry_days: u32,
    pub(super) max_active_keys: u32,
    pub(super) revoked: RwLock<HashMap<String, RevokedKey>>,
    /// Bumped whenever a revocation is learned, so live connections re-check their session without polling.
    revocation_epoch: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn count_failure(reason: &'static str) {
    metrics::counter!("camera_service_auth_failures_total", "reason" => reason).increment(1);
}

impl AuthService {
    pub fn new(config: &Config, store: Store, clock: Arc<dyn Clock>, jwt_secret: Vec<u8>) -> Arc<AuthService> {
        Arc::new(AuthService {
            store,
            jwt: JwtCodec::new(&jwt_secret, config.security.jwt_leeway_seconds),
            default_expiry_days: config.api_keys.default_expiry_days,
            max_active_keys: config.api_keys.max_active_keys,
            revoked: RwLock::new(HashMap::new()),
            revocation_epoch: tokio::sync::watch::Sender::new(0),
            clock,
        })
    }

    /// The current time, truncated to milliseconds (the precision of stored and wire timestamps).
    pub(super) fn now_ms(&self) -> OffsetDateTime {
        let now = self.clock.now();
        now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
            .unwrap_or(now)
    }

    /// Checks a credential: a `csk_` API key (looked up in the store, so keys created by the offline CLI work at
    /// once) or else a JWT. Errors are `Unauthenticated` with reason `auth_failed`, `token_expired` or
    /// `credential_revoked` (or `database_unavailable` when the store fails).
    pub async fn authenticate(&self, token: &str) -> crate::Result<Identity> {
        let result = if token.starts_with(keys::KEY_PREFIX) {
            self.authenticate_api_key(token).await
        } else {
            self.authenticate_jwt(token).await
        };
        if let Err(e) = &result
            && e.kind == ErrorKind::Unauthenticated
        {
            count_failure(e.reason);
        }
        result
    }

    async fn authenticate_api_key(&self, token: &str) -> crate::Result<Identity> {
        if !keys::is_well_formed(token) {
            return Err(auth_failed("Malformed API key"));
        }
        let hash = keys::hash_secret(token);
        let now = self.now_ms();
        let row = self
            .store
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let Some((row, stored)) = api_keys::find_by_hash(&tx, &hash)? else {
                    return Ok(None);
                };
                if !keys::hashes_equal(&stored, &hash) {
                    return Ok(None);
                }
                if row.status_at(now) == KeyStatus::Active {
                    api_keys::touch(&tx, &row.key_id, now)?;
                    tx.commit()?;
                }
                Ok(Some(row))
            })
            .await?;
        let Some(row) = row else {
            return Err(auth_failed("Unknown API key"));
        };
        match row.status_at(now) {
            KeyStatus::Revoked => return Err(revoked_error()),
            KeyStatus::Expired => {
                return Err(
                    Error::new(ErrorKind::Unauthenticated, reason::TOKEN_EXPIRED, "API key expired")
                        .suggest("Create or rotate to a new API key"),
                );
            }
            KeyStatus::Active => {}
        }
        if let Some(ends_at) = row.revocation_time() {
            self.note_revocation(
                &row.key_id,
                RevokedKey {
                    ends_at,
                    expires_at: row.expires_at,
                },
            );
        }
        Ok(Identity {
            user_id: format!("{APIKEY_USER_PREFIX}{}", row.key_id),
            role: row.role,
            expires_at: row.expires_at,
            auth_method: AuthMethod::ApiKey,
            key_id: Some(row.key_id),
        })
    }

    async fn authenticate_jwt(&self, token: &str) -> crate::Result<Identity> {
        let now = self.clock.now();
        let verified = self.jwt.decode(token, now)?;
        let Claims { user_id, role, .. } = verified.claims;
        let mut expires_at = verified.expires_at;
        let key_id = match user_id.strip_prefix(APIKEY_USER_PREFIX) {
            None => None,
            Some(key_id) => {
                let lookup = key_id.to_owned();
                let row = self.store.call(move |conn| api_keys::get(conn, &lookup)).await?;
                let Some(row) = row else {
                    return Err(auth_failed("The token's API key does not exist"));
                };
                if row.status_at(now) != KeyStatus::Active {
                    return Err(revoked_error());
                }
                if role > row.role {
                    return Err(auth_failed("The token's role exceeds its API key's role"));
                }
                if let Some(key_expiry) = row.expires_at {
                    expires_at = expires_at.min(key_expiry);
                }
                if let Some(ends_at) = row.revocation_time() {
                    self.note_revocation(
                        &row.key_id,
                        RevokedKey {
                            ends_at,
                            expires_at: row.expires_at,
                        },
                    );
                }
                Some(row.key_id)
            }
        };
        Ok(Identity {
            user_id,
            role,
            expires_at: Some(expires_at),
            auth_method: AuthMethod::Jwt,
            key_id,
        })
    }

    /// Per-request check of a bound session: revoked key -> `credential_revoked`; past its expiry (plus the JWT
    /// leeway for JWT sessions) -> `token_expired`. No await, no database: a clock read and a map lookup.
    pub fn check_session(&self, identity: &Identity) -> crate::Result<()> {
        let now = self.clock.now();
        if let Some(key_id) = &identity.key_id {
            let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner());
            if revoked.get(key_id).is_some_and(|r| r.ends_at <= now) {
                return Err(revoked_error());
            }
        }
        if let Some(expires_at) = identity.expires_at {
            let leeway = match identity.auth_method {
                AuthMethod::Jwt => self.jwt.leeway(),
                AuthMethod::ApiKey => time::Duration::ZERO,
            };
            if now >= expires_at + leeway {
                return Err(
                    Error::new(ErrorKind::Unauthenticated, reason::TOKEN_EXPIRED, "Session expired")
                        .suggest("Call authenticate with a fresh credential"),
                );
            }
        }
        Ok(())
    }

    /// Records that sessions of `key_id` end at `r.ends_at` (keeps an earlier time).
    pub(super) fn note_revocation(&self, key_id: &str, r: RevokedKey) {
        let changed = {
            let mut revoked = self.revoked.write().unwrap_or_else(|p| p.into_inner());
            match revoked.get_mut(key_id) {
                Some(e) if e.ends_at <= r.ends_at => false,
                Some(e) => {
                    e.ends_at = r.ends_at;
                    true
                }
                None => {
                    revoked.insert(key_id.to_owned(), r);
                    true
                }
            }
        };
        if changed {
            self.revocation_epoch.send_modify(|epoch| *epoch += 1);
        }
    }

    /// Changes whenever a key revocation (immediate or scheduled) becomes known.
    pub fn revocation_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revocation_epoch.subscribe()
    }

    /// When a session of `identity` ends: its credential expiry or its key's (scheduled) revocation.
    pub fn session_ends_at(&self, identity: &Identity) -> Option<OffsetDateTime> {
        let revoked_at = identity.key_id.as_ref().and_then(|key_id| {
            self.revoked
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(key_id)
                .map(|r| r.ends_at)
        });
        match (identity.expires_at, revoked_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Merges the store's revocations into the in-memory map and drops entries of expired keys.
    pub async fn reload_revocations(&self) -> crate::Result<()> {
        let now = self.clock.now();
        let fresh = self.store.call(move |conn| api_keys::revocations(conn, now)).await?;
        for r in fresh {
            self.note_revocation(
                &r.key_id,
                RevokedKey {
                    ends_at: r.ends_at,
                    expires_at: r.expires_at,
                },
            );
        }
        self.prune_revocations(now);
        Ok(())
    }

    fn prune_revocations(&self, now: OffsetDateTime) {
        let mut revoked = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        revoked.retain(|_, r| r.expires_at.is_none_or(|e| e > now));
    }

    /// Number of revoked keys tracked in memory.
    pub fn tracked_revocations(&self) -> usize {
        self.revoked.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Polls `PRAGMA data_version` every second (on the injected clock) and reloads the revocation map when
    /// another process wrote to the store. Loads once at start. Returns when `shutdown` becomes `true` or its
    /// sender is dropped.
    pub async fn run_revocation_watch(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut seen_version: Option<i64> = None;
        let mut ticks: u64 = 0;
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            match self.store.data_version().await {
                Ok(version) if seen_version != Some(version) => match self.reload_revocations().await {
                    Ok(()) => seen_version = Some(version),
                    Err(e) => tracing::warn!(error = %e, "cannot reload API key revocations"),
                },
                Ok(_) => {
                    if ticks.is_multiple_of(60) {
                        self.prune_revocations(self.clock.now());
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the state store's data_version"),
            }
            ticks = ticks.wrapping_add(1);
            tokio::select! {
                () = self.clock.sleep(REVOCATION_POLL) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::debug!("revocation watch stopped");
    }

    /// `issue_token`: a JWT for the caller's own identity, with a role no higher than the caller's and an expiry
    /// no later than the caller's own (API.md §3.4).
    pub fn issue_token(&self, identity: &Identity, role: Option<Role>, ttl_seconds: u32) -> crate::Result<IssuedToken> {
        let role = role.unwrap_or(identity.role);
        if role > identity.role {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                reason::ROLE_EXCEEDS_CALLER,
                format!("Cannot issue a {role} token from a {} session", identity.role),
            )
            .with("required_role", role.as_str())
            .with("have_role", identity.role.as_str()));
        }
        self.sign(&identity.user_id, role, u64::from(ttl_seconds), identity.expires_at)
    }

    /// A JWT for the offline CLI (`camera-service token`).
    pub fn mint_token(&self, user_id: &str, role: Role, ttl_seconds: u64) -> crate::Result<IssuedToken> {
        let len = user_id.chars().count();
        if len == 0 || len > MAX_USER_ID_CHARS {
            return Err(Error::invalid_param(
                reason::OUT_OF_RANGE,
                "user_id",
                "user_id must be 1..128 characters",
            ));
        }
        if ttl_seconds == 0 {
            return Err(Error::invalid_param(
                reason::OUT_OF_RANGE,
                "ttl",
                "ttl must be at least 1 second",
            ));
        }
        self.sign(user_id, role, ttl_seconds, None)
    }

    fn sign(&self, user_id: &str, role: Role, ttl: u64, cap: Option<OffsetDateTime>) -> crate::Result<IssuedToken> {
        let iat = self.clock.now().unix_timestamp();
        let mut exp = iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        if let Some(cap) = cap {
            exp = exp.min(cap.unix_timestamp());
        }
        let exp = exp.max(iat);
        let to_time = |secs: i64| {
            OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|_| Error::invalid_param(reason::OUT_OF_RANGE, "ttl", "the token would expire too far away"))
        };
        let (issued_at, expires_at) = (to_time(iat)?, to_time(exp)?);
        let jti = uuid::Uuid::new_v4().to_string();
        let claims = Claims {
            user_id: user_id.to_owned(),
            role,
            iat,
            exp,
            nbf: None,
            jti: Some(jti.clone()),
        };
        let token = self.jwt.encode(&claims)?;
        Ok(IssuedToken {
            token,
            user_id: user_id.to_owned(),
            role,
            issued_at,
            expires_at,
            expires_in: u64::try_from(exp - iat).unwrap_or(0),
            jti,
        })
    }
}

pub(super) fn revoked_error() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        reason::CREDENTIAL_REVOKED,
        "The API key behind this credential was revoked",
    )
    .suggest("Authenticate with another credential")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::Store;
    use std::sync::Mutex;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-01-15 14:30:00 UTC);
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn service() -> (tempfile::TempDir, Arc<ManualClock>, Arc<AuthService>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let store = Store::open(dir.path()).expect("store");
        let clock = ManualClock::new(T0);
        let auth = AuthService::new(&config, store, clock.clone(), SECRET.to_vec());
        (dir, clock, auth)
    }

    fn jwt(user_id: &str, role: Role, iat: i64, exp: i64) -> String {
        JwtCodec::new(SECRET, 0)
            .encode(&Claims {
                user_id: user_id.into(),
                role,
                iat,
                exp,
                nbf: None,
                jti: None,
            })
            .expect("sign")
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[tokio::test]
    async fn jwt_session_lifecycle_with_leeway() {
        let (_dir, clock, auth) = service();
        let t = T0.unix_timestamp();
        let id = auth
            .authenticate(&jwt("alice", Role::Operator, t, t + 60))
            .await
            .expect("jwt");
        assert_eq!(id.user_id, "alice");
        assert_eq!(id.role, Role::Operator);
        assert_eq!(id.auth_method, AuthMethod::Jwt);
        assert_eq!(id.key_id, None);
        assert_eq!(id.expires_at, Some(T0 + time::Duration::seconds(60)));
        auth.check_session(&id).expect("fresh");
        clock.advance(secs(89));
        auth.check_session(&id).expect("inside the 30 s leeway");
        clock.advance(secs(1));
        let err = auth.check_session(&id).expect_err("expired");
        assert_eq!((err.kind, err.reason), (ErrorKind::Unauthenticated, "token_expired"));
    }

    #[tokio::test]
    async fn api_key_session_expires_without_leeway() {
        let (_dir, clock, auth) = service();
        let key = auth
            .create_api_key(Role::Viewer, "", Some(1), "a")
            .await
            .expect("create");
        let id = auth.authenticate(&key.api_key).await.expect("auth");
        clock.advance(secs(86_399));
        auth.check_session(&id).expect("one second left");
        clock.advance(secs(1));
        assert_eq!(auth.check_session(&id).expect_err("expired").reason, "token_expired");
    }

    #[tokio::test]
    async fn issue_token_caps_role_and_expiry() {
        let (_dir, clock, auth) = service();
        let t = T0.unix_timestamp();
        let caller = auth
            .authenticate(&jwt("alice", Role::Operator, t, t + 600))
            .await
            .expect("caller");

        let err = auth
            .issue_token(&caller, Some(Role::Admin), 3600)
            .expect_err("higher role");
        assert_eq!(
            (err.kind, err.reason),
            (ErrorKind::PermissionDenied, "role_exceeds_caller")
        );
        assert_eq!(
            (err.data["required_role"].as_str(), err.data["have_role"].as_str()),
            (Some("admin"), Some("operator"))
        );

        clock.advance(secs(100));
        let issued = auth.issue_token(&caller, None, 3600).expect("issue");
        assert_eq!(issued.role, Role::Operator, "defaults to the caller's role");
        assert_eq!(issued.user_id, "alice");
        assert_eq!(
            issued.expires_at,
            T0 + time::Duration::seconds(600),
            "capped by the caller's expiry"
        );
        assert_eq!(issued.expires_in, 500);
        let v = serde_json::to_value(IssueTokenResult::from(&issued)).expect("json");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["issued_at"], "2025-01-15T14:31:40.000Z");
        assert_eq!(v["expires_in"], 500);

        let again = auth
            .authenticate(&issued.token)
            .await
            .expect("issued token authenticates");
        assert_eq!((again.user_id.as_str(), again.role), ("alice", Role::Operator));
        let claims = JwtCodec::new(SECRET, 0)
            .decode(&issued.token, clock.now())
            .expect("decode")
            .claims;
        assert_eq!(claims.jti.as_deref(), Some(issued.jti.as_str()));
        assert_eq!(claims.iat, t + 100);

        let short = auth.issue_token(&caller, Some(Role::Viewer), 60).expect("short");
        assert_eq!((short.expires_in, short.role), (60, Role::Viewer));
        let other = auth.issue_token(&caller, Some(Role::Viewer), 60).expect("another");
        assert_ne!(short.jti, other.jti, "fresh jti each time");
    }

    #[tokio::test]
    async fn key_bound_jwt_rules() {
        let (_dir, clock, auth) = service();
        let key = auth
            .create_api_key(Role::Operator, "", Some(1), "a")
            .await
            .expect("create");
        let session = auth.authenticate(&key.api_key).await.expect("key");
        let issued = auth.issue_token(&session, None, 86_400).expect("issue");
        assert_eq!(issued.user_id, format!("apikey:{}", key.key_id));
        let t = T0.unix_timestamp();
        // A hand-minted key-bound token above the key's role is refused.
        let admin = jwt(&issued.user_id, Role::Admin, t, t + 60);
        assert_eq!(
            auth.authenticate(&admin).await.expect_err("role above key").reason,
            "auth_failed"
        );
        // One for a key that does not exist.
        let ghost = jwt("apikey:k_000000000000", Role::Viewer, t, t + 60);
        assert_eq!(
            auth.authenticate(&ghost).await.expect_err("ghost").reason,
            "auth_failed"
        );
        // A long-lived one never outlives the key.
        let long = jwt(&issued.user_id, Role::Viewer, t, t + 10 * 86_400);
        let id = auth.authenticate(&long).await.expect("long");
        assert_eq!(id.expires_at, key.expires_at);
        clock.advance(secs(86_400 + 30));
        assert_eq!(
            auth.check_session(&id).expect_err("key expired").reason,
            "token_expired"
        );
        assert_eq!(
            auth.authenticate(&long).await.expect_err("key expired").reason,
            "credential_revoked"
        );
    }

    #[tokio::test]
    async fn mint_token_for_the_cli() {
        let (_dir, _clock, auth) = service();
        let t = auth.mint_token("cli", Role::Admin, 7200).expect("mint");
        assert_eq!((t.expires_in, t.role), (7200, Role::Admin));
        let id = auth.authenticate(&t.token).await.expect("valid");
        assert_eq!(id.user_id, "cli");
        assert_eq!(
            auth.mint_token("", Role::Admin, 60).expect_err("empty").kind,
            ErrorKind::InvalidArgument
        );
        assert!(auth.mint_token(&"u".repeat(129), Role::Admin, 60).is_err());
        assert!(auth.mint_token("u", Role::Admin, 0).is_err());
    }

    /// Counts `camera_service_auth_failures_total` increments by reason label.
    #[derive(Default)]
    struct CountingRecorder {
        seen: Arc<Mutex<Vec<(String, String)>>>,
    }

    struct Hit(Arc<Mutex<Vec<(String, String)>>>, String, String);

    impl metrics::CounterFn for Hit {
        fn increment(&self, _value: u64) {
            self.0.lock().expect("lock").push((self.1.clone(), self.2.clone()));
        }
        fn absolute(&self, _value: u64) {}
    }

    impl metrics::Recorder for CountingRecorder {
        fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
        fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
        fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
        fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
            let reason = key
                .labels()
                .find(|l| l.key() == "reason")
                .map(|l| l.value().to_owned())
                .unwrap_or_default();
            metrics::Counter::from_arc(Arc::new(Hit(self.seen.clone(), key.name().to_owned(), reason)))
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn failures_are_counted_by_reason() {
        let (_dir, _clock, auth) = service();
        let recorder = CountingRecorder::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let t = T0.unix_timestamp();
        metrics::with_local_recorder(&recorder, || {
            rt.block_on(async {
                let _ = auth.authenticate("garbage").await;
                let _ = auth.authenticate(&jwt("a", Role::Viewer, t - 7200, t - 3600)).await;
                auth.authenticate(&jwt("a", Role::Viewer, t, t + 60))
                    .await
                    .expect("success is not counted");
            })
        });
        let seen = recorder.seen.lock().expect("lock").clone();
        assert_eq!(
            seen,
            vec![
                (
                    "camera_service_auth_failures_total".to_owned(),
                    "auth_failed".to_owned()
                ),
                (
                    "camera_service_auth_failures_total".to_owned(),
                    "token_expired".to_owned()
                ),
            ]
        );
    }
}
