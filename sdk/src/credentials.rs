//! Credentials: an API key (`csk_…`) or a JWT (API.md §3.1). The same secret authenticates the WebSocket
//! session (`authenticate`) and HTTP downloads (`Authorization: Bearer`). `Debug` never prints the secret.

use std::fmt;

/// The credential a [`crate::Client`] authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An API key, `csk_` followed by 43 base64url characters.
    ApiKey(String),
    /// A compact HS256 JWT.
    Jwt(String),
}

impl Credentials {
    /// An API key credential.
    pub fn api_key(key: impl Into<String>) -> Credentials {
        Credentials::ApiKey(key.into())
    }

    /// A JWT credential.
    pub fn jwt(token: impl Into<String>) -> Credentials {
        Credentials::Jwt(token.into())
    }

    /// Classifies a token as the server does: a `csk_` prefix is an API key, anything else a JWT.
    pub fn from_token(token: impl Into<String>) -> Credentials {
        let token = token.into();
        if token.starts_with("csk_") {
            Credentials::ApiKey(token)
        } else {
            Credentials::Jwt(token)
        }
    }

    /// The secret, as sent in `authenticate.auth_token` and the `Authorization: Bearer` header.
    pub fn token(&self) -> &str {
        match self {
            Credentials::ApiKey(t) | Credentials::Jwt(t) => t,
        }
    }

    /// `api_key` or `jwt`, as in `authenticate.auth_method`.
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::ApiKey(_) => "api_key",
            Credentials::Jwt(_) => "jwt",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.token().chars().take(8).collect();
        write!(f, "Credentials::{}({shown}…)", self.method())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_and_redaction() {
        let k = Credentials::from_token("csk_gTztbOGw2cc-XUz-e-ID_labiSNU1KdrMg1LeNYsisI");
        assert_eq!(k.method(), "api_key");
        assert!(matches!(k, Credentials::ApiKey(_)));
        let j = Credentials::from_token("eyJhbGciOiJIUzI1NiJ9.e30.sig");
        assert_eq!(j.method(), "jwt");
        assert_eq!(j.token(), "eyJhbGciOiJIUzI1NiJ9.e30.sig");
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("labiSNU1"), "{dbg}");
        assert!(dbg.starts_with("Credentials::api_key(csk_gTzt"));
    }
}
