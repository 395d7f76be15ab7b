//! [`DownloadTokens`]: the in-memory store of download tokens (API.md §3.4) issued by `get_download_url` and
//! redeemed by `GET`/`HEAD /files/...?token=` (§6.2).
//!
//! Invariants:
//! - A token is `dlt_` + 43 base64url characters (32 bytes from the system random generator). Only its SHA-256
//!   digest is kept; lookups go by digest, so neither the map nor its timing reveals a live token.
//! - A token is bound to one (kind, filename) and to the identity that asked for it. It may be redeemed any
//!   number of times until it expires, `security.download_token_ttl` after issue but never after the issuing
//!   credential's own expiry. Redeeming re-checks the issuing identity with the caller-supplied session check
//!   (`AuthService::check_session`), so revoking the API key or the credential expiring voids the token at once.
//! - Memory is bounded: at most [`MAX_TOKENS`] live tokens in total and [`MAX_TOKENS_PER_USER`] per `user_id`;
//!   beyond either cap the oldest token (of everyone, resp. of that user) is dropped. Expired tokens are pruned
//!   on every issue (amortised O(1): tokens are queued in issue order) and on redemption.
//! - Time comes only from the injected clock. Tokens are lost on restart.

use crate::auth::identity::Identity;
use crate::clock::Clock;
use crate::media::files::FileKind;
use crate::{Error, ErrorKind};
use base64::Engine;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// Prefix of every download token.
pub const TOKEN_PREFIX: &str = "dlt_";
/// Characters after the prefix (32 bytes, base64url without padding).
const TOKEN_BODY_LEN: usize = 43;
/// Most live tokens held at once.
pub const MAX_TOKENS: usize = 16_384;
/// Most live tokens one `user_id` holds at once.
pub const MAX_TOKENS_PER_USER: usize = 1_024;

type Digest = [u8; 32];

/// A freshly issued token (the plaintext exists only here and in the `get_download_url` result).
#[derive(Clone, Debug)]
pub struct IssuedDownloadToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
    /// Whole seconds from issue to `expires_at`.
    pub expires_in: u64,
}

/// Why a token cannot be used for a request.
#[derive(Clone, Debug)]
pub enum Rejected {
    /// Malformed, unknown or expired: 401 `download_token_invalid`.
    Invalid,
    /// Valid, but issued for another file or kind: 403 `token_scope_mismatch`.
    ScopeMismatch,
    /// The issuing credential was revoked or has expired (401 with the check's reason).
    Credential(Error),
}

struct Entry {
    kind: FileKind,
    filename: String,
    expires_at: OffsetDateTime,
    identity: Identity,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<Digest, Entry>,
    /// Digests in issue order; may hold digests already removed from `tokens` (skipped when popped).
    order: VecDeque<Digest>,
    per_user: HashMap<String, usize>,
}

impl Inner {
    fn remove(&mut self, digest: &Digest) -> Option<Entry> {
        let entry = self.tokens.remove(digest)?;
        if let Some(count) = self.per_user.get_mut(&entry.identity.user_id) {
            *count -= 1;
            if *count == 0 {
                self.per_user.remove(&entry.identity.user_id);
            }
        }
        Some(entry)
    }

    /// Drops expired tokens from the front of the queue and stale queue slots.
    fn prune(&mut self, now: OffsetDateTime) {
        while let Some(front) = self.order.front() {
            match self.tokens.get(front) {
                Some(entry) if entry.expires_at > now => break,
                Some(_) => {
                    let digest = *front;
                    self.order.pop_front();
                    self.remove(&digest);
                }
                None => {
                    self.order.pop_front();
                }
            }
        }
        // Stale slots behind live ones (tokens removed on redemption) are bounded by compacting when the queue
        // outgrows the map.
        if self.order.len() > 2 * self.tokens.len() + 64 {
            let tokens = &self.tokens;
            self.order.retain(|d| tokens.contains_key(d));
        }
    }

    /// Drops the oldest live token, optionally only among those of `user_id`.
    fn evict_oldest(&mut self, user_id: Option<&str>) {
        let position = self.order.iter().position(|d| {
            self.tokens
                .get(d)
                .is_some_and(|e| user_id.is_none_or(|u| e.identity.user_id == u))
        });
        if let Some(i) = position
            && let Some(digest) = self.order.remove(i)
        {
            self.remove(&digest);
        }
    }
}

/// The live download tokens. Shared as `Arc<DownloadTokens>` in `AppState`.
pub struct DownloadTokens {
    clock: Arc<dyn Clock>,
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl DownloadTokens {
    /// `ttl` is `security.download_token_ttl`.
    pub fn new(clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        DownloadTokens {
            clock,
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a token for one file on behalf of `identity`.
    pub fn issue(&self, identity: &Identity, kind: FileKind, filename: &str) -> crate::Result<IssuedDownloadToken> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::internal("the system random generator failed"))?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let now = self.clock.now();
        // Millisecond precision, like every wire timestamp, so `expires_at` on the wire is exact.
        let now = now
            .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
            .unwrap_or(now);
        let ttl = time::Duration::try_from(self.ttl).unwrap_or(time::Duration::MAX);
        let mut expires_at = now.checked_add(ttl).unwrap_or(now);
        if let Some(credential_expiry) = identity.expires_at {
            expires_at = expires_at.min(credential_expiry.max(now));
        }
        let expires_in = u64::try_from((expires_at - now).whole_seconds()).unwrap_or(0);
        let digest = digest(&token);

        let mut inner = self.lock();
        inner.prune(now);
        if inner.per_user.get(&identity.user_id).copied().unwrap_or(0) >= MAX_TOKENS_PER_USER {
            inner.evict_oldest(Some(&identity.user_id));
        }
        if inner.tokens.len() >= MAX_TOKENS {
            inner.evict_oldest(None);
        }
        inner.tokens.insert(
            digest,
            Entry {
                kind,
                filename: filename.to_owned(),
                expires_at,
                identity: identity.clone(),
            },
        );
        inner.order.push_back(digest);
        *inner.per_user.entry(identity.user_id.clone()).or_insert(0) += 1;
        Ok(IssuedDownloadToken {
            token,
            expires_at,
            expires_in,
        })
    }

    /// Checks `token` for a request on (`kind`, `filename`). `check_session` re-validates the issuing identity
    /// (revocation, credential expiry); when it fails the token is dropped. Returns the issuing identity.
    pub fn redeem(
        &self,
        token: &str,
        kind: FileKind,
        filename: &str,
        check_session: impl Fn(&Identity) -> crate::Result<()>,
    ) -> Result<Identity, Rejected> {
        if !is_well_formed(token) {
            return Err(Rejected::Invalid);
        }
        let digest = digest(token);
        let now = self.clock.now();
        let mut inner = self.lock();
        let Some(entry) = inner.tokens.get(&digest) else {
            return Err(Rejected::Invalid);
        };
        if entry.expires_at <= now {
            inner.remove(&digest);
            return Err(Rejected::Invalid);
        }
        if let Err(e) = check_session(&entry.identity) {
            inner.remove(&digest);
            return Err(if e.kind == ErrorKind::Unauthenticated {
                Rejected::Credential(e)
            } else {
                Rejected::Invalid
            });
        }
        if entry.kind != kind || entry.filename != filename {
            return Err(Rejected::ScopeMismatch);
        }
        Ok(entry.identity.clone())
    }

    /// Number of tokens held (live or not yet pruned).
    pub fn len(&self) -> usize {
        self.lock().tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `dlt_` + 43 base64url characters.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_PREFIX.len() + TOKEN_BODY_LEN
        && token.starts_with(TOKEN_PREFIX)
        && token.as_bytes()[TOKEN_PREFIX.len()..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
}

fn digest(token: &str) -> Digest {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthService;
    use crate::auth::identity::AuthMethod;
    use crate::clock::ManualClock;
    use crate::config::Config;
    use crate::store::Store;
    use camera_api::role::Role;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-01-15 14:30:00.250 UTC);

    fn identity(user: &str, expires_at: Option<OffsetDateTime>) -> Identity {
        Identity {
            user_id: user.into(),
            role: Role::Viewer,
            expires_at,
            auth_method: AuthMethod::Jwt,
            key_id: None,
        }
    }

    fn ok(_: &Identity) -> crate::Result<()> {
        Ok(())
    }

    fn tokens() -> (Arc<ManualClock>, DownloadTokens) {
        let clock = ManualClock::new(T0);
        let tokens = DownloadTokens::new(clock.clone(), Duration::from_secs(300));
        (clock, tokens)
    }

    #[test]
    fn format_and_expiry_on_the_clock() {
        let (clock, tokens) = tokens();
        let id = identity("alice", None);
        let t = tokens.issue(&id, FileKind::Snapshot, "a.jpg").expect("issue");
        assert!(is_well_formed(&t.token), "{}", t.token);
        assert_eq!(t.expires_in, 300);
        assert_eq!(t.expires_at, T0 + time::Duration::seconds(300));
        let other = tokens.issue(&id, FileKind::Snapshot, "a.jpg").expect("issue");
        assert_ne!(t.token, other.token);

        // Reusable until it expires.
        for _ in 0..3 {
            let who = tokens.redeem(&t.token, FileKind::Snapshot, "a.jpg", ok).expect("valid");
            assert_eq!(who.user_id, "alice");
        }
        clock.advance(Duration::from_secs(299));
        assert!(tokens.redeem(&t.token, FileKind::Snapshot, "a.jpg", ok).is_ok());
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            tokens.redeem(&t.token, FileKind::Snapshot, "a.jpg", ok),
            Err(Rejected::Invalid)
        ));
        // Issuing prunes the other expired token.
        assert_eq!(tokens.len(), 1);
        tokens.issue(&id, FileKind::Snapshot, "b.jpg").expect("issue");
        assert_eq!(tokens.len(), 1);
    }

    #[test]
    fn expiry_is_capped_by_the_credential() {
        let (clock, tokens) = tokens();
        let id = identity("bob", Some(T0 + time::Duration::seconds(100)));
        let t = tokens.issue(&id, FileKind::Recording, "r.mp4").expect("issue");
        assert_eq!(t.expires_in, 100);
        assert_eq!(t.expires_at, T0 + time::Duration::seconds(100));
        clock.advance(Duration::from_secs(100));
        assert!(matches!(
            tokens.redeem(&t.token, FileKind::Recording, "r.mp4", ok),
            Err(Rejected::Invalid)
        ));
    }

    #[test]
    fn scope_and_garbage() {
        let (_clock, tokens) = tokens();
        let t = tokens
            .issue(&identity("a", None), FileKind::Snapshot, "a.jpg")
            .expect("issue");
        assert!(matches!(
            tokens.redeem(&t.token, FileKind::Snapshot, "b.jpg", ok),
            Err(Rejected::ScopeMismatch)
        ));
        assert!(matches!(
            tokens.redeem(&t.token, FileKind::Recording, "a.jpg", ok),
            Err(Rejected::ScopeMismatch)
        ));
        // Still valid for its own file after a mismatch.
        assert!(tokens.redeem(&t.token, FileKind::Snapshot, "a.jpg", ok).is_ok());
        for bad in [
            "",
            "dlt_",
            "csk_AAAA",
            &format!("dlt_{}", "A".repeat(43)),
            &format!("dlt_{}!", "A".repeat(42)),
        ] {
            assert!(
                matches!(
                    tokens.redeem(bad, FileKind::Snapshot, "a.jpg", ok),
                    Err(Rejected::Invalid)
                ),
                "{bad}"
            );
        }
        // Unicode of the right byte length is rejected without panicking.
        let odd = format!("dlt_{}é", "A".repeat(41));
        assert!(matches!(
            tokens.redeem(&odd, FileKind::Snapshot, "a.jpg", ok),
            Err(Rejected::Invalid)
        ));
    }

    #[test]
    fn failed_session_check_voids_the_token() {
        let (_clock, tokens) = tokens();
        let t = tokens
            .issue(&identity("a", None), FileKind::Snapshot, "a.jpg")
            .expect("issue");
        let revoked = |_: &Identity| -> crate::Result<()> {
            Err(Error::new(ErrorKind::Unauthenticated, "credential_revoked", "revoked"))
        };
        match tokens.redeem(&t.token, FileKind::Snapshot, "a.jpg", revoked) {
            Err(Rejected::Credential(e)) => assert_eq!(e.reason, "credential_revoked"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            tokens.redeem(&t.token, FileKind::Snapshot, "a.jpg", ok),
            Err(Rejected::Invalid)
        ));
        assert!(tokens.is_empty());
    }

    #[test]
    fn bounded_per_user_and_in_total() {
        let (_clock, tokens) = tokens();
        let greedy = identity("greedy", None);
        let first = tokens.issue(&greedy, FileKind::Snapshot, "a.jpg").expect("issue");
        for _ in 1..MAX_TOKENS_PER_USER + 10 {
            tokens.issue(&greedy, FileKind::Snapshot, "a.jpg").expect("issue");
        }
        assert_eq!(tokens.len(), MAX_TOKENS_PER_USER);
        assert!(matches!(
            tokens.redeem(&first.token, FileKind::Snapshot, "a.jpg", ok),
            Err(Rejected::Invalid)
        ));
        let mut oldest_other = None;
        for i in 0..MAX_TOKENS {
            let t = tokens
                .issue(&identity(&format!("user{}", i % 64), None), FileKind::Snapshot, "a.jpg")
                .expect("issue");
            oldest_other.get_or_insert(t.token);
        }
        assert_eq!(tokens.len(), MAX_TOKENS);
        let inner = tokens.lock();
        assert!(inner.order.len() <= 2 * MAX_TOKENS + 64);
        assert_eq!(inner.per_user.values().sum::<usize>(), MAX_TOKENS);
        assert!(!inner.per_user.contains_key("greedy"), "the oldest tokens went first");
    }

    #[tokio::test]
    async fn revoked_key_voids_its_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let store = Store::open(dir.path()).expect("store");
        let clock = ManualClock::new(T0);
        let auth = AuthService::new(
            &config,
            store,
            clock.clone(),
            b"0123456789abcdef0123456789abcdef".to_vec(),
        );
        let tokens = DownloadTokens::new(clock.clone(), Duration::from_secs(300));
        let key = auth.create_api_key(Role::Viewer, "", Some(1), "a").await.expect("key");
        let id = auth.authenticate(&key.api_key).await.expect("auth");
        let other_key = auth.create_api_key(Role::Viewer, "", Some(1), "a").await.expect("key");
        let other = auth.authenticate(&other_key.api_key).await.expect("auth");
        let t = tokens.issue(&id, FileKind::Recording, "r.mp4").expect("issue");
        let kept = tokens.issue(&other, FileKind::Recording, "r.mp4").expect("issue");
        let check = |i: &Identity| auth.check_session(i);
        assert!(tokens.redeem(&t.token, FileKind::Recording, "r.mp4", check).is_ok());

        auth.revoke_api_key(&key.key_id, "admin").await.expect("revoke");
        match tokens.redeem(&t.token, FileKind::Recording, "r.mp4", check) {
            Err(Rejected::Credential(e)) => assert_eq!(e.reason, "credential_revoked"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            tokens.redeem(&t.token, FileKind::Recording, "r.mp4", check),
            Err(Rejected::Invalid)
        ));
        assert!(tokens.redeem(&kept.token, FileKind::Recording, "r.mp4", check).is_ok());
    }
}
