//! Admission control for port 8002: connection caps (global and per remote IP, released by a guard on drop),
//! the `Origin` allow-list, the remote-IP rule (`X-Forwarded-For` only from `server.trusted_proxies`) and the
//! per-IP request buckets used for HTTP `/rpc`.

use crate::auth::limits::TokenBucket;
use crate::config::{SecurityConfig, ServerConfig};
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    PerIp,
    Global,
}

pub struct ConnectionCaps {
    max_total: usize,
    max_per_ip: usize,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// Held for the life of a WebSocket connection; releases its slots on drop.
pub struct ConnectionPermit {
    caps: Arc<ConnectionCaps>,
    ip: IpAddr,
}

impl ConnectionCaps {
    pub fn new(config: &ServerConfig) -> Arc<Self> {
        Arc::new(ConnectionCaps {
            max_total: config.max_connections,
            max_per_ip: config.max_connections_per_ip,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, Rejection> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let count = per_ip.get(&ip).copied().unwrap_or(0);
        if count >= self.max_per_ip {
            return Err(Rejection::PerIp);
        }
        if self.total.load(Ordering::Acquire) >= self.max_total {
            return Err(Rejection::Global);
        }
        self.total.fetch_add(1, Ordering::AcqRel);
        per_ip.insert(ip, count + 1);
        Ok(ConnectionPermit { caps: self.clone(), ip })
    }

    pub fn open(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    pub fn max(&self) -> usize {
        self.max_total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut per_ip = self.caps.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.caps.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client's address: the TCP peer, or the last `X-Forwarded-For` hop when the peer is a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, config: &ServerConfig) -> IpAddr {
    if !config.trusted_proxies.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer)
}

/// API.md §6.3: no `Origin` is allowed; otherwise an exact entry, `*`, or the server's own origin.
pub fn origin_allowed(headers: &HeaderMap, config: &ServerConfig) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if config
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get("host").and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Request buckets per remote IP for HTTP `/rpc` (a WebSocket has its own bucket). Bounded: when the map is
/// large, idle entries are dropped.
pub struct HttpRateBuckets {
    burst: u32,
    per_sec: u32,
    buckets: Mutex<HashMap<IpAddr, Arc<Mutex<TokenBucket>>>>,
}

const MAX_TRACKED_IPS: usize = 10_000;

impl HttpRateBuckets {
    pub fn new(config: &SecurityConfig) -> Self {
        HttpRateBuckets {
            burst: config.rate_limit_burst,
            per_sec: config.rate_limit_per_sec,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn bucket(&self, ip: IpAddr, now: std::time::Duration) -> Arc<Mutex<TokenBucket>> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED_IPS && !map.contains_key(&ip) {
            map.retain(|_, b| Arc::strong_count(b) > 1);
        }
        map.entry(ip)
            .or_insert_with(|| Arc::new(Mutex::new(TokenBucket::new(self.burst, self.per_sec, now))))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_release_on_drop() {
        let config = ServerConfig {
            max_connections: 2,
            max_connections_per_ip: 1,
            ..Default::default()
        };
        let caps = ConnectionCaps::new(&config);
        let (a, b, c) = (
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::from([10, 0, 0, 2]),
            IpAddr::from([10, 0, 0, 3]),
        );
        let first = caps.try_acquire(a).ok();
        assert_eq!(caps.try_acquire(a).err(), Some(Rejection::PerIp));
        let _second = caps.try_acquire(b).ok();
        assert_eq!(caps.try_acquire(c).err(), Some(Rejection::Global));
        drop(first);
        assert!(caps.try_acquire(c).is_ok());
    }

    #[test]
    fn same_origin_and_list() {
        let mut config = ServerConfig::default();
        let mut headers = HeaderMap::new();
        assert!(origin_allowed(&headers, &config));
        headers.insert("host", "cam.local:8002".parse().expect("header"));
        headers.insert("origin", "http://cam.local:8002".parse().expect("header"));
        assert!(origin_allowed(&headers, &config));
        headers.insert("origin", "http://evil.example".parse().expect("header"));
        assert!(!origin_allowed(&headers, &config));
        config.allowed_origins = vec!["http://evil.example".into()];
        assert!(origin_allowed(&headers, &config));
    }
}
