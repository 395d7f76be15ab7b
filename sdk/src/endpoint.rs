//! The service endpoint: the WebSocket URL (`ws://host:8002/ws` or `wss://…`) and the HTTP base derived
//! from it for downloads (`http(s)://host:8002`, API.md §1.1).

use reqwest::Url;

use crate::error::SdkError;

/// A validated service endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    ws: Url,
    http: Url,
}

impl Endpoint {
    /// Parses a `ws://` or `wss://` URL. `http://` and `https://` are accepted as the same endpoint; a URL
    /// with an empty path gets `/ws`.
    pub fn parse(url: &str) -> Result<Endpoint, SdkError> {
        let invalid = |message: &str| SdkError::InvalidUrl {
            url: url.to_owned(),
            message: message.to_owned(),
        };
        let mut ws = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        let (ws_scheme, http_scheme) = match ws.scheme() {
            "ws" | "http" => ("ws", "http"),
            "wss" | "https" => ("wss", "https"),
            _ => return Err(invalid("the scheme must be ws:// or wss://")),
        };
        if ws.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        ws.set_scheme(ws_scheme)
            .map_err(|()| invalid("cannot use this scheme"))?;
        if ws.path().is_empty() || ws.path() == "/" {
            ws.set_path("/ws");
        }
        let mut http = ws.clone();
        http.set_scheme(http_scheme)
            .map_err(|()| invalid("cannot derive the HTTP address"))?;
        http.set_path("/");
        http.set_query(None);
        http.set_fragment(None);
        Ok(Endpoint { ws, http })
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> &str {
        self.ws.as_str()
    }

    /// Whether the endpoint uses TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        self.ws.scheme() == "wss"
    }

    /// The absolute HTTP URL of a server path such as `/files/recordings/x.mp4`.
    pub fn http_url(&self, path: &str) -> Result<Url, SdkError> {
        self.http.join(path).map_err(|e| SdkError::InvalidUrl {
            url: path.to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(ep: &Endpoint, p: &str) -> String {
        ep.http_url(p).map(|u| u.to_string()).unwrap_or_default()
    }

    #[test]
    fn ws_and_http_forms() {
        let Ok(ep) = Endpoint::parse("ws://127.0.0.1:8002/ws") else {
            panic!("parse")
        };
        assert_eq!(ep.ws_url(), "ws://127.0.0.1:8002/ws");
        assert!(!ep.is_tls());
        assert_eq!(
            http(&ep, "/files/recordings/a.mp4"),
            "http://127.0.0.1:8002/files/recordings/a.mp4"
        );
        let Ok(tls) = Endpoint::parse("https://cam.local:8002") else {
            panic!("parse")
        };
        assert_eq!(tls.ws_url(), "wss://cam.local:8002/ws");
        assert!(tls.is_tls());
        assert_eq!(
            http(&tls, "/files/snapshots/s.jpg"),
            "https://cam.local:8002/files/snapshots/s.jpg"
        );
    }

    #[test]
    fn rejects_other_schemes_and_garbage() {
        for bad in ["ftp://x/ws", "not a url", "ws://", "camera0"] {
            assert!(
                matches!(Endpoint::parse(bad), Err(SdkError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}
