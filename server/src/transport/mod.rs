//! Port 8002: the router (`/ws`, `/rpc`, everything else 404 with the JSON error body) and the accept loop that
//! serves it over plain TCP or TLS. The loop stops accepting when shutdown is signalled; open WebSockets close
//! themselves with 1001 (see `ws`).

pub mod cors;
pub mod http_error;
pub mod http_rpc;
pub mod limits;
pub mod tls;
pub mod ws;

use crate::app::AppState;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::ServiceExt;

pub fn router(app: Arc<AppState>) -> Router {
    let cross_origin = Router::new()
        .route("/rpc", post(http_rpc::rpc).fallback(http_error::method_not_allowed))
        .merge(crate::downloads::http::routes())
        .layer(axum::middleware::from_fn_with_state(app.clone(), cors::cors));
    Router::new()
        .route("/ws", get(ws::upgrade).fallback(http_error::method_not_allowed))
        .merge(cross_origin)
        .fallback(http_error::not_found)
        .with_state(app)
}

/// Accepts connections until `shutdown` turns true. TLS handshakes run in the connection's own task with a
/// time limit, so a slow handshake never blocks accepting.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = async { shutdown.wait_for(|down| *down).await.is_ok() } => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        match tls.clone() {
            None => {
                tokio::spawn(serve_connection(stream, peer, router));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, peer, router).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

async fn serve_connection<I>(io: I, peer: SocketAddr, router: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: axum::http::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let service = TowerToHyperService::new(service);
    let builder = hyper::server::conn::http1::Builder::new();
    if let Err(e) = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await
    {
        tracing::debug!(%peer, "connection ended with an error: {e}");
    }
}
