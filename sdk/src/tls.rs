//! TLS settings for `wss://` and `https://` downloads: the system trust store, a custom CA bundle (PEM), or
//! an explicit opt-out of certificate verification for self-signed development certificates.
//!
//! The WebSocket uses [`TlsOptions::ws_config`] (the rustls platform verifier for the system trust store);
//! downloads use reqwest, which applies the platform verifier itself for [`TlsOptions::SystemRoots`].
//!
//! Every path that builds a rustls configuration first calls [`install_crypto_provider`], which installs the
//! aws-lc-rs provider as the process default unless the application already installed one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use rustls_platform_verifier::BuilderVerifierExt;

use crate::error::SdkError;

/// How the server's certificate is verified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsOptions {
    /// The operating system's trust store (rustls platform verifier).
    #[default]
    SystemRoots,
    /// Only the CA certificates in this PEM file.
    CustomCa(PathBuf),
    /// No verification at all. For self-signed development certificates only: anyone on the path can
    /// impersonate the server.
    InsecureSkipVerify,
}

/// Installs the aws-lc-rs provider as the process-wide rustls default, unless one is installed already.
/// Returns the provider in effect.
pub fn install_crypto_provider() -> Arc<CryptoProvider> {
    if let Some(p) = CryptoProvider::get_default() {
        return Arc::clone(p);
    }
    // Losing a race with another installer is fine: use whichever won.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match CryptoProvider::get_default() {
        Some(p) => Arc::clone(p),
        None => Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    }
}

impl TlsOptions {
    /// The rustls configuration of `wss://` connections: [`TlsOptions::client_config`], or for
    /// [`TlsOptions::SystemRoots`] the operating system's trust store (rustls platform verifier).
    pub(crate) fn ws_config(&self) -> Result<ClientConfig, SdkError> {
        if let Some(config) = self.client_config()? {
            return Ok(config);
        }
        ClientConfig::builder_with_provider(install_crypto_provider())
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_platform_verifier())
            .map(|b| b.with_no_client_auth())
            .map_err(|e| SdkError::Tls(format!("cannot use the system trust store: {e}")))
    }

    /// The explicit rustls configuration for these options; `None` for [`TlsOptions::SystemRoots`], where
    /// the HTTP client uses the platform verifier itself (and the WebSocket builds a platform-verifier config).
    pub fn client_config(&self) -> Result<Option<ClientConfig>, SdkError> {
        let provider = install_crypto_provider();
        match self {
            TlsOptions::SystemRoots => Ok(None),
            TlsOptions::CustomCa(path) => {
                let roots = load_roots(path)?;
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| SdkError::Tls(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Ok(Some(config))
            }
            TlsOptions::InsecureSkipVerify => {
                let verifier = Arc::new(AcceptAnyCertificate {
                    provider: Arc::clone(&provider),
                });
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| SdkError::Tls(e.to_string()))?
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth();
                Ok(Some(config))
            }
        }
    }
}

/// Reads every certificate of a PEM file into a root store; at least one is required.
fn load_roots(path: &Path) -> Result<RootCertStore, SdkError> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| SdkError::Tls(format!("cannot read CA file {shown}: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SdkError::Tls(format!("bad PEM in CA file {shown}: {e}")))?;
    if certs.is_empty() {
        return Err(SdkError::Tls(format!("no certificate in CA file {shown}")));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| SdkError::Tls(format!("unusable CA certificate in {shown}: {e}")))?;
    }
    Ok(roots)
}

/// Accepts any server certificate, but still checks handshake signatures so the session keys are bound to
/// the certificate that was presented.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_roots_need_no_explicit_config() {
        assert!(matches!(TlsOptions::SystemRoots.client_config(), Ok(None)));
    }

    #[test]
    fn every_option_gives_a_websocket_config() {
        assert!(TlsOptions::SystemRoots.ws_config().is_ok());
        assert!(TlsOptions::InsecureSkipVerify.ws_config().is_ok());
        let missing = TlsOptions::CustomCa("/nonexistent/ca.pem".into()).ws_config();
        assert!(matches!(missing, Err(SdkError::Tls(_))));
    }

    #[test]
    fn insecure_builds_a_config() {
        assert!(matches!(TlsOptions::InsecureSkipVerify.client_config(), Ok(Some(_))));
    }

    #[test]
    fn missing_or_empty_ca_files_are_tls_errors() {
        let missing = TlsOptions::CustomCa("/nonexistent/ca.pem".into()).client_config();
        assert!(matches!(missing, Err(SdkError::Tls(_))));
        let dir = tempfile::tempdir();
        let Ok(dir) = dir else { return };
        let path = dir.path().join("empty.pem");
        assert!(std::fs::write(&path, "not pem\n").is_ok());
        let empty = TlsOptions::CustomCa(path).client_config();
        assert!(matches!(empty, Err(SdkError::Tls(m)) if m.contains("no certificate")));
    }
}
