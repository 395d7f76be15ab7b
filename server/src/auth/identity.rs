//! Who is calling: the identity bound to a session by a successful `authenticate` (or by an HTTP credential
//! header for one request).

use camera_api::role::Role;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Jwt,
    ApiKey,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Jwt => "jwt",
            AuthMethod::ApiKey => "api_key",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `user_id` claim, or `apikey:<key_id>` for API keys.
    pub user_id: String,
    pub role: Role,
    /// Credential expiry; `None` only for keys created without expiry.
    pub expires_at: Option<OffsetDateTime>,
    pub auth_method: AuthMethod,
    /// The API key behind this identity: the key itself, or the key whose session minted this JWT
    /// (`user_id` = `apikey:<key_id>`). Revoking that key ends the identity.
    pub key_id: Option<String>,
}
